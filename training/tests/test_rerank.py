import numpy as np
import pytest

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


def test_balanced_threshold_separates_two_clusters_and_weighs_errors_equally() -> None:
    from dare.metrics import balanced_threshold

    pos = np.array([0.2, 0.3, 0.4, 0.9])
    neg = np.array([0.5, 0.6, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5])
    # Below 0.45: one positive missed (1/4), no negative accepted; any other cut costs more.
    assert balanced_threshold(pos, neg) == pytest.approx(0.45)
    assert balanced_threshold(np.array([0.1]), np.array([0.9])) == pytest.approx(0.5)
