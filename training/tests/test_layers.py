"""dare.layers: the representations inside a multi-resolution model, read off the same pass the model makes."""
import numpy as np
import pytest
import torch

from dare.layers import representations
from dare.multires import DareMR
from conftest import random_multires

RESOLUTIONS = [(48, 24), (64, 32)]


def _model() -> DareMR:
    return random_multires(RESOLUTIONS, bnneck=True)


def test_each_exit_output_is_the_models_own_embedding_and_the_layers_have_their_widths() -> None:
    model = _model()
    images = (np.random.default_rng(0).random((5, 64, 32, 3)) * 255).astype(np.uint8)
    reps = representations(model, images, [0.2, 0.8], batch=2)
    with torch.no_grad():
        stages = model(torch.from_numpy(images).permute(0, 3, 1, 2).float()).stages
    for k in (1, 2):
        assert reps[f"out{k}"] == pytest.approx(stages[k - 1].numpy(), abs=1e-4)
        assert reps[f"pool{k}"].shape == (5, model.paths[k - 1].tap_channels[-1])
        assert reps[f"hidden{k}"].shape == (5, model.heads[k - 1].fc1.out_features)
        assert (reps[f"hidden{k}"] >= 0).all()


def test_the_fused_embedding_is_the_weighted_sum_the_export_computes() -> None:
    model = _model()
    model.fusion_weights.data = torch.tensor([0.3, 0.7])
    images = (np.random.default_rng(1).random((6, 64, 32, 3)) * 255).astype(np.uint8)
    reps = representations(model, images, [0.3, 0.7])
    with torch.no_grad():
        fused = model(torch.from_numpy(images).permute(0, 3, 1, 2).float()).fused.numpy()
    assert reps["fused"] == pytest.approx(fused, abs=1e-4)


def test_one_fusion_weight_per_exit() -> None:
    with pytest.raises(ValueError, match="one fusion weight per exit"):
        representations(_model(), np.zeros((1, 64, 32, 3), np.uint8), [1.0])
