import pytest

from dare.macs import stage_macs
from dare.model import Dare


def test_cumulative_macs_strictly_increase_and_add_up() -> None:
    model = Dare()
    macs = stage_macs(model, 128, 64)
    assert all(a < b for a, b in zip(macs.cumulative, macs.cumulative[1:]))
    assert macs.cumulative[-1] == sum(macs.backbone) + sum(macs.head)
    assert macs.fused == macs.cumulative[-1] + 4 * 128
    # Heads: GAP -> cin×1024 -> 1024×128 with cin the tap's channels (144, 192, 576, 1280).
    assert macs.head == [c * 1024 + 1024 * 128 for c in model.backbone.tap_channels]


def test_backbone_macs_match_the_published_mobilenetv2_figure() -> None:
    # Sandler et al. 2018: MobileNetV2 1.0 at 224x224 is 300M multiply-adds, of which the 1280x1000
    # classifier (not in our backbone) is 1.28M.
    backbone = sum(stage_macs(Dare(), 224, 224).backbone)
    assert backbone == pytest.approx(300e6 - 1.28e6, rel=0.01)
