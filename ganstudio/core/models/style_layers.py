"""Building blocks of StyleGAN (Karras et al. 2019, 2020), one small module per idea, after rosinality's
stylegan2-pytorch `model.py`. Pure PyTorch: runs on the CPU, CUDA and Apple MPS."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_GAIN = math.sqrt(2.0)  # keeps the activations' variance through leaky ReLU 0.2 (He et al.)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU 0.2 scaled by sqrt(2), StyleGAN's activation."""
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


def upsample(x: torch.Tensor) -> torch.Tensor:
    """Double the size with bilinear interpolation (the [1, 3, 3, 1] filter of StyleGAN2's upsampler)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def downsample(x: torch.Tensor) -> torch.Tensor:
    """Halve the size by averaging 2x2 pixels."""
    return F.avg_pool2d(x, 2)


class PixelNorm(nn.Module):
    """Normalize each vector to unit mean square (Karras et al. 2018): the mapping network's input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class EqualLinear(nn.Module):
    """A linear layer with equalized learning rate: weights stored as N(0, 1) / lr_mul, scaled at run time."""

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.scale = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return lrelu(out) if self.activation else out


class EqualConv2d(nn.Module):
    """A convolution with equalized learning rate and 'same' padding (the discriminator's layers)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class ModulatedConv2d(nn.Module):
    """StyleGAN2's weight modulation and demodulation, computed per sample without grouped convolutions:
    scale the input channels by the style, convolve with the shared weight, rescale the output channels
    by the demodulation coefficients (mathematically the same as modulating the weight itself)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int, demodulate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)  # w -> per-channel style, starting at 1
        self.demodulate = demodulate
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # [N, in]
        weight = self.weight * self.scale
        x = F.conv2d(x * styles[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:
            # 1 / ||w * s|| per sample and output channel: sum over inputs and taps of (w s)^2
            power = styles.square() @ weight.square().sum(dim=(2, 3)).t()  # [N, out]
            x = x * torch.rsqrt(power + 1e-8)[:, :, None, None]
        return x


class AdaIN(nn.Module):
    """Adaptive instance normalization (Huang & Belongie 2017; StyleGAN 2019): normalize each feature map,
    then scale and shift it by a style computed from w (one affine layer giving both, as in the paper)."""

    def __init__(self, channels: int, w_dim: int):
        super().__init__()
        self.affine = EqualLinear(w_dim, 2 * channels, bias_init=1.0)
        with torch.no_grad():
            self.affine.bias[channels:] = 0.0  # scales start at 1, shifts at 0

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        scale, shift = self.affine(w)[:, :, None, None].chunk(2, dim=1)
        return F.instance_norm(x, eps=1e-8) * scale + shift


NOISE_MODES = ("random", "const", "none")


class NoiseInput(nn.Module):
    """Per-pixel Gaussian noise added to a feature map with a learned strength (starting at 0).

    noise_mode: "random" draws new noise on every call, "const" uses a fixed map stored with the model (so a
    rendering is deterministic), "none" adds nothing.
    """

    def __init__(self, resolution: int):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, noise_mode: str) -> torch.Tensor:
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        elif noise_mode == "const":
            noise = self.const
        else:
            return x
        return x + noise * self.strength


def check_noise_mode(noise_mode: str) -> None:
    """Shape-check style guard for the noise mode names."""
    if noise_mode not in NOISE_MODES:
        raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, not {noise_mode!r}")
