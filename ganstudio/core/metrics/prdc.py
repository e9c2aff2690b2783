"""Precision and recall (Kynkaanniemi et al. 2019) and density and coverage (Naeem et al. 2020) from k-NN balls.

Each real feature gets a ball reaching to its k-th nearest real neighbour; the union of balls estimates the real
manifold. Precision: share of generated samples inside it (quality). Recall: share of real samples inside the
generated manifold, built the same way (diversity). Density counts how many real balls hold each generated
sample, divided by k (about 1 when the sets match, more when samples crowd the dense regions). Coverage: share
of real balls that hold at least one generated sample (robust to outliers).
"""
from __future__ import annotations

import numpy as np
import torch

PR_K = 3  # Kynkaanniemi et al.
DC_K = 5  # Naeem et al.
_CHUNK = 1024  # rows of the distance matrix computed at once


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from every row to its k-th nearest other row [N] (the row itself is left out)."""
    x = _float(features)
    x = x - x.mean(0)  # distances do not change; their float32 rounding shrinks with the norms
    if len(x) <= k:
        raise ValueError(f"need more than k={k} samples, got {len(x)}")
    radii = torch.empty(len(x))
    for start in range(0, len(x), _CHUNK):
        d = torch.cdist(x[start:start + _CHUNK], x)
        radii[start:start + _CHUNK] = d.topk(k + 1, dim=1, largest=False).values[:, k]  # [:, 0] is itself
    return radii


def _tolerance(x: torch.Tensor) -> float:
    """Rounding of float32 distances computed by matrix products (about sqrt(eps) x |x| for centred x), so that
    a point repeated exactly counts as inside its own ball, even one of radius 0 (collapsed samples)."""
    return 1e-3 * float(x.square().sum(1).mean().sqrt()) if len(x) else 0.0


def _centred(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sets minus the real mean: the same distances, computed with less rounding."""
    r, f = _float(real), _float(fake)
    centre = r.mean(0)
    return r - centre, f - centre


def _inside_counts(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For every point, how many balls (centre, radius) hold it [len(points)]."""
    counts = torch.empty(len(points), dtype=torch.int64)
    reach = radii[None, :] + _tolerance(centres)
    for start in range(0, len(points), _CHUNK):
        d = torch.cdist(points[start:start + _CHUNK], centres)
        counts[start:start + _CHUNK] = (d <= reach).sum(1)
    return counts


def _nearest(points: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """Distance from every point to its nearest neighbour in `others` [len(points)]."""
    out = torch.empty(len(points))
    for start in range(0, len(points), _CHUNK):
        out[start:start + _CHUNK] = torch.cdist(points[start:start + _CHUNK], others).min(1).values
    return out


def precision_recall(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray, k: int = PR_K,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """(precision, recall) of generated features against real ones; real_radii may come from a cache."""
    r, f = _centred(real, fake)
    radii_r = knn_radii(r, k) if real_radii is None else real_radii
    precision = (_inside_counts(f, r, radii_r) > 0).float().mean().item()
    recall = (_inside_counts(r, f, knn_radii(f, k)) > 0).float().mean().item()
    return precision, recall


def density_coverage(real: torch.Tensor | np.ndarray, fake: torch.Tensor | np.ndarray, k: int = DC_K,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """(density, coverage) of generated features against real ones; real_radii may come from a cache."""
    r, f = _centred(real, fake)
    radii_r = knn_radii(r, k) if real_radii is None else real_radii
    density = _inside_counts(f, r, radii_r).sum().item() / (k * len(f))
    coverage = (_nearest(r, f) <= radii_r + _tolerance(r)).float().mean().item()
    return density, coverage


def _float(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    return torch.as_tensor(x).detach().cpu().float()
