"""An image shown with crisp pixels: fits the view at a whole-number zoom, wheel or buttons to zoom, double-click
to fit again. Reports when a new image has actually been painted (for the latency benchmark)."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QSizePolicy, QWidget

from ganstudio.gui.images import to_qimage

ZOOM_STEPS = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32)


class ImageView(QGraphicsView):
    """Shows one generated image; `painted(stamp)` fires once the image with that stamp is on screen."""

    painted = Signal(int)
    zoom_changed = Signal(float)

    def __init__(self, placeholder: str = "", parent: QWidget | None = None, min_size: int = 160):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._item)
        self.placeholder = placeholder
        self._image: np.ndarray | None = None
        self._fit = True
        self._zoom = 1.0
        self._stamp = 0
        self._painted_stamp = 0
        self.setBackgroundBrush(QColor("#2b2b2b"))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setMinimumSize(min_size, min_size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)

    def set_smooth(self, smooth: bool) -> None:
        """Smooth (bilinear) enlargement, or nearest neighbour to see the real pixels."""
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation if smooth
                                         else Qt.TransformationMode.FastTransformation)
        self.viewport().update()

    @property
    def smooth(self) -> bool:
        return self._item.transformationMode() == Qt.TransformationMode.SmoothTransformation

    @property
    def image(self) -> np.ndarray | None:
        """The image shown now, as uint8 [H, W, C]."""
        return self._image

    @property
    def zoom(self) -> float:
        return self._zoom

    def set_image(self, image: np.ndarray | None, stamp: int = 0) -> None:
        """Show an image (None clears the view)."""
        first = self._image is None or image is None or self._image.shape[:2] != image.shape[:2]
        self._image = None if image is None else np.asarray(image)
        self._stamp = stamp
        self._item.setPixmap(QPixmap() if image is None else QPixmap.fromImage(to_qimage(image)))
        self.scene().setSceneRect(QRectF(self._item.pixmap().rect()))
        if first or self._fit:
            self._apply_fit()
        self.viewport().update()

    def add_overlay(self, item: QGraphicsItem) -> None:
        """Put a graphics item over the image in the image's pixel coordinates (it follows zoom and pan)."""
        item.setParentItem(self._item)

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.viewport().update()

    # -- zoom ---------------------------------------------------------------------------------------

    def fit(self) -> None:
        """Fit the view at the largest whole-number zoom (or smaller when the image is larger than the view)."""
        self._fit = True
        self._apply_fit()

    def _apply_fit(self) -> None:
        if self._image is None:
            return
        h, w = self._image.shape[:2]
        room = min(self.viewport().width() / w, self.viewport().height() / h) * 0.98
        self._set_zoom(math.floor(room) if room >= 1 else room)

    def zoom_in(self) -> None:
        self._fit = False
        self._set_zoom(next((z for z in ZOOM_STEPS if z > self._zoom + 1e-6), ZOOM_STEPS[-1]))

    def zoom_out(self) -> None:
        self._fit = False
        self._set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self._zoom - 1e-6), ZOOM_STEPS[0]))

    def actual_size(self) -> None:
        self._fit = False
        self._set_zoom(1.0)

    def _set_zoom(self, zoom: float) -> None:
        zoom = max(0.05, float(zoom))
        self.resetTransform()
        self.scale(zoom, zoom)
        if zoom != self._zoom:
            self._zoom = zoom
            self.zoom_changed.emit(zoom)

    def wheelEvent(self, event) -> None:
        if self._image is None:
            return
        (self.zoom_in if event.angleDelta().y() > 0 else self.zoom_out)()

    def mouseDoubleClickEvent(self, event) -> None:
        self.fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self._apply_fit()

    # -- painting -----------------------------------------------------------------------------------

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self._image is None and self.placeholder:
            painter.save()
            painter.resetTransform()
            painter.setPen(QColor("#bbbbbb"))
            painter.drawText(self.viewport().rect().adjusted(16, 16, -16, -16),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.restore()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self._stamp != self._painted_stamp:
            self._painted_stamp = self._stamp
            self.painted.emit(self._stamp)
