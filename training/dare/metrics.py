"""Market-1501 evaluation protocol: CMC rank-k and mAP, single query.

For each query, gallery images of the same identity taken by the same camera, and junk images
(identity -1), are ignored; distractors (identity 0) stay in as negatives (Zheng et al. 2015): the
protocol's pair rule (dare.protocol.pair_kind), vectorised over the numeric labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .protocol import JUNK_ID


@dataclass(frozen=True)
class Scores:
    rank1: float
    rank5: float
    rank10: float
    mAP: float
    queries: int  # queries with at least one valid true match

    def as_dict(self) -> dict[str, float | int]:
        return {"rank1": self.rank1, "rank5": self.rank5, "rank10": self.rank10, "mAP": self.mAP, "queries": self.queries}


def l2_normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def euclidean(q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances, (Q, G), float32."""
    d2 = (q * q).sum(1)[:, None] + (g * g).sum(1)[None, :] - 2.0 * q @ g.T
    return np.sqrt(np.maximum(d2, 0.0)).astype(np.float32)


def evaluate(dist: np.ndarray, q_ids: np.ndarray, q_cams: np.ndarray, g_ids: np.ndarray, g_cams: np.ndarray) -> Scores:
    cmc_hits = np.zeros(10)
    aps: list[float] = []
    for i in range(dist.shape[0]):
        order = np.argsort(dist[i], kind="stable")
        ids, cams = g_ids[order], g_cams[order]
        ignore = ((ids == q_ids[i]) & (cams == q_cams[i])) | (ids == JUNK_ID)
        match = (ids == q_ids[i])[~ignore]
        if not match.any():
            continue
        first = int(np.argmax(match))
        if first < 10:
            cmc_hits[first:] += 1
        hits = np.flatnonzero(match)
        precision = np.arange(1, len(hits) + 1) / (hits + 1)
        aps.append(float(precision.mean()))
    n = len(aps)
    if n == 0:
        raise ValueError("no query has a valid match in the gallery")
    cmc = cmc_hits / n
    return Scores(rank1=float(cmc[0]), rank5=float(cmc[4]), rank10=float(cmc[9]), mAP=float(np.mean(aps)), queries=n)


def balanced_threshold(positives: np.ndarray, negatives: np.ndarray) -> float:
    """The distance that best separates same-identity pairs (below) from different-identity pairs
    (above), weighing both error rates equally — the app's balancedThreshold (src/webcam/threshold.ts)."""
    d = np.concatenate([positives, negatives])
    same = np.concatenate([np.ones(len(positives), bool), np.zeros(len(negatives), bool)])
    order = np.argsort(d, kind="stable")
    d, same = d[order], same[order]
    missed = len(positives) - np.cumsum(same)
    accepted = np.cumsum(~same)
    error = missed / len(positives) + accepted / len(negatives)
    i = int(np.argmin(error))
    return float((d[i] + d[i + 1]) / 2) if i + 1 < len(d) else float(d[i])


def pair_threshold(feats: np.ndarray, ids: np.ndarray, cams: np.ndarray) -> float:
    """balanced_threshold over every pair of L2-normalised `feats`: same identity seen by different
    cameras against different identities."""
    dist = euclidean(feats, feats)
    upper = np.triu(np.ones(dist.shape, bool), k=1)
    same_id = ids[:, None] == ids[None, :]
    same_cam = cams[:, None] == cams[None, :]
    return balanced_threshold(dist[upper & same_id & ~same_cam], dist[upper & ~same_id])
