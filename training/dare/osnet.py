"""OSNet x0.25 (Zhou et al., ICCV 2019) split into DaRe's four stages, initialised from the MSMT17
re-ID weights in ../shared/weights/osnet_x0_25_msmt17.onnx (torchreid's model, exported with BN folded).

Module names follow torchreid's `osnet_x0_25` exactly, so the ONNX node scopes name the module each
weight belongs to. Stages: 1 = conv1 + maxpool + conv2's OS blocks (stride 4, 64 channels);
2 = conv2's transition + conv3's blocks (stride 8, 96); 3 = conv3's transition + conv4 (stride 16, 128);
4 = conv5, the 1x1 conv the original network pools for its feature (stride 16, 128). OSNet has no
stride-32 stage; stage 4 is its own final feature map.

Provenance: the MSMT17 weights are torchreid's model zoo `osnet_x0_25_msmt17` (MIT licence), trained on
MSMT17 only — no Market-1501 image was seen before our fine-tuning.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .folded_bn import restore_batchnorms
from .imagenet_input import ImageNetNormalised

DEFAULT_ONNX = Path(__file__).resolve().parents[2].parent / "shared" / "weights" / "osnet_x0_25_msmt17.onnx"
CHANNELS = (16, 64, 96, 128)  # x0.25 of (64, 256, 384, 512)


class ConvLayer(nn.Module):
    """Conv + BN + ReLU, used for the 7x7 stem; with `instance_norm`, an affine instance norm between BN and
    ReLU (OSNet-IBN's stem: BN stays so the MSMT17 weights load as they are; the instance norm removes what
    its per-channel affine map would set, so in effect the stem is conv -> IN -> ReLU)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int, instance_norm: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.instance_norm = nn.InstanceNorm2d(cout, affine=True) if instance_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return torch.relu(x if self.instance_norm is None else self.instance_norm(x))


class LowRankConv(nn.Sequential):
    """A k x k conv as a rank-r product: a k x k conv into `rank` channels, then a 1x1 conv to cout.

    Why: at full resolution OSNet x0.25's 7x7 stem (3 -> 16 channels) is a quarter of the network's
    multiply-adds, yet on images its 16 outputs span few more than 10 directions (dare/factorise_stem.py
    measures it), so rank r costs (k*k*cin + cout) * r per output pixel instead of k*k*cin*cout."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int, rank: int) -> None:
        if not 1 <= rank < cout:
            raise ValueError(f"stem rank {rank}: expected 1 to {cout - 1} (rank {cout} or more is the full conv)")
        super().__init__(nn.Conv2d(cin, rank, kernel, stride=stride, padding=padding, bias=False), nn.Conv2d(rank, cout, 1, bias=False))
        self.rank = rank


class Conv1x1(ConvLayer):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(cin, cout, 1, 1, 0)


class Conv1x1Linear(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class LightConv3x3(nn.Module):
    """1x1 (linear) then depthwise 3x3 + BN + ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, groups=cout, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv2(self.conv1(x))))


class ChannelGate(nn.Module):
    """Shared across the four streams of an OS block: GAP -> FC -> ReLU -> FC -> sigmoid, times x."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True)))))
        return x * g


class OSBlock(nn.Module):
    """With `instance_norm`, an affine instance norm on the residual sum before the ReLU (OSNet-IBN)."""

    def __init__(self, cin: int, cout: int, instance_norm: bool = False) -> None:
        super().__init__()
        mid = cout // 4
        self.conv1 = Conv1x1(cin, mid)
        self.conv2a = LightConv3x3(mid, mid)
        self.conv2b = nn.Sequential(*(LightConv3x3(mid, mid) for _ in range(2)))
        self.conv2c = nn.Sequential(*(LightConv3x3(mid, mid) for _ in range(3)))
        self.conv2d = nn.Sequential(*(LightConv3x3(mid, mid) for _ in range(4)))
        self.gate = ChannelGate(mid)
        self.conv3 = Conv1x1Linear(mid, cout)
        self.downsample = Conv1x1Linear(cin, cout) if cin != cout else None
        self.instance_norm = nn.InstanceNorm2d(cout, affine=True) if instance_norm else None

    def streams(self) -> list[nn.Module]:
        return [self.conv2a, self.conv2b, self.conv2c, self.conv2d]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.conv1(x)
        x2 = sum(self.gate(stream(x1)) for stream in self.streams())
        identity = self.downsample(x) if self.downsample is not None else x
        out = self.conv3(x2) + identity
        return torch.relu(out if self.instance_norm is None else self.instance_norm(out))


def _layer(cin: int, cout: int, reduce: bool, instance_norm: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = [OSBlock(cin, cout, instance_norm), OSBlock(cout, cout, instance_norm)]
    if reduce:
        layers.append(nn.Sequential(Conv1x1(cout, cout), nn.AvgPool2d(2, stride=2)))
    return nn.Sequential(*layers)


class OSNetStages(ImageNetNormalised):
    """forward_stage(s, x) maps stage s-1's tap (or the normalised image for s=1) to stage s's tap.

    `ibn`: torchreid's OSNet-IBN placement (Pan et al., ECCV 2018, "IBN-Net"): instance norms in the stem and
    after every OS block of conv2 and conv3, where a camera's colour and contrast live in the features; the
    deeper layers keep BN for what identifies a person."""

    def __init__(self, stem_rank: int | None = None, ibn: bool = False) -> None:
        super().__init__()
        c = CHANNELS
        self.conv1 = ConvLayer(3, c[0], 7, 2, 3, instance_norm=ibn)
        if stem_rank:
            self.conv1.conv = LowRankConv(3, c[0], 7, 2, 3, stem_rank)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = _layer(c[0], c[1], reduce=True, instance_norm=ibn)
        self.conv3 = _layer(c[1], c[2], reduce=True, instance_norm=ibn)
        self.conv4 = _layer(c[2], c[3], reduce=False)
        self.conv5 = Conv1x1(c[3], c[3])
        self.tap_channels = (c[1], c[2], c[3], c[3])

    def forward_stage(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        if stage == 1:
            return self.conv2[1](self.conv2[0](self.maxpool(self.conv1(x))))
        if stage == 2:
            return self.conv3[1](self.conv3[0](self.conv2[2](x)))
        if stage == 3:
            return self.conv4[1](self.conv4[0](self.conv3[2](x)))
        return self.conv5(x)


# ---------------------------------------------------------------------------------------------------
# Initialisation from the BN-folded ONNX export.


def _module_path(node_name: str) -> str:
    """'/conv2/conv2.0/conv2b/conv2b.1/conv2/Conv' -> 'conv2.0.conv2b.1.conv2'; the gate's repeated
    calls are scoped 'fc1_2' etc. and map back to the one shared 'fc1'."""
    parts: list[str] = []
    prev = ""
    for seg in node_name.strip("/").split("/")[:-1]:
        seg = re.sub(r"_\d+$", "", seg)
        if prev and seg.startswith(prev + "."):
            parts.append(seg[len(prev) + 1:])
        else:
            parts.append(seg)
        prev = seg
    return ".".join(parts)


def read_onnx_convs(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Module path -> (weight OIHW, bias or None) for every Conv node (shared gate weights once)."""
    import onnx
    from onnx import numpy_helper

    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path))
    except DecodeError as e:
        raise ValueError(f"{path}: not an ONNX model ({e})") from e
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    convs: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        if any(i not in init for i in node.input[1:]):
            raise ValueError(f"{path}: {node.name}'s weights are not initialisers of the file")
        w = init[node.input[1]]
        b = init[node.input[2]] if len(node.input) > 2 else None
        convs.setdefault(_module_path(node.name), (w, b))
    return convs


def load_msmt17_weights(net: OSNetStages, convs: dict[str, tuple[np.ndarray, np.ndarray | None]], calibration: torch.Tensor) -> None:
    """Copy the folded conv weights, then re-create each conv's BN (its parent's `bn`) from `calibration`
    (RGB 0-255 images) so the pretrained function is kept (folded_bn.restore_batchnorms)."""
    pending: dict[nn.BatchNorm2d, torch.Tensor] = {}
    modules = dict(net.named_modules())
    convs_in_net = {name for name, m in modules.items() if isinstance(m, nn.Conv2d)}
    if set(convs) != convs_in_net:
        raise ValueError(f"ONNX and model disagree: only in ONNX {sorted(set(convs) - convs_in_net)[:5]}, only in model {sorted(convs_in_net - set(convs))[:5]}")
    for name, (w, b) in convs.items():
        conv = modules[name]
        assert isinstance(conv, nn.Conv2d)
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ValueError(f"{name}: ONNX {w.shape} vs model {tuple(conv.weight.shape)}")
        conv.weight.data.copy_(torch.from_numpy(np.array(w)))
        if conv.bias is not None:
            assert b is not None, name
            conv.bias.data.copy_(torch.from_numpy(np.array(b)))
        elif b is not None:
            bn = modules[name.rsplit(".", 1)[0] + ".bn"]
            assert isinstance(bn, nn.BatchNorm2d), name
            pending[bn] = torch.from_numpy(b.astype(np.float32))
    missing = [n for n, m in modules.items() if isinstance(m, nn.BatchNorm2d) and m not in pending]
    if missing:
        raise ValueError(f"no folded bias for {missing[:5]}")

    # one calibration pass: each instance norm is set, just before it runs, to give back its input's average
    # per-image mean and spread, so the layers after it see the statistics the MSMT17 weights expect
    handles = [m.register_forward_pre_hook(_calibrate_instance_norm) for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]
    try:
        restore_batchnorms(net, pending, net.normalise(calibration))
    finally:
        for h in handles:
            h.remove()


def _calibrate_instance_norm(norm: nn.Module, inputs: tuple[torch.Tensor]) -> None:
    assert isinstance(norm, nn.InstanceNorm2d)
    x = inputs[0]
    norm.weight.data.copy_(torch.sqrt(x.var(dim=(2, 3), unbiased=False) + norm.eps).mean(0))
    norm.bias.data.copy_(x.mean(dim=(2, 3)).mean(0))
