"""Ablation: how much does stage 1's *head* limit it? Frozen backbone, stage-1 heads retrained.

    python3 -m dare.ablate_stage1 --checkpoint ../runs/osnet-256x128/final.pt [--iterations 3000]

Stage 1 of the shipped model reaches 14.7 % rank-1. This asks whether a richer pooling of the same
stage-1 feature map would help, without retraining the backbone: the stage-1 maps of every training and
evaluation image are pooled once (global average, and the means of 2, 4 and 8 horizontal stripes,
concatenated), and a fresh DaRe head (model.EmbeddingHead: FC 1024 + BN + ReLU -> FC 128) is trained on each pooling with
the same batch-hard soft-margin triplet loss and P x K batches, then scored with the standard protocol.
No augmentation (the features are computed once), so the heads train in seconds; the GAP row is the
control, directly comparable with the stripe rows.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

from .data import PKSampler, load_images, market_root, read_split, train_samples
from .export_tfjs import load_checkpoint
from .loss import batch_hard_soft_margin
from .metrics import euclidean, evaluate, l2_normalise
from .model import Dare, EmbeddingHead, stripe_pool

STRIPES = (1, 2, 4, 8)


@torch.no_grad()
def stripe_features(model: Dare, images: np.ndarray, stripes: int, batch: int = 64) -> np.ndarray:
    """(N, stripes * C): the stage-1 map averaged over each of `stripes` horizontal bands."""
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i : i + batch]).permute(0, 3, 1, 2).float()
        out.append(stripe_pool(model.backbone.forward_stage(1, model.normalise(x)), stripes).numpy())
    return np.concatenate(out)


def fit_triplet(parameters: Iterable[torch.Tensor], embed: Callable[[torch.Tensor], torch.Tensor], labels: list[int],
                iterations: int, seed: int, lr: float, drop_lr_at_half: bool) -> None:
    """Adam on the batch-hard soft-margin triplet loss over P x K batches (18 x 4) of precomputed
    features; `embed` maps a batch's indices to its embeddings. lr / 10 for the second half if asked."""
    opt = torch.optim.Adam(parameters, lr=lr)
    sampler = PKSampler(labels, 18, 4, seed)
    y = torch.tensor(labels)
    for it in range(iterations):
        if drop_lr_at_half and it == iterations // 2:
            for g in opt.param_groups:
                g["lr"] = lr / 10
        idx = torch.tensor(sampler.batch())
        loss, _ = batch_hard_soft_margin(embed(idx), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def train_head(pooled: np.ndarray, channels: int, stripes: int, labels: list[int], iterations: int, seed: int) -> EmbeddingHead:
    """A fresh head (seeded init) trained on stage-1 features already pooled in `stripes` bands."""
    torch.manual_seed(seed)
    head = EmbeddingHead(channels, stripes)
    x = torch.from_numpy(pooled)
    fit_triplet(head.parameters(), lambda idx: head.embed_pooled(x[idx]), labels, iterations, seed, lr=3e-4, drop_lr_at_half=True)
    return head.eval()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--iterations", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model, ckpt = load_checkpoint(args.checkpoint)
    h, w = int(ckpt["config"]["height"]), int(ckpt["config"]["width"])
    root = market_root()
    train = train_samples(root)
    queries, gallery = read_split(root, "query"), read_split(root, "bounding_box_test")
    person_ids = sorted({s.person for s in train})
    labels = [person_ids.index(s.person) for s in train]
    t0 = time.time()
    train_x = stripe_features(model, load_images(train, h, w), max(STRIPES))
    eval_x = stripe_features(model, load_images(queries + gallery, h, w), max(STRIPES))
    print(f"stage-1 features of {len(train) + len(queries) + len(gallery)} images in {time.time() - t0:.0f} s")
    q_ids = np.array([s.person for s in queries]); q_cams = np.array([s.camera for s in queries])
    g_ids = np.array([s.person for s in gallery]); g_cams = np.array([s.camera for s in gallery])
    channels = train_x.shape[1] // max(STRIPES)

    def coarsen(x: np.ndarray, stripes: int) -> np.ndarray:
        """8-stripe means -> `stripes`-stripe means (equal bands, so an average of neighbours)."""
        fine = x.reshape(len(x), max(STRIPES), channels)
        return fine.reshape(len(x), stripes, max(STRIPES) // stripes, channels).mean(axis=2).reshape(len(x), -1)

    print(f"{'stage-1 pooling':<18} {'rank-1':>7} {'mAP':>7}")
    for stripes in STRIPES:
        head = train_head(coarsen(train_x, stripes), channels, stripes, labels, args.iterations, seed=0)
        with torch.no_grad():
            emb = l2_normalise(head.embed_pooled(torch.from_numpy(coarsen(eval_x, stripes))).numpy())
        q, g = emb[: len(queries)], emb[len(queries) :]
        s = evaluate(euclidean(q, g), q_ids, q_cams, g_ids, g_cams)
        label = "global average" if stripes == 1 else f"{stripes} stripes"
        print(f"{label:<18} {100 * s.rank1:7.2f} {100 * s.mAP:7.2f}", flush=True)


if __name__ == "__main__":
    main()
