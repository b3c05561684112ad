"""One multi-resolution checkpoint assembled from several: exit k is exit k of the k-th given checkpoint.

    python3 -m dare.compose --exit checkpoints/A.fp16.pt --exit checkpoints/B.fp16.pt --out ../runs/AB.pt --note "exit 1 of A, exit 2 of B"

Why: the exits of a multi-resolution model share nothing but the input (dare/multires.py), so the best
trained first exit of one run and the best last exit of another can start a restart together
(`dare.train --init`, which may also resize each exit), instead of retraining either from a weaker start.
The exits keep their own fusion weight and identity classifier; the fused embedding's classifier comes
from the last checkpoint, whose exit dominates it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

# What must agree for the exits to form one model; sizes may differ (each exit keeps its own).
SHARED_CONFIG = ("backbone", "bnneck", "teacher_head")


def exit_state(state: dict[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    """Exit k's own weights (its backbone, head and neck), keyed as they are."""
    return {key: v for key, v in state.items() if key != "fusion_weights" and int(key.split(".", 2)[1]) == k}


def compose(checkpoints: list[dict[str, object]], note: str) -> dict[str, object]:
    configs = [c["config"] for c in checkpoints]
    exits = len(checkpoints)
    for i, cfg in enumerate(configs, 1):
        assert isinstance(cfg, dict)
        if len(cfg.get("resolutions") or []) != exits:
            raise SystemExit(f"checkpoint {i}: has {len(cfg.get('resolutions') or [])} exits, expected {exits} "
                             "(one multi-resolution checkpoint per exit of the composed model)")
        for key in SHARED_CONFIG:
            if cfg.get(key) != configs[-1].get(key):
                raise SystemExit(f"checkpoint {i}: its {key} is {cfg.get(key)!r}, the last one's is {configs[-1].get(key)!r}")
    states = [c["model"] for c in checkpoints]
    model: dict[str, torch.Tensor] = {}
    for k, state in enumerate(states):
        assert isinstance(state, dict)
        model.update(exit_state(state, k))
    model["fusion_weights"] = torch.stack([s["fusion_weights"][k] for k, s in enumerate(states)])  # type: ignore[index]
    resolutions = [list(cfg["resolutions"][k]) for k, cfg in enumerate(configs)]  # type: ignore[index]
    # an exit's stripes travel with its head, its stem rank with its backbone
    stripes = [list(cfg.get("exit_stripes") or [1] * exits)[k] for k, cfg in enumerate(configs)]  # type: ignore[union-attr]
    ranks = [list(cfg.get("stem_ranks") or [0] * exits)[k] for k, cfg in enumerate(configs)]  # type: ignore[union-attr]
    config = {**configs[-1], "resolutions": resolutions, "height": resolutions[-1][0], "width": resolutions[-1][1],
              "exit_stripes": stripes if any(s != 1 for s in stripes) else None, "stem_ranks": ranks if any(ranks) else None}
    out: dict[str, object] = {"config": config, "model": model, "iteration": 0, "note": note,
                              "sources": [c.get("note") or "" for c in checkpoints]}
    classifiers = [c.get("classifiers") for c in checkpoints]
    if all(isinstance(c, dict) for c in classifiers):
        # fcs.0 .. fcs.{exits-1}: the exits; fcs.{exits}: the fused embedding
        composed = {f"fcs.{k}.weight": classifiers[k][f"fcs.{k}.weight"] for k in range(exits)}  # type: ignore[index]
        composed[f"fcs.{exits}.weight"] = classifiers[-1][f"fcs.{exits}.weight"]  # type: ignore[index]
        out["classifiers"] = composed
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exit", dest="exits", type=Path, action="append", required=True,
                    help="a multi-resolution checkpoint; the k-th given supplies exit k (give one per exit, in order)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--note", default="", help="what the composed weights are")
    args = ap.parse_args(argv)
    checkpoints = []
    for path in args.exits:
        if not path.is_file():
            raise SystemExit(f"--exit {path}: no such checkpoint file")
        ckpt = torch.load(path, map_location="cpu")
        if "model" not in ckpt or "config" not in ckpt:
            raise SystemExit(f"--exit {path}: not a dare.train checkpoint (no model or config)")
        checkpoints.append(ckpt)
    composed = compose(checkpoints, args.note)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(composed, args.out)
    print(f"wrote {args.out}: exits at {composed['config']['resolutions']}")  # type: ignore[index]


if __name__ == "__main__":
    main()
