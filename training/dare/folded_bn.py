"""Re-creating BatchNorm layers for weights whose BN was folded into the convs (the TFLite MobileNetV2
and the ONNX OSNet both ship that way)."""
from __future__ import annotations

import torch
from torch import nn


def restore_batchnorms(net: nn.Module, folded_bias: dict[nn.BatchNorm2d, torch.Tensor], normalised_images: torch.Tensor) -> None:
    """Give each BN the statistics its input has on `normalised_images` (run through the four stages),
    with weight = std and bias = mean + the folded bias, so that in train and eval mode alike
    BN(conv(x)) == conv(x) + folded_bias on that batch: the pretrained function is kept while BN can
    still adapt during fine-tuning. The convs must already hold the folded weights."""

    def calibrate(bn: nn.Module, inputs: tuple[torch.Tensor]) -> None:
        x = inputs[0]
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.data.copy_(torch.sqrt(var + bn.eps))
        bn.bias.data.copy_(mean + folded_bias[bn])

    handles = [bn.register_forward_pre_hook(calibrate) for bn in folded_bias]
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            x = normalised_images
            for s in range(1, 5):
                x = net.forward_stage(s, x)
    finally:
        for h in handles:
            h.remove()
        net.train(was_training)
