"""DaRe (Wang et al., CVPR 2018): a staged backbone, one embedding head per stage, a learned fusion."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from .backbones import Backbone, make_backbone

EMBED_DIM = 128
HIDDEN_DIM = 1024
TEACHER_HIDDEN = 512  # the MSMT17 network's FC width (teacher.py)
NUM_STAGES = 4
# GeM pooling (Radenovic et al., TPAMI 2019): its exponent starts here and is learned per exit; the floor keeps
# the fractional power defined (the maps it pools are post-ReLU, so only zeros are lifted).
GEM_P0 = 3.0
GEM_EPS = 1e-6


def stripe_pool(feature_map: torch.Tensor, stripes: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, stripes * C): the mean of each of `stripes` horizontal bands, band-major
    (stripes = 1 is global average pooling)."""
    n, c, h, w = feature_map.shape
    if h % stripes:
        raise ValueError(f"{h} rows do not split into {stripes} stripes")
    return feature_map.reshape(n, c, stripes, h // stripes, w).mean(dim=(3, 4)).permute(0, 2, 1).reshape(n, stripes * c)


def gem_pool(feature_map: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C): the generalised mean (mean of x^p)^(1/p), between the average (p = 1) and the
    maximum (p -> inf): a learnable p lets each exit weight its strongest responses, where a person's
    distinctive parts show, above the background the average lets in."""
    return feature_map.clamp(min=GEM_EPS).pow(p).mean(dim=(2, 3)).pow(1.0 / p)


def widen_to_stripes(fc1_weight: torch.Tensor, stripes: int) -> torch.Tensor:
    """A globally pooled head's first FC weight (out, C) as the weight (out, stripes * C) of a stripe head
    that computes the same function: each band gets 1/stripes of it, because the mean of equal bands' means
    is the global mean. So a trained global head can start a stripe head without losing what it knows."""
    return fc1_weight.repeat(1, stripes) / stripes


class EmbeddingHead(nn.Module):
    """GAP -> FC 1024 + BN + ReLU -> FC 128, as in the paper; `stripes` > 1 pools horizontal bands
    instead of the whole map (models/README.md: it is what lifts a thin stage 1); `gem` pools the whole map
    by a generalised mean with a learned exponent instead of the average."""

    def __init__(self, cin: int, stripes: int = 1, hidden: int = HIDDEN_DIM, gem: bool = False) -> None:
        super().__init__()
        if gem and stripes != 1:
            raise ValueError(f"GeM pools the whole map: {stripes} stripes")
        self.stripes = stripes
        self.gem_p = nn.Parameter(torch.tensor(GEM_P0)) if gem else None
        self.fc1 = nn.Linear(cin * stripes, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, EMBED_DIM)

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        return self.embed_pooled(self.pool(feature_map))

    def pool(self, feature_map: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> the vector fc1 reads."""
        return stripe_pool(feature_map, self.stripes) if self.gem_p is None else gem_pool(feature_map, self.gem_p)

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """The head after its pooling: for training it on features pooled once."""
        return self.fc2(self.hidden(pooled))

    def hidden(self, pooled: torch.Tensor) -> torch.Tensor:
        """FC + BN + ReLU: the wide layer the embedding is read from (dare.layers scores it)."""
        return torch.relu(self.bn(self.fc1(pooled)))


@dataclass
class DareOutput:
    stages: list[torch.Tensor]  # e_1..e_4, each (N, 128): what retrieval compares (after the BNNeck, if any)
    fused: torch.Tensor  # sum_s w_s e_s
    raw: list[torch.Tensor]  # e_1..e_4 before the BNNeck (the triplet loss's input; = stages without one)


def neck(dim: int = EMBED_DIM) -> nn.BatchNorm1d:
    """BNNeck (Luo et al. 2019, "Bag of Tricks"): BN without a shift between the metric embedding and the
    identity classifier; at inference it is an affine map, folded into the head's last FC on export."""
    bn = nn.BatchNorm1d(dim)
    bn.bias.requires_grad_(False)
    return bn


class Dare(nn.Module):
    """Input: RGB float 0-255, NCHW. The backbone's own normalisation happens inside, so the exported
    graph takes raw pixels."""

    def __init__(self, backbone: Backbone | str = "mobilenetv2", stage1_stripes: int = 1, bnneck: bool = False, teacher_head: bool = False) -> None:
        super().__init__()
        self.backbone = make_backbone(backbone) if isinstance(backbone, str) else backbone
        # teacher_head: the last head has the MSMT17 network's FC shape (512 wide), to start as it (teacher.py).
        self.heads = nn.ModuleList(
            EmbeddingHead(c, stage1_stripes if i == 0 else 1, TEACHER_HIDDEN if teacher_head and i == NUM_STAGES - 1 else HIDDEN_DIM)
            for i, c in enumerate(self.backbone.tap_channels)
        )
        self.necks = nn.ModuleList(neck() for _ in range(NUM_STAGES)) if bnneck else None
        self.fusion_weights = nn.Parameter(torch.full((NUM_STAGES,), 1.0 / NUM_STAGES))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.normalise(x)

    def forward(self, x: torch.Tensor) -> DareOutput:
        h = self.normalise(x)
        raw = []
        for s in range(1, NUM_STAGES + 1):
            h = self.backbone.forward_stage(s, h)
            raw.append(self.heads[s - 1](h))
        embeddings = raw if self.necks is None else [n(e) for n, e in zip(self.necks, raw)]
        fused = sum(w * e for w, e in zip(self.fusion_weights, embeddings))
        return DareOutput(stages=embeddings, fused=fused, raw=raw)


@torch.no_grad()
def fold_necks(model: nn.Module) -> nn.Module:
    """The same function in eval mode without BNNeck modules (Dare or DareMR): each neck's affine map
    moved into its head's last FC, so the exporter (and any consumer of `heads`) sees the plain layout."""
    if getattr(model, "necks", None) is None:
        return model
    plain = copy.deepcopy(model).eval()
    for head, bn in zip(plain.heads, plain.necks):
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        head.fc2.weight.mul_(scale[:, None])
        head.fc2.bias.copy_((head.fc2.bias - bn.running_mean) * scale + bn.bias)
    plain.necks = None
    return plain


def exit_count(config: dict) -> int:
    return len(config["resolutions"]) if config.get("resolutions") else NUM_STAGES


def embedding_names(exits: int) -> list[str]:
    """stage1..stageN, then fused: the order every embedding table and file here uses."""
    return [f"stage{s}" for s in range(1, exits + 1)] + ["fused"]


def exit_names(config: dict) -> list[str]:
    return embedding_names(exit_count(config))


def from_config(config: dict) -> nn.Module:
    """The model a checkpoint's config describes (older checkpoints lack the newer keys): DaRe over one
    backbone's stages, or over one backbone per resolution (`resolutions`, dare/multires.py)."""
    if config.get("resolutions"):
        from .multires import DareMR

        return DareMR([tuple(r) for r in config["resolutions"]], config.get("backbone", "osnet_x0_25"), bool(config.get("bnneck", False)),
                      bool(config.get("teacher_head", False)), config.get("exit_stripes") or None, config.get("stem_ranks") or None,
                      bool(config.get("ibn", False)), bool(config.get("gem", False)))
    return Dare(config.get("backbone", "mobilenetv2"), int(config.get("stage1_stripes", 1)), bool(config.get("bnneck", False)),
                bool(config.get("teacher_head", False)))
