"""Imported generators (NVIDIA network pickles, rosinality checkpoints): read as data only, rebuilt from our own
StyleGAN2, checked against their tensors before anything is built. Fixtures come from tests/imported_fixtures.py
(our code, our random weights, the original file layouts)."""
from __future__ import annotations

import argparse
import json
import pickle

import pytest
import torch

from ganstudio.core.checkpoints import load_checkpoint, load_generator, save_checkpoint
from ganstudio.core.errors import CheckpointError
from ganstudio.core.imported import (STYLEGAN3, card_summary, convert, import_network, imported_discriminator,
                                     imported_kind, imported_title, read_network, stylegan2)
from ganstudio.core.latent.sampling import is_style_based
from ganstudio.core.render import Renderer, RenderRequest
from tests.imported_fixtures import (TINY, TINY_CONDITIONAL, TINY_D, RunsCode, marker_source, random_discriminator,
                                     random_generator, write_nvidia_pickle, write_rosinality)


@pytest.fixture
def nvidia(tmp_path):
    G = random_generator(stylegan2.ADA, TINY)
    return G, write_nvidia_pickle(tmp_path / "network-snapshot-000100.pkl", G, TINY)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a, b)


@torch.no_grad()
def test_nvidia_pickle_loads_with_its_settings_and_renders_the_same_pixels(nvidia):
    original, path = nvidia
    G, config, card = import_network(path)
    assert is_style_based(G) and G.num_ws == original.num_ws == 6 and G.mapping.w_dim == 16
    assert config.model.resolution == 16 and config.model.z_dim == 16 and not config.model.conditional
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(1))
    img = G(z, None, noise_mode="const")
    assert img.shape == (3, 3, 16, 16) and img.dtype == torch.float32
    assert _same(img, original(z, None, noise_mode="const"))
    assert _same(img, G(z, None, noise_mode="const"))  # deterministic
    assert card["architecture"] == stylegan2.ADA and len(card["source_sha256"]) == 64
    assert "non-commercial" in card["licence"] and card["kwargs"]["synthesis_kwargs"]["channel_max"] == 32
    assert not any(p.requires_grad for p in G.parameters()) and not G.training


@torch.no_grad()
def test_truncation_pulls_toward_w_avg_and_respects_the_cutoff(nvidia):
    G, _, _ = import_network(nvidia[1])
    z = torch.randn(2, 16)
    ws = G.mapping(z, None)
    assert torch.allclose(G.mapping(z, None, truncation_psi=0.0), G.mapping.w_avg.expand_as(ws))
    half = G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=2)
    assert torch.allclose(half[:, :2], (ws[:, :2] + G.mapping.w_avg) / 2, atol=1e-6)
    assert torch.equal(half[:, 2:], ws[:, 2:])
    far = (ws - G.mapping.w_avg).norm()
    assert (G.mapping(z, None, truncation_psi=0.7) - G.mapping.w_avg).norm() < far


@torch.no_grad()
def test_conditional_generator_takes_class_indices_or_one_hot_vectors(tmp_path):
    original = random_generator(stylegan2.ADA, TINY_CONDITIONAL)
    G, config, _ = import_network(write_nvidia_pickle(tmp_path / "cond.pkl", original, TINY_CONDITIONAL))
    assert config.model.conditional and config.model.num_classes == 4
    z = torch.randn(2, 16)
    c = torch.tensor([1, 3])
    one_hot = torch.nn.functional.one_hot(c, 4).float()
    assert _same(G(z, c, noise_mode="none"), G(z, one_hot, noise_mode="none"))
    assert _same(G(z, c, noise_mode="none"), original(z, one_hot, noise_mode="none"))
    assert not torch.allclose(G(z, c, noise_mode="none"), G(z, torch.tensor([0, 2]), noise_mode="none"))
    with pytest.raises(ValueError, match="conditional"):
        G(z, None)
    result = Renderer(G, config).render(RenderRequest(seed=3, class_index=2, psi=0.7))
    assert result.error is None and result.image.shape == (16, 16, 3)


@torch.no_grad()
def test_noise_modes(nvidia):
    G, _, _ = import_network(nvidia[1])
    z = torch.randn(1, 16)
    const, none = G(z, noise_mode="const"), G(z, noise_mode="none")
    assert not torch.allclose(const, none)
    torch.manual_seed(0)
    a = G(z, noise_mode="random")
    torch.manual_seed(1)
    assert not torch.allclose(a, G(z, noise_mode="random"))
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, noise_mode="loud")


def test_stylegan2_repository_variant_and_architectures(tmp_path):
    flat = {k: v for k, v in TINY.items() if k != "synthesis_kwargs"} | dict(channel_base=256, channel_max=32,
                                                                             fused_modconv_default="inference_only")
    G = random_generator(stylegan2.SG3_STYLEGAN2, flat)
    net = read_network(write_nvidia_pickle(tmp_path / "sg3.pkl", G, flat, module_src="fused_modconv_default = 1"))
    assert net.architecture == stylegan2.SG3_STYLEGAN2
    assert stylegan2.generator_kwargs(net.architecture, net.kwargs)["conv_clamp"] == 256  # that code's default
    for arch in ("orig", "resnet"):
        kwargs = dict(TINY, synthesis_kwargs=dict(channel_base=256, channel_max=32, architecture=arch))
        G = random_generator(stylegan2.ADA, kwargs)
        G2, _, _ = import_network(write_nvidia_pickle(tmp_path / f"{arch}.pkl", G, kwargs))
        z = torch.randn(1, 16)
        assert _same(G2(z, noise_mode="const"), G(z, noise_mode="const"))


def test_a_stylegan3_pickle_is_recognized_by_its_structure(tmp_path):
    G = random_generator(stylegan2.ADA, TINY)
    G.synthesis.add_module("input", torch.nn.Linear(2, 2))  # StyleGAN3's synthesis has an `input` (Fourier features)
    net = read_network(write_nvidia_pickle(tmp_path / "sg3.pkl", G, TINY))
    assert net.architecture == STYLEGAN3


@torch.no_grad()
def test_rosinality_checkpoint_maps_onto_the_same_network(tmp_path):
    original = random_generator(stylegan2.ADA, dict(TINY, mapping_kwargs=dict(num_layers=3)))
    G, config, card = import_network(write_rosinality(tmp_path / "550000.pt", original))
    assert card["architecture"] == stylegan2.ROSINALITY and card["kwargs"]["mapping_kwargs"]["num_layers"] == 3
    assert config.model.mapping_layers == 3 and G.num_ws == original.num_ws
    z = torch.randn(2, 16)
    for psi in (1.0, 0.6):
        assert _same(G(z, truncation_psi=psi, noise_mode="const"), original(z, truncation_psi=psi, noise_mode="const"))
    # without args and latent_avg: sizes from the weights, w_avg estimated from samples
    G2, _, card2 = import_network(write_rosinality(tmp_path / "bare.pt", original, with_latent_avg=False, args=False))
    assert _same(G2(z, noise_mode="none"), original(z, noise_mode="none"))
    assert G2.mapping.w_avg.abs().sum() > 0 and "estimated" in card2["notes"][0]


def test_an_imported_model_is_named_by_what_it_is_not_by_its_python_class():
    def card(arch, **kwargs):
        return {"architecture": arch, "kwargs": {"img_resolution": 256, "c_dim": 0, **kwargs}}

    assert imported_title(card(STYLEGAN3)) == "StyleGAN3-T (NVIDIA pickle), 256 px"
    assert imported_title(card(STYLEGAN3, conv_kernel=1, use_radial_filters=True)) == "StyleGAN3-R (NVIDIA pickle), 256 px"
    assert imported_title(card(stylegan2.ADA, c_dim=10)) == "StyleGAN2-ADA (NVIDIA pickle), 256 px, 10 classes"
    assert imported_kind(card(stylegan2.SG3_STYLEGAN2)) == "StyleGAN2 (NVIDIA pickle)"
    assert imported_title(card(stylegan2.ROSINALITY, img_resolution=1024)) == "StyleGAN2 (rosinality), 1024 px"


def test_load_checkpoint_and_convert_accept_foreign_files(nvidia, tmp_path):
    _, path = nvidia
    ckpt = load_checkpoint(path)
    assert ckpt.extra["imported"]["architecture"] == stylegan2.ADA
    G, cfg = load_generator(path)
    out = convert(path, tmp_path / "ffhq.safetensors")
    converted = load_checkpoint(out)
    card = converted.extra["imported"]["card"]
    assert card["source_file"] == path.name and "non-commercial" in card["licence"]
    assert card_summary(card).startswith(f"StyleGAN2-ADA (NVIDIA pickle), 16 px from {path.name} (SHA-256 ")
    G2, cfg2 = load_generator(out)
    z = torch.randn(1, 16)
    with torch.no_grad():
        assert _same(G(z, noise_mode="const"), G2(z, noise_mode="const"))
    assert cfg2.model == cfg.model
    result = Renderer(G2, cfg2).render(RenderRequest(seed=1, psi=0.5))
    assert result.error is None and result.image.shape == (16, 16, 3)


@torch.no_grad()
def test_the_discriminator_comes_along_when_it_fits(tmp_path):
    G, D = random_generator(stylegan2.ADA, TINY), random_discriminator(TINY_D)
    path = write_nvidia_pickle(tmp_path / "snapshot.pkl", G, TINY, D=D, d_kwargs=TINY_D)
    out = convert(path, tmp_path / "snapshot.safetensors")
    ckpt = load_checkpoint(out)
    assert set(ckpt.modules) == {"G_ema", "D"}
    D2 = imported_discriminator(ckpt, name=out.name)
    img = torch.randn(4, 3, 16, 16)
    assert D2(img).shape == (4, 1) and torch.equal(D2(img), D(img))
    wrong = write_nvidia_pickle(tmp_path / "wrong.pkl", G, TINY, D=D, d_kwargs=dict(TINY_D, channel_max=64))
    net = read_network(wrong)  # the generator still imports; the discriminator is left out, with the reason
    assert net.discriminator is None and "discriminator was left out" in net.notes[0]
    with pytest.raises(CheckpointError, match="no discriminator"):
        imported_discriminator(load_checkpoint(wrong))


# -- refusals -----------------------------------------------------------------------------------------


def test_a_pickle_that_would_run_code_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "network.pkl"
    evil.write_bytes(pickle.dumps({"G_ema": RunsCode(marker)}))
    with pytest.raises(CheckpointError, match=r"tries to load posix\.system") as info:
        load_checkpoint(evil)
    assert "\n" not in str(info.value)
    evil.write_bytes(pickle.dumps({"G_ema": eval}, protocol=2))
    with pytest.raises(CheckpointError, match=r"tries to load builtins\.eval"):
        import_network(evil)
    assert not marker.exists()


def test_embedded_module_source_is_never_run(tmp_path):
    marker = tmp_path / "pwned"
    G = random_generator(stylegan2.ADA, TINY)
    path = write_nvidia_pickle(tmp_path / "network.pkl", G, TINY, module_src=marker_source(marker))
    assert import_network(path)[0].num_ws == 6  # the weights are fine; the source is only text
    assert not marker.exists()
    broken = write_nvidia_pickle(tmp_path / "broken.pkl", torch.nn.Linear(2, 2), {}, module_src=marker_source(marker),
                                 rename={"Linear": "Generator"})
    with pytest.raises(CheckpointError, match="not a StyleGAN generator"):
        import_network(broken)
    assert not marker.exists()


def test_a_torch_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"g_ema": {}, "args": RunsCode(marker)}, evil)
    with pytest.raises(CheckpointError, match="refuses to open it") as info:
        load_generator(evil)
    assert "posix.system" in str(info.value) and not marker.exists()
    torch.save({"g_ema": {"w": torch.zeros(1)}, "args": argparse.Namespace(size=4)}, evil)
    with pytest.raises(CheckpointError, match="not a rosinality"):
        import_network(evil)


def test_settings_that_do_not_fit_the_tensors_are_refused_before_building(tmp_path):
    G = random_generator(stylegan2.ADA, TINY)
    lie = dict(TINY, synthesis_kwargs=dict(channel_base=256, channel_max=64))  # wider than the weights
    with pytest.raises(CheckpointError, match=r"do not match the architecture.*b4\.const is \[32, 4, 4\]"):
        import_network(write_nvidia_pickle(tmp_path / "lie.pkl", G, lie))
    huge = dict(TINY, img_resolution=2 ** 20)
    with pytest.raises(CheckpointError, match="resolution 1048576"):
        import_network(write_nvidia_pickle(tmp_path / "huge.pkl", G, huge))
    odd = dict(TINY, synthesis_kwargs=dict(channel_base=256, channel_max=32, magic=1))
    with pytest.raises(CheckpointError, match="does not know"):
        import_network(write_nvidia_pickle(tmp_path / "odd.pkl", G, odd))
    truncated = tmp_path / "cut.pkl"
    truncated.write_bytes((tmp_path / "lie.pkl").read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="not a readable network pickle"):
        import_network(truncated)


def test_an_own_checkpoint_whose_config_lies_about_its_size_is_refused_without_allocating(tmp_path):
    from tests.conftest import tiny_config
    from ganstudio.core.checkpoints import Checkpoint
    from ganstudio.core.models.registry import build_models

    cfg = tiny_config(steps=1)
    G, _ = build_models(cfg.model, cfg.loss)
    lie = Checkpoint(config=cfg.with_updates("model", capacity=200_000), step=1,
                     modules={"G_ema": G.state_dict()})
    path = tmp_path / "lie.safetensors"
    save_checkpoint(path, lie)
    with pytest.raises(CheckpointError, match="do not match the architecture") as info:
        load_generator(path)
    assert "\n" not in str(info.value)
    assert json.loads(json.dumps(str(info.value)))  # a plain sentence


def test_cli_imports_a_pickle_and_samples_from_it(nvidia, tmp_path, capsys):
    from ganstudio.cli import main

    _, path = nvidia
    out = tmp_path / "model.safetensors"
    assert main(["import", str(path), "--out", str(out)]) == 0
    assert out.exists() and "non-commercial" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", str(path), "--n", "2", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").exists()
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle at all")
    assert main(["import", str(bad), "--out", str(tmp_path / "x.safetensors")]) == 1
    assert "error:" in capsys.readouterr().err and not (tmp_path / "x.safetensors").exists()
