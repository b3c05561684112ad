from pathlib import Path

import numpy as np
import pytest
import torch

from dare.mobilenetv2 import MobileNetV2Stages, load_imagenet_weights, load_tflite_tensors
from dare.model import Dare
from dare.tflite import read_tflite_tensors
from conftest import SHARED, MOBILENETV2_TFLITE as WEIGHTS

needs_weights = pytest.mark.skipif(not WEIGHTS.exists(), reason=f"ImageNet MobileNetV2 TFLite not found at {WEIGHTS}")


@needs_weights
def test_reads_quantised_tensors() -> None:
    tensors = {t.name: t for t in read_tflite_tensors(WEIGHTS)}
    stem = next(t for n, t in tensors.items() if n.startswith("MobilenetV2/Conv/Conv2D_Fold"))
    assert stem.shape == (32, 3, 3, 3) and stem.data is not None and stem.data.dtype == np.uint8
    w = stem.dequantized()
    assert np.isclose(w.max(), stem.scale[0] * (255 - stem.zero_point[0]), rtol=1e-5) or w.max() < stem.scale[0] * 255


@needs_weights
def test_import_keeps_the_folded_function() -> None:
    """With BN calibrated on a batch, BN(conv(x)) == conv(x) + folded bias: check on the stem."""
    tensors = load_tflite_tensors(WEIGHTS)
    net = MobileNetV2Stages()
    x = MobileNetV2Stages.normalise(torch.rand(4, 3, 64, 32) * 255)
    load_imagenet_weights(net, tensors, x)
    net.eval()
    conv, bn = net.stem[0], net.stem[1]
    bias = next(v for k, v in tensors.items() if k.endswith("MobilenetV2/Conv/BatchNorm_Fold/bias"))
    with torch.no_grad():
        expected = torch.nn.functional.conv2d(x, conv.weight, torch.from_numpy(bias), stride=2, padding=1)
        assert torch.allclose(bn(conv(x)), expected, atol=1e-4)


MARKET = SHARED / "data" / "market1501"


@needs_weights
@pytest.mark.skipif(not (MARKET / "bounding_box_train").is_dir(), reason=f"Market-1501 not found at {MARKET}")
def test_imagenet_predictions_on_people_are_clothing() -> None:
    """A correct import names garments for person crops far above chance; a wrong layout or scale does not."""
    from dare.data import load_images, read_split
    from dare.verify_import import CLOTHING, clothing_fraction, top1_classes

    samples = read_split(MARKET, "bounding_box_train")[::400][:32]
    canvas = np.full((len(samples), 224, 224, 3), 128, np.uint8)
    canvas[:, :, 56:168] = load_images(samples, 224, 112)
    assert clothing_fraction(top1_classes(canvas, str(WEIGHTS))) > 3 * len(CLOTHING) / 1000
