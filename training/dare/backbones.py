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


def make_backbone(name: str) -> torch.nn.Module:
    if name == "mobilenetv2":
        return MobileNetV2Stages()
    if name == "osnet_x0_25":
        return OSNetStages()
    if name == "resnet50":
        return ResNet50Stages()
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
