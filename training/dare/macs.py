"""Multiply-accumulate counts of a Dare model, per stage, as the anytime runner pays them.

Definition (also written into the exported metadata): one MAC is one multiply-add of a convolution or
fully-connected layer, for one image at the model's input size. Folded BatchNorm, activations, global
average pooling, residual additions and the input normalisation are not counted (they are
element-wise and together cost well under 1% of the total).

`cumulative[s]` is what reaching stage s's embedding costs when running stage by stage: the backbone
from the image up to stage s's tap, plus the embedding heads of stages 1..s, since the anytime runner
computes every head on the way.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


MACS_DEFINITION = (
    "multiply-adds of conv and fully-connected layers for one image at the input size; "
    "stage s = backbone from the image to stage s's tap + embedding heads 1..s (BN folded; "
    "activations, pooling, resizing, residual adds and normalisation not counted); fused adds exits x 128 for the weighted sum; "
    "for one backbone per resolution, exit k = backbones and heads of exits 1..k"
)


@dataclass
class StageMacs:
    backbone: list[int]  # MACs of forward_stage(s) alone
    head: list[int]  # MACs of head s alone
    cumulative: list[int]  # what the contract's stages[s].macs holds
    fused: int  # cumulative[-1] + the weighted sum of the four embeddings


def _layer_macs(module: nn.Module, out: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = (module.in_channels // module.groups) * kh * kw
        return int(out[0].numel()) * per_output
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return 0


def _count(fn, modules: list[nn.Module]) -> tuple[int, torch.Tensor]:
    total = 0

    def hook(module: nn.Module, _inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        total += _layer_macs(module, out)

    handles = [m.register_forward_hook(hook) for m in modules if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        result = fn()
    finally:
        for h in handles:
            h.remove()
    return total, result


@torch.no_grad()
def stage_macs(model: nn.Module, height: int, width: int) -> StageMacs:
    """Per exit, for a Dare (stages of one backbone: stage s is fed stage s-1's features) or a DareMR (one
    backbone per resolution, each fed the input resized: exit k's cost is its own backbone and head, and
    cumulative adds the exits before)."""
    from .multires import DareMR

    modules = list(model.modules())
    was_training = model.training
    model.eval()
    try:
        image = torch.zeros(1, 3, height, width)
        h = image
        backbone, head = [], []
        for k in range(len(model.heads)):
            if isinstance(model, DareMR):
                macs, h = _count(lambda: model.features(k, image), modules)
            else:
                macs, h = _count(lambda: model.backbone.forward_stage(k + 1, h), modules)
            backbone.append(macs)
            macs, _ = _count(lambda: model.heads[k](h), modules)
            head.append(macs)
    finally:
        model.train(was_training)
    cumulative, running = [], 0
    for b, hd in zip(backbone, head):
        running += b + hd
        cumulative.append(running)
    embed_dim = model.heads[0].fc2.out_features
    return StageMacs(backbone=backbone, head=head, cumulative=cumulative, fused=running + len(backbone) * embed_dim)
