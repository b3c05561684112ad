"""A weight-space average ("model soup") of multi-resolution checkpoints that share their starting point.

    python3 -m dare.soup --checkpoints checkpoints/A.fp16.pt checkpoints/B.fp16.pt --out ../runs/AB.pt
    python3 -m dare.soup --checkpoints A.pt B.pt --weights 0.7,0.3 --bn-images 2048 --out ../runs/AB.pt
    python3 -m dare.soup --checkpoints A.pt B.pt --heads-from 2 --bn-images 1024 --out ../runs/AB-heads-B.pt

Why: two fine-tunings of the same MSMT17 weights with different schedules fit the training identities
about as well but err differently on new people; networks fine-tuned from one pretrained point tend to
share a basin, where their average generalises better than either (Wortsman et al., ICML 2022,
"Model soups"). The average costs nothing at inference: same graph, same multiply-adds.

A factorised stem (osnet.LowRankConv) is multiplied out into the full 7x7 conv first, because two
factorisations are not aligned (their rank directions differ) while the products are; the soup therefore
has full stems, and `dare.factorise_stem` factorises it again. BatchNorm running statistics are averaged
too (`--bn-images 0`), or recomputed on training images for the averaged weights (`--bn-images N`),
since an average of two networks' statistics need not be the statistics of the averaged network.

Before averaging, each input's distance to the first is printed per part (backbones, heads), relative to the
weights' size: long runs' backbones stay close (0.06–0.07) while their embedding heads can drift apart (0.80 for
`v2-mr2-long` and `-long-d3`, whose soup fell 5–10 points below both; 0.38 for the pair whose soup shipped),
and an average of unrelated heads computes neither. `--heads-from K` then averages the backbones only and
takes the heads, BNNecks, fusion weights and identity classifiers from input K.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from .compose import SHARED_CONFIG
from .data import training_sample
from .factorise_stem import STEM_KEY
from .model import from_config

# What must agree for two checkpoints to be averaged layer by layer: what composing exits needs, and each
# exit's size and pooling too (stem ranks need not: see above).
SHAPE_KEYS = (*SHARED_CONFIG, "resolutions", "exit_stripes")


def unfactorised(ckpt: dict) -> dict:
    """The checkpoint with every rank-r stem replaced by the full conv it computes (exactly: no nonlinearity
    between the two factors)."""
    config = dict(ckpt["config"])
    ranks = list(config.get("stem_ranks") or [0] * len(config["resolutions"]))
    state = dict(ckpt["model"])
    for k, rank in enumerate(ranks):
        if not rank:
            continue
        key = STEM_KEY.format(k=k)
        reduce, expand = state.pop(f"{key}.0.weight"), state.pop(f"{key}.1.weight")
        full = expand.float().flatten(1) @ reduce.float().flatten(1)
        state[f"{key}.weight"] = full.reshape(expand.shape[0], *reduce.shape[1:]).to(reduce.dtype)
        ranks[k] = 0
    return {**ckpt, "config": {**config, "stem_ranks": ranks}, "model": state}


# Parts whose weights belong to the embedding head (what --heads-from takes whole from one input).
HEAD_PREFIXES = ("heads.", "necks.", "fusion_weights")
# Above this relative distance between two inputs' heads a soup has failed here (0.80), below it one has
# worked (0.38): a warning, not a refusal, since the threshold comes from two cases.
HEAD_DRIFT_WARNING = 0.6


def is_head(key: str) -> bool:
    return key.startswith(HEAD_PREFIXES)


def relative_distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], head: bool) -> float:
    """‖a − b‖ / mean(‖a‖, ‖b‖) over the learned weights of the backbones (head=False) or the heads; BatchNorm
    running statistics and counts are left out (they follow the weights)."""
    keys = [k for k, v in a.items() if v.is_floating_point() and "running_" not in k and is_head(k) == head]
    diff = sum(float((a[k].float() - b[k].float()).pow(2).sum()) for k in keys) ** 0.5
    size = (sum(float(a[k].float().pow(2).sum()) for k in keys) ** 0.5 + sum(float(b[k].float().pow(2).sum()) for k in keys) ** 0.5) / 2
    return diff / size if size else 0.0


def check_compatible(configs: list[dict], names: list[str]) -> None:
    for key in SHAPE_KEYS:
        values = [c.get(key) for c in configs]
        if any(v != values[0] for v in values):
            listed = ", ".join(f"{n}: {v}" for n, v in zip(names, values))
            raise SystemExit(f"the checkpoints differ in {key} ({listed}); a soup needs the same architecture")


def average(states: list[dict[str, torch.Tensor]], weights: list[float]) -> dict[str, torch.Tensor]:
    """Float tensors as the weighted mean (in float32), integer buffers (BN batch counts) from the first."""
    keys = set(states[0])
    for s in states[1:]:
        if set(s) != keys:
            raise SystemExit(f"the checkpoints hold different tensors: {sorted(keys ^ set(s))[:4]}")
    out = {}
    for key, first in states[0].items():
        if not first.is_floating_point():
            out[key] = first
            continue
        out[key] = sum(w * s[key].float() for w, s in zip(weights, states))
    return out


def recompute_bn(model: nn.Module, images: torch.Tensor, batch: int = 64) -> None:
    """Every BatchNorm's running mean and variance, measured afresh on `images` (NCHW float 0-255 at the
    model's input size) as an equal-weight average over batches (momentum None), the weights untouched."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for i in range(0, len(images), batch):
            model(images[i:i + batch])
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    model.eval()


def soup(ckpts: list[dict], weights: list[float], names: list[str], heads_from: int | None = None) -> dict:
    """The weighted average; with heads_from (0-based), the backbones only, the head parts from that input."""
    flat = [unfactorised(c) for c in ckpts]
    check_compatible([c["config"] for c in flat], names)
    model = average([c["model"] for c in flat], weights)
    classifiers = [c.get("classifiers") for c in flat]
    if heads_from is not None:
        model.update({k: v.float() if v.is_floating_point() else v for k, v in flat[heads_from]["model"].items() if is_head(k)})
    out = {"config": flat[0]["config"], "model": model}
    if heads_from is not None and isinstance(classifiers[heads_from], dict):
        out["classifiers"] = {k: v.float() for k, v in classifiers[heads_from].items()}
    elif heads_from is None and all(isinstance(c, dict) for c in classifiers):
        # identity labels are the sorted training ids in every run, so the classifiers align row by row
        out["classifiers"] = average(classifiers, weights)
    return out


def report_distances(flat: list[dict[str, torch.Tensor]], names: list[str]) -> list[tuple[float, float]]:
    """Each input's (backbones, heads) distance to the first, printed; a warning when heads have drifted apart.
    `flat`: the inputs' states with full stems (`unfactorised`), as the soup averages them."""
    out = []
    for name, state in zip(names[1:], flat[1:]):
        backbones, heads = relative_distance(flat[0], state, head=False), relative_distance(flat[0], state, head=True)
        out.append((backbones, heads))
        print(f"{name} against {names[0]}: relative distance of the backbones {backbones:.3f}, of the heads {heads:.3f}")
        if heads > HEAD_DRIFT_WARNING:
            print(f"  warning: heads this far apart (> {HEAD_DRIFT_WARNING}) have averaged to neither before; "
                  "read the soup on the training identities first, or average the backbones only (--heads-from)")
    return out


def parse_weights(text: str | None, n: int) -> list[float]:
    if text is None:
        return [1.0 / n] * n
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        raise SystemExit(f"--weights {text}: expected {n} comma-separated numbers") from None
    if len(weights) != n or min(weights) < 0 or abs(sum(weights) - 1) > 1e-6:
        raise SystemExit(f"--weights {text}: expected {n} non-negative numbers that sum to 1")
    return weights


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", type=Path, nargs="+", required=True, help="two or more multi-resolution checkpoints of one architecture")
    ap.add_argument("--weights", help="comma list, one per checkpoint, summing to 1 (default: equal)")
    ap.add_argument("--bn-images", type=int, default=0, help="recompute BatchNorm statistics on this many training images (0: average them)")
    ap.add_argument("--heads-from", type=int, default=None,
                    help="average the backbones only; heads, BNNecks, fusion weights and classifiers from this input (1-based)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if len(args.checkpoints) < 2:
        raise SystemExit("--checkpoints: a soup needs two or more")
    missing = [str(p) for p in args.checkpoints if not p.is_file()]
    if missing:
        raise SystemExit(f"--checkpoints: no such file: {', '.join(missing)}")
    weights = parse_weights(args.weights, len(args.checkpoints))
    if args.heads_from is not None and not 1 <= args.heads_from <= len(args.checkpoints):
        raise SystemExit(f"--heads-from {args.heads_from}: expected an input's number, 1 to {len(args.checkpoints)}")
    ckpts = [torch.load(p, map_location="cpu") for p in args.checkpoints]
    names = [p.name for p in args.checkpoints]
    for name, c in zip(names, ckpts):
        if not isinstance(c, dict) or not isinstance(c.get("config"), dict) or not c["config"].get("resolutions"):
            raise SystemExit(f"{name}: not a multi-resolution checkpoint (dare.train, dare.compact, dare.compose)")
    flat = [unfactorised(c) for c in ckpts]
    report_distances([c["model"] for c in flat], names)
    heads_from = None if args.heads_from is None else args.heads_from - 1
    out = soup(flat, weights, names, heads_from)
    model = from_config(out["config"])
    model.load_state_dict(out["model"])
    bn = "averaged BatchNorm statistics"
    if args.bn_images:
        height, width = out["config"]["resolutions"][-1]
        images = training_sample(args.bn_images, height, width)
        recompute_bn(model, images)
        out["model"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        bn = f"BatchNorm statistics recomputed on {len(images)} training images"
    parts = " + ".join(f"{w:g} x {n}" for w, n in zip(weights, names))
    heads = "" if heads_from is None else f"; heads, necks, fusion weights and classifiers from {names[heads_from]}"
    out["note"] = f"soup: {parts}{heads}; {bn}; full stems (dare.soup)"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, args.out)
    print(f"wrote {args.out}: {out['note']}")


if __name__ == "__main__":
    main()
