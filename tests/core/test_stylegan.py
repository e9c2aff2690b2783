"""StyleGAN: mapping/synthesis semantics (mixing, truncation, classes, noise), shapes, progressive growing,
training with every loss, lazy R1, checkpoints, exact resume, and the CLI's sampling flags."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganstudio.cli import build_parser, config_from_args, main
from ganstudio.core.config import LossConfig, ModelConfig, RunConfig
from ganstudio.core.losses import LOSSES
from ganstudio.core.checkpoints import load_generator
from ganstudio.core.models.registry import build_models
from ganstudio.core.models.stylegan import (
    StyleGANDiscriminator, StyleGANGenerator, growth_at, mix_styles, style_count,
)
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.control import TrainingControl
from ganstudio.core.training.loop import Trainer
from ganstudio.core.errors import ConfigError
from tests.conftest import tiny_images

Z = 16


def style_model(resolution: int = 32, conditional: bool = False, num_classes: int = 0, capacity: int = 4,
                **changes) -> ModelConfig:
    """A tiny StyleGAN architecture (widths 4-32)."""
    return ModelConfig(arch="stylegan", capacity=capacity, z_dim=Z, w_dim=16, mapping_layers=2, channels=3,
                       resolution=resolution, conditional=conditional, num_classes=num_classes, **changes)


def style_config(steps: int = 3, loss: str = "bce", resolution: int = 32, **model) -> RunConfig:
    return (RunConfig()
            .with_updates("data", source="folder:unused", resolution=resolution)
            .with_updates("model", arch="stylegan", capacity=4, z_dim=Z, w_dim=16, mapping_layers=2, **model)
            .with_updates("loss", name=loss)
            .with_updates("train", steps=steps, epochs=None, batch_size=8, sample_every=0, checkpoint_every=0,
                          grid_size=8, device="cpu", lr_g=0.002, lr_d=0.002, betas_g=(0.0, 0.99),
                          betas_d=(0.0, 0.99)))


def generator(**kw) -> StyleGANGenerator:
    torch.manual_seed(0)
    G = StyleGANGenerator(style_model(**kw))
    with torch.no_grad():  # noise strengths start at 0; make the noise visible
        for name, p in G.named_parameters():
            if name.endswith("noise.strength"):
                p.fill_(0.5)
    return G


def trained_w_avg(G: StyleGANGenerator, steps: int = 5) -> None:
    """Training-mode forwards move w_avg away from its zero start."""
    G.train()
    with torch.no_grad():
        for _ in range(steps):
            c = torch.arange(8) % G.c_dim if G.c_dim else None
            G(torch.randn(8, Z), c)
    G.eval()


# -- mapping, mixing, truncation ------------------------------------------------------------------------


def test_style_mixing_takes_rows_below_the_crossover_from_the_first_latent():
    G = generator().eval()
    ws_a, ws_b = G.mapping(torch.randn(3, Z)), G.mapping(torch.randn(3, Z))
    assert ws_a.shape == (3, G.num_ws, 16) and not torch.equal(ws_a, ws_b)
    for crossover in range(G.num_ws + 1):
        mixed = mix_styles(ws_a, ws_b, crossover)
        assert torch.equal(mixed[:, :crossover], ws_a[:, :crossover])
        assert torch.equal(mixed[:, crossover:], ws_b[:, crossover:])
    per_sample = mix_styles(ws_a, ws_b, torch.tensor([1, 4, 8]))
    assert torch.equal(per_sample[1, :4], ws_a[1, :4]) and torch.equal(per_sample[1, 4:], ws_b[1, 4:])
    chosen = mix_styles(ws_a, ws_b, [0, 5, 6])  # any per-row choice
    for row in range(G.num_ws):
        assert torch.equal(chosen[:, row], (ws_b if row in (0, 5, 6) else ws_a)[:, row])
    mixed_image = G.synthesis(mix_styles(ws_a, ws_b, 4), noise_mode="const")
    for other in (ws_a, ws_b):
        assert not torch.allclose(mixed_image, G.synthesis(other, noise_mode="const"))
    with pytest.raises(ValueError, match="rows must be in 0-7"):
        mix_styles(ws_a, ws_b, [8])


def test_psi_zero_renders_the_w_avg_image_for_every_z_and_psi_one_changes_nothing():
    G = generator()
    trained_w_avg(G)
    assert G.w_avg.abs().sum() > 0
    z = torch.randn(4, Z)
    images = G(z, truncation_psi=0.0)
    assert torch.allclose(images, images[:1].expand_as(images))
    w_avg_image = G.synthesis(G.w_avg.expand(1, G.num_ws, -1), noise_mode="const")
    assert torch.allclose(images[:1], w_avg_image, atol=1e-5)
    plain = G.mapping(z)
    assert torch.equal(G.mapping(z, truncation_psi=1.0), plain)
    assert torch.allclose(plain, plain[:, :1].expand_as(plain))  # every row is the same w
    half = G.mapping(z, truncation_psi=0.5)
    assert torch.allclose(half, G.w_avg + 0.5 * (plain - G.w_avg), atol=1e-6)
    cut = G.mapping(z, truncation_psi=0.0, truncation_cutoff=3)
    assert torch.allclose(cut[:, :3], G.w_avg.expand(4, 3, -1)) and torch.equal(cut[:, 3:], plain[:, 3:])
    assert not torch.allclose(G(z), images)


def test_w_avg_tracks_the_mean_w_during_training_only():
    G = generator()
    G.eval()
    G(torch.randn(8, Z))
    assert G.w_avg.abs().sum() == 0  # rendering does not move it
    G.train()
    z = torch.randn(8, Z)
    w = G.mapping(z)[:, 0]
    G(z)  # one training forward: w_avg moves (1 - beta) of the way to the batch's mean w
    assert torch.allclose(G.w_avg, torch.zeros(16).lerp(w.mean(dim=0), 1 - G.mapping.w_avg_beta), atol=1e-6)
    with torch.no_grad():
        for _ in range(1500):
            G.mapping(torch.randn(64, Z), update_w_avg=True)
        mean_w = G.mapping(torch.randn(20000, Z))[:, 0].mean(dim=0)
    assert torch.allclose(G.w_avg, mean_w, atol=0.05 * mean_w.abs().max().item())


def test_the_class_changes_a_conditional_models_output_and_truncation_keeps_it():
    G = generator(conditional=True, num_classes=3)
    trained_w_avg(G)
    z = torch.randn(2, Z)
    zeros, ones = G(z, torch.tensor([0, 0])), G(z, torch.tensor([1, 1]))
    assert not torch.allclose(zeros, ones)
    at_avg = G(z, torch.tensor([2, 1]), truncation_psi=0.0)  # the class's own average
    assert not torch.allclose(at_avg[0], at_avg[1])
    assert torch.allclose(at_avg[1], G(torch.randn(1, Z), torch.tensor([1]), truncation_psi=0.0)[0], atol=1e-5)
    with pytest.raises(ValueError, match="needs class labels"):
        G(z)


def test_const_noise_renders_deterministically_random_noise_does_not():
    G = generator().eval()
    ws = G.mapping(torch.randn(2, Z))
    const = G.synthesis(ws, noise_mode="const")
    assert torch.equal(const, G.synthesis(ws, noise_mode="const"))
    assert torch.equal(const, G.synthesis(ws))  # const is the default outside training
    assert not torch.allclose(G.synthesis(ws, noise_mode="random"), G.synthesis(ws, noise_mode="random"))
    none = G.synthesis(ws, noise_mode="none")
    assert torch.equal(none, G.synthesis(ws, noise_mode="none")) and not torch.allclose(none, const)
    with pytest.raises(ValueError, match="noise_mode"):
        G.synthesis(ws, noise_mode="loud")


@pytest.mark.parametrize("resolution", [32, 64, 128])
@pytest.mark.parametrize("modulation", ["demod", "adain"])
def test_shapes_at_every_resolution(resolution, modulation):
    G, D = build_models(style_model(resolution, conditional=True, num_classes=2, modulation=modulation,
                                    capacity=2), LossConfig())
    c = torch.tensor([0, 1])
    x = G(torch.randn(2, Z), c)
    assert x.shape == (2, 3, resolution, resolution) and torch.isfinite(x).all()
    assert G.num_ws == style_count(resolution) == {32: 8, 64: 10, 128: 12}[resolution]
    assert G.mapping(torch.randn(2, Z), c).shape == (2, G.num_ws, 16)
    out, features = D(x, c, return_features=True)
    assert out.shape == (2,) and features.shape[0] == 2
    # SeFa reads the style affines: one per styled conv (2 per level + 1) and per to-RGB (1 per level + 1)
    affine = [m for name, m in G.synthesis.named_modules() if name.endswith("affine")]
    assert len(affine) == 3 * G.synthesis.levels + 2 and all(m.weight.shape[1] == 16 for m in affine)
    G.eval()
    assert G(torch.randn(2, Z), c).abs().max() <= 1.0  # rendered images are in [-1, 1]
    with pytest.raises(ValueError, match="ws must have shape"):
        G.synthesis(torch.zeros(2, G.num_ws + 1, 16))


# -- progressive growing --------------------------------------------------------------------------------


def test_growth_schedule_runs_from_4x4_to_full_size_with_fade_ins():
    values = [growth_at(s, 1000, 4, 0.5) for s in range(1000)]
    assert values[0] == 0.0 and values[99] == 0.0  # the first slice trains 4x4 alone
    assert values[125] == pytest.approx(0.5)  # fading in 8x8 ...
    assert values[150] == values[199] == 1.0  # ... then stabilizing it
    assert values == sorted(values) and set(values[500:]) == {4.0}
    assert growth_at(5, 10, 4, 0.0) == 4.0


def test_fade_in_is_continuous_and_a_grown_level_changes_the_image():
    torch.manual_seed(0)
    cfg = style_model(64, progressive=True)
    G, D = StyleGANGenerator(cfg).eval(), StyleGANDiscriminator(cfg).eval()
    ws, x = G.mapping(torch.randn(2, Z)), torch.rand(2, 3, 64, 64) * 2 - 1

    def at(growth):
        G.synthesis.growth.fill_(growth)
        D.growth.fill_(growth)
        return G.synthesis(ws, noise_mode="const"), D(x)

    img2, d2 = at(2.0)  # 16x16, upsampled to 64x64
    img_start, d_start = at(2.0 + 1e-6)  # 32x32 has just started to fade in
    assert torch.allclose(img_start, img2, atol=1e-4) and torch.allclose(d_start, d2, atol=1e-4)
    img3, d3 = at(3.0)
    assert not torch.allclose(img3, img2, atol=1e-2) and not torch.allclose(d3, d2, atol=1e-3)


def test_progressive_training_grows_and_samples_at_full_size():
    trainer = Trainer(style_config(steps=12, progressive=True, progressive_share=0.75),
                      data=tiny_images(n=32, channels=3, resolution=32))
    seen = []
    for report in trainer:
        seen.append(float(trainer.generator.synthesis.growth))
        assert math.isfinite(report.loss_d) and math.isfinite(report.loss_g)
    assert seen[0] == 0.0 and seen[-1] == 3.0 and any(0 < g % 1 for g in seen)
    assert float(trainer.discriminator.growth) == 3.0 and float(trainer.ema_generator.synthesis.growth) == 3.0
    assert trainer.sample_fixed().shape == (8, 3, 32, 32)


# -- training, losses, checkpoints ----------------------------------------------------------------------


@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_loss_trains_a_few_steps_without_nan(loss):
    conditional = loss in ("hinge", "wgan-gp")
    cfg = style_config(steps=3, loss=loss, conditional=conditional)
    trainer = Trainer(cfg, data=tiny_images(n=32, channels=3, resolution=32, classes=3 if conditional else 0))
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    for r in trainer:
        assert all(math.isfinite(v) for v in (r.loss_d, r.loss_g, r.d_real, r.d_fake, r.grad_norm_d, r.grad_norm_g))
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters())), "G did not learn"
    samples = trainer.sample_fixed()
    assert samples.shape == (8, 3, 32, 32) and np.isfinite(samples).all() and abs(samples).max() <= 1.0


def test_adain_and_feature_matching_train():
    cfg = style_config(steps=2, modulation="adain").with_updates("loss", feature_matching=True)
    assert all(math.isfinite(r.loss_g) for r in Trainer(cfg, data=tiny_images(n=32, channels=3, resolution=32)))


def test_lazy_r1_runs_every_nth_discriminator_step():
    cfg = style_config(steps=8).with_updates("loss", r1_weight=1.0, r1_interval=4)
    reports = list(Trainer(cfg, data=tiny_images(n=64, channels=3, resolution=32)))
    assert [r.step for r in reports if "r1" in r.extras] == [4, 8]
    assert all(r.extras["r1"] >= 0 for r in reports if "r1" in r.extras)


def test_checkpoint_gives_back_a_stylegan_with_mapping_synthesis_and_w_avg(tmp_path):
    trainer = Trainer(style_config(steps=3), tmp_path / "run", data=tiny_images(n=32, channels=3, resolution=32))
    list(trainer)
    G, cfg = load_generator(RunFolder(tmp_path / "run").latest_checkpoint())
    assert isinstance(G, StyleGANGenerator) and cfg.model.arch == "stylegan"
    assert G.num_ws == 8 and torch.equal(G.w_avg, trainer.ema_generator.w_avg) and G.w_avg.abs().sum() > 0
    ws = G.mapping(trainer.fixed_z, truncation_psi=0.7)
    assert ws.shape == (8, 8, 16) and G.synthesis(ws, noise_mode="const").shape == (8, 3, 32, 32)
    # the run trained in channels_last (the CPU default), the loaded generator is contiguous: last-bit differences
    assert torch.allclose(G(trainer.fixed_z), torch.as_tensor(trainer.sample_fixed()), atol=1e-5)


def test_resume_continues_the_same_trajectory(tmp_path):
    """20 steps + resume + 20 steps logs exactly the losses of 40 steps: mixing, lazy R1, growth, classes."""
    cfg = (style_config(steps=40, conditional=True, progressive=True)
           .with_updates("loss", r1_weight=0.5, r1_interval=3)
           .with_updates("train", checkpoint_every=20, ema=True))

    def data():
        return tiny_images(n=40, channels=3, resolution=32, classes=3)

    straight = Trainer(cfg, tmp_path / "straight", data=data())
    list(straight)
    control = TrainingControl()
    first = Trainer(cfg, tmp_path / "resumed", control=control, data=data())
    for report in first:
        if report.step == 20:
            control.stop()
    second = Trainer.resume(tmp_path / "resumed", data=data())
    assert second.step == 20
    list(second)
    keys = ("loss_d", "loss_g", "d_real", "d_fake", "r1")
    a, b = RunFolder(tmp_path / "straight").read_metrics(), RunFolder(tmp_path / "resumed").read_metrics()
    assert [tuple(r.get(k) for k in keys) for r in a] == [tuple(r.get(k) for k in keys) for r in b]
    for x, y in zip(straight.ema_generator.state_dict().values(), second.ema_generator.state_dict().values()):
        assert torch.equal(x, y)


# -- configuration and the command line -----------------------------------------------------------------


def test_stylegan_settings_are_checked_with_one_clear_sentence():
    assert RunConfig.from_json(style_config(modulation="adain").to_json()) == style_config(modulation="adain")
    for changes, message in [({"data": {"resolution": 48}}, "StyleGAN resolution 48"),
                             ({"data": {"source": "mnist", "resolution": None}}, "set the resolution to 32"),
                             ({"model": {"modulation": "fancy"}}, "modulation must be demod or adain"),
                             ({"model": {"mapping_layers": 0}}, "1 to 16 layers"),
                             ({"model": {"spectral_norm": True}}, "does not use spectral norm"),
                             ({"loss": {"r1_interval": 0}}, "R1 interval")]:
        cfg = style_config()
        for section, values in changes.items():
            cfg = cfg.with_updates(section, **values)
        with pytest.raises(ConfigError, match=message):
            cfg.validate()


def test_face_preset_and_model_defaults_build_the_configuration():
    args = build_parser().parse_args(["train", "--preset", "stylegan-faces-cpu", "--data", "folder:/faces",
                                      "--out", "runs/faces"])
    cfg = config_from_args(args)
    assert (cfg.model.arch, cfg.data.center_crop, cfg.data.resolution, cfg.data.source) == \
        ("stylegan", 70, 64, "folder:/faces")
    assert cfg.loss.r1_interval == 16 and cfg.train.steps == 3000 and cfg.model.mapping_layers == 4
    args = build_parser().parse_args(["train", "--model", "stylegan", "--data", "folder:/faces", "--resolution",
                                      "128", "--mapping-layers", "2", "--modulation", "adain", "--out", "x"])
    cfg = config_from_args(args)
    assert cfg.loss.r1_weight == 1.0 and cfg.train.betas_g == (0.0, 0.99) and cfg.model.w_dim == 512
    assert cfg.model.mapping_layers == 2 and cfg.model.modulation == "adain"


def test_sample_with_psi_mixing_and_noise_mode(tmp_path, capsys):
    trainer = Trainer(style_config(steps=2), tmp_path / "run", data=tiny_images(n=32, channels=3, resolution=32))
    list(trainer)
    run = str(tmp_path / "run")

    def sample(*flags, seed="1"):
        out = tmp_path / "s.npy"
        assert main(["sample", "--checkpoint", run, "--n", "3", "--seed", seed, "--out", str(out), *flags]) == 0
        return np.load(out)

    avg = sample("--psi", "0")
    assert np.allclose(avg, avg[:1]) and not np.allclose(sample(), sample(seed="2"))
    assert np.array_equal(sample("--noise-mode", "const"), sample())
    assert not np.array_equal(sample("--noise-mode", "random"), sample("--noise-mode", "random"))
    mixed = sample("--mix-seed", "5", "--mix-layers", "0-7")  # every row from seed 5: one image three times
    assert np.allclose(mixed, mixed[:1]) and not np.allclose(mixed, sample())
    for flags, message in [(["--mix-layers", "2-9", "--mix-seed", "1"], "outside this model's style rows 0-7"),
                           (["--mix-layers", "2-3"], "needs --mix-seed"),
                           (["--mix-seed", "1", "--mix-layers", "two"], "must look like 4-9")]:
        assert main(["sample", "--checkpoint", run, "--out", str(tmp_path / "x.png"), *flags]) == 1
        assert message in capsys.readouterr().err


def test_style_flags_on_another_model_are_refused_but_psi_truncates_its_z(tmp_path, capsys):
    from tests.conftest import tiny_config

    list(Trainer(tiny_config(steps=1), tmp_path / "dcgan", data=tiny_images()))
    run = str(tmp_path / "dcgan")

    def sample(*flags):
        assert main(["sample", "--checkpoint", run, "--n", "3", "--out", str(tmp_path / "x.npy"), *flags]) == 0
        return np.load(tmp_path / "x.npy")

    assert not np.allclose(sample("--psi", "0.3"), sample())  # the Renderer's truncated normal z
    assert np.array_equal(sample("--psi", "1"), sample())
    capsys.readouterr()
    assert main(["sample", "--checkpoint", run, "--mix-seed", "3", "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["ganstudio sample: error: --mix-seed needs a StyleGAN checkpoint; this one is a dcgan model"]


@pytest.mark.parametrize("conditional", [False, True])
def test_bf16_autocast_trains_a_stylegan_and_keeps_float32_weights(conditional):
    """Regression: under bf16 autocast the mapping's w is bfloat16 and updating the float32 w_avg failed."""
    extra = {"conditional": True, "num_classes": 4} if conditional else {}
    cfg = style_config(steps=3, **extra).with_updates("train", precision="bf16", ema=True)
    data = tiny_images(n=32, channels=3, resolution=32, classes=4 if conditional else 0)
    trainer = Trainer(cfg, data=data)
    reports = list(trainer)
    assert len(reports) == 3 and all(math.isfinite(r.loss_d) and math.isfinite(r.loss_g) for r in reports)
    G = trainer.generator
    assert G.mapping.w_avg.dtype == torch.float32 and G.mapping.w_avg.abs().sum() > 0
    assert all(p.dtype == torch.float32 for p in G.parameters())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ws = G.mapping(torch.randn(2, cfg.model.z_dim), torch.tensor([0, 1]) if conditional else None,
                       truncation_psi=0.7)
    assert ws.dtype == torch.bfloat16 and torch.isfinite(ws.float()).all()
