"""An exponential moving average of the generator's weights, used for sampling (Karras et al. 2018)."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps `model` = EMA of `source`, with warm-up so early samples are not dominated by the init."""

    def __init__(self, source: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.model = copy.deepcopy(source).eval().requires_grad_(False)
        self.updates = 0
        self._src_params = list(source.parameters())
        self._dst_params = list(self.model.parameters())
        self._src_buffers = list(source.buffers())
        self._dst_buffers = list(self.model.buffers())

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        torch._foreach_lerp_(self._dst_params, self._src_params, 1.0 - decay)
        for dst, src in zip(self._dst_buffers, self._src_buffers):
            dst.copy_(src)
