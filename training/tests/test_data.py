from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from dare.data import AugmentConfig, PKSampler, augment, market_root, parse_name, read_split, train_samples


def test_parse_name() -> None:
    assert parse_name("0002_c1s1_000451_03.jpg") == (2, 1)
    assert parse_name("1488_c2s3_065527_00.jpg.jpg") == (1488, 2)
    assert parse_name("-1_c3s2_012345_00.jpg") == (-1, 3)
    assert parse_name("0000_c6s4_000001_01.jpg") == (0, 6)
    assert parse_name("Thumbs.db") is None
    assert parse_name("0002_c1s1_000451_03.gif") is None
    assert parse_name("0005_c2_f0046985.jpg") is None  # a DukeMTMC name: not a Market-1501 split


def test_reader_skips_junk_and_foreign_files(fake_market: Path) -> None:
    assert len(read_split(fake_market, "bounding_box_train")) == 81
    train = train_samples(market_root())
    assert len(train) == 80 and all(s.person > 0 for s in train)


def test_missing_dataset_says_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKET1501_ROOT", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="MARKET1501_ROOT"):
        market_root()


def test_pk_sampler_gives_p_identities_k_each() -> None:
    labels = [i // 3 for i in range(60)]  # 20 ids with 3 images: fewer than K=4, so with replacement
    batch = PKSampler(labels, p=18, k=4).batch()
    counts = Counter(labels[i] for i in batch)
    assert len(batch) == 72 and len(counts) == 18 and set(counts.values()) == {4}


def test_pk_sampler_needs_p_identities() -> None:
    with pytest.raises(ValueError):
        PKSampler([0, 1, 2], p=18, k=4)


def test_augment_shapes_ranges_and_randomness() -> None:
    images = torch.randint(0, 256, (8, 144, 72, 3), dtype=torch.uint8)
    cfg = AugmentConfig(height=128, width=64)
    a = augment(images, cfg, torch.Generator().manual_seed(0))
    b = augment(images, cfg, torch.Generator().manual_seed(1))
    assert a.shape == (8, 3, 128, 64) and a.min() >= 0 and a.max() <= 255
    assert not torch.equal(a, b)


def test_augment_without_randomness_is_a_crop() -> None:
    images = torch.arange(144 * 72 * 3, dtype=torch.int64).reshape(1, 144, 72, 3).to(torch.uint8)
    cfg = AugmentConfig(height=128, width=64, flip=0.0, erase_p=0.0)
    out = augment(images, cfg, torch.Generator().manual_seed(0))[0].permute(1, 2, 0).numpy().astype(np.uint8)
    src = images[0].numpy()
    assert any(np.array_equal(out, src[y : y + 128, x : x + 64]) for y in range(17) for x in range(9))
