"""Inception Score (Salimans et al. 2016): exp E_x KL(p(y|x) || p(y)), over splits of the samples."""
from __future__ import annotations

import numpy as np
import torch


def inception_score(probabilities: np.ndarray | torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over `splits` equal parts of class probabilities [N, K] (rows sum to 1).

    1 when every prediction is the same distribution; K when predictions are confident and the classes are
    used equally often. With a classifier other than Inception-v3 (the MNIST one) it is the usual "IS analogue".
    """
    p = torch.as_tensor(probabilities).detach().cpu().to(torch.float64)
    if p.ndim != 2 or len(p) < 1:
        raise ValueError(f"need probabilities [N, K], got shape {tuple(p.shape)}")
    splits = max(1, min(splits, len(p)))
    scores = []
    for part in torch.tensor_split(p, splits):
        marginal = part.mean(0, keepdim=True)
        kl = torch.xlogy(part, part) - torch.xlogy(part, marginal)  # 0 log 0 = 0
        scores.append(float(kl.sum(1).mean().exp()))
    return float(np.mean(scores)), float(np.std(scores))
