"""A finished run's weights in a few MB, for training/checkpoints/: float16, no optimizer state, so that a
run can continue on another machine (`dare.train --init`) when runs/ does not survive.

    python3 -m dare.compact --checkpoint ../runs/NAME/final.pt --out checkpoints/NAME-ITER.fp16.pt --note "what it is"

A run still in progress, so that another session continues the same schedule (`dare.train --resume`):

    python3 -m dare.compact --resumable --checkpoint ../runs/NAME/checkpoint.pt --out checkpoints/NAME.resume.fp16.pt

keeps the weights, their running average, the identity classifiers, the iteration and the random streams,
all floats in float16, and drops the optimizer's moments (twice the weights' size): Adam rebuilds them in
a few hundred iterations, under the run's warm-up ramp (dare/train.py).

load_state_dict into the fp32 model casts the weights back; integer buffers (BN batch counts) stay as they are.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

KEPT = ("config", "hardware", "wall_seconds", "iteration")
# What a run in progress needs beyond its weights to continue where it stopped (dare/train.py's checkpoint.pt).
RUN_STATE = ("sampler_rng", "augment_rng")


def half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}


def compact(ckpt: dict[str, object], note: str) -> dict[str, object]:
    model = ckpt["model"]
    assert isinstance(model, dict)
    # The identity classifiers travel too, so that a restart does not begin its identity loss at chance.
    classifiers = ckpt.get("classifiers")
    kept = {"classifiers": half(classifiers)} if isinstance(classifiers, dict) else {}
    return {**{k: ckpt[k] for k in KEPT if k in ckpt}, "model": half(model), **kept, "note": note}


def compact_run_state(ckpt: dict[str, object], note: str) -> dict[str, object]:
    missing = [k for k in RUN_STATE if k not in ckpt]
    if missing:
        raise SystemExit(f"--resumable: not a run in progress (no {', '.join(missing)}); pass the run's checkpoint.pt, not final.pt")
    ema = ckpt.get("ema")
    return {**compact(ckpt, note), **{k: ckpt[k] for k in RUN_STATE}, "ema": half(ema) if isinstance(ema, dict) else None}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="a run's final.pt (its checkpoint.pt with --resumable)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--note", default="", help="what the weights are (which run, which model)")
    ap.add_argument("--resumable", action="store_true",
                    help="from a run in progress (its checkpoint.pt): also its weight average and random streams, for dare.train --resume")
    args = ap.parse_args(argv)
    ckpt = torch.load(args.checkpoint, map_location="cpu")
    if "model" not in ckpt or "config" not in ckpt:
        raise SystemExit(f"{args.checkpoint}: not a dare.train checkpoint (no model or config)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(compact_run_state(ckpt, args.note) if args.resumable else compact(ckpt, args.note), args.out)
    print(f"wrote {args.out}: {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
