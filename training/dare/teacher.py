"""The frozen MSMT17 network (OSNet x0.25 + its own 512-d FC head, ../shared/weights/osnet_x0_25_msmt17.onnx):
the distillation target that keeps what the initialisation knows about people seen by other cameras.

Its embeddings of the training images are computed once (no augmentation, mirror-averaged, 256x128) and
cached: the relational distillation loss only needs the teacher's view of who resembles whom.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .osnet import DEFAULT_ONNX, OSNetStages, load_msmt17_weights, read_onnx_convs
from .model import widen_to_stripes

TEACHER_DIM = 512
TEACHER_SIZE = (256, 128)


class MSMT17Teacher(nn.Module):
    """relu(BN(fc(GAP(conv5)))) exactly as the ONNX file computes it (tests/test_osnet.py checks the import).

    Any torchreid OSNet x0.25 re-ID export loads: the MSMT17 file has its BatchNorms folded into the convs
    (re-created from `calibration`), the Market-trained peer's keeps them as initialisers named like the
    modules, which load as they are."""

    def __init__(self, onnx_path: Path = DEFAULT_ONNX, calibration: torch.Tensor | None = None) -> None:
        import onnx
        from onnx import numpy_helper

        super().__init__()
        self.net = OSNetStages()
        init = {t.name: numpy_helper.to_array(t).copy() for t in onnx.load(str(onnx_path)).graph.initializer}
        own = self.net.state_dict()
        if all(k in init for k in own if not k.endswith("num_batches_tracked")):
            self.net.load_state_dict({k: torch.from_numpy(v) for k, v in init.items() if k in own}, strict=False)
        else:
            calib = calibration if calibration is not None else torch.rand(16, 3, *TEACHER_SIZE) * 255
            load_msmt17_weights(self.net, read_onnx_convs(onnx_path), calib)
        self.fc, self.bn = nn.Linear(128, TEACHER_DIM), nn.BatchNorm1d(TEACHER_DIM)
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(init["fc.0.weight"]))
            self.fc.bias.copy_(torch.from_numpy(init["fc.0.bias"]))
            for k in ("weight", "bias", "running_mean", "running_var"):
                getattr(self.bn, k).copy_(torch.from_numpy(init[f"fc.1.{k}"]))
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) RGB 0-255 -> (N, 512)."""
        h = self.net.normalise(pixels)
        for s in range(1, 5):
            h = self.net.forward_stage(s, h)
        return torch.relu(self.bn(self.fc(h.mean(dim=(2, 3)))))


@torch.no_grad()
def teacher_embeddings(images: np.ndarray, batch: int = 128, teacher: MSMT17Teacher | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 at any size -> (N, 512) float32, resized to 256x128, mirror-averaged; by `teacher`
    when given (a caller embedding several sets loads the network once), else the MSMT17 network."""
    teacher = teacher if teacher is not None else MSMT17Teacher()
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i : i + batch]).permute(0, 3, 1, 2).float()
        x = nn.functional.interpolate(x, size=TEACHER_SIZE, mode="bilinear", align_corners=False)
        out.append((teacher(x) + teacher(x.flip(-1))).numpy() / 2)
    return np.concatenate(out).astype(np.float32)


def cached_teacher_embeddings(names: list[str], images: np.ndarray, cache_dir: Path) -> np.ndarray:
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(("\n".join(names) + f"|{images.shape}").encode()).hexdigest()[:10]
    path = cache_dir / f"teacher_msmt17_{len(names)}_{key}.npy"
    if path.exists():
        return np.load(path)
    emb = teacher_embeddings(images)
    np.save(path, emb)
    return emb


@torch.no_grad()
def init_head_from_teacher(head: nn.Module, teacher: MSMT17Teacher, embeddings: np.ndarray) -> None:
    """Make a 512-wide EmbeddingHead on a conv5 tap start as the MSMT17 network: fc1 + BN = its FC + BN
    (the ReLU is the head's own; a stripe head's fc1 as its global-pooling equivalent), fc2 = the 128 leading principal axes of its (un-normalised) embeddings
    of the training images, so the head's output keeps as much of the teacher's geometry as 128 values can."""
    head.fc1.weight.copy_(widen_to_stripes(teacher.fc.weight, head.stripes))
    head.fc1.bias.copy_(teacher.fc.bias)
    for k in ("weight", "bias", "running_mean", "running_var"):
        getattr(head.bn, k).copy_(getattr(teacher.bn, k))
    axes, mean = principal_axes(embeddings, head.fc2.out_features)
    head.fc2.weight.copy_(axes.float())
    head.fc2.bias.copy_((-axes @ mean).float())


def principal_axes(embeddings: np.ndarray, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k leading principal axes (k, D) of (N, D) embeddings and their mean (D,), in float64; with fewer
    images than axes the rest stay zero, so a projection on them keeps every distance between the images."""
    x = torch.from_numpy(embeddings).double()
    mean = x.mean(0)
    _, _, v = torch.linalg.svd(x - mean, full_matrices=False)
    axes = torch.zeros(k, x.shape[1], dtype=x.dtype)
    axes[: len(v)] = v[:k]
    return axes, mean
