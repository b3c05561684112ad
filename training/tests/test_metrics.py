import numpy as np

from dare.metrics import evaluate


def test_protocol_ignores_same_camera_and_junk() -> None:
    # gallery: [same id same cam (ignored), junk (ignored), other id, same id other cam]
    g_ids = np.array([1, -1, 2, 1]); g_cams = np.array([1, 2, 2, 2])
    dist = np.array([[0.0, 0.1, 0.2, 0.3]])
    s = evaluate(dist, np.array([1]), np.array([1]), g_ids, g_cams)
    assert s.rank1 == 0.0 and s.rank5 == 1.0 and s.mAP == 0.5


def test_perfect_ranking() -> None:
    g_ids = np.array([1, 1, 2, 0]); g_cams = np.array([2, 3, 2, 2])
    s = evaluate(np.array([[0.1, 0.2, 0.3, 0.4]]), np.array([1]), np.array([1]), g_ids, g_cams)
    assert s.rank1 == 1.0 and s.mAP == 1.0 and s.queries == 1


def test_average_precision_of_interleaved_matches() -> None:
    g_ids = np.array([1, 2, 1, 2]); g_cams = np.array([2, 2, 2, 2])
    s = evaluate(np.array([[0.1, 0.2, 0.3, 0.4]]), np.array([1]), np.array([1]), g_ids, g_cams)
    assert np.isclose(s.mAP, (1 + 2 / 3) / 2)
