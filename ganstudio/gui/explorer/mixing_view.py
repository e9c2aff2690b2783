"""What style mixing shows: source A, source B and their mix side by side, and the mixing grid (the StyleGAN
paper's figure: B seeds along the top, A seeds down the left, each mix where they meet)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from ganstudio.core.export import mixing_grid_image
from ganstudio.core.render import BatchResult
from ganstudio.gui.explorer.image_view import ImageView
from ganstudio.gui.explorer.model import CHANNEL_GRID, CHANNEL_MIX, ExplorerModel


class MixingView(QWidget):
    """Shows the model's mix and grid channels."""

    def __init__(self, model: ExplorerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.view_a = ImageView("A", min_size=120)
        self.view_b = ImageView("B", min_size=120)
        self.view_mix = ImageView("Mix", min_size=120)
        self.captions = [QLabel("A"), QLabel("B"), QLabel("A with B's styles")]
        top = QGridLayout()
        for col, (view, caption) in enumerate(zip((self.view_a, self.view_b, self.view_mix), self.captions)):
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            top.addWidget(caption, 0, col)
            top.addWidget(view, 1, col)
        self.grid_caption = QLabel("Mixing grid: rows take A's seeds, columns B's; each mix has B's chosen styles")
        self.grid_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid_view = ImageView("The grid appears here", min_size=200)
        self.grid_image: np.ndarray | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top, 2)
        layout.addWidget(self.grid_caption)
        layout.addWidget(self.grid_view, 3)
        model.batch_rendered.connect(self._show)
        model.state_changed.connect(self._caption)

    def _caption(self) -> None:
        mix = self.model.state.mix
        a = "current image" if mix.seed_a is None else f"seed {mix.seed_a}"
        b = "current image" if mix.seed_b is None else f"seed {mix.seed_b}"
        rows = ", ".join(map(str, mix.rows)) if mix.rows else "none"
        self.captions[0].setText(f"A: {a}")
        self.captions[1].setText(f"B: {b}")
        self.captions[2].setText(f"A with B's rows {rows}")

    def _show(self, batch: BatchResult) -> None:
        if batch.channel == CHANNEL_MIX:
            for view, result in zip((self.view_a, self.view_b, self.view_mix), batch.results):
                view.set_image(result.image, batch.stamp)
            self._caption()
        elif batch.channel == CHANNEL_GRID and not batch.error:
            na, nb = len(self.model.state.mix.grid_a), len(self.model.state.mix.grid_b)
            if len(batch.results) != na + nb + na * nb:
                return  # the seeds changed since; the newer grid is on its way
            images = [r.image for r in batch.results]
            mixes = [images[na + nb + i * nb: na + nb + (i + 1) * nb] for i in range(na)]
            self.grid_image = np.asarray(mixing_grid_image(images[:na], images[na:na + nb], mixes, padding=2))
            self.grid_view.set_image(self.grid_image, batch.stamp)
