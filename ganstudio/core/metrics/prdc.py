"""Precision and recall (Kynkaanniemi et al. 2019) and density and coverage (Naeem et al. 2020) from k-NN balls.

Each real feature gets a ball reaching to its k-th nearest real neighbour; the union of balls estimates the real
manifold. Precision: share of generated samples inside it (quality). Recall: share of real samples inside the
generated manifold, built the same way (diversity). Density counts how many real balls hold each generated
sample, divided by k (about 1 when the sets match, more when samples crowd the dense regions). Coverage: share
of real balls that hold at least one generated sample (robust to outliers).

The numbers are those of the authors' `prdc` package: distances are computed in float64 and rounded to float32
(as its scikit-learn distances are), and a ball is open (a sample lies inside when nearer than the radius, so the
neighbour that sets the radius is outside). One deliberate difference: a sample at distance 0 from a centre is
inside even a ball of radius 0, which a sample repeated more than k times (a collapsed generator) has and in
which `prdc` counts nothing.
"""
from __future__ import annotations

import numpy as np
import torch

PR_K = 3  # Kynkaanniemi et al.
DC_K = 5  # Naeem et al.
_CHUNK = 1024  # rows of the distance matrix computed at once
# squared distances below this share of |a|^2 + |b|^2 are float64 rounding of the product (~1e-13 in 2048
# dimensions): the two rows are the same sample
_SAME = 1e-11


def knn_radii(features: torch.Tensor | np.ndarray, k: int) -> torch.Tensor:
    """Distance from every row to its k-th nearest other row [N] (float32; the row itself is left out)."""
    x = _float64(features)
    if len(x) <= k:
        raise ValueError(f"need more than k={k} samples, got {len(x)}")
    x = x - x.mean(0)  # distances do not change; their rounding shrinks with the norms
    squares = x.square().sum(1)
    radii = torch.empty(len(x))
    for start in range(0, len(x), _CHUNK):
        d = _distances(x[start:start + _CHUNK], x, squares[start:start + _CHUNK], squares)
        radii[start:start + _CHUNK] = d.topk(k + 1, dim=1, largest=False).values[:, k]  # [:, 0] is itself
    return radii


def precision_recall(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray, k: int = PR_K,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """(precision, recall) of generated features against real ones; real_radii may come from a cache."""
    r, f = _centred(real, fake)
    radii_r = knn_radii(r, k) if real_radii is None else real_radii.float()
    radii_f = knn_radii(f, k)
    r_sq, f_sq = r.square().sum(1), f.square().sum(1)
    fake_inside = torch.empty(len(f), dtype=torch.bool)
    real_inside = torch.zeros(len(r), dtype=torch.bool)
    for start in range(0, len(f), _CHUNK):
        stop = start + _CHUNK
        d = _distances(f[start:stop], r, f_sq[start:stop], r_sq)  # one block serves both directions
        fake_inside[start:stop] = _inside(d, radii_r[None, :]).any(1)
        real_inside |= _inside(d, radii_f[start:stop, None]).any(0)
    return fake_inside.double().mean().item(), real_inside.double().mean().item()


def density_coverage(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray, k: int = DC_K,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """(density, coverage) of generated features against real ones; real_radii may come from a cache."""
    r, f = _centred(real, fake)
    radii_r = knn_radii(r, k) if real_radii is None else real_radii.float()
    r_sq, f_sq = r.square().sum(1), f.square().sum(1)
    held = 0
    nearest = torch.full((len(r),), float("inf"))  # distance from every real sample to its nearest generated one
    for start in range(0, len(f), _CHUNK):
        stop = start + _CHUNK
        d = _distances(f[start:stop], r, f_sq[start:stop], r_sq)
        held += int(_inside(d, radii_r[None, :]).sum())
        nearest = torch.minimum(nearest, d.min(0).values)
    return held / (k * len(f)), _inside(nearest, radii_r).double().mean().item()


def _inside(distances: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """Inside an open ball, or at its very centre (so that a ball of radius 0 holds its own sample)."""
    return (distances < radii) | (distances == 0)


def _distances(a: torch.Tensor, b: torch.Tensor, a_sq: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """Distances between the rows of float64 sets a and b [len(a), len(b)] as float32, from |a|^2 + |b|^2 - 2 a.b
    (squared norms given); rows the product cannot tell apart are exactly 0 apart."""
    norms = a_sq[:, None] + b_sq[None, :]
    d2 = torch.addmm(norms, a, b.T, alpha=-2)
    d2.masked_fill_(d2 <= norms.mul_(_SAME), 0)  # also clears negative rounding
    return d2.sqrt_().float()


def _centred(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sets in float64 minus the real mean: the same distances, computed with less rounding."""
    r, f = _float64(real), _float64(fake)
    centre = r.mean(0)
    return r - centre, f - centre


def _float64(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    return torch.as_tensor(x).detach().cpu().double()
