"""Compare an exported TF.js model with the PyTorch checkpoint it came from, on real images.

    python3 -m dare.tfjs_parity --checkpoint ../runs/osnet-256x128/final.pt --model ../models/dare-osnet [--n 16] [--backend wasm]

Runs training/parity/run_model.mjs (TF.js in Node, no tfjs-node) in one call and stage by stage, and
prints the minimum cosine similarity to PyTorch per stage. Exits non-zero when an unquantised export
falls below 0.9999 or staged and monolithic runs disagree.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .data import DEFAULT_ROOT, ROOT_ENV
from .export_tfjs import load_checkpoint
from .model import EMBED_DIM, exit_names

REPO = Path(__file__).resolve().parents[2]
RUN_MODEL = REPO / "training" / "parity" / "run_model.mjs"
FP32_MIN_COSINE = 0.9999


def sample_images(n: int, height: int, width: int) -> tuple[np.ndarray, str]:
    """N×H×W×3 float32 RGB 0-255 integers: evenly spaced Market-1501 queries resized to the model size
    (bilinear, as the eval does), or random pixels when the data set is absent. Also says which."""
    root = Path(os.environ.get(ROOT_ENV, DEFAULT_ROOT)) / "query"
    files = sorted(root.glob("*.jpg")) if root.is_dir() else []
    if len(files) >= n:
        picked = files[:: len(files) // n][:n]
        pixels = [np.asarray(Image.open(f).convert("RGB").resize((width, height), Image.BILINEAR)) for f in picked]
        return np.stack(pixels).astype(np.float32), f"{n} Market-1501 queries"
    return np.random.default_rng(0).integers(0, 256, (n, height, width, 3)).astype(np.float32), f"{n} random images"


@torch.no_grad()
def torch_embeddings(model: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """N×E×128 (every exit, then fused) from NHWC 0-255 images, eval mode."""
    out = model.eval()(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())
    return np.stack([e.numpy() for e in out.stages + [out.fused]], axis=1)


def tfjs_embeddings(model_dir: Path, images: np.ndarray, backend: str = "wasm", timeout: float = 600) -> tuple[np.ndarray, np.ndarray]:
    """(monolithic, staged), each N×E×128, from the exported model run by TF.js in Node."""
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "images.f32", Path(tmp) / "out.f32"
        inp.write_bytes(images.astype("<f4").tobytes())
        proc = subprocess.run(["node", str(RUN_MODEL), str(Path(model_dir).resolve()), str(inp), str(out), "--backend", backend],
                              capture_output=True, text=True, timeout=timeout, cwd=REPO)
        if proc.returncode != 0:
            raise RuntimeError(f"run_model.mjs failed:\n{proc.stderr}")
        both = np.fromfile(out, "<f4").reshape(2, len(images), -1, EMBED_DIM)
    return both[0], both[1]


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True, help="exported model directory")
    ap.add_argument("--n", type=int, default=16, help="number of images")
    ap.add_argument("--backend", default="wasm", choices=["wasm", "cpu", "webgpu"])
    args = ap.parse_args(argv)

    model, ckpt = load_checkpoint(args.checkpoint)
    exported = json.loads((args.model / "model.json").read_text())["userDefinedMetadata"]
    meta = exported["dare"]
    images, what = sample_images(args.n, meta["input"]["height"], meta["input"]["width"])
    reference = torch_embeddings(model, images)
    monolithic, staged = tfjs_embeddings(args.model, images, args.backend)
    quantised = exported["export"]["quantization"] != "none"
    print(f"{args.model} ({exported['export']['quantization']}) vs {args.checkpoint.name}, {what}, backend {args.backend}")
    ok = True
    for label, emb in (("monolithic", monolithic), ("staged", staged)):
        cos = cosine(emb, reference).min(0)
        print(f"  {label:10s} min cosine: " + "  ".join(f"{n} {c:.7f}" for n, c in zip(exit_names(ckpt["config"]), cos)))
        ok &= quantised or bool(cos.min() >= FP32_MIN_COSINE)
    gap = float(np.abs(staged - monolithic).max())
    print(f"  staged vs monolithic max |diff|: {gap:.3g}")
    ok &= gap <= 1e-6 * float(np.abs(monolithic).max())
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
