"""The staged backbones DaRe can be built on. Each maps RGB 0-255 (NCHW) through `normalise`, then
`forward_stage(1..4)`, and says its stage outputs' channel counts in `tap_channels`."""
from __future__ import annotations

from typing import Protocol

import torch

from .mobilenetv2 import MobileNetV2Stages
from .osnet import OSNetStages
from .resnet import ResNet50Stages

BACKBONES = ("mobilenetv2", "osnet_x0_25", "resnet50")


class Backbone(Protocol):
    tap_channels: tuple[int, int, int, int]

    def normalise(self, x: torch.Tensor) -> torch.Tensor: ...

    def forward_stage(self, stage: int, x: torch.Tensor) -> torch.Tensor: ...


def make_backbone(name: str, stem_rank: int | None = None, ibn: bool = False) -> torch.nn.Module:
    """stem_rank (OSNet only): the 7x7 stem as a rank-r product (osnet.LowRankConv); None: the full conv.
    ibn (OSNet only): OSNet-IBN's instance norms (osnet.OSNetStages)."""
    if stem_rank and name != "osnet_x0_25":
        raise ValueError(f"a low-rank stem exists for osnet_x0_25 only, not {name!r}")
    if ibn and name != "osnet_x0_25":
        raise ValueError(f"instance norms (--ibn) exist for osnet_x0_25 only, not {name!r}")
    if name == "mobilenetv2":
        return MobileNetV2Stages()
    if name == "osnet_x0_25":
        return OSNetStages(stem_rank, ibn)
    if name == "resnet50":
        return ResNet50Stages()
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
