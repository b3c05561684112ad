"""TF graph emitters for the OSNet and ResNet-50 backbones, node for node mirrors of their
forward_stage. Each stage's last node is named by the caller (`stage{s}/features`), so the engine can
feed it back to run the next stage alone."""
from __future__ import annotations

import numpy as np
from torch import nn

from .osnet import ChannelGate, LightConv3x3, LowRankConv, OSBlock, OSNetStages
from .resnet import ResNet50Stages
from .tfgraph import _T, GraphBuilder, _a_bool, _a_type, add, conv_op, maxpool_after_relu, plain_conv_op, pool_op, relu


def normalise_per_channel(g: GraphBuilder, image: str, mean: np.ndarray, std: np.ndarray) -> str:
    """(x - mean) / std as x * (1/std) + (-mean/std), per RGB channel, constants kept exact."""
    scale = (1.0 / std).astype(np.float32)
    shift = (-mean / std).astype(np.float32)
    scaled = g.op("preprocess/scale", "Mul", [image, g.const("preprocess/scale/y", scale, None)], dict(_T))
    return g.op("preprocess/normalised", "AddV2", [scaled, g.const("preprocess/normalised/y", shift, None)], dict(_T))


# --- OSNet ------------------------------------------------------------------------------------------


def _gate(g: GraphBuilder, name: str, x: str, gate: ChannelGate, consts: dict[str, tuple[str, str]]) -> str:
    """ChannelGate; its FC weights are one set of Const nodes shared by the block's four streams."""
    axes = g.const(f"{name}/pool/axes", np.array([1, 2], np.int32), None)
    pooled = g.op(f"{name}/pool", "Mean", [x, axes], {**_T, "keep_dims": _a_bool(True), "Tidx": _a_type("DT_INT32")})
    z = conv_op(g, f"{name}/fc1", pooled, gate.fc1, None, "Relu", consts.get("fc1"))
    z = conv_op(g, f"{name}/fc2", z, gate.fc2, None, None, consts.get("fc2"))
    if "fc1" not in consts:
        p = g.prefix  # the Const nodes' full names, for the streams that reuse them
        consts["fc1"] = (f"{p}{name}/fc1/filter", f"{p}{name}/fc1/bias")
        consts["fc2"] = (f"{p}{name}/fc2/filter", f"{p}{name}/fc2/bias")
    weights = g.op(f"{name}/sigmoid", "Sigmoid", [z], dict(_T))
    return g.op(f"{name}/scaled", "Mul", [x, weights], dict(_T))


def _instance_norm_relu(g: GraphBuilder, name: str, x: str, norm: nn.InstanceNorm2d | None, out: str) -> str:
    """ReLU(IN(x)) (or ReLU(x) without one): per image and channel, (x - mean) * (weight / sqrt(var + eps)) + bias
    over the spatial axes, the biased variance as PyTorch's."""
    if norm is None:
        return relu(g, out, x)
    axes = g.const(f"{name}/axes", np.array([1, 2], np.int32), None)
    mean_attr = {**_T, "keep_dims": _a_bool(True), "Tidx": _a_type("DT_INT32")}
    mean = g.op(f"{name}/mean", "Mean", [x, axes], mean_attr)
    var = g.op(f"{name}/variance", "Mean", [g.op(f"{name}/squared", "SquaredDifference", [x, mean], dict(_T)), axes], mean_attr)
    eps = g.const(f"{name}/epsilon", np.array(norm.eps, np.float32), None)
    inv = g.op(f"{name}/rsqrt", "Rsqrt", [g.op(f"{name}/var_eps", "AddV2", [var, eps], dict(_T))], dict(_T))
    weight = g.const(f"{name}/weight", norm.weight.detach().numpy().astype(np.float32), None)
    bias = g.const(f"{name}/bias", norm.bias.detach().numpy().astype(np.float32), None)
    scale = g.op(f"{name}/scale", "Mul", [inv, weight], dict(_T))
    centred = g.op(f"{name}/centred", "Sub", [x, mean], dict(_T))
    normed = g.op(f"{name}/scaled", "Mul", [centred, scale], dict(_T))
    return relu(g, out, g.op(f"{name}/shifted", "AddV2", [normed, bias], dict(_T)))


def _light(g: GraphBuilder, name: str, x: str, lc: LightConv3x3) -> str:
    h = plain_conv_op(g, f"{name}/conv1", x, lc.conv1)
    return conv_op(g, f"{name}/conv2", h, lc.conv2, lc.bn, "Relu")


def _os_block(g: GraphBuilder, p: str, x: str, block: OSBlock, out: str | None = None) -> str:
    x1 = conv_op(g, f"{p}/conv1", x, block.conv1.conv, block.conv1.bn, "Relu")
    gate_consts: dict[str, tuple[str, str]] = {}
    streams = []
    for letter, stream in zip("abcd", block.streams()):
        lights = [stream] if isinstance(stream, LightConv3x3) else list(stream)
        h = x1
        for i, lc in enumerate(lights):
            h = _light(g, f"{p}/conv2{letter}.{i}", h, lc)
        streams.append(_gate(g, f"{p}/gate{letter}", h, block.gate, gate_consts))
    x2 = add(g, f"{p}/streams", streams)
    x3 = conv_op(g, f"{p}/conv3", x2, block.conv3.conv, block.conv3.bn, None)
    identity = conv_op(g, f"{p}/downsample", x, block.downsample.conv, block.downsample.bn, None) if block.downsample is not None else x
    return _instance_norm_relu(g, f"{p}/instance_norm", add(g, f"{p}/add", [x3, identity]), block.instance_norm, out or f"{p}/out")


def _transition(g: GraphBuilder, p: str, x: str, transition: nn.Sequential) -> str:
    conv1x1, avgpool = transition[0], transition[1]
    if avgpool.kernel_size != 2 or avgpool.stride != 2 or avgpool.padding != 0:
        raise ValueError(f"{p}: unexpected pool {avgpool}")
    h = conv_op(g, f"{p}/conv", x, conv1x1.conv, conv1x1.bn, "Relu")
    # 2x2 / 2 windows never overlap the border on the even sizes the stages produce: VALID is exact.
    return pool_op(g, f"{p}/pool", h, "AvgPool", 2, 2)


def osnet_stage(g: GraphBuilder, net: OSNetStages, stage: int, x: str, out: str) -> str:
    """Mirror of OSNetStages.forward_stage."""
    if stage == 1:
        stem = net.conv1.conv
        if isinstance(stem, LowRankConv):  # its k x k conv into `rank` channels, then the 1x1 conv carrying the BN
            x = plain_conv_op(g, "conv1/reduce", x, stem[0])
            stem = stem[1]
        if net.conv1.instance_norm is None:
            x = conv_op(g, "conv1", x, stem, net.conv1.bn, "Relu")
        else:
            x = _instance_norm_relu(g, "conv1/instance_norm", conv_op(g, "conv1", x, stem, net.conv1.bn, None), net.conv1.instance_norm, "conv1/relu")
        x = maxpool_after_relu(g, "maxpool", x, net.maxpool)
        x = _os_block(g, "conv2.0", x, net.conv2[0])
        return _os_block(g, "conv2.1", x, net.conv2[1], out)
    if stage in (2, 3):
        previous, layer = (net.conv2, net.conv3) if stage == 2 else (net.conv3, net.conv4)
        x = _transition(g, f"conv{stage}.2", x, previous[2])
        x = _os_block(g, f"conv{stage + 1}.0", x, layer[0])
        return _os_block(g, f"conv{stage + 1}.1", x, layer[1], out)
    return conv_op(g, out, x, net.conv5.conv, net.conv5.bn, "Relu")


# --- ResNet-50 --------------------------------------------------------------------------------------


def _bottleneck(g: GraphBuilder, p: str, x: str, block: nn.Module, out: str | None) -> str:
    h = conv_op(g, f"{p}/conv1", x, block.conv1, block.bn1, "Relu")
    h = conv_op(g, f"{p}/conv2", h, block.conv2, block.bn2, "Relu")
    h = conv_op(g, f"{p}/conv3", h, block.conv3, block.bn3, None)
    identity = conv_op(g, f"{p}/downsample", x, block.downsample[0], block.downsample[1], None) if block.downsample is not None else x
    return relu(g, out or f"{p}/out", add(g, f"{p}/add", [h, identity]))


def resnet_stage(g: GraphBuilder, net: ResNet50Stages, stage: int, x: str, out: str) -> str:
    """Mirror of ResNet50Stages.forward_stage."""
    if stage == 1:
        x = conv_op(g, "conv1", x, net.conv1, net.bn1, "Relu")
        x = maxpool_after_relu(g, "maxpool", x, net.maxpool)
    layer = (net.layer1, net.layer2, net.layer3, net.layer4)[stage - 1]
    for i, block in enumerate(layer):
        x = _bottleneck(g, f"layer{stage}.{i}", x, block, out if i == len(layer) - 1 else None)
    return x

