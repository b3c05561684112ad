"""DaRe across resolutions (dare/multires.py): one backbone per exit, each fed the resized input; its
cost per exit, its TF.js export (format 2: every stage computed from the image) and training with it."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dare import train
from dare.export_tfjs import export, load_checkpoint
from dare.macs import stage_macs
from dare.model import Dare, exit_names
from dare.multires import DareMR, resize
from dare.parts import PART_TAPS, add_parts
from dare.tfjs_parity import cosine, tfjs_embeddings, torch_embeddings
from conftest import needs_node, random_multires

RESOLUTIONS = [(48, 24), (64, 32), (112, 56)]


def _random_model(stripes: list[int] | None = None) -> DareMR:
    return random_multires(RESOLUTIONS, bnneck=False, stripes=stripes)


def test_a_2x_downsample_is_the_2x2_mean() -> None:
    x = torch.rand(2, 3, 8, 4)
    assert torch.allclose(resize(x, (4, 2)), torch.nn.functional.avg_pool2d(x, 2), atol=1e-6)


def test_each_exit_costs_its_own_backbone_and_head_and_the_first_is_cheap() -> None:
    model = _random_model()
    macs = stage_macs(model, 112, 56)
    # one whole OSNet at that size plus one head (the chain's last head has the same shape)
    single = {r: sum(m.backbone) + m.head[-1] for r in RESOLUTIONS for m in [stage_macs(Dare("osnet_x0_25"), *r)]}
    assert macs.cumulative == list(np.cumsum([single[r] for r in RESOLUTIONS]))
    assert macs.cumulative[0] < 0.25 * macs.cumulative[-1]


def test_resolutions_must_grow() -> None:
    with pytest.raises(ValueError, match="must grow"):
        DareMR([(64, 32), (48, 24)])


@needs_node
@pytest.mark.parametrize("stripes", [None, [3, 2, 7]], ids=["global", "stripes"])  # the maps have 3, 4 and 7 rows
def test_export_runs_in_tfjs_as_in_pytorch_in_one_call_and_exit_by_exit(tmp_path: Path, stripes: list[int] | None) -> None:
    model = _random_model(stripes)
    out = tmp_path / "mr"
    export(model, 112, 56, out)
    meta = json.loads((out / "model.json").read_text())["userDefinedMetadata"]["dare"]
    assert meta["version"] == 2 and [s["input"] for s in meta["stages"]] == ["image"] * 3
    assert [s["resolution"] for s in meta["stages"]] == [list(r) for r in RESOLUTIONS]
    assert [s["macs"] for s in meta["stages"]] == stage_macs(model, 112, 56).cumulative
    # each exit in resumable parts (dare/parts.py), the last yielding its embedding at its cumulative cost;
    # tfjs_embeddings' staged run walks them, so the parity below covers feeding each part the one before
    nodes = {n["name"] for n in json.loads((out / "model.json").read_text())["modelTopology"]["node"]}
    for k, stage in enumerate(meta["stages"]):
        parts = stage["parts"]
        assert len(parts) == len(PART_TAPS) + 1 and "features" not in parts[-1] and parts[-1]["macs"] == stage["macs"]
        assert all(p["features"] in nodes for p in parts[:-1])
        costs = [meta["stages"][k - 1]["macs"] if k else 0] + [p["macs"] for p in parts]
        assert all(b > a for a, b in zip(costs, costs[1:]))
    pixels = np.random.default_rng(0).integers(0, 256, (3, 112, 56, 3)).astype(np.float32)
    reference = torch_embeddings(model, pixels)
    monolithic, staged = tfjs_embeddings(out, pixels)
    assert reference.shape == monolithic.shape == (3, 4, 128)
    assert cosine(monolithic, reference).min() >= 0.9999
    assert np.abs(staged - monolithic).max() <= 1e-6 * np.abs(monolithic).max()


def test_training_across_resolutions_runs_and_loads(fake_market: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train.main(["--out", str(out), "--backbone", "osnet_x0_25", "--resolutions", "32x16,64x32", "--p", "4", "--k", "2",
                "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "3", "--id-loss", "1"])
    model, ckpt = load_checkpoint(out / "final.pt")
    assert isinstance(model, DareMR) and model.necks is None and (ckpt["config"]["height"], ckpt["config"]["width"]) == (64, 32)
    assert exit_names(ckpt["config"]) == ["stage1", "stage2", "fused"]
    log = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    assert {"loss_stage1", "loss_stage2", "loss_fused"} <= set(log)


def test_init_keeps_a_subset_of_a_checkpoints_exits_or_resizes_them(fake_market: Path, tmp_path: Path) -> None:
    common = ["--backbone", "osnet_x0_25", "--p", "4", "--k", "2", "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2"]
    train.main(["--out", str(tmp_path / "three"), "--resolutions", "32x16,48x24,64x32"] + common)
    three = torch.load(tmp_path / "three" / "final.pt", map_location="cpu")["model"]
    # lr 0: what --init loaded stays (BN statistics still move with the batches)
    train.main(["--out", str(tmp_path / "two"), "--resolutions", "48x24,64x32", "--init", str(tmp_path / "three" / "final.pt"), "--lr", "0"] + common)
    two = torch.load(tmp_path / "two" / "final.pt", map_location="cpu")["model"]
    assert torch.equal(two["fusion_weights"], three["fusion_weights"][1:])
    for key, value in two.items():
        if key == "fusion_weights" or "running_" in key or not value.is_floating_point():
            continue
        group, index, rest = key.split(".", 2)
        assert torch.equal(value, three[f"{group}.{int(index) + 1}.{rest}"]), key
    with pytest.raises(SystemExit, match="resolutions"):
        train.main(["--out", str(tmp_path / "other"), "--resolutions", "40x20,64x32", "--init", str(tmp_path / "three" / "final.pt")] + common)
    # as many exits at other sizes (a larger last exit): exit k starts as the checkpoint's exit k
    train.main(["--out", str(tmp_path / "resized"), "--resolutions", "48x24,80x40", "--init", str(tmp_path / "two" / "final.pt"), "--lr", "0"] + common)
    resized = torch.load(tmp_path / "resized" / "final.pt", map_location="cpu")
    assert resized["config"]["resolutions"] == [[48, 24], [80, 40]] and (resized["config"]["height"], resized["config"]["width"]) == (80, 40)
    for key, value in two.items():
        if "running_" not in key and value.is_floating_point():
            assert torch.equal(resized["model"][key], value), key
    # the identity loss as a warm restart: BNNecks are added, every other weight is the checkpoint's
    train.main(["--out", str(tmp_path / "id"), "--resolutions", "48x24,64x32", "--id-loss", "1", "--init", str(tmp_path / "two" / "final.pt"), "--lr", "0"] + common)
    with_neck = torch.load(tmp_path / "id" / "final.pt", map_location="cpu")["model"]
    assert any(k.startswith("necks.") for k in with_neck) and not any(k.startswith("necks.") for k in two)
    for key, value in two.items():
        if "running_" not in key and value.is_floating_point():
            assert torch.equal(with_neck[key], value), key
    # the other way would drop trained weights: refused
    with pytest.raises(SystemExit, match="bnneck"):
        train.main(["--out", str(tmp_path / "back"), "--resolutions", "48x24,64x32", "--init", str(tmp_path / "id" / "final.pt")] + common)


def test_a_widened_stripe_model_computes_what_its_global_checkpoint_did() -> None:
    base = _random_model()
    striped = DareMR(RESOLUTIONS, bnneck=False, stripes=[3, 2, 7])
    state = dict(base.state_dict())
    assert train.widen_heads(striped, state) == [1, 2, 3]
    striped.load_state_dict(state)
    striped.eval()
    x = torch.rand(3, 3, 112, 56) * 255
    with torch.no_grad():
        a, b = base(x), striped(x)
    for e, f in zip(a.stages + [a.fused], b.stages + [b.fused]):
        assert torch.allclose(e, f, atol=1e-4), (e - f).abs().max()


def test_exit_stripes_start_from_global_heads_and_must_divide_the_maps(fake_market: Path, tmp_path: Path) -> None:
    common = ["--backbone", "osnet_x0_25", "--p", "4", "--k", "2", "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2",
              "--resolutions", "32x16,64x32"]
    train.main(["--out", str(tmp_path / "global")] + common)
    glob = torch.load(tmp_path / "global" / "final.pt", map_location="cpu")["model"]
    # lr 0: the widened heads are exactly the global ones spread over the bands
    train.main(["--out", str(tmp_path / "striped"), "--exit-stripes", "2,4", "--init", str(tmp_path / "global" / "final.pt"), "--lr", "0"] + common)
    striped = torch.load(tmp_path / "striped" / "final.pt", map_location="cpu")
    assert striped["config"]["exit_stripes"] == [2, 4]
    model, _ = load_checkpoint(tmp_path / "striped" / "final.pt")
    assert model.stripes == [2, 4]
    for k, s in enumerate([2, 4]):
        w = glob[f"heads.{k}.fc1.weight"]
        assert torch.equal(striped["model"][f"heads.{k}.fc1.weight"], w.repeat(1, s) / s)
    with pytest.raises(SystemExit, match=r"do not split into 3 stripes.*\[2, 4\] rows"):
        train.main(["--out", str(tmp_path / "bad"), "--exit-stripes", "2,3"] + common)
    with pytest.raises(SystemExit, match="one count per exit"):
        train.main(["--out", str(tmp_path / "bad2"), "--exit-stripes", "2"] + common)


def test_init_of_another_architecture_is_refused_before_any_image_is_decoded(fake_market: Path, tmp_path: Path) -> None:
    # Only the checkpoint's config is read to refuse it; its weights do not matter here.
    ckpt = tmp_path / "osnet.pt"
    torch.save({"config": {"backbone": "osnet_x0_25", "resolutions": [[48, 24], [64, 32]], "height": 64, "width": 32, "bnneck": True},
                "model": {}}, ckpt)
    common = ["--resolutions", "48x24,80x40", "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2"]
    # --backbone left out: the default (MobileNetV2) is not the checkpoint's network.
    with pytest.raises(SystemExit, match="its backbone is 'osnet_x0_25', this run's is 'mobilenetv2'"):
        train.main(["--out", str(tmp_path / "mnv2"), "--init", str(ckpt)] + common)
    with pytest.raises(SystemExit, match="no such checkpoint file"):
        train.main(["--out", str(tmp_path / "missing"), "--backbone", "osnet_x0_25", "--init", str(tmp_path / "nope.pt")] + common)
    assert not (tmp_path / "cache").exists()


def test_frozen_exits_stay_as_loaded_while_the_others_train(fake_market: Path, tmp_path: Path) -> None:
    common = ["--backbone", "osnet_x0_25", "--p", "4", "--k", "2", "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2"]
    train.main(["--out", str(tmp_path / "start"), "--resolutions", "32x16,64x32", "--id-loss", "1"] + common)
    start = torch.load(tmp_path / "start" / "final.pt", map_location="cpu")["model"]
    train.main(["--out", str(tmp_path / "frozen"), "--resolutions", "40x20,64x32", "--id-loss", "1", "--init", str(tmp_path / "start" / "final.pt"),
                "--freeze-exits", "2", "--lr", "1e-2", "--ema", "0.5"] + common)
    for snapshot in ("final.pt", "ema.pt"):
        got = torch.load(tmp_path / "frozen" / snapshot, map_location="cpu")["model"]
        exit2 = [k for k in start if k != "fusion_weights" and k.split(".")[1] == "1"]
        exit1 = [k for k in start if k != "fusion_weights" and k.split(".")[1] == "0" and start[k].is_floating_point()]
        assert exit2 and all(torch.equal(got[k], start[k]) for k in exit2), snapshot  # running statistics included
        assert any(not torch.equal(got[k], start[k]) for k in exit1), snapshot
    for bad, why in (("3", "exits 1 to 2"), ("1,2", "nothing to train"), ("x", "exit numbers")):
        with pytest.raises(SystemExit, match=why):
            train.main(["--out", str(tmp_path / f"bad{bad}"), "--resolutions", "40x20,64x32", "--id-loss", "1",
                        "--init", str(tmp_path / "start" / "final.pt"), "--freeze-exits", bad] + common)
    with pytest.raises(SystemExit, match="needs --init"):
        train.main(["--out", str(tmp_path / "noinit"), "--resolutions", "40x20,64x32", "--freeze-exits", "2"] + common)


def test_compose_takes_each_exit_from_its_own_checkpoint(fake_market: Path, tmp_path: Path) -> None:
    from dare import compose
    common = ["--backbone", "osnet_x0_25", "--p", "4", "--k", "2", "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2",
              "--id-loss", "1"]
    train.main(["--out", str(tmp_path / "a"), "--resolutions", "32x16,64x32", "--seed", "1"] + common)
    train.main(["--out", str(tmp_path / "b"), "--resolutions", "40x20,80x40", "--seed", "2"] + common)
    compose.main(["--exit", str(tmp_path / "a" / "final.pt"), "--exit", str(tmp_path / "b" / "final.pt"), "--out", str(tmp_path / "ab.pt")])
    a, b = (torch.load(tmp_path / n / "final.pt", map_location="cpu") for n in ("a", "b"))
    ab = torch.load(tmp_path / "ab.pt", map_location="cpu")
    assert ab["config"]["resolutions"] == [[32, 16], [80, 40]] and (ab["config"]["height"], ab["config"]["width"]) == (80, 40)
    for key, value in ab["model"].items():
        if key == "fusion_weights":
            assert torch.equal(value, torch.stack([a["model"][key][0], b["model"][key][1]]))
        else:
            assert torch.equal(value, (a if key.split(".")[1] == "0" else b)["model"][key]), key
    assert torch.equal(ab["classifiers"]["fcs.0.weight"], a["classifiers"]["fcs.0.weight"])
    assert torch.equal(ab["classifiers"]["fcs.2.weight"], b["classifiers"]["fcs.2.weight"])
    # the composed checkpoint starts a restart like any other (here with its exits resized)
    train.main(["--out", str(tmp_path / "restart"), "--resolutions", "36x18,80x40", "--init", str(tmp_path / "ab.pt"), "--lr", "0",
                "--probe-epochs", "0"] + common)
    with pytest.raises(SystemExit, match="has 2 exits, expected 3"):
        compose.main(["--exit", str(tmp_path / "a" / "final.pt")] * 3 + ["--out", str(tmp_path / "x.pt")])


def test_parts_are_added_to_an_older_export_without_touching_its_weights(tmp_path: Path) -> None:
    model = _random_model()
    out = tmp_path / "mr"
    export(model, 112, 56, out, source={"config": {"resolutions": [list(r) for r in RESOLUTIONS], "backbone": "osnet_x0_25"}})
    doc = json.loads((out / "model.json").read_text())
    written = [s.pop("parts") for s in doc["userDefinedMetadata"]["dare"]["stages"]]  # as exported before parts existed
    (out / "model.json").write_text(json.dumps(doc))
    shards = {p.name: p.read_bytes() for p in out.glob("*.bin")}
    assert add_parts(out) == written
    again = json.loads((out / "model.json").read_text())
    assert [s["parts"] for s in again["userDefinedMetadata"]["dare"]["stages"]] == written
    assert {p.name: p.read_bytes() for p in out.glob("*.bin")} == shards
    doc["userDefinedMetadata"]["dare"]["stages"][1]["macs"] += 1
    (out / "model.json").write_text(json.dumps(doc))
    with pytest.raises(SystemExit, match="exit 2 costs"):
        add_parts(out)
