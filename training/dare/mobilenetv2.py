"""MobileNetV2 1.0 split into DaRe's four resolution stages, initialised from the ImageNet TFLite weights.

Stage s ends at stride 4, 8, 16, 32. Each stage's output ("tap") is the expanded (x6) activation of the
next stage's first block, computed anyway by the network: a 24-channel stride-4 map is too thin for a
re-ID descriptor, its 144-channel expansion is not. Stage s+1 starts from that tap with the strided
depthwise convolution, so running the stages one after another costs exactly one full forward pass.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .folded_bn import restore_batchnorms
from .tflite import read_tflite_tensors

# (expansion t, output channels c, repeats n, first stride s): Sandler et al. 2018, Table 2.
_BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
# Index of the first block of stages 2, 3, 4 (the stride-2 blocks at stride 8, 16, 32).
_STAGE_STARTS = (3, 6, 13)
LAST_CHANNELS = 1280


class ConvBNAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """The expansion is optional and separable so a stage can end right after it."""

    def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
        super().__init__()
        hidden = cin * t
        self.expand = ConvBNAct(cin, hidden, 1) if t != 1 else None
        self.depthwise = ConvBNAct(hidden, hidden, 3, stride, groups=hidden)
        self.project = ConvBNAct(hidden, cout, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward_expand(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand(x) if self.expand is not None else x

    def forward_rest(self, x: torch.Tensor, block_input: torch.Tensor | None) -> torch.Tensor:
        y = self.project(self.depthwise(x))
        if self.residual:
            assert block_input is not None
            y = y + block_input
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_rest(self.forward_expand(x), x)


def _make_blocks() -> nn.ModuleList:
    blocks: list[InvertedResidual] = []
    cin = 32
    for t, c, n, s in _BLOCKS:
        for i in range(n):
            blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    return nn.ModuleList(blocks)


class MobileNetV2Stages(nn.Module):
    """forward_stage(s, x) maps stage s-1's tap (or the normalised image for s=1) to stage s's tap."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = ConvBNAct(3, 32, 3, 2)
        self.blocks = _make_blocks()
        self.head = ConvBNAct(320, LAST_CHANNELS, 1)
        self.tap_channels = (
            self.blocks[_STAGE_STARTS[0]].expand[0].out_channels,
            self.blocks[_STAGE_STARTS[1]].expand[0].out_channels,
            self.blocks[_STAGE_STARTS[2]].expand[0].out_channels,
            LAST_CHANNELS,
        )

    @staticmethod
    def normalise(x: torch.Tensor) -> torch.Tensor:
        """RGB 0-255 to the [-1, 1] the TFLite model was trained on."""
        return x / 127.5 - 1.0

    def _stage_bounds(self, stage: int) -> tuple[int, int]:
        starts = (0,) + _STAGE_STARTS + (len(self.blocks),)
        return starts[stage - 1], starts[stage]

    def forward_stage(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        first, end = self._stage_bounds(stage)
        if stage == 1:
            x = self.blocks[0](self.stem(x))
            first = 1
        else:
            # x is the expanded input of block `first`, which is strided: no residual to carry.
            x = self.blocks[first].forward_rest(x, None)
            first += 1
        for i in range(first, end):
            x = self.blocks[i](x)
        if stage < 4:
            return self.blocks[end].forward_expand(x)
        return self.head(x)


# ---------------------------------------------------------------------------------------------------
# ImageNet initialisation from the quantisation-aware-trained TFLite MobileNetV2 (BN already folded).


def _tflite_prefix(block_index: int) -> str:
    return "MobilenetV2/expanded_conv" + ("" if block_index == 0 else f"_{block_index}")


def _find(tensors: dict[str, np.ndarray], must_contain: str, suffix: str) -> np.ndarray:
    """TFLite names fuse several op names with ';'. Pick the tensor whose *own* part matches."""
    hits = [v for k, v in tensors.items() if any(part.startswith(must_contain) and part.endswith(suffix) for part in k.split(";"))]
    if len(hits) != 1:
        raise KeyError(f"expected one tensor {must_contain}*{suffix}, found {len(hits)}")
    return hits[0]


def _folded_layers(tensors: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, OHWI or 1HWC weight, bias) for every conv, in network order."""
    layers = [("Conv", _find(tensors, "MobilenetV2/Conv/", "FakeQuantWithMinMaxVars"), _find(tensors, "MobilenetV2/Conv/", "BatchNorm_Fold/bias"))]
    for b in range(17):
        p = _tflite_prefix(b)
        parts = ([] if b == 0 else ["expand"]) + ["depthwise", "project"]
        for part in parts:
            w = _find(tensors, f"{p}/{part}/", "FakeQuantWithMinMaxVars")
            bias = _find(tensors, f"{p}/{part}/", "BatchNorm_Fold/bias")
            layers.append((f"{p}/{part}", w, bias))
    layers.append(("Conv_1", _find(tensors, "MobilenetV2/Conv_1/", "FakeQuantWithMinMaxVars"), _find(tensors, "MobilenetV2/Conv_1/", "BatchNorm_Fold/bias")))
    return layers


def load_tflite_tensors(path: str | Path) -> dict[str, np.ndarray]:
    return {t.name: t.dequantized() for t in read_tflite_tensors(path) if t.data is not None}


def _conv_bn_modules(net: MobileNetV2Stages) -> list[ConvBNAct]:
    mods: list[ConvBNAct] = [net.stem]
    for block in net.blocks:
        mods += [m for m in (block.expand, block.depthwise, block.project) if m is not None]
    mods.append(net.head)
    return mods


def load_imagenet_weights(net: MobileNetV2Stages, tensors: dict[str, np.ndarray], calibration: torch.Tensor) -> None:
    """Copy the folded conv weights, then re-create each BN from `calibration` (normalised images) so the
    pretrained function is kept (folded_bn.restore_batchnorms)."""
    layers = _folded_layers(tensors)
    mods = _conv_bn_modules(net)
    assert len(layers) == len(mods), (len(layers), len(mods))
    pending: dict[nn.BatchNorm2d, torch.Tensor] = {}
    for (name, w, b), mod in zip(layers, mods):
        conv: nn.Conv2d = mod[0]
        wt = torch.from_numpy(w)
        # TFLite conv: OHWI; depthwise: 1HWC. PyTorch: OIHW, depthwise C1HW.
        wt = wt.permute(3, 0, 1, 2) if conv.groups > 1 else wt.permute(0, 3, 1, 2)
        if tuple(wt.shape) != tuple(conv.weight.shape):
            raise ValueError(f"{name}: TFLite {tuple(wt.shape)} vs model {tuple(conv.weight.shape)}")
        conv.weight.data.copy_(wt)
        pending[mod[1]] = torch.from_numpy(b.astype(np.float32))

    restore_batchnorms(net, pending, calibration)


def imagenet_classifier(tensors: dict[str, np.ndarray]) -> nn.Conv2d:
    """The 1001-way (background + ImageNet-1k) logits layer, used only to verify the import."""
    w = _find(tensors, "MobilenetV2/Logits/Conv2d_1c_1x1/", "FakeQuantWithMinMaxVars")
    b = _find(tensors, "MobilenetV2/Logits/Conv2d_1c_1x1/", "biases")
    conv = nn.Conv2d(LAST_CHANNELS, w.shape[0], 1)
    conv.weight.data.copy_(torch.from_numpy(w).permute(0, 3, 1, 2))
    conv.bias.data.copy_(torch.from_numpy(b.astype(np.float32)))
    return conv
