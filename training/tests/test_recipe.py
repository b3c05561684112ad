"""The v2 training recipe's pieces: BNNeck folding, the identity and distillation losses, the proxy split,
photometric augmentation, and a training run that uses all of them."""
import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import SHARED
from dare import train
from dare.data import photometric, train_samples, market_root
from dare.evaluate import shift_queries
from dare.loss import label_smoothed_ce, relational_distillation, self_distillation
from dare.model import Dare, exit_names, fold_necks
from dare.proxy import EVAL_CAMERAS, TRAIN_CAMERAS, embedder, held_out_ids, photometric_shift, proxy_eval_split, proxy_train_samples
from dare.teacher import TEACHER_SIZE

ONNX = SHARED / "weights" / "osnet_x0_25_msmt17.onnx"


def test_fold_necks_keeps_the_eval_function_and_the_plain_layout() -> None:
    torch.manual_seed(0)
    model = Dare("osnet_x0_25", bnneck=True)
    model.train()
    for _ in range(3):  # give the necks non-trivial running statistics
        model(torch.rand(8, 3, 64, 32) * 255)
    for bn in model.necks:
        bn.weight.data.uniform_(0.5, 2.0)
    model.eval()
    x = torch.rand(4, 3, 64, 32) * 255
    with torch.no_grad():
        want = model(x)
        plain = fold_necks(model)
        got = plain(x)
    assert plain.necks is None
    for a, b in zip(want.stages + [want.fused], got.stages + [got.fused]):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)


def test_label_smoothed_ce_matches_the_definition() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    p = torch.log_softmax(logits, 1)[0]
    want = -(0.9 + 0.1 / 3) * p[0] - (0.1 / 3) * (p[1] + p[2])
    assert label_smoothed_ce(logits, torch.tensor([0])).item() == pytest.approx(want.item(), rel=1e-6)


def test_relational_distillation_is_zero_for_the_same_geometry_and_positive_otherwise() -> None:
    torch.manual_seed(0)
    t = torch.randn(16, 512)
    rotation = torch.linalg.qr(torch.randn(512, 512))[0]
    assert relational_distillation(t @ rotation, t).item() == pytest.approx(0.0, abs=1e-6)
    # four people, four near-identical views each: the teacher groups them, a random student does not
    people = torch.randn(4, 512).repeat_interleave(4, 0) + 0.05 * torch.randn(16, 512)
    assert relational_distillation(torch.randn(16, 128), people).item() > 0.1


def test_self_distillation_teaches_the_earlier_exits_and_leaves_the_last_alone() -> None:
    torch.manual_seed(0)
    people = torch.randn(4, 128).repeat_interleave(4, 0) + 0.05 * torch.randn(16, 128)
    first, second = torch.randn(16, 128, requires_grad=True), torch.randn(16, 128, requires_grad=True)
    last = people.clone().requires_grad_(True)
    loss = self_distillation([first, second, last])
    loss.backward()
    # the mean of the earlier exits' terms, each towards the last exit's geometry
    want = (relational_distillation(first, people) + relational_distillation(second, people)) / 2
    assert loss.item() == pytest.approx(want.item(), rel=1e-6) and loss.item() > 0.1
    assert first.grad.abs().sum() > 0 and second.grad.abs().sum() > 0 and last.grad is None
    rotation = torch.linalg.qr(torch.randn(128, 128))[0]
    assert self_distillation([people @ rotation, people]).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="two exits"):
        self_distillation([people])


def test_self_distillation_is_refused_for_one_exit_or_a_negative_weight_before_any_work(fake_market: Path, tmp_path: Path) -> None:
    common = ["--backbone", "osnet_x0_25", "--p", "4", "--k", "2", "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "2"]
    with pytest.raises(SystemExit, match="--self-distill 1.0: needs .* two exits or more"):
        train.main(["--out", str(tmp_path / "one"), "--resolutions", "64x32", "--self-distill", "1"] + common)
    with pytest.raises(SystemExit, match="--self-distill -1.0"):
        train.main(["--out", str(tmp_path / "neg"), "--resolutions", "48x24,64x32", "--self-distill", "-1"] + common)
    assert not (tmp_path / "cache").exists()


def test_proxy_split_holds_out_people_and_cameras(fake_market: Path) -> None:
    samples = train_samples(market_root())
    held = held_out_ids(samples)
    train = proxy_train_samples(samples)
    split = proxy_eval_split(samples)
    assert held and not {s.person for s in train} & held
    assert all(s.camera in TRAIN_CAMERAS for s in train)
    assert all(s.person in held and s.camera in EVAL_CAMERAS for s in split.queries + split.gallery)


def test_photometric_changes_colour_but_keeps_shape_and_range() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 3, 32, 16) * 255
    y = photometric(x, gen)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 255 and not torch.allclose(x, y)
    imgs = (np.random.default_rng(0).random((3, 32, 16, 3)) * 255).astype(np.uint8)
    shifted = photometric_shift(imgs)
    assert shifted.shape == imgs.shape and shifted.dtype == np.uint8 and (shifted != imgs).any()
    assert (photometric_shift(imgs) == shifted).all()  # seeded: the proxy's shift is the same every run


def test_photometric_with_a_share_rerenders_only_that_share_and_p1_is_the_old_stream() -> None:
    x = torch.rand(400, 3, 8, 4) * 255
    y = photometric(x, torch.Generator().manual_seed(0), p=0.3)
    unchanged = (y == x).flatten(1).all(1)
    assert 0.6 < float(unchanged.float().mean()) < 0.8  # ≈ 70 % left as shot
    full = photometric(x, torch.Generator().manual_seed(0))
    assert torch.equal(photometric(x, torch.Generator().manual_seed(0), p=1.0), full)
    with pytest.raises(SystemExit, match="needs --photometric"):
        train.photometric_share(0.5, enabled=False)
    for bad in (0.0, 1.5):
        with pytest.raises(SystemExit, match="share in"):
            train.photometric_share(bad, enabled=True)


@pytest.mark.skipif(not ONNX.exists(), reason="needs ../shared/weights/osnet_x0_25_msmt17.onnx")
def test_training_with_the_whole_v2_recipe_runs_and_exports(fake_market: Path, tmp_path: Path) -> None:
    from dare.export_tfjs import load_checkpoint

    out = tmp_path / "run"
    train.main(["--out", str(out), "--backbone", "osnet_x0_25", "--height", "64", "--width", "32", "--p", "4", "--k", "2",
                "--cache", str(tmp_path / "cache"), "--threads", "1", "--iterations", "5", "--id-loss", "1", "--distill", "10", "--self-distill", "2",
                "--backbone-lr", "0.1", "--freeze-stem", "--erase-p", "0", "--photometric", "--photometric-p", "0.5", "--warmup", "2"])
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["iteration"] == 5 and all(np.isfinite(r["loss_fused"]) for r in log)
    ckpt = torch.load(out / "final.pt")
    # Every term the run minimises is logged, and the total is their weighted sum (to float rounding).
    last = log[-1]
    assert last["loss_identity"] > 0 and last["loss_distillation"] > 0 and last["loss_self_distillation"] > 0
    triplet = np.mean([last[f"loss_{n}"] for n in exit_names(ckpt["config"])])
    weighted = triplet + last["loss_identity"] + 10 * last["loss_distillation"] + 2 * last["loss_self_distillation"]
    assert abs(last["loss_total"] - weighted) < 2e-3 * max(1.0, last["loss_total"])
    assert ckpt["config"]["bnneck"] and ckpt["config"]["distill"] == 10 and ckpt["config"]["self_distill"] == 2
    assert ckpt["config"]["photometric"] and ckpt["config"]["photometric_p"] == 0.5
    model, _ = load_checkpoint(out / "final.pt")
    assert model.necks is None


@pytest.mark.skipif(not ONNX.exists(), reason="needs ../shared/weights/osnet_x0_25_msmt17.onnx")
def test_a_teacher_initialised_head_computes_the_teachers_principal_axes() -> None:
    from dare.teacher import MSMT17Teacher, init_head_from_teacher

    torch.manual_seed(0)
    teacher = MSMT17Teacher()
    images = torch.rand(24, 3, 64, 32) * 255
    embeddings = teacher(images).numpy()
    model = Dare("osnet_x0_25", teacher_head=True).eval()
    model.backbone.load_state_dict(teacher.net.state_dict())
    init_head_from_teacher(model.heads[-1], teacher, embeddings)
    with torch.no_grad():
        e4 = model(images).stages[-1]
    centred = embeddings - embeddings.mean(0)
    axes = np.linalg.svd(centred.astype(np.float64), full_matrices=False)[2][:23]  # 24 centred images: rank 23
    projected = centred @ axes.T
    signs = np.sign((e4.numpy()[:, :23] * projected).sum(0))  # each principal axis is defined up to its sign
    assert np.allclose(e4.numpy()[:, :23], projected * signs, atol=1e-3 * np.abs(projected).max())
    # 24 images span at most 23 directions: the projection keeps every distance between them.
    d = lambda x: np.linalg.norm(x[:, None] - x[None], axis=-1)
    assert np.allclose(d(e4.numpy()), d(centred), atol=1e-3 * d(centred).max())


def test_shift_queries_changes_only_the_queries() -> None:
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(7, 16, 8, 3), dtype=np.uint8)
    before = images.copy()
    out = shift_queries(images, 3)
    assert (out[:3] == photometric_shift(before[:3])).all()
    assert (out[:3] != before[:3]).any()
    assert (out[3:] == before[3:]).all()
    assert (images == before).all()  # the caller's array is left as it was


def test_the_teacher_is_embedded_at_its_own_input() -> None:
    args = argparse.Namespace(teacher=True, checkpoint=None, tfjs_model=None)
    assert embedder(args)[1:] == (TEACHER_SIZE[0], TEACHER_SIZE[1], ["msmt17"])


def test_fit_classifiers_learns_separable_identities_from_chance() -> None:
    from dare.probe import fit_classifiers

    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(30, 16, generator=gen) * 3
    labels = torch.arange(30).repeat_interleave(8)
    features = [centres[labels] + torch.randn(len(labels), 16, generator=gen) for _ in range(2)]
    fcs = torch.nn.ModuleList(torch.nn.Linear(16, 30, bias=False) for _ in range(2))
    fit = fit_classifiers(fcs, features, labels, epochs=20, batch=32, lr=0.01)
    assert min(fit.loss_before) > np.log(30) - 0.5  # random classifiers: no better than chance
    assert max(fit.loss_after) < 1.0 and min(fit.accuracy_after) > 0.95
    with pytest.raises(ValueError, match="3 embeddings"):
        fit_classifiers(fcs, features + features[:1], labels)


def test_a_restart_fits_its_identity_classifiers_first_and_checkpoints_carry_them(fake_market: Path, tmp_path: Path) -> None:
    from dare import compact

    common = ["--backbone", "osnet_x0_25", "--height", "64", "--width", "32", "--p", "4", "--k", "2", "--erase-p", "0",
              "--cache", str(tmp_path / "cache"), "--threads", "1", "--id-loss", "1", "--iterations", "5"]
    train.main(["--out", str(tmp_path / "first")] + common)
    first = torch.load(tmp_path / "first" / "final.pt")
    compact.main(["--checkpoint", str(tmp_path / "first" / "final.pt"), "--out", str(tmp_path / "first.fp16.pt")])
    small = torch.load(tmp_path / "first.fp16.pt")
    assert small["classifiers"].keys() == first["classifiers"].keys()
    assert all(v.dtype == torch.float16 for v in small["classifiers"].values())

    def restart(name: str, epochs: str) -> tuple[dict, float]:
        # lr 0: training leaves the classifiers as the restart set them up, so the logged identity loss is theirs.
        train.main(["--out", str(tmp_path / name), "--init", str(tmp_path / "first.fp16.pt"), "--lr", "0", "--probe-epochs", epochs] + common)
        log = [json.loads(line) for line in (tmp_path / name / "log.jsonl").read_text().splitlines()]
        return torch.load(tmp_path / name / "final.pt"), log[0]["loss_identity"]

    kept, kept_loss = restart("kept", "0")
    probed, probed_loss = restart("probed", "100")
    assert kept["config"]["probe_epochs"] == 0 and probed["config"]["probe_epochs"] == 100
    for k, v in first["classifiers"].items():  # without probing, the checkpoint's own classifiers
        assert torch.allclose(kept["classifiers"][k], v.half().float()), k
    # Fitted on other augmented views than the training batches, so not all of the gain carries over.
    assert probed_loss < kept_loss - 0.25, (probed_loss, kept_loss)


def test_teacher_projections_keep_distances_on_every_axis_and_lose_them_on_fewer() -> None:
    from dare.proxy import with_projections
    from dare.teacher import principal_axes

    rng = np.random.default_rng(0)
    fitted = rng.normal(size=(40, 12)) @ np.diag(np.linspace(3, 0.1, 12))  # fewer, stronger directions first
    queries = rng.normal(size=(9, 12)).astype(np.float32)
    table = with_projections(queries, [principal_axes(fitted, 12), principal_axes(fitted, 3)])
    assert table.shape == (9, 3, 12)
    assert (table[:, 0] == queries).all()
    d = lambda x: np.linalg.norm(x[:, None] - x[None], axis=-1)
    assert np.allclose(d(table[:, 1]), d(queries), atol=1e-5)  # all 12 axes: a rotation of the centred queries
    assert (table[:, 2, 3:] == 0).all()  # 3 axes, zero-padded
    assert not np.allclose(d(table[:, 2]), d(queries), atol=1e-2)


def test_axes_and_the_onnx_file_are_checked_before_anything_runs() -> None:
    from dare.proxy import main, parse_axes

    assert parse_axes("128,256") == [128, 256]
    for bad in ("0", "513", "a", "128,"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_axes(bad)
    with pytest.raises(SystemExit):
        main(["--checkpoint", "nowhere.pt", "--axes", "128"])
    with pytest.raises(SystemExit):
        main(["--osnet-onnx", "nowhere.onnx"])


PEER = SHARED / "peers" / "osnet_x0_25_market1501.onnx"


@pytest.mark.skipif(not PEER.exists() or not (SHARED / "data" / "market1501").exists(), reason="needs ../shared/peers and Market-1501")
def test_an_unfolded_torchreid_export_loads_as_it_was_trained() -> None:
    """The Market-trained peer keeps its BatchNorms: loaded as they are, it tells apart the training
    identities it learned (images of one person closer than of anyone else)."""
    from dare.data import load_images
    from dare.teacher import MSMT17Teacher, teacher_embeddings

    samples = train_samples(market_root())
    people = sorted({s.person for s in samples})[:6]
    picked = [s for p in people for s in [t for t in samples if t.person == p][:3]]
    e = teacher_embeddings(load_images(picked, *TEACHER_SIZE), teacher=MSMT17Teacher(PEER))
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    sim = e @ e.T
    np.fill_diagonal(sim, -np.inf)
    labels = np.array([s.person for s in picked])
    assert (labels[sim.argmax(1)] == labels).mean() >= 0.9
