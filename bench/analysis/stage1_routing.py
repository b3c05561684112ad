"""Why the distance policy can beat the margin policy at the lowest stream budget.

    /usr/bin/python3 bench/analysis/stage1_routing.py [.cache/curves/<weights hash>] [--stay 2921.7]

Reads the DaRe embeddings `npm run bench:curves` cached (stages 1-4 and fused, per Market-1501 image),
and asks, for the fraction of queries that go past stage 1 at that budget (default: the margin policy's
mean stage-1 exits at the lowest budget of the last run): if each policy sent its least confident queries
on to stage 2, how many would stage 1 have got right, how many stage 2 gets right, and the net gain.
Confidence: -d1 (distance) or d2 - d1 (margin, d2 = nearest gallery entry of another identity), both
under the standard protocol (same-camera images of the query's identity and junk ignored).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
from dare.protocol import market_ids  # noqa: E402  (the protocol's Market-1501 rule)


def load(cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    names = json.loads((cache / "names.json").read_text())
    emb = np.fromfile(cache / "embeddings.f32", dtype="<f4").reshape(len(names), 5, -1)
    parsed = [market_ids(n.split("/")[-1]) for n in names]
    ids = np.array([p[0] for p in parsed])
    cams = np.array([p[1] for p in parsed])
    is_query = np.array([n.startswith("query/") for n in names])
    return emb, ids, cams, is_query


def stage_answers(emb: np.ndarray, ids: np.ndarray, cams: np.ndarray, is_query: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(right at rank 1, d1, d2 - d1) per query for stage index s (0-3, 4 = fused)."""
    x = emb[:, s] / np.linalg.norm(emb[:, s], axis=1, keepdims=True)
    qi, gi = np.where(is_query)[0], np.where(~is_query)[0]
    d = np.sqrt(np.maximum(2 - 2 * x[qi] @ x[gi].T, 0))
    same = ids[gi][None, :] == ids[qi][:, None]
    d[(ids[gi][None, :] == -1) | (same & (cams[gi][None, :] == cams[qi][:, None]))] = np.inf
    nearest = np.argmin(d, axis=1)
    d1 = d[np.arange(len(qi)), nearest]
    top = ids[gi][nearest]
    d[ids[gi][None, :] == top[:, None]] = np.inf
    return top == ids[qi], d1, d.min(axis=1) - d1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    caches = sorted(Path(".cache/curves").glob("[0-9a-f]*"), key=lambda p: p.stat().st_mtime)
    ap.add_argument("cache", type=Path, nargs="?", default=caches[-1] if caches else None)
    ap.add_argument("--stay", type=float, default=2921.7, help="queries that stop at stage 1 (mean over the runs)")
    args = ap.parse_args()
    if args.cache is None:
        raise SystemExit("no .cache/curves/<hash>/: run npm run bench:curves first")
    emb, ids, cams, is_query = load(args.cache)
    right1, d1, margin = stage_answers(emb, ids, cams, is_query, 0)
    right2, _, _ = stage_answers(emb, ids, cams, is_query, 1)
    n = len(right1)
    go_on = int(round(n - args.stay))
    print(f"{n} queries; {go_on} go past stage 1; stage 1 right {right1.mean():.3f}, stage 2 right {right2.mean():.3f}")
    for name, confidence in (("distance", -d1), ("margin", margin)):
        on = np.argsort(confidence)[:go_on]
        stay = np.setdiff1d(np.arange(n), on)
        right = int(right1[stay].sum() + right2[on].sum())
        gain = int(right2[on].sum() - right1[on].sum())
        print(f"{name:8}  those sent on: right at stage 1 {right1[on].mean():.3f}, at stage 2 {right2[on].mean():.3f}, "
              f"net gain {gain:+d}; right overall {right}")
    print(f"random    right overall (expected) {right1.mean() * (n - go_on) + right2.mean() * go_on:.0f}")


if __name__ == "__main__":
    main()
