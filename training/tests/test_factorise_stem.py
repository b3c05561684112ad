"""The low-rank stem (osnet.LowRankConv, dare/factorise_stem.py): the factorisation is the projection it
claims, a full-rank one is exact, the factorised checkpoint exports, costs what it says, composes and
restarts training with its stem still factorised."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dare import compose, factorise_stem, train
from dare.export_tfjs import export, load_checkpoint
from dare.macs import stage_macs
from dare.osnet import LowRankConv
from dare.tfjs_parity import cosine, tfjs_embeddings, torch_embeddings
from conftest import needs_node, random_multires

COMMON = ["--backbone", "osnet_x0_25", "--p", "4", "--k", "2", "--threads", "1", "--iterations", "2"]


def _stem_problem() -> tuple[torch.nn.Conv2d, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    stem = torch.nn.Conv2d(3, 16, 7, stride=2, padding=3, bias=False)
    scale = torch.rand(16, dtype=torch.float64) + 0.5
    # correlated channels, as in images: the moment is far from the identity
    x = torch.rand(4, 1, 32, 16).repeat(1, 3, 1, 1) + 0.1 * torch.rand(4, 3, 32, 16)
    return stem, scale, factorise_stem.stem_input_moment(stem, x), x


def test_the_product_is_the_stem_projected_on_its_top_output_directions() -> None:
    stem, scale, moment, x = _stem_problem()
    weight = stem.weight.detach().double().reshape(16, -1)
    basis, residual = factorise_stem.output_space(weight, scale, moment)
    assert torch.all(residual[1:] <= residual[:-1]) and residual[-1] < 1e-9
    full = stem(x).double() * scale[:, None, None]
    energy = full.square().sum()
    for rank in (4, 10):
        reduce, expand = factorise_stem.factorise(weight, scale, basis, rank)
        low = LowRankConv(3, 16, 7, 2, 3, rank).double()
        with torch.no_grad():
            low[0].weight.copy_(reduce.reshape(rank, 3, 7, 7))
            low[1].weight.copy_(expand.reshape(16, rank, 1, 1))
        lost = ((low(x.double()) * scale[:, None, None] - full).square().sum() / energy).item()
        # the residual the CLI prints is the share of the scaled output energy the product loses on these patches
        assert lost == pytest.approx(residual[rank - 1].item(), rel=1e-6, abs=1e-12)
    with pytest.raises(ValueError, match="stem rank 16"):
        LowRankConv(3, 16, 7, 2, 3, 16)


def _checkpoint(tmp_path: Path) -> Path:
    train.main(["--out", str(tmp_path / "run"), "--resolutions", "32x16,64x32", "--id-loss", "1", "--cache", str(tmp_path / "cache")] + COMMON)
    return tmp_path / "run" / "final.pt"


def test_a_factorised_checkpoint_costs_less_exports_composes_and_trains_on(fake_market: Path, tmp_path: Path) -> None:
    source = _checkpoint(tmp_path)
    out = tmp_path / "r6.pt"
    factorise_stem.main(["--checkpoint", str(source), "--exit", "2", "--rank", "6", "--images", "16", "--out", str(out)])
    before, _ = load_checkpoint(source)
    after, ckpt = load_checkpoint(out)
    assert ckpt["config"]["stem_ranks"] == [0, 6] and after.stem_ranks == [0, 6]
    assert isinstance(after.paths[1].conv1.conv, LowRankConv) and not isinstance(after.paths[0].conv1.conv, LowRankConv)
    saved = (3 * 7 * 7 * 16 - (3 * 7 * 7 + 16) * 6) * 32 * 16  # per stem output pixel, 32x16 of them at 64x32
    assert stage_macs(after, 64, 32).cumulative[-1] == stage_macs(before, 64, 32).cumulative[-1] - saved
    # exit 1 untouched, exit 2 changed only in its stem
    same = {k: v for k, v in ckpt["model"].items() if not k.startswith("paths.1.conv1.conv")}
    original = torch.load(source, map_location="cpu")["model"]
    assert all(torch.equal(v, original[k]) for k, v in same.items())
    with pytest.raises(SystemExit, match="already rank 6"):
        factorise_stem.main(["--checkpoint", str(out), "--exit", "2", "--rank", "4", "--out", str(tmp_path / "x.pt")])
    with pytest.raises(SystemExit, match="exits 1 to 2"):
        factorise_stem.main(["--checkpoint", str(source), "--exit", "3", "--rank", "4", "--out", str(tmp_path / "x.pt")])

    # composed: each exit keeps its own stem
    composed = tmp_path / "composed.pt"
    compose.main(["--exit", str(source), "--exit", str(out), "--out", str(composed)])
    assert torch.load(composed, map_location="cpu")["config"]["stem_ranks"] == [0, 6]
    # a restart keeps the factorised stem (lr 0: its weights stay as loaded)
    train.main(["--out", str(tmp_path / "restart"), "--resolutions", "32x16,64x32", "--id-loss", "1", "--init", str(composed), "--lr", "0",
                "--probe-epochs", "0", "--cache", str(tmp_path / "cache")] + COMMON)
    restarted = torch.load(tmp_path / "restart" / "final.pt", map_location="cpu")
    assert restarted["config"]["stem_ranks"] == [0, 6]
    for key in ("paths.1.conv1.conv.0.weight", "paths.1.conv1.conv.1.weight"):
        assert torch.equal(restarted["model"][key], ckpt["model"][key])


@needs_node
def test_a_low_rank_stem_runs_in_tfjs_as_in_pytorch(tmp_path: Path) -> None:
    model = random_multires([(48, 24), (112, 56)], bnneck=False, stem_ranks=[5, 9])
    out = tmp_path / "lr"
    export(model, 112, 56, out)
    meta = json.loads((out / "model.json").read_text())["userDefinedMetadata"]["dare"]
    assert [s["macs"] for s in meta["stages"]] == stage_macs(model, 112, 56).cumulative
    nodes = {n["name"] for n in json.loads((out / "model.json").read_text())["modelTopology"]["node"]}
    assert {"res48x24/conv1/reduce", "res112x56/conv1/reduce"} <= nodes
    pixels = np.random.default_rng(0).integers(0, 256, (3, 112, 56, 3)).astype(np.float32)
    monolithic, staged = tfjs_embeddings(out, pixels)
    assert cosine(monolithic, torch_embeddings(model, pixels)).min() >= 0.9999
    assert np.abs(staged - monolithic).max() <= 1e-6 * np.abs(monolithic).max()
