import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dare import evaluate, train
from conftest import MOBILENETV2_TFLITE as WEIGHTS


def add_test_split(root: Path) -> None:
    """Six people, two queries each (cameras 1 and 3: the unknown threshold needs cross-camera query pairs), two
    gallery images each from camera 2."""
    rng = np.random.default_rng(1)
    for pid in range(1, 7):
        base = rng.integers(0, 255, size=3)
        for split, cam, count in (("query", 1, 1), ("query", 3, 1), ("bounding_box_test", 2, 2)):
            for i in range(count):
                pixels = np.clip(base + rng.normal(0, 25, size=(128, 64, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / f"{pid:04d}_c{cam}s1_{i:06d}_01.jpg")


def test_also_shifted_scores_what_a_separate_shift_run_scores_from_one_gallery_embedding(fake_market: Path, tmp_path: Path) -> None:
    add_test_split(fake_market)
    run = tmp_path / "run"
    train.main(["--out", str(run), "--height", "64", "--width", "32", "--p", "4", "--k", "2", "--weights", str(WEIGHTS),
                "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2"])
    ckpt = str(run / "final.pt")
    both, clean, shifted = tmp_path / "both.json", tmp_path / "clean.json", tmp_path / "shifted.json"
    evaluate.main(["--checkpoint", ckpt, "--json", str(both), "--also-shifted", str(tmp_path / "both-shift.json")])
    evaluate.main(["--checkpoint", ckpt, "--json", str(clean)])
    evaluate.main(["--checkpoint", ckpt, "--shift", "--json", str(shifted)])
    read = lambda p: json.loads(p.read_text())
    assert read(both)["scores"] == read(clean)["scores"] and not read(both)["shift"]
    one_run, separate = read(tmp_path / "both-shift.json"), read(shifted)
    assert one_run["shift"] and one_run["queries"] == 12 and one_run["gallery"] == 12
    for name, scores in separate["scores"].items():
        assert one_run["scores"][name] == pytest.approx(scores)
    assert one_run["unknownThresholds"] == pytest.approx(separate["unknownThresholds"])
    # The shift is real: the shifted queries' thresholds are not the clean ones.
    assert all(np.isfinite(t) for t in one_run["unknownThresholds"].values())
    assert one_run["unknownThresholds"] != read(clean)["unknownThresholds"]
    with pytest.raises(SystemExit):
        evaluate.main(["--checkpoint", ckpt, "--shift", "--also-shifted", str(tmp_path / "x.json")])
