"""Frechet distance between Gaussians fitted to two feature sets (FID, Heusel et al. 2017)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class GaussianStats:
    """Mean and covariance of a feature set (float64), and how many samples they came from."""

    mean: np.ndarray  # [D]
    cov: np.ndarray  # [D, D]
    n: int


def gaussian_stats(features: np.ndarray | torch.Tensor) -> GaussianStats:
    """Mean and unbiased covariance of features [N, D], computed in float64."""
    x = torch.as_tensor(features).detach().cpu().to(torch.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need features [N >= 2, D], got shape {tuple(x.shape)}")
    mean = x.mean(0)
    centred = x - mean
    cov = centred.T @ centred / (x.shape[0] - 1)
    return GaussianStats(mean.numpy(), cov.numpy(), int(x.shape[0]))


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    """|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^1/2), via two symmetric eigendecompositions.

    tr((S_a S_b)^1/2) equals the sum of square roots of the eigenvalues of S_a^1/2 S_b S_a^1/2, which is
    symmetric positive semi-definite, so `eigh` is exact and fast where scipy's general `sqrtm` is slow and can
    return complex noise on singular covariances.
    """
    mean_a, mean_b = torch.from_numpy(a.mean), torch.from_numpy(b.mean)
    cov_a, cov_b = torch.from_numpy(a.cov), torch.from_numpy(b.cov)
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    eigenvalues = torch.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = eigenvalues.clamp_min(0).sqrt().sum()
    value = (mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt
    return float(value.clamp_min(0))


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative rounding clipped)."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def fid_from_features(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor) -> float:
    """FID between two feature sets [N, D]."""
    return frechet_distance(gaussian_stats(real), gaussian_stats(fake))
