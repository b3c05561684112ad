"""The protocol's shared cases (src/protocol/cases.json), the same list the app's tests read."""
import json
from pathlib import Path

import pytest

from dare.protocol import Label, pair_kind, parse_image_name

CASES = json.loads((Path(__file__).resolve().parents[2] / "src" / "protocol" / "cases.json").read_text())


def _label(d: dict | None) -> Label | None:
    return None if d is None else Label(d["identity"], d["camera"], d["kind"], d.get("rule", "typed"))


@pytest.mark.parametrize("case", CASES["names"], ids=lambda c: c["path"] or "<empty>")
def test_names(case: dict) -> None:
    assert parse_image_name(case["path"]) == _label(case["label"])


@pytest.mark.parametrize("case", CASES["pairs"], ids=lambda c: c["why"])
def test_pairs(case: dict) -> None:
    a, b = _label(case["a"]), _label(case["b"])
    assert a is not None and b is not None
    assert pair_kind(a, b) == case["pair"]
    assert pair_kind(b, a) == case["pair"]
