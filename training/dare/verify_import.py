"""Check that the ImageNet MobileNetV2 weights read from TFLite really are ImageNet weights.

    python3 -m dare.verify_import [--images 200]

Runs the imported backbone + the TFLite logits layer on Market-1501 person crops at 224x224 and prints
the most frequent ImageNet top-1 classes: a correct import names clothing (jersey, suit, jean...), a
broken one (wrong layout, wrong dequantisation) gives noise spread over unrelated classes.
"""
from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch
from torchvision.models._meta import _IMAGENET_CATEGORIES

from .data import load_images, market_root, read_split
from .mobilenetv2 import MobileNetV2Stages, imagenet_classifier, load_imagenet_weights, load_tflite_tensors
from .model import Dare
from .train import DEFAULT_WEIGHTS

# ImageNet-1k classes a person crop is expected to show (garments and worn items).
CLOTHING = {
    "jersey", "suit", "jean", "miniskirt", "sweatshirt", "trench coat", "cardigan", "lab coat", "abaya",
    "kimono", "overskirt", "hoopskirt", "sarong", "poncho", "fur coat", "military uniform", "pajama",
    "academic gown", "cloak", "stole", "bulletproof vest", "swimming trunks", "maillot", "bikini", "brassiere",
    "apron", "backpack", "mailbag", "purse", "running shoe", "sandal", "cowboy boot", "Loafer", "sock",
    "umbrella", "wool", "vestment", "gown", "bow tie", "Windsor tie", "T-shirt", "crutch", "shopping basket",
}


def top1_classes(images: np.ndarray, weights: str) -> list[str]:
    tensors = load_tflite_tensors(weights)
    net = MobileNetV2Stages()
    x = Dare.normalise(torch.from_numpy(images).permute(0, 3, 1, 2).float())
    load_imagenet_weights(net, tensors, x[:64])
    classifier = imagenet_classifier(tensors)
    net.eval()
    with torch.no_grad():
        h = x
        for s in range(1, 5):
            h = net.forward_stage(s, h)
        logits = classifier(h.mean(dim=(2, 3), keepdim=True)).flatten(1)
    # Index 0 of the 1001-way TFLite classifier is "background".
    return [_IMAGENET_CATEGORIES[i - 1] if i > 0 else "background" for i in logits.argmax(1).tolist()]


def clothing_fraction(classes: list[str]) -> float:
    return sum(c in CLOTHING for c in classes) / len(classes)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    args = ap.parse_args(argv)
    samples = read_split(market_root(), "bounding_box_train")[:: max(1, 12936 // args.images)][: args.images]
    # Letterboxed, not stretched: a 2:1 pedestrian squashed into a square is not an ImageNet photo.
    canvas = np.full((len(samples), 224, 224, 3), 128, np.uint8)
    canvas[:, :, 56:168] = load_images(samples, 224, 112)
    classes = top1_classes(canvas, args.weights)
    for name, n in Counter(classes).most_common(10):
        print(f"{n:4d}  {name}")
    print(f"clothing among top-1: {clothing_fraction(classes):.0%} of {len(classes)} person crops "
          f"(chance: {len(CLOTHING) / 1000:.0%})")


if __name__ == "__main__":
    main()
