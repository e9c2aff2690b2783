"""The frames of a seed interpolation in a row; clicking one shows it in the main view."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from ganstudio.core.render import BatchResult
from ganstudio.gui.images import to_qimage
from ganstudio.gui.explorer.model import CHANNEL_STRIP, ExplorerModel

THUMB = 72


class FrameStrip(QListWidget):
    """Thumbnails of the model's interpolation frames (t from 0 to 1)."""

    def __init__(self, model: ExplorerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setSpacing(2)
        self.setFixedHeight(THUMB + 44)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setToolTip("Interpolation frames from seed A (left) to seed B (right): click one to show it")
        self.frames: list = []
        model.batch_rendered.connect(self._show)
        model.state_changed.connect(self._select_current)
        self.itemClicked.connect(self._clicked)

    def _show(self, batch: BatchResult) -> None:
        if batch.channel != CHANNEL_STRIP:
            return
        self.frames = [r.image for r in batch.results]
        self.blockSignals(True)
        self.clear()
        n = len(batch.results)
        for i, result in enumerate(batch.results):
            item = QListWidgetItem(f"t = {i / (n - 1):.2f}")
            if result.image is not None:
                pix = QPixmap.fromImage(to_qimage(result.image)).scaled(
                    THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
                item.setIcon(QIcon(pix))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            item.setSizeHint(QSize(THUMB + 12, THUMB + 26))
            self.addItem(item)
        self.blockSignals(False)
        self._select_current()

    def _select_current(self) -> None:
        n = self.count()
        if n < 2:
            return
        index = round(self.model.state.seed_t * (n - 1))
        exact = abs(index / (n - 1) - self.model.state.seed_t) < 1e-6
        self.blockSignals(True)
        self.setCurrentRow(index if exact else -1)
        self.blockSignals(False)

    def _clicked(self, item: QListWidgetItem) -> None:
        n = self.count()
        self.model.state.set_interpolation(self.model.state.seed_b, t=self.row(item) / (n - 1))
