"""The protocol's shared cases (src/protocol/cases.json), the same list the app's tests read."""
import json
from pathlib import Path

import pytest

from dare.protocol import DISTRACTOR_ID, JUNK_ID, Label, market_ids, pair_kind, parse_image_name

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


@pytest.mark.parametrize("case", CASES["names"], ids=lambda c: c["path"] or "<empty>")
def test_market_ids(case: dict) -> None:
    """What the training and evaluation readers take from a name: Market-1501 names only, as numbers."""
    label = case["label"]
    if label is None or label["rule"] != "market1501":
        assert market_ids(case["path"].replace("\\", "/").split("/")[-1]) is None
        return
    expected = {"junk": JUNK_ID, "distractor": DISTRACTOR_ID}.get(label["kind"], int(label["identity"]))
    assert market_ids(case["path"].replace("\\", "/").split("/")[-1]) == (expected, label["camera"])
