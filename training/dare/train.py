"""Train a DaRe model on Market-1501.

    python3 -m dare.train --backbone osnet_x0_25 --out ../runs/osnet-256x128 --iterations 3000 --threads 2

Resumable: re-running the same command continues from runs/<name>/checkpoint.pt. On another machine,
`--resume checkpoints/NAME.resume.fp16.pt` (written by `dare.compact --resumable`) continues the same run
and lr schedule from a few-MB copy without the optimizer's moments. Each epoch (one pass over the
identities) appends a line to runs/<name>/log.jsonl with the loss and the fraction of violated hardest
triplets per stage, and the wall time so far.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from torch.optim.swa_utils import AveragedModel

from .data import AugmentConfig, PKSampler, augment, cached_images, market_root, photometric, stored_size, train_samples
from .loss import batch_hard_soft_margin, label_smoothed_ce, relational_distillation, self_distillation
from .backbones import BACKBONES
from .compact import RUN_STATE
from .mobilenetv2 import load_imagenet_weights, load_tflite_tensors
from .model import EMBED_DIM, Dare, exit_count, exit_names, from_config, widen_to_stripes
from .multires import resize
from .probe import exit_features, fit_classifiers
from .proxy import proxy_train_samples
from .mixstyle import MixStyle
from .teacher import MSMT17Teacher, cached_teacher_embeddings, init_head_from_teacher
from .osnet import load_msmt17_weights, read_onnx_convs
from .resnet import load_torchvision_weights

SHARED_WEIGHTS = Path(__file__).resolve().parents[2].parent / "shared" / "weights"
# What each backbone starts from when --weights is not given ("" = from scratch).
DEFAULT_WEIGHTS = {
    "mobilenetv2": str(SHARED_WEIGHTS / "mobilenet_v2_1.0_224_quant.tflite"),
    "osnet_x0_25": str(SHARED_WEIGHTS / "osnet_x0_25_msmt17.onnx"),
    "resnet50": "",
}


@dataclass
class TrainConfig:
    height: int = 256
    width: int = 128
    iterations: int = 25000
    decay_start: float = 0.5  # fraction of iterations after which lr decays exponentially
    lr: float = 3e-4
    final_lr_factor: float = 1e-3
    p: int = 18
    k: int = 4
    seed: int = 0
    weights: str = DEFAULT_WEIGHTS["mobilenetv2"]
    backbone: str = "mobilenetv2"
    split: str = "all"  # "proxy": the cross-camera proxy's training part only (dare/proxy.py)
    bnneck: bool = False
    id_loss: float = 0.0  # weight of the label-smoothed identity loss (needs bnneck)
    distill: float = 0.0  # weight of relational distillation from the frozen MSMT17 network
    self_distill: float = 0.0  # weight of relational distillation from the last exit (detached) into the earlier ones
    backbone_lr: float = 1.0  # the backbone's lr as a fraction of lr
    freeze_stem: bool = False
    erase_p: float = 0.5
    photometric: bool = False
    photometric_p: float = 1.0  # with photometric: the share of images re-rendered (the rest as shot)
    warmup: int = 0  # iterations of linear lr warm-up
    teacher_head: bool = False  # the last head (every head across resolutions) starts as the MSMT17 FC (teacher.py)
    resolutions: list[list[int]] | None = None  # one backbone per exit at these sizes (dare/multires.py); height x width = the last
    exit_stripes: list[int] | None = None  # with resolutions: horizontal stripes each exit's head pools (None: 1 each, global)
    probe_epochs: int = 0  # --init with the identity loss: classifiers first fitted on the frozen model's features (dare/probe.py)
    probe_views: int = 3  # augmented views of each training image those features are computed on
    ema: float = 0.0  # decay of an exponential moving average of the weights and BN statistics, saved as ema.pt (0: off)
    frozen_exits: list[int] | None = None  # with resolutions and --init: exits (1-based) kept exactly as loaded
    stem_ranks: list[int] | None = None  # with resolutions: each exit's stem rank (0: the full 7x7 conv), from --init (dare.factorise_stem)
    ibn: bool = False  # with resolutions (OSNet): OSNet-IBN's instance norms in every exit's backbone (osnet.OSNetStages)
    gem: bool = False  # with resolutions: every exit's head pools by a generalised mean with a learned exponent (model.gem_pool)
    mixstyle: float = 0.0  # with resolutions: each MixStyle place's chance per batch of mixing its feature statistics (dare/mixstyle.py; 0: off)


def parse_stripes(text: str) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise SystemExit(f"--exit-stripes {text!r}: expected one whole number per exit, e.g. 4,5")


def parse_frozen_exits(text: str) -> list[int] | None:
    if not text:
        return None
    try:
        return sorted({int(v) for v in text.split(",")})
    except ValueError:
        raise SystemExit(f"--freeze-exits {text!r}: expected exit numbers counted from 1, e.g. 2")


def check_frozen_exits(cfg: TrainConfig, has_init: bool) -> None:
    """Refused at once: freezing needs separate exits (--resolutions), trained weights to keep (--init or a
    resumed run), and at least one exit left to train."""
    if not cfg.frozen_exits:
        return
    exits = len(cfg.resolutions or [])
    named = ",".join(map(str, cfg.frozen_exits))
    if not exits:
        raise SystemExit(f"--freeze-exits {named}: needs --resolutions (only separate exits can be kept apart)")
    if not has_init:
        raise SystemExit(f"--freeze-exits {named}: needs --init (the frozen exits keep the checkpoint's trained weights)")
    if min(cfg.frozen_exits) < 1 or max(cfg.frozen_exits) > exits:
        raise SystemExit(f"--freeze-exits {named}: this model has exits 1 to {exits}")
    if len(cfg.frozen_exits) == exits:
        raise SystemExit(f"--freeze-exits {named}: every exit frozen leaves nothing to train")


def exit_modules(model: torch.nn.Module, k: int) -> list[torch.nn.Module]:
    """Everything exit k (from 1) owns in a multi-resolution model: its backbone, head and neck."""
    return [model.paths[k - 1], model.heads[k - 1]] + ([model.necks[k - 1]] if model.necks is not None else [])


def freeze_exits(model: torch.nn.Module, exits: list[int] | None) -> None:
    """Exits kept exactly as loaded: no gradient (so no backward pass through them, the cost of a frozen
    last exit is its forward pass alone) and BatchNorm in eval mode (its statistics stay). Idempotent;
    called again after model.train(), which would put them back in training mode."""
    for k in exits or []:
        for part in exit_modules(model, k):
            part.requires_grad_(False)
            part.eval()


def copy_frozen_exits(average: torch.nn.Module, model: torch.nn.Module, exits: list[int] | None) -> None:
    """The weight average of a frozen exit is its loaded weights, but decay·w + (1 − decay)·w rounds a few
    ulps away from w: copied back, so a frozen exit is bit for bit the one loaded in every snapshot."""
    for k in exits or []:
        for target, source in zip(exit_modules(average, k), exit_modules(model, k)):
            target.load_state_dict(source.state_dict())


def parse_resolutions(text: str) -> list[list[int]] | None:
    if not text:
        return None
    try:
        return [[int(v) for v in part.split("x")] for part in text.split(",")]
    except ValueError:
        raise SystemExit(f"--resolutions {text!r}: expected HxW,HxW,... (e.g. 96x48,128x64,224x112)")


def decay_fraction(value: float) -> float:
    """--decay-start: where the decay begins, as a fraction of the run; refused at once outside [0, 1)."""
    if not 0 <= value < 1:
        raise SystemExit(f"--decay-start {value}: expected a fraction in [0, 1) (0.5: half the run at constant lr; 0: decay from the start)")
    return value


def photometric_share(value: float, enabled: bool) -> float:
    """--photometric-p: the share of images re-rendered; refused at once outside (0, 1] or without --photometric."""
    if not 0 < value <= 1:
        raise SystemExit(f"--photometric-p {value}: expected a share in (0, 1] (1: every image re-rendered)")
    if value < 1 and not enabled:
        raise SystemExit(f"--photometric-p {value}: needs --photometric")
    return value


def ema_decay(value: float) -> float:
    """--ema: the weight average's decay per iteration; refused at once outside (0, 1) unless 0 (off)."""
    if value and not 0 < value < 1:
        raise SystemExit(f"--ema {value}: the decay must lie between 0 and 1 (e.g. 0.999), or be 0 for none")
    return value


def learning_rate(cfg: TrainConfig, it: int, rewarm_from: int | None = None) -> float:
    """Constant, then exponential decay to lr * final_lr_factor at the last iteration (Hermans et al.).
    `rewarm_from`: the iteration a run resumed at without its optimizer's moments; a fresh Adam's first steps
    are about lr in every weight whatever the gradient's noise, so the run's warm-up ramp is repeated there."""
    t0 = cfg.decay_start * cfg.iterations
    ramp = 1.0
    for start in (0, rewarm_from):
        if start is not None and start <= it < start + cfg.warmup:
            ramp = 0.1 + 0.9 * (it - start) / cfg.warmup
    if it < t0:
        return cfg.lr * ramp
    return cfg.lr * ramp * cfg.final_lr_factor ** ((it - t0) / max(1.0, cfg.iterations - t0))


def hardware() -> dict[str, str | int]:
    info: dict[str, str | int] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count() or 0,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name(0)
    return info


def load_backbone_weights(backbone: torch.nn.Module, cfg: TrainConfig, calib: torch.Tensor) -> None:
    """From cfg.weights: the ImageNet TFLite file (MobileNetV2), the MSMT17 ONNX file (OSNet), a
    torchvision state dict (ResNet-50). `calib`: RGB 0-255 images at the size this backbone will see."""
    if cfg.backbone == "mobilenetv2":
        load_imagenet_weights(backbone, load_tflite_tensors(cfg.weights), backbone.normalise(calib))
    elif cfg.backbone == "osnet_x0_25":
        load_msmt17_weights(backbone, read_onnx_convs(cfg.weights), calib)
    else:
        load_torchvision_weights(backbone, cfg.weights)


def check_stripes(model: torch.nn.Module, cfg: TrainConfig) -> None:
    """Stripe counts that do not divide an exit's feature map would fail only at the first batch (after the
    data, teacher and probe work): one image through the model says so at once."""
    if not cfg.exit_stripes:
        return
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, cfg.height, cfg.width))
    except ValueError as e:
        rows = [model.features(k, torch.zeros(1, 3, cfg.height, cfg.width)).shape[2] for k in range(model.exits)]
        raise SystemExit(f"--exit-stripes {','.join(map(str, cfg.exit_stripes))}: {e} (the exits' feature maps have {rows} rows)")
    finally:
        model.train()


def build_model(cfg: TrainConfig, calibration_images: np.ndarray) -> torch.nn.Module:
    """DaRe over one backbone's stages, or one backbone per resolution; every backbone starts from
    cfg.weights (or nothing)."""
    model = from_config(asdict(cfg))
    check_stripes(model, cfg)
    if not cfg.weights or any(cfg.stem_ranks or []):
        # a low-rank stem only exists in a checkpoint (dare.factorise_stem), and --init then sets every weight
        return model
    calib = torch.from_numpy(calibration_images).permute(0, 3, 1, 2).float()
    if cfg.resolutions:
        for path, size in zip(model.paths, model.resolutions):
            load_backbone_weights(path, cfg, resize(calib, size))
    else:
        load_backbone_weights(model.backbone, cfg, resize(calib, (cfg.height, cfg.width)))
    return model


class IdentityClassifiers(torch.nn.Module):
    """One bias-free linear classifier per exit (on its BNNeck output): training-only, never exported."""

    def __init__(self, exits: int, dim: int, identities: int) -> None:
        super().__init__()
        self.fcs = torch.nn.ModuleList(torch.nn.Linear(dim, identities, bias=False) for _ in range(exits))


@dataclass(frozen=True)
class StepStats:
    """One iteration's losses: (triplet loss, share of violated triplets) per exit, stages then fused, and
    the unweighted identity, distillation and self-distillation terms (0 when off) beside the weighted total."""
    exits: list[tuple[float, float]]
    identity: float
    distill: float
    self_distill: float
    total: float


def train_step(model: torch.nn.Module, batch: torch.Tensor, labels: torch.Tensor, opt: torch.optim.Optimizer, cfg: TrainConfig,
               classifiers: IdentityClassifiers | None, teacher: torch.Tensor | None) -> StepStats:
    """Per exit (stages, then fused): the triplet loss on the pre-neck embedding, plus the identity loss
    on the neck output and relational distillation towards the teacher's view of the batch."""
    out = model(batch)
    metric = out.raw + [out.fused]
    retrieval = out.stages + [out.fused]
    terms = [batch_hard_soft_margin(e, labels) for e in metric]
    triplet = sum(t[0] for t in terms) / len(terms)
    zero = torch.zeros((), device=batch.device)
    identity = (sum(label_smoothed_ce(fc(e), labels) for fc, e in zip(classifiers.fcs, retrieval)) / len(retrieval)
                if classifiers is not None and cfg.id_loss else zero)
    distill = (sum(relational_distillation(e, teacher) for e in retrieval) / len(retrieval)
               if teacher is not None and cfg.distill else zero)
    self_distill = self_distillation(out.stages) if cfg.self_distill else zero
    loss = triplet + cfg.id_loss * identity + cfg.distill * distill + cfg.self_distill * self_distill
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return StepStats(exits=[(float(l.detach()), float(v)) for l, v in terms],
                     identity=float(identity.detach()), distill=float(distill.detach()), self_distill=float(self_distill.detach()),
                     total=float(loss.detach()))


def param_groups(model: torch.nn.Module, classifiers: IdentityClassifiers | None, cfg: TrainConfig) -> list[dict]:
    backbones = list(model.paths) if cfg.resolutions else [model.backbone]
    if cfg.freeze_stem:
        for b in backbones:
            for p in b.conv1.parameters():
                p.requires_grad_(False)
    backbone = [p for b in backbones for p in b.parameters() if p.requires_grad]
    ids = {id(p) for b in backbones for p in b.parameters()}
    rest = [p for p in model.parameters() if id(p) not in ids and p.requires_grad]
    rest += list(classifiers.parameters()) if classifiers is not None else []
    return [{"params": backbone, "lr_scale": cfg.backbone_lr}, {"params": rest, "lr_scale": 1.0}]


def exits_by_resolution(state: dict[str, torch.Tensor], theirs: list[list[int]], mine: list[list[int]]) -> dict[str, torch.Tensor]:
    """A multi-resolution checkpoint's weights for a model with a subset of its exits: exit k of `mine` takes
    the backbone, head and neck of the exit of `theirs` at the same size (the exits share nothing else), and
    the fusion weights of the exits kept."""
    source = [theirs.index(r) for r in mine]
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key == "fusion_weights":
            out[key] = value[source]
            continue
        group, index, rest = key.split(".", 2)
        if int(index) in source:
            out[f"{group}.{source.index(int(index))}.{rest}"] = value
    return out


@dataclass
class InitPlan:
    """What --init will load, decided from the checkpoint's config alone (so it can be refused before any work)."""
    path: Path
    checkpoint: dict
    their_res: list[list[int]]
    mine_res: list[list[int]]
    subset: bool
    resized: bool
    adds_neck: bool


def plan_init(path: Path, cfg: TrainConfig) -> InitPlan:
    """Reads an --init checkpoint and refuses one of another architecture, whose weights would not mean the
    same. A multi-resolution model may keep a subset of the checkpoint's exits (e.g. drop its smallest), each
    taken from the exit of the same size, or keep as many exits at other sizes, exit k from exit k.
    A run with BNNeck may start from a checkpoint without one: the necks are the only new weights (fresh
    BatchNorms after the heads), so the identity loss can be tried as a warm restart of a finished model."""
    if not path.is_file():
        raise SystemExit(f"--init {path}: no such checkpoint file")
    ckpt = torch.load(path, map_location="cpu")
    theirs = ckpt["config"]
    def sizes(value: object) -> list[list[int]]:
        return [list(r) for r in value or []]  # type: ignore[attr-defined]  # tuples or lists, none or []

    def same_form(key: str, value: object) -> object:
        return sizes(value) if key == "resolutions" else value

    mine_res, their_res = sizes(cfg.resolutions), sizes(theirs.get("resolutions"))
    subset = bool(mine_res) and mine_res != their_res and all(r in their_res for r in mine_res)
    # Same exits at other sizes: every weight fits (each exit pools globally) and means the same
    # network, so a finished model can be warm-restarted at a larger last exit.
    resized = bool(mine_res) and not subset and len(mine_res) == len(their_res) and mine_res != their_res
    adds_neck = cfg.bnneck and not theirs.get("bnneck", False)
    for key in ("backbone", "resolutions", "height", "width", "bnneck"):
        mine, other = same_form(key, getattr(cfg, key)), same_form(key, theirs.get(key))
        sizes_may_differ = (subset and key == "resolutions") or (resized and key in ("resolutions", "height", "width"))
        if mine != other and not sizes_may_differ and not (adds_neck and key == "bnneck"):
            raise SystemExit(f"--init {path}: its {key} is {other!r}, this run's is {mine!r}")
    # Options that change which weights exist and what they mean; older checkpoints predate them (off).
    for flag, what in (("ibn", "instance norms (--ibn)"), ("gem", "GeM pooling (--gem)")):
        mine, other = bool(getattr(cfg, flag)), bool(theirs.get(flag, False))
        if mine != other:
            raise SystemExit(f"--init {path}: {'has' if other else 'has no'} {what}; this run {'has' if mine else 'has none'}")
    return InitPlan(path, ckpt, their_res, mine_res, subset, resized, adds_neck)


def inherited_stem_ranks(plan: InitPlan) -> list[int] | None:
    """The stem ranks of the exits an --init run keeps: a factorised stem stays factorised."""
    ranks = plan.checkpoint["config"].get("stem_ranks")
    if not ranks:
        return None
    kept = [ranks[plan.their_res.index(r)] for r in plan.mine_res] if plan.subset else list(ranks)
    return kept if any(kept) else None


def init_from(model: torch.nn.Module, plan: InitPlan) -> dict[str, torch.Tensor] | None:
    """Loads the planned checkpoint's weights into `model` (float16 ones are cast back by load_state_dict).
    Returns the checkpoint's identity classifiers when it has them for the same exits (None otherwise)."""
    ckpt, path, their_res, mine_res = plan.checkpoint, plan.path, plan.their_res, plan.mine_res
    subset, resized, adds_neck = plan.subset, plan.resized, plan.adds_neck
    state = exits_by_resolution(ckpt["model"], their_res, mine_res) if subset else dict(ckpt["model"])
    widened = widen_heads(model, state)
    missing, unexpected = model.load_state_dict(state, strict=not adds_neck)
    if unexpected or any(not k.startswith("necks.") for k in missing):
        raise SystemExit(f"--init {path}: weights that do not fit this model: {sorted(set(unexpected) | set(missing))[:4]}")
    kept = f", exits {mine_res} of {their_res}" if subset else ""
    kept += f", exits resized from {their_res} to {mine_res}" if resized else ""
    kept += ", with fresh BNNecks" if adds_neck else ""
    kept += f", heads {widened} widened to stripes {getattr(model, 'stripes', [])}" if widened else ""
    print(f"initialised from {path} (iteration {ckpt.get('iteration', '?')} of its run{kept})")
    return ckpt.get("classifiers") if not subset else None


def widen_heads(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> list[int]:
    """Turns the checkpoint's globally pooled heads into this model's stripe heads where their counts differ
    (in place, the same function: model.widen_to_stripes); returns the exits widened. Other differences are
    left to load_state_dict to refuse."""
    widened = []
    for k, head in enumerate(getattr(model, "heads", [])):
        key = f"heads.{k}.fc1.weight"
        theirs = state.get(key)
        if theirs is not None and head.stripes > 1 and theirs.shape[1] * head.stripes == head.fc1.weight.shape[1]:
            state[key] = widen_to_stripes(theirs.float(), head.stripes)
            widened.append(k + 1)
    return widened


def plain_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict in the default memory layout: what the export, the other tools and older checkpoints
    expect, whatever layout training ran in (to_device)."""
    return {k: v.contiguous() for k, v in module.state_dict().items()}


def save_weights(path: Path, cfg: TrainConfig, model: torch.nn.Module, classifiers: IdentityClassifiers | None,
                 wall_seconds: float, iteration: int) -> None:
    """What final.pt holds: enough to export, evaluate or --init from (no optimizer state)."""
    torch.save({"config": asdict(cfg), "model": plain_state(model), "hardware": hardware(),
                "classifiers": classifiers.state_dict() if classifiers is not None else None,
                "wall_seconds": wall_seconds, "iteration": iteration}, path)


def start_classifiers(classifiers: IdentityClassifiers, kept: dict[str, torch.Tensor] | None, model: torch.nn.Module,
                      images: torch.Tensor, labels: torch.Tensor, cfg: TrainConfig, device: torch.device) -> None:
    """A warm restart's identity classifiers: the checkpoint's own when they fit (same exits, same
    identities), then fitted on the loaded model's frozen features of cfg.probe_views augmented views of
    every training image for cfg.probe_epochs epochs (dare/probe.py)."""
    if kept is not None and all(kept[k].shape == v.shape for k, v in classifiers.state_dict().items() if k in kept):
        classifiers.load_state_dict({k: v.float() for k, v in kept.items()})
        print("identity classifiers: the checkpoint's")
    if not cfg.probe_epochs:
        return
    t0 = time.time()
    # A generator of its own: the training batches and their augmentation stay those of a run without probing.
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    aug = AugmentConfig(height=cfg.height, width=cfg.width, erase_p=cfg.erase_p)

    def view(idx: torch.Tensor) -> torch.Tensor:
        batch = augment(images[idx], aug, gen)
        return photometric(batch, gen, p=cfg.photometric_p) if cfg.photometric else batch

    model.to(device)
    passes = [exit_features(model, len(images), view, cfg.p * cfg.k, device=device, seed=cfg.seed + v) for v in range(cfg.probe_views)]
    features = [torch.cat([p[k] for p in passes]) for k in range(len(passes[0]))]
    t1 = time.time()
    print(f"features of {cfg.probe_views} views of {len(images)} images in {t1 - t0:.0f} s", flush=True)
    fit = fit_classifiers(classifiers.fcs.to(device), features, labels.repeat(cfg.probe_views), epochs=cfg.probe_epochs, seed=cfg.seed)
    print(f"identity classifiers fitted on frozen features in {time.time() - t1:.0f} s: label-smoothed CE "
          f"{[round(v, 2) for v in fit.loss_before]} -> {[round(v, 2) for v in fit.loss_after]}, "
          f"top-1 {[round(v, 3) for v in fit.accuracy_after]}", flush=True)


def weight_average(model: torch.nn.Module, decay: float) -> AveragedModel | None:
    """An exponential moving average of the model's weights and BN statistics (torch's AveragedModel), or None
    when decay is 0. Averaging the last few hundred iterations' weights smooths the noise of the final steps
    without a second run."""
    if not decay:
        return None
    return AveragedModel(model, avg_fn=lambda avg, new, _n: decay * avg + (1 - decay) * new, use_buffers=True)


def to_device(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """On CPU the convolutions run in channels-last layout (oneDNN's native one): the same function to float
    rounding; the forward and backward pass of the two-exit OSNet alone ran ≈ 1.9× faster on 2 cores."""
    return model.to(device, memory_format=torch.channels_last) if device.type == "cpu" else model.to(device)


def as_input(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    batch = batch.to(device)
    return batch.contiguous(memory_format=torch.channels_last) if device.type == "cpu" else batch


TCMALLOC = Path("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")


def speed_up_cpu() -> None:
    """Two CPU settings that change no result beyond rounding and, with tcmalloc loaded, make an iteration
    ≈ 2.5× faster here (two-exit OSNet, 2 cores; training/README.md). Gradients through the BatchNorms and
    ReLUs include subnormal floats, which x86 handles in microcode: flushed to zero, in every worker thread
    too, since they copy this thread's floating-point mode when the pool starts (so this runs before any
    parallel op). And glibc's malloc maps and unmaps every buffer over 32 MB, so each iteration page-faults
    the large activations in afresh; tcmalloc keeps them, but must be loaded before Python starts, hence
    the hint."""
    torch.set_flush_denormal(True)
    if TCMALLOC.exists() and "tcmalloc" not in os.environ.get("LD_PRELOAD", ""):
        print(f"hint: LD_PRELOAD={TCMALLOC} makes training on CPU ≈ 1.7× faster (glibc malloc re-faults large activations every iteration)")


def load_resume_state(ckpt_path: Path, resume_file: Path | None) -> dict | None:
    """The state a run continues from: its own runs/<name>/checkpoint.pt when there is one (this machine ran
    it), else --resume's compact copy (dare.compact --resumable, another machine ran it)."""
    if ckpt_path.exists():
        if resume_file is not None:
            print(f"--resume {resume_file}: ignored, {ckpt_path} exists and the run continues from its own state")
        return torch.load(ckpt_path, map_location="cpu")
    if resume_file is None:
        return None
    if not resume_file.is_file():
        raise SystemExit(f"--resume {resume_file}: no such file")
    state = torch.load(resume_file, map_location="cpu")
    missing = [k for k in ("config", "model", "iteration", *RUN_STATE) if k not in state]
    if missing:
        raise SystemExit(f"--resume {resume_file}: not a resumable run state (no {', '.join(missing)}); "
                         "a finished model's weights start a new run with --init instead")
    return state


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--height", type=int, default=TrainConfig.height)
    ap.add_argument("--width", type=int, default=TrainConfig.width)
    ap.add_argument("--iterations", type=int, default=None,
                    help=f"total iterations (default {TrainConfig.iterations}); on resume, extends or shortens the run and its lr schedule; "
                         "0 writes the starting point itself as final.pt and ema.pt (the other end of a weight-space interpolation, dare.soup)")
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--p", type=int, default=TrainConfig.p)
    ap.add_argument("--k", type=int, default=TrainConfig.k)
    ap.add_argument("--seed", type=int, default=TrainConfig.seed)
    ap.add_argument("--backbone", choices=BACKBONES, default=TrainConfig.backbone)
    ap.add_argument("--weights", default=None, help="initial backbone weights (default: the backbone's file in ../shared/weights; '' = from scratch)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    ap.add_argument("--cache", type=Path, default=Path(".cache"), help="where decoded training images are kept")
    ap.add_argument("--split", choices=("all", "proxy"), default=TrainConfig.split,
                    help="all of bounding_box_train, or the cross-camera proxy's training part (dare/proxy.py)")
    ap.add_argument("--bnneck", action="store_true")
    ap.add_argument("--id-loss", type=float, default=TrainConfig.id_loss, help="weight of the label-smoothed identity loss (implies --bnneck)")
    ap.add_argument("--distill", type=float, default=TrainConfig.distill, help="weight of relational distillation from the MSMT17 network")
    ap.add_argument("--self-distill", type=float, default=TrainConfig.self_distill,
                    help="weight of relational distillation from the last exit (detached) into the earlier exits")
    ap.add_argument("--backbone-lr", type=float, default=TrainConfig.backbone_lr, help="backbone lr as a fraction of --lr")
    ap.add_argument("--freeze-stem", action="store_true")
    ap.add_argument("--erase-p", type=float, default=TrainConfig.erase_p, help="random erasing probability (0: off)")
    ap.add_argument("--photometric", action="store_true", help="colour, contrast and resolution augmentation")
    ap.add_argument("--photometric-p", type=float, default=TrainConfig.photometric_p,
                    help="with --photometric: the share of images re-rendered, the rest left as shot (default 1: all)")
    ap.add_argument("--decay-start", type=float, default=TrainConfig.decay_start,
                    help="fraction of the iterations at constant lr before the exponential decay (0: decay from the start)")
    ap.add_argument("--warmup", type=int, default=TrainConfig.warmup, help="iterations of linear lr warm-up")
    ap.add_argument("--teacher-head", action="store_true", help="start the last head (every head with --resolutions) as the MSMT17 network's FC")
    ap.add_argument("--init", type=Path, default=None,
                    help="start from this checkpoint's weights (a final.pt, or its fp16 copy in checkpoints/): same architecture, "
                         "a fresh optimizer and lr schedule, as a longer run of a finished model; with --resolutions, a subset "
                         "of its exits, each from its exit of the same size, or as many exits at other sizes, exit k from exit k; "
                         "with BNNeck from one without, fresh necks")
    ap.add_argument("--probe-epochs", type=int, default=5,
                    help="with --init and the identity loss: epochs fitting the identity classifiers on the "
                         "loaded model's frozen features before training (dare/probe.py; 0: start them as they are)")
    ap.add_argument("--exit-stripes", default="", help="with --resolutions: horizontal stripes each exit's head pools, e.g. 4,5 "
                    "(each must divide its feature map's rows; default 1 each: global pooling); --init from global heads keeps their function")
    ap.add_argument("--ema", type=float, default=TrainConfig.ema, help="also keep an exponential moving average of the weights "
                    "with this decay per iteration (e.g. 0.999) and write it as ema.pt beside final.pt, and as "
                    "ema-decay-start.pt beside decay-start.pt (0: off)")
    ap.add_argument("--freeze-exits", default="", help="with --resolutions and --init: exits kept exactly as loaded, e.g. 2 "
                    "(no gradient, BatchNorm statistics fixed), so a change to the others is measured against the same last exit")
    ap.add_argument("--resume", type=Path, default=None,
                    help="continue the run from this copy of its state (dare.compact --resumable, e.g. from another machine) "
                         "when --out has no checkpoint.pt: same config, iteration, lr schedule and random streams; the "
                         "optimizer's moments start afresh under the run's --warmup ramp")
    ap.add_argument("--ibn", action="store_true", help="with --resolutions (OSNet): instance norms in the stem and after every "
                    "OS block of conv2 and conv3 (OSNet-IBN), set from the calibration images so the MSMT17 weights start "
                    "seeing the statistics they expect")
    ap.add_argument("--gem", action="store_true", help="with --resolutions: GeM pooling in every exit's head (a generalised "
                    "mean, exponent learned per exit from 3) instead of the average")
    ap.add_argument("--mixstyle", type=float, default=TrainConfig.mixstyle, help="with --resolutions: MixStyle after the "
                    "first two stages of every exit, each place mixing a batch with this probability (e.g. 0.5; dare/mixstyle.py; 0: off)")
    ap.add_argument("--resolutions", default="", help="one backbone per exit at these sizes, e.g. 96x48,128x64,224x112 "
                    "(dare/multires.py); the last is the input size and overrides --height/--width")
    args = ap.parse_args(argv)

    speed_up_cpu()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.out / "checkpoint.pt"
    resume = load_resume_state(ckpt_path, args.resume)
    cfg = TrainConfig(**resume["config"]) if resume else TrainConfig(
        height=args.height, width=args.width, iterations=TrainConfig.iterations if args.iterations is None else args.iterations, lr=args.lr, p=args.p, k=args.k, seed=args.seed,
        backbone=args.backbone, weights=DEFAULT_WEIGHTS[args.backbone] if args.weights is None else args.weights,
        split=args.split, bnneck=args.bnneck or args.id_loss > 0, id_loss=args.id_loss, distill=args.distill, self_distill=args.self_distill,
        backbone_lr=args.backbone_lr, freeze_stem=args.freeze_stem, erase_p=args.erase_p, photometric=args.photometric,
        photometric_p=photometric_share(args.photometric_p, args.photometric),
        warmup=args.warmup, resolutions=parse_resolutions(args.resolutions), teacher_head=args.teacher_head,
        exit_stripes=parse_stripes(args.exit_stripes), ema=ema_decay(args.ema), decay_start=decay_fraction(args.decay_start),
        probe_epochs=args.probe_epochs if args.init is not None and args.id_loss > 0 else 0,
        frozen_exits=parse_frozen_exits(args.freeze_exits), ibn=args.ibn, gem=args.gem, mixstyle=args.mixstyle,
    )
    if cfg.resolutions:
        cfg.height, cfg.width = cfg.resolutions[-1]
    if cfg.ibn and (not cfg.resolutions or cfg.backbone != "osnet_x0_25"):
        raise SystemExit("--ibn: needs --resolutions and --backbone osnet_x0_25")
    if cfg.gem and (not cfg.resolutions or cfg.exit_stripes):
        raise SystemExit("--gem: needs --resolutions, and pools the whole map (no --exit-stripes)")
    if cfg.mixstyle and (not cfg.resolutions or not 0 < cfg.mixstyle <= 1):
        raise SystemExit(f"--mixstyle {cfg.mixstyle}: needs --resolutions and a share of batches in (0, 1]")
    if cfg.exit_stripes and (not cfg.resolutions or len(cfg.exit_stripes) != len(cfg.resolutions)):
        raise SystemExit(f"--exit-stripes {args.exit_stripes}: needs --resolutions and one count per exit")

    if args.iterations is not None and args.iterations < 0:
        raise SystemExit(f"--iterations {args.iterations}: must be 0 or more")
    if resume and args.iterations is not None and args.iterations != cfg.iterations:
        if args.iterations <= resume["iteration"]:
            raise SystemExit(f"--iterations {args.iterations}: the run is already at iteration {resume['iteration']}")
        print(f"changing the run's length from {cfg.iterations} to {args.iterations} iterations (the lr schedule follows)")
        cfg.iterations = args.iterations

    if cfg.self_distill < 0 or (cfg.self_distill and exit_count(asdict(cfg)) < 2):
        raise SystemExit(f"--self-distill {cfg.self_distill}: needs a weight ≥ 0 and a model with two exits or more")
    check_frozen_exits(cfg, has_init=args.init is not None or resume is not None)
    # A checkpoint that does not fit is refused here, before minutes of decoding and teacher embeddings.
    init_plan = plan_init(args.init, cfg) if args.init is not None and not resume else None
    if init_plan is not None:
        cfg.stem_ranks = inherited_stem_ranks(init_plan)
    samples = train_samples(market_root())
    if cfg.split == "proxy":
        samples = proxy_train_samples(samples)
    big_h, big_w = stored_size(cfg.height, cfg.width)
    images = torch.from_numpy(cached_images(samples, big_h, big_w, args.cache))
    person_ids = sorted({s.person for s in samples})
    labels = torch.tensor([person_ids.index(s.person) for s in samples])
    sampler = PKSampler(labels.tolist(), cfg.p, cfg.k, cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)

    # Fresh heads and classifiers draw from torch's global generator: seeded, a run is repeatable.
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, images[torch.randperm(len(samples), generator=torch.Generator().manual_seed(1))[:256]].numpy())
    if cfg.mixstyle:
        model.style_mixer = MixStyle(cfg.mixstyle)
    classifiers = IdentityClassifiers(exit_count(asdict(cfg)) + 1, EMBED_DIM, len(person_ids)) if cfg.id_loss else None
    teacher = None
    if cfg.distill or cfg.teacher_head:
        teacher = torch.from_numpy(cached_teacher_embeddings([s.path.name for s in samples], images.numpy(), args.cache))
    if cfg.teacher_head and not resume:
        net = MSMT17Teacher()
        for head in (model.heads if cfg.resolutions else model.heads[-1:]):
            init_head_from_teacher(head, net, teacher.numpy())
    if teacher is not None:
        # The teacher's ReLU features share a large common component; centred, their cosines say who
        # resembles whom instead of how bright the crop is.
        teacher = teacher - teacher.mean(0)
    if init_plan is not None:
        kept = init_from(model, init_plan)
        if classifiers is not None:
            start_classifiers(classifiers, kept, model, images, labels, cfg, device)
    freeze_exits(model, cfg.frozen_exits)
    opt = torch.optim.Adam(param_groups(model, classifiers, cfg), lr=cfg.lr)
    ema = weight_average(model, cfg.ema)
    start_it, wall, rewarm_from = 0, 0.0, None
    if resume:
        model.load_state_dict(resume["model"])
        if classifiers is not None:
            classifiers.load_state_dict(resume["classifiers"])
        if resume.get("optimizer") is not None:
            opt.load_state_dict(resume["optimizer"])
            rewarm_from = resume.get("rewarm_from")
        else:
            rewarm_from = resume["iteration"]
            print(f"fresh optimizer moments: lr warms up again over iterations {rewarm_from}-{rewarm_from + cfg.warmup}")
        if ema is not None:
            ema.load_state_dict(resume["ema"])
        sampler.rng.setstate(resume["sampler_rng"])
        gen.set_state(resume["augment_rng"])
        start_it, wall = resume["iteration"], resume["wall_seconds"]
        print(f"resuming at iteration {start_it} ({wall / 60:.1f} min so far)")
    to_device(model, device).train()
    freeze_exits(model, cfg.frozen_exits)
    if classifiers is not None:
        classifiers.to(device).train()
    if ema is not None:
        to_device(ema, device)
    aug = AugmentConfig(height=cfg.height, width=cfg.width, erase_p=cfg.erase_p)
    iters_per_epoch = math.ceil(len(person_ids) / cfg.p)

    stats: list[StepStats] = []
    decay_start = round(cfg.decay_start * cfg.iterations)
    t_start = time.time()
    for it in range(start_it, cfg.iterations):
        for g in opt.param_groups:
            g["lr"] = learning_rate(cfg, it, rewarm_from) * g["lr_scale"]
        idx = torch.tensor(sampler.batch())
        batch = augment(images[idx], aug, gen)
        if cfg.photometric:
            batch = photometric(batch, gen, p=cfg.photometric_p)
        stats.append(train_step(model, as_input(batch, device), labels[idx].to(device), opt, cfg, classifiers,
                                teacher[idx].to(device) if teacher is not None else None))
        if ema is not None:
            ema.update_parameters(model)
        done = it + 1
        if done == decay_start:
            # The triplet terms of the training loss rise during a decay while the identity term falls
            # (models/README.md): these weights, evaluated beside final.pt, say what the decay does.
            save_weights(args.out / "decay-start.pt", cfg, model, classifiers, wall + time.time() - t_start, done)
            if ema is not None:  # the average of the constant-rate phase alone (SWA's regime)
                copy_frozen_exits(ema.module, model, cfg.frozen_exits)
                save_weights(args.out / "ema-decay-start.pt", cfg, ema.module, classifiers, wall + time.time() - t_start, done)
        if done % iters_per_epoch == 0 or done == cfg.iterations:
            wall_now = wall + time.time() - t_start
            mean = np.mean(np.array([st.exits for st in stats]), axis=0)
            record = {
                "iteration": done,
                "epoch": done // iters_per_epoch,
                "lr": learning_rate(cfg, it, rewarm_from),
                "wall_seconds": round(wall_now, 1),
                "fusion_weights": [round(float(w), 4) for w in model.fusion_weights.detach().cpu()],
                **({"gem_p": [round(float(h.gem_p.detach()), 4) for h in model.heads]} if cfg.gem else {}),
                **{f"loss_{n}": round(float(mean[i, 0]), 4) for i, n in enumerate(exit_names(asdict(cfg)))},
                **{f"violated_{n}": round(float(mean[i, 1]), 4) for i, n in enumerate(exit_names(asdict(cfg)))},
                # Unweighted, as the triplet losses are; the run minimises total = triplet + id_loss·identity + distill·distillation
                # + self_distill·self-distillation.
                "loss_identity": round(float(np.mean([st.identity for st in stats])), 4),
                "loss_distillation": round(float(np.mean([st.distill for st in stats])), 4),
                "loss_self_distillation": round(float(np.mean([st.self_distill for st in stats])), 4),
                "loss_total": round(float(np.mean([st.total for st in stats])), 4),
            }
            with open(args.out / "log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            print(json.dumps(record), flush=True)
            stats = []
            state = {
                "config": asdict(cfg),
                "model": plain_state(model),
                "classifiers": classifiers.state_dict() if classifiers is not None else None,
                "optimizer": opt.state_dict(),
                "rewarm_from": rewarm_from,
                "ema": plain_state(ema) if ema is not None else None,
                "sampler_rng": sampler.rng.getstate(),
                "augment_rng": gen.get_state(),
                "iteration": done,
                "wall_seconds": wall_now,
                "hardware": hardware(),
            }
            torch.save(state, ckpt_path.with_suffix(".tmp"))
            os.replace(ckpt_path.with_suffix(".tmp"), ckpt_path)
    save_weights(args.out / "final.pt", cfg, model, classifiers, wall + time.time() - t_start, cfg.iterations)
    if ema is not None:
        copy_frozen_exits(ema.module, model, cfg.frozen_exits)
        save_weights(args.out / "ema.pt", cfg, ema.module, classifiers, wall + time.time() - t_start, cfg.iterations)
    print(f"done: {args.out / 'final.pt'}")


if __name__ == "__main__":
    main()
