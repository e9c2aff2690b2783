"""Every architecture x loss trains a few steps without NaN; the tricks change what they should."""
from __future__ import annotations

import math

import pytest
import torch

from ganstudio.core.config import ModelConfig, LossConfig
from ganstudio.core.losses import LOSSES
from ganstudio.core import losses
from ganstudio.core.models.layers import MinibatchDiscrimination, MinibatchStdDev
from ganstudio.core.models.registry import build_models
from ganstudio.core.training.loop import Trainer
from tests.conftest import tiny_config, tiny_images


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("arch,conditional,d_condition", [
    ("mlp", False, "projection"), ("mlp", True, "concat"), ("mlp", True, "projection"),
    ("dcgan", False, "projection"), ("dcgan", True, "concat"), ("dcgan", True, "projection"),
])
def test_every_model_and_loss_trains_without_nan(arch, conditional, d_condition, loss):
    cfg = tiny_config(arch, loss, steps=3, conditional=conditional, d_condition=d_condition)
    trainer = Trainer(cfg, data=tiny_images(classes=4 if conditional else 0))
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    reports = list(trainer)
    assert len(reports) == 3
    for r in reports:
        assert all(math.isfinite(v) for v in (r.loss_d, r.loss_g, r.d_real, r.d_fake, r.grad_norm_d, r.grad_norm_g))
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters())), "G did not learn"
    samples = trainer.sample_fixed()
    assert samples.shape == (8, 1, 16, 16) and abs(samples).max() <= 1.0


@pytest.mark.parametrize("switches", [
    {"spectral_norm": True}, {"minibatch_std": True}, {"minibatch_discrimination": True}, {"d_dropout": 0.2},
    {"d_norm": "layer"}, {"d_norm": "none"},
])
def test_discriminator_switches_train(switches):
    trainer = Trainer(tiny_config("dcgan", "hinge", steps=2, **switches), data=tiny_images())
    assert all(math.isfinite(r.loss_d) for r in trainer)


@pytest.mark.parametrize("loss_switches", [
    {"label_smoothing": 0.1}, {"instance_noise": 0.1}, {"feature_matching": True}, {"r1_weight": 1.0},
])
def test_loss_tricks_train(loss_switches):
    cfg = tiny_config("dcgan", "bce", steps=2)
    cfg = cfg.with_updates("loss", **loss_switches)
    reports = list(Trainer(cfg, data=tiny_images()))
    assert all(math.isfinite(r.loss_d) and math.isfinite(r.loss_g) for r in reports)
    if "r1_weight" in loss_switches:
        assert reports[-1].extras["r1"] >= 0


def test_d_steps_per_g_step_uses_that_many_real_batches():
    cfg = tiny_config(steps=2).with_updates("train", d_steps=3)
    trainer = Trainer(cfg, data=tiny_images(n=128))
    list(trainer)
    assert trainer.position == 2 * 3 * 8


def test_wgan_weight_clipping_bounds_every_critic_weight():
    trainer = Trainer(tiny_config("dcgan", "wgan", steps=2).with_updates("loss", clip_value=0.005),
                      data=tiny_images())
    list(trainer)
    assert max(p.abs().max().item() for p in trainer.discriminator.parameters()) <= 0.005 + 1e-7


@pytest.mark.parametrize("res", [16, 28, 32, 64, 128])
def test_dcgan_shapes_at_every_resolution(res):
    G, D = build_models(ModelConfig(arch="dcgan", resolution=res, channels=3, capacity=8, z_dim=8), LossConfig())
    x = G(torch.randn(2, 8))
    assert x.shape == (2, 3, res, res)
    assert D(x).shape == (2,)
    convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert convs and not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in D.modules())
    w = convs[1].weight
    assert abs(w.std().item() - 0.02) < 0.005  # N(0, 0.02) init


def test_conditional_generator_output_depends_on_class():
    G, _ = build_models(ModelConfig(arch="dcgan", conditional=True, num_classes=10, capacity=8, z_dim=8,
                                    resolution=16), LossConfig())
    G.eval()
    z = torch.randn(1, 8).repeat(2, 1)
    x = G(z, torch.tensor([0, 1]))
    assert not torch.allclose(x[0], x[1])
    with pytest.raises(ValueError, match="needs class labels"):
        G(z)


def test_loss_values_match_their_definitions():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    expected_bce_d = -(torch.log(sig(real)).mean() + torch.log(1 - sig(fake)).mean())
    assert torch.allclose(losses.d_minimax(real, fake), expected_bce_d)
    assert torch.allclose(losses.g_nonsaturating(fake), -torch.log(sig(fake)).mean())
    assert torch.allclose(losses.g_minimax(fake), torch.log(1 - sig(fake)).mean())
    assert torch.allclose(losses.d_wasserstein(real, fake), fake.mean() - real.mean())
    assert torch.allclose(losses.d_hinge(real, fake), torch.tensor((0.0 + 2.0) / 2 + (1.5 + 0.0) / 2))
    assert torch.allclose(losses.d_least_squares(real, fake),
                          0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean())
    # one-sided label smoothing moves only the real target
    smoothed = losses.d_minimax(real, fake, 0.9)
    assert not torch.allclose(smoothed, expected_bce_d)


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    class Linear:  # D(x) = sum(w * x) with ||w|| = 1 has gradient norm exactly 1 everywhere
        w = torch.tensor([0.6, 0.8])

        def __call__(self, x, c=None):
            return (x * self.w).sum(dim=1)

    gp = losses.gradient_penalty(Linear(), torch.randn(5, 2), torch.randn(5, 2), None)
    assert gp.item() < 1e-10


def test_minibatch_layers_append_features():
    x = torch.randn(8, 4, 3, 3)
    assert MinibatchStdDev()(x).shape == (8, 5, 3, 3)
    same = MinibatchStdDev()(torch.ones(8, 6))
    assert same[:, -1].abs().max() < 1e-3  # identical samples have no spread
    mbd = MinibatchDiscrimination(6, out_features=5)
    assert mbd(torch.randn(8, 6)).shape == (8, 11)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_projection_discriminator_starts_with_logits_on_the_unconditional_scale(arch):
    """A badly scaled class projection swamps D's logit and makes G ignore z within each class."""
    torch.manual_seed(0)
    x, c = torch.rand(64, 1, 28, 28) * 2 - 1, torch.randint(0, 10, (64,))
    spreads = {}
    for conditional in (False, True):
        m = ModelConfig(arch=arch, resolution=28, channels=1, conditional=conditional, num_classes=10)
        _, D = build_models(m, LossConfig())
        with torch.no_grad():
            spreads[conditional] = D(x, c if conditional else None).std().item()
    assert spreads[True] < 5 * spreads[False] + 1.0
