"""ResNet-50: the four stages are torchvision's network, a torchvision state dict loads (and anything else
is refused clearly), and the train CLI runs from scratch."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models import resnet18, resnet50

from dare import train
from dare.export_tfjs import load_checkpoint
from dare.macs import stage_macs
from dare.model import Dare
from dare.resnet import ResNet50Stages, load_torchvision_weights


def test_macs_match_the_published_resnet50_figure() -> None:
    # torchvision documents 4.09 GFLOPS (multiply-adds) for its resnet50 at 224x224 (v1.5: stride 2 in
    # the 3x3 convs; the paper's v1 is 3.8 G), classifier included: the stage-4 tap stops before it.
    backbone = sum(stage_macs(Dare("resnet50"), 224, 224).backbone)
    assert backbone + 2048 * 1000 == pytest.approx(4.09e9, rel=5e-3)


@torch.no_grad()
def test_stages_compose_to_torchvision_resnet50(tmp_path: Path) -> None:
    """A torchvision state dict (classifier included, as torchvision saves it) loads, and the four
    stages together compute torchvision's resnet50 up to layer4, tap by tap."""
    torch.manual_seed(0)
    reference = resnet50().eval()
    for m in reference.modules():  # non-trivial BN statistics, so a BN left at its default would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "resnet50.pth"
    torch.save(reference.state_dict(), path)
    net = ResNet50Stages()
    load_torchvision_weights(net, path)
    net.eval()

    x = torch.rand(2, 3, 64, 32) * 255
    h = net.normalise(x)
    r = reference.maxpool(reference.relu(reference.bn1(reference.conv1(h))))
    for s, layer in enumerate((reference.layer1, reference.layer2, reference.layer3, reference.layer4), start=1):
        h, r = net.forward_stage(s, h), layer(r)
        assert h.shape[1] == net.tap_channels[s - 1] and h.shape[-2:] == (64 // 2 ** (s + 1), max(1, 32 // 2 ** (s + 1)))
        torch.testing.assert_close(h, r, rtol=0, atol=0)


def test_normalisation_is_imagenet_on_0_255_pixels() -> None:
    net = ResNet50Stages()
    x = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1).expand(1, 3, 2, 2) * 255
    torch.testing.assert_close(net.normalise(x), torch.zeros(1, 3, 2, 2), rtol=0, atol=1e-6)


def test_a_wrong_state_dict_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "resnet18.pth"
    torch.save(resnet18().state_dict(), path)
    # Same key names, other shapes: torch's own error, which names the first mismatching tensors.
    with pytest.raises(RuntimeError, match=r"size mismatch for layer1\.0\.conv1\.weight"):
        load_torchvision_weights(ResNet50Stages(), path)
    other = tmp_path / "dare_mnv2.pth"
    torch.save(Dare("mobilenetv2").state_dict(), other)
    with pytest.raises(ValueError, match="dare_mnv2.pth: not a torchvision ResNet-50 state dict"):
        load_torchvision_weights(ResNet50Stages(), other)


def test_train_cli_runs_from_scratch(fake_market: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train.main(["--out", str(out), "--backbone", "resnet50", "--weights", "", "--height", "64", "--width", "32",
                "--p", "4", "--k", "2", "--iterations", "2", "--cache", str(tmp_path / "cache"), "--threads", "1"])
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [2] and np.isfinite(log[0]["loss_fused"])
    model, ckpt = load_checkpoint(out / "final.pt")
    assert ckpt["config"]["backbone"] == "resnet50" and ckpt["config"]["weights"] == ""
    assert isinstance(model.backbone, ResNet50Stages)
