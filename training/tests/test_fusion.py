"""Fusion weights chosen on the proxy (dare/fusion.py) and written into the export (--fusion-weights)."""
import numpy as np
import pytest
import torch

from dare.export_tfjs import dare_metadata, set_fusion_weights
from dare.fusion import fused, simplex_grid
from dare.macs import stage_macs
from dare.metrics import l2_normalise
from dare.multires import DareMR


def test_the_grid_is_the_simplex_with_its_corners() -> None:
    grid = simplex_grid(3, 0.5)
    assert sorted(grid) == sorted([(1, 0, 0), (0, 1, 0), (0, 0, 1), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)])
    assert len(simplex_grid(3, 0.1)) == 66 and all(abs(sum(w) - 1) < 1e-9 for w in simplex_grid(3, 0.1))


def test_fusion_is_the_weighted_sum_of_raw_exits_normalised() -> None:
    raw = np.random.default_rng(0).normal(size=(5, 3, 8)).astype(np.float32)
    w = (0.2, 0.3, 0.5)
    expected = l2_normalise(0.2 * raw[:, 0] + 0.3 * raw[:, 1] + 0.5 * raw[:, 2])
    assert np.allclose(fused(raw, w), expected, atol=1e-6)
    assert np.allclose(fused(raw, (0, 0, 1)), l2_normalise(raw[:, 2]), atol=1e-6)


def test_chosen_weights_replace_the_learned_ones_in_the_graph_and_the_metadata() -> None:
    torch.manual_seed(0)
    model = DareMR([(48, 24), (64, 32), (112, 56)], bnneck=False).eval()
    set_fusion_weights(model, [0.0, 0.25, 0.75])
    x = torch.rand(2, 3, 112, 56) * 255
    with torch.no_grad():
        out = model(x)
    assert torch.allclose(out.fused, 0.25 * out.stages[1] + 0.75 * out.stages[2], atol=1e-5)
    meta = dare_metadata(model, 112, 56, stage_macs(model, 112, 56))
    assert meta["fused"]["weights"] == [0.0, 0.25, 0.75]


@pytest.mark.parametrize("weights", [[0.5, 0.5], [0.0, 0.0, 0.0], [float("nan"), 0.5, 0.5]])
def test_bad_weights_are_refused(weights: list[float]) -> None:
    model = DareMR([(48, 24), (64, 32), (112, 56)], bnneck=False)
    before = model.fusion_weights.detach().clone()
    with pytest.raises(SystemExit, match="fusion-weights"):
        set_fusion_weights(model, weights)
    assert torch.equal(model.fusion_weights.detach(), before)
