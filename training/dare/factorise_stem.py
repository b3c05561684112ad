"""Replaces one exit's 7x7 stem by its best rank-r product on training images (osnet.LowRankConv).

    python3 -m dare.factorise_stem --checkpoint checkpoints/A.fp16.pt --exit 2 --rank 10 --out ../runs/A-r10.pt
    python3 -m dare.factorise_stem --checkpoint checkpoints/A.fp16.pt --exit 2          # the spectrum only

Why: OSNet x0.25's stem (3 -> 16 channels, 7x7, stride 2) costs 2,352 multiply-adds per output pixel, a
quarter of the network at 256x128, but on images its 16 outputs lie close to a subspace of about 10
directions. A rank-r product (a 7x7 conv into r channels, then a 1x1 conv to 16) costs 163·r.

The product is the one closest to the stem's output on training images, measured after the stem's
BatchNorm scale (what its ReLU sees): with S the second moment of the stem's input patches and D the BN
scale, U_r = the top r left singular vectors of D·W·S^(1/2); then the 1x1 conv is D^-1·U_r and the 7x7 conv
U_rᵀ·D·W. `residual` below is the share of that output energy the rank-r product loses. The bias is kept by
the BN that follows, so no other weight changes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .data import training_sample
from .macs import stage_macs
from .model import from_config
from .multires import resize
from .osnet import LowRankConv
from .tfgraph import bn_scale_shift

STEM_KEY = "paths.{k}.conv1.conv"


def stem_input_moment(stem: torch.nn.Conv2d, normalised: torch.Tensor) -> torch.Tensor:
    """E[x xᵀ] over every (zero-padded) input patch the stem sees: (cin·k·k)²."""
    patches = torch.nn.functional.unfold(normalised.double(), stem.kernel_size, padding=stem.padding, stride=stem.stride)
    flat = patches.permute(0, 2, 1).reshape(-1, patches.shape[1])
    return flat.T @ flat / flat.shape[0]


def output_space(weight: torch.Tensor, scale: torch.Tensor, moment: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The left singular vectors of D·W·S^(1/2) and the share of output energy beyond each rank."""
    values, vectors = torch.linalg.eigh(moment)
    root = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    u, s, _ = torch.linalg.svd((scale[:, None] * weight) @ root)
    energy = s.square()
    residual = 1 - energy.cumsum(0) / energy.sum()
    return u, residual.clamp(min=0)


def factorise(weight: torch.Tensor, scale: torch.Tensor, basis: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(reduce, expand) with expand @ reduce = D^-1·U_r·U_rᵀ·D·W: W projected on the top-r output directions."""
    u = basis[:, :rank]
    return u.T @ (scale[:, None] * weight), u / scale[:, None]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="a multi-resolution OSNet checkpoint (dare.train, dare.compact, dare.compose)")
    ap.add_argument("--exit", type=int, required=True, help="the exit (from 1) whose stem is factorised")
    ap.add_argument("--rank", type=int, default=0, help="the rank to keep; 0 prints the spectrum and writes nothing")
    ap.add_argument("--images", type=int, default=512, help="training images the input moment is measured on")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    if args.rank and not args.out:
        raise SystemExit("--rank needs --out (the checkpoint to write)")
    if not args.checkpoint.is_file():
        raise SystemExit(f"--checkpoint {args.checkpoint}: no such file")
    ckpt = torch.load(args.checkpoint, map_location="cpu")
    config = ckpt.get("config") if isinstance(ckpt, dict) else None
    if not isinstance(config, dict) or not config.get("resolutions") or config.get("backbone") != "osnet_x0_25":
        raise SystemExit(f"{args.checkpoint}: not a multi-resolution OSNet checkpoint (its config has no resolutions or another backbone)")
    exits = len(config["resolutions"])
    if not 1 <= args.exit <= exits:
        raise SystemExit(f"--exit {args.exit}: this model has exits 1 to {exits}")
    model = from_config(config)
    model.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
    model.eval()
    k = args.exit - 1
    path = model.paths[k]
    if isinstance(path.conv1.conv, LowRankConv):
        raise SystemExit(f"exit {args.exit}: its stem is already rank {path.conv1.conv.rank}")

    height, width = config["resolutions"][-1]
    images = training_sample(args.images, height, width)
    stem = path.conv1.conv
    with torch.no_grad():
        moment = stem_input_moment(stem, path.normalise(resize(images, model.resolutions[k])))
    weight = stem.weight.detach().double().reshape(stem.out_channels, -1)
    scale = torch.from_numpy(bn_scale_shift(path.conv1.bn)[0])
    basis, residual = output_space(weight, scale, moment)
    pixels = model.resolutions[k][0] * model.resolutions[k][1] // 4
    full = weight.numel() * pixels
    print(f"exit {args.exit} ({model.resolutions[k][0]}x{model.resolutions[k][1]}), stem {full / 1e6:.2f} M multiply-adds; "
          f"output energy lost at each rank ({args.images} training images):")
    for r in range(1, stem.out_channels):
        cost = (weight.shape[1] + stem.out_channels) * r * pixels
        print(f"  rank {r:2d}: residual {residual[r - 1].item():.2e}, stem {cost / 1e6:5.2f} M (saves {(full - cost) / 1e6:5.2f} M)")
    if not args.rank:
        return
    if not 1 <= args.rank < stem.out_channels:
        raise SystemExit(f"--rank {args.rank}: expected 1 to {stem.out_channels - 1}")

    reduce, expand = factorise(weight, scale, basis, args.rank)
    key = STEM_KEY.format(k=k)
    state = dict(ckpt["model"])
    dtype = state.pop(f"{key}.weight").dtype
    state[f"{key}.0.weight"] = reduce.reshape(args.rank, *stem.weight.shape[1:]).to(dtype)
    state[f"{key}.1.weight"] = expand.reshape(stem.out_channels, args.rank, 1, 1).to(dtype)
    ranks = model.stem_ranks
    ranks[k] = args.rank
    out = {**ckpt, "config": {**config, "stem_ranks": ranks}, "model": state,
           "note": f"{ckpt.get('note') or args.checkpoint.name}; exit {args.exit}'s stem at rank {args.rank} (dare.factorise_stem)"}
    check = from_config(out["config"])
    check.load_state_dict({n: v.float() for n, v in state.items()})
    before, after = stage_macs(model, height, width), stage_macs(check, height, width)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, args.out)
    print(f"wrote {args.out}: exit {args.exit}'s stem at rank {args.rank}, residual {residual[args.rank - 1].item():.2e}; "
          f"multiply-adds {before.cumulative[-1] / 1e6:.1f} M -> {after.cumulative[-1] / 1e6:.1f} M")


if __name__ == "__main__":
    main()
