"""Toy 2D distributions (the Unrolled GAN / VEEGAN set-ups), with their mode centres where they have modes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganstudio.core.config import TOY_NAMES
from ganstudio.core.errors import DatasetError


@dataclass(frozen=True)
class ToySet:
    """Points drawn from a toy 2D distribution, with its mode centres where it has modes."""

    points: np.ndarray  # float32 [n, 2]
    modes: np.ndarray | None  # [M, 2] mode centres (ring8, grid25); None for moons and spiral
    mode_std: float | None


def toy_distribution(name: str, n: int, seed: int) -> ToySet:
    """n points from ring8, grid25, moons or spiral (the Unrolled GAN / VEEGAN set-ups), drawn by seed."""
    rng = np.random.default_rng(seed)
    if name == "ring8":
        angles = np.arange(8) * (2 * np.pi / 8)
        modes = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        return _mixture(rng, modes, 0.02, n)
    if name == "grid25":
        axis = np.arange(-4.0, 5.0, 2.0)
        modes = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
        return _mixture(rng, modes, 0.05, n)
    if name == "moons":
        return ToySet(_moons(rng, n), None, None)
    if name == "spiral":
        return ToySet(_spiral(rng, n), None, None)
    raise DatasetError(f"unknown toy distribution {name!r}; use one of {', '.join(TOY_NAMES)}")


def _mixture(rng: np.random.Generator, modes: np.ndarray, std: float, n: int) -> ToySet:
    """An equal-weight mixture of isotropic Gaussians."""
    which = rng.integers(len(modes), size=n)
    points = modes[which] + rng.normal(scale=std, size=(n, 2))
    return ToySet(points.astype(np.float32), modes.astype(np.float32), std)


def _moons(rng: np.random.Generator, n: int, noise: float = 0.05) -> np.ndarray:
    """Two interleaving half circles as in sklearn's make_moons, scaled x2 and centred on the origin."""
    t = rng.uniform(0.0, np.pi, size=n)
    inner = rng.random(n) < 0.5
    x = np.where(inner, 1.0 - np.cos(t), np.cos(t))
    y = np.where(inner, 0.5 - np.sin(t), np.sin(t))
    points = np.stack([x, y], axis=1) + rng.normal(scale=noise, size=(n, 2))
    return ((points - [0.5, 0.25]) * 2.0).astype(np.float32)


def _spiral(rng: np.random.Generator, n: int, noise: float = 0.03) -> np.ndarray:
    """A two-turn Archimedean spiral of radius 2, about evenly dense along its length."""
    turns = 2.0
    theta = turns * 2 * np.pi * np.sqrt(rng.random(n))  # sqrt: arc length grows with theta squared
    radius = 2.0 * theta / (turns * 2 * np.pi)
    points = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
    return (points + rng.normal(scale=noise, size=(n, 2))).astype(np.float32)
