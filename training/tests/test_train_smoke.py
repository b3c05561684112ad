import json
from pathlib import Path

import torch

from dare import compact, train
from conftest import MOBILENETV2_TFLITE as WEIGHTS


def test_train_runs_checkpoints_and_resumes(fake_market: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    common = ["--out", str(out), "--height", "64", "--width", "32", "--p", "4", "--k", "2",
              "--weights", str(WEIGHTS), "--cache", str(tmp_path / "cache"), "--threads", "1"]
    train.main(common + ["--iterations", "6"])
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [5, 6]  # 20 identities / P=4 -> 5 iterations per epoch
    assert all(r["loss_fused"] > 0 for r in log) and (out / "final.pt").exists()
    # the weights at the last constant-lr iteration, beside the final ones, for the decay phase's ablation
    snapshot, final = (torch.load(out / f, map_location="cpu") for f in ("decay-start.pt", "final.pt"))
    assert snapshot["iteration"] == 3 and final["iteration"] == 6 and snapshot["config"] == final["config"]
    assert any(not torch.equal(snapshot["model"][k], v) for k, v in final["model"].items() if v.is_floating_point())
    # Resuming a finished run does no more work and keeps the log.
    train.main(common)
    assert len((out / "log.jsonl").read_text().splitlines()) == 2


def test_ema_writes_an_average_beside_the_final_weights_without_changing_training(fake_market: Path, tmp_path: Path) -> None:
    from dare.export_tfjs import load_checkpoint

    def run(name: str, extra: list[str]) -> Path:
        out = tmp_path / name
        train.main(["--out", str(out), "--height", "64", "--width", "32", "--p", "4", "--k", "2", "--weights", str(WEIGHTS),
                    "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "4"] + extra)
        return out

    plain, averaged = run("plain", []), run("ema", ["--ema", "0.5"])
    assert not (plain / "ema.pt").exists() and (averaged / "ema-decay-start.pt").exists()
    final, other, ema = (torch.load(p, map_location="cpu") for p in (plain / "final.pt", averaged / "final.pt", averaged / "ema.pt"))
    assert ema["config"]["ema"] == 0.5 and ema["iteration"] == 4
    floats = [k for k, v in final["model"].items() if v.is_floating_point()]
    # The average is kept aside: the trained weights are those of the same run without it.
    assert all(torch.allclose(final["model"][k], other["model"][k]) for k in floats)
    assert any(not torch.allclose(ema["model"][k], other["model"][k]) for k in floats)
    # BN statistics are averaged too, so the average is a model of its own that loads and exports.
    assert any(not torch.allclose(ema["model"][k], other["model"][k]) for k in floats if "running_mean" in k)
    load_checkpoint(averaged / "ema.pt")


def test_zero_iterations_write_the_starting_point_that_a_run_with_the_same_seed_leaves(fake_market: Path, tmp_path: Path) -> None:
    import pytest

    common = ["--height", "64", "--width", "32", "--p", "4", "--k", "2", "--weights", str(WEIGHTS), "--warmup", "2",
              "--cache", str(tmp_path / "cache"), "--threads", "1", "--ema", "0.5", "--seed", "3"]
    train.main(["--out", str(tmp_path / "start"), "--iterations", "0"] + common)
    train.main(["--out", str(tmp_path / "run"), "--iterations", "2"] + common)
    start, average, trained = (torch.load(tmp_path / f, map_location="cpu") for f in ("start/final.pt", "start/ema.pt", "run/final.pt"))
    assert start["iteration"] == 0 and not (tmp_path / "start" / "log.jsonl").exists()
    assert all(torch.equal(v, average["model"][k]) for k, v in start["model"].items())  # nothing to average yet
    # The trained run left from exactly these weights: two warm-up steps of Adam move each by at most ≈ lr.
    weights = [k for k, v in start["model"].items() if v.is_floating_point() and "running_" not in k]
    gaps = [float((trained["model"][k] - start["model"][k]).abs().max()) for k in weights]
    assert 0 < max(gaps) < 1e-3
    with pytest.raises(SystemExit, match="must be 0 or more"):
        train.main(["--out", str(tmp_path / "bad"), "--iterations", "-1"] + common)
    with pytest.raises(SystemExit, match="already at iteration 2"):
        train.main(["--out", str(tmp_path / "run"), "--iterations", "0"] + common)


def test_ema_refuses_a_decay_outside_0_1_before_any_work(fake_market: Path, tmp_path: Path) -> None:
    import pytest

    with pytest.raises(SystemExit, match="--ema 1.5"):
        train.main(["--out", str(tmp_path / "bad"), "--height", "64", "--width", "32", "--p", "4", "--k", "2", "--weights", str(WEIGHTS),
                    "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2", "--ema", "1.5"])
    # Refused while the arguments are read, as --decay-start is: no training image was decoded for it.
    assert not (tmp_path / "cache").exists()


def test_decay_start_0_decays_from_the_first_iteration_and_writes_no_constant_phase_snapshot(fake_market: Path, tmp_path: Path) -> None:
    import pytest

    cfg = train.TrainConfig(iterations=100, decay_start=0.0, warmup=0)
    rates = [train.learning_rate(cfg, it) for it in range(101)]
    assert rates[0] == cfg.lr and all(a > b for a, b in zip(rates, rates[1:]))
    assert rates[100] == pytest.approx(cfg.lr * cfg.final_lr_factor)
    common = ["--height", "64", "--width", "32", "--p", "4", "--k", "2", "--weights", str(WEIGHTS),
              "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2"]
    out = tmp_path / "run"
    train.main(["--out", str(out), "--decay-start", "0"] + common)
    assert torch.load(out / "final.pt", map_location="cpu")["config"]["decay_start"] == 0.0
    assert not (out / "decay-start.pt").exists()
    with pytest.raises(SystemExit, match="--decay-start 1.0"):
        train.main(["--out", str(tmp_path / "bad"), "--decay-start", "1"] + common)


def test_refit_stage1_gives_a_stripe_head_that_loads_exports_and_keeps_the_rest(fake_market: Path, tmp_path: Path) -> None:
    import torch

    from dare import refit_stage1
    from dare.export_tfjs import load_checkpoint

    run = tmp_path / "run"
    train.main(["--out", str(run), "--height", "64", "--width", "32", "--p", "4", "--k", "2", "--weights", str(WEIGHTS),
                "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2"])
    out = tmp_path / "stripes.pt"
    refit_stage1.main(["--checkpoint", str(run / "final.pt"), "--out", str(out), "--stripes", "4", "--iterations", "8", "--threads", "1"])
    old, _ = load_checkpoint(run / "final.pt")
    new, ckpt = load_checkpoint(out)
    assert ckpt["config"]["stage1_stripes"] == 4 and new.heads[0].stripes == 4 and new.heads[0].fc1.in_features == 4 * old.heads[0].fc1.in_features
    same = {k: v for k, v in old.state_dict().items() if not k.startswith("heads.0.") and k != "fusion_weights"}
    for k, v in same.items():
        assert torch.equal(new.state_dict()[k], v), k


def test_init_starts_a_new_run_from_a_finished_models_fp16_weights_and_refuses_another_architecture(fake_market: Path, tmp_path: Path) -> None:
    import pytest
    import torch

    common = ["--height", "64", "--width", "32", "--p", "4", "--k", "2", "--weights", str(WEIGHTS),
              "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2"]
    train.main(["--out", str(tmp_path / "first")] + common)
    first = torch.load(tmp_path / "first" / "final.pt", map_location="cpu")
    compact.main(["--checkpoint", str(tmp_path / "first" / "final.pt"), "--out", str(tmp_path / "first.fp16.pt"), "--note", "test"])
    small = torch.load(tmp_path / "first.fp16.pt", map_location="cpu")
    assert small["note"] == "test" and "optimizer" not in small and small["config"] == first["config"]
    assert all(v.dtype == torch.float16 for v in small["model"].values() if v.is_floating_point())
    # lr 0: the new run's parameters stay what --init loaded (its BN statistics still move with the batches).
    train.main(["--out", str(tmp_path / "second"), "--init", str(tmp_path / "first.fp16.pt"), "--lr", "0"] + common)
    second = torch.load(tmp_path / "second" / "final.pt", map_location="cpu")["model"]
    for k, v in first["model"].items():
        if v.is_floating_point() and "running_" not in k:
            assert torch.allclose(second[k], v.half().float()), k
    with pytest.raises(SystemExit, match="height"):
        train.main(["--out", str(tmp_path / "third"), "--init", str(tmp_path / "first.fp16.pt")] + [a if a != "64" else "96" for a in common])


def test_a_run_in_progress_continues_on_another_machine_from_its_compact_state(fake_market: Path, tmp_path: Path) -> None:
    import shutil

    import pytest

    common = ["--height", "64", "--width", "32", "--p", "4", "--k", "2", "--weights", str(WEIGHTS), "--warmup", "3",
              "--cache", str(tmp_path / "cache"), "--threads", "1", "--ema", "0.5"]
    train.main(["--out", str(tmp_path / "here"), "--iterations", "5"] + common)
    state = tmp_path / "here" / "checkpoint.pt"
    compact.main(["--resumable", "--checkpoint", str(state), "--out", str(tmp_path / "run.resume.fp16.pt")])
    small = torch.load(tmp_path / "run.resume.fp16.pt", map_location="cpu")
    assert "optimizer" not in small and small["iteration"] == 5 and small["ema"] is not None
    assert (tmp_path / "run.resume.fp16.pt").stat().st_size < 0.5 * state.stat().st_size
    # This machine continues from its own full state; another, with no runs/ folder, from the compact copy.
    shutil.copytree(tmp_path / "here", tmp_path / "same")
    train.main(["--out", str(tmp_path / "same"), "--iterations", "10"] + common)
    train.main(["--out", str(tmp_path / "moved"), "--iterations", "10", "--resume", str(tmp_path / "run.resume.fp16.pt")] + common)
    same, moved = (torch.load(tmp_path / d / "checkpoint.pt", map_location="cpu") for d in ("same", "moved"))
    assert moved["iteration"] == same["iteration"] == 10 and moved["config"] == same["config"]
    assert [json.loads(r)["iteration"] for r in (tmp_path / "moved" / "log.jsonl").read_text().splitlines()] == [10]
    # The same batches and augmentations as the uninterrupted run: the random streams travelled.
    assert moved["sampler_rng"] == same["sampler_rng"] and torch.equal(moved["augment_rng"], same["augment_rng"])
    # Fresh Adam moments start under the run's warm-up ramp again; the full state needs none.
    assert moved["rewarm_from"] == 5 and same["rewarm_from"] is None
    cfg = train.TrainConfig(**moved["config"])
    assert train.learning_rate(cfg, 5, 5) == pytest.approx(0.1 * train.learning_rate(cfg, 5))
    assert train.learning_rate(cfg, 8, 5) == train.learning_rate(cfg, 8)
    # The weights continued from the compact copy (float16): five more steps of at most ≈ lr each apart.
    weights = [k for k, v in same["model"].items() if v.is_floating_point() and "running_" not in k]
    assert max(float((moved["model"][k] - same["model"][k]).abs().max()) for k in weights) < 1e-2

    with pytest.raises(SystemExit, match="not a resumable run state"):
        train.main(["--out", str(tmp_path / "bad"), "--resume", str(tmp_path / "here" / "final.pt")] + common)
    with pytest.raises(SystemExit, match="not a run in progress"):
        compact.main(["--resumable", "--checkpoint", str(tmp_path / "here" / "final.pt"), "--out", str(tmp_path / "x.pt")])
