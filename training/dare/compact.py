"""A finished run's weights in a few MB, for training/checkpoints/: float16, no optimizer state, so that a
run can continue on another machine (`dare.train --init`) when runs/ does not survive.

    python3 -m dare.compact --checkpoint ../runs/NAME/final.pt --out checkpoints/NAME-ITER.fp16.pt --note "what it is"

load_state_dict into the fp32 model casts the weights back; integer buffers (BN batch counts) stay as they are.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

KEPT = ("config", "hardware", "wall_seconds", "iteration")


def compact(ckpt: dict[str, object], note: str) -> dict[str, object]:
    model = ckpt["model"]
    assert isinstance(model, dict)
    def half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}

    # The identity classifiers travel too, so that a restart does not begin its identity loss at chance.
    classifiers = ckpt.get("classifiers")
    kept = {"classifiers": half(classifiers)} if isinstance(classifiers, dict) else {}
    return {**{k: ckpt[k] for k in KEPT if k in ckpt}, "model": half(model), **kept, "note": note}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="a run's final.pt")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--note", default="", help="what the weights are (which run, which model)")
    args = ap.parse_args(argv)
    ckpt = torch.load(args.checkpoint, map_location="cpu")
    if "model" not in ckpt or "config" not in ckpt:
        raise SystemExit(f"{args.checkpoint}: not a dare.train checkpoint (no model or config)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(compact(ckpt, args.note), args.out)
    print(f"wrote {args.out}: {args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
