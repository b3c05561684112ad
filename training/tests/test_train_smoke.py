import json
from pathlib import Path

from dare import train
from conftest import SHARED

WEIGHTS = SHARED / "weights" / "mobilenet_v2_1.0_224_quant.tflite"


def test_train_runs_checkpoints_and_resumes(fake_market: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    common = ["--out", str(out), "--height", "64", "--width", "32", "--p", "4", "--k", "2",
              "--weights", str(WEIGHTS), "--cache", str(tmp_path / "cache"), "--threads", "1"]
    train.main(common + ["--iterations", "6"])
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [5, 6]  # 20 identities / P=4 -> 5 iterations per epoch
    assert all(r["loss_fused"] > 0 for r in log) and (out / "final.pt").exists()
    # Resuming a finished run does no more work and keeps the log.
    train.main(common)
    assert len((out / "log.jsonl").read_text().splitlines()) == 2
