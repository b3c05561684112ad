"""k-reciprocal re-ranking (Zhong, Zheng, Cao & Li, CVPR 2017), after the authors' reference code.

Works on the joint (query + gallery) distance matrix: for Market-1501 that is 23,100² float32 (2 GB), so
it is computed in float32 and the Jaccard distance is accumulated query by query.
"""
from __future__ import annotations

import numpy as np

from .metrics import euclidean


def _k_reciprocal(ranks: np.ndarray, i: int, k: int) -> np.ndarray:
    forward = ranks[i, : k + 1]
    backward = ranks[forward, : k + 1]
    return forward[np.any(backward == i, axis=1)]


def re_rank(q: np.ndarray, g: np.ndarray, k1: int = 20, k2: int = 6, lambda_value: float = 0.3) -> np.ndarray:
    """Re-ranked (Q, G) distances for L2-normalised embeddings q (Q, D) and g (G, D)."""
    n_q = q.shape[0]
    feats = np.concatenate([q, g]).astype(np.float32)
    n = feats.shape[0]
    original = euclidean(feats, feats) ** 2
    original /= np.max(original, axis=0, keepdims=True)
    ranks = np.argsort(original, axis=1)[:, : k1 + 1].astype(np.int32)

    v = np.zeros((n, n), dtype=np.float32)
    for i in range(n):
        expansion = _k_reciprocal(ranks, i, k1)
        extended = expansion
        for cand in expansion:
            cand_set = _k_reciprocal(ranks, int(cand), int(np.around(k1 / 2)))
            if len(np.intersect1d(cand_set, expansion)) > 2 / 3 * len(cand_set):
                extended = np.append(extended, cand_set)
        extended = np.unique(extended)
        weight = np.exp(-original[i, extended])
        v[i, extended] = weight / np.sum(weight)
    if k2 != 1:
        v = np.stack([v[ranks[i, :k2]].mean(axis=0) for i in range(n)])
    del ranks

    inv_index = [np.flatnonzero(v[:, j]) for j in range(n)]
    jaccard = np.zeros((n_q, n), dtype=np.float32)
    for i in range(n_q):
        temp_min = np.zeros(n, dtype=np.float32)
        nz = np.flatnonzero(v[i])
        for j in nz:
            rows = inv_index[j]
            temp_min[rows] += np.minimum(v[i, j], v[rows, j])
        jaccard[i] = 1 - temp_min / (2 - temp_min)
    final = jaccard * (1 - lambda_value) + original[:n_q] * lambda_value
    return final[:, n_q:]
