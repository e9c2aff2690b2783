"""Showing a projected photo's latent in the explorer, and a PTI-tuned generator in place of the original.

The explorer renders one generator. A tuned copy is opened as the explorer's model (titled "… · tuned for
photo.jpg", with the original's direction set on the sliders: tuning changes only the synthesis network, so w
directions keep their meaning); the original's choices are remembered by the explorer as when any model is left,
and `restore()` opens the original again as it was. Opening any other model simply replaces the tuned copy."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core.errors import GanStudioError
from ganstudio.core.latent.directions import Directions
from ganstudio.gui.explorer.model import ExplorerModel


@dataclass
class _Original:
    G: nn.Module
    config: RunConfig
    title: str
    path: Path | None
    step: int | None
    bundled_key: str | None
    directions: Directions | None
    seed: int
    psi: float
    card: str
    kind: str


class TunedSwap:
    """Puts a latent (and a tuned generator) on an ExplorerModel, and the original generator back."""

    def __init__(self, model: ExplorerModel):
        self.model = model
        self._original: _Original | None = None
        self._tuned: nn.Module | None = None

    @property
    def tuned_shown(self) -> bool:
        """The explorer renders a tuned copy that this swap put there."""
        return self._tuned is not None and self.model.G is self._tuned

    @property
    def original_generator(self) -> nn.Module | None:
        """The generator the explorer showed before a tuned copy took its place (None: no copy shown)."""
        return self._original.G if self.tuned_shown else None

    def show(self, ws: np.ndarray, label: str, tuned: nn.Module | None = None) -> None:
        """Make ws [1 or num_ws, w_dim] the explorer's current image; with `tuned`, render it with that copy."""
        m = self.model
        if m.info is None or not m.info.style_based:
            raise GanStudioError("open a StyleGAN model in the explorer first")
        ws = np.asarray(ws, np.float32).reshape(-1, np.asarray(ws).shape[-1])
        if tuned is None:
            self.restore()
        else:
            if not self.tuned_shown:
                info = m.info
                self._original = _Original(m.G, info.config, info.title, info.path, info.step, m.bundled_key,
                                           m.state.directions, m.state.seed, m.state.psi, info.card, info.kind)
            o = self._original
            self._tuned = tuned
            m.set_generator(tuned, o.config, f"{o.title} · tuned for {label}", path=None, step=o.step,
                            directions=m.state.directions or o.directions, seed=o.seed, psi=o.psi, card=o.card,
                            kind=o.kind)
        m.state.set_latent(ws, label)

    def restore(self) -> bool:
        """Open the original generator again, as it was left; False when no tuned copy is shown."""
        if not self.tuned_shown:
            self._original = self._tuned = None
            return False
        o, self._original, self._tuned = self._original, None, None
        self.model.set_generator(o.G, o.config, o.title, path=o.path, step=o.step, directions=o.directions,
                                 bundled_key=o.bundled_key, seed=o.seed, psi=o.psi, card=o.card, kind=o.kind)
        return True
