"""Choosing the fusion weights on the cross-camera proxy, so that the fused embedding is not worse than the
best exit (the weights training learns mix weak early exits in and lose to the last one).

    python3 -m dare.fusion --tfjs-model ../runs/NAME/tfjs [--step 0.1] [--json out.json]

The fused embedding is Σ w_s·e_s over the *raw* exit embeddings, exactly what the exported graph computes,
so the weights found here go into the export as they are (`dare.export_tfjs --fusion-weights`). The grid
covers the simplex (weights ≥ 0 summing to 1) in steps of `--step`; its corners are the single exits, so on
the selection set the chosen fusion can never lose to the best exit. The objective is the mean of clean and
shifted mAP on the proxy (dare/proxy.py: held-out training identities only; the Market test split is never
read).

Selecting and reporting on the same 2,120 images flatters the choice, so the report also gives a two-fold
estimate: the held-out identities are split in two (even and odd index), weights are chosen on one half and
scored on the other, and both halves' scores are averaged — against the best single exit scored the same way.
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from .data import market_root, train_samples
from .metrics import euclidean, evaluate, l2_normalise
from .proxy import ProxySplit, photometric_shift, proxy_eval_split, tfjs_embedder
from .data import load_images


def parse_fusion_weights(text: str) -> list[float]:
    """`--fusion-weights 0.2,0.8` (argparse type): one number per exit; the count is checked where the model is
    loaded."""
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers separated by commas, one per exit, e.g. 0.2,0.8") from None


def simplex_grid(parts: int, step: float) -> list[tuple[float, ...]]:
    """Every weight vector of `parts` non-negative multiples of `step` that sum to 1."""
    n = round(1 / step)
    return [tuple(c / n for c in combo) for combo in itertools.product(range(n + 1), repeat=parts) if sum(combo) == n]


def fused(raw: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """(N, exits, D) raw exit embeddings -> (N, D) L2-normalised Σ w_s·e_s."""
    return l2_normalise(np.tensordot(raw, np.asarray(weights, dtype=np.float32), axes=([1], [0])))


def score(q: np.ndarray, g: np.ndarray, split: ProxySplit, mask: np.ndarray) -> float:
    """mAP of the queries in `mask` against the whole gallery (leave-one-out, standard protocol)."""
    ids = np.array([s.person for s in split.gallery]); cams = np.array([s.camera for s in split.gallery])
    return evaluate(euclidean(q[mask], g), ids[mask], cams[mask], ids, cams).mAP


def objective(clean: np.ndarray, shifted: np.ndarray, split: ProxySplit, mask: np.ndarray, w: tuple[float, ...]) -> float:
    g = fused(clean, w)
    return 0.5 * (score(g, g, split, mask) + score(fused(shifted, w), g, split, mask))


def best_weights(clean: np.ndarray, shifted: np.ndarray, split: ProxySplit, mask: np.ndarray, grid: list[tuple[float, ...]]) -> tuple[tuple[float, ...], float]:
    results = [(w, objective(clean, shifted, split, mask, w)) for w in grid]
    return max(results, key=lambda r: r[1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tfjs-model", type=Path, required=True)
    ap.add_argument("--step", type=float, default=0.1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    embed, h, w, names = tfjs_embedder(args.tfjs_model)
    split = proxy_eval_split(train_samples(market_root()))
    images = load_images(split.gallery, h, w)
    exits = len(names) - 1  # the last embedding is the graph's own fusion
    clean = embed(images)[:, :exits]
    shifted = embed(photometric_shift(images))[:, :exits]
    grid = simplex_grid(exits, args.step)
    corners = [w for w in grid if max(w) == 1.0]

    everyone = np.ones(len(split.gallery), dtype=bool)
    chosen, value = best_weights(clean, shifted, split, everyone, grid)
    print(f"chosen on all held-out identities: weights {chosen}, objective {100 * value:.2f} mAP")

    persons = sorted({s.person for s in split.gallery})
    half = np.array([persons.index(s.person) % 2 for s in split.gallery])
    folds = []
    for f in (0, 1):
        select, report = half == f, half != f
        w_sel, _ = best_weights(clean, shifted, split, select, grid)
        e_sel, _ = best_weights(clean, shifted, split, select, corners)
        folds.append({
            "selected": w_sel, "fused": objective(clean, shifted, split, report, w_sel),
            "best_exit": e_sel, "exit": objective(clean, shifted, split, report, e_sel),
        })
        print(f"fold {f}: chose {w_sel} -> {100 * folds[-1]['fused']:.2f} on the other half; best exit {e_sel} -> {100 * folds[-1]['exit']:.2f}")
    cv_fused = float(np.mean([f["fused"] for f in folds])); cv_exit = float(np.mean([f["exit"] for f in folds]))
    print(f"two-fold: fused {100 * cv_fused:.2f} vs best exit {100 * cv_exit:.2f} (mean of clean and shifted mAP)")
    print(f"export with: --fusion-weights {','.join(f'{x:g}' for x in chosen)}")
    if args.json:
        args.json.write_text(json.dumps({"weights": chosen, "objective": value, "folds": folds, "cv_fused": cv_fused, "cv_best_exit": cv_exit}, indent=2) + "\n")


if __name__ == "__main__":
    main()
