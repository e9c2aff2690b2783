"""One generated sample, enlarged, with where it came from."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ganstudio.gui.images import to_pixmap

ENLARGED = 320


class SampleDialog(QDialog):
    """A non-modal window showing one sample of a grid at a readable size."""

    def __init__(self, image: np.ndarray, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(title)
        self.image = image
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignCenter)
        self.picture.setMinimumSize(ENLARGED, ENLARGED)
        self.smooth = QCheckBox("Smooth scaling")
        self.smooth.setToolTip("Off: every pixel of the sample is a sharp square, as the network made it.")
        self.smooth.toggled.connect(self._draw)
        caption = QLabel(title)
        caption.setAlignment(Qt.AlignCenter)
        h, w = image.shape[:2]
        size = QLabel(f"{w} x {h} pixels, shown {self._factor()}x larger")
        size.setAlignment(Qt.AlignCenter)
        size.setStyleSheet("color: #777;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(caption)
        layout.addWidget(size)
        layout.addWidget(self.smooth)
        layout.addWidget(buttons)
        self._draw()

    def _factor(self) -> int:
        return max(1, ENLARGED // max(self.image.shape[:2]))

    def _draw(self) -> None:
        side = self._factor() * max(self.image.shape[:2])  # a whole multiple keeps nearest-neighbour pixels square
        self.picture.setPixmap(to_pixmap(self.image, side, smooth=self.smooth.isChecked()))
