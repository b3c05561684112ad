"""OSNet-IBN (`--ibn`): instance norms in the stem and after conv2's and conv3's OS blocks, started from the
MSMT17 weights' own statistics, and exported to TF.js node for node."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dare.export_tfjs import export
from dare.osnet import DEFAULT_ONNX, OSNetStages, load_msmt17_weights, read_onnx_convs
from dare.tfjs_parity import cosine, tfjs_embeddings, torch_embeddings
from dare.train import TrainConfig, plan_init
from conftest import needs_node, random_multires

needs_msmt17 = pytest.mark.skipif(not DEFAULT_ONNX.is_file(), reason=f"needs {DEFAULT_ONNX}")


def _images(n: int, seed: int) -> torch.Tensor:
    """Smooth random 'pictures' (RGB 0-255, 64x32): colour blobs, so the statistics vary between images as a
    camera's do."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.uniform(0, 255, (n, 3, 8, 4)).astype(np.float32))
    return nn.functional.interpolate(coarse, size=(64, 32), mode="bilinear", align_corners=False)


def _features(net: OSNetStages, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        x = net.normalise(images)
        for s in range(1, 5):
            x = net.forward_stage(s, x)
    return x.mean(dim=(2, 3))


def test_ibn_puts_instance_norms_in_the_stem_and_conv2_and_conv3_only() -> None:
    net = OSNetStages(ibn=True)
    sites = sorted(name for name, m in net.named_modules() if isinstance(m, nn.InstanceNorm2d))
    assert sites == ["conv1.instance_norm"] + [f"conv{c}.{b}.instance_norm" for c in (2, 3) for b in (0, 1)]
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in OSNetStages().modules())


@needs_msmt17
def test_the_instance_norms_start_at_their_inputs_average_statistics_and_keep_the_msmt17_function_closer() -> None:
    convs, calibration = read_onnx_convs(DEFAULT_ONNX), _images(32, 0)
    plain, ibn = OSNetStages(), OSNetStages(ibn=True)
    load_msmt17_weights(plain, convs, calibration)
    load_msmt17_weights(ibn, convs, calibration)
    plain.eval(), ibn.eval()
    seen: dict[nn.Module, torch.Tensor] = {}
    norms = [m for m in ibn.modules() if isinstance(m, nn.InstanceNorm2d)]
    handles = [m.register_forward_pre_hook(lambda m, i: seen.__setitem__(m, i[0])) for m in norms]
    _features(ibn, calibration)
    for h in handles:
        h.remove()
    for norm in norms:
        x = seen[norm]
        assert norm.weight.detach() == pytest.approx(torch.sqrt(x.var(dim=(2, 3), unbiased=False) + norm.eps).mean(0), rel=1e-4)
        assert norm.bias.detach() == pytest.approx(x.mean(dim=(2, 3)).mean(0), rel=1e-4, abs=1e-5)
    # what the calibration is for: from the same weights, unit-affine instance norms land much further away
    untouched = OSNetStages(ibn=True)
    load_msmt17_weights(untouched, convs, calibration)
    for norm in (m for m in untouched.modules() if isinstance(m, nn.InstanceNorm2d)):
        nn.init.ones_(norm.weight), nn.init.zeros_(norm.bias)
    images = _images(16, 1)
    reference = _features(plain, images)
    calibrated = nn.functional.cosine_similarity(_features(ibn, images), reference).mean()
    unit = nn.functional.cosine_similarity(_features(untouched.eval(), images), reference).mean()
    assert calibrated > 0.9 and calibrated > unit + 0.05


@needs_node
def test_an_ibn_model_exports_to_tfjs_as_it_runs_in_pytorch(tmp_path: Path) -> None:
    model = random_multires([(48, 24), (64, 32)], ibn=True)
    for norm in (m for m in model.modules() if isinstance(m, nn.InstanceNorm2d)):
        nn.init.uniform_(norm.weight, 0.5, 2.0), nn.init.uniform_(norm.bias, -1.0, 1.0)
    out = tmp_path / "ibn"
    export(model, 64, 32, out)
    ops = {n["op"] for n in json.loads((out / "model.json").read_text())["modelTopology"]["node"]}
    assert {"SquaredDifference", "Rsqrt"} <= ops
    pixels = np.random.default_rng(0).integers(0, 256, (3, 64, 32, 3)).astype(np.float32)
    reference = torch_embeddings(model, pixels)
    monolithic, staged = tfjs_embeddings(out, pixels)
    assert cosine(monolithic, reference).min() >= 0.9999
    assert np.abs(staged - monolithic).max() <= 1e-6 * np.abs(monolithic).max()


@pytest.mark.parametrize("theirs, mine", [(False, True), (True, False)])
def test_init_refuses_a_checkpoint_with_other_normalisation(tmp_path: Path, theirs: bool, mine: bool) -> None:
    resolutions = [[48, 24], [64, 32]]
    path = tmp_path / "other.pt"
    torch.save({"config": {"backbone": "osnet_x0_25", "resolutions": resolutions, "height": 64, "width": 32, "bnneck": False,
                           **({"ibn": True} if theirs else {})}, "model": {}}, path)
    cfg = TrainConfig(backbone="osnet_x0_25", resolutions=resolutions, height=64, width=32, ibn=mine)
    with pytest.raises(SystemExit, match="instance norms"):
        plan_init(path, cfg)
