"""Export a trained Dare checkpoint to a TF.js graph model (model.json + weight shards).

    python3 -m dare.export_tfjs --checkpoint ../runs/mnv2-128x64/final.pt --out ../models/dare-mnv2
    python3 -m dare.export_tfjs --checkpoint ... --out ../models/dare-mnv2-fp16 --quantize float16

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
import base64
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
from .mobilenetv2 import ConvBNAct, InvertedResidual
from .model import NUM_STAGES, Dare, EmbeddingHead

SHARD_BYTES = 4 * 1024 * 1024
QUANTIZATIONS = ("float16", "uint8")  # ordered from mildest to coarsest
FORMAT_VERSION = 1


# --- TF GraphDef JSON attribute encodings ----------------------------------------------------------


def _a_type(dtype: str) -> dict:
    return {"type": dtype}


def _a_ints(values: list[int]) -> dict:
    return {"list": {"i": [str(v) for v in values]}}


def _a_int(value: int) -> dict:
    return {"i": str(value)}


def _a_str(value: str) -> dict:
    return {"s": base64.b64encode(value.encode()).decode()}


def _a_strs(values: list[str]) -> dict:
    return {"list": {"s": [base64.b64encode(v.encode()).decode() for v in values]}}


def _a_bool(value: bool) -> dict:
    return {"b": value}


def _a_float(value: float) -> dict:
    return {"f": value}


def _a_shape(dims: list[int]) -> dict:
    return {"shape": {"dim": [{"size": str(d)} for d in dims]}}


_DTYPES = {np.dtype(np.float32): ("DT_FLOAT", "float32"), np.dtype(np.int32): ("DT_INT32", "int32")}
_T = {"T": _a_type("DT_FLOAT")}


@dataclass
class _Weight:
    name: str
    value: np.ndarray
    coarsest: str | None  # the coarsest quantisation this tensor tolerates (None: keep it exact)


@dataclass
class GraphBuilder:
    nodes: list[dict] = field(default_factory=list)
    weights: list[_Weight] = field(default_factory=list)

    def _add(self, node: dict) -> str:
        if any(n["name"] == node["name"] for n in self.nodes):
            raise ValueError(f"duplicate node {node['name']}")
        self.nodes.append(node)
        return node["name"]

    def placeholder(self, name: str, shape: list[int]) -> str:
        return self._add({"name": name, "op": "Placeholder", "attr": {"dtype": _a_type("DT_FLOAT"), "shape": _a_shape(shape)}})

    def const(self, name: str, value: np.ndarray, coarsest: str | None = "uint8") -> str:
        """A Const node whose value lives in the weight shards, stored at most as coarsely as `coarsest`."""
        value = np.ascontiguousarray(value)
        tf_dtype = _DTYPES[value.dtype][0]
        self.weights.append(_Weight(name, value, coarsest if value.dtype == np.float32 else None))
        tensor = {"dtype": tf_dtype, "tensorShape": {"dim": [{"size": str(d)} for d in value.shape]} if value.shape else {}}
        return self._add({"name": name, "op": "Const", "attr": {"value": {"tensor": tensor}, "dtype": _a_type(tf_dtype)}})

    def op(self, name: str, op: str, inputs: list[str], attr: dict | None = None) -> str:
        return self._add({"name": name, "op": op, "input": inputs, "attr": attr or {}})


# --- BatchNorm folding -----------------------------------------------------------------------------


def _bn_scale_shift(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """Eval-mode BN(y) = y * scale + shift."""
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    shift = bn.bias.detach().double() - bn.running_mean.double() * scale
    return scale.numpy(), shift.numpy()


def fold_conv_bn(block: ConvBNAct) -> tuple[np.ndarray, np.ndarray]:
    """(filter, bias) with BN folded in. Filter is HWIO for a dense conv, HWC1 for a depthwise one."""
    conv, bn = block[0], block[1]
    if conv.bias is not None:
        raise ValueError("convs before a BatchNorm are expected to have no bias")
    scale, shift = _bn_scale_shift(bn)
    w = conv.weight.detach().double().numpy() * scale[:, None, None, None]  # OIHW (depthwise: C1HW)
    hwio = w.transpose(2, 3, 1, 0)  # depthwise C1HW -> HW1C; dense OIHW -> HWIO
    if conv.groups > 1:
        hwio = hwio.transpose(0, 1, 3, 2)  # HW1C -> HWC1: TF depthwise filters are [h, w, in, multiplier]
    return hwio.astype(np.float32), shift.astype(np.float32)


def fold_linear_bn(fc: nn.Linear, bn: nn.BatchNorm1d | None) -> tuple[np.ndarray, np.ndarray]:
    """(matrix [in, out], bias) of bn(fc(x)) (or fc(x) when bn is None)."""
    w = fc.weight.detach().double().numpy()  # [out, in]
    b = fc.bias.detach().double().numpy()
    if bn is not None:
        scale, shift = _bn_scale_shift(bn)
        w, b = w * scale[:, None], b * scale + shift
    return np.ascontiguousarray(w.T).astype(np.float32), b.astype(np.float32)


# --- the Dare graph --------------------------------------------------------------------------------


def _conv(g: GraphBuilder, name: str, x: str, block: ConvBNAct) -> str:
    conv: nn.Conv2d = block[0]
    act = len(block) > 2
    if act and not isinstance(block[2], nn.ReLU6):
        raise ValueError(f"{name}: unexpected activation {block[2]}")
    kh, kw = conv.kernel_size
    stride = conv.stride[0]
    pad = conv.padding[0]
    if conv.stride[0] != conv.stride[1] or kh != kw or conv.padding[0] != conv.padding[1] or conv.dilation != (1, 1):
        raise ValueError(f"{name}: only square kernels, strides and paddings are exported")
    w, b = fold_conv_bn(block)
    attr = {
        **_T,
        "strides": _a_ints([1, stride, stride, 1]),
        "dilations": _a_ints([1, 1, 1, 1]),
        "data_format": _a_str("NHWC"),
        "num_args": _a_int(1),
        "fused_ops": _a_strs(["BiasAdd", "Relu6"] if act else ["BiasAdd"]),
        "epsilon": _a_float(0.0),
    }
    if pad == 0:
        attr["padding"] = _a_str("VALID")
    elif stride == 1 and 2 * pad == kh - 1:
        attr["padding"] = _a_str("SAME")  # symmetric at stride 1: identical to PyTorch's padding
    else:
        attr["padding"] = _a_str("EXPLICIT")
        attr["explicit_paddings"] = _a_ints([0, 0, pad, pad, pad, pad, 0, 0])
    # Backbone weights stop at float16 even when uint8 is asked for: tfjs's uint8 is one affine range
    # per tensor, folded depthwise filters have channels hundreds of times larger than their median,
    # and even the 1x1 convs' 2-4% uint8 error compounds over ~50 layers (stage-1 cosine to PyTorch
    # 0.87 measured on a trained checkpoint). uint8 goes to the heads' FC matrices (half the bytes).
    inputs = [x, g.const(f"{name}/filter", w, "float16"), g.const(f"{name}/bias", b, "float16")]
    if conv.groups == 1:
        attr["use_cudnn_on_gpu"] = _a_bool(True)
        return g.op(name, "_FusedConv2D", inputs, attr)
    if conv.groups != conv.in_channels or conv.out_channels != conv.in_channels:
        raise ValueError(f"{name}: grouped convs other than depthwise are not exported")
    return g.op(name, "FusedDepthwiseConv2dNative", inputs, attr)


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


def _head(g: GraphBuilder, stage: int, features: str, head: EmbeddingHead) -> str:
    """Mirror of EmbeddingHead.forward: GAP -> FC+BN+ReLU -> FC."""
    p = f"stage{stage}/head"
    axes = g.const(f"{p}/pool/axes", np.array([1, 2], np.int32), None)
    pooled = g.op(f"{p}/pool", "Mean", [features, axes], {**_T, "keep_dims": _a_bool(False), "Tidx": _a_type("DT_INT32")})
    w1, b1 = fold_linear_bn(head.fc1, head.bn)
    hidden = _matmul(g, f"{p}/fc1", pooled, w1, b1, relu=True)
    w2, b2 = fold_linear_bn(head.fc2, None)
    return _matmul(g, f"stage{stage}/embedding", hidden, w2, b2, relu=False)


def build_graph(model: Dare, height: int, width: int) -> GraphBuilder:
    """Mirror of Dare.forward with MobileNetV2Stages.forward_stage, node for node."""
    model.eval()
    net = model.backbone
    g = GraphBuilder()
    image = g.placeholder("image", [-1, height, width, 3])
    scaled = g.op("preprocess/scale", "Mul", [image, g.const("preprocess/scale/y", np.array(1.0 / 127.5, np.float32), None)], dict(_T))
    x = g.op("preprocess/normalised", "AddV2", [scaled, g.const("preprocess/normalised/y", np.array(-1.0, np.float32), None)], dict(_T))

    def full_block(i: int, h: str) -> str:
        block: InvertedResidual = net.blocks[i]
        expanded = _conv(g, f"block{i}/expand", h, block.expand) if block.expand is not None else h
        return _block_rest(g, f"block{i}", expanded, block, h)

    embeddings = []
    for s in range(1, NUM_STAGES + 1):
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
        x = _conv(g, f"stage{s}/features", x, tap)
        embeddings.append(_head(g, s, x, model.heads[s - 1]))

    weights = model.fusion_weights.detach().numpy().astype(np.float32)
    scaled_embeddings = [
        g.op(f"fused/scaled{s}", "Mul", [e, g.const(f"fused/weight{s}", np.array(weights[s - 1], np.float32), None)], dict(_T))
        for s, e in enumerate(embeddings, start=1)
    ]
    g.op("fused/embedding", "AddN", scaled_embeddings, {**_T, "N": _a_int(len(scaled_embeddings))})
    return g


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


def dare_metadata(model: Dare, height: int, width: int, macs: StageMacs) -> dict:
    """userDefinedMetadata.dare, exactly the contract in docs/architecture.md."""
    return {
        "input": {"name": "image", "height": height, "width": width},
        "stages": [
            {"features": f"stage{s}/features", "embedding": f"stage{s}/embedding", "macs": macs.cumulative[s - 1]}
            for s in range(1, NUM_STAGES + 1)
        ],
        "fused": {"embedding": "fused/embedding", "weights": [float(w) for w in model.fusion_weights.detach().numpy().astype(np.float32)]},
        "distance": "euclidean-l2normalised",
        "version": FORMAT_VERSION,
    }


def export(model: Dare, height: int, width: int, out: Path, quantize: str | None = None, source: dict | None = None) -> list[Path]:
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize}")
    model = model.eval()
    graph = build_graph(model, height, width)
    macs = stage_macs(model, height, width)
    metadata = {
        "dare": dare_metadata(model, height, width, macs),
        "export": {
            "quantization": quantize or "none",
            "parameters": int(sum(w.value.size for w in graph.weights)),
            "macsDefinition": MACS_DEFINITION,
            "fusedMacs": macs.fused,
            **({"source": source} if source else {}),
        },
    }
    return write_model(out, graph, metadata, quantize)


def load_checkpoint(path: Path) -> tuple[Dare, dict]:
    ckpt = torch.load(path, map_location="cpu")
    model = Dare()
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="torch.save dict with 'config' (height, width) and 'model'")
    ap.add_argument("--out", type=Path, required=True, help="output directory (model.json + shards)")
    ap.add_argument("--quantize", choices=QUANTIZATIONS, default=None, help="store float weights as float16 or affine uint8")
    args = ap.parse_args(argv)

    # The training run rewrites its checkpoint every epoch: read a private copy, never a half-written file.
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / args.checkpoint.name
        shutil.copyfile(args.checkpoint, snapshot)
        model, ckpt = load_checkpoint(snapshot)
    height, width = int(ckpt["config"]["height"]), int(ckpt["config"]["width"])
    source = {"checkpoint": args.checkpoint.name, "iteration": ckpt.get("iteration"), "config": ckpt["config"]}
    files = export(model, height, width, args.out, args.quantize, source)
    meta = json.loads(files[0].read_text())["userDefinedMetadata"]
    size = sum(f.stat().st_size for f in files)
    print(f"wrote {args.out}: {len(files) - 1} shard(s), {size / 1e6:.2f} MB, {meta['export']['parameters']:,} parameters")
    for s, stage in enumerate(meta["dare"]["stages"], start=1):
        print(f"  stage {s}: {stage['macs'] / 1e6:.1f} MMACs cumulative")


if __name__ == "__main__":
    main()
