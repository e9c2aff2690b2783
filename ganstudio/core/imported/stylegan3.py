"""StyleGAN3 (alias-free) generator in plain PyTorch, laid out so that the G_ema state dict of an NVIDIA
stylegan3 network pickle (StyleGAN3-T and -R) loads into it by name.

The network follows the paper (Karras et al. 2021, "Alias-Free Generative Adversarial Networks"): a mapping MLP
(z, c -> w), Fourier features whose frequencies are rotated and translated by a learned affine of w and by a
user transform, then layers of modulated convolution followed by a leaky ReLU run at a higher sampling rate between
a windowed-sinc upsampling and downsampling filter. Every filter is designed here from the layer's cutoff,
stopband and sampling rate, so a network built from init kwargs alone equals the one read from a file.

Differences from the reference are of arithmetic order only: styles scale the activations rather than the
weights (one shared convolution for the whole batch), and FIR up/down-sampling runs as strided
(transposed) depthwise convolutions. Everything runs in float32; there are no noise inputs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SYNTHESIS_DEFAULTS = dict(
    channel_base=32768, channel_max=512, num_layers=14, num_critical=2, first_cutoff=2.0,
    first_stopband=2 ** 2.1, last_stopband_rel=2 ** 0.3, margin_size=10, output_scale=0.25,
)
LAYER_DEFAULTS = dict(
    conv_kernel=3, filter_size=6, lrelu_upsampling=2, use_radial_filters=False, conv_clamp=256,
    magnitude_ema_beta=0.999,
)
MAPPING_DEFAULTS = dict(num_layers=2, lr_multiplier=0.01, w_avg_beta=0.998)
IGNORED_KWARGS = ("num_fp16_res",)  # half precision is a speed choice of the reference; we compute in float32


# ----------------------------------------------------------------------------------------------- filter design

def _kaiser_beta(attenuation_db: float) -> float:
    """Kaiser's empirical window shape for a stopband attenuation in dB."""
    if attenuation_db > 50:
        return 0.1102 * (attenuation_db - 8.7)
    if attenuation_db > 21:
        return 0.5842 * (attenuation_db - 21) ** 0.4 + 0.07886 * (attenuation_db - 21)
    return 0.0


def _kaiser_window(taps: int, transition_width: float, fs: float) -> np.ndarray:
    """Symmetric Kaiser window whose attenuation fits `taps` and a transition band of this width (Hz)."""
    attenuation = 2.285 * (taps - 1) * math.pi * (transition_width / (fs / 2)) + 7.95
    return np.kaiser(taps, _kaiser_beta(attenuation))


def _jinc(cutoff: float, r: np.ndarray) -> np.ndarray:
    """Impulse response of an ideal radially symmetric low-pass of this cutoff, at radii r."""
    arg = torch.from_numpy(2 * math.pi * cutoff * r)
    j1 = torch.special.bessel_j1(arg).numpy()
    safe_r = np.where(r > 0, r, 1.0)
    return np.where(r > 0, j1 / (math.pi * safe_r), cutoff)  # the limit at r = 0 is the cutoff


def lowpass_filter(taps: int, cutoff: float, width: float, fs: float, radial: bool = False) -> torch.Tensor | None:
    """Kaiser-windowed low-pass FIR of unit DC gain: separable 1-D taps, or a 2-D jinc when radial; None for 1 tap."""
    if taps < 1:
        raise ValueError(f"a filter needs at least one tap, got {taps}")
    if taps == 1:
        return None
    window = _kaiser_window(taps, width, fs)
    t = np.arange(taps) - (taps - 1) / 2  # tap positions in samples, centred
    if radial:
        grid = t / fs
        taps_2d = _jinc(cutoff, np.hypot(grid[None, :], grid[:, None])) * np.outer(window, window)
        return torch.as_tensor(taps_2d / taps_2d.sum(), dtype=torch.float32)
    normalized = cutoff / (fs / 2)
    taps_1d = normalized * np.sinc(normalized * t) * window
    return torch.as_tensor(taps_1d / taps_1d.sum(), dtype=torch.float32)


# ------------------------------------------------------------------------------------------- the layer plan

@dataclass(frozen=True)
class LayerSpec:
    """Sizes, rates and bands of one synthesis layer (the last one is ToRGB)."""

    index: int
    is_torgb: bool
    critically_sampled: bool
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    in_rate: int
    out_rate: int
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float

    @property
    def name(self) -> str:
        return f"L{self.index}_{self.out_size}_{self.out_channels}"


def synthesis_plan(img_resolution: int, img_channels: int, channel_base: int, channel_max: int, num_layers: int,
                   num_critical: int, first_cutoff: float, first_stopband: float, last_stopband_rel: float,
                   margin_size: int) -> tuple[dict, list[LayerSpec]]:
    """The input's and every layer's bands: cutoffs and stopbands grow geometrically up to the image's Nyquist
    rate, where the last `num_critical` layers stay; sampling rates are the powers of two above the stopbands."""
    last_cutoff = img_resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    progress = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** progress
    stopbands = first_stopband * (last_stopband / first_stopband) ** progress
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + margin_size * 2
    sizes[-2:] = img_resolution  # the last two layers work on the image itself, without margin
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    first = dict(channels=int(channels[0]), size=int(sizes[0]), sampling_rate=float(rates[0]),
                 bandwidth=float(cutoffs[0]))
    layers = []
    for i in range(num_layers + 1):
        p = max(i - 1, 0)  # the first layer reads the Fourier features, which share its own rates
        layers.append(LayerSpec(
            index=i, is_torgb=i == num_layers, critically_sampled=i >= num_layers - num_critical,
            in_channels=int(channels[p]), out_channels=int(channels[i]), in_size=int(sizes[p]),
            out_size=int(sizes[i]), in_rate=int(rates[p]), out_rate=int(rates[i]),
            in_cutoff=float(cutoffs[p]), out_cutoff=float(cutoffs[i]),
            in_half_width=float(half_widths[p]), out_half_width=float(half_widths[i])))
    return first, layers


# --------------------------------------------------------------------------------------------- small modules

class ScaledLinear(nn.Module):
    """Linear layer with equalized learning rate: weights stored at N(0, 1)/lr_mul, scaled at run time."""

    def __init__(self, in_features: int, out_features: int, lr_multiplier: float = 1.0, bias_init=0.0,
                 weight_init: float = 1.0, lrelu: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) * (weight_init / lr_multiplier))
        start = torch.as_tensor(np.broadcast_to(np.asarray(bias_init, dtype=np.float32), [out_features]).copy())
        self.bias = nn.Parameter(start / lr_multiplier)
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier
        self.lrelu = lrelu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return F.leaky_relu(x, 0.2) * math.sqrt(2) if self.lrelu else x


def _normalize_rows(x: torch.Tensor) -> torch.Tensor:
    """Scale each row to unit root mean square (pixel norm of a latent)."""
    return x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()


class StyleGAN3Mapping(nn.Module):
    """z (and a one-hot c, embedded) -> MLP -> w broadcast to num_ws rows; truncation pulls rows below the cutoff
    towards w_avg, the running mean of w tracked during training."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, num_layers: int = 2,
                 lr_multiplier: float = 0.01, w_avg_beta: float = 0.998):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        self.embed = ScaledLinear(c_dim, w_dim) if c_dim > 0 else None
        width = z_dim + (w_dim if c_dim > 0 else 0)
        for i in range(num_layers):
            self.add_module(f"fc{i}", ScaledLinear(width if i == 0 else w_dim, w_dim, lr_multiplier, lrelu=True))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def one_hot(self, c: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        """c as float rows [N, c_dim]: class indices (an integer tensor) become one-hot rows."""
        if self.c_dim == 0:
            return None
        if c is None:
            raise ValueError(f"this generator is conditional: give c with {self.c_dim} columns or class indices")
        if not c.is_floating_point():
            c = F.one_hot(c.reshape(-1).long(), self.c_dim).float()
        if c.shape != (batch, self.c_dim):
            raise ValueError(f"c must have shape [{batch}, {self.c_dim}], got {list(c.shape)}")
        return c.float()

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_emas: bool = False) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape [N, {self.z_dim}], got {list(z.shape)}")
        x = _normalize_rows(z.float())
        c = self.one_hot(c, z.shape[0])
        if c is not None:
            x = torch.cat([x, _normalize_rows(self.embed(c))], dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if update_emas:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        ws = x[:, None, :].repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            rows = slice(0, self.num_ws if truncation_cutoff is None else truncation_cutoff)
            ws[:, rows] = self.w_avg.lerp(ws[:, rows], truncation_psi)
        return ws


def input_transform_matrix(x: float = 0.0, y: float = 0.0, degrees: float = 0.0) -> torch.Tensor:
    """The `transform` buffer for moving the image content by (x, y) image widths and rotating it by `degrees`,
    as NVIDIA's visualizer sets it: the inverse of [[cos, sin, x], [-sin, cos, y], [0, 0, 1]]."""
    a = math.radians(degrees)
    cos, sin = math.cos(a), math.sin(a)
    # inverse of a rotation then translation: transpose the rotation and rotate the negated offset
    inverse = [[cos, -sin, -(cos * x - sin * y)], [sin, cos, -(sin * x + cos * y)], [0.0, 0.0, 1.0]]
    return torch.tensor(inverse, dtype=torch.float64).float()


class FourierInput(nn.Module):
    """Fourier features on a grid with margin: frequencies drawn in a disc of radius `bandwidth`, rotated and
    translated per sample by an affine of w (then by the user `transform`), mixed by a learned channel matrix."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, channels, size
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        directions = torch.randn(channels, 2)
        radii = directions.norm(dim=1, keepdim=True)
        freqs = directions / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = nn.Parameter(torch.randn(channels, channels))
        self.affine = ScaledLinear(w_dim, 4, weight_init=0.0, bias_init=[1, 0, 0, 0])
        self.register_buffer("transform", torch.eye(3))  # inverse of the user's move of the image content
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand(channels) - 0.5)

    def per_sample_transform(self, w: torch.Tensor) -> torch.Tensor:
        """[N, 3, 3]: the learned rotation, then the learned translation, then the user transform."""
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)  # (cos, sin, tx, ty) with a unit rotation
        n = w.shape[0]
        rotation = torch.eye(3, device=w.device).repeat(n, 1, 1)
        rotation[:, 0, 0], rotation[:, 0, 1] = t[:, 0], -t[:, 1]
        rotation[:, 1, 0], rotation[:, 1, 1] = t[:, 1], t[:, 0]
        shift = torch.eye(3, device=w.device).repeat(n, 1, 1)
        shift[:, 0, 2], shift[:, 1, 2] = -t[:, 2], -t[:, 3]
        return rotation @ shift @ self.transform[None]

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        m = self.per_sample_transform(w)
        freqs = self.freqs[None] @ m[:, :2, :2]  # [N, C, 2]
        phases = self.phases[None] + (self.freqs[None] @ m[:, :2, 2:]).squeeze(2)  # [N, C]
        # fade out frequencies the user transform pushed beyond the band this grid can carry
        reach = self.sampling_rate / 2 - self.bandwidth
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / reach).clamp(0, 1)
        coords = (torch.arange(self.size, device=w.device, dtype=torch.float32) + 0.5 - self.size / 2)
        coords = coords / self.sampling_rate  # sample positions, in units where the image spans [-0.5, 0.5]
        gy, gx = torch.meshgrid(coords, coords, indexing="ij")
        grid = torch.stack([gx, gy], dim=-1)  # [H, W, 2] as (x, y)
        angle = torch.einsum("hwk,nck->nhwc", grid, freqs) + phases[:, None, None, :]
        features = torch.sin(angle * (2 * math.pi)) * amplitudes[:, None, None, :]
        features = features @ (self.weight / math.sqrt(self.channels)).t()
        # channels_last (the permuted layout as it is): oneDNN's faster layout for the layers' convolutions
        return features.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)


# ------------------------------------------------------------------------------------------ FIR resampling

def _crop_or_pad(x: torch.Tensor, dim: int, before: int, after: int) -> torch.Tensor:
    """Zero-pad (positive) or crop (negative) one of the two spatial dims of [N, C, H, W]; crops are views."""
    if before < 0 or after < 0:
        x = x.narrow(dim, max(-before, 0), x.shape[dim] - max(-before, 0) - max(-after, 0))
    if before > 0 or after > 0:
        x = F.pad(x, [max(before, 0), max(after, 0), 0, 0] if dim == 3 else [0, 0, max(before, 0), max(after, 0)])
    return x


def _upsample_axis(x: torch.Tensor, taps: torch.Tensor | None, up: int, pad: tuple[int, int], dim: int,
                   gain: float = 1.0) -> torch.Tensor:
    """Insert up-1 zeros after each sample along `dim`, zero-pad by `pad`, and convolve with `taps` times `gain`
    (valid part; no taps: one tap of 1); computed polyphase as a strided transposed convolution (it never
    multiplies the inserted zeros), whose output is the full convolution, cropped by the convolution itself."""
    if taps is None and up == 1:
        return _crop_or_pad(x * gain if gain != 1 else x, dim, pad[0], pad[1])
    taps = (torch.ones(1, device=x.device) if taps is None else taps) * gain
    channels, length, t = x.shape[1], x.shape[dim], taps.numel()
    full = (length - 1) * up + t  # samples of the full convolution
    wanted = length * up + pad[0] + pad[1] - t + 1
    start = t - 1 - pad[0]  # output sample j is sample j + start of the full convolution
    end = full - start - wanted  # samples to drop after the wanted ones
    crop = max(min(start, end), 0)
    kernel = taps.to(x.dtype).reshape(1, 1, 1, t) if dim == 3 else taps.to(x.dtype).reshape(1, 1, t, 1)
    stride, padding = ((1, up), (0, crop)) if dim == 3 else ((up, 1), (crop, 0))
    x = F.conv_transpose2d(x, kernel.expand(channels, 1, *kernel.shape[2:]), stride=stride, padding=padding,
                           groups=channels)
    return _crop_or_pad(x, dim, crop - start, crop - end)


def _downsample(x: torch.Tensor, taps: torch.Tensor | None, down: int) -> torch.Tensor:
    """Convolve with `taps` (1-D separable or 2-D), keeping every `down`-th sample of the valid part."""
    if taps is None:
        return x[:, :, ::down, ::down]
    channels, flipped = x.shape[1], taps.flip(list(range(taps.dim()))).to(x.dtype)  # convolution, not correlation
    if taps.dim() == 2:
        return F.conv2d(x, flipped[None, None].expand(channels, 1, *flipped.shape), stride=down, groups=channels)
    t = taps.numel()
    x = F.conv2d(x, flipped.reshape(1, 1, 1, t).expand(channels, 1, 1, t), stride=(1, down), groups=channels)
    return F.conv2d(x, flipped.reshape(1, 1, t, 1).expand(channels, 1, t, 1), stride=(down, 1), groups=channels)


def filtered_lrelu(x: torch.Tensor, bias: torch.Tensor | None, up_taps: torch.Tensor | None,
                   down_taps: torch.Tensor | None, up: int, down: int, padding: tuple[int, int, int, int],
                   gain: float, slope: float, clamp: float | None) -> torch.Tensor:
    """Add the bias, upsample by `up` through `up_taps`, apply a leaky ReLU (times gain, clamped) at the high
    rate, and downsample by `down` through `down_taps`: the nonlinearity then adds no aliasing."""
    if bias is not None:
        x = x + bias.to(x.dtype)[None, :, None, None]
    px0, px1, py0, py1 = padding
    # gain `up` per axis keeps the DC level; the leaky ReLU's gain rides along (lrelu(z) * g == lrelu(g * z))
    x = _upsample_axis(x, up_taps, up, (px0, px1), dim=3, gain=up * gain)
    x = _upsample_axis(x, up_taps, up, (py0, py1), dim=2, gain=up)
    inplace = not (torch.is_grad_enabled() and x.requires_grad)
    if slope != 1:
        x = F.leaky_relu_(x, slope) if inplace else F.leaky_relu(x, slope)
    if clamp is not None:
        x = x.clamp_(-clamp, clamp) if inplace else x.clamp(-clamp, clamp)
    return _downsample(x, down_taps, down)


def modulated_conv(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool,
                   padding: int, input_gain: torch.Tensor | None = None,
                   bias: torch.Tensor | None = None) -> torch.Tensor:
    """Convolution whose input channels are scaled per sample by `styles` (and `input_gain`), with the output
    renormalized to unit expected variance when `demodulate`, plus `bias`. For one sample the scales fold into
    the weight; for several they scale the activations, so one shared convolution serves the whole batch."""
    if demodulate:
        weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()  # for float range only
        styles = _normalize_rows(styles)
    scale = styles if input_gain is None else styles * input_gain
    out_scale = None
    if demodulate:
        energy = styles.square() @ weight.square().sum(dim=[2, 3]).t()  # [N, O]: sum over inputs and taps
        out_scale = (energy + 1e-8).rsqrt()
    if x.shape[0] == 1:
        fold = scale[0, None, :] if out_scale is None else out_scale[0, :, None] * scale[0, None, :]
        w = weight.contiguous(memory_format=torch.channels_last) * fold[:, :, None, None]
        return F.conv2d(x, w.to(x.dtype), None if bias is None else bias.to(x.dtype), padding=padding)
    y = F.conv2d(x * scale[:, :, None, None].to(x.dtype), weight.to(x.dtype), padding=padding)
    if out_scale is not None:
        y = y * out_scale[:, :, None, None].to(y.dtype)
    return y + bias.to(y.dtype)[None, :, None, None] if bias is not None else y


class AliasFreeLayer(nn.Module):
    """One synthesis layer: modulated convolution then the filtered leaky ReLU; as ToRGB, a 1x1 unmodulated-
    demodulation convolution, bias and clamp. Inputs are divided by their tracked RMS (magnitude_ema)."""

    def __init__(self, spec: LayerSpec, w_dim: int, conv_kernel: int = 3, filter_size: int = 6,
                 lrelu_upsampling: int = 2, use_radial_filters: bool = False, conv_clamp: float | None = 256,
                 magnitude_ema_beta: float = 0.999):
        super().__init__()
        self.spec, self.w_dim = spec, w_dim
        self.in_channels, self.out_channels = spec.in_channels, spec.out_channels
        self.in_size, self.out_size = spec.in_size, spec.out_size
        self.is_torgb = spec.is_torgb
        self.conv_kernel = 1 if spec.is_torgb else conv_kernel
        self.conv_clamp, self.magnitude_ema_beta = conv_clamp, magnitude_ema_beta
        self.affine = ScaledLinear(w_dim, spec.in_channels, bias_init=1.0)
        k = self.conv_kernel
        self.weight = nn.Parameter(torch.randn(spec.out_channels, spec.in_channels, k, k))
        self.bias = nn.Parameter(torch.zeros(spec.out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))

        # the nonlinearity runs at `lrelu_upsampling` times the higher of the two rates (ToRGB has none)
        high_rate = max(spec.in_rate, spec.out_rate) * (1 if spec.is_torgb else lrelu_upsampling)
        self.up_factor = _whole_ratio(high_rate, spec.in_rate)
        self.down_factor = _whole_ratio(high_rate, spec.out_rate)
        up_taps = filter_size * self.up_factor if self.up_factor > 1 and not spec.is_torgb else 1
        down_taps = filter_size * self.down_factor if self.down_factor > 1 and not spec.is_torgb else 1
        radial = use_radial_filters and not spec.critically_sampled
        self.register_buffer("up_filter", lowpass_filter(up_taps, spec.in_cutoff, 2 * spec.in_half_width,
                                                         high_rate))
        self.register_buffer("down_filter", lowpass_filter(down_taps, spec.out_cutoff, 2 * spec.out_half_width,
                                                           high_rate, radial=radial))
        # pad so that, after the convolution grew the input by k-1 and the filters shrank it, exactly out_size
        # samples remain, centred as in the paper's symmetric interpretation (its appendix C.3)
        total = (spec.out_size - 1) * self.down_factor + 1 - (spec.in_size + k - 1) * self.up_factor
        total += up_taps + down_taps - 2
        lo = (total + self.up_factor) // 2
        self.padding = (lo, total - lo, lo, total - lo)

    def forward(self, x: torch.Tensor, w: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        expected = (self.in_channels, self.in_size, self.in_size)
        if x.shape[1:] != expected or w.shape != (x.shape[0], self.w_dim):
            raise ValueError(f"{self.spec.name}: x must be [N, {', '.join(map(str, expected))}] and w "
                             f"[N, {self.w_dim}], got {list(x.shape)} and {list(w.shape)}")
        if update_emas:
            self.magnitude_ema.copy_(x.detach().float().square().mean().lerp(self.magnitude_ema,
                                                                             self.magnitude_ema_beta))
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel ** 2)
        x = modulated_conv(x, self.weight, styles, demodulate=not self.is_torgb, padding=self.conv_kernel - 1,
                           input_gain=self.magnitude_ema.rsqrt(), bias=self.bias)
        gain, slope = (1.0, 1.0) if self.is_torgb else (math.sqrt(2), 0.2)
        return filtered_lrelu(x, None, self.up_filter, self.down_filter, self.up_factor, self.down_factor,
                              self.padding, gain, slope, self.conv_clamp)


def _whole_ratio(high: float, low: float) -> int:
    """high / low as an int, refusing rates that are not whole multiples."""
    ratio = round(high / low)
    if ratio * low != high:
        raise ValueError(f"sampling rates {high} and {low} are not whole multiples")
    return ratio


# ------------------------------------------------------------------------------------------- the networks

class StyleGAN3Synthesis(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, R, R]: Fourier features then num_layers + 1 alias-free layers."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, **kwargs):
        super().__init__()
        unknown = set(kwargs) - set(SYNTHESIS_DEFAULTS) - set(LAYER_DEFAULTS) - set(IGNORED_KWARGS)
        if unknown:
            raise ValueError(f"unknown StyleGAN3 synthesis settings: {', '.join(sorted(unknown))}")
        plan_kwargs = {k: kwargs.get(k, v) for k, v in SYNTHESIS_DEFAULTS.items() if k != "output_scale"}
        layer_kwargs = {k: kwargs.get(k, v) for k, v in LAYER_DEFAULTS.items()}
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.num_layers = plan_kwargs["num_layers"]
        self.num_ws = self.num_layers + 2
        self.output_scale = kwargs.get("output_scale", SYNTHESIS_DEFAULTS["output_scale"])
        first, specs = synthesis_plan(img_resolution, img_channels, **plan_kwargs)
        self.input = FourierInput(w_dim, **first)
        self.layer_names = [spec.name for spec in specs]
        for spec in specs:
            self.add_module(spec.name, AliasFreeLayer(spec, w_dim, **layer_kwargs))

    def forward(self, ws: torch.Tensor, noise_mode: str | None = None, update_emas: bool = False,
                **_ignored) -> torch.Tensor:
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        rows = ws.float().unbind(dim=1)
        x = self.input(rows[0])
        for name, w in zip(self.layer_names, rows[1:]):
            x = getattr(self, name)(x, w, update_emas=update_emas)
        return (x * self.output_scale if self.output_scale != 1 else x).contiguous()


class StyleGAN3Generator(nn.Module):
    """G(z, c) = synthesis(mapping(z, c)); StyleGAN3 has no noise inputs, so `noise_mode` is accepted and ignored."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, img_resolution: int, img_channels: int,
                 mapping_kwargs: dict | None = None, **synthesis_kwargs):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = StyleGAN3Synthesis(w_dim, img_resolution, img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        mapping_kwargs = dict(mapping_kwargs or {})
        unknown = set(mapping_kwargs) - set(MAPPING_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown StyleGAN3 mapping settings: {', '.join(sorted(unknown))}")
        self.mapping = StyleGAN3Mapping(z_dim, c_dim, w_dim, self.num_ws, **mapping_kwargs)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const", update_emas: bool = False,
                **_ignored) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
                          update_emas=update_emas)
        return self.synthesis(ws, update_emas=update_emas)


def build_stylegan3(init_kwargs: dict) -> StyleGAN3Generator:
    """A StyleGAN3 generator from the init kwargs an NVIDIA network pickle records for G_ema."""
    kwargs = dict(init_kwargs)
    missing = [k for k in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels") if k not in kwargs]
    if missing:
        raise ValueError(f"StyleGAN3 settings lack {', '.join(missing)}")
    return StyleGAN3Generator(**kwargs)


def set_input_transform(G: nn.Module, x: float = 0.0, y: float = 0.0, degrees: float = 0.0) -> None:
    """Move the content of G's images by (x, y) image widths and rotate it by `degrees`, as the visualizer does."""
    synthesis = getattr(G, "synthesis", G)
    buffer = synthesis.input.transform
    with torch.no_grad():
        buffer.copy_(input_transform_matrix(x, y, degrees).to(buffer.device, buffer.dtype))
