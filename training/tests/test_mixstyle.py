"""MixStyle (`dare.train --mixstyle`): a training-only exchange of per-channel feature statistics between the
images of a batch, invisible to a checkpoint, the evaluation and the export."""
import copy
import json
from pathlib import Path

import pytest
import torch

from dare import train
from dare.mixstyle import MixStyle
from conftest import random_multires


def _channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x.mean(dim=(2, 3)), x.std(dim=(2, 3), unbiased=False)


def test_mixstyle_mixes_each_images_statistics_with_another_and_keeps_its_content() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 4, 6, 5) * torch.rand(8, 4, 1, 1) * 3 + torch.randn(8, 4, 1, 1) * 2
    mixer = MixStyle(p=1.0, alpha=0.1).train()
    out = mixer(x)
    mu, sig = _channel_stats(x)
    mu_out, sig_out = _channel_stats(out)
    assert not torch.allclose(mu_out, mu, atol=1e-3)
    # the spatial pattern of every channel is the image's own: normalised, input and output agree
    normed = (x - mu[..., None, None]) / sig[..., None, None]
    normed_out = (out - mu_out[..., None, None]) / sig_out[..., None, None]
    assert torch.allclose(normed, normed_out, atol=1e-3)
    # each output statistic lies between the image's own and some other image's (a convex mixture)
    lo, hi = torch.minimum(mu, mu.min(0).values), torch.maximum(mu, mu.max(0).values)
    assert bool(((mu_out >= lo - 1e-4) & (mu_out <= hi + 1e-4)).all())


def test_mixstyle_is_the_identity_in_eval_and_for_a_batch_of_one_style() -> None:
    torch.manual_seed(1)
    x = torch.randn(6, 3, 4, 4)
    mixer = MixStyle(p=1.0)
    assert torch.equal(mixer.eval()(x), x)
    same = torch.randn(1, 3, 4, 4).repeat(6, 1, 1, 1)
    assert torch.allclose(mixer.train()(same), same, atol=1e-4)
    with pytest.raises(ValueError, match="p must be in"):
        MixStyle(p=0)
    with pytest.raises(ValueError, match="alpha must be"):
        MixStyle(alpha=0)


def test_a_model_with_a_style_mixer_keeps_its_weights_layout_and_its_eval_function() -> None:
    model = random_multires([(32, 16), (64, 32)], backbone="osnet_x0_25")
    x = torch.rand(4, 3, 64, 32) * 255
    keys = list(model.state_dict())
    with torch.no_grad():
        before = model(x).fused
        model.style_mixer = MixStyle(p=1.0)
        after = model(x).fused
        # in training mode the mixer acts (a copy: a training-mode pass moves the BatchNorm statistics)
        trained = copy.deepcopy(model).train()
        mixed = trained.features(1, x)
        trained.style_mixer = None
        plain = trained.features(1, x)
    assert list(model.state_dict()) == keys
    assert torch.equal(before, after)
    assert not torch.allclose(mixed, plain, atol=1e-3)


def test_training_with_mixstyle_runs_records_it_and_refuses_bad_shares(fake_market: Path, tmp_path: Path) -> None:
    common = ["--backbone", "osnet_x0_25", "--p", "4", "--k", "2", "--cache", str(tmp_path / "cache"), "--threads", "1"]
    with pytest.raises(SystemExit, match="--mixstyle 1.5: needs --resolutions and a share"):
        train.main(["--out", str(tmp_path / "bad"), "--resolutions", "48x24,64x32", "--mixstyle", "1.5", "--iterations", "2"] + common)
    with pytest.raises(SystemExit, match="--mixstyle 0.5: needs --resolutions"):
        train.main(["--out", str(tmp_path / "single"), "--height", "64", "--width", "32", "--mixstyle", "0.5", "--iterations", "2"] + common)
    assert not (tmp_path / "cache").exists()
    out = tmp_path / "run"
    train.main(["--out", str(out), "--resolutions", "48x24,64x32", "--mixstyle", "0.5", "--iterations", "3", "--erase-p", "0"] + common)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["iteration"] == 3 and all(torch.isfinite(torch.tensor(r["loss_fused"])) for r in log)
    ckpt = torch.load(out / "final.pt")
    assert ckpt["config"]["mixstyle"] == 0.5
    assert not any("style" in k for k in ckpt["model"])
