"""ResNet-50 (torchvision's) split at its four residual layers (stride 4, 8, 16, 32): the paper's
original DaRe(R) backbone. No ImageNet weights ship here; train from scratch or pass a torchvision
state dict (`--backbone resnet50 --weights resnet50.pth`), e.g. on a GPU machine."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.models import resnet50

from .imagenet_input import ImageNetNormalised


class ResNet50Stages(ImageNetNormalised):
    def __init__(self) -> None:
        super().__init__()
        net = resnet50()
        self.conv1, self.bn1, self.maxpool = net.conv1, net.bn1, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.tap_channels = (256, 512, 1024, 2048)

    def forward_stage(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        if stage == 1:
            return self.layer1(self.maxpool(torch.relu(self.bn1(self.conv1(x)))))
        return (self.layer2, self.layer3, self.layer4)[stage - 2](x)


def load_torchvision_weights(net: ResNet50Stages, path: str | Path) -> None:
    """A torchvision resnet50 state dict; its classifier (fc.*) is not used."""
    state = torch.load(path, map_location="cpu")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: not a torchvision ResNet-50 state dict (missing {missing[:3]}, unexpected {unexpected[:3]})")
