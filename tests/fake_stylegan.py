"""A tiny style-based generator with the StyleGAN interface (mapping with w_dim, w_avg and truncation_psi;
synthesis(ws, noise_mode); num_ws; style-affine layers named `*.affine`), so that the explorer's StyleGAN paths
are tested without the real model. Each style row drives its own basis images, so every row shows in the pixels."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.core.config import ModelConfig, RunConfig


class FakeMapping(nn.Module):
    def __init__(self, z_dim: int, w_dim: int, num_ws: int, c_dim: int):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws, self.c_dim = z_dim, w_dim, num_ws, c_dim
        self.net = nn.Linear(z_dim + c_dim, w_dim)
        self.register_buffer("w_avg", torch.randn(w_dim) * 0.1)

    def forward(self, z, c=None, truncation_psi: float = 1.0, truncation_cutoff=None):
        x = torch.cat([z, F.one_hot(c, self.c_dim).to(z.dtype)], 1) if self.c_dim else z
        w = F.leaky_relu(self.net(x), 0.2)
        ws = w[:, None, :].repeat(1, self.num_ws, 1)
        return self.w_avg.lerp(ws, truncation_psi) if truncation_psi != 1.0 else ws


class FakeStyleLayer(nn.Module):
    def __init__(self, w_dim: int, channels: int, image_channels: int, resolution: int):
        super().__init__()
        self.affine = nn.Linear(w_dim, channels)
        self.basis = nn.Parameter(torch.randn(channels, image_channels, resolution, resolution) * 0.3)

    def forward(self, w):
        return torch.einsum("nk,kchw->nchw", self.affine(w), self.basis)


class FakeSynthesis(nn.Module):
    def __init__(self, w_dim: int, num_ws: int, resolution: int, channels: int):
        super().__init__()
        self.w_dim, self.num_ws = w_dim, num_ws
        self.layers = nn.ModuleList(FakeStyleLayer(w_dim, 6, channels, resolution) for _ in range(num_ws))

    def forward(self, ws, noise_mode: str = "const"):
        assert ws.shape[1:] == (self.num_ws, self.w_dim), ws.shape
        return torch.tanh(sum(layer(ws[:, i]) for i, layer in enumerate(self.layers)))


class FakeStyleGenerator(nn.Module):
    def __init__(self, z_dim=8, w_dim=12, num_ws=6, resolution=16, channels=3, num_classes=0):
        super().__init__()
        self.num_ws = num_ws
        self.mapping = FakeMapping(z_dim, w_dim, num_ws, num_classes)
        self.synthesis = FakeSynthesis(w_dim, num_ws, resolution, channels)

    @property
    def w_avg(self):
        return self.mapping.w_avg

    def forward(self, z, c=None, truncation_psi=1.0, noise_mode="const"):
        return self.synthesis(self.mapping(z, c, truncation_psi), noise_mode=noise_mode)


def fake_stylegan(num_classes: int = 0, seed: int = 0, num_ws: int = 6, resolution: int = 16):
    """A seeded fake StyleGAN and a config describing it."""
    torch.manual_seed(seed)
    G = FakeStyleGenerator(num_ws=num_ws, resolution=resolution, num_classes=num_classes).eval()
    m = ModelConfig(arch="stylegan", z_dim=8, resolution=resolution, channels=3, conditional=num_classes > 0,
                    num_classes=num_classes, class_names=tuple(f"class {i}" for i in range(num_classes)))
    return G, RunConfig(model=m)
