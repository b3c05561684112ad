import numpy as np

from dare.metrics import euclidean, evaluate, l2_normalise
from dare.rerank import re_rank


def test_rerank_keeps_clean_clusters_and_shape() -> None:
    rng = np.random.default_rng(0)
    centres = l2_normalise(rng.normal(size=(6, 16)))
    g_ids = np.repeat(np.arange(6), 8); g_cams = np.tile([2, 3], 24)
    g = l2_normalise(centres[g_ids] + 0.15 * rng.normal(size=(48, 16)))
    q_ids = np.arange(6); q_cams = np.ones(6, int)
    q = l2_normalise(centres + 0.15 * rng.normal(size=(6, 16)))
    d = re_rank(q, g, k1=6, k2=3)
    assert d.shape == (6, 48) and np.isfinite(d).all()
    assert evaluate(d, q_ids, q_cams, g_ids, g_cams).mAP >= evaluate(euclidean(q, g), q_ids, q_cams, g_ids, g_cams).mAP - 1e-9
