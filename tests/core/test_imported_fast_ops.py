"""The fast forms of the imported StyleGANs' operations (polyphase FIR filters, styles folded into the weight,
in-place activations, channels_last) against their definitions written out step by step, and the preview that a
StyleGAN2 'skip' network gives at a lower block. Agreement of whole networks with NVIDIA's code is checked by
scripts/compare_with_reference.py and scripts/compare_stylegan3_reference.py."""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from ganstudio.core.imported import STYLEGAN3, ImportedNetwork, run_config, stylegan2, stylegan3
from ganstudio.core.imported.stylegan2 import (downsample2d, modulated_conv2d, setup_filter, upfirdn2d,
                                               upfirdn2d_direct, upsample2d)
from ganstudio.core.imported.stylegan3 import _upsample_axis, build_stylegan3, filtered_lrelu, lowpass_filter
from ganstudio.core.render import Renderer, RenderRequest
from tests.imported_fixtures import TINY, random_generator

TOL = dict(atol=1e-5, rtol=1e-5)
SG3_TINY = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=16, img_channels=3, channel_base=256, channel_max=16,
                num_layers=4, num_critical=1)


def _x(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("taps, up, down, pad, gain, channels_last", [
    ((1, 3, 3, 1), 2, 1, (2, 1, 2, 1), 4.0, False),  # upsample2d
    ((1, 3, 3, 1), 1, 2, (1, 1, 1, 1), 1.0, True),  # downsample2d
    ((1, 3, 3, 1), 1, 1, (1, 1, 1, 1), 4.0, True),  # the filter after a transposed convolution
    ((1, 2, 5, 2, 1), 2, 1, (3, 0, -1, 2), 1.5, False),  # odd taps, asymmetric and negative padding
    ((1, 3, 3, 1), 3, 2, (0, 2, 1, -1), 2.0, True),  # up and down together
    (tuple(range(1, 9)), 2, 1, (4, 3, 4, 3), 4.0, False),  # 8 taps: a separable 1-D filter
    (tuple(range(1, 9)), 1, 2, (3, 4, -2, 5), 1.0, True),
])
def test_upfirdn2d_equals_its_definition(taps, up, down, pad, gain, channels_last):
    f = setup_filter(taps)
    x = _x(2, 5, 9, 11)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    fast, direct = upfirdn2d(x, f, up, down, pad, gain), upfirdn2d_direct(x, f, up, down, pad, gain)
    assert fast.shape == direct.shape and torch.allclose(fast, direct, **TOL)
    bias = _x(5, seed=1)
    assert torch.allclose(upfirdn2d(x, f, up, down, pad, gain, bias=bias), direct + bias[:, None, None], **TOL)


def test_resampling_helpers_keep_their_sizes_and_brightness():
    f = setup_filter([1, 3, 3, 1])
    x = torch.ones(1, 2, 8, 8)
    assert torch.allclose(upsample2d(x, f)[..., 2:-2, 2:-2], torch.ones(1, 2, 12, 12))
    assert torch.allclose(downsample2d(x, f)[..., 1:-1, 1:-1], torch.ones(1, 2, 2, 2))


def _modulated_conv2d_definition(x, weight, styles, up, padding, f, demodulate=True):
    """Each sample's own weight (styles on its inputs, demodulated outputs), one grouped convolution: the
    straightforward form."""
    n, _, kh, kw = x.shape[0], weight.shape[1], *weight.shape[2:]
    w = weight[None] * styles[:, None, :, None, None]
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()[:, :, None, None, None]
    w = w.reshape(-1, weight.shape[1], kh, kw)
    x = x.reshape(1, -1, *x.shape[2:])
    if up > 1:
        # transposed convolution per group, then the FIR filter (the definition of the up-sampling conv)
        wt = w.reshape(n, -1, weight.shape[1], kh, kw).transpose(1, 2).reshape(-1, weight.shape[0], kh, kw)
        y = F.conv_transpose2d(x, wt, stride=2, groups=n)
        y = upfirdn2d_direct(y, f, pad=(1, 1, 1, 1), gain=4)
    else:
        y = F.conv2d(x, w, padding=padding, groups=n)
    return y.reshape(n, -1, *y.shape[2:])


@pytest.mark.parametrize("n, up, size, demodulate", list(itertools.product((1, 3), (1, 2), (4, 12), (True, False))))
def test_modulated_conv2d_equals_per_sample_weights(n, up, size, demodulate):
    f = setup_filter([1, 3, 3, 1])
    x, weight, styles = _x(n, 6, size, size), _x(5, 6, 3, 3, seed=1), _x(n, 6, seed=2) + 1
    noise, bias = _x(n, 1, size * up, size * up, seed=3), _x(5, seed=4)
    expected = _modulated_conv2d_definition(x, weight, styles, up, 1, f, demodulate)
    got = modulated_conv2d(x.contiguous(memory_format=torch.channels_last), weight, styles, noise, up=up, padding=1,
                           resample_filter=f, demodulate=demodulate, gain=1.7, bias=bias)
    assert torch.allclose(got, 1.7 * (expected + noise) + bias[:, None, None], **TOL)


def _upsample_axis_definition(x, taps, up, pad, dim):
    """Zero-stuff along `dim`, zero-pad, convolve (valid part) with `taps`."""
    n, c, h, w = x.shape
    if dim == 3:
        x = F.pad(x.reshape(n, c, h, w, 1), [0, up - 1]).reshape(n, c, h, w * up)
        x = F.pad(x, [pad[0], pad[1], 0, 0])
        k = taps.flip(0).reshape(1, 1, 1, -1)
    else:
        x = F.pad(x.reshape(n, c, h, 1, w), [0, 0, 0, up - 1]).reshape(n, c, h * up, w)
        x = F.pad(x, [0, 0, pad[0], pad[1]])
        k = taps.flip(0).reshape(1, 1, -1, 1)
    return F.conv2d(x, k.expand(c, *k.shape[1:]), groups=c)


@pytest.mark.parametrize("up, taps, pad, dim", [(2, 12, (5, 6), 3), (2, 12, (-3, 9), 2), (4, 24, (10, 11), 3),
                                                (1, 1, (2, 2), 2), (2, 1, (0, -1), 3), (1, 6, (-2, 4), 2)])
def test_polyphase_upsampling_equals_zero_stuffing(up, taps, pad, dim):
    f = lowpass_filter(taps, 3.0, 2.0, 16.0) if taps > 1 else None
    x = _x(1, 3, 7, 9).contiguous(memory_format=torch.channels_last)
    got = _upsample_axis(x, f, up, pad, dim, gain=1.3)
    expected = _upsample_axis_definition(x, torch.ones(1) if f is None else f, up, pad, dim) * 1.3
    assert got.shape == expected.shape and torch.allclose(got, expected, **TOL)


def test_filtered_lrelu_equals_its_definition():
    up_f, down_f = lowpass_filter(12, 3.0, 2.0, 16.0), lowpass_filter(12, 3.0, 2.0, 16.0)
    x, bias = _x(2, 4, 10, 10), _x(4, seed=1)
    got = filtered_lrelu(x, bias, up_f, down_f, 2, 2, (6, 5, 6, 5), 2 ** 0.5, 0.2, 0.8)
    y = x + bias[:, None, None]
    y = _upsample_axis_definition(y, up_f * 2, 2, (6, 5), 3)
    y = _upsample_axis_definition(y, up_f * 2, 2, (6, 5), 2)
    y = (F.leaky_relu(y, 0.2) * 2 ** 0.5).clamp(-0.8, 0.8)
    y = F.conv2d(y, down_f.flip(0).reshape(1, 1, 1, -1).expand(4, 1, 1, 12), stride=(1, 2), groups=4)
    y = F.conv2d(y, down_f.flip(0).reshape(1, 1, -1, 1).expand(4, 1, 12, 1), stride=(2, 1), groups=4)
    assert got.shape == y.shape and torch.allclose(got, y, **TOL)


def _sg3(seed: int = 0, **changes) -> stylegan3.StyleGAN3Generator:
    torch.manual_seed(seed)
    G = build_stylegan3({**SG3_TINY, **changes}).eval()
    with torch.no_grad():
        for t in G.parameters():
            t.add_(torch.randn_like(t) * 0.2)
        for layer in G.synthesis.layer_names:
            getattr(G.synthesis, layer).magnitude_ema.fill_(0.7)
    return G


@pytest.mark.parametrize("make", [lambda: random_generator(stylegan2.ADA, TINY), _sg3,
                                  lambda: _sg3(use_radial_filters=True, conv_kernel=1)])
def test_one_sample_folded_into_the_weight_equals_the_batched_path(make):
    G = make()
    with torch.no_grad():
        ws = G.mapping(_x(3, 16), None)
        together = G.synthesis(ws, noise_mode="const")
        alone = torch.cat([G.synthesis(ws[i:i + 1], noise_mode="const") for i in range(3)])
    assert together.is_contiguous() and torch.allclose(alone, together, **TOL)


@pytest.mark.parametrize("make", [lambda: random_generator(stylegan2.ADA, TINY), _sg3])
def test_gradients_reach_ws_through_the_fast_ops(make):
    G = make().requires_grad_(False)
    ws = G.mapping(_x(1, 16), None).detach().requires_grad_(True)
    G.synthesis(ws, noise_mode="const").square().mean().backward()
    assert ws.grad is not None and torch.isfinite(ws.grad).all() and ws.grad.abs().sum() > 0


@torch.no_grad()
def test_kept_weight_energy_follows_new_weights():
    G, other = random_generator(stylegan2.ADA, TINY, seed=0), random_generator(stylegan2.ADA, TINY, seed=1)
    ws = G.mapping(_x(1, 16), None)
    G.synthesis(ws, noise_mode="const")  # fills the kept energies
    G.load_state_dict(other.state_dict())
    assert torch.equal(G.synthesis(ws, noise_mode="const"), other.synthesis(ws, noise_mode="const"))


# -- the preview ----------------------------------------------------------------------------------------------

PREVIEW_KW = dict(TINY, img_resolution=64)


def _renderer(G: torch.nn.Module, arch: str, kwargs: dict) -> Renderer:
    return Renderer(G, run_config(ImportedNetwork(arch, kwargs, {}, "test"), "test"))


@torch.no_grad()
def test_preview_size_and_result():
    G = random_generator(stylegan2.ADA, PREVIEW_KW)
    r = _renderer(G, stylegan2.ADA, PREVIEW_KW)
    assert r.preview_sizes == (4, 8, 16, 32) and r.preview_size == 16
    for max_size, side in ((16, 16), (20, 16), (32, 32), (2, 4), (64, 64), (1000, 64)):
        result = r.render(RenderRequest(seed=3, max_size=max_size))
        assert result.error is None and result.image.shape == (side, side, 3) and result.preview == (side < 64)
    full = r.render(RenderRequest(seed=3))
    assert full.image.shape == (64, 64, 3) and not full.preview


@torch.no_grad()
def test_preview_is_the_lower_blocks_image_and_resembles_the_full_one():
    G = random_generator(stylegan2.ADA, PREVIEW_KW)
    ws = G.mapping(_x(2, 16), None, truncation_psi=0.7)
    preview = G.synthesis(ws, noise_mode="const", max_resolution=16)
    assert preview.shape == (2, 3, 16, 16)
    # without the higher blocks' RGB outputs, the full image is exactly the preview up-sampled twice
    for res in (32, 64):
        torgb = getattr(G.synthesis, f"b{res}").torgb
        torgb.weight.zero_(), torgb.bias.zero_()
    full = G.synthesis(ws, noise_mode="const")
    f = G.synthesis.b32.resample_filter
    assert torch.allclose(full, upsample2d(upsample2d(preview, f), f), **TOL)
    # with small higher-block outputs (fine detail, as in trained networks) it stays near the downsampled image
    G2 = random_generator(stylegan2.ADA, PREVIEW_KW)
    for res in (32, 64):
        getattr(G2.synthesis, f"b{res}").torgb.weight.mul_(0.1)
        getattr(G2.synthesis, f"b{res}").torgb.bias.zero_()
    full, preview = G2.synthesis(ws, noise_mode="const"), G2.synthesis(ws, noise_mode="const", max_resolution=16)
    error = (F.avg_pool2d(full, 4) - preview).abs().mean()
    assert error < 0.5 * preview.abs().mean()


@torch.no_grad()
def test_models_without_a_preview_render_the_full_image():
    resnet = dict(TINY, synthesis_kwargs=dict(TINY["synthesis_kwargs"], architecture="resnet"))
    G = random_generator(stylegan2.ADA, resnet)
    r = _renderer(G, stylegan2.ADA, resnet)
    assert r.preview_sizes == () and r.preview_size is None
    result = r.render(RenderRequest(seed=1, max_size=8))
    assert result.image.shape == (16, 16, 3) and not result.preview
    sg3 = _renderer(_sg3(), STYLEGAN3, SG3_TINY)
    assert sg3.preview_sizes == () and sg3.preview_size is None
    result = sg3.render(RenderRequest(seed=1, max_size=8))
    assert result.error is None and result.image.shape == (16, 16, 3) and not result.preview
