"""Evaluate a DaRe model on Market-1501 (single query): rank-1/5/10 and mAP for each stage and the fused
embedding, optionally with k-reciprocal re-ranking and flip averaging.

    # a PyTorch checkpoint
    python3 -m dare.evaluate --checkpoint ../runs/osnet-256x128/final.pt
    # the exported TF.js graph model, run by @tensorflow/tfjs (wasm) in Node: what the app ships
    python3 -m dare.evaluate --tfjs-model ../models/dare-osnet --rerank --json ../models/eval/dare-osnet.json
    # the same protocol with every query re-rendered by the proxy's seeded photometric shift
    python3 -m dare.evaluate --tfjs-model ../models/dare-osnet --shift
    # both in one run: the gallery is embedded once, the queries as shot and as shifted
    python3 -m dare.evaluate --tfjs-model ../models/dare-osnet --json A.json --also-shifted A-shift.json
    # the frozen MSMT17 network we start from, for reference
    python3 -m dare.evaluate --teacher [--shift]

Embeddings are L2-normalised and compared with Euclidean distance, as in the app.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data import Sample, load_images, market_root, read_split
from .metrics import Scores, euclidean, evaluate, l2_normalise, pair_threshold
from .model import EMBED_DIM, fold_necks, from_config
from .proxy import Embedder, embedder, photometric_shift
from .rerank import re_rank

REPO = Path(__file__).resolve().parents[2]
EMBED_SCRIPT = REPO / "training" / "parity" / "embed.mjs"


def torch_embeddings(checkpoint: Path, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """(N, E, 128) raw embeddings: every exit, then fused."""
    state = torch.load(checkpoint, map_location="cpu")
    model = from_config(state["config"])
    model.load_state_dict(state["model"])
    model = fold_necks(model.eval())
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(images[i : i + batch]).permute(0, 3, 1, 2).float()
            o = model(x)
            out.append(torch.stack(o.stages + [o.fused], dim=1).numpy())
    return np.concatenate(out)


def tfjs_embeddings(model_dir: Path, images: np.ndarray) -> np.ndarray:
    """(N, E, 128) raw embeddings (every exit, then fused) from the exported graph, computed by tfjs in Node."""
    n = images.shape[0]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "images.u8", Path(tmp) / "embeddings.f32"
        np.ascontiguousarray(images).tofile(src)
        subprocess.run(["node", str(EMBED_SCRIPT), str(model_dir), str(src), str(dst)], check=True, stdout=sys.stderr)
        return np.fromfile(dst, dtype="<f4").reshape(n, -1, EMBED_DIM)


def threshold_key(name: str) -> str:
    """The app's stage key for an embedding name: 'stage2' -> '2', 'fused' -> 'fused'."""
    return name.removeprefix("stage")


def subsample(queries: list[Sample], n: int | None) -> list[Sample]:
    if not n or n >= len(queries):
        return queries
    return queries[:: len(queries) // n][:n]


def shift_queries(images: np.ndarray, queries: int) -> np.ndarray:
    """The first `queries` images re-rendered by the proxy's seeded photometric shift, the gallery after them
    as shot: a new camera's view of people the gallery saw under its own cameras."""
    out = images.copy()
    out[:queries] = photometric_shift(images[:queries])
    return out


def embed_all(embed: Embedder, images: np.ndarray, flip: bool) -> np.ndarray:
    emb = embed(images)
    if flip:
        emb = emb + embed(np.ascontiguousarray(images[:, :, ::-1]))
    return emb


@dataclass(frozen=True)
class Protocol:
    """Who each query and gallery image is, and what of the scoring was asked for."""
    q_ids: np.ndarray
    q_cams: np.ndarray
    g_ids: np.ndarray
    g_cams: np.ndarray
    names: list[str]
    rerank_stages: list[str]
    rerank: bool


def score_all(q_emb: np.ndarray, g_emb: np.ndarray, p: Protocol) -> tuple[dict[str, dict[str, float | int]], dict[str, float]]:
    """Scores per embedding (and re-ranked ones if asked), and the app's unknown thresholds, printed as a table."""
    results: dict[str, dict[str, float | int]] = {}
    thresholds: dict[str, float] = {}
    print(f"{'embedding':<10} {'rank-1':>7} {'rank-5':>7} {'rank-10':>7} {'mAP':>7}")
    for i, name in enumerate(p.names):
        q, g = l2_normalise(q_emb[:, i]), l2_normalise(g_emb[:, i])
        thresholds[threshold_key(name)] = round(pair_threshold(q, p.q_ids, p.q_cams), 4)
        scored: list[tuple[str, Scores]] = [(name, evaluate(euclidean(q, g), p.q_ids, p.q_cams, p.g_ids, p.g_cams))]
        if p.rerank and name in p.rerank_stages:
            scored.append((name + "+rerank", evaluate(re_rank(q, g), p.q_ids, p.q_cams, p.g_ids, p.g_cams)))
        for label, sc in scored:
            results[label] = sc.as_dict()
            print(f"{label:<10} {100 * sc.rank1:7.2f} {100 * sc.rank5:7.2f} {100 * sc.rank10:7.2f} {100 * sc.mAP:7.2f}", flush=True)
    print("unknown thresholds (balanced error, cross-camera query pairs):", thresholds)
    return results, thresholds


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path, help="PyTorch checkpoint (train.py's checkpoint.pt or final.pt)")
    src.add_argument("--tfjs-model", type=Path, help="exported TF.js graph model directory")
    src.add_argument("--teacher", action="store_true", help="the frozen MSMT17 network (512-d, mirror-averaged): the starting point")
    ap.add_argument("--flip", action="store_true", help="average the embeddings of each image and its mirror")
    ap.add_argument("--rerank", action="store_true", help="also report k-reciprocal re-ranking (k1=20, k2=6, λ=0.3)")
    ap.add_argument("--rerank-stages", default="fused", help="comma list of stages to re-rank, or 'all'")
    ap.add_argument("--queries", type=int, default=0, help="evaluate on an evenly spaced subset of N queries")
    shift = ap.add_mutually_exclusive_group()
    shift.add_argument("--shift", action="store_true",
                       help="re-render each query with the proxy's seeded photometric shift (the gallery stays as shot)")
    shift.add_argument("--also-shifted", type=Path, metavar="JSON",
                       help="also score the shifted queries against the same gallery embeddings and write those scores here "
                            "(what a second run with --shift gives, for the queries' embedding time alone)")
    ap.add_argument("--json", type=Path, help="write the scores here")
    args = ap.parse_args(argv)

    root = market_root()
    queries = subsample(read_split(root, "query"), args.queries)
    gallery = read_split(root, "bounding_box_test")
    embed, h, w, names = embedder(args)
    t0 = time.time()
    images = load_images(queries + gallery, h, w)
    emb = embed_all(embed, shift_queries(images, len(queries)) if args.shift else images, args.flip)
    embed_s = time.time() - t0
    protocol = Protocol(np.array([s.person for s in queries]), np.array([s.camera for s in queries]),
                        np.array([s.person for s in gallery]), np.array([s.camera for s in gallery]), names,
                        names if args.rerank_stages == "all" else args.rerank_stages.split(","), args.rerank)

    def summary(shifted: bool, seconds: float, scored: tuple[dict[str, dict[str, float | int]], dict[str, float]]) -> dict:
        return {
            "source": "msmt17" if args.teacher else str(args.checkpoint or args.tfjs_model),
            "flip": args.flip,
            "shift": shifted,
            "queries": len(queries),
            "gallery": len(gallery),
            "input": [h, w],
            "embed_seconds": round(seconds, 1),
            "scores": scored[0],
            # The app's "unknown" decision before its gallery can calibrate (export_tfjs --unknown-thresholds).
            "unknownThresholds": scored[1],
        }

    q_emb, g_emb = emb[: len(queries)], emb[len(queries) :]
    report = summary(args.shift, embed_s, score_all(q_emb, g_emb, protocol))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.also_shifted:
        print("the same queries under the photometric shift, against the same gallery:")
        t0 = time.time()
        shifted_q = embed_all(embed, photometric_shift(images[: len(queries)]), args.flip)
        report = summary(True, time.time() - t0, score_all(shifted_q, g_emb, protocol))
        report["embed_seconds_covers"] = "the shifted queries only: the gallery's embeddings are the clean run's"
        args.also_shifted.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
