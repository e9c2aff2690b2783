"""numpy images to Qt pixmaps (the only place the GUI converts pixels)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def to_qimage(image: np.ndarray) -> QImage:
    """uint8 [H, W], [H, W, 1] or [H, W, 3] -> a QImage that owns its pixels."""
    image = np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = np.ascontiguousarray(image[:, :, 0])
    h, w = image.shape[:2]
    if image.ndim == 2:
        return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_RGB888).copy()


def to_pixmap(image: np.ndarray, size: int | None = None, smooth: bool = False) -> QPixmap:
    """A pixmap of the image, scaled so that its longer side is `size` pixels (nearest neighbour unless smooth)."""
    pixmap = QPixmap.fromImage(to_qimage(image))
    if size:
        mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
        pixmap = pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode)
    return pixmap
