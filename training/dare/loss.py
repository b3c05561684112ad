"""Batch-hard triplet loss with soft margin (Hermans, Beyer & Leibe 2017)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def pairwise_euclidean(x: torch.Tensor) -> torch.Tensor:
    sq = (x * x).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * x @ x.t()
    # The epsilon keeps the gradient of sqrt finite on the diagonal.
    return torch.sqrt(d2.clamp_min(0.0) + 1e-12)


def batch_hard_soft_margin(embeddings: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean softplus(d(a, hardest positive) - d(a, hardest negative)), and the fraction of anchors whose
    hardest negative is closer than their hardest positive (an online training-error signal)."""
    d = pairwise_euclidean(embeddings)
    same = labels[:, None] == labels[None, :]
    hardest_pos = (d * same).max(1).values
    hardest_neg = d.masked_fill(same, float("inf")).min(1).values
    gap = hardest_pos - hardest_neg
    return F.softplus(gap).mean(), (gap > 0).float().mean()
