"""GAN Studio's StyleGAN3 generator (the layout of NVIDIA's G_ema), on tiny random networks.

Agreement with NVIDIA's own implementation is checked by scripts/compare_stylegan3_reference.py against a
checkout of their code, which never enters this repository."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganstudio.core.imported.stylegan3 import (
    StyleGAN3Generator, build_stylegan3, input_transform_matrix, lowpass_filter, set_input_transform,
    synthesis_plan,
)
from ganstudio.core.latent.sampling import is_style_based

TINY = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=64, img_channels=3, channel_base=512, channel_max=16,
            num_layers=6, num_critical=2, magnitude_ema_beta=0.999, mapping_kwargs=dict(num_layers=2))
TINY_R = dict(TINY, conv_kernel=1, use_radial_filters=True, channel_base=1024, channel_max=32)


def tiny(seed: int = 0, **changes) -> StyleGAN3Generator:
    torch.manual_seed(seed)
    return build_stylegan3({**TINY, **changes}).eval()


def test_builds_from_pickle_kwargs_with_nvidia_names_and_shapes():
    G = tiny()
    assert (G.z_dim, G.c_dim, G.w_dim, G.img_resolution, G.img_channels) == (16, 0, 16, 64, 3)
    assert G.num_ws == G.synthesis.num_ws == G.mapping.num_ws == 6 + 2
    assert is_style_based(G)
    state = G.state_dict()
    first, specs = synthesis_plan(64, 3, 512, 16, 6, 2, 2.0, 2 ** 2.1, 2 ** 0.3, 10)
    assert first == dict(channels=16, size=36, sampling_rate=16.0, bandwidth=2.0)
    names = [spec.name for spec in specs]
    assert names[0] == "L0_36_16" and names[-2:] == ["L5_64_8", "L6_64_3"]
    assert G.synthesis.layer_names == names
    assert state["mapping.fc0.weight"].shape == (16, 16) and state["mapping.w_avg"].shape == (16,)
    assert "mapping.fc1.bias" in state and "mapping.embed.weight" not in state
    for key, shape in [("input.weight", (16, 16)), ("input.affine.weight", (4, 16)), ("input.affine.bias", (4,)),
                       ("input.transform", (3, 3)), ("input.freqs", (16, 2)), ("input.phases", (16,)),
                       ("L0_36_16.weight", (16, 16, 3, 3)), ("L0_36_16.affine.weight", (16, 16)),
                       ("L0_36_16.magnitude_ema", ()), ("L0_36_16.up_filter", (12,)),
                       ("L0_36_16.down_filter", (12,)), ("L6_64_3.weight", (3, 8, 1, 1))]:
        assert state[f"synthesis.{key}"].shape == shape, key
    # ToRGB neither up- nor downsamples, so it has no filters (NVIDIA's state dict has none either)
    assert "synthesis.L6_64_3.up_filter" not in state and "synthesis.L6_64_3.down_filter" not in state
    assert torch.equal(state["synthesis.input.affine.bias"], torch.tensor([1.0, 0, 0, 0]))


def test_image_shape_determinism_and_ignored_noise_mode():
    G = tiny()
    z = torch.randn(2, 16)
    with torch.no_grad():
        a = G(z, None)
        b = G(z, None, noise_mode="random")
        c = G.synthesis(G.mapping(z, None), noise_mode="none")
    assert a.shape == (2, 3, 64, 64) and a.dtype == torch.float32
    assert torch.equal(a, b) and torch.allclose(a, c)
    assert torch.isfinite(a).all() and a.std() > 1e-3
    assert not torch.allclose(a[0], a[1])
    assert torch.equal(tiny()(z).detach(), a)  # the same seed builds the same network


def test_state_dict_round_trip_and_mismatch_refused():
    G = tiny(seed=1)
    with torch.no_grad():  # give buffers values a fresh build would not have
        G.mapping.w_avg.normal_()
        G.synthesis.input.affine.weight.normal_()
        for name in G.synthesis.layer_names:
            getattr(G.synthesis, name).magnitude_ema.fill_(0.7)
    H = tiny(seed=2)
    H.load_state_dict(G.state_dict())
    z = torch.randn(1, 16)
    with torch.no_grad():
        assert torch.equal(G(z, truncation_psi=0.6), H(z, truncation_psi=0.6))
    with pytest.raises(RuntimeError):
        tiny(channel_max=32).load_state_dict(G.state_dict())


def test_truncation_pulls_rows_before_the_cutoff_towards_w_avg():
    G = tiny()
    with torch.no_grad():
        G.mapping.w_avg.normal_()
        z = torch.randn(3, 16)
        free = G.mapping(z, None)
        none = G.mapping(z, None, truncation_psi=0.0)
        half = G.mapping(z, None, truncation_psi=0.5, truncation_cutoff=3)
    assert free.shape == (3, G.num_ws, 16)
    assert torch.allclose(none, G.mapping.w_avg.expand_as(none))
    assert torch.allclose(half[:, :3], (free[:, :3] + G.mapping.w_avg) / 2, atol=1e-6)
    assert torch.equal(half[:, 3:], free[:, 3:])


def test_update_emas_tracks_w_avg_and_input_magnitudes():
    G = tiny()
    layer = getattr(G.synthesis, G.synthesis.layer_names[0])
    G(torch.randn(4, 16), update_emas=True)
    assert G.mapping.w_avg.abs().sum() > 0
    assert layer.magnitude_ema.item() != 1.0


def test_conditional_generator_takes_one_hot_rows_or_class_indices():
    G = tiny(c_dim=4)
    assert G.state_dict()["mapping.embed.weight"].shape == (16, 4)
    assert G.state_dict()["mapping.fc0.weight"].shape == (16, 32)  # z and the embedded class side by side
    z = torch.randn(1, 16).repeat(2, 1)
    with torch.no_grad():
        by_index = G(z, torch.tensor([1, 3]))
        by_row = G(z, torch.nn.functional.one_hot(torch.tensor([1, 3]), 4).float())
        ws = G.mapping(z[:1], torch.tensor([2]), truncation_psi=0.7)  # as the explorer calls it
    assert torch.equal(by_index, by_row)
    assert not torch.allclose(by_index[0], by_index[1])
    assert ws.shape == (1, G.num_ws, 16)
    with pytest.raises(ValueError, match="conditional"):
        G(z, None)
    with pytest.raises(ValueError, match="shape"):
        G(z, torch.zeros(2, 3))


def test_transform_matches_the_visualizer_and_translation_moves_content():
    for x, y, degrees in [(0.1, -0.25, 0.0), (0.0, 0.0, 30.0), (-0.3, 0.2, -100.0)]:
        a = math.radians(degrees)
        visualizer = np.array([[math.cos(a), math.sin(a), x], [-math.sin(a), math.cos(a), y], [0, 0, 1]])
        assert np.allclose(input_transform_matrix(x, y, degrees).numpy(), np.linalg.inv(visualizer), atol=1e-6)
    G = tiny()
    z = torch.randn(1, 16)
    inner = slice(16, 48)
    with torch.no_grad():
        still = G(z)
        set_input_transform(G, x=4 / 64)  # four pixels to the right
        right = G(z)
        set_input_transform(G, y=-4 / 64)  # four pixels up
        up = G(z)
        set_input_transform(G, degrees=360.0)
        turned = G(z)
        set_input_transform(G)
        assert torch.equal(G.synthesis.input.transform, torch.eye(3))
    assert (right - still)[..., inner, inner].abs().mean() > 1e-2
    assert torch.allclose(right[..., inner, inner], still.roll(4, dims=3)[..., inner, inner], atol=1e-4)
    assert torch.allclose(up[..., inner, inner], still.roll(-4, dims=2)[..., inner, inner], atol=1e-4)
    assert torch.allclose(turned, still, atol=1e-4)


def test_t_and_r_variants_differ_in_kernels_and_filters():
    torch.manual_seed(0)
    T, R = build_stylegan3(TINY), build_stylegan3(TINY_R)
    t_layers = [getattr(T.synthesis, n) for n in T.synthesis.layer_names]
    r_layers = [getattr(R.synthesis, n) for n in R.synthesis.layer_names]
    assert all(layer.weight.shape[2:] == (3, 3) for layer in t_layers[:-1])
    assert all(layer.weight.shape[2:] == (1, 1) for layer in r_layers)
    assert all(layer.down_filter.dim() == 1 for layer in t_layers[:-1])
    # radial (2-D) downsampling filters, except in the critically sampled layers at the end
    assert [layer.down_filter.dim() for layer in r_layers[:-1]] == [2, 2, 2, 2, 1, 1]
    assert all(layer.up_filter.dim() == 1 for layer in r_layers[:-1])
    with torch.no_grad():
        image = R.eval()(torch.randn(1, 16))
    assert image.shape == (1, 3, 64, 64) and torch.isfinite(image).all()


def test_designed_filters_match_scipy():
    signal = pytest.importorskip("scipy.signal")
    special = pytest.importorskip("scipy.special")
    for taps, cutoff, width, fs in [(12, 2.0, 6.0, 32), (24, 11.3, 4.2, 128), (12, 32.0, 12.4, 128)]:
        expected = signal.firwin(numtaps=taps, cutoff=cutoff, width=width, fs=fs)
        assert np.allclose(lowpass_filter(taps, cutoff, width, fs).numpy(), expected, atol=1e-7)
    taps, cutoff, width, fs = 12, 5.0, 3.0, 32
    x = (np.arange(taps) - (taps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    window = np.kaiser(taps, signal.kaiser_beta(signal.kaiser_atten(taps, width / (fs / 2))))
    expected = special.j1(2 * cutoff * np.pi * r) / (np.pi * r) * np.outer(window, window)
    designed = lowpass_filter(taps, cutoff, width, fs, radial=True).numpy()
    assert np.allclose(designed, expected / expected.sum(), atol=1e-7)
    assert lowpass_filter(1, 2.0, 1.0, 16) is None
    odd = lowpass_filter(5, 4.0, 2.0, 16, radial=True)  # a tap at radius 0 takes the jinc's limit
    assert torch.isfinite(odd).all() and abs(odd.sum().item() - 1) < 1e-6


def test_builds_on_the_meta_device_for_shape_checks():
    released_r = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3, channel_base=65536,
                      channel_max=1024, conv_kernel=1, use_radial_filters=True, mapping_kwargs={"num_layers": 2})
    with torch.device("meta"):
        T = build_stylegan3({**TINY, "img_resolution": 1024, "channel_base": 32768, "channel_max": 512,
                             "num_layers": 14})
        R = build_stylegan3(released_r)
    assert T.num_ws == R.num_ws == 16 and T.synthesis.layer_names[-1] == "L14_1024_3"
    assert R.synthesis.layer_names[:2] == ["L0_36_1024", "L1_36_1024"]
    assert R.synthesis.layer_names[9:] == ["L9_532_256", "L10_1044_161", "L11_1044_102", "L12_1044_64",
                                           "L13_1024_64", "L14_1024_3"]
    assert all(t.is_meta for G in (T, R) for t in G.state_dict().values())


def test_unknown_or_missing_settings_are_refused():
    with pytest.raises(ValueError, match="synthesis settings: bogus"):
        build_stylegan3({**TINY, "bogus": 1})
    with pytest.raises(ValueError, match="mapping settings: depth"):
        build_stylegan3({**TINY, "mapping_kwargs": {"depth": 3}})
    with pytest.raises(ValueError, match="lack img_resolution"):
        build_stylegan3({k: v for k, v in TINY.items() if k != "img_resolution"})
    build_stylegan3({**TINY, "num_fp16_res": 4, "conv_clamp": None})  # recorded by NVIDIA, accepted
    with pytest.raises(ValueError, match="ws must have shape"):
        tiny().synthesis(torch.zeros(1, 3, 16))
