"""MixStyle (Zhou et al., ICLR 2021, "Domain Generalization with MixStyle"): feature-level style augmentation.

Why: a camera's rendering (colour cast, contrast, blur) lives largely in the per-channel mean and standard
deviation of early feature maps. Mixing those statistics between the images of a batch shows the network
each person in another image's "style", so it learns identity from what survives a change of camera; the
paper reports +2 to +4 mAP for OSNet trained on one re-ID dataset and tested on another. It only acts
while training (an identity at inference), has no parameters, and so leaves the exported graph, its cost
and its weights' layout exactly as they are.
"""
from __future__ import annotations

import torch
from torch import nn

EPS = 1e-6


class MixStyle(nn.Module):
    """With probability `p` per batch, each image's per-channel feature mean and std become a Beta(α, α)
    mixture of its own and another image's of the batch (a random pairing); the statistics are detached,
    as in the paper, so gradients do not flow through the style."""

    def __init__(self, p: float = 0.5, alpha: float = 0.1) -> None:
        super().__init__()
        if not 0 < p <= 1:
            raise ValueError(f"MixStyle p must be in (0, 1], got {p}")
        if alpha <= 0:
            raise ValueError(f"MixStyle alpha must be > 0, got {alpha}")
        self.p = p
        self.beta = torch.distributions.Beta(alpha, alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or x.shape[0] < 2 or torch.rand(()) > self.p:
            return x
        n = x.shape[0]
        mu = x.mean(dim=(2, 3), keepdim=True).detach()
        sig = (x.var(dim=(2, 3), keepdim=True) + EPS).sqrt().detach()
        normed = (x - mu) / sig
        lmda = self.beta.sample((n, 1, 1, 1)).to(x.device, x.dtype)
        perm = torch.randperm(n)
        mu_mix = lmda * mu + (1 - lmda) * mu[perm]
        sig_mix = lmda * sig + (1 - lmda) * sig[perm]
        return normed * sig_mix + mu_mix
