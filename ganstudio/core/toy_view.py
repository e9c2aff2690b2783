"""What GAN Lab shows for 2D toy data: D's output over the plane, the generator's gradient on fake points and
the generator's manifold (a grid over the latent plane drawn through G).

Computed between training steps without disturbing the run: both networks are evaluated in eval mode (no
spectral-norm power iteration, no dropout), parameter gradients are untouched and no global random number is
drawn, so a run that is watched follows exactly the trajectory of one that is not.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

GeneratorLoss = Callable[[torch.Tensor], torch.Tensor]
FIELD_SIZE = 48  # cells per side of the heatmap behind the points (GAN Lab's is coarser still)
LIVE_POINTS = 256  # generated points drawn live
MANIFOLD_SIZE = 21  # lines per side of the latent grid drawn through G (GAN Lab's manifold)
MANIFOLD_EXTENT = 2.0  # the latent grid spans [-2, 2] on each axis: 95% of a standard normal's mass


@dataclass
class ToyFrame:
    """One picture of a 2D GAN: the field, the fake points and where G's loss pushes them (numpy only)."""

    step: int
    extent: float  # the field covers the square [-extent, extent]^2
    field: np.ndarray  # float32 [n, n], D's output; row i is y, column j is x, both increasing
    fake: np.ndarray  # float32 [m, 2]
    gradients: np.ndarray  # float32 [m, 2]: the direction that lowers G's loss at each fake point
    probability: bool  # the field is a probability (0.5 is the equilibrium), else a raw score
    # float32 [rows, n, 2]: G at grid node (i, j) of the latent plane (z_0 along j, z_1 along i); None if not made
    manifold: np.ndarray | None = None


class _EvalMode:
    """Put modules in eval mode for a block and restore each one's previous mode afterwards."""

    def __init__(self, *modules: nn.Module):
        self.modules = modules
        self.modes: list[bool] = []

    def __enter__(self) -> None:
        self.modes = [m.training for m in self.modules]
        for m in self.modules:
            m.eval()

    def __exit__(self, *exc) -> None:
        for m, mode in zip(self.modules, self.modes):
            m.train(mode)


def grid_points(extent: float, n: int = FIELD_SIZE) -> torch.Tensor:
    """The centres of an n x n grid of cells over [-extent, extent]^2, row-major with y outer: [n*n, 2]."""
    half_cell = extent / n
    axis = torch.linspace(-extent + half_cell, extent - half_cell, n)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)


@torch.no_grad()
def discriminator_field(D: nn.Module, extent: float, n: int = FIELD_SIZE,
                        output: Callable[[torch.Tensor], torch.Tensor] | None = None,
                        device: torch.device | str | None = None) -> np.ndarray:
    """D's output at the centre of each cell of an n x n grid over [-extent, extent]^2, as float32 [n, n]."""
    device = device or next(D.parameters()).device
    points = grid_points(extent, n).to(device)
    with _EvalMode(D):
        out = D(points)
    if output is not None:
        out = output(out)
    return out.float().reshape(n, n).cpu().numpy()


def generator_gradients(G: nn.Module, D: nn.Module, z: torch.Tensor, g_loss: GeneratorLoss
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Fake points G(z) and, at each, minus the gradient of G's loss with respect to the point.

    The loss is taken per point (its batch mean times the batch size), so an arrow's length does not depend
    on how many points are drawn. Parameter gradients are not touched.
    """
    with _EvalMode(G, D), torch.enable_grad():
        with torch.no_grad():
            fake = G(z)
        points = fake.detach().requires_grad_(True)
        loss = g_loss(D(points)) * points.shape[0]
        (grad,) = torch.autograd.grad(loss, points)
    return points.detach().float().cpu().numpy(), (-grad).float().cpu().numpy()


@torch.no_grad()
def generator_manifold(G: nn.Module, z_dim: int, n: int = MANIFOLD_SIZE, extent: float = MANIFOLD_EXTENT,
                       device: torch.device | str = "cpu") -> np.ndarray:
    """G over an n x n grid of the latent plane [-extent, extent]^2 (the first two latent dimensions, the others 0;
    one row when z has one dimension), as float32 [rows, n, 2]: GAN Lab's manifold, folded by G onto the data."""
    axis = torch.linspace(-extent, extent, n)
    rows = n if z_dim >= 2 else 1
    z = torch.zeros(rows, n, z_dim)
    z[:, :, 0] = axis[None, :]
    if z_dim >= 2:
        z[:, :, 1] = axis[:, None]
    with _EvalMode(G):
        points = G(z.reshape(-1, z_dim).to(device))
    return points.float().reshape(rows, n, 2).cpu().numpy()


def field_extent(real: np.ndarray, fake: np.ndarray | None = None, margin: float = 1.25,
                 limit: float = 3.0) -> float:
    """A square half-width that shows the real data with a margin, widened for fake points that stray
    (up to `limit` times the real data's extent)."""
    base = float(np.abs(real).max()) * margin if len(real) else 1.0
    base = max(base, 1e-3)
    if fake is not None and len(fake):
        finite = np.abs(fake[np.isfinite(fake).all(axis=1)])
        if len(finite):
            far = float(np.quantile(finite.max(axis=1), 0.98)) * 1.1
            base = max(base, min(far, base * limit))
    return _nice(base)


def _nice(value: float) -> float:
    """Round a half-width up to 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten, so the view does not jitter."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if value <= step * power + 1e-12:
            return step * power
    return 10.0 * power


def toy_frame(G: nn.Module, D: nn.Module, z: torch.Tensor, g_loss: GeneratorLoss,
              output: Callable[[torch.Tensor], torch.Tensor], real: np.ndarray, step: int,
              probability: bool, n: int = FIELD_SIZE) -> ToyFrame:
    """The full GAN Lab picture for the current networks: fake points, their gradients, D's field and G's
    manifold."""
    fake, gradients = generator_gradients(G, D, z, g_loss)
    extent = field_extent(real, fake)
    field = discriminator_field(D, extent, n, output, device=z.device)
    manifold = generator_manifold(G, z.shape[1], device=z.device)
    return ToyFrame(step, extent, field, fake, gradients, probability, manifold)


def live_noise(z_dim: int, n: int = LIVE_POINTS, seed: int = 0, device: torch.device | str = "cpu") -> torch.Tensor:
    """Fixed latent points for the live view, from their own generator (training's random stream is untouched)."""
    gen = torch.Generator().manual_seed(seed + 104729)
    return torch.randn(n, z_dim, generator=gen).to(device)


def checkpoint_frame(path, n_fake: int = LIVE_POINTS, n_real: int = 1000) -> tuple[ToyFrame, np.ndarray]:
    """The picture of a saved toy run (its generator, not the moving average) and real points drawn as in the run."""
    from pathlib import Path

    from ganstudio.core.checkpoints import load_checkpoint
    from ganstudio.core.data.toy import toy_distribution
    from ganstudio.core.errors import CheckpointError
    from ganstudio.core.fitting import build_fitted
    from ganstudio.core.losses import get_loss
    from ganstudio.core.models.registry import build_models

    ckpt = load_checkpoint(path)
    cfg, name = ckpt.config, Path(path).name
    if not cfg.model.toy:
        raise CheckpointError(f"{path} is not a 2D toy-data run")
    missing = [key for key in ("G", "D") if key not in ckpt.modules]
    if missing:
        raise CheckpointError(f"{name} has no {'generator' if missing[0] == 'G' else 'discriminator'} weights")
    # checked on the meta device first, as every checkpoint load is: a config that lies about the size must not
    # allocate it
    G = build_fitted(lambda: build_models(cfg.model, cfg.loss)[0], ckpt.modules["G"], "generator", name)
    D = build_fitted(lambda: build_models(cfg.model, cfg.loss)[1], ckpt.modules["D"], "discriminator", name)
    real = toy_distribution(cfg.data.source[len("toy:"):], cfg.data.toy_samples, cfg.train.seed).points[:n_real]
    loss = get_loss(cfg.loss.name)
    frame = toy_frame(G, D, live_noise(cfg.model.z_dim, n_fake, cfg.train.seed), loss.g_loss, loss.d_output,
                      real, ckpt.step, loss.probability)
    return frame, real
