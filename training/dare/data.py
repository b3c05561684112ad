"""Market-1501: file-name parsing, split readers, a P x K identity sampler and the training augmentation."""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# Market-1501 names are read by the protocol's rule (dare.protocol, as the app's src/protocol).
from .protocol import market_ids as parse_name

DEFAULT_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "market1501"
ROOT_ENV = "MARKET1501_ROOT"


@dataclass(frozen=True)
class Sample:
    path: Path
    person: int
    camera: int


def market_root() -> Path:
    root = Path(os.environ.get(ROOT_ENV, DEFAULT_ROOT))
    if not (root / "bounding_box_train").is_dir():
        raise FileNotFoundError(
            f"Market-1501 not found at {root} (expected bounding_box_train/, query/, bounding_box_test/). "
            f"Put it at ../shared/data/market1501 or set {ROOT_ENV}."
        )
    return root


def read_split(root: Path, split: str) -> list[Sample]:
    samples = []
    for p in sorted((root / split).iterdir()):
        parsed = parse_name(p.name)
        if parsed is not None:
            samples.append(Sample(p, *parsed))
    return samples


def train_samples(root: Path) -> list[Sample]:
    """Training never sees junk or distractor images."""
    return [s for s in read_split(root, "bounding_box_train") if s.person > 0]


def load_images(samples: list[Sample], height: int, width: int) -> np.ndarray:
    """(N, H, W, 3) uint8, bilinear resize: the whole training set fits in memory at these sizes."""
    out = np.empty((len(samples), height, width, 3), dtype=np.uint8)
    for i, s in enumerate(samples):
        with Image.open(s.path) as im:
            out[i] = np.asarray(im.convert("RGB").resize((width, height), Image.BILINEAR))
    return out


def cached_images(samples: list[Sample], height: int, width: int, cache_dir: Path) -> np.ndarray:
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1("\n".join(s.path.name for s in samples).encode()).hexdigest()[:10]
    path = cache_dir / f"market_{len(samples)}_{height}x{width}_{key}.npy"
    if path.exists():
        return np.load(path)
    images = load_images(samples, height, width)
    np.save(path, images)
    return images


class PKSampler:
    """Batches of P identities x K images (Hermans et al. 2017); identities with fewer than K images are
    sampled with replacement."""

    def __init__(self, labels: list[int], p: int = 18, k: int = 4, seed: int = 0) -> None:
        self.by_id: dict[int, list[int]] = {}
        for i, label in enumerate(labels):
            self.by_id.setdefault(label, []).append(i)
        if len(self.by_id) < p:
            raise ValueError(f"need at least {p} identities, have {len(self.by_id)}")
        self.p, self.k = p, k
        self.rng = random.Random(seed)

    def batch(self) -> list[int]:
        ids = self.rng.sample(sorted(self.by_id), self.p)
        out: list[int] = []
        for pid in ids:
            pool = self.by_id[pid]
            out += self.rng.sample(pool, self.k) if len(pool) >= self.k else self.rng.choices(pool, k=self.k)
        return out


@dataclass(frozen=True)
class AugmentConfig:
    height: int = 256
    width: int = 128
    flip: float = 0.5
    erase_p: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.4)
    erase_aspect: float = 0.3


# Training images are kept this much larger than the model's input, so a random crop has room to move.
CROP_MARGIN = 1.125


def stored_size(height: int, width: int) -> tuple[int, int]:
    """The size training images are decoded and cached at for a model input of height x width."""
    return round(height * CROP_MARGIN), round(width * CROP_MARGIN)


def augment(images: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """images: (N, H*1.125, W*1.125, 3) uint8 (`stored_size`) -> (N, 3, H, W) float 0-255, with random crop, horizontal
    flip and random erasing (Zhong et al. 2020, filled with uniform noise)."""
    n, big_h, big_w, _ = images.shape
    x = images.permute(0, 3, 1, 2).float()
    out = torch.empty((n, 3, cfg.height, cfg.width))
    ys = torch.randint(0, big_h - cfg.height + 1, (n,), generator=gen)
    xs = torch.randint(0, big_w - cfg.width + 1, (n,), generator=gen)
    flips = torch.rand(n, generator=gen) < cfg.flip
    for i in range(n):
        crop = x[i, :, ys[i] : ys[i] + cfg.height, xs[i] : xs[i] + cfg.width]
        out[i] = crop.flip(-1) if flips[i] else crop
    for i in range(n):
        if torch.rand(1, generator=gen).item() >= cfg.erase_p:
            continue
        for _ in range(100):
            area = cfg.height * cfg.width * float(torch.empty(1).uniform_(*cfg.erase_area, generator=gen))
            log_r = float(torch.empty(1).uniform_(np.log(cfg.erase_aspect), -np.log(cfg.erase_aspect), generator=gen))
            h = int(round((area * np.exp(log_r)) ** 0.5))
            w = int(round((area / np.exp(log_r)) ** 0.5))
            if h < cfg.height and w < cfg.width:
                y0 = int(torch.randint(0, cfg.height - h + 1, (1,), generator=gen))
                x0 = int(torch.randint(0, cfg.width - w + 1, (1,), generator=gen))
                out[i, :, y0 : y0 + h, x0 : x0 + w] = torch.rand((3, h, w), generator=gen) * 255
                break
    return out


def training_sample(count: int, height: int, width: int) -> torch.Tensor:
    """`count` training images in a fixed shuffled order, (N, 3, H, W) float 0-255: what a measurement on
    training images (a stem's input moment, BatchNorm statistics) is taken on, the same images every time."""
    samples = train_samples(market_root())
    random.Random(0).shuffle(samples)
    return resize_for_eval(load_images(samples[:count], height, width))


def resize_for_eval(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 already at model size -> (N, 3, H, W) float 0-255."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float()


def photometric(batch: torch.Tensor, gen: torch.Generator, p_blur: float = 0.3, p: float = 1.0) -> torch.Tensor:
    """(N, 3, H, W) float 0-255 -> the same re-rendered as by another camera: per-image brightness,
    contrast, saturation and per-channel gains, and with probability p_blur a 2-4x down/up-sampling
    (a lower-resolution sensor). Colour is what Market-trained models over-rely on (torchreid notes it
    as the first casualty of a domain change). With p < 1 each image is re-rendered with probability p
    and otherwise left as shot; p = 1 draws exactly the random numbers it always did."""
    if p < 1:
        chosen = torch.rand(batch.shape[0], generator=gen) < p
        out = batch.clone()
        out[chosen] = photometric(batch[chosen], gen, p_blur)  # only the chosen images are re-rendered
        return out
    n, _, h, w = batch.shape

    def u(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return torch.empty((n, *shape)).uniform_(lo, hi, generator=gen)

    x = batch / 255.0
    x = x * u(0.6, 1.4, 1, 1, 1) * u(0.8, 1.2, 3, 1, 1)  # brightness, white balance
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * u(0.6, 1.4, 1, 1, 1) + mean  # contrast
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * u(0.3, 1.5, 1, 1, 1) + grey  # saturation
    x = x.clamp(0, 1)
    blur = torch.rand(n, generator=gen) < p_blur
    for i in torch.nonzero(blur).flatten().tolist():
        f = float(torch.empty(1).uniform_(2.0, 4.0, generator=gen))
        small = torch.nn.functional.interpolate(x[i : i + 1], size=(max(1, round(h / f)), max(1, round(w / f))), mode="bilinear", align_corners=False)
        x[i] = torch.nn.functional.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0]
    return x * 255.0
