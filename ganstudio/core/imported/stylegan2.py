"""StyleGAN2 (Karras et al. 2020) rebuilt in plain PyTorch so that NVIDIA's released generators load by name.

Parameter and buffer names and shapes are those of the `G_ema` state dict in stylegan2-ada-pytorch's
`training/networks.py` (and stylegan3's `training/networks_stylegan2.py`): `mapping.fc0.weight`,
`synthesis.b64.conv0.affine.bias`, `synthesis.b4.const`, ... so a file's tensors are copied in unchanged.
rosinality's stylegan2-pytorch checkpoints are renamed onto the same network (`rosinality_state`).

No compiled extension: FIR up-sampling (`upfirdn2d`) runs polyphase, as strided (transposed) depthwise
convolutions (`upfirdn2d_direct` is its step-by-step definition). For one sample the styles, demodulation, gain
and bias fold into the weight; activations are channels_last. Inference only (no training-time w_avg tracking,
no fp16 blocks: everything runs in float32). A 'skip' network can stop at a lower block for a fast preview.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.core.errors import CheckpointError

NOISE_MODES = ("random", "const", "none")
ACTIVATIONS = {"linear": 1.0, "lrelu": math.sqrt(2.0), "relu": math.sqrt(2.0)}  # with their default gains

# Generator classes whose networks this module builds, by the name recorded in the file.
ADA = "training.networks.Generator"  # stylegan2-ada-pytorch
SG3_STYLEGAN2 = "training.networks_stylegan2.Generator"  # stylegan3's repository, StyleGAN2 config
ROSINALITY = "rosinality.model.Generator"  # rosinality stylegan2-pytorch, renamed onto this layout
ARCHITECTURES = (ADA, SG3_STYLEGAN2, ROSINALITY)


# -- FIR filtering ------------------------------------------------------------------------------------


def setup_filter(taps: Any) -> torch.Tensor:
    """A normalized low-pass filter from 1D taps: the outer product for short filters (as [1, 3, 3, 1])."""
    f = torch.as_tensor(np.asarray(taps, dtype=np.float32))
    if f.ndim == 1 and f.numel() < 8:
        f = torch.outer(f, f)
    return f / f.sum()


def _filter_2d(f: torch.Tensor) -> torch.Tensor:
    return torch.outer(f, f) if f.ndim == 1 else f


def _depthwise(f: torch.Tensor, channels: int, gain: float, dtype: torch.dtype, vertical: bool = False) -> torch.Tensor:
    """The filter as a depthwise convolution weight [C, 1, kh, kw]: flipped (convolution, not correlation) and
    scaled; a 1-D filter becomes a row (or a column when `vertical`)."""
    f = (f.to(dtype) * gain).flip(list(range(f.ndim)))
    f = f.reshape(-1, 1) if f.ndim == 1 and vertical else f.reshape(1, -1) if f.ndim == 1 else f
    return f[None, None].expand(channels, 1, *f.shape)


def _crop(x: torch.Tensor, y0: int, y1: int, x0: int, x1: int) -> torch.Tensor:
    """Pad (positive) or crop (negative) the spatial dims; crops are views, only padding copies."""
    if min(y0, y1, x0, x1) < 0:
        x = x[:, :, max(-y0, 0): x.shape[2] - max(-y1, 0), max(-x0, 0): x.shape[3] - max(-x1, 0)]
    if max(y0, y1, x0, x1) > 0:
        x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    return x


def _fir(x: torch.Tensor, f: torch.Tensor, pad: tuple[int, int, int, int], gain: float, down: int,
         bias: torch.Tensor | None) -> torch.Tensor:
    """Pad, convolve with the FIR filter (one 2-D pass, or two 1-D passes for a separable 1-D filter) and keep
    every `down`-th pixel, as strided depthwise convolutions; symmetric padding goes into the convolution."""
    c = x.shape[1]
    x0, x1, y0, y1 = pad
    conv_pad = (max(min(y0, y1), 0), max(min(x0, x1), 0))
    x = _crop(x, y0 - conv_pad[0], y1 - conv_pad[0], x0 - conv_pad[1], x1 - conv_pad[1])
    if f.ndim == 2:
        return F.conv2d(x, _depthwise(f, c, gain, x.dtype), bias, stride=down, padding=conv_pad, groups=c)
    g = math.sqrt(gain)
    x = F.conv2d(x, _depthwise(f, c, g, x.dtype), stride=(1, down), padding=(0, conv_pad[1]), groups=c)
    return F.conv2d(x, _depthwise(f, c, g, x.dtype, vertical=True), bias, stride=(down, 1), padding=(conv_pad[0], 0),
                    groups=c)


def _upfir(x: torch.Tensor, f: torch.Tensor, up: int, pad: tuple[int, int, int, int], gain: float) -> torch.Tensor:
    """Zero-stuff by `up`, pad and filter, computed polyphase: a strided transposed depthwise convolution never
    multiplies the inserted zeros (1/up^2 of the work); its output is the full convolution, cropped here."""
    _, c, h, w = x.shape
    f2 = _filter_2d(f)
    th, tw = f2.shape
    x0, x1, y0, y1 = pad
    # output sample j is sample j + start of the full convolution (start = taps - 1 - pad before)
    start_y, start_x = th - 1 - y0, tw - 1 - x0
    end_y = (h - 1) * up + th - start_y - (h * up + y0 + y1 - th + 1)  # samples to drop after the wanted ones
    end_x = (w - 1) * up + tw - start_x - (w * up + x0 + x1 - tw + 1)
    conv_pad = (max(min(start_y, end_y), 0), max(min(start_x, end_x), 0))
    weight = f2.to(x.dtype).mul(gain).expand(c, 1, th, tw)  # conv_transpose2d already flips the filter
    x = F.conv_transpose2d(x, weight, stride=up, padding=conv_pad, groups=c)
    return _crop(x, conv_pad[0] - start_y, conv_pad[0] - end_y, conv_pad[1] - start_x, conv_pad[1] - end_x)


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0,
              bias: torch.Tensor | None = None) -> torch.Tensor:
    """Upsample by zero-stuffing, pad (x0, x1, y0, y1; negative crops), convolve with the FIR filter, keep
    every `down`-th pixel (then add `bias` per channel), without computing what is thrown away."""
    if up > 1:
        x = _upfir(x, f, up, pad, gain)
        x = x[:, :, ::down, ::down] if down > 1 else x
        return x + bias.reshape(1, -1, 1, 1).to(x.dtype) if bias is not None else x
    return _fir(x, f, pad, gain, down, bias)


def upfirdn2d_direct(x: torch.Tensor, f: torch.Tensor, up: int = 1, down: int = 1,
                     pad: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """`upfirdn2d` as defined, step by step (zero-stuff, pad, one 2-D convolution, subsample): the slow form the
    fast one is tested against."""
    n, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = pad
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0): x.shape[2] - max(-y1, 0), max(-x0, 0): x.shape[3] - max(-x1, 0)]
    f2 = _filter_2d(f).to(x.dtype)
    f2 = (f2 * gain ** (f2.ndim / 2)).flip([0, 1])
    x = F.conv2d(x, f2[None, None].expand(c, 1, *f2.shape), groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Double the size with the FIR filter, keeping the image's brightness."""
    fw = _filter_2d(f).shape[-1]
    p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
    return upfirdn2d(x, f, up=up, pad=(p0, p1, p0, p1), gain=up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2) -> torch.Tensor:
    """Halve the size with the FIR filter."""
    fw = _filter_2d(f).shape[-1]
    p0, p1 = (fw - down + 1) // 2, (fw - down) // 2
    return upfirdn2d(x, f, down=down, pad=(p0, p1, p0, p1))


def conv2d_up(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, padding: int, groups: int = 1,
              bias: torch.Tensor | None = None) -> torch.Tensor:
    """Convolve with `w` at twice the resolution: a stride-2 transposed convolution, then the FIR filter (then
    `bias` per channel)."""
    out_ch, in_per_group, kh, kw = w.shape
    fw = _filter_2d(f).shape[-1]
    if kh == 1 and kw == 1:
        x = upsample2d(F.conv2d(x, w, groups=groups), f)
        return x + bias.reshape(1, -1, 1, 1).to(x.dtype) if bias is not None else x
    p0 = padding + (fw + 1) // 2 - (kw - 1)
    p1 = padding + (fw - 2) // 2 - (kw - 2)
    pt = max(min(-p0, -p1), 0)
    # conv_transpose2d wants [in, out / groups, kh, kw]
    if groups == 1:
        wt = w.transpose(0, 1)  # a view: `conv_weight_layout` stores weights so that this one is channels_last
    else:
        wt = w.reshape(groups, out_ch // groups, in_per_group, kh, kw).transpose(1, 2)
        wt = wt.reshape(groups * in_per_group, out_ch // groups, kh, kw)
    x = F.conv_transpose2d(x, wt, stride=2, padding=pt, groups=groups)
    return upfirdn2d(x, f, pad=(p0 + pt, p1 + pt, p0 + pt, p1 + pt), gain=4, bias=bias)


def conv2d_down(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, padding: int) -> torch.Tensor:
    """Convolve with `w` at half the resolution: the FIR filter, then a stride-2 convolution."""
    kw = w.shape[-1]
    fw = _filter_2d(f).shape[-1]
    p0, p1 = padding + (fw - 1) // 2, padding + (fw - 2) // 2
    if kw == 1:
        return F.conv2d(upfirdn2d(x, f, down=2, pad=(p0, p1, p0, p1)), w)
    return F.conv2d(upfirdn2d(x, f, pad=(p0, p1, p0, p1)), w, stride=2)


def bias_act(x: torch.Tensor, b: torch.Tensor | None, act: str = "linear", gain: float | None = None,
             clamp: float | None = None) -> torch.Tensor:
    """Add the bias (per channel), apply the activation and its gain, clamp to +-clamp."""
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2)).to(x.dtype)
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
    elif act == "relu":
        x = F.relu(x)
    gain = ACTIVATIONS[act] if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit mean square (the mapping network's input normalization)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def weight_energy(weight: torch.Tensor) -> torch.Tensor:
    """[O, I]: the squared weight summed over its taps, what demodulation needs from the weight."""
    return weight.square().sum(dim=[2, 3])


def conv_weight_layout(weight: torch.Tensor, transposed: bool) -> torch.Tensor:
    """The weight [O, I, k, k] laid out as oneDNN reads it on channels_last activations (else it copies the
    weight on every call): channels_last, or for a transposed convolution so that weight.transpose(0, 1) is."""
    if transposed:
        return weight.transpose(0, 1).contiguous(memory_format=torch.channels_last).transpose(0, 1)
    return weight.contiguous(memory_format=torch.channels_last)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, noise: torch.Tensor | None = None,
                     up: int = 1, padding: int = 0, resample_filter: torch.Tensor | None = None,
                     demodulate: bool = True, gain: float = 1.0, bias: torch.Tensor | None = None,
                     energy: torch.Tensor | None = None) -> torch.Tensor:
    """gain * (conv + noise) + bias, where conv scales the weight's input channels by each sample's style and
    normalizes each output channel to unit norm (demodulation).

    One sample: the styles, demodulation and gain fold into the weight (one pass over it). Several samples, or
    a weight larger than the activations: they scale the activations around one shared convolution instead
    (NVIDIA's non-fused path). `energy` is `weight_energy(weight)` when the caller keeps it."""
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    if styles.shape != (n, in_ch):
        raise ValueError(f"styles must have shape [{n}, {in_ch}], got {list(styles.shape)}")
    styles = styles.to(x.dtype)
    scale = torch.full((n, out_ch), float(gain), dtype=x.dtype, device=x.device)
    if demodulate:
        energy = weight_energy(weight) if energy is None else energy
        scale = scale * (styles.square() @ energy.t().to(x.dtype) + 1e-8).rsqrt()
    if n == 1 and weight.numel() <= x[0].numel():
        w = weight.to(x.dtype) * (scale[0, :, None] * styles[0, None, :])[:, :, None, None]
        if up > 1:
            y = conv2d_up(x, w, resample_filter, padding, bias=bias)
        else:
            y = F.conv2d(x, w, bias, padding=padding)
    else:
        x = x * styles[:, :, None, None]
        w = weight.to(x.dtype)
        y = conv2d_up(x, w, resample_filter, padding) if up > 1 else F.conv2d(x, w, padding=padding)
        y = y * scale[:, :, None, None]
        if bias is not None:
            y = y.add_(bias.to(y.dtype)[None, :, None, None])
    if noise is not None:
        y = y.add_(noise.to(y.dtype) * gain if gain != 1 else noise.to(y.dtype))
    return y


def _activate_(x: torch.Tensor, act: str, clamp: float | None) -> torch.Tensor:
    """The activation (without its gain) and the clamp: in place, unless autograd needs the intermediate."""
    if torch.is_grad_enabled() and x.requires_grad:
        return bias_act(x, None, act, 1.0, clamp)
    if act == "lrelu":
        x = F.leaky_relu_(x, 0.2)
    elif act == "relu":
        x = F.relu_(x)
    return x.clamp_(-clamp, clamp) if clamp is not None and clamp >= 0 else x


# -- layers -------------------------------------------------------------------------------------------


class FullyConnectedLayer(nn.Module):
    """A linear layer with equalized learning rate (weights stored as N(0, 1) / lr_multiplier)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype) * self.bias_gain if self.bias is not None else None
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, act=self.activation)


class Conv2dLayer(nn.Module):
    """A plain convolution with equalized learning rate, optionally at twice the resolution (resnet skips)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear", up: int = 1, down: int = 1, resample_filter: Any = (1, 3, 3, 1),
                 conv_clamp: float | None = None):
        super().__init__()
        self.activation, self.up, self.down, self.conv_clamp = activation, up, down, conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = (self.weight * self.weight_gain).to(x.dtype)
        if self.up > 1:
            x = conv2d_up(x, w, self.resample_filter, self.padding)
        elif self.down > 1:
            x = conv2d_down(x, w, self.resample_filter, self.padding)
        else:
            x = F.conv2d(x, w, padding=self.padding)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, self.activation, ACTIVATIONS[self.activation] * gain, clamp)


class MappingNetwork(nn.Module):
    """z (and the embedded class c) -> normalized -> MLP -> w, broadcast to num_ws rows, truncated toward w_avg."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, num_layers: int = 8,
                 embed_features: int | None = None, layer_features: int | None = None, activation: str = "lrelu",
                 lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, c_dim, w_dim, num_ws, num_layers
        embed_features = 0 if c_dim == 0 else (w_dim if embed_features is None else embed_features)
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for idx in range(num_layers):
            setattr(self, f"fc{idx}", FullyConnectedLayer(features[idx], features[idx + 1], activation=activation,
                                                          lr_multiplier=lr_multiplier))
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def labels(self, c: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """c as the file's network wants it: a [N, c_dim] float vector (class indices become one-hot)."""
        if self.c_dim == 0:
            return None
        if c is None:
            raise ValueError(f"this generator is conditional: give c ({self.c_dim} classes)")
        if not c.is_floating_point():
            c = F.one_hot(c.reshape(-1).long(), self.c_dim).to(torch.float32)
        if c.shape != (n, self.c_dim):
            raise ValueError(f"c must have shape [{n}, {self.c_dim}], got {list(c.shape)}")
        return c.to(torch.float32)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, **_ignored: Any) -> torch.Tensor:
        x = None
        if self.z_dim > 0:
            if z.dim() != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must have shape [N, {self.z_dim}], got {list(z.shape)}")
            x = normalize_2nd_moment(z.to(torch.float32))
        c = self.labels(c, z.shape[0] if z is not None else len(c))
        if c is not None:
            y = normalize_2nd_moment(self.embed(c))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for idx in range(self.num_layers):
            x = getattr(self, f"fc{idx}")(x)
        if self.num_ws is None:
            return x
        x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            rows = self.num_ws if truncation_cutoff is None else truncation_cutoff
            x = x.clone()
            x[:, :rows] = self.w_avg.lerp(x[:, :rows], truncation_psi)
        return x


class SynthesisLayer(nn.Module):
    """A modulated 3x3 convolution (up-sampling or not), per-pixel noise with a learned strength, bias, lrelu."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, kernel_size: int = 3,
                 up: int = 1, use_noise: bool = True, activation: str = "lrelu", resample_filter: Any = (1, 3, 3, 1),
                 conv_clamp: float | None = None):
        super().__init__()
        self.resolution, self.up, self.use_noise = resolution, up, use_noise
        self.activation, self.conv_clamp = activation, conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.act_gain = ACTIVATIONS[activation]
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self._prepared: tuple[tuple, tuple[torch.Tensor, torch.Tensor]] | None = None

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random", gain: float = 1.0) -> torch.Tensor:
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        # the activations are positively homogeneous: act(z) * g == act(g * z), so the gain folds into the conv
        act_gain = self.act_gain * gain
        energy, weight = self.prepared()
        x = modulated_conv2d(x, weight, styles, noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, gain=act_gain, bias=self.bias * act_gain,
                             energy=energy)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return _activate_(x, self.activation, clamp)

    def prepared(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(`weight_energy`, the weight in `conv_weight_layout`), kept until the weight changes; computed afresh
        when the weight needs gradients."""
        if self.weight.requires_grad and torch.is_grad_enabled():
            return weight_energy(self.weight), self.weight
        key = (self.weight.data_ptr(), self.weight._version, self.weight.device, self.weight.dtype)
        if self._prepared is None or self._prepared[0] != key:
            weight = self.weight.detach()
            self._prepared = (key, (weight_energy(weight), conv_weight_layout(weight, self.up > 1)))
        return self._prepared[1]


class ToRGBLayer(nn.Module):
    """A modulated 1x1 convolution to the image's colour channels (no demodulation)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel_size: int = 1,
                 conv_clamp: float | None = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, bias=self.bias)
        return _activate_(x, "linear", self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: a learned constant (4x4) or an up-sampling conv, a second conv, and the RGB output
    added to the up-sampled image so far ('skip'; 'orig' and 'resnet' as in the paper's ablations)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 is_last: bool, architecture: str = "skip", resample_filter: Any = (1, 3, 3, 1),
                 conv_clamp: float | None = None, **layer_kwargs: Any):
        super().__init__()
        self.in_channels, self.w_dim, self.resolution = in_channels, w_dim, resolution
        self.img_channels, self.is_last, self.architecture = img_channels, is_last, architecture
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_conv = self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2,
                                        resample_filter=resample_filter, conv_clamp=conv_clamp, **layer_kwargs)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp,
                                    **layer_kwargs)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2dLayer(in_channels, out_channels, kernel_size=1, bias=False, up=2,
                                    resample_filter=resample_filter)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                noise_mode: str = "random") -> tuple[torch.Tensor, torch.Tensor | None]:
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            # channels_last: oneDNN's faster layout for these convolutions (the layers' weights are kept to match)
            x = self.const.unsqueeze(0).repeat([ws.shape[0], 1, 1, 1]).contiguous(memory_format=torch.channels_last)
            x = self.conv1(x, next(w_iter), noise_mode)
        elif self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w_iter), noise_mode)
            x = y + self.conv1(x, next(w_iter), noise_mode, gain=math.sqrt(0.5))
        else:
            x = self.conv0(x, next(w_iter), noise_mode)
            x = self.conv1(x, next(w_iter), noise_mode)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.is_last or self.architecture == "skip":
            y = self.torgb(x, next(w_iter)).to(torch.float32)
            img = img + y if img is not None else y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, R, R], one block per resolution from 4x4 up."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, channels: dict[int, int] | None = None, **block_kwargs: Any):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = [2 ** i for i in range(2, int(math.log2(img_resolution)) + 1)]
        channels = channels or {res: min(channel_base // res, channel_max) for res in self.block_resolutions}
        self.architecture = block_kwargs.get("architecture", "skip")
        self.num_ws = 0
        for res in self.block_resolutions:
            block = SynthesisBlock(channels[res // 2] if res > 4 else 0, channels[res], w_dim, res, img_channels,
                                   is_last=res == img_resolution, **block_kwargs)
            self.num_ws += block.num_conv + (block.num_torgb if res == img_resolution else 0)
            setattr(self, f"b{res}", block)

    @property
    def preview_resolutions(self) -> tuple[int, ...]:
        """Sizes of the smaller images this network can stop at: with the 'skip' architecture every block's
        accumulated RGB output is the picture at that block's resolution (none for 'orig' and 'resnet')."""
        if self.architecture != "skip":
            return ()
        return tuple(r for r in self.block_resolutions if r < self.img_resolution)

    def forward(self, ws: torch.Tensor, noise_mode: str = "random", max_resolution: int | None = None,
                **_ignored: Any) -> torch.Tensor:
        """The image for ws; with `max_resolution`, the preview at the largest `preview_resolutions` size not
        above it (the smallest when none fits), skipping the blocks above (the full image when there is none)."""
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, not {noise_mode!r}")
        last = self.img_resolution
        previews = self.preview_resolutions
        if max_resolution is not None and max_resolution < last and previews:
            last = max((r for r in previews if r <= max_resolution), default=previews[0])
        ws = ws.to(torch.float32)
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            if res > last:
                break
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws.narrow(1, w_idx, block.num_conv + block.num_torgb), noise_mode)
            w_idx += block.num_conv
        return img.contiguous()


class Generator(nn.Module):
    """`mapping` (z, c -> ws) and `synthesis` (ws -> image); G(z, c, truncation_psi, truncation_cutoff,
    noise_mode) as NVIDIA's generator."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, img_resolution: int, img_channels: int,
                 mapping_kwargs: dict[str, Any] | None = None, **synthesis_kwargs: Any):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **(mapping_kwargs or {}))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "random", **_ignored: Any) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode)


class DiscriminatorBlock(nn.Module):
    """One resolution of the discriminator: (from RGB), two convolutions halving the size, a residual skip."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, resolution: int, img_channels: int,
                 architecture: str = "resnet", activation: str = "lrelu", resample_filter: Any = (1, 3, 3, 1),
                 conv_clamp: float | None = None):
        super().__init__()
        self.in_channels, self.resolution, self.architecture = in_channels, resolution, architecture
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        if in_channels == 0 or architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation=activation, conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation=activation, conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation=activation, down=2,
                                 resample_filter=resample_filter, conv_clamp=conv_clamp)
        if architecture == "resnet":
            self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2, resample_filter=resample_filter)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.in_channels == 0 or self.architecture == "skip":
            y = self.fromrgb(img)
            x = x + y if x is not None else y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = y + self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        else:
            x = self.conv1(self.conv0(x))
        return x, img


class MinibatchStdLayer(nn.Module):
    """Append the standard deviation across groups of samples as extra feature maps (Karras et al. 2018)."""

    def __init__(self, group_size: int | None, num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n) if self.group_size is not None else n
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt().mean(dim=[2, 3, 4])
        return torch.cat([x, y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """The 4x4 head: minibatch std-dev, a convolution, two fully connected layers, the class projection."""

    def __init__(self, in_channels: int, cmap_dim: int, resolution: int, img_channels: int,
                 architecture: str = "resnet", mbstd_group_size: int | None = 4, mbstd_num_channels: int = 1,
                 activation: str = "lrelu", conv_clamp: float | None = None):
        super().__init__()
        self.cmap_dim, self.architecture = cmap_dim, architecture
        if architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, in_channels, 1, activation=activation)
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = Conv2dLayer(in_channels + mbstd_num_channels, in_channels, 3, activation=activation,
                                conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * resolution ** 2, in_channels, activation=activation)
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, cmap: torch.Tensor | None) -> torch.Tensor:
        if self.architecture == "skip":
            x = x + self.fromrgb(img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1 / math.sqrt(self.cmap_dim))
        return x


class Discriminator(nn.Module):
    """NVIDIA's StyleGAN2 discriminator (resnet by default): D(img, c) -> [N, 1] logits."""

    def __init__(self, c_dim: int, img_resolution: int, img_channels: int, architecture: str = "resnet",
                 channel_base: int = 32768, channel_max: int = 512, conv_clamp: float | None = None,
                 cmap_dim: int | None = None, block_kwargs: dict | None = None, mapping_kwargs: dict | None = None,
                 epilogue_kwargs: dict | None = None):
        super().__init__()
        self.c_dim, self.img_resolution, self.img_channels = c_dim, img_resolution, img_channels
        self.block_resolutions = [2 ** i for i in range(int(math.log2(img_resolution)), 2, -1)]
        channels = {res: min(channel_base // res, channel_max) for res in self.block_resolutions + [4]}
        cmap_dim = 0 if c_dim == 0 else (channels[4] if cmap_dim is None else cmap_dim)
        common = dict(img_channels=img_channels, architecture=architecture, conv_clamp=conv_clamp)
        for res in self.block_resolutions:
            block = DiscriminatorBlock(channels[res] if res < img_resolution else 0, channels[res], channels[res // 2],
                                       res, **(block_kwargs or {}), **common)
            setattr(self, f"b{res}", block)
        if c_dim > 0:
            self.mapping = MappingNetwork(0, c_dim, cmap_dim, num_ws=None, w_avg_beta=None, **(mapping_kwargs or {}))
        self.b4 = DiscriminatorEpilogue(channels[4], cmap_dim, 4, **(epilogue_kwargs or {}), **common)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None, **_ignored: Any) -> torch.Tensor:
        x = None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        return self.b4(x, img, cmap)


# -- building from a file's recorded settings ------------------------------------------------------------

_MAPPING_KEYS = {"num_layers", "embed_features", "layer_features", "activation", "lr_multiplier", "w_avg_beta"}
_SYNTHESIS_KEYS = {"channel_base", "channel_max", "channels", "architecture", "resample_filter", "conv_clamp",
                   "use_noise", "activation", "kernel_size"}
_IGNORED_KEYS = {"num_fp16_res", "fp16_channels_last", "fused_modconv_default", "use_fp16"}  # speed only
_TOP_KEYS = {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs"}
MAX_RESOLUTION = 8192


def generator_kwargs(arch: str, init_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The recorded init kwargs of a generator as our Generator's arguments, with the defaults of the code that
    wrote the file filled in; an unknown or impossible setting is a CheckpointError."""
    if arch not in ARCHITECTURES:
        raise CheckpointError(f"{arch} is not a StyleGAN2 generator GAN Studio can rebuild")
    kw = dict(init_kwargs)
    unknown = sorted(set(kw) - _TOP_KEYS - _SYNTHESIS_KEYS - _IGNORED_KEYS)
    if unknown:
        raise CheckpointError(f"the generator has a setting GAN Studio's StyleGAN2 does not know ({unknown[0]})")
    mapping = dict(kw.pop("mapping_kwargs", None) or {})
    synthesis = dict(kw.pop("synthesis_kwargs", None) or {})
    synthesis.update({k: kw.pop(k) for k in list(kw) if k not in _TOP_KEYS})
    for where, given, known in (("mapping", mapping, _MAPPING_KEYS),
                                ("synthesis", synthesis, _SYNTHESIS_KEYS | _IGNORED_KEYS)):
        bad = sorted(set(given) - known)
        if bad:
            raise CheckpointError(f"the generator's {where} network has a setting GAN Studio does not know ({bad[0]})")
    for key in _IGNORED_KEYS:
        synthesis.pop(key, None)
    mapping.pop("w_avg_beta", None)
    if arch == SG3_STYLEGAN2:
        synthesis.setdefault("conv_clamp", 256)  # that repository's default; stylegan2-ada's is None
    try:
        top = {k: int(kw[k]) for k in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")}
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"the generator's settings lack a usable {exc}") from None
    res = top["img_resolution"]
    if not 4 <= res <= MAX_RESOLUTION or res & (res - 1):
        raise CheckpointError(f"the generator's resolution {res} is not a power of two from 4 to {MAX_RESOLUTION}")
    if min(top.values()) < 0 or top["w_dim"] < 1 or top["img_channels"] < 1:
        raise CheckpointError("the generator's dimensions must be positive")
    for key in ("activation",):
        for part in (mapping, synthesis):
            if part.get(key, "lrelu") not in ACTIVATIONS:
                raise CheckpointError(f"the generator uses the activation {part[key]!r}, which GAN Studio lacks")
    if synthesis.get("architecture", "skip") not in ("orig", "skip", "resnet"):
        raise CheckpointError(f"unknown synthesis architecture {synthesis['architecture']!r}")
    if "channels" in synthesis:
        synthesis["channels"] = {int(r): int(c) for r, c in synthesis["channels"].items()}
    return {**top, "mapping_kwargs": mapping, **synthesis}


def build_stylegan2(arch: str, init_kwargs: dict[str, Any]) -> Generator:
    """Our Generator for a file's recorded class and init kwargs (on the current default device)."""
    return Generator(**generator_kwargs(arch, init_kwargs))


D_ADA = "training.networks.Discriminator"
D_SG3_STYLEGAN2 = "training.networks_stylegan2.Discriminator"
_D_KEYS = {"c_dim", "img_resolution", "img_channels", "architecture", "channel_base", "channel_max", "conv_clamp",
           "cmap_dim", "block_kwargs", "mapping_kwargs", "epilogue_kwargs"}


def build_discriminator(arch: str, init_kwargs: dict[str, Any]) -> Discriminator:
    """Our Discriminator for a file's recorded class (D_ADA or D_SG3_STYLEGAN2) and init kwargs."""
    kw = {k: v for k, v in init_kwargs.items() if k != "num_fp16_res"}
    unknown = sorted(set(kw) - _D_KEYS)
    if unknown:
        raise CheckpointError(f"the discriminator has a setting GAN Studio does not know ({unknown[0]})")
    if arch == D_SG3_STYLEGAN2:
        kw.setdefault("conv_clamp", 256)  # that repository's default; stylegan2-ada's is None
    for key in ("block_kwargs", "mapping_kwargs"):
        kw[key] = {k: v for k, v in (kw.get(key) or {}).items()
                   if k not in ("use_fp16", "fp16_channels_last", "freeze_layers", "w_avg_beta")}
    res = int(kw.get("img_resolution", 0))
    if not 4 <= res <= MAX_RESOLUTION or res & (res - 1):
        raise CheckpointError(f"the discriminator's resolution {res} is not a power of two from 4 to {MAX_RESOLUTION}")
    return Discriminator(**kw)


# -- rosinality stylegan2-pytorch ---------------------------------------------------------------------


def rosinality_settings(g_ema: dict[str, torch.Tensor], args: dict[str, Any]) -> dict[str, Any]:
    """Init kwargs (our layout) of a rosinality `g_ema`: size, mapping depth and widths read from the weights,
    the mapping's lr multiplier from `args` (lr_mlp, 0.01 when absent)."""
    try:
        n_mlp = max(int(k.split(".")[1]) for k in g_ema if k.startswith("style.") and k.endswith(".weight"))
        w_dim = g_ema["style.1.weight"].shape[0]
        z_dim = g_ema["style.1.weight"].shape[1]
        channels = {4: int(g_ema["input.input"].shape[1])}
        n_rgb = 1 + max((int(k.split(".")[1]) + 1 for k in g_ema if k.startswith("to_rgbs.")), default=0)
        for j in range(n_rgb - 1):
            channels[8 * 2 ** j] = int(g_ema[f"convs.{2 * j}.conv.weight"].shape[1])
        img_channels = int(g_ema["to_rgb1.conv.weight"].shape[1])
    except (KeyError, ValueError, IndexError, AttributeError) as exc:
        raise CheckpointError(f"the g_ema weights are not a rosinality StyleGAN2 generator (no {exc})") from None
    size = 4 * 2 ** (n_rgb - 1)
    if args.get("size") not in (None, size) or args.get("n_mlp") not in (None, n_mlp):
        raise CheckpointError(f"the checkpoint's args (size {args.get('size')}, n_mlp {args.get('n_mlp')}) "
                              f"disagree with its weights (size {size}, n_mlp {n_mlp})")
    blur = g_ema.get("convs.0.conv.blur.kernel")
    taps = [1, 3, 3, 1]
    if blur is not None and blur.shape != (4, 4):
        raise CheckpointError(f"the checkpoint's blur kernel {list(blur.shape)} is not the [1, 3, 3, 1] filter")
    return {"z_dim": z_dim, "c_dim": 0, "w_dim": w_dim, "img_resolution": size, "img_channels": img_channels,
            "mapping_kwargs": {"num_layers": n_mlp, "lr_multiplier": float(args.get("lr_mlp", 0.01))},
            "channels": channels, "resample_filter": taps, "conv_clamp": None}


def rosinality_state(g_ema: dict[str, torch.Tensor], latent_avg: torch.Tensor | None,
                     settings: dict[str, Any]) -> dict[str, torch.Tensor]:
    """rosinality's `g_ema` tensors renamed (and reshaped) onto our layout; w_avg from `latent_avg` (zeros when
    absent: `import_network` then estimates it)."""
    res_list = [2 ** i for i in range(2, int(math.log2(settings["img_resolution"])) + 1)]
    filt = setup_filter(settings["resample_filter"])
    out: dict[str, torch.Tensor] = {}

    def styled(src: str, dst: str, noise: str) -> None:
        out[f"{dst}.weight"] = g_ema[f"{src}.conv.weight"][0]
        out[f"{dst}.affine.weight"] = g_ema[f"{src}.conv.modulation.weight"]
        out[f"{dst}.affine.bias"] = g_ema[f"{src}.conv.modulation.bias"]
        out[f"{dst}.noise_strength"] = g_ema[f"{src}.noise.weight"].reshape([])
        out[f"{dst}.noise_const"] = g_ema[noise].reshape(g_ema[noise].shape[-2:])
        out[f"{dst}.bias"] = g_ema[f"{src}.activate.bias"]
        out[f"{dst}.resample_filter"] = filt.clone()

    def to_rgb(src: str, dst: str) -> None:
        out[f"{dst}.weight"] = g_ema[f"{src}.conv.weight"][0]
        out[f"{dst}.affine.weight"] = g_ema[f"{src}.conv.modulation.weight"]
        out[f"{dst}.affine.bias"] = g_ema[f"{src}.conv.modulation.bias"]
        out[f"{dst}.bias"] = g_ema[f"{src}.bias"].reshape(-1)

    try:
        for i in range(settings["mapping_kwargs"]["num_layers"]):
            out[f"mapping.fc{i}.weight"] = g_ema[f"style.{i + 1}.weight"]
            out[f"mapping.fc{i}.bias"] = g_ema[f"style.{i + 1}.bias"]
        out["mapping.w_avg"] = (latent_avg.reshape(-1) if latent_avg is not None
                                else torch.zeros(settings["w_dim"]))
        out["synthesis.b4.const"] = g_ema["input.input"][0]
        out["synthesis.b4.resample_filter"] = filt.clone()
        styled("conv1", "synthesis.b4.conv1", "noises.noise_0")
        to_rgb("to_rgb1", "synthesis.b4.torgb")
        for j, res in enumerate(res_list[1:]):
            block = f"synthesis.b{res}"
            out[f"{block}.resample_filter"] = filt.clone()
            styled(f"convs.{2 * j}", f"{block}.conv0", f"noises.noise_{2 * j + 1}")
            styled(f"convs.{2 * j + 1}", f"{block}.conv1", f"noises.noise_{2 * j + 2}")
            to_rgb(f"to_rgbs.{j}", f"{block}.torgb")
    except KeyError as exc:
        raise CheckpointError(f"the g_ema weights lack {exc.args[0]}, so they are not a complete rosinality "
                              "StyleGAN2 generator") from None
    return out
