"""The photo with the three points a face is aligned by (left eye, right eye, mouth centre): a click places the
next point, a marker can be dragged, a click with all three placed moves the nearest one."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from ganstudio.core.photo.align import POINT_NAMES
from ganstudio.gui.images import to_qimage

MARKER_RADIUS = 9  # screen pixels
COLOURS = ("#e53935", "#1e88e5", "#43a047")  # left eye, right eye, mouth


class PointPicker(QWidget):
    """Shows a photo scaled to fit and lets the user place, drag and reset three numbered points (photo pixels)."""

    points_changed = Signal(list)  # [(x, y), ...] in photo pixels, 0 to 3 of them

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._size = (0, 0)  # the photo's (w, h)
        self._points: list[tuple[float, float]] = []
        self._dragging: int | None = None
        self.setMinimumSize(260, 260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.placeholder = "Open a photo"

    def sizeHint(self) -> QSize:
        return QSize(420, 420)

    def set_photo(self, photo: np.ndarray | None) -> None:
        """Show a photo (uint8 [H, W, C]); the points are cleared."""
        self._pixmap = QPixmap.fromImage(to_qimage(photo)) if photo is not None else None
        self._size = (photo.shape[1], photo.shape[0]) if photo is not None else (0, 0)
        self.reset()

    def points(self) -> list[tuple[float, float]]:
        """The points placed so far, in photo pixels."""
        return list(self._points)

    def set_points(self, points: list[tuple[float, float]]) -> None:
        """Place the points (photo pixels)."""
        self._points = [(float(x), float(y)) for x, y in points][:len(POINT_NAMES)]
        self.update()
        self.points_changed.emit(self.points())

    def reset(self) -> None:
        """Remove every point."""
        self._dragging = None
        self.set_points([])

    def next_point_name(self) -> str | None:
        """What the next click places (None: all three are placed)."""
        return POINT_NAMES[len(self._points)] if len(self._points) < len(POINT_NAMES) else None

    # -- coordinates -------------------------------------------------------------------------------------

    def _frame(self) -> tuple[float, float, float]:
        """Scale and offset (x, y) of the photo on the widget."""
        w, h = self._size
        if not w or not h:
            return 1.0, 0.0, 0.0
        scale = min(self.width() / w, self.height() / h)
        return scale, (self.width() - w * scale) / 2, (self.height() - h * scale) / 2

    def to_widget(self, point: tuple[float, float]) -> QPointF:
        """A photo point on the widget."""
        scale, ox, oy = self._frame()
        return QPointF(ox + point[0] * scale, oy + point[1] * scale)

    def to_photo(self, pos: QPointF) -> tuple[float, float]:
        """A widget position in photo pixels, kept inside the photo."""
        scale, ox, oy = self._frame()
        w, h = self._size
        return (min(max((pos.x() - ox) / scale, 0.0), float(w)), min(max((pos.y() - oy) / scale, 0.0), float(h)))

    def _marker_at(self, pos: QPointF) -> int | None:
        for i, p in enumerate(self._points):
            q = self.to_widget(p)
            if (q.x() - pos.x()) ** 2 + (q.y() - pos.y()) ** 2 <= (MARKER_RADIUS + 3) ** 2:
                return i
        return None

    # -- mouse -------------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._pixmap is None or event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        pos = event.position()
        hit = self._marker_at(pos)
        point = self.to_photo(pos)
        if hit is None and len(self._points) < len(POINT_NAMES):
            self._points.append(point)
            hit = len(self._points) - 1
        elif hit is None:  # all placed: the click moves the nearest
            d = [(self.to_widget(p).x() - pos.x()) ** 2 + (self.to_widget(p).y() - pos.y()) ** 2 for p in self._points]
            hit = int(np.argmin(d))
            self._points[hit] = point
        self._dragging = hit
        self.update()
        self.points_changed.emit(self.points())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._points[self._dragging] = self.to_photo(event.position())
            self.update()
            self.points_changed.emit(self.points())
        else:
            over = self._pixmap is not None and self._marker_at(event.position()) is not None
            self.setCursor(Qt.CursorShape.OpenHandCursor if over else Qt.CursorShape.CrossCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging = None
        super().mouseReleaseEvent(event)

    # -- painting ----------------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if self._pixmap is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        scale, ox, oy = self._frame()
        w, h = self._size
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1)
        painter.drawPixmap(QRectF(ox, oy, w * scale, h * scale), self._pixmap, QRectF(0, 0, w, h))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        r = MARKER_RADIUS
        for i, p in enumerate(self._points):
            c = self.to_widget(p)
            painter.setPen(QPen(QColor("white"), 2))
            painter.setBrush(QColor(COLOURS[i]))
            painter.drawEllipse(c, r, r)
            painter.drawText(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r), Qt.AlignmentFlag.AlignCenter, str(i + 1))
            painter.setPen(QPen(QColor(COLOURS[i]), 1))
            painter.drawLine(QPointF(c.x() - 2 * r, c.y()), QPointF(c.x() - r, c.y()))  # cross hairs show the centre
            painter.drawLine(QPointF(c.x() + r, c.y()), QPointF(c.x() + 2 * r, c.y()))
        painter.end()
