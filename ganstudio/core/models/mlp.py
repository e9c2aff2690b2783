"""The classic fully connected GAN (Goodfellow et al. 2014), for images and for 2D toy data."""
from __future__ import annotations

import torch
from torch import nn

from ganstudio.core.config import ModelConfig
from ganstudio.core.models.layers import (
    DiscriminatorHead, MinibatchStdDev, check_labels, class_embedding, dcgan_init, maybe_sn,
)


def _widths(cfg: ModelConfig, base: tuple[int, ...]) -> list[int]:
    return [max(8, w * cfg.capacity // 64) for w in base]


class MLPGenerator(nn.Module):
    """z (+ one-hot class code) -> 256 -> 512 -> 1024 -> image with Tanh (toy data: 3 layers -> 2D point)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.z_dim, self.c_dim = cfg.z_dim, cfg.num_classes if cfg.conditional else 0
        self.out_shape = (2,) if cfg.toy else (cfg.channels, cfg.resolution, cfg.resolution)
        self.embed = class_embedding(self.c_dim) if self.c_dim else None
        widths = _widths(cfg, (128, 128, 128) if cfg.toy else (256, 512, 1024))
        layers: list[nn.Module] = []
        prev = self.z_dim + self.c_dim
        for w in widths:
            layers.append(nn.Linear(prev, w))
            if not cfg.toy:
                layers.append(nn.BatchNorm1d(w))
            layers.append(nn.LeakyReLU(0.2) if not cfg.toy else nn.ReLU())
            prev = w
        out = 1
        for s in self.out_shape:
            out *= s
        layers.append(nn.Linear(prev, out))
        if not cfg.toy:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        if not cfg.toy:
            dcgan_init(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(c, z.shape[0], self.c_dim, "generator")
        if self.embed is not None:
            z = torch.cat([z, self.embed(c)], dim=1)
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """image or point -> 1024 -> 512 -> 256 -> logit, LeakyReLU 0.2 and dropout."""

    def __init__(self, cfg: ModelConfig, norm: str = "none"):
        super().__init__()
        self.c_dim = cfg.num_classes if cfg.conditional else 0
        self.concat = self.c_dim > 0 and cfg.d_condition == "concat"
        in_features = 2 if cfg.toy else cfg.channels * cfg.resolution * cfg.resolution
        self.embed = class_embedding(self.c_dim) if self.concat else None
        dropout = cfg.d_dropout if cfg.d_dropout > 0 else (0.0 if cfg.toy else 0.3)
        widths = _widths(cfg, (128, 128, 128) if cfg.toy else (1024, 512, 256))
        layers: list[nn.Module] = []
        prev = in_features + (self.c_dim if self.concat else 0)
        for w in widths:
            layers.append(maybe_sn(nn.Linear(prev, w), cfg.spectral_norm))
            if norm == "layer":
                layers.append(nn.LayerNorm(w))
            layers.append(nn.LeakyReLU(0.2))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            prev = w
        self.features = nn.Sequential(*layers)
        self.mbstd = MinibatchStdDev() if cfg.minibatch_std else None
        self.head = DiscriminatorHead(
            prev + (1 if self.mbstd else 0), self.c_dim, projection=self.c_dim > 0 and not self.concat,
            spectral=cfg.spectral_norm, minibatch_discrimination=cfg.minibatch_discrimination,
        )

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None, return_features: bool = False):
        check_labels(c, x.shape[0], self.c_dim, "discriminator")
        h = x.flatten(1)
        if self.embed is not None:
            h = torch.cat([h, self.embed(c)], dim=1)
        h = self.features(h)
        if self.mbstd is not None:
            h = self.mbstd(h)
        out = self.head(h, c)
        return (out, h) if return_features else out
