"""Identity classifiers fitted on a restarted model's frozen features before fine-tuning starts.

A warm restart (`dare.train --init`) of a model trained with the identity loss used to begin with random
classifiers: the label-smoothed cross-entropy starts at chance (ln 751 = 6.6 on Market), and its large,
meaningless gradient reshapes embeddings that were already good. Fitting the classifiers first on the
model's own features, with the network frozen, is linear probing then fine-tuning (LP-FT, Kumar et al.
2022), which they show distorts pretrained features less and keeps more out-of-distribution accuracy
than fine-tuning under a fresh head.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .loss import label_smoothed_ce


@dataclass(frozen=True)
class ProbeResult:
    """Per classifier (stages, then fused): the label-smoothed cross-entropy and top-1 accuracy on the
    features it was fitted on, before and after the fit."""
    loss_before: list[float]
    loss_after: list[float]
    accuracy_after: list[float]


@torch.no_grad()
def exit_features(model: torch.nn.Module, count: int, view: Callable[[torch.Tensor], torch.Tensor], batch: int,
                  device: torch.device | None = None, seed: int = 0) -> list[torch.Tensor]:
    """The embeddings the identity loss classifies (each exit's BNNeck output, then fused) for images
    0..count-1, as training computes them: `view(indices)` renders those images as a training batch would
    (random crop, flip, photometric change), and the model runs in train mode on shuffled batches of the
    training batch size, so that BatchNorm uses batch statistics as it does in the loss. Features of plain
    eval-mode crops are the wrong target: a classifier fitted on them scores far above chance on these.
    The BatchNorm running statistics and the model's mode are put back as they were."""
    was_training = model.training
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    model.train()
    device = device or next(model.parameters()).device
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    chunks: list[list[torch.Tensor]] = []
    for i in range(0, count, batch):
        out = model(view(order[i : i + batch]).to(device))
        chunks.append([e.float().cpu() for e in out.stages + [out.fused]])
    model.load_state_dict(buffers, strict=False)
    model.train(was_training)
    unshuffled = torch.empty_like(order)
    unshuffled[order] = torch.arange(count)
    return [torch.cat([c[k] for c in chunks])[unshuffled] for k in range(len(chunks[0]))]


def fit_classifiers(fcs: torch.nn.ModuleList, features: list[torch.Tensor], labels: torch.Tensor,
                    epochs: int = 5, batch: int = 256, lr: float = 1e-3, seed: int = 0) -> ProbeResult:
    """Minibatch Adam on each bias-free linear classifier with the training loss (label-smoothed CE).
    Minibatches, not full-batch steps: Debian's torch multiplies matrices with the reference BLAS, where a
    full pass over 39k features x 751 identities takes seconds, and a few epochs of minibatches fit as
    well as hundreds of full-batch steps."""
    if len(fcs) != len(features):
        raise ValueError(f"{len(fcs)} classifiers for {len(features)} embeddings")
    gen = torch.Generator().manual_seed(seed)
    before, after, accuracy = [], [], []
    for fc, x in zip(fcs, features):
        x = x.to(fc.weight.device)
        y = labels.to(fc.weight.device)
        with torch.no_grad():
            before.append(float(label_smoothed_ce(fc(x), y)))
        opt = torch.optim.Adam(fc.parameters(), lr=lr)
        for _ in range(epochs):
            for idx in torch.randperm(len(x), generator=gen).split(batch):
                loss = label_smoothed_ce(fc(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            logits = fc(x)
            after.append(float(label_smoothed_ce(logits, y)))
            accuracy.append(float((logits.argmax(1) == y).float().mean()))
    return ProbeResult(loss_before=before, loss_after=after, accuracy_after=accuracy)
