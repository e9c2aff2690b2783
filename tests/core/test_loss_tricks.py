"""Label smoothing, instance noise and feature matching do what they say: each test fails when its trick is off.

D's calls are watched with forward hooks on the trainer's discriminator: in a step with one D update, D sees the
real batch (with features), the fake batch, then the G step's fake batch.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganstudio.core import losses
from ganstudio.core.training.control import TrainingControl
from ganstudio.core.training.discriminator_view import DiscriminatorView, InstanceNoise
from ganstudio.core.training.loop import Trainer
from tests.conftest import tiny_config, tiny_images


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is fastest and exact


def watch_discriminator(trainer: Trainer) -> list[dict]:
    """Every call of D from now on: its input, its output and its features (None when not asked for)."""
    calls = []

    def hook(module, args, kwargs, output):
        out, features = output if kwargs.get("return_features") else (output, None)
        calls.append({"input": args[0].detach().clone(), "out": out.detach().float().clone(),
                      "features": None if features is None else features.detach().float().clone()})

    trainer.discriminator.register_forward_hook(hook, with_kwargs=True)
    return calls


def first_step(cfg, **data):
    trainer = Trainer(cfg, data=tiny_images(**data))
    calls = watch_discriminator(trainer)
    report = next(iter(trainer))
    return report, calls


# -- label smoothing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss,formula", [
    ("bce", lambda r, f, t: F.binary_cross_entropy_with_logits(r, torch.full_like(r, t))
     + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))),
    ("lsgan", lambda r, f, t: 0.5 * ((r - t) ** 2).mean() + 0.5 * (f ** 2).mean()),
])
def test_label_smoothing_sets_ds_real_target(loss, formula):
    cfg = tiny_config("dcgan", loss, steps=3).with_updates("loss", label_smoothing=0.2)
    report, calls = first_step(cfg)
    real_out, fake_out = calls[0]["out"], calls[1]["out"]
    assert report.loss_d == pytest.approx(formula(real_out, fake_out, 0.8).item(), rel=1e-6)
    assert report.loss_d != pytest.approx(formula(real_out, fake_out, 1.0).item(), rel=1e-3)


def test_label_smoothing_keeps_d_of_real_near_its_target():
    """D trained alone: with smoothing 0.3 its mean D(x) settles near 0.7; without, it heads for 1."""
    def d_real_after_training(smoothing):
        cfg = (tiny_config("dcgan", "bce", steps=400).with_updates("loss", label_smoothing=smoothing)
               .with_updates("train", lr_d=2e-3))
        control = TrainingControl()
        control.pause()
        for _ in range(60):
            control.single_step("d")
        trainer = Trainer(cfg, control=control, data=tiny_images(n=32))
        seen = []
        for report in trainer:
            seen.append(report.d_real)
            if len(seen) == 60:
                control.stop()
        return sum(seen[-15:]) / 15

    smoothed, plain = d_real_after_training(0.3), d_real_after_training(0.0)
    assert 0.6 < smoothed < 0.8, smoothed
    assert plain > 0.9, plain


# -- instance noise -------------------------------------------------------------------------------------------


def test_instance_noise_adds_the_scheduled_std_to_what_d_sees():
    """std 0.4 annealed over 4 steps: D's real input is the batch plus noise of std 0.4, 0.3, 0.2, 0.1."""
    data = tiny_images(n=64)
    cfg = tiny_config("dcgan", "bce", steps=4).with_updates("loss", instance_noise=0.4)
    trainer = Trainer(cfg, data=data)
    calls = watch_discriminator(trainer)
    list(trainer)
    order = data.epoch_order(0, cfg.train.seed)
    assert len(calls) == 3 * 4  # real, fake, G's fake per step
    for k in range(4):
        real = data.get(order[8 * k:8 * k + 8])[0]
        noise = calls[3 * k]["input"] - real
        assert noise.std().item() == pytest.approx(0.4 * (1 - k / 4), rel=0.1)
        assert abs(noise.mean().item()) < 0.05


def test_without_instance_noise_d_sees_the_batch_itself():
    data = tiny_images(n=64)
    trainer = Trainer(tiny_config("dcgan", "bce", steps=1), data=data)
    calls = watch_discriminator(trainer)
    list(trainer)
    assert torch.equal(calls[0]["input"], data.get(data.epoch_order(0, 0)[:8])[0])


def test_instance_noise_anneals_to_zero_on_every_batch_d_sees():
    seen_by = []
    view = DiscriminatorView([lambda x, c: seen_by.append(x) or x.sum()], augment=InstanceNoise(0.5))
    x = torch.zeros(256, 16)
    view.set_training_progress(0, 10)
    view.see([x, x], None)
    assert [b.std().item() for b in seen_by] == pytest.approx([0.5, 0.5], rel=0.05)
    view.set_training_progress(5, 10)
    seen_by.clear()
    view.see([x], None)
    assert seen_by[0].std().item() == pytest.approx(0.25, rel=0.05)
    view.set_training_progress(10, 10)
    seen_by.clear()
    view.see([x], None)
    assert torch.equal(seen_by[0], x)


# -- feature matching -----------------------------------------------------------------------------------------


def test_feature_matching_g_loss_is_the_distance_of_ds_mean_features():
    cfg = tiny_config("dcgan", "bce", steps=3).with_updates("loss", feature_matching=True)
    report, calls = first_step(cfg)
    real_features, g_call = calls[0]["features"], calls[2]
    assert g_call["features"] is not None, "the G step did not ask D for its features"
    distance = (real_features.mean(0) - g_call["features"].mean(0)).pow(2).mean().item()
    assert report.loss_g == pytest.approx(distance, rel=1e-6)
    assert report.loss_g != pytest.approx(losses.g_nonsaturating(g_call["out"]).item(), rel=1e-3)


def test_without_feature_matching_g_loss_is_the_adversarial_loss():
    report, calls = first_step(tiny_config("dcgan", "bce", steps=3))
    assert report.loss_g == pytest.approx(losses.g_nonsaturating(calls[2]["out"]).item(), rel=1e-6)
