"""Give a trained model a stripe-pooled stage-1 head, keeping the backbone and the other heads.

    python3 -m dare.refit_stage1 --checkpoint ../runs/osnet-256x128/final.pt --stripes 8 --out ../runs/osnet-256x128/stripes8.pt

The stage-1 ablation (dare.ablate_stage1, models/README.md) showed that the thin stage 1 is limited by its
global-average head: pooled in 8 horizontal stripes, the same frozen feature map reaches 56.7 rank-1
instead of 19.1. This makes that the model: the stage-1 maps and the stage 2-4 embeddings of the training
images are computed once (no augmentation), a new stage-1 head is trained on the stripe means with the
batch-hard soft-margin triplet loss (P x K batches, Adam 3e-4 then 3e-5), and the fusion weights are refit
with the same loss on the fused embedding, since e_1 changed. Writes a checkpoint dare.export_tfjs reads.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from .ablate_stage1 import fit_triplet, train_head
from .data import load_images, market_root, train_samples
from .export_tfjs import load_checkpoint
from .model import NUM_STAGES, Dare, from_config, stripe_pool


@torch.no_grad()
def frozen_features(model: Dare, images: np.ndarray, stripes: int, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(stage-1 stripe means (N, stripes*C), stage 2-4 embeddings (N, 3, 128)), eval mode."""
    pooled, later = [], []
    for i in range(0, len(images), batch):
        h = model.normalise(torch.from_numpy(images[i : i + batch]).permute(0, 3, 1, 2).float())
        h = model.backbone.forward_stage(1, h)
        pooled.append(stripe_pool(h, stripes).numpy())
        embs = []
        for s in range(2, NUM_STAGES + 1):
            h = model.backbone.forward_stage(s, h)
            embs.append(model.heads[s - 1](h))
        later.append(torch.stack(embs, dim=1).numpy())
    return np.concatenate(pooled), np.concatenate(later)


def refit_fusion(stage_embeddings: torch.Tensor, labels: list[int], init: torch.Tensor, iterations: int, seed: int) -> torch.Tensor:
    """Fusion weights minimising the triplet loss of sum_s w_s e_s, the other parts fixed."""
    w = torch.nn.Parameter(init.clone())
    fit_triplet([w], lambda idx: (stage_embeddings[idx] * w[None, :, None]).sum(1), labels, iterations, seed, lr=1e-2, drop_lr_at_half=False)
    return w.detach()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--stripes", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=2000, help="for the stage-1 head; the fusion gets a quarter")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    old, ckpt = load_checkpoint(args.checkpoint)
    h, w = int(ckpt["config"]["height"]), int(ckpt["config"]["width"])
    train = train_samples(market_root())
    person_ids = sorted({s.person for s in train})
    labels = [person_ids.index(s.person) for s in train]
    pooled, later = frozen_features(old, load_images(train, h, w), args.stripes)
    print(f"frozen features of {len(train)} training images in {time.time() - t0:.0f} s", flush=True)

    head = train_head(pooled, old.heads[0].fc1.in_features, args.stripes, labels, args.iterations, seed=0)
    with torch.no_grad():
        e1 = head.embed_pooled(torch.from_numpy(pooled))
    stages = torch.cat([e1[:, None], torch.from_numpy(later)], dim=1)
    weights = refit_fusion(stages, labels, old.fusion_weights.detach(), args.iterations // 4, seed=1)
    print("fusion weights", [round(float(v), 4) for v in old.fusion_weights], "->", [round(float(v), 4) for v in weights])

    config = {**ckpt["config"], "stage1_stripes": args.stripes}
    new = from_config(config)
    state = {k: v for k, v in old.state_dict().items() if not k.startswith("heads.0.")}
    state.update({f"heads.0.{k}": v for k, v in head.state_dict().items()})
    state["fusion_weights"] = weights
    new.load_state_dict(state, strict=True)
    torch.save({**{k: v for k, v in ckpt.items() if k not in ("model", "optimizer")}, "config": config, "model": new.state_dict(),
                "refit": {"from": args.checkpoint.name, "stage1_stripes": args.stripes, "iterations": args.iterations,
                          "seconds": round(time.time() - t0, 1)}}, args.out)
    print(f"wrote {args.out} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
