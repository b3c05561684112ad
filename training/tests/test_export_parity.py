"""The TF.js export computes what PyTorch computes, stage by stage and in one call, and says so in its
metadata. Runs the exported graph with @tensorflow/tfjs + the wasm backend in Node (training/parity)."""
import copy
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dare.export_tfjs import SHARD_BYTES, export, quantize_uint8
from dare.macs import stage_macs
from dare.model import Dare, exit_names
from dare.tfjs_parity import REPO, cosine, sample_images, tfjs_embeddings, torch_embeddings
from conftest import needs_node

STAGE_NAMES = exit_names({})  # the chained four-stage models these tests export

EMBED = REPO / "training" / "parity" / "embed.mjs"
HEIGHT, WIDTH, N_IMAGES = 128, 64, 8

pytestmark = needs_node


def _randomise(model: Dare, images: torch.Tensor) -> None:
    """Give every BatchNorm random affine parameters and running statistics that are far from the
    identity (so folding matters) yet keep activations in a sane range: each BN's statistics are
    those of its actual input on `images`, scaled and shifted at random. Fusion weights too."""
    gen = torch.Generator().manual_seed(1)

    def rand(shape: tuple[int, ...], lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(shape, generator=gen)

    def randomise(bn: nn.Module, inputs: tuple[torch.Tensor]) -> None:
        x = inputs[0]
        dims = (0, 2, 3) if x.dim() == 4 else (0,)
        mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
        c = mean.shape
        bn.running_mean.copy_(mean + torch.sqrt(var + bn.eps) * rand(c, -0.5, 0.5))
        bn.running_var.copy_(var * rand(c, 0.5, 2.0) + 1e-3)
        bn.weight.data.copy_(rand(c, 0.5, 1.5))
        bn.bias.data.copy_(rand(c, -0.5, 0.5))

    handles = [m.register_forward_pre_hook(randomise) for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    model.eval()
    with torch.no_grad():
        model(images)
        model.fusion_weights.copy_(rand((4,), 0.1, 0.6))
    for h in handles:
        h.remove()


def _round_trip(stored_as: str | None, w: torch.Tensor) -> torch.Tensor:
    """What a weight becomes once stored as `stored_as` and decoded."""
    if stored_as is None:
        return w
    if stored_as == "float16":
        return w.half().float()
    q, params = quantize_uint8(w.numpy())
    return torch.from_numpy(q.astype(np.float32) * np.float32(params["scale"]) + np.float32(params["min"]))


def _storage_by_role(model_dir: Path) -> dict[str, str | None]:
    """How the export stored each kind of weight, read from its manifest (one storage per kind)."""
    manifest = json.loads((model_dir / "model.json").read_text())["weightsManifest"]
    roles: dict[str, set] = {"conv": set(), "bias": set(), "fc": set()}
    for w in (w for group in manifest for w in group["weights"]):
        role = "conv" if w["name"].endswith("/filter") else "bias" if w["name"].endswith("/bias") else "fc" if w["name"].endswith("/weights") else None
        if role:
            roles[role].add(w.get("quantization", {}).get("dtype"))
    assert all(len(v) == 1 for v in roles.values()), roles
    return {role: v.pop() for role, v in roles.items()}


@torch.no_grad()
def _with_stored_weights(model: Dare, storage: dict[str, str | None]) -> Dare:
    """A copy of `model` computing with its folded weights as the export stored them: the PyTorch
    reference for a quantised export (BN folded by hand, then made the identity)."""
    m = copy.deepcopy(model).eval()

    def fold(weight: torch.Tensor, bias: torch.Tensor, bn: nn.Module, role: str) -> tuple[torch.Tensor, torch.Tensor]:
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shape = (-1,) + (1,) * (weight.dim() - 1)
        folded_w, folded_b = weight * scale.view(shape), (bias - bn.running_mean) * scale + bn.bias
        bn.weight.fill_(1.0)
        bn.bias.zero_()
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        return _round_trip(storage[role], folded_w), _round_trip(storage["bias"], folded_b)

    for mod in m.modules():
        if isinstance(mod, nn.Sequential) and isinstance(mod[1], nn.BatchNorm2d):
            conv, bn = mod[0], mod[1]
            w, b = fold(conv.weight, torch.zeros(conv.out_channels), bn, "conv")
            conv.weight.copy_(w)
            bn.bias.copy_(b)  # identity BN + this shift == the folded conv bias
    for head in m.heads:
        w, b = fold(head.fc1.weight, head.fc1.bias, head.bn, "fc")
        head.fc1.weight.copy_(w)
        head.fc1.bias.copy_(b)
        head.fc2.weight.copy_(_round_trip(storage["fc"], head.fc2.weight))
        head.fc2.bias.copy_(_round_trip(storage["bias"], head.fc2.bias))
    return m


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("export")
    torch.manual_seed(0)
    pixels, what = sample_images(N_IMAGES, HEIGHT, WIDTH)
    print(f"parity on {what}")
    model = Dare()
    _randomise(model, torch.from_numpy(pixels).permute(0, 3, 1, 2))
    (tmp / "images.u8").write_bytes(pixels.astype(np.uint8).tobytes())

    results = {}
    for variant in ("fp32", "float16", "uint8"):
        model_dir = tmp / variant
        export(model, HEIGHT, WIDTH, model_dir, None if variant == "fp32" else variant)
        monolithic, staged = tfjs_embeddings(model_dir, pixels, timeout=120)
        # fp32: the untouched PyTorch model (eval-mode BN), so folding itself is under test.
        reference = torch_embeddings(model if variant == "fp32" else _with_stored_weights(model, _storage_by_role(model_dir)), pixels)
        results[variant] = {"dir": model_dir, "monolithic": monolithic, "staged": staged, "reference": reference}
    return {"model": model, "reference": results["fp32"]["reference"], "results": results, "tmp": tmp}


def test_fp32_export_matches_pytorch_per_stage_and_fused(exported: dict) -> None:
    ref = exported["reference"]
    assert np.all(np.linalg.norm(ref, axis=-1) > 0)
    for mode in ("monolithic", "staged"):
        cos = cosine(exported["results"]["fp32"][mode], ref)  # N×5
        print(f"fp32 {mode} min cosine per stage: " + ", ".join(f"{n} {c:.7f}" for n, c in zip(STAGE_NAMES, cos.min(0))))
        assert cos.min() >= 0.9999, dict(zip(STAGE_NAMES, cos.min(0)))


def test_staged_execution_equals_monolithic(exported: dict) -> None:
    for variant, r in exported["results"].items():
        scale = np.abs(r["monolithic"]).max()
        np.testing.assert_allclose(r["staged"], r["monolithic"], rtol=0, atol=1e-6 * scale, err_msg=variant)


def test_quantised_exports_decode_to_the_stored_weights(exported: dict) -> None:
    """TF.js decodes float16 / uint8 weights to exactly what PyTorch computes with those weights; the
    drift from fp32 (printed) is then the quantisation's own. This random, BN-perturbed net is far more
    sensitive to it than a trained one: the real figures come from dare.tfjs_parity on the checkpoint."""
    for variant in ("float16", "uint8"):
        r = exported["results"][variant]
        drift = cosine(r["monolithic"], exported["reference"]).min(0)
        print(f"{variant} drift vs fp32 PyTorch, min cosine: " + ", ".join(f"{n} {c:.6f}" for n, c in zip(STAGE_NAMES, drift)))
        cos = cosine(r["monolithic"], r["reference"])
        assert cos.min() >= 0.9999, (variant, dict(zip(STAGE_NAMES, cos.min(0))))
    # uint8 is for the heads' FC matrices only; the backbone and biases stay float16 (see export_tfjs).
    assert _storage_by_role(exported["results"]["float16"]["dir"]) == {"conv": "float16", "bias": "float16", "fc": "float16"}
    assert _storage_by_role(exported["results"]["uint8"]["dir"]) == {"conv": "float16", "bias": "float16", "fc": "uint8"}
    assert _storage_by_role(exported["results"]["fp32"]["dir"]) == {"conv": None, "bias": None, "fc": None}


def test_metadata_follows_the_contract(exported: dict) -> None:
    model = exported["model"]
    for variant, r in exported["results"].items():
        model_json = json.loads((r["dir"] / "model.json").read_text())
        assert model_json["format"] == "graph-model"
        meta = model_json["userDefinedMetadata"]["dare"]
        assert meta["input"] == {"name": "image", "height": HEIGHT, "width": WIDTH}
        assert [(s["features"], s["embedding"]) for s in meta["stages"]] == [(f"stage{s}/features", f"stage{s}/embedding") for s in range(1, 5)]
        assert [s["macs"] for s in meta["stages"]] == stage_macs(model, HEIGHT, WIDTH).cumulative
        assert meta["fused"]["embedding"] == "fused/embedding"
        assert meta["fused"]["weights"] == pytest.approx(model.fusion_weights.detach().tolist(), rel=1e-6)
        assert meta["distance"] == "euclidean-l2normalised" and meta["version"] == 1
        assert model_json["userDefinedMetadata"]["export"]["quantization"] == ("none" if variant == "fp32" else variant)

        nodes = {n["name"]: n for n in model_json["modelTopology"]["node"]}
        assert nodes["image"]["op"] == "Placeholder"
        assert [int(d["size"]) for d in nodes["image"]["attr"]["shape"]["shape"]["dim"]] == [-1, HEIGHT, WIDTH, 3]
        for s in meta["stages"]:
            assert s["features"] in nodes and s["embedding"] in nodes
        fused_inputs = nodes["fused/embedding"]["input"]
        assert {nodes[i]["input"][0] for i in fused_inputs} == {s["embedding"] for s in meta["stages"]}
        assert not any("BatchNorm" in n["op"] for n in nodes.values())

        manifest = model_json["weightsManifest"]
        shards = [r["dir"] / p for group in manifest for p in group["paths"]]
        assert all(0 < p.stat().st_size <= SHARD_BYTES for p in shards)
        const_names = {n for n, node in nodes.items() if node["op"] == "Const"}
        assert {w["name"] for group in manifest for w in group["weights"]} == const_names


def test_embed_cli_embeds_uint8_images_in_batches(exported: dict) -> None:
    tmp = exported["tmp"]
    out_path = tmp / "embed.f32"
    proc = subprocess.run(["node", str(EMBED), str(exported["results"]["fp32"]["dir"]), str(tmp / "images.u8"), str(out_path), "--batch", "3"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["n"] == N_IMAGES
    assert f"{N_IMAGES}/{N_IMAGES} images" in proc.stderr
    embeddings = np.fromfile(out_path, "<f4").reshape(N_IMAGES, 5, 128)
    assert cosine(embeddings, exported["reference"]).min() >= 0.9999
    # Not normalised: the raw embeddings, as PyTorch gives them.
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=-1), np.linalg.norm(exported["reference"], axis=-1), rtol=1e-4)
