"""GeM pooling (`--gem`): a generalised mean with a learned exponent in every exit's head, trained, refused
where it cannot apply, and exported to TF.js as it runs in PyTorch."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dare import train
from dare.export_tfjs import export, load_checkpoint
from dare.model import GEM_P0, EmbeddingHead, gem_pool
from dare.multires import DareMR
from dare.tfjs_parity import cosine, tfjs_embeddings, torch_embeddings
from conftest import needs_node, random_multires

COMMON = ["--backbone", "osnet_x0_25", "--p", "4", "--k", "2", "--threads", "1", "--erase-p", "0"]


def test_gem_lies_between_the_average_and_the_maximum_and_is_the_average_at_p_1() -> None:
    x = torch.rand(2, 8, 4, 3)
    average, maximum = x.mean(dim=(2, 3)), x.amax(dim=(2, 3))
    assert torch.allclose(gem_pool(x, torch.tensor(1.0)), average, atol=1e-6)
    pooled = gem_pool(x, torch.tensor(GEM_P0))
    assert bool((pooled >= average - 1e-6).all() and (pooled <= maximum + 1e-6).all())
    assert not torch.allclose(pooled, average, atol=1e-3)
    assert torch.allclose(gem_pool(x, torch.tensor(60.0)), maximum, rtol=0.05)


def test_a_gem_head_pools_the_whole_map_and_learns_its_exponent() -> None:
    with pytest.raises(ValueError, match="whole map"):
        EmbeddingHead(8, stripes=2, gem=True)
    head = EmbeddingHead(8, gem=True)
    assert head.gem_p is not None and float(head.gem_p) == GEM_P0
    head(torch.rand(4, 8, 4, 2)).sum().backward()
    assert head.gem_p.grad is not None and float(head.gem_p.grad) != 0.0
    assert EmbeddingHead(8).gem_p is None


@needs_node
def test_a_gem_model_exports_to_tfjs_as_it_runs_in_pytorch(tmp_path: Path) -> None:
    model = random_multires([(48, 24), (64, 32)], gem=True)
    assert isinstance(model, DareMR) and model.gem
    with torch.no_grad():  # exponents away from the start, and unequal, so each exit's own is exported
        for head, p in zip(model.heads, (2.2, 4.5)):
            head.gem_p.fill_(p)
    out = tmp_path / "gem"
    export(model, 64, 32, out)
    nodes = json.loads((out / "model.json").read_text())["modelTopology"]["node"]
    assert sum(n["op"] == "Pow" for n in nodes) == 4 and any(n["op"] == "Maximum" for n in nodes)
    pixels = np.random.default_rng(0).integers(0, 256, (3, 64, 32, 3)).astype(np.float32)
    reference = torch_embeddings(model, pixels)
    monolithic, staged = tfjs_embeddings(out, pixels)
    assert cosine(monolithic, reference).min() >= 0.9999
    assert np.abs(staged - monolithic).max() <= 1e-6 * np.abs(monolithic).max()
    # a random network's maps are nearly flat, so the cosine cannot tell GeM from the average; the error can:
    # the export is far closer to GeM than the same weights pooled by the average are
    model.heads[0].gem_p = None
    model.heads[1].gem_p = None
    assert np.abs(torch_embeddings(model, pixels) - reference).max() > 20 * np.abs(monolithic - reference).max()


def test_training_with_gem_learns_the_exponents_and_refuses_what_it_cannot_pool(fake_market: Path, tmp_path: Path) -> None:
    common = COMMON + ["--cache", str(tmp_path / "cache")]
    with pytest.raises(SystemExit, match="--gem: needs --resolutions"):
        train.main(["--out", str(tmp_path / "single"), "--height", "64", "--width", "32", "--gem", "--iterations", "2"] + common)
    with pytest.raises(SystemExit, match="no --exit-stripes"):
        train.main(["--out", str(tmp_path / "stripes"), "--resolutions", "48x24,64x32", "--exit-stripes", "2,2", "--gem",
                    "--iterations", "2"] + common)
    assert not (tmp_path / "cache").exists()
    out = tmp_path / "run"
    train.main(["--out", str(out), "--resolutions", "48x24,64x32", "--gem", "--iterations", "3", "--id-loss", "1"] + common)
    model, ckpt = load_checkpoint(out / "final.pt")
    assert ckpt["config"]["gem"] is True and isinstance(model, DareMR) and model.gem
    assert all(float(h.gem_p) != GEM_P0 for h in model.heads)
    log = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    assert log["gem_p"] == [round(float(h.gem_p), 4) for h in model.heads]
    # a checkpoint pooled one way does not start a run pooled the other
    with pytest.raises(SystemExit, match=r"has GeM pooling \(--gem\); this run has none"):
        train.main(["--out", str(tmp_path / "avg"), "--resolutions", "48x24,64x32", "--init", str(out / "final.pt"),
                    "--iterations", "1", "--id-loss", "1"] + common)
