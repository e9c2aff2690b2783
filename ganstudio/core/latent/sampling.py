"""Latent codes: per-seed sampling, truncation and interpolation, for every generator family.

A StyleGAN (a generator with `mapping` and `synthesis`) is edited in w space, one row per synthesis layer;
the others are edited in z space.
"""
from __future__ import annotations

import torch
from torch import nn

MAX_SEED = 2**31 - 1  # seeds are 0..MAX_SEED everywhere (spin boxes, the CLI, random seeds)


def is_style_based(G: nn.Module) -> bool:
    """True for generators with a mapping network (w space and per-layer styles)."""
    return hasattr(G, "mapping") and hasattr(G, "synthesis") and hasattr(G, "num_ws")


def z_for_seed(seed: int, z_dim: int, psi: float = 1.0) -> torch.Tensor:
    """The latent z [1, z_dim] a seed stands for; psi < 1 draws it from a truncated normal (BigGAN's trick:
    values beyond 2 * psi standard deviations are resampled), which is how non-StyleGAN models truncate."""
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(1, z_dim, generator=gen)
    if psi >= 1.0:
        return z
    limit = max(2.0 * psi, 1e-3)
    for _ in range(100):
        bad = z.abs() > limit
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=gen)
    return z.clamp(-limit, limit)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation, the right path between two Gaussian latents (White 2016)."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    return torch.sin((1.0 - t) * omega) / so * a + torch.sin(t * omega) / so * b


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    return a + (b - a) * t
