"""The weight-space average (dare/soup.py): a factorised stem multiplies out exactly, the average is the
weighted mean of every float tensor, recomputed BatchNorm statistics are the data's, and checkpoints that
cannot be averaged are refused with a message."""
from pathlib import Path

import pytest
import torch

from dare import factorise_stem, soup, train
from dare.multires import DareMR
from conftest import random_multires

COMMON = ["--backbone", "osnet_x0_25", "--p", "4", "--k", "2", "--threads", "1", "--iterations", "2", "--resolutions", "32x16,64x32"]
RESOLUTIONS = [(32, 16), (64, 32)]


def _model(seed: int, stem_ranks: list[int] | None = None) -> DareMR:
    return random_multires(RESOLUTIONS, seed, bnneck=True, stem_ranks=stem_ranks)


def _ckpt(model: DareMR) -> dict:
    config = {"resolutions": [list(r) for r in RESOLUTIONS], "backbone": "osnet_x0_25", "bnneck": True, "teacher_head": False,
              "stem_ranks": model.stem_ranks}
    return {"config": config, "model": model.state_dict()}


def test_a_factorised_stem_multiplies_out_to_the_same_network() -> None:
    low = _model(0, stem_ranks=[0, 6])
    flat = soup.unfactorised(_ckpt(low))
    assert flat["config"]["stem_ranks"] == [0, 0]
    full = DareMR(RESOLUTIONS, bnneck=True).eval()
    full.load_state_dict(flat["model"])
    x = torch.rand(3, 3, 64, 32) * 255
    with torch.no_grad():
        assert torch.allclose(full(x).fused, low(x).fused, atol=1e-5)


def test_the_soup_is_the_weighted_mean_and_keeps_batch_counts_from_the_first() -> None:
    a, b = _ckpt(_model(0)), _ckpt(_model(1, stem_ranks=[0, 6]))
    out = soup.soup([a, b], [0.25, 0.75], ["a", "b"])
    key = "paths.1.conv2.0.conv1.conv.weight"
    assert torch.allclose(out["model"][key], 0.25 * a["model"][key] + 0.75 * b["model"][key])
    stem = "paths.1.conv1.conv.weight"  # b's factorised stem entered as its product
    assert torch.allclose(out["model"][stem], 0.25 * a["model"][stem] + 0.75 * soup.unfactorised(b)["model"][stem])
    counts = [k for k, v in out["model"].items() if not v.is_floating_point()]
    assert counts and all(torch.equal(out["model"][k], a["model"][k]) for k in counts)
    same = soup.soup([a, a], [0.5, 0.5], ["a", "a"])
    assert all(torch.allclose(v.float(), a["model"][k].float()) for k, v in same["model"].items())


def test_heads_from_one_input_average_the_backbones_only() -> None:
    a, b = _ckpt(_model(0)), _ckpt(_model(1))
    a["classifiers"] = {"fcs.0.weight": torch.zeros(5, 128)}
    b["classifiers"] = {"fcs.0.weight": torch.ones(5, 128)}
    out = soup.soup([a, b], [0.5, 0.5], ["a", "b"], heads_from=1)
    body = "paths.0.conv2.0.conv1.conv.weight"
    assert torch.allclose(out["model"][body], 0.5 * a["model"][body] + 0.5 * b["model"][body])
    for key in ("heads.1.fc2.weight", "heads.0.bn.running_mean", "necks.1.weight", "fusion_weights"):
        assert torch.equal(out["model"][key], b["model"][key].float())
    assert torch.equal(out["classifiers"]["fcs.0.weight"], b["classifiers"]["fcs.0.weight"])
    model = DareMR(RESOLUTIONS, bnneck=True)
    model.load_state_dict(out["model"])


def test_distances_separate_backbones_from_heads_and_warn_of_drifted_heads(capsys: pytest.CaptureFixture[str]) -> None:
    a = _ckpt(_model(0))
    near = {**a, "model": {k: v.clone() for k, v in a["model"].items()}}
    near["model"]["paths.0.conv2.0.conv1.conv.weight"] *= 1.01
    drifted = {**a, "model": {k: (-v if soup.is_head(k) and v.is_floating_point() else v) for k, v in a["model"].items()}}
    (close_body, close_heads), (far_body, far_heads) = soup.report_distances([c["model"] for c in (a, near, drifted)], ["a", "near", "drifted"])
    assert 0 < close_body < 0.01 and close_heads == 0
    assert far_body == 0 and far_heads > soup.HEAD_DRIFT_WARNING
    printed = capsys.readouterr().out
    assert printed.count("warning") == 1 and "--heads-from" in printed


def test_recomputed_statistics_are_those_of_the_images() -> None:
    model = _model(0)
    images = torch.rand(40, 3, 64, 32) * 255
    soup.recompute_bn(model, images, batch=16)
    path = model.paths[0]
    with torch.no_grad():
        stem_out = path.conv1.conv(path.normalise(torch.nn.functional.interpolate(images, size=(32, 16), mode="bilinear", align_corners=False)))
    # the mean of the three batches' means (16, 16, 8 images): what momentum None accumulates
    means = torch.stack([stem_out[i:i + 16].mean(dim=(0, 2, 3)) for i in range(0, 40, 16)]).mean(0)
    assert torch.allclose(path.conv1.bn.running_mean, means, atol=1e-4)
    assert not model.training and all(m.momentum == 0.1 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_what_cannot_be_averaged_is_refused_with_a_message(tmp_path: Path) -> None:
    a = _ckpt(_model(0))
    other = {**a, "config": {**a["config"], "resolutions": [[32, 16], [96, 48]]}}
    with pytest.raises(SystemExit, match="differ in resolutions"):
        soup.soup([a, other], [0.5, 0.5], ["a", "other"])
    with pytest.raises(SystemExit, match="sum to 1"):
        soup.parse_weights("0.5,0.6", 2)
    with pytest.raises(SystemExit, match="2 comma-separated numbers"):
        soup.parse_weights("half,half", 2)
    torch.save(a, tmp_path / "a.pt")
    with pytest.raises(SystemExit, match="two or more"):
        soup.main(["--checkpoints", str(tmp_path / "a.pt"), "--out", str(tmp_path / "o.pt")])
    torch.save(a, tmp_path / "b.pt")
    with pytest.raises(SystemExit, match="--heads-from 3: expected an input's number, 1 to 2"):
        soup.main(["--checkpoints", str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--heads-from", "3", "--out", str(tmp_path / "o.pt")])
    with pytest.raises(SystemExit, match="no such file"):
        soup.main(["--checkpoints", str(tmp_path / "a.pt"), str(tmp_path / "c.pt"), "--out", str(tmp_path / "o.pt")])


def test_two_trained_runs_make_a_soup_that_factorises_and_restarts(fake_market: Path, tmp_path: Path) -> None:
    runs = []
    for seed in (0, 1):
        train.main(["--out", str(tmp_path / f"run{seed}"), "--id-loss", "1", "--seed", str(seed), "--cache", str(tmp_path / "cache")] + COMMON)
        runs.append(tmp_path / f"run{seed}" / "final.pt")
    low = tmp_path / "run1-r6.pt"
    factorise_stem.main(["--checkpoint", str(runs[1]), "--exit", "2", "--rank", "6", "--images", "16", "--out", str(low)])
    out = tmp_path / "soup.pt"
    soup.main(["--checkpoints", str(runs[0]), str(low), "--bn-images", "24", "--out", str(out)])
    made = torch.load(out, map_location="cpu")
    assert made["config"]["stem_ranks"] == [0, 0] and "classifiers" in made and "recomputed on 24" in made["note"]
    again = tmp_path / "soup-r6.pt"
    factorise_stem.main(["--checkpoint", str(out), "--exit", "2", "--rank", "6", "--images", "16", "--out", str(again)])
    train.main(["--out", str(tmp_path / "restart"), "--id-loss", "1", "--init", str(again), "--probe-epochs", "0",
                "--cache", str(tmp_path / "cache")] + COMMON)
    assert torch.load(tmp_path / "restart" / "final.pt", map_location="cpu")["config"]["stem_ranks"] == [0, 6]
