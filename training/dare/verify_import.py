"""Check that imported backbone weights really are the weights they claim to be.

    python3 -m dare.verify_import [--images 200]
    python3 -m dare.verify_import --backbone osnet_x0_25 [--queries 500] [--threads 1]

MobileNetV2 (ImageNet, from TFLite): runs the imported backbone + the TFLite logits layer on
Market-1501 person crops at 224x224 and prints the most frequent ImageNet top-1 classes: a correct import
names clothing (jersey, suit, jean...), a broken one (wrong layout, wrong dequantisation) gives noise
spread over unrelated classes.

OSNet x0.25 (MSMT17, from ONNX): zero-shot re-identification on Market-1501, which these weights never
saw. Features are the global average pool of the stage-4 tap (OSNet's own pooled feature, before its
FC), L2-normalised, compared with Euclidean distance; the standard single-query protocol
(dare.metrics.evaluate) on an evenly spaced subset of queries against the full gallery, at 256x128. The
same network with random initialisation is the baseline: a correct import is far above it, a broken one
(a conv given the wrong weights, a wrong BN) falls towards it.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np
import torch
from torch import nn
from torchvision.models._meta import _IMAGENET_CATEGORIES

from .data import Sample, load_images, market_root, read_split
from .evaluate import subsample
from .metrics import Scores, euclidean, evaluate, l2_normalise
from .mobilenetv2 import MobileNetV2Stages, imagenet_classifier, load_imagenet_weights, load_tflite_tensors
from .osnet import OSNetStages, load_msmt17_weights, read_onnx_convs
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
    x = MobileNetV2Stages.normalise(torch.from_numpy(images).permute(0, 3, 1, 2).float())
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


@torch.no_grad()
def pooled_features(net: nn.Module, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, C) L2-normalised global average pool of the stage-4 tap, from NHWC uint8 RGB images."""
    net.eval()
    out = []
    for i in range(0, len(images), batch):
        x = net.normalise(torch.from_numpy(images[i : i + batch]).permute(0, 3, 1, 2).float())
        for s in range(1, 5):
            x = net.forward_stage(s, x)
        out.append(x.mean(dim=(2, 3)).numpy())
    return l2_normalise(np.concatenate(out))


def zero_shot_scores(nets: dict[str, nn.Module], queries: list[Sample], gallery: list[Sample], height: int, width: int,
                     chunk: int = 512, progress: bool = False) -> dict[str, Scores]:
    """Market-1501 protocol scores of each backbone's pooled stage-4 feature (each image decoded once)."""
    samples = queries + gallery
    feats: dict[str, list[np.ndarray]] = {name: [] for name in nets}
    t0 = time.time()
    for i in range(0, len(samples), chunk):
        images = load_images(samples[i : i + chunk], height, width)
        for name, net in nets.items():
            feats[name].append(pooled_features(net, images))
        if progress:
            done = min(i + chunk, len(samples))
            print(f"  {done}/{len(samples)} images embedded ({time.time() - t0:.0f} s)", flush=True)
    q_ids = np.array([s.person for s in queries]); q_cams = np.array([s.camera for s in queries])
    g_ids = np.array([s.person for s in gallery]); g_cams = np.array([s.camera for s in gallery])
    scores = {}
    for name, parts in feats.items():
        f = np.concatenate(parts)
        scores[name] = evaluate(euclidean(f[: len(queries)], f[len(queries) :]), q_ids, q_cams, g_ids, g_cams)
    return scores


def msmt17_osnet(weights: str, calibration: np.ndarray) -> OSNetStages:
    """OSNet x0.25 with the MSMT17 ONNX weights; BN calibrated on `calibration` (NHWC uint8), which leaves
    the eval-mode function exactly the ONNX model's whatever the images."""
    net = OSNetStages()
    load_msmt17_weights(net, read_onnx_convs(weights), torch.from_numpy(calibration).permute(0, 3, 1, 2).float())
    return net.eval()


def verify_mobilenetv2(args: argparse.Namespace) -> None:
    samples = read_split(market_root(), "bounding_box_train")[:: max(1, 12936 // args.images)][: args.images]
    # Letterboxed, not stretched: a 2:1 pedestrian squashed into a square is not an ImageNet photo.
    canvas = np.full((len(samples), 224, 224, 3), 128, np.uint8)
    canvas[:, :, 56:168] = load_images(samples, 224, 112)
    classes = top1_classes(canvas, args.weights or DEFAULT_WEIGHTS["mobilenetv2"])
    for name, n in Counter(classes).most_common(10):
        print(f"{n:4d}  {name}")
    print(f"clothing among top-1: {clothing_fraction(classes):.0%} of {len(classes)} person crops "
          f"(chance: {len(CLOTHING) / 1000:.0%})")


def verify_osnet(args: argparse.Namespace) -> None:
    root = market_root()
    weights = args.weights or DEFAULT_WEIGHTS["osnet_x0_25"]
    train = read_split(root, "bounding_box_train")
    calibration = load_images(train[:: len(train) // 64][:64], args.height, args.width)
    torch.manual_seed(args.seed)
    nets = {"MSMT17 import": msmt17_osnet(weights, calibration), "random init": OSNetStages().eval()}
    queries = subsample(read_split(root, "query"), args.queries)
    gallery = read_split(root, "bounding_box_test")
    print(f"zero-shot Market-1501, OSNet x0.25 stage-4 GAP ({nets['random init'].tap_channels[3]}-d, L2, Euclidean), "
          f"{len(queries)} queries x {len(gallery)} gallery at {args.height}x{args.width}; weights {weights}", flush=True)
    t0 = time.time()
    scores = zero_shot_scores(nets, queries, gallery, args.height, args.width, progress=True)
    print(f"{'backbone':<14} {'rank-1':>7} {'rank-5':>7} {'rank-10':>7} {'mAP':>7}   ({time.time() - t0:.0f} s)")
    for name, s in scores.items():
        print(f"{name:<14} {100 * s.rank1:7.2f} {100 * s.rank5:7.2f} {100 * s.rank10:7.2f} {100 * s.mAP:7.2f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbone", choices=("mobilenetv2", "osnet_x0_25"), default="mobilenetv2")
    ap.add_argument("--weights", default=None, help="the file to check (default: the backbone's file in ../shared/weights)")
    ap.add_argument("--images", type=int, default=200, help="mobilenetv2: number of person crops")
    ap.add_argument("--queries", type=int, default=500, help="osnet_x0_25: evenly spaced queries (0: all 3368)")
    ap.add_argument("--height", type=int, default=256, help="osnet_x0_25: input height")
    ap.add_argument("--width", type=int, default=128, help="osnet_x0_25: input width")
    ap.add_argument("--seed", type=int, default=0, help="osnet_x0_25: seed of the random-init baseline")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.backbone == "mobilenetv2":
        verify_mobilenetv2(args)
    else:
        verify_osnet(args)


if __name__ == "__main__":
    main()
