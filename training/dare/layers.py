"""How well each representation inside a multi-resolution checkpoint retrieves on the cross-camera proxy:
per exit the pooled backbone map (128-d for OSNet x0.25), the head's hidden layer (FC + BN + ReLU: 512-d
with --teacher-head, the MSMT17 network's own embedding layer and the peer's kind of embedding; 1,024-d
without) and its output (128-d, BNNeck folded), and the fused embedding as the export computes it (the
outputs summed at the given fusion weights).

    python3 -m dare.layers --checkpoint ../runs/NAME/ema.pt [--fusion-weights 0.2,0.8] [--json out.json]

Why: before training a wider embedding, whether the wider layer the 128-d output is read from already
retrieves better than it is the headroom such a change could have. PyTorch figures (the hidden and pooled
layers are not in the exported graph); the outputs match the TF.js export to about 0.01 (`dare.tfjs_parity`).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from .data import load_images, market_root, train_samples
from .fusion import parse_fusion_weights
from .model import fold_necks, from_config
from .multires import DareMR
from .proxy import photometric_shift, proxy_eval_split, score_embeddings

Representations = dict[str, np.ndarray]  # name -> (N, D)


@torch.no_grad()
def representations(model: DareMR, images: np.ndarray, fusion_weights: list[float], batch: int = 128) -> Representations:
    """Per exit k (1-based): pool{k}, hidden{k}, out{k}; then `fused` = sum_k weight_k * out{k}, the exported
    graph's fused embedding."""
    if len(fusion_weights) != model.exits:
        raise ValueError(f"one fusion weight per exit: {fusion_weights} for {model.exits} exits")
    columns: dict[str, list[np.ndarray]] = {}
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i : i + batch]).permute(0, 3, 1, 2).float()
        for k, head in enumerate(model.heads, start=1):
            pooled = head.pool(model.features(k - 1, x))
            hidden = head.hidden(pooled)
            out = head.fc2(hidden)
            if model.necks is not None:
                out = model.necks[k - 1](out)
            for name, value in ((f"pool{k}", pooled), (f"hidden{k}", hidden), (f"out{k}", out)):
                columns.setdefault(name, []).append(value.numpy())
    reps = {name: np.concatenate(parts) for name, parts in columns.items()}
    reps["fused"] = sum(w * reps[f"out{k}"] for k, w in enumerate(fusion_weights, start=1))
    return reps


def load_model(checkpoint: Path) -> tuple[DareMR, dict]:
    if not checkpoint.is_file():
        raise SystemExit(f"{checkpoint}: no such checkpoint file")
    state = torch.load(checkpoint, map_location="cpu")
    model = from_config(state["config"])
    if not isinstance(model, DareMR):
        raise SystemExit(f"{checkpoint}: not a multi-resolution (--resolutions) checkpoint")
    model.load_state_dict({k: v.float() for k, v in state["model"].items()})
    return fold_necks(model.eval()).float(), state["config"]


def proxy_table(model: DareMR, height: int, width: int, fusion_weights: list[float]) -> dict[str, dict[str, dict[str, float | int]]]:
    """{'clean'|'shifted': {representation: scores}} on the proxy's new people and cameras."""
    split = proxy_eval_split(train_samples(market_root()))
    images = load_images(split.gallery, height, width)
    gallery = representations(model, images, fusion_weights)
    result: dict[str, dict[str, dict[str, float | int]]] = {}
    for label, queries in (("clean", gallery), ("shifted", representations(model, photometric_shift(images), fusion_weights))):
        result[label] = {name: score_embeddings(queries[name][:, None], gallery[name][:, None], split)[0].as_dict()
                         for name in gallery}
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="a multi-resolution checkpoint (final.pt, ema.pt or a dare.compact file)")
    ap.add_argument("--fusion-weights", type=parse_fusion_weights, default=None, help="comma list, one per exit (default: equal)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--json", type=Path, help="also write the table here")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model, config = load_model(args.checkpoint)
    weights = args.fusion_weights or [1.0 / model.exits] * model.exits
    if len(weights) != model.exits:
        raise SystemExit(f"--fusion-weights {weights}: the checkpoint has {model.exits} exits, one weight each")
    table = proxy_table(model, config["height"], config["width"], weights)
    for label, rows in table.items():
        for name, s in rows.items():
            print(f"{label:8s} {name:8s} rank-1 {100 * float(s['rank1']):5.1f}  mAP {100 * float(s['mAP']):5.1f}")
    if args.json:
        args.json.write_text(json.dumps({"checkpoint": str(args.checkpoint), "fusionWeights": weights, "scores": table}, indent=1))


if __name__ == "__main__":
    main()
