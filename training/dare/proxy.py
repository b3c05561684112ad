"""The cross-camera proxy: how well a model does on people *and* cameras it was never trained on, built
from Market-1501's training split only (the test split is never used for training or selection).

    python3 -m dare.proxy --checkpoint ../runs/NAME/final.pt [--json out.json]
    python3 -m dare.proxy --tfjs-model ../models/dare-osnet
    python3 -m dare.proxy --teacher            # the MSMT17 starting point, for reference
    python3 -m dare.proxy --teacher --axes 128,256   # ... and on its leading principal axes
    python3 -m dare.proxy --osnet-onnx ../../shared/peers/osnet_x0_25_market1501.onnx   # a torchreid OSNet x0.25 export

Split (deterministic): of the 751 training identities, every third (sorted, index % 3 == 2: 250 ids) is
held out. `proxy_train_samples` = the other identities, cameras 1-3 only (4,259 images of 500 ids). The
proxy evaluation uses only the held-out identities seen by cameras 4-6 (2,120 images of 235 ids): every
image is a query against all the others, scored with the standard protocol (same-identity same-camera
gallery images, the query itself among them, ignored). So every proxy query is a new person from a new
camera.

`shifted` scores the same queries after a seeded per-query photometric change (channel gains, gamma,
contrast, half of them also blurred by a 2x down/up-sampling): a second camera's rendering of the same
scene, which the gallery does not share.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .data import Sample, load_images, market_root, train_samples
from .metrics import Scores, euclidean, evaluate, l2_normalise
from .osnet import DEFAULT_ONNX
from .teacher import TEACHER_DIM

TRAIN_CAMERAS = (1, 2, 3)
EVAL_CAMERAS = (4, 5, 6)
HOLD_OUT_EVERY = 3


def held_out_ids(samples: list[Sample]) -> set[int]:
    ids = sorted({s.person for s in samples})
    return {pid for i, pid in enumerate(ids) if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1}


def proxy_train_samples(samples: list[Sample]) -> list[Sample]:
    held = held_out_ids(samples)
    return [s for s in samples if s.person not in held and s.camera in TRAIN_CAMERAS]


@dataclass(frozen=True)
class ProxySplit:
    queries: list[Sample]
    gallery: list[Sample]


def proxy_eval_split(samples: list[Sample]) -> ProxySplit:
    held = held_out_ids(samples)
    pool = [s for s in samples if s.person in held and s.camera in EVAL_CAMERAS]
    return ProxySplit(queries=pool, gallery=pool)


def photometric_shift(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, H, W, 3) uint8 -> the same, each image re-rendered by a different seeded 'camera'."""
    rng = np.random.default_rng(seed)
    x = images.astype(np.float32) / 255.0
    out = np.empty_like(x)
    for i in range(len(x)):
        gains = rng.uniform(0.75, 1.25, size=3).astype(np.float32)
        gamma = float(rng.uniform(0.7, 1.4))
        contrast = float(rng.uniform(0.7, 1.2))
        y = np.clip(x[i] * gains, 0, 1) ** gamma
        y = np.clip((y - y.mean()) * contrast + y.mean(), 0, 1)
        if rng.random() < 0.5:
            t = torch.from_numpy(y).permute(2, 0, 1)[None]
            h, w = t.shape[2:]
            t = torch.nn.functional.interpolate(t, size=(h // 2, w // 2), mode="bilinear", align_corners=False)
            y = torch.nn.functional.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
        out[i] = y
    return np.round(out * 255).clip(0, 255).astype(np.uint8)


Embedder = Callable[[np.ndarray], np.ndarray]  # (N, H, W, 3) uint8 -> (N, E, D), E embeddings per image


def score_embeddings(q: np.ndarray, g: np.ndarray, split: ProxySplit) -> list[Scores]:
    q_ids = np.array([s.person for s in split.queries]); q_cams = np.array([s.camera for s in split.queries])
    g_ids = np.array([s.person for s in split.gallery]); g_cams = np.array([s.camera for s in split.gallery])
    return [
        evaluate(euclidean(l2_normalise(q[:, e]), l2_normalise(g[:, e])), q_ids, q_cams, g_ids, g_cams)
        for e in range(q.shape[1])
    ]


def proxy_scores(embed: Embedder, height: int, width: int, names: list[str]) -> dict[str, dict[str, dict[str, float | int]]]:
    """{'clean'|'shifted': {embedding name: scores}} for one model."""
    split = proxy_eval_split(train_samples(market_root()))
    images = load_images(split.gallery, height, width)  # queries are the gallery (leave-one-out)
    g_emb = embed(images)
    result: dict[str, dict[str, dict[str, float | int]]] = {}
    for label, q_emb in (("clean", g_emb), ("shifted", embed(photometric_shift(images)))):
        scores = score_embeddings(q_emb, g_emb, split)
        result[label] = {n: s.as_dict() for n, s in zip(names, scores)}
    return result


def checkpoint_embedder(checkpoint: Path) -> tuple[Embedder, int, int, list[str]]:
    from .evaluate import torch_embeddings

    cfg = torch.load(checkpoint, map_location="cpu")["config"]
    from .model import exit_names

    return (lambda x: torch_embeddings(checkpoint, x)), cfg["height"], cfg["width"], exit_names(cfg)


def osnet_embedder(onnx_path: Path | None = None, axes: list[int] | None = None, cache: Path = Path(".cache")) -> tuple[Embedder, int, int, list[str]]:
    """A torchreid OSNet x0.25 re-ID export's 512-d embedding (by default the MSMT17 starting point, the
    teacher) and, for each k in `axes`, the same projected on its k leading principal axes over the proxy's
    training images (centred), as `--teacher-head` starts each exit's 128-d output from the teacher: how
    much a k-d embedding costs such a network."""
    from .data import cached_images, stored_size
    from .teacher import TEACHER_SIZE, MSMT17Teacher, cached_teacher_embeddings, principal_axes, teacher_embeddings

    net = MSMT17Teacher(onnx_path or DEFAULT_ONNX)  # loaded once for every set embedded below
    embed_plain = lambda images: teacher_embeddings(images, teacher=net)
    projections: list[tuple[torch.Tensor, torch.Tensor]] = []
    if axes:
        samples = proxy_train_samples(train_samples(market_root()))
        train_images = cached_images(samples, *stored_size(*TEACHER_SIZE), cache)  # what dare.train caches
        fitted = cached_teacher_embeddings([s.path.name for s in samples], train_images, cache) if onnx_path is None else embed_plain(train_images)
        projections = [principal_axes(fitted, k) for k in axes]

    def embed(images: np.ndarray) -> np.ndarray:
        return with_projections(embed_plain(images), projections)

    name = "msmt17" if onnx_path is None else onnx_path.stem
    return embed, TEACHER_SIZE[0], TEACHER_SIZE[1], [name] + [f"{name}-axes{k}" for k in axes or []]


def with_projections(full: np.ndarray, projections: list[tuple[torch.Tensor, torch.Tensor]]) -> np.ndarray:
    """(N, D) -> (N, 1 + len(projections), D): the embeddings, then each centred and projected on a (k, D)
    basis, zero-padded to D values (the padding changes no norm or distance, and the table stays one array)."""
    out = [full]
    for basis, mean in projections:
        projected = np.zeros_like(full)
        projected[:, : len(basis)] = ((torch.from_numpy(full).double() - mean) @ basis.T).numpy()
        out.append(projected)
    return np.stack(out, axis=1)


def tfjs_embedder(model_dir: Path) -> tuple[Embedder, int, int, list[str]]:
    from .evaluate import tfjs_embeddings
    from .model import embedding_names

    meta = json.loads((model_dir / "model.json").read_text())["userDefinedMetadata"]["dare"]
    return (lambda x: tfjs_embeddings(model_dir, x)), meta["input"]["height"], meta["input"]["width"], embedding_names(len(meta["stages"]))


def embedder(args: argparse.Namespace) -> tuple[Embedder, int, int, list[str]]:
    """The embedder a CLI's --checkpoint / --tfjs-model / --teacher choice names, with its input size and
    embedding names."""
    if args.checkpoint:
        return checkpoint_embedder(args.checkpoint)
    if args.tfjs_model:
        return tfjs_embedder(args.tfjs_model)
    return osnet_embedder(getattr(args, "osnet_onnx", None), getattr(args, "axes", None))


def parse_axes(text: str) -> list[int]:
    """'128,256' -> [128, 256]: counts of principal axes, each from 1 to the teacher's width."""
    try:
        axes = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected whole numbers, e.g. 128,256")
    if not axes or min(axes) < 1 or max(axes) > TEACHER_DIM:
        raise argparse.ArgumentTypeError(f"{text!r}: each count must be from 1 to {TEACHER_DIM} (the teacher's width)")
    return axes


def print_scores(result: dict[str, dict[str, dict[str, float | int]]]) -> None:
    width = max(10, *(len(n) for n in result["clean"]))
    print(f"{'embedding':<{width}} {'clean r1':>9} {'clean mAP':>10} {'shift r1':>9} {'shift mAP':>10}")
    for name in result["clean"]:
        c, s = result["clean"][name], result["shifted"][name]
        print(f"{name:<{width}} {100 * c['rank1']:9.2f} {100 * c['mAP']:10.2f} {100 * s['rank1']:9.2f} {100 * s['mAP']:10.2f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path)
    src.add_argument("--tfjs-model", type=Path)
    src.add_argument("--teacher", action="store_true", help="the frozen MSMT17 network (512-d)")
    src.add_argument("--osnet-onnx", type=Path, help="a torchreid OSNet x0.25 re-ID export (512-d), e.g. the Market-trained peer")
    ap.add_argument("--axes", type=parse_axes, default=None, metavar="K[,K...]",
                    help="with --teacher or --osnet-onnx: also its embedding on its K leading principal axes over the proxy's training images")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.axes and not (args.teacher or args.osnet_onnx):
        ap.error("--axes needs --teacher or --osnet-onnx")
    if args.osnet_onnx and not args.osnet_onnx.is_file():
        ap.error(f"--osnet-onnx {args.osnet_onnx}: no such file")
    if args.threads:
        torch.set_num_threads(args.threads)
    embed, h, w, names = embedder(args)
    result = proxy_scores(embed, h, w, names)
    print_scores(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"source": str(args.checkpoint or args.tfjs_model or args.osnet_onnx or "msmt17"), "input": [h, w], **result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
