"""DCGAN (Radford et al. 2015): transposed convolutions up, strided convolutions down, no pooling,
batch norm, ReLU in G and LeakyReLU 0.2 in D, Tanh output, N(0, 0.02) initialization."""
from __future__ import annotations

import math

import torch
from torch import nn

from ganstudio.core.config import ModelConfig
from ganstudio.core.models.layers import (
    DiscriminatorHead, MinibatchStdDev, check_labels, class_embedding, dcgan_init, maybe_sn, norm_2d,
)


def stage_widths(cfg: ModelConfig) -> tuple[int, list[int]]:
    """The spatial size of the smallest feature map (4, or 7 for 28x28) and the channel widths from
    that map upwards, capped at 8x capacity as in the paper."""
    base = 7 if cfg.resolution == 28 else 4
    n_up = int(round(math.log2(cfg.resolution / base)))
    return base, [cfg.capacity * min(8, 2 ** (n_up - 1 - i)) for i in range(n_up)]


class DCGANGenerator(nn.Module):
    """z (+ one-hot class code) -> base x base -> doubling transposed convolutions -> image."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.z_dim, self.c_dim = cfg.z_dim, cfg.num_classes if cfg.conditional else 0
        self.out_shape = (cfg.channels, cfg.resolution, cfg.resolution)
        self.embed = class_embedding(self.c_dim) if self.c_dim else None
        base, widths = stage_widths(cfg)
        in_ch = self.z_dim + self.c_dim
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_ch, widths[0], base, 1, 0, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(True),
        ]
        for prev, nxt in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(prev, nxt, 4, 2, 1, bias=False), nn.BatchNorm2d(nxt), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], cfg.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(c, z.shape[0], self.c_dim, "generator")
        if self.embed is not None:
            z = torch.cat([z, self.embed(c)], dim=1)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """image (+ one-hot class planes for "concat") -> halving strided convolutions -> base x base -> logit."""

    def __init__(self, cfg: ModelConfig, norm: str = "batch"):
        super().__init__()
        self.c_dim = cfg.num_classes if cfg.conditional else 0
        self.concat = self.c_dim > 0 and cfg.d_condition == "concat"
        base, widths = stage_widths(cfg)
        widths = widths[::-1]  # narrowest first, at full resolution
        sn = cfg.spectral_norm
        in_ch = cfg.channels + (self.c_dim if self.concat else 0)
        layers: list[nn.Module] = [maybe_sn(nn.Conv2d(in_ch, widths[0], 4, 2, 1), sn), nn.LeakyReLU(0.2, True)]
        if cfg.d_dropout > 0:
            layers.append(nn.Dropout(cfg.d_dropout))
        for prev, nxt in zip(widths, widths[1:]):
            layers += [maybe_sn(nn.Conv2d(prev, nxt, 4, 2, 1, bias=norm == "none"), sn), norm_2d(norm, nxt),
                       nn.LeakyReLU(0.2, True)]
            if cfg.d_dropout > 0:
                layers.append(nn.Dropout(cfg.d_dropout))
        self.features = nn.Sequential(*layers)
        self.mbstd = MinibatchStdDev() if cfg.minibatch_std else None
        feat = (widths[-1] + (1 if self.mbstd else 0)) * base * base
        # A linear layer on the flattened base x base map is the paper's final valid convolution.
        self.head = DiscriminatorHead(feat, self.c_dim, projection=self.c_dim > 0 and not self.concat,
                                      spectral=sn, minibatch_discrimination=cfg.minibatch_discrimination)
        dcgan_init(self)
        self.head.init_weights()

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None, return_features: bool = False):
        check_labels(c, x.shape[0], self.c_dim, "discriminator")
        if self.concat:
            planes = nn.functional.one_hot(c, self.c_dim).to(x.dtype)[:, :, None, None]
            x = torch.cat([x, planes.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        h = self.features(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        h = h.flatten(1)
        out = self.head(h, c)
        return (out, h) if return_features else out
