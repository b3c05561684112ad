"""Resumable parts of each exit of a multi-resolution export (contract format 2, docs/architecture.md).

An exit of a multi-resolution model is a whole backbone: one engine step of 15 ms for OSNet x0.25 at 256x128
on wasm, too long for what a 33 ms webcam frame leaves after the person detector. The graph already names
the backbone's intermediate feature maps, and a TF.js graph model can be fed any node, so listing them as
`stages[k].parts` lets the engine run an exit a part at a time and resume it in a later frame, without
changing the graph, the weights or what `stages[k].embedding` / `.macs` mean.

    python3 -m dare.parts --model ../models/dare-osnet-mr2-long-d3 --model ../models/dare-osnet-mr2-long-d3-fp16

rewrites the metadata of models exported before parts existed (model.json only: the weight shards, and so
the app's modelId, stay as they are); dare.export_tfjs writes parts itself.
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch

from .macs import _count, stage_macs
from .model import from_config
from .multires import DareMR, resize

# The feature maps each OSNet exit is cut at (graph_backbones.osnet_stage names them): after the stem
# (conv1 at full resolution is the costliest layer, ≈ a quarter of the exit), then after each of its first
# three stages. The last part, stage 4 (conv5) and the head, yields the embedding.
PART_TAPS = ("maxpool", "stage1/features", "stage2/features", "stage3/features")


def exit_scope(height: int, width: int) -> str:
    """The name scope of the exit at this resolution in the exported graph."""
    return f"res{height}x{width}/"


@torch.no_grad()
def exit_part_macs(model: DareMR, height: int, width: int) -> list[list[int]]:
    """Per exit, the cumulative multiply-adds (dare.macs's definition, execution order across exits) at the
    end of each part: after each tap of PART_TAPS, then with the embedding (= that exit's stages[k].macs)."""
    macs = stage_macs(model, height, width)
    image = torch.zeros(1, 3, height, width)
    out: list[list[int]] = []
    was_training = model.training
    model.eval()
    try:
        for k, net in enumerate(model.paths):
            x = net.normalise(resize(image, model.resolutions[k]))
            stem, _ = _count(lambda: net.forward_stage(1, x), list(net.conv1.modules()))
            stages, h = [], x
            for s in range(1, 5):
                m, h = _count(lambda: net.forward_stage(s, h), list(net.modules()))
                stages.append(m)
            increments = [stem, stages[0] - stem, stages[1], stages[2], stages[3] + macs.head[k]]
            cumulative = list(itertools.accumulate(increments, initial=macs.cumulative[k - 1] if k else 0))[1:]
            if cumulative[-1] != macs.cumulative[k]:
                raise AssertionError(f"exit {k + 1}: parts add up to {cumulative[-1]} multiply-adds, the exit to {macs.cumulative[k]}")
            out.append(cumulative)
    finally:
        model.train(was_training)
    return out


def parts_metadata(model: DareMR, height: int, width: int) -> list[list[dict]]:
    """stages[k].parts for every exit: each part but the last names the feature map it ends with (the next
    part is fed it; the first is fed the stage's input), and every part its cumulative multiply-adds."""
    parts = []
    for (h, w), macs in zip(model.resolutions, exit_part_macs(model, height, width)):
        scope = exit_scope(h, w)
        parts.append([{"features": scope + tap, "macs": m} for tap, m in zip(PART_TAPS, macs)] + [{"macs": macs[-1]}])
    return parts


def add_parts(model_dir: Path) -> list[list[dict]]:
    """Writes `parts` into an exported format-2 model.json, built from the training config its metadata
    records; refuses a model whose graph lacks a tap or whose stage costs the config does not reproduce."""
    path = model_dir / "model.json"
    if not path.is_file():
        raise SystemExit(f"{model_dir}: no model.json")
    doc = json.loads(path.read_text())
    meta = doc.get("userDefinedMetadata", {})
    dare, config = meta.get("dare"), meta.get("export", {}).get("source", {}).get("config")
    if not dare or dare.get("version") != 2 or not config:
        raise SystemExit(f"{model_dir}: not a multi-resolution export with its training config in the metadata (format 2)")
    model = from_config(config)
    if not isinstance(model, DareMR):
        raise SystemExit(f"{model_dir}: its config does not describe a multi-resolution model")
    parts = parts_metadata(model, dare["input"]["height"], dare["input"]["width"])
    nodes = {n["name"] for n in doc["modelTopology"]["node"]}
    for k, (stage, stage_parts) in enumerate(zip(dare["stages"], parts), 1):
        missing = [p["features"] for p in stage_parts if "features" in p and p["features"] not in nodes]
        if missing:
            raise SystemExit(f"{model_dir}: exit {k}'s graph has no node {missing[0]}")
        if stage_parts[-1]["macs"] != stage["macs"]:
            raise SystemExit(f"{model_dir}: exit {k} costs {stage['macs']} multiply-adds in its metadata, {stage_parts[-1]['macs']} by its config")
        stage["parts"] = stage_parts
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")))
    tmp.replace(path)
    return parts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, action="append", required=True, help="an exported model folder (repeatable)")
    args = ap.parse_args(argv)
    for model_dir in args.model:
        parts = add_parts(model_dir)
        print(f"{model_dir}: parts per exit {[len(p) for p in parts]}, cumulative multiply-adds {[[p['macs'] for p in e] for e in parts]}")


if __name__ == "__main__":
    main()
