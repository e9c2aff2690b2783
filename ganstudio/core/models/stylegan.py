"""StyleGAN (Karras et al. 2019) with StyleGAN2's weight demodulation and skip generator (Karras et al. 2020).

The generator is a mapping network (z, class -> w, repeated into `num_ws` style rows) and a synthesis network
(learned 4x4 constant, two style-modulated 3x3 convolutions per resolution, per-layer noise, to-RGB skips).
`G(z, c, truncation_psi)` = `G.synthesis(G.mapping(z, c, truncation_psi))`; style mixing swaps rows of ws.
Optionally the networks grow progressively with fade-in (Karras et al. 2018).
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.core.config import ModelConfig
from ganstudio.core.models.layers import MinibatchStdDev, check_labels
from ganstudio.core.models.style_layers import (
    AdaIN, EqualConv2d, EqualLinear, ModulatedConv2d, NoiseInput, PixelNorm, check_noise_mode, downsample, lrelu,
    upsample,
)
from ganstudio.core.errors import ConfigError

RESOLUTIONS = (32, 64, 128)


def level_count(resolution: int) -> int:
    """The number of doublings from 4x4 to the output (4 for 64x64)."""
    if resolution not in RESOLUTIONS:
        raise ConfigError(f"StyleGAN supports resolutions {', '.join(map(str, RESOLUTIONS))}, not {resolution}")
    return int(math.log2(resolution)) - 2


def channel_width(cfg: ModelConfig, size: int) -> int:
    """Feature maps at a given size: `capacity` at the output size, doubling per halving, capped at 8x."""
    return cfg.capacity * min(8, cfg.resolution // size)


def style_count(resolution: int) -> int:
    """How many rows ws has: one per modulated convolution, the to-RGB layers sharing the next conv's row."""
    return 2 * level_count(resolution) + 2


# ---------------------------------------------------------------------------------------------------------------
# Progressive growing


def growth_at(step: int, total: int, levels: int, share: float) -> float:
    """How far the networks have grown after `step` of `total` steps: 0 is 4x4 only, k.a is level k+1 faded in
    by a. The first `share` of training is split evenly into 4x4 alone, then for each new level half fade-in
    and half stabilization (Karras et al. 2018); the rest trains at full size."""
    grow_steps = share * total
    if levels == 0 or step >= grow_steps:
        return float(levels)
    slice_len = grow_steps / (levels + 1)
    k, t = divmod(step / slice_len, 1.0)
    if k == 0:
        return 0.0
    return (k - 1) + min(1.0, 2.0 * t)


def _top_and_alpha(growth: float) -> tuple[int, float]:
    """The highest level in use and how much of it is faded in."""
    top = math.ceil(growth)
    return top, (growth - top + 1.0) if top > 0 else 1.0


# ---------------------------------------------------------------------------------------------------------------
# Generator


class MappingNetwork(nn.Module):
    """z (pixel-normalized, with an embedded class when conditional) -> MLP -> w, broadcast to num_ws rows.

    Tracks w_avg, the moving average of w during training, which truncation pulls towards (for a conditional
    model also one average per class, so that truncation keeps the class)."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, num_layers: int, lr_mul: float,
                 w_avg_beta: float = 0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.w_avg_beta = w_avg_beta
        self.norm = PixelNorm()
        self.embed = EqualLinear(c_dim, w_dim) if c_dim else None
        in_features = z_dim + (w_dim if c_dim else 0)
        self.net = nn.Sequential(*[
            EqualLinear(in_features if i == 0 else w_dim, w_dim, lr_mul=lr_mul, activation=True)
            for i in range(num_layers)
        ])
        self.register_buffer("w_avg", torch.zeros(w_dim))
        if c_dim:
            self.register_buffer("w_avg_class", torch.zeros(c_dim, w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_w_avg: bool = False) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape [N, {self.z_dim}], got {list(z.shape)}")
        check_labels(c, z.shape[0], self.c_dim, "generator")
        x = self.norm(z)
        if self.embed is not None:
            x = torch.cat([x, self.norm(self.embed(F.one_hot(c, self.c_dim).to(z.dtype)))], dim=1)
        w = self.net(x)
        if update_w_avg:
            self._track_w_avg(w.detach(), c)
        ws = w[:, None, :].repeat(1, self.num_ws, 1)
        if truncation_psi != 1.0:
            center = self.w_avg if self.c_dim == 0 else self.w_avg_class[c][:, None, :]
            rows = slice(0, self.num_ws if truncation_cutoff is None else truncation_cutoff)
            ws[:, rows] = center.to(ws.dtype).lerp(ws[:, rows], truncation_psi)
        return ws

    @torch.no_grad()
    def _track_w_avg(self, w: torch.Tensor, c: torch.Tensor | None) -> None:
        w = w.float()  # under bf16/fp16 autocast w is half precision; the averages stay float32
        self.w_avg.copy_(w.mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.c_dim:
            sums = torch.zeros_like(self.w_avg_class).index_add_(0, c, w)
            counts = torch.bincount(c, minlength=self.c_dim).to(w.dtype)[:, None]
            moved = (sums / counts.clamp(min=1)).lerp(self.w_avg_class, self.w_avg_beta)
            self.w_avg_class.copy_(torch.where(counts > 0, moved, self.w_avg_class))


class StyledConv(nn.Module):
    """(2x upsample) -> 3x3 convolution modulated by a style -> noise -> bias -> leaky ReLU.

    With modulation "adain" the convolution is plain and AdaIN applies the style after the activation, as in
    the first StyleGAN; "demod" is StyleGAN2's weight (de)modulation."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool = False,
                 modulation: str = "demod"):
        super().__init__()
        self.up = up
        if modulation == "adain":
            self.conv = EqualConv2d(in_channels, out_channels, 3, bias=False)
            self.adain = AdaIN(out_channels, w_dim)
        else:
            self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, demodulate=True)
            self.adain = None
        self.noise = NoiseInput(resolution)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str) -> torch.Tensor:
        if self.up:
            x = upsample(x)
        x = self.conv(x) if self.adain is not None else self.conv(x, w)
        x = lrelu(self.noise(x, noise_mode) + self.bias[None, :, None, None])
        return self.adain(x, w) if self.adain is not None else x


class ToRGB(nn.Module):
    """A 1x1 convolution modulated (not demodulated) by a style, from features to image channels."""

    def __init__(self, in_channels: int, channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class SynthesisBlock(nn.Module):
    """One doubling of resolution: an upsampling styled conv, a styled conv and a to-RGB output."""

    def __init__(self, in_channels: int, out_channels: int, channels: int, w_dim: int, resolution: int,
                 modulation: str):
        super().__init__()
        self.conv0 = StyledConv(in_channels, out_channels, w_dim, resolution, up=True, modulation=modulation)
        self.conv1 = StyledConv(out_channels, out_channels, w_dim, resolution, modulation=modulation)
        self.torgb = ToRGB(out_channels, channels, w_dim)


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, R, R]: a learned 4x4 constant refined by styled convolutions;
    the image is the sum of every resolution's to-RGB output, upsampled (StyleGAN2's skip generator)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.resolution, self.channels, self.w_dim = cfg.resolution, cfg.channels, cfg.w_dim
        self.levels = level_count(cfg.resolution)
        self.num_ws = style_count(cfg.resolution)
        width = channel_width(cfg, 4)
        self.const = nn.Parameter(torch.randn(1, width, 4, 4))
        self.conv = StyledConv(width, width, cfg.w_dim, 4, modulation=cfg.modulation)
        self.torgb = ToRGB(width, cfg.channels, cfg.w_dim)
        self.blocks = nn.ModuleList()
        for k in range(1, self.levels + 1):
            size = 4 * 2 ** k
            self.blocks.append(SynthesisBlock(channel_width(cfg, size // 2), channel_width(cfg, size),
                                              cfg.channels, cfg.w_dim, size, cfg.modulation))
        if cfg.progressive:
            self.register_buffer("growth", torch.tensor(float(self.levels)))

    def forward(self, ws: torch.Tensor, noise_mode: str | None = None) -> torch.Tensor:
        """noise_mode: random, const or none; None means random while training and const otherwise."""
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        noise_mode = noise_mode or ("random" if self.training else "const")
        check_noise_mode(noise_mode)
        top, alpha = _top_and_alpha(float(self.growth)) if hasattr(self, "growth") else (self.levels, 1.0)
        x = self.conv(self.const.expand(ws.shape[0], -1, -1, -1), ws[:, 0], noise_mode)
        img = self.torgb(x, ws[:, 1])
        for k, block in enumerate(self.blocks[:top], start=1):
            x = block.conv0(x, ws[:, 2 * k - 1], noise_mode)
            x = block.conv1(x, ws[:, 2 * k], noise_mode)
            rgb = block.torgb(x, ws[:, 2 * k + 1])
            img = upsample(img) + (rgb if k < top or alpha >= 1.0 else alpha * rgb)
        for _ in range(top, self.levels):  # a growing network still renders at full size, upsampled as the
            img = upsample(img)              # skips are, so that a level fading in changes it continuously
        return img if self.training else img.clamp(-1.0, 1.0)

    def feature_layers(self) -> list[tuple[int, nn.Module]]:
        """(size, module) of each resolution's last styled conv, 4x4 up: the feature maps DragGAN reads."""
        return [(4, self.conv)] + [(4 * 2 ** k, block.conv1) for k, block in enumerate(self.blocks, start=1)]


class StyleGANGenerator(nn.Module):
    """G(z, c, truncation_psi) with G.mapping(z, c) -> ws and G.synthesis(ws, noise_mode) -> image.

    In training mode it updates w_avg and applies style-mixing regularization: with probability
    `style_mixing_prob` a sample takes its styles from a second latent from a random row on."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.z_dim, self.w_dim = cfg.z_dim, cfg.w_dim
        self.c_dim = cfg.num_classes if cfg.conditional else 0
        self.out_shape = (cfg.channels, cfg.resolution, cfg.resolution)
        self.style_mixing_prob = cfg.style_mixing_prob
        self.progressive_share = cfg.progressive_share
        self.synthesis = SynthesisNetwork(cfg)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(cfg.z_dim, self.c_dim, cfg.w_dim, self.num_ws, cfg.mapping_layers,
                                      cfg.mapping_lr_mul)

    @property
    def w_avg(self) -> torch.Tensor:
        """The moving average of w over training (the centre of truncation)."""
        return self.mapping.w_avg

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str | None = None) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi, truncation_cutoff, update_w_avg=self.training)
        if self.training and self.style_mixing_prob > 0:
            ws = self._mixing_regularization(z, c, ws)
        return self.synthesis(ws, noise_mode)

    def _mixing_regularization(self, z: torch.Tensor, c: torch.Tensor | None, ws: torch.Tensor) -> torch.Tensor:
        n, dev = z.shape[0], z.device
        crossover = torch.randint(1, self.num_ws, (n,), device=dev)
        crossover = torch.where(torch.rand(n, device=dev) < self.style_mixing_prob, crossover, self.num_ws)
        other = self.mapping(torch.randn_like(z), c)
        return mix_styles(ws, other, crossover)

    def set_training_progress(self, step: int, total: int) -> None:
        """Progressive growing: set how far the synthesis network has grown at this step."""
        if hasattr(self.synthesis, "growth"):
            self.synthesis.growth.fill_(growth_at(step, total, self.synthesis.levels, self.progressive_share))


def mix_styles(ws: torch.Tensor, ws_other: torch.Tensor,
               layers: int | torch.Tensor | Iterable[int] | range) -> torch.Tensor:
    """ws with some rows taken from ws_other: `layers` is a crossover row (int, or one per sample as a tensor
    [N]) from which on the rows come from ws_other, a list/range of row indices, or a boolean mask of rows
    ([num_ws] or [N, num_ws])."""
    if ws.dim() != 3 or ws_other.shape[1:] != ws.shape[1:]:
        raise ValueError(f"both ws must have shape [N, num_ws, w_dim]; got {list(ws.shape)} and "
                         f"{list(ws_other.shape)}")
    num_ws = ws.shape[1]
    rows = torch.arange(num_ws, device=ws.device)
    if isinstance(layers, int):
        mask = rows >= layers
    elif torch.is_tensor(layers) and layers.dtype == torch.bool:
        mask = layers.to(ws.device)
    elif torch.is_tensor(layers) and layers.dim() == 1 and layers.shape[0] == ws.shape[0]:
        mask = rows[None, :] >= layers.to(ws.device)[:, None]
    else:
        chosen = torch.as_tensor(list(layers), dtype=torch.long)
        if chosen.numel() and (chosen.min() < 0 or chosen.max() >= num_ws):
            raise ValueError(f"style rows must be in 0-{num_ws - 1}, got {chosen.tolist()}")
        mask = torch.zeros(num_ws, dtype=torch.bool).index_fill_(0, chosen, True).to(ws.device)
    if mask.shape[-1] != num_ws:
        raise ValueError(f"the row mask must have {num_ws} entries, got {list(mask.shape)}")
    mask = mask if mask.dim() == 2 else mask[None, :]
    return torch.where(mask[:, :, None], ws_other, ws)


# ---------------------------------------------------------------------------------------------------------------
# Discriminator


class FromRGB(nn.Module):
    """A 1x1 convolution from image channels to features, with leaky ReLU."""

    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.conv = EqualConv2d(channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lrelu(self.conv(x))


class DiscriminatorBlock(nn.Module):
    """A residual block halving the resolution: two 3x3 convolutions beside a downsampled 1x1 skip,
    summed and scaled by 1/sqrt(2) (StyleGAN2's residual discriminator)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(downsample(x))
        x = lrelu(self.conv0(x))
        x = lrelu(self.conv1(downsample(x)))
        return (x + skip) * (1.0 / math.sqrt(2.0))


class StyleGANDiscriminator(nn.Module):
    """image -> from-RGB -> residual blocks down to 4x4 -> minibatch std-dev -> conv -> dense -> logit; a
    conditional model adds the projection of the class embedding on the last features (Miyato & Koyama 2018)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.c_dim = cfg.num_classes if cfg.conditional else 0
        self.levels = level_count(cfg.resolution)
        sizes = [4 * 2 ** k for k in range(self.levels + 1)]  # 4, 8, ... resolution
        if cfg.progressive:
            self.fromrgb = nn.ModuleList(FromRGB(cfg.channels, channel_width(cfg, s)) for s in sizes)
            self.register_buffer("growth", torch.tensor(float(self.levels)))
        else:
            self.fromrgb = nn.ModuleList([FromRGB(cfg.channels, channel_width(cfg, cfg.resolution))])
        self.progressive_share = cfg.progressive_share
        # blocks[k - 1] takes level k (size 4 * 2^k) down to level k - 1
        self.blocks = nn.ModuleList(DiscriminatorBlock(channel_width(cfg, s), channel_width(cfg, s // 2))
                                    for s in sizes[1:])
        width = channel_width(cfg, 4)
        self.mbstd = MinibatchStdDev(group_size=4)
        self.conv = EqualConv2d(width + 1, width, 3)
        self.dense = EqualLinear(width * 16, width, activation=True)
        self.out = EqualLinear(width, 1)
        self.class_embed = EqualLinear(self.c_dim, width) if self.c_dim else None

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None, return_features: bool = False):
        check_labels(c, x.shape[0], self.c_dim, "discriminator")
        if hasattr(self, "growth"):
            h = self._grown_features(x, *_top_and_alpha(float(self.growth)))
        else:
            h = self.fromrgb[0](x)
            for block in reversed(self.blocks):
                h = block(h)
        h = lrelu(self.conv(self.mbstd(h)))
        h = self.dense(h.flatten(1))
        out = self.out(h).squeeze(1)
        if self.class_embed is not None:
            y = self.class_embed(F.one_hot(c, self.c_dim).to(h.dtype))
            out = out + (y * h).sum(dim=1) / math.sqrt(h.shape[1])
        return (out, h) if return_features else out

    def _grown_features(self, x: torch.Tensor, top: int, alpha: float) -> torch.Tensor:
        """Progressive growing: read the image at the current size, fading the newest level in."""
        if top < self.levels:
            x = F.avg_pool2d(x, 2 ** (self.levels - top))
        if top == 0:
            return self.fromrgb[0](x)
        if alpha >= 1.0:
            return self._blocks_down(self.blocks[top - 1](self.fromrgb[top](x)), top - 1)
        # The newest level fades in: its detail in the image (real and generated alike) and its layers.
        low = downsample(x)
        x = torch.lerp(upsample(low), x, alpha)
        h = torch.lerp(self.fromrgb[top - 1](low), self.blocks[top - 1](self.fromrgb[top](x)), alpha)
        return self._blocks_down(h, top - 1)

    def _blocks_down(self, h: torch.Tensor, level: int) -> torch.Tensor:
        """Run the residual blocks from `level` down to 4x4."""
        for k in range(level, 0, -1):
            h = self.blocks[k - 1](h)
        return h

    def set_training_progress(self, step: int, total: int) -> None:
        """Progressive growing: set how far the discriminator has grown at this step."""
        if hasattr(self, "growth"):
            self.growth.fill_(growth_at(step, total, self.levels, self.progressive_share))
