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


def label_smoothed_ce(logits: torch.Tensor, labels: torch.Tensor, epsilon: float = 0.1) -> torch.Tensor:
    """Cross-entropy with label smoothing (Szegedy et al. 2016), as in Bag of Tricks (Luo et al. 2019)."""
    log_p = F.log_softmax(logits, dim=1)
    target = torch.full_like(log_p, epsilon / logits.shape[1])
    target.scatter_(1, labels[:, None], 1.0 - epsilon + epsilon / logits.shape[1])
    return -(target * log_p).sum(1).mean()


def relational_distillation(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the batch's cosine-similarity matrices (Park et al. 2019, RKD;
    Tung & Mori 2019): the student keeps the teacher's view of who resembles whom, whatever the
    embedding sizes (128 here, 512 for the MSMT17 network)."""
    s = F.normalize(student, dim=1)
    t = F.normalize(teacher, dim=1)
    return ((s @ s.t() - t @ t.t()) ** 2).mean()


def self_distillation(exits: list[torch.Tensor]) -> torch.Tensor:
    """Relational distillation from the last exit into each earlier one (exit order), the last one detached:
    a cheap exit learns the full model's view of who resembles whom, so where it is sure it tends to give
    the full model's answer, which is what the budgeted stream needs of it. Needs two exits or more."""
    if len(exits) < 2:
        raise ValueError(f"self-distillation needs two exits or more, got {len(exits)}")
    target = exits[-1].detach()
    return sum(relational_distillation(e, target) for e in exits[:-1]) / (len(exits) - 1)
