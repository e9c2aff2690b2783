"""A model-sized picture (the aligned photo, the live reconstruction) enlarged to a fixed size, with a caption."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ganstudio.gui.colours import secondary_css
from ganstudio.gui.images import to_pixmap

DISPLAY = 192  # screen pixels: a 64 px face three times enlarged


class FacePicture(QWidget):
    """A picture enlarged to `size` px (nearest neighbour, or smooth), a title above and a caption below."""

    def __init__(self, title: str, placeholder: str = "", size: int = DISPLAY, parent: QWidget | None = None):
        super().__init__(parent)
        self.image: np.ndarray | None = None
        self.size_px, self.smooth = size, False
        self.placeholder = placeholder
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: 600;")
        self.picture = QLabel(placeholder)
        self.picture.setFixedSize(size, size)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setWordWrap(True)
        self.picture.setStyleSheet("border: 1px solid palette(mid);")
        self.caption = QLabel()
        self.caption.setStyleSheet(secondary_css())
        self.caption.setWordWrap(True)
        self.caption.setFixedWidth(size)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.picture)
        layout.addWidget(self.caption)
        layout.addStretch(1)

    def set_image(self, image: np.ndarray | None, caption: str = "") -> None:
        """Show a uint8 [H, W, C] picture (None: the placeholder)."""
        self.image = None if image is None else np.array(image, copy=True)
        self.caption.setText(caption)
        self._show()

    def set_smooth(self, smooth: bool) -> None:
        """Smooth enlargement, or the model's real pixels."""
        self.smooth = bool(smooth)
        self._show()

    def _show(self) -> None:
        if self.image is None:
            self.picture.clear()
            self.picture.setText(self.placeholder)
        else:
            self.picture.setPixmap(to_pixmap(self.image, self.size_px, self.smooth))
