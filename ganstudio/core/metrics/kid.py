"""Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel."""
from __future__ import annotations

import numpy as np
import torch

_GROUP = 10  # subsets whose kernel matrices are computed in one batched product


def kernel_inception_distance(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor,
                              subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over random subsets, with k(x, y) = (x.y / D + 1)^3.

    Unbiased: the kernel's diagonal is left out of the within-set sums, so two samples of one distribution
    score 0 on average (single estimates can be negative). As in the KID paper and clean-fid, `subsets`
    subsets of `subset_size` features (fewer when a set is smaller) are drawn from each set. When both sets are
    no larger than a subset, every subset would be the whole set: KID is computed once and its std is NaN.
    """
    x = torch.as_tensor(real).detach().cpu().float()
    y = torch.as_tensor(fake).detach().cpu().float()
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"need two feature sets [N, D] with the same D, got {tuple(x.shape)} and {tuple(y.shape)}")
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    if m == len(x) == len(y):
        return float(unbiased_mmd2(x, y)), float("nan")
    rng = np.random.default_rng(seed)
    pick_x = torch.from_numpy(np.stack([rng.choice(len(x), m, replace=False) for _ in range(subsets)]))
    pick_y = torch.from_numpy(np.stack([rng.choice(len(y), m, replace=False) for _ in range(subsets)]))
    estimates = torch.cat([unbiased_mmd2(x[pick_x[i:i + _GROUP]], y[pick_y[i:i + _GROUP]])
                           for i in range(0, subsets, _GROUP)])
    return float(estimates.mean()), float(estimates.std(unbiased=False))


def polynomial_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(a.b / D + 1)^3 for every pair of rows ([..., m, D] x [..., n, D] -> [..., m, n])."""
    return (a @ b.transpose(-1, -2)).div_(a.shape[-1]).add_(1).pow_(3)


def _total(k: torch.Tensor) -> torch.Tensor:
    """Sum over the last two axes: rows in float32 (1,000 terms each), the row sums in float64."""
    return k.sum(-1).double().sum(-1)


def unbiased_mmd2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 estimates between equally sized sets [..., m, D] under the polynomial kernel ([...])."""
    m, d = x.shape[-2], x.shape[-1]

    def off_diagonal_sum(a: torch.Tensor) -> torch.Tensor:
        diagonal = (a.square().sum(-1) / d + 1).pow(3).double().sum(-1)  # k(a_i, a_i)
        return _total(polynomial_kernel(a, a)) - diagonal

    within = off_diagonal_sum(x) + off_diagonal_sum(y)
    return within / (m * (m - 1)) - 2 * _total(polynomial_kernel(x, y)) / (m * m)
