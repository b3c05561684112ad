import numpy as np
import torch

from dare.ablate_stage1 import stripe_features
from dare.model import Dare


def test_stripe_means_average_back_to_the_global_average_the_head_pools() -> None:
    torch.manual_seed(0)
    model = Dare("osnet_x0_25").eval()
    images = np.random.default_rng(0).integers(0, 256, (3, 64, 32, 3)).astype(np.uint8)
    four = stripe_features(model, images, 4)
    one = stripe_features(model, images, 1)
    with torch.no_grad():
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
        gap = model.backbone.forward_stage(1, model.normalise(x)).mean(dim=(2, 3)).numpy()
    channels = gap.shape[1]
    assert four.shape == (3, 4 * channels)
    np.testing.assert_allclose(one, gap, rtol=1e-5, atol=1e-6)
    # Stripe-major layout: the mean of the four stripe blocks is the global average.
    np.testing.assert_allclose(four.reshape(3, 4, channels).mean(axis=1), gap, rtol=1e-4, atol=1e-5)
