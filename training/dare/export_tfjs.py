"""Export a trained Dare checkpoint to a TF.js graph model (model.json + weight shards).

    python3 -m dare.export_tfjs --checkpoint ../runs/osnet-256x128/final.pt --out ../models/dare-osnet
    python3 -m dare.export_tfjs --checkpoint ... --out ../models/dare-osnet-mr2-long-d3-fp16 --quantize float16

--quantize float16 stores every float weight as float16 except a few exact scalars (normalisation,
fusion weights); uint8 stores the embedding heads' FC matrices as affine uint8 and the backbone as
float16 (see _conv for why). TF.js dequantises to float32 on load, so the graph itself is unchanged.

The graph is written directly in TF GraphDef JSON form (no TensorFlow needed), using only ops that
tfjs-converter executes, and the fused kernels it has: _FusedConv2D and FusedDepthwiseConv2dNative
(BiasAdd [+ Relu6]) and _FusedMatMul (BiasAdd [+ Relu]). Every BatchNorm is folded into the conv or FC
before it with its running (eval-mode) statistics. The node names and `userDefinedMetadata.dare` follow
docs/architecture.md; `stage{s}/features` can be fed back to run the next stage alone.

PyTorch pads a 3x3 stride-2 conv by 1 on every side; TF's SAME pads 0 before and 1 after on even sizes,
which shifts the sampling grid. Stride-2 3x3 convs therefore use EXPLICIT padding (supported by the
converter's getPadding and by the cpu, wasm, webgl and webgpu kernels through computeConv2DInfo);
stride-1 3x3 convs use SAME, which equals PyTorch's symmetric padding there.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .macs import MACS_DEFINITION, StageMacs, stage_macs
from .mobilenetv2 import ConvBNAct, InvertedResidual, MobileNetV2Stages
from .fusion import parse_fusion_weights
from .graph_backbones import normalise_per_channel, osnet_stage, resnet_stage
from .model import GEM_EPS, NUM_STAGES, Dare, EmbeddingHead, exit_names, fold_necks, from_config
from .multires import DareMR
from .parts import exit_scope, parts_metadata
from .osnet import OSNetStages
from .resnet import ResNet50Stages
from .tfgraph import _DTYPES, _T, GraphBuilder, _a_bool, _a_float, _a_int, _a_strs, _a_type, _Weight, conv_op, fold_linear_bn

SHARD_BYTES = 4 * 1024 * 1024
QUANTIZATIONS = ("float16", "uint8")  # ordered from mildest to coarsest
FORMAT_VERSION = 1
MULTIRES_FORMAT_VERSION = 2  # stages name their `input`; the engine reads both


# --- the Dare graph --------------------------------------------------------------------------------


def _conv(g: GraphBuilder, name: str, x: str, block: ConvBNAct) -> str:
    act = len(block) > 2
    if act and not isinstance(block[2], nn.ReLU6):
        raise ValueError(f"{name}: unexpected activation {block[2]}")
    return conv_op(g, name, x, block[0], block[1], "Relu6" if act else None)


def _block_rest(g: GraphBuilder, prefix: str, x: str, block: InvertedResidual, block_input: str | None) -> str:
    """Mirror of InvertedResidual.forward_rest."""
    y = _conv(g, f"{prefix}/depthwise", x, block.depthwise)
    y = _conv(g, f"{prefix}/project", y, block.project)
    if block.residual:
        if block_input is None:
            raise ValueError(f"{prefix}: residual block without its input")
        y = g.op(f"{prefix}/add", "AddV2", [y, block_input], dict(_T))
    return y


def _matmul(g: GraphBuilder, name: str, x: str, w: np.ndarray, b: np.ndarray, relu: bool) -> str:
    attr = {
        **_T,
        "transpose_a": _a_bool(False),
        "transpose_b": _a_bool(False),
        "num_args": _a_int(1),
        "fused_ops": _a_strs(["BiasAdd", "Relu"] if relu else ["BiasAdd"]),
        "epsilon": _a_float(0.0),
        "leakyrelu_alpha": _a_float(0.2),
    }
    return g.op(name, "_FusedMatMul", [x, g.const(f"{name}/weights", w), g.const(f"{name}/bias", b, "float16")], attr)


def _reshape(g: GraphBuilder, name: str, x: str, shape: list[int]) -> str:
    return g.op(name, "Reshape", [x, g.const(f"{name}/shape", np.array(shape, np.int32), None)], {**_T, "Tshape": _a_type("DT_INT32")})


def _head(g: GraphBuilder, stage: int, features: str, head: EmbeddingHead, hwc: tuple[int, int, int]) -> str:
    """Mirror of EmbeddingHead.forward: GAP (or stripe means, or GeM) -> FC+BN+ReLU -> FC. `hwc`: the feature
    map's size, which the stripe reshape needs."""
    p = f"stage{stage}/head"
    if head.stripes == 1:
        # GeM (model.gem_pool) is the same mean taken of max(x, eps)^p, then raised to 1/p; the exponent and the
        # floor stay float32 in every quantised export, since a float16 p would shift the whole embedding's scale.
        exponent = None if head.gem_p is None else float(head.gem_p.detach())
        source = features
        if exponent is not None:
            floor = g.const(f"{p}/gem/eps", np.array(GEM_EPS, np.float32), None)
            lifted = g.op(f"{p}/gem/floor", "Maximum", [features, floor], _T)
            source = g.op(f"{p}/gem/pow", "Pow", [lifted, g.const(f"{p}/gem/p", np.array(exponent, np.float32), None)], _T)
        axes = g.const(f"{p}/pool/axes", np.array([1, 2], np.int32), None)
        pooled = g.op(f"{p}/pool", "Mean", [source, axes], {**_T, "keep_dims": _a_bool(False), "Tidx": _a_type("DT_INT32")})
        if exponent is not None:
            inverse = g.const(f"{p}/gem/inverse_p", np.array(1.0 / exponent, np.float32), None)
            pooled = g.op(f"{p}/gem/root", "Pow", [pooled, inverse], _T)
    else:
        # NHWC [N, H, W, C] -> [N, S, H/S, W, C] -> mean over (H/S, W) -> [N, S, C] -> [N, S*C]: band-major,
        # as model.stripe_pool orders it.
        h, w, c = hwc
        s = head.stripes
        bands = _reshape(g, f"{p}/bands", features, [-1, s, h // s, w, c])
        axes = g.const(f"{p}/pool/axes", np.array([2, 3], np.int32), None)
        means = g.op(f"{p}/pool", "Mean", [bands, axes], {**_T, "keep_dims": _a_bool(False), "Tidx": _a_type("DT_INT32")})
        pooled = _reshape(g, f"{p}/flatten", means, [-1, s * c])
    w1, b1 = fold_linear_bn(head.fc1, head.bn)
    hidden = _matmul(g, f"{p}/fc1", pooled, w1, b1, relu=True)
    w2, b2 = fold_linear_bn(head.fc2, None)
    return _matmul(g, f"stage{stage}/embedding", hidden, w2, b2, relu=False)


def _mobilenet_stage(g: GraphBuilder, net: MobileNetV2Stages, s: int, x: str, out: str) -> str:
    """Mirror of MobileNetV2Stages.forward_stage."""

    def full_block(i: int, h: str) -> str:
        block: InvertedResidual = net.blocks[i]
        expanded = _conv(g, f"block{i}/expand", h, block.expand) if block.expand is not None else h
        return _block_rest(g, f"block{i}", expanded, block, h)

    first, end = net._stage_bounds(s)
    if s == 1:
        x = _conv(g, "stem", x, net.stem)
        x = full_block(0, x)
        first = 1
    else:
        x = _block_rest(g, f"block{first}", x, net.blocks[first], None)
        first += 1
    for i in range(first, end):
        x = full_block(i, x)
    # The tap: block `end`'s expansion for stages 1-3, the 1280-channel head conv for stage 4.
    tap = net.blocks[end].expand if s < NUM_STAGES else net.head
    return _conv(g, out, x, tap)


def build_graph(model: Dare, height: int, width: int) -> GraphBuilder:
    """Mirror of Dare.forward, node for node: normalisation, the backbone's stages (each ending in
    `stage{s}/features`), one head per stage, the weighted sum."""
    model.eval()
    net = model.backbone
    g = GraphBuilder()
    image = g.placeholder("image", [-1, height, width, 3])
    if isinstance(net, MobileNetV2Stages):
        scaled = g.op("preprocess/scale", "Mul", [image, g.const("preprocess/scale/y", np.array(1.0 / 127.5, np.float32), None)], dict(_T))
        x = g.op("preprocess/normalised", "AddV2", [scaled, g.const("preprocess/normalised/y", np.array(-1.0, np.float32), None)], dict(_T))
        stage_fn = _mobilenet_stage
    elif isinstance(net, (OSNetStages, ResNet50Stages)):
        x = normalise_per_channel(g, image, net.mean.flatten().numpy().astype(np.float64), net.std.flatten().numpy().astype(np.float64))
        stage_fn = osnet_stage if isinstance(net, OSNetStages) else resnet_stage
    else:
        raise ValueError(f"no graph emitter for {type(net).__name__}")

    with torch.no_grad():
        maps, h = [], net.normalise(torch.zeros(1, 3, height, width))
        for s in range(1, NUM_STAGES + 1):
            h = net.forward_stage(s, h)
            maps.append((h.shape[2], h.shape[3], h.shape[1]))
    embeddings = []
    for s in range(1, NUM_STAGES + 1):
        x = stage_fn(g, net, s, x, f"stage{s}/features")
        embeddings.append(_head(g, s, x, model.heads[s - 1], maps[s - 1]))
    _fuse(g, model, embeddings)
    return g


def build_multires_graph(model: DareMR, height: int, width: int) -> GraphBuilder:
    """Mirror of DareMR.forward: for exit k, the image resized to its resolution (ResizeBilinear with
    half-pixel centres = PyTorch's bilinear, align_corners=False), normalised, its OSNet's four stages
    (nodes scoped `res{h}x{w}/`), its head -> `stage{k}/embedding`; then the weighted sum."""
    model.eval()
    g = GraphBuilder()
    image = g.placeholder("image", [-1, height, width, 3])
    embeddings = []
    for k, (h, w) in enumerate(model.resolutions):
        net = model.paths[k]
        if not isinstance(net, OSNetStages):
            raise ValueError(f"no multi-resolution graph emitter for {type(net).__name__}")
        with g.scope(exit_scope(h, w)):
            x = image
            if (h, w) != (height, width):
                size = g.const("resize/size", np.array([h, w], np.int32), None)
                x = g.op("resize", "ResizeBilinear", [image, size], {**_T, "align_corners": _a_bool(False), "half_pixel_centers": _a_bool(True)})
            x = normalise_per_channel(g, x, net.mean.flatten().numpy().astype(np.float64), net.std.flatten().numpy().astype(np.float64))
            for s in range(1, 5):
                x = osnet_stage(g, net, s, x, f"stage{s}/features")
        with torch.no_grad():
            fmap = model.features(k, torch.zeros(1, 3, height, width))
        embeddings.append(_head(g, k + 1, x, model.heads[k], (fmap.shape[2], fmap.shape[3], fmap.shape[1])))
    _fuse(g, model, embeddings)
    return g


def _fuse(g: GraphBuilder, model: nn.Module, embeddings: list[str]) -> None:
    weights = model.fusion_weights.detach().numpy().astype(np.float32)
    scaled_embeddings = [
        g.op(f"fused/scaled{s}", "Mul", [e, g.const(f"fused/weight{s}", np.array(weights[s - 1], np.float32), None)], dict(_T))
        for s, e in enumerate(embeddings, start=1)
    ]
    g.op("fused/embedding", "AddN", scaled_embeddings, {**_T, "N": _a_int(len(scaled_embeddings))})


# --- weights: quantisation and shards --------------------------------------------------------------


def quantize_uint8(v: np.ndarray) -> tuple[np.ndarray, dict]:
    """Affine uint8 with zero exactly representable, as tfjs-converter does (value = q * scale + min)."""
    lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
    if hi == lo:
        return np.zeros(v.shape, np.uint8), {"min": lo, "scale": 1.0}
    scale = (hi - lo) / 255.0
    zero_point = round(-lo / scale)
    nudged_min = -zero_point * scale
    q = np.clip(np.round((v.astype(np.float64) - nudged_min) / scale), 0, 255).astype(np.uint8)
    return q, {"min": nudged_min, "scale": scale}


def storage(weight: _Weight, quantize: str | None) -> str | None:
    """The quantisation a weight gets: the one asked for, unless the weight tolerates only a milder one."""
    if quantize is None or weight.coarsest is None:
        return None
    return QUANTIZATIONS[min(QUANTIZATIONS.index(quantize), QUANTIZATIONS.index(weight.coarsest))]


def encode_weights(weights: list[_Weight], quantize: str | None) -> tuple[list[dict], bytes]:
    specs, chunks = [], []
    for w in weights:
        spec: dict = {"name": w.name, "shape": list(w.value.shape), "dtype": _DTYPES[w.value.dtype][1]}
        stored_as = storage(w, quantize)
        if stored_as:
            if stored_as == "float16":
                data = w.value.astype("<f2").tobytes()
                spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
            else:
                q, params = quantize_uint8(w.value)
                data = q.tobytes()
                spec["quantization"] = {"dtype": "uint8", **params, "original_dtype": "float32"}
        else:
            data = w.value.astype(w.value.dtype.newbyteorder("<")).tobytes()
        specs.append(spec)
        chunks.append(data)
    return specs, b"".join(chunks)


def write_model(out: Path, graph: GraphBuilder, metadata: dict, quantize: str | None) -> list[Path]:
    """Write model.json and group1-shard{i}of{n}.bin (tfjs splits the concatenated weights into
    fixed-size shards regardless of tensor boundaries; the loader concatenates them back)."""
    specs, blob = encode_weights(graph.weights, quantize)
    n = max(1, math.ceil(len(blob) / SHARD_BYTES))
    if out.exists():
        for old in out.glob("group1-shard*.bin"):
            old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    paths = [f"group1-shard{i + 1}of{n}.bin" for i in range(n)]
    for i, p in enumerate(paths):
        (out / p).write_bytes(blob[i * SHARD_BYTES:(i + 1) * SHARD_BYTES])
    model_json = {
        "format": "graph-model",
        "generatedBy": f"torch {torch.__version__}",
        "convertedBy": "anytime-reid dare.export_tfjs",
        "modelTopology": {"node": graph.nodes, "library": {}, "versions": {"producer": 1}},
        "weightsManifest": [{"paths": paths, "weights": specs}],
        "userDefinedMetadata": metadata,
    }
    tmp = out / "model.json.tmp"
    tmp.write_text(json.dumps(model_json, separators=(",", ":")))
    tmp.replace(out / "model.json")
    return [out / "model.json"] + [out / p for p in paths]


# --- metadata, checkpoint, CLI ---------------------------------------------------------------------


def _stages_metadata(model: nn.Module, macs: StageMacs, height: int, width: int) -> list[dict]:
    """Format 1 (a chain: stage s+1 is fed stage s's features) for Dare; format 2 for DareMR, where every
    exit is computed from the image (`input`) at its own `resolution`, in resumable `parts` (dare/parts.py)."""
    if isinstance(model, DareMR):
        return [
            {"embedding": f"stage{k + 1}/embedding", "input": "image", "resolution": list(r), "macs": macs.cumulative[k], "parts": parts}
            for k, (r, parts) in enumerate(zip(model.resolutions, parts_metadata(model, height, width)))
        ]
    return [
        {"features": f"stage{s}/features", "embedding": f"stage{s}/embedding", "macs": macs.cumulative[s - 1]}
        for s in range(1, NUM_STAGES + 1)
    ]


def dare_metadata(model: nn.Module, height: int, width: int, macs: StageMacs, thresholds: dict[str, float] | None = None) -> dict:
    """userDefinedMetadata.dare, exactly the contract in docs/architecture.md."""
    return {
        "input": {"name": "image", "height": height, "width": width},
        "stages": _stages_metadata(model, macs, height, width),
        "fused": {"embedding": "fused/embedding", "weights": [float(w) for w in model.fusion_weights.detach().numpy().astype(np.float32)]},
        "distance": "euclidean-l2normalised",
        "version": MULTIRES_FORMAT_VERSION if isinstance(model, DareMR) else FORMAT_VERSION,
        **({"unknownThresholds": thresholds} if thresholds else {}),
    }


def export(model: nn.Module, height: int, width: int, out: Path, quantize: str | None = None, source: dict | None = None,
           thresholds: dict[str, float] | None = None) -> list[Path]:
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize}")
    model = model.eval()
    graph = build_multires_graph(model, height, width) if isinstance(model, DareMR) else build_graph(model, height, width)
    macs = stage_macs(model, height, width)
    metadata = {
        "dare": dare_metadata(model, height, width, macs, thresholds),
        "export": {
            "quantization": quantize or "none",
            "parameters": int(sum(w.value.size for w in graph.weights)),
            "macsDefinition": MACS_DEFINITION,
            "fusedMacs": macs.fused,
            **({"source": source} if source else {}),
        },
    }
    return write_model(out, graph, metadata, quantize)


def load_checkpoint(path: Path) -> tuple[nn.Module, dict]:
    ckpt = torch.load(path, map_location="cpu")
    model = from_config(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    return fold_necks(model.eval()), ckpt


def set_fusion_weights(model: nn.Module, weights: list[float]) -> None:
    """Replaces the learned fusion weights (one per exit, finite, not all zero)."""
    current = model.fusion_weights
    if len(weights) != current.numel() or not all(np.isfinite(weights)) or not any(weights):
        raise SystemExit(f"--fusion-weights: expected {current.numel()} finite weights, not all zero; got {weights}")
    with torch.no_grad():
        current.copy_(torch.tensor(weights, dtype=current.dtype))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="torch.save dict with 'config' (height, width) and 'model'")
    ap.add_argument("--out", type=Path, required=True, help="output directory (model.json + shards)")
    ap.add_argument("--quantize", choices=QUANTIZATIONS, default=None, help="store float weights as float16 or affine uint8")
    ap.add_argument("--fusion-weights", type=parse_fusion_weights, help="comma list, one per exit: replaces the learned fusion weights (dare.fusion chooses them on the proxy)")
    ap.add_argument("--unknown-thresholds", type=Path, help="an evaluate.py --json file of this checkpoint: its per-stage thresholds go into the metadata")
    args = ap.parse_args(argv)

    # The training run rewrites its checkpoint every epoch: read a private copy, never a half-written file.
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / args.checkpoint.name
        shutil.copyfile(args.checkpoint, snapshot)
        model, ckpt = load_checkpoint(snapshot)
    height, width = int(ckpt["config"]["height"]), int(ckpt["config"]["width"])
    source = {"checkpoint": args.checkpoint.name, "iteration": ckpt.get("iteration"), "config": ckpt["config"]}
    if args.fusion_weights:
        set_fusion_weights(model, args.fusion_weights)
        source["fusionWeights"] = "chosen on the proxy (dare.fusion)"
    thresholds = None
    if args.unknown_thresholds:
        thresholds = json.loads(args.unknown_thresholds.read_text()).get("unknownThresholds")
        want = sorted(n.removeprefix("stage") for n in exit_names(ckpt["config"]))
        if not thresholds or sorted(thresholds) != want:
            raise SystemExit(f"{args.unknown_thresholds}: no unknownThresholds for {', '.join(want)} (run dare.evaluate --json)")
    files = export(model, height, width, args.out, args.quantize, source, thresholds)
    meta = json.loads(files[0].read_text())["userDefinedMetadata"]
    size = sum(f.stat().st_size for f in files)
    print(f"wrote {args.out}: {len(files) - 1} shard(s), {size / 1e6:.2f} MB, {meta['export']['parameters']:,} parameters")
    for s, stage in enumerate(meta["dare"]["stages"], start=1):
        print(f"  stage {s}: {stage['macs'] / 1e6:.1f} MMACs cumulative")


if __name__ == "__main__":
    main()
