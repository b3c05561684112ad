"""DaRe across resolutions: the anytime exits are one backbone each at growing input sizes, all computed
from the one input image (the paper's title, "... across Multiple Resolutions", made the anytime axis).

Why: OSNet x0.25 spends 54 % of its cost before its first tap (the 7x7 stem at full resolution), so exits
cut along its depth cannot be cheap. The same network on a 96x48 downsample costs 13 % of it and still sees
the whole person. Exit k runs backbone k on the input resized to resolutions[k] and pools its last feature
map (GAP, the means of horizontal stripes or a generalised mean, -> FC + BN + ReLU -> FC 128, plus a BNNeck while training);
fused = sum_k w_k e_k. The exits
share nothing but the input, so the anytime runner computes exit k from the image, not from exit k-1.
"""
from __future__ import annotations

import torch
from torch import nn

from .backbones import make_backbone
from .model import HIDDEN_DIM, TEACHER_HIDDEN, DareOutput, EmbeddingHead, neck

Resolution = tuple[int, int]
# MixStyle's place in OSNet (the paper's): after the OS blocks of conv2 and conv3, where features still
# carry the camera's style; deeper, the statistics are identity.
MIXSTYLE_AFTER_STAGES = (1, 2)


def resize(x: torch.Tensor, size: Resolution) -> torch.Tensor:
    """Bilinear with half-pixel centres and no antialiasing: what TF's ResizeBilinear(half_pixel_centers)
    computes in the exported graph (a 2x downsample is then exactly a 2x2 mean)."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)


class DareMR(nn.Module):
    """Input: RGB float 0-255, NCHW, at the largest resolution (the model's declared input)."""

    def __init__(self, resolutions: list[Resolution], backbone: str = "osnet_x0_25", bnneck: bool = False, teacher_head: bool = False,
                 stripes: list[int] | None = None, stem_ranks: list[int] | None = None, ibn: bool = False, gem: bool = False) -> None:
        super().__init__()
        if list(resolutions) != sorted(resolutions):
            raise ValueError(f"resolutions must grow (the exits run in this order): {resolutions}")
        stripes = list(stripes or [1] * len(resolutions))
        if len(stripes) != len(resolutions) or min(stripes) < 1:
            raise ValueError(f"one stripe count >= 1 per exit: {stripes} for {len(resolutions)} exits")
        ranks = list(stem_ranks or [0] * len(resolutions))
        if len(ranks) != len(resolutions):
            raise ValueError(f"one stem rank per exit (0: the full stem): {ranks} for {len(resolutions)} exits")
        self.resolutions = [tuple(r) for r in resolutions]
        self.backbone_name = backbone
        self.paths = nn.ModuleList(make_backbone(backbone, r or None, ibn) for r in ranks)
        hidden = TEACHER_HIDDEN if teacher_head else HIDDEN_DIM  # teacher_head: every head starts as the MSMT17 FC
        self.heads = nn.ModuleList(EmbeddingHead(p.tap_channels[-1], s, hidden, gem) for p, s in zip(self.paths, stripes))
        self.necks = nn.ModuleList(neck() for _ in resolutions) if bnneck else None
        self.fusion_weights = nn.Parameter(torch.full((len(resolutions),), 1.0 / len(resolutions)))
        # Training-only feature augmentation between the early stages (dare.train --mixstyle): parameter-free,
        # so it never reaches a checkpoint or the exported graph.
        self.style_mixer: nn.Module | None = None

    @property
    def stripes(self) -> list[int]:
        return [h.stripes for h in self.heads]

    @property
    def gem(self) -> bool:
        return self.heads[0].gem_p is not None

    @property
    def stem_ranks(self) -> list[int]:
        """Each exit's stem rank, 0 for the full 7x7 conv."""
        return [getattr(p.conv1.conv, "rank", 0) for p in self.paths]

    @property
    def exits(self) -> int:
        return len(self.resolutions)

    def features(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """Exit k's last feature map (N, C, h, w)."""
        path = self.paths[k]
        h = path.normalise(resize(x, self.resolutions[k]))
        for s in range(1, 5):
            h = path.forward_stage(s, h)
            if s in MIXSTYLE_AFTER_STAGES and self.style_mixer is not None and self.training:
                h = self.style_mixer(h)
        return h

    def forward(self, x: torch.Tensor) -> DareOutput:
        raw = [self.heads[k](self.features(k, x)) for k in range(self.exits)]
        embeddings = raw if self.necks is None else [n(e) for n, e in zip(self.necks, raw)]
        fused = sum(w * e for w, e in zip(self.fusion_weights, embeddings))
        return DareOutput(stages=embeddings, fused=fused, raw=raw)
