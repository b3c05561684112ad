"""The re-ID protocol's naming rules and comparable-pair rule, as src/protocol/ defines them for the app and
the benchmarks; src/protocol/cases.json holds the cases both sides are tested against."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal, Optional

Kind = Literal["person", "distractor", "junk"]
Rule = Literal["market1501", "dukemtmc", "msmt17", "folder", "typed"]


@dataclass(frozen=True)
class Label:
    identity: str
    camera: Optional[int]
    kind: Kind
    rule: Rule


def _market_kind(identity: str) -> Kind:
    return "junk" if identity == "-1" else "distractor" if identity == "0000" else "person"


def _person(_: str) -> Kind:
    return "person"


# Group 1: identity, group 2: camera. Market-1501: -1 is junk, 0000 a distractor; a doubled extension
# ('….jpg.jpg', 24 images of the usual copy) is still that name. DukeMTMC-reID: cameras 1-8. MSMT17: 0000
# is a person, cameras 1-15.
_FILE_NAME_RULES: list[tuple[Rule, re.Pattern[str], Callable[[str], Kind]]] = [
    ("market1501", re.compile(r"^(-1|\d{4})_c([1-9])s\d_\d{6}_\d{2}\.(?:jpe?g|png)(?:\.jpe?g)?$", re.I), _market_kind),
    ("dukemtmc", re.compile(r"^(\d{4})_c([1-8])_f\d{7}\.(?:jpe?g|png)$", re.I), _person),
    ("msmt17", re.compile(r"^(\d{4})_c(1[0-5]|[1-9])_\d{4,}\.(?:jpe?g|png)$", re.I), _person),
]


def parse_image_name(path: str) -> Optional[Label]:
    """A dataset file name, else (for a path inside a folder) the parent folder's name; None otherwise."""
    parts = re.split(r"[/\\]", path)
    for rule, pattern, kind_of in _FILE_NAME_RULES:
        m = pattern.match(parts[-1])
        if m:
            return Label(m.group(1), int(m.group(2)), kind_of(m.group(1)), rule)
    folder = parts[-2].strip() if len(parts) > 1 else ""
    return Label(folder, None, "person", "folder") if folder else None


def pair_kind(a: Label, b: Label) -> Optional[Literal["same", "different"]]:
    """Junk never counts; the same person from the same camera does not count; distractors are negatives
    for persons and unknown among themselves."""
    if a.kind == "junk" or b.kind == "junk":
        return None
    if a.kind == "distractor" or b.kind == "distractor":
        return None if a.kind == b.kind else "different"
    if a.identity != b.identity:
        return "different"
    return None if a.camera is not None and a.camera == b.camera else "same"


JUNK_ID = -1
DISTRACTOR_ID = 0


def market_ids(name: str) -> Optional[tuple[int, int]]:
    """A Market-1501 name as the numbers the evaluation uses: (person, camera), junk -> JUNK_ID,
    distractor -> DISTRACTOR_ID ('0002_c1s1_000451_03.jpg' -> (2, 1)); None for any other name."""
    label = parse_image_name(name)
    if label is None or label.rule != "market1501" or label.camera is None:
        return None
    return int(label.identity), label.camera
