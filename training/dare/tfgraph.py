"""TF GraphDef JSON, written directly (no TensorFlow needed): node and attribute encodings, BatchNorm
folding, and the fused conv / pool / add nodes the backbones are built from. Only ops tfjs-converter
executes are emitted."""
from __future__ import annotations

import base64
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
from torch import nn

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
    prefix: str = ""  # prepended to the names of the nodes made inside `scope`

    @contextmanager
    def scope(self, prefix: str) -> Iterator[None]:
        """Name every node made inside with `prefix` (one backbone per resolution reuses the emitters,
        whose node names are fixed)."""
        outer, self.prefix = self.prefix, self.prefix + prefix
        try:
            yield
        finally:
            self.prefix = outer

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
        name = self.prefix + name
        tf_dtype = _DTYPES[value.dtype][0]
        self.weights.append(_Weight(name, value, coarsest if value.dtype == np.float32 else None))
        tensor = {"dtype": tf_dtype, "tensorShape": {"dim": [{"size": str(d)} for d in value.shape]} if value.shape else {}}
        return self._add({"name": name, "op": "Const", "attr": {"value": {"tensor": tensor}, "dtype": _a_type(tf_dtype)}})

    def op(self, name: str, op: str, inputs: list[str], attr: dict | None = None) -> str:
        return self._add({"name": self.prefix + name, "op": op, "input": inputs, "attr": attr or {}})


# --- BatchNorm folding -----------------------------------------------------------------------------


def bn_scale_shift(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """Eval-mode BN(y) = y * scale + shift."""
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    shift = bn.bias.detach().double() - bn.running_mean.double() * scale
    return scale.numpy(), shift.numpy()


def fold_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> tuple[np.ndarray, np.ndarray]:
    """(filter, bias) of bn(conv(x)), or of conv(x) when there is no BN (bias zero if conv has none)."""
    w = conv.weight.detach().double().numpy()  # OIHW (depthwise: C1HW)
    b = conv.bias.detach().double().numpy() if conv.bias is not None else np.zeros(conv.out_channels)
    if bn is not None:
        if conv.bias is not None:
            raise ValueError("convs before a BatchNorm are expected to have no bias")
        scale, shift = bn_scale_shift(bn)
        w, b = w * scale[:, None, None, None], shift
    hwio = w.transpose(2, 3, 1, 0)  # depthwise C1HW -> HW1C; dense OIHW -> HWIO
    if conv.groups > 1:
        hwio = hwio.transpose(0, 1, 3, 2)  # HW1C -> HWC1: TF depthwise filters are [h, w, in, multiplier]
    return hwio.astype(np.float32), b.astype(np.float32)


def fold_linear_bn(fc: nn.Linear, bn: nn.BatchNorm1d | None) -> tuple[np.ndarray, np.ndarray]:
    """(matrix [in, out], bias) of bn(fc(x)) (or fc(x) when bn is None)."""
    w = fc.weight.detach().double().numpy()  # [out, in]
    b = fc.bias.detach().double().numpy()
    if bn is not None:
        scale, shift = bn_scale_shift(bn)
        w, b = w * scale[:, None], b * scale + shift
    return np.ascontiguousarray(w.T).astype(np.float32), b.astype(np.float32)


def _padding_attr(name: str, conv: nn.Conv2d) -> dict:
    kh, kw = conv.kernel_size
    stride, pad = conv.stride[0], conv.padding[0]
    if conv.stride[0] != conv.stride[1] or kh != kw or conv.padding[0] != conv.padding[1] or conv.dilation != (1, 1):
        raise ValueError(f"{name}: only square kernels, strides and paddings are exported")
    if pad == 0:
        return {"padding": _a_str("VALID")}
    if stride == 1 and 2 * pad == kh - 1:
        return {"padding": _a_str("SAME")}  # symmetric at stride 1: identical to PyTorch's padding
    return {"padding": _a_str("EXPLICIT"), "explicit_paddings": _a_ints([0, 0, pad, pad, pad, pad, 0, 0])}


def conv_op(g: GraphBuilder, name: str, x: str, conv: nn.Conv2d, bn: nn.BatchNorm2d | None, act: str | None,
            weights: tuple[str, str] | None = None) -> str:
    """conv (+ folded BN) + bias (+ Relu/Relu6) as one fused node. `weights` reuses the filter and bias
    Const nodes of an earlier call (a module applied more than once)."""
    stride = conv.stride[0]
    attr = {
        **_T,
        "strides": _a_ints([1, stride, stride, 1]),
        "dilations": _a_ints([1, 1, 1, 1]),
        "data_format": _a_str("NHWC"),
        "num_args": _a_int(1),
        "fused_ops": _a_strs(["BiasAdd", act] if act else ["BiasAdd"]),
        "epsilon": _a_float(0.0),
        **_padding_attr(name, conv),
    }
    if weights is None:
        w, b = fold_conv(conv, bn)
        # Backbone weights stop at float16 even when uint8 is asked for: tfjs's uint8 is one affine range
        # per tensor, folded depthwise filters have channels hundreds of times larger than their median,
        # and even the 1x1 convs' 2-4% uint8 error compounds over ~50 layers (stage-1 cosine to PyTorch
        # 0.87 measured on a trained checkpoint). uint8 goes to the heads' FC matrices (half the bytes).
        weights = (g.const(f"{name}/filter", w, "float16"), g.const(f"{name}/bias", b, "float16"))
    inputs = [x, *weights]
    if conv.groups == 1:
        attr["use_cudnn_on_gpu"] = _a_bool(True)
        return g.op(name, "_FusedConv2D", inputs, attr)
    if conv.groups != conv.in_channels or conv.out_channels != conv.in_channels:
        raise ValueError(f"{name}: grouped convs other than depthwise are not exported")
    return g.op(name, "FusedDepthwiseConv2dNative", inputs, attr)


def plain_conv_op(g: GraphBuilder, name: str, x: str, conv: nn.Conv2d) -> str:
    """A dense conv with neither bias nor activation (tfjs's fused conv wants a BiasAdd)."""
    if conv.groups != 1 or conv.bias is not None:
        raise ValueError(f"{name}: expected a dense conv without bias")
    w, _ = fold_conv(conv, None)
    attr = {**_T, "strides": _a_ints([1, conv.stride[0], conv.stride[0], 1]), "dilations": _a_ints([1, 1, 1, 1]),
            "data_format": _a_str("NHWC"), "use_cudnn_on_gpu": _a_bool(True), **_padding_attr(name, conv)}
    return g.op(name, "Conv2D", [x, g.const(f"{name}/filter", w, "float16")], attr)


def relu(g: GraphBuilder, name: str, x: str) -> str:
    return g.op(name, "Relu", [x], dict(_T))


def add(g: GraphBuilder, name: str, inputs: list[str]) -> str:
    if len(inputs) == 2:
        return g.op(name, "AddV2", inputs, dict(_T))
    return g.op(name, "AddN", inputs, {**_T, "N": _a_int(len(inputs))})


def pool_op(g: GraphBuilder, name: str, x: str, op: str, kernel: int, stride: int) -> str:
    return g.op(name, op, [x], {**_T, "ksize": _a_ints([1, kernel, kernel, 1]), "strides": _a_ints([1, stride, stride, 1]),
                                "padding": _a_str("VALID"), "data_format": _a_str("NHWC")})


def maxpool_after_relu(g: GraphBuilder, name: str, x: str, pool: nn.MaxPool2d) -> str:
    """PyTorch's symmetric padding, which TF's MaxPool cannot express: its input is a ReLU's output
    (>= 0), so zero padding is as neutral as -inf, and Pad + VALID reproduces the sampling grid."""
    k, s, p = pool.kernel_size, pool.stride, pool.padding
    if not (isinstance(k, int) and isinstance(s, int) and isinstance(p, int)) or pool.dilation != 1 or pool.ceil_mode:
        raise ValueError(f"{name}: unsupported max pool {pool}")
    padded = g.op(f"{name}/pad", "Pad", [x, g.const(f"{name}/paddings", np.array([[0, 0], [p, p], [p, p], [0, 0]], np.int32), None)],
                  {**_T, "Tpaddings": _a_type("DT_INT32")})
    return pool_op(g, name, padded, "MaxPool", k, s)
