"""The input convention of backbones trained on ImageNet-normalised RGB (torchreid's OSNet, torchvision's
ResNet-50): the model takes RGB 0-255 and normalises inside, so the exported graph does too."""
from __future__ import annotations

import torch
from torch import nn

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class ImageNetNormalised(nn.Module):
    """Base of such a backbone: `mean` and `std` (scaled to 0-255) are buffers the exporter reads."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1) * 255.0, persistent=False)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std
