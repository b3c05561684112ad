import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dare.multires import DareMR  # noqa: E402  (after the path insert)
from dare.tfjs_parity import REPO  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / "shared"
# ImageNet MobileNetV2 (uint8 TFLite): the backbone weights of every small training run in these tests
MOBILENETV2_TFLITE = SHARED / "weights" / "mobilenet_v2_1.0_224_quant.tflite"

# the tests that run an export with @tensorflow/tfjs in Node
needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (REPO / "node_modules" / "@tensorflow" / "tfjs-backend-wasm").is_dir(),
    reason="needs node and the npm dependencies (npm ci at the repo root)",
)


def random_multires(resolutions: list[tuple[int, int]], seed: int = 0, **options: object) -> DareMR:
    """A randomly initialised multi-resolution model in eval mode whose BatchNorm statistics (necks included)
    are not the defaults, so folding and export are exercised on non-trivial values."""
    torch.manual_seed(seed)
    model = DareMR(resolutions, **options)  # type: ignore[arg-type]
    model.train()
    with torch.no_grad():
        model(torch.rand(8, 3, *resolutions[-1]) * 255)
    return model.eval()


@pytest.fixture
def fake_market(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny Market-1501-shaped folder of random JPEGs: 20 identities x 4 images x 2 cameras."""
    rng = np.random.default_rng(0)
    for split in ("bounding_box_train", "bounding_box_test", "query"):
        (tmp_path / split).mkdir()
    for pid in range(1, 21):
        base = rng.integers(0, 255, size=3)
        for i in range(4):
            cam = 1 + i % 2
            pixels = np.clip(base + rng.normal(0, 20, size=(128, 64, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "bounding_box_train" / f"{pid:04d}_c{cam}s1_{i:06d}_01.jpg")
    Image.fromarray(np.zeros((128, 64, 3), np.uint8)).save(tmp_path / "bounding_box_train" / "-1_c1s1_000000_00.jpg")
    (tmp_path / "bounding_box_train" / "Thumbs.db").write_bytes(b"x")
    monkeypatch.setenv("MARKET1501_ROOT", str(tmp_path))
    return tmp_path
