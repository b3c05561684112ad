"""OSNet x0.25: the architecture, the import of torchreid's MSMT17 weights from the BN-folded ONNX file
(checked against the ONNX model itself, run by onnxruntime-web in Node), clear errors for wrong files,
and a training smoke run."""
import copy
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from conftest import SHARED, MOBILENETV2_TFLITE as TFLITE
from dare import train
from dare.export_tfjs import load_checkpoint
from dare.macs import stage_macs
from dare.model import Dare
from dare.osnet import OSNetStages, _module_path, load_msmt17_weights, read_onnx_convs
from dare.teacher import MSMT17Teacher
from dare.tfjs_parity import REPO, sample_images

ONNX = SHARED / "weights" / "osnet_x0_25_msmt17.onnx"
RUN_ONNX = REPO / "training" / "parity" / "run_onnx.mjs"
MARKET = SHARED / "data" / "market1501"

needs_onnx = pytest.mark.skipif(not ONNX.exists(), reason=f"OSNet MSMT17 ONNX not found at {ONNX}")
needs_ort = pytest.mark.skipif(
    shutil.which("node") is None or not (REPO / "node_modules" / "onnxruntime-web").is_dir(),
    reason="needs node and onnxruntime-web (npm ci at the repo root)",
)


def _convs(net: nn.Module) -> dict[str, nn.Conv2d]:
    return {name: m for name, m in net.named_modules() if isinstance(m, nn.Conv2d)}


def _calibration(n: int = 8, height: int = 256, width: int = 128) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(1).integers(0, 256, (n, 3, height, width)).astype(np.float32))


def test_macs_match_the_published_osnet_x0_25_figure() -> None:
    # Zhou et al. 2019, Table 6: OSNet x0.25 at 256x128 is 82.3M mult-adds, with the 128x512 FC that
    # our stage-4 tap stops before.
    backbone = sum(stage_macs(Dare("osnet_x0_25"), 256, 128).backbone)
    assert backbone + 128 * 512 == pytest.approx(82.3e6, rel=2e-3)


def test_module_paths_follow_torchreid_names() -> None:
    assert _module_path("/conv2/conv2.0/conv2b/conv2b.1/conv2/Conv") == "conv2.0.conv2b.1.conv2"
    assert _module_path("/conv3/conv3.0/gate/fc1_2/Conv") == "conv3.0.gate.fc1"
    assert _module_path("/conv1/conv/Conv") == "conv1.conv"
    assert _module_path("/conv2/conv2.2/conv2.2.0/conv/Conv") == "conv2.2.0.conv"
    assert _module_path("/conv5/conv/Conv") == "conv5.conv"


@needs_onnx
def test_every_conv_gets_one_weight_of_its_shape() -> None:
    """The ONNX Conv nodes name exactly the model's convs; the gate, called once per stream, is one
    set of weights in the file (so reading its first call is reading all of them)."""
    import onnx
    from onnx import numpy_helper

    convs = read_onnx_convs(ONNX)
    net_convs = _convs(OSNetStages())
    assert set(convs) == set(net_convs) and len(convs) == 151
    for name, (w, b) in convs.items():
        assert w.shape == tuple(net_convs[name].weight.shape), name
        # BN folded into a bias everywhere but the 1x1 that opens each LightConv3x3 (no BN, no bias).
        assert (b is None) == name.endswith(".conv1"), name

    model = onnx.load(str(ONNX))
    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    calls: dict[str, list[np.ndarray]] = {}
    for node in model.graph.node:
        if node.op_type == "Conv":
            calls.setdefault(_module_path(node.name), []).append(init[node.input[1]])
    gates = {k: v for k, v in calls.items() if ".gate." in k}
    assert len(gates) == 12 and all(len(v) == 4 for v in gates.values())
    assert all(len(v) == 1 for k, v in calls.items() if k not in gates)
    for name, ws in gates.items():
        assert all(np.array_equal(ws[0], w) for w in ws[1:]), name


def _onnx_reference(pixels: np.ndarray, tmp: Path) -> np.ndarray:
    """The ONNX model's 'output' (relu(BN(fc(GAP(conv5))))) on NHWC 0-255 pixels, by onnxruntime-web."""
    mean = np.array([0.485, 0.456, 0.406], np.float32) * 255
    std = np.array([0.229, 0.224, 0.225], np.float32) * 255
    x = ((pixels - mean) / std).transpose(0, 3, 1, 2).astype("<f4")
    (tmp / "images.f32").write_bytes(np.ascontiguousarray(x).tobytes())
    proc = subprocess.run(["node", str(RUN_ONNX), str(ONNX), str(tmp / "images.f32"), str(tmp / "out.f32"),
                           "--shape", ",".join(map(str, x.shape)), "--input", "images", "--output", "output"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"output": "output", "dims": [len(x), 512]}
    return np.fromfile(tmp / "out.f32", "<f4").reshape(len(x), 512)


def _teacher_output(teacher: MSMT17Teacher, pixels: np.ndarray) -> np.ndarray:
    """dare.teacher's network (the imported backbone + the file's own fc.0 / fc.1 + ReLU) on NHWC pixels."""
    return teacher(torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()).numpy()


@needs_onnx
@needs_ort
def test_import_computes_what_the_onnx_model_computes(tmp_path: Path) -> None:
    """End to end: the 512-d ONNX output equals the imported OSNetStages + the file's FC head, as
    dare.teacher builds them (the distillation target). BN is calibrated on other images (random pixels),
    so the check also shows that eval mode keeps the folded function whatever the calibration batch."""
    pixels, what = sample_images(6, 256, 128)
    teacher = MSMT17Teacher(ONNX, _calibration())
    ours = _teacher_output(teacher, pixels)
    onnx_out = _onnx_reference(pixels, tmp_path)
    diff = float(np.abs(ours - onnx_out).max())
    scale = float(np.abs(onnx_out).max())
    print(f"{what}: max |torch - onnxruntime| = {diff:.3g} (output max {scale:.3g})")
    assert scale > 0 and (onnx_out > 0).mean() > 0.1  # a live output, not all ReLU-zero
    assert diff <= 1e-4 * scale
    # The comparison has teeth: an un-imported network is nowhere near.
    teacher.net = OSNetStages().eval()
    assert np.abs(_teacher_output(teacher, pixels) - onnx_out).max() > 0.1 * scale


@needs_onnx
def test_calibrated_bn_keeps_the_function_in_train_mode_on_the_calibration_batch() -> None:
    net = OSNetStages()
    calib = _calibration(4, 128, 64)
    load_msmt17_weights(net, read_onnx_convs(ONNX), calib)
    assert net.training  # the loader restores the mode it found
    outs = []
    for mode in (False, True):
        m = copy.deepcopy(net).train(mode)
        with torch.no_grad():
            h = m.normalise(calib)
            for s in range(1, 5):
                h = m.forward_stage(s, h)
        outs.append(h)
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-4, atol=1e-4 * float(outs[0].abs().max()))


# --- wrong files -----------------------------------------------------------------------------------


@needs_onnx
@pytest.mark.skipif(not TFLITE.exists(), reason=f"MobileNetV2 TFLite not found at {TFLITE}")
@pytest.mark.filterwarnings("ignore:Unexpected end-group tag")  # protobuf's, on the way to the DecodeError
def test_a_tflite_file_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"mobilenet_v2_1\.0_224_quant\.tflite: not an ONNX model"):
        read_onnx_convs(TFLITE)


@needs_onnx
@pytest.mark.parametrize("keep", [1000, 0.5, -10])
def test_a_truncated_file_is_refused_clearly(tmp_path: Path, keep: float) -> None:
    data = ONNX.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    bad = tmp_path / "osnet_truncated.onnx"
    bad.write_bytes(data[:cut])
    with pytest.raises(ValueError, match="osnet_truncated.onnx"):
        load_msmt17_weights(OSNetStages(), read_onnx_convs(bad), _calibration(2, 64, 32))


@needs_onnx
def test_a_valid_onnx_missing_convs_names_them(tmp_path: Path) -> None:
    """An intact ONNX file of a different (here: cut-short) network: the load names what is missing."""
    import onnx

    model = onnx.load(str(ONNX))
    keep = [n for n in model.graph.node if not n.name.startswith("/conv5/")]
    del model.graph.node[:]
    model.graph.node.extend(keep)
    cut = tmp_path / "no_conv5.onnx"
    onnx.save(model, str(cut))
    with pytest.raises(ValueError, match=r"only in model \['conv5\.conv'\]"):
        load_msmt17_weights(OSNetStages(), read_onnx_convs(cut), _calibration(2, 64, 32))


@needs_onnx
def test_a_conv_of_the_wrong_shape_is_named() -> None:
    convs = read_onnx_convs(ONNX)
    w, b = convs["conv3.0.conv2a.conv1"]
    convs["conv3.0.conv2a.conv1"] = (np.concatenate([w, w]), b)  # twice the output channels (a wider OSNet)
    with pytest.raises(ValueError, match=r"conv3\.0\.conv2a\.conv1: ONNX"):
        load_msmt17_weights(OSNetStages(), convs, _calibration(2, 64, 32))


# --- training ---------------------------------------------------------------------------------------


@needs_onnx
def test_train_cli_runs_from_the_msmt17_weights(fake_market: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train.main(["--out", str(out), "--backbone", "osnet_x0_25", "--height", "64", "--width", "32", "--p", "4", "--k", "2",
                "--iterations", "2", "--cache", str(tmp_path / "cache"), "--threads", "1"])
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in log] == [2] and np.isfinite(log[0]["loss_fused"])
    model, ckpt = load_checkpoint(out / "final.pt")
    assert ckpt["config"]["backbone"] == "osnet_x0_25" and ckpt["config"]["weights"] == str(ONNX)
    assert isinstance(model.backbone, OSNetStages)


# --- zero-shot re-ID (dare.verify_import --backbone osnet_x0_25, on a small slice) -----------------


@needs_onnx
@pytest.mark.skipif(not (MARKET / "query").is_dir(), reason=f"Market-1501 not found at {MARKET}")
def test_msmt17_weights_reidentify_market_people_zero_shot() -> None:
    """The imported MSMT17 backbone re-identifies Market-1501 people it never saw far better than the
    same network at random init: 24 queries against their identities' gallery images plus ~200 others,
    at 128x64 to stay fast (the CLI's figure is at 256x128 on the full gallery)."""
    from dare.data import load_images, read_split
    from dare.verify_import import msmt17_osnet, zero_shot_scores

    queries = read_split(MARKET, "query")[::140][:24]
    people = {q.person for q in queries}
    test = read_split(MARKET, "bounding_box_test")
    gallery = [s for s in test if s.person in people] + [s for s in test if s.person not in people][::100]
    train_split = read_split(MARKET, "bounding_box_train")
    torch.manual_seed(0)
    nets = {"import": msmt17_osnet(str(ONNX), load_images(train_split[::800][:16], 128, 64)), "random": OSNetStages().eval()}
    scores = zero_shot_scores(nets, queries, gallery, 128, 64)
    print({k: (round(s.rank1, 3), round(s.mAP, 3)) for k, s in scores.items()}, f"{len(queries)} queries x {len(gallery)} gallery")
    assert scores["import"].rank1 >= scores["random"].rank1 + 0.25
    assert scores["import"].mAP >= scores["random"].mAP + 0.15
