"""Training on small data and against mode collapse (issue 18): DiffAugment, ADA, unrolled D, several D's (GMAN).

Each test fails when its switch is silently off: what D sees, how p moves, G's update, the D's trained.
"""
from __future__ import annotations

import json

import pytest
import torch

from ganstudio.cli.train import config_from_args
from ganstudio.cli import build_parser
from ganstudio.core import losses
from ganstudio.core.config import LossConfig, RunConfig
from ganstudio.core.errors import ConfigError
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.augment import (ADA_MAX_SPEED_IMAGES, AdaptiveAugment, DiffAugment, ada_augment,
                                             diff_augment, fitted_ada_speed)
from ganstudio.core.training.control import TrainingControl
from ganstudio.core.training.discriminator_view import augmentation
from ganstudio.core.training.loop import Trainer
from tests.conftest import tiny_config, tiny_images


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest and exact


def watch(D) -> list[torch.Tensor]:
    """Every input D is called on from now on."""
    calls = []
    D.register_forward_hook(lambda module, args, out: calls.append(args[0].detach().clone()))
    return calls


def zeros_per_image(x: torch.Tensor) -> torch.Tensor:
    return (x == 0).flatten(1).sum(dim=1)


# -- DiffAugment ---------------------------------------------------------------------------------------------


def test_diff_augment_changes_images_cuts_a_square_and_keeps_gradients():
    torch.manual_seed(0)
    x = (torch.rand(6, 3, 16, 16) * 2 - 1).requires_grad_(True)
    y = diff_augment(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    assert (zeros_per_image(y) >= 16).all()  # the cutout square (8x8, at least a quarter of it inside)
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_diffaug_is_what_d_sees_real_and_fake_in_d_and_g_steps():
    cfg = tiny_config(steps=1).with_updates("loss", augment="diffaug")
    trainer = Trainer(cfg, data=tiny_images(n=16))
    calls = watch(trainer.discriminator)
    report = next(iter(trainer))
    assert len(calls) == 3  # real and fake in the D step, fake in the G step
    for seen in calls:
        assert (zeros_per_image(seen) >= 16).all()  # every batch went through the cutout
    assert report.grad_norm_g > 0 and report.extras["augment_p"] == 1.0
    plain = Trainer(tiny_config(steps=1), data=tiny_images(n=16))
    plain_calls = watch(plain.discriminator)
    next(iter(plain))
    assert not torch.equal(plain_calls[0], calls[0])  # the same real batch, seen otherwise


# -- ADA -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_ada_pipeline_is_identity_at_p0_and_differentiable(channels):
    torch.manual_seed(0)
    x = (torch.rand(8, channels, 16, 16) * 2 - 1).requires_grad_(True)
    assert ada_augment(x, 0.0) is x
    y = ada_augment(x, 1.0)
    assert y.shape == x.shape and (y - x).abs().mean() > 0.05
    y.sum().backward()
    assert x.grad.abs().sum() > 0


def test_ada_flip_and_quarter_turn_move_pixels_exactly():
    """With only the geometric part drawn as a flip, the affine grid reproduces torch.flip pixel for pixel."""
    from ganstudio.core.training import augment

    x = torch.rand(1, 1, 8, 8)
    theta = torch.tensor([[[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    grid = torch.nn.functional.affine_grid(theta, [1, 1, 8, 8], align_corners=False)
    out = torch.nn.functional.grid_sample(x, grid, padding_mode="reflection", align_corners=False)
    assert torch.allclose(out, torch.flip(x, dims=[3]), atol=1e-6)
    k = augment._rotation(torch.tensor([torch.pi / 2]), x)[:, :2]
    grid = torch.nn.functional.affine_grid(k, [1, 1, 8, 8], align_corners=False)
    out = torch.nn.functional.grid_sample(x, grid, padding_mode="reflection", align_corners=False)
    assert torch.allclose(out, torch.rot90(x, 1, dims=[2, 3]), atol=1e-5) or \
        torch.allclose(out, torch.rot90(x, -1, dims=[2, 3]), atol=1e-5)


def test_ada_p_follows_r_t_by_the_configured_pace():
    ada = AdaptiveAugment(target=0.6, interval=4, speed_images=1000, batch_images=10)
    below = [torch.tensor([1.0, -1.0, -2.0, 3.0])]  # r_t = 0: D does not overfit
    for _ in range(3):
        assert not ada.observe(below)
    assert ada.observe(below)
    total, count = ada.take_stats()
    ada.adjust(total / count)
    assert ada.p == 0.0 and ada.r_t == 0.0  # stays 0, never negative
    above = [torch.ones(4), torch.tensor([1.0, 1.0, -1.0, 1.0])]  # two D's: r_t = 0.75
    for _ in range(4):
        ada.observe(above)
    total, count = ada.take_stats()
    ada.adjust(total / count)
    assert ada.r_t == 0.75 and ada.p == pytest.approx(4 * 10 / 1000)
    state = ada.state_dict()
    again = AdaptiveAugment()
    again.load_state_dict(json.loads(json.dumps(state)))
    assert again.state_dict() == state


def test_ada_p_rises_when_d_overfits_a_tiny_set_and_is_logged(tmp_path):
    cfg = (tiny_config(steps=24).with_updates("loss", augment="ada", ada_speed_images=800, ada_interval=2)
           .with_updates("train", lr_d=2e-3))
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_images(n=8))
    reports = list(trainer)
    assert reports[-1].d_real > 0.6  # D tells its eight reals apart
    assert trainer.augment_p > 0 and reports[-1].extras["augment_p"] == trainer.augment_p
    logged = [r["augment_p"] for r in RunFolder(tmp_path / "run").read_metrics()]
    assert len(logged) == 24 and logged[0] == 0.0 and max(logged) > 0
    assert all(abs(b - a) <= 2 * 8 / 800 + 1e-12 for a, b in zip(logged, logged[1:]))  # ADA's pace


def test_ada_pace_is_fitted_to_the_run_by_default():
    assert fitted_ada_speed(96_000, 128) == 9_600  # a tenth of a 3,000-step CPU run of 32 images
    assert fitted_ada_speed(100_000_000, 256) == ADA_MAX_SPEED_IMAGES  # long runs keep StyleGAN2-ADA's pace
    assert fitted_ada_speed(320, 32) == 320  # a tiny run: still ten adjustments from 0 to 1
    cfg = tiny_config(steps=500).with_updates("loss", augment="ada")
    assert cfg.loss.ada_speed_images == 0
    assert Trainer(cfg, data=tiny_images(n=8)).config.loss.ada_speed_images == 500 * 8 // 10  # recorded in the run
    chosen = cfg.with_updates("loss", ada_speed_images=123)
    assert Trainer(chosen, data=tiny_images(n=8)).config.loss.ada_speed_images == 123
    with pytest.raises(ConfigError, match="ADA interval"):
        cfg.with_updates("loss", ada_speed_images=-1).validate()


def test_ada_p_turns_on_in_a_short_run_by_default(tmp_path):
    """With StyleGAN2-ADA's 500k images p could reach only 40 * 8 / 500k in this run; fitted, it rises to help."""
    cfg = (tiny_config(steps=40).with_updates("loss", augment="ada")
           .with_updates("train", lr_d=2e-3, checkpoint_every=20))
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_images(n=8))
    reports = list(trainer)
    assert max(r.d_real for r in reports[:20]) > 0.6  # D tells its eight reals apart
    assert max(r.extras["augment_p"] for r in reports) >= 0.2
    assert RunConfig.load(RunFolder(tmp_path / "run").config_path).loss.ada_speed_images == 320
    resumed = Trainer.resume(tmp_path / "run", steps=60, data=tiny_images(n=8))
    assert resumed.config.loss.ada_speed_images == 320  # a longer resumed run keeps the recorded pace


def test_ada_p_stays_zero_when_r_t_is_below_target():
    cfg = tiny_config(steps=12).with_updates("loss", augment="ada", ada_speed_images=800, ada_interval=1)
    trainer = Trainer(cfg, data=tiny_images(n=64))
    # D's outputs pushed below zero: r_t = -1 < target at every adjustment
    def lower(module, args, out):
        return (out[0] - 100.0, out[1]) if isinstance(out, tuple) else out - 100.0

    trainer.discriminator.register_forward_hook(lower)
    reports = list(trainer)
    assert all(r.extras["augment_p"] == 0.0 for r in reports) and reports[-1].extras["ada_rt"] < 0.99


@pytest.mark.parametrize("arch,loss,model", [
    ("dcgan", "hinge", {"conditional": True}),
    ("mlp", "wgan-gp", {}),
    ("stylegan", "bce", {"conditional": True}),
])
def test_ada_at_p1_trains_every_model_and_loss(arch, loss, model):
    res = 32 if arch == "stylegan" else 16
    cfg = tiny_config(arch, loss, steps=2, **model).with_updates("loss", augment="ada", r1_weight=1.0)
    cfg = cfg.with_updates("data", resolution=res)
    if arch == "stylegan":
        cfg = cfg.with_updates("model", capacity=4, w_dim=16, mapping_layers=2)
    trainer = Trainer(cfg, data=tiny_images(n=16, channels=3, resolution=res, classes=3 if model else 0))
    trainer.augmentation.p = 1.0
    for report in trainer:
        assert torch.isfinite(torch.tensor([report.loss_d, report.loss_g])).all() and report.grad_norm_g > 0


def test_augmentation_is_chosen_by_config_and_validated():
    assert augmentation(LossConfig()) is None
    assert isinstance(augmentation(LossConfig(augment="diffaug")), DiffAugment)
    both = augmentation(LossConfig(augment="ada", instance_noise=0.1), batch_images=32)
    assert both.p == 0.0 and both.batch_images == 32
    with pytest.raises(ConfigError, match="augment must be"):
        tiny_config().with_updates("loss", augment="mixup").validate()
    with pytest.raises(ConfigError, match="toy 2D points"):
        (RunConfig().with_updates("data", source="toy:ring8").with_updates("model", arch="mlp")
         .with_updates("loss", augment="ada").validate())
    with pytest.raises(ConfigError, match="ADA target"):
        tiny_config().with_updates("loss", ada_target=1.0).validate()


# -- unrolled GAN --------------------------------------------------------------------------------------------


def _one_step(cfg):
    trainer = Trainer(cfg, data=tiny_images(n=16))
    next(iter(trainer))
    return trainer


def test_unroll_changes_gs_update_and_leaves_d_as_it_was():
    plain = _one_step(tiny_config(steps=1))
    unrolled = _one_step(tiny_config(steps=1).with_updates("train", unroll=3))
    for a, b in zip(plain.discriminator.parameters(), unrolled.discriminator.parameters()):
        assert torch.equal(a, b)  # D's step is the same; the K unrolled steps were undone
    assert torch.equal(plain._opt_D.state_dict()["state"][0]["exp_avg"],
                       unrolled._opt_D.state_dict()["state"][0]["exp_avg"])
    differs = [not torch.equal(a, b) for a, b in zip(plain.generator.parameters(), unrolled.generator.parameters())]
    assert any(differs)  # G answered the unrolled D


def test_unroll_in_a_g_only_step_leaves_d_unchanged():
    control = TrainingControl()
    trainer = Trainer(tiny_config(steps=2, conditional=True).with_updates("train", unroll=2), control=control,
                      data=tiny_images(n=16, classes=3))
    before = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    control.pause()
    control.single_step("g")
    report = next(iter(trainer))
    assert report.loss_d is None and report.loss_g is not None
    for k, v in trainer.discriminator.state_dict().items():
        assert torch.equal(before[k], v)


# -- several discriminators (GMAN) ---------------------------------------------------------------------------


def test_softmax_combination_weights_the_larger_loss_more():
    terms = [torch.tensor(1.0, requires_grad=True), torch.tensor(3.0, requires_grad=True)]
    combined = losses.softmax_combination(terms, lam=1.0)
    combined.backward()
    assert combined > losses.average(terms) and terms[1].grad > terms[0].grad
    assert losses.softmax_combination(terms, lam=0.0).item() == pytest.approx(2.0)  # lambda 0: the mean
    assert losses.softmax_combination(terms, lam=50.0).item() == pytest.approx(3.0)  # large lambda: the max
    objective = losses.build_objective(LossConfig(d_combine="softmax", d_softmax_lambda=2.0))
    values = [torch.tensor(0.5), torch.tensor(2.5)]
    assert objective.combine_g(values) == losses.softmax_combination(values, 2.0)


def test_num_d_trains_n_independent_discriminators(tmp_path):
    cfg = tiny_config(steps=3).with_updates("model", num_d=3).with_updates("loss", d_combine="softmax")
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_images(n=16))
    Ds = trainer.discriminators
    assert len(Ds) == 3 and Ds[0] is trainer.discriminator
    first = [next(D.parameters()).detach().clone() for D in Ds]
    assert not torch.equal(first[0], first[1]) and not torch.equal(first[1], first[2])  # own initialisation
    seen = [watch(D) for D in Ds]
    list(trainer)
    assert all(len(calls) == 9 for calls in seen)  # every D sees real + fake in D steps and fake in G steps
    assert all(not torch.equal(a, next(D.parameters())) for a, D in zip(first, Ds))
    ckpt = trainer.checkpoint()
    assert {"D", "D1", "D2"} <= set(ckpt.modules) and {"G", "D", "D1", "D2"} == set(ckpt.optimizers)
    with pytest.raises(ConfigError, match="number of discriminators"):
        cfg.with_updates("model", num_d=0).validate()


# -- exact resume with each option -----------------------------------------------------------------------------

KEYS = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "augment_p", "ada_rt")


@pytest.mark.parametrize("changes", [
    {"loss": {"augment": "diffaug"}},
    {"loss": {"augment": "ada", "ada_speed_images": 400, "ada_interval": 3}, "train": {"lr_d": 2e-3}},
    {"loss": {"augment": "ada", "ada_interval": 3}, "train": {"lr_d": 2e-3}},  # the pace fitted to the run
    {"train": {"unroll": 2}},
    {"model": {"num_d": 2}, "loss": {"d_combine": "softmax"}},
])
def test_resume_is_exact_with_each_option(tmp_path, changes):
    cfg = tiny_config(steps=14).with_updates("train", checkpoint_every=7, log_every=1, ema=False)
    for section, values in changes.items():
        cfg = cfg.with_updates(section, **values)
    list(Trainer(cfg, tmp_path / "straight", data=tiny_images(n=24)))
    control = TrainingControl()
    first = Trainer(cfg, tmp_path / "resumed", control=control, data=tiny_images(n=24))
    for report in first:
        if report.step == 7:
            control.stop()
    second = Trainer.resume(tmp_path / "resumed", data=tiny_images(n=24))
    assert second.config == first.config and second.augment_p == first.augment_p
    list(second)
    rows = lambda run: [tuple(r.get(k) for k in KEYS) for r in RunFolder(tmp_path / run).read_metrics()]  # noqa
    assert rows("straight") == rows("resumed")
    if changes.get("loss", {}).get("augment") == "ada":
        assert any(r[6] for r in rows("straight"))  # p moved before and after the checkpoint


def test_cli_flags_reach_the_config_and_config_json(tmp_path):
    args = build_parser().parse_args([
        "train", "--data", "folder:x", "--out", str(tmp_path / "r"), "--augment", "ada", "--ada-target", "0.5",
        "--ada-interval", "8", "--ada-speed", "100000", "--unroll", "5", "--num-d", "3",
        "--num-d-combine", "softmax", "--num-d-lambda", "2"])
    cfg = config_from_args(args)
    assert (cfg.loss.augment, cfg.loss.ada_target, cfg.loss.ada_interval, cfg.loss.ada_speed_images) == \
        ("ada", 0.5, 8, 100000)
    assert (cfg.train.unroll, cfg.model.num_d, cfg.loss.d_combine, cfg.loss.d_softmax_lambda) == (5, 3, "softmax", 2.0)
    assert RunConfig.from_json(cfg.to_json()) == cfg
