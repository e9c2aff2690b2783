"""The Drag mode's layer over the image: handle (red) and target (blue) dots with arrows, the painted region as a
translucent overlay, and the clicks that place points or paint.

It is a graphics item in the image's own coordinates (one unit = one output pixel, pixel i covering [i, i + 1)),
so whatever zoom, pan or size the view has, Qt maps clicks to it and draws it with the image; `output_pixel` is
the one place where a position becomes an output pixel."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QGraphicsSceneMouseEvent

from ganstudio.core.latent.drag_plan import pixel_at
from ganstudio.gui.explorer.drag_controller import DragController

HANDLE, TARGET, ARROW = QColor(230, 40, 40), QColor(40, 100, 255), QColor(255, 255, 255)
MASK = (255, 214, 0, 95)  # the painted region: translucent yellow
DOT = 5.0  # dot radius in screen pixels, whatever the zoom
POINTS, PAINT, ERASE = "points", "paint", "erase"


class DragOverlay(QGraphicsObject):
    """Draws a DragController's plan over the image and turns clicks into points or brush strokes."""

    def __init__(self, controller: DragController, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.controller = controller
        self.tool = POINTS
        self.brush = 4.0  # brush radius in output pixels
        self._stroke: tuple[float, float] | None = None
        self._mask_image: QImage | None = None
        self.setZValue(10)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setVisible(False)
        controller.plan_changed.connect(self._plan_changed)

    def set_tool(self, tool: str) -> None:
        """POINTS (click handle, then target), PAINT or ERASE the region that may change."""
        self.tool = tool

    def set_brush(self, radius: float) -> None:
        self.brush = float(radius)

    # -- geometry ------------------------------------------------------------------------------------

    @property
    def _size(self) -> tuple[int, int]:
        plan = self.controller.plan
        return (plan.width, plan.height) if plan is not None else (0, 0)

    def boundingRect(self) -> QRectF:
        w, h = self._size
        return QRectF(-4, -4, w + 8, h + 8)  # dots at the border stick out a little

    def shape(self) -> QPainterPath:
        path = QPainterPath()  # clicks only on the image itself; around it the view pans
        w, h = self._size
        path.addRect(QRectF(0, 0, w, h))
        return path

    def output_pixel(self, pos: QPointF) -> tuple[int, int] | None:
        """The output pixel under a position in this item's coordinates (None outside the image)."""
        w, h = self._size
        return pixel_at(pos.x(), pos.y(), w, h)

    # -- mouse ---------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        plan, pixel = self.controller.plan, self.output_pixel(event.pos())
        if plan is None or pixel is None or self.controller.running:
            event.ignore()
            return
        event.accept()
        self._stroke = None
        if event.button() == Qt.MouseButton.RightButton:
            if self.tool == POINTS:
                plan.remove_near(*pixel)
            else:
                self._paint(event.pos(), not (self.tool == ERASE))  # right-click with the brush: the opposite
        elif self.tool == POINTS:
            plan.click(*pixel)
        else:
            self._paint(event.pos(), self.tool == ERASE)
        self.controller.edited()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._stroke is not None and self.controller.plan is not None and not self.controller.running:
            erase = (self.tool == ERASE) != bool(event.buttons() & Qt.MouseButton.RightButton)
            self._paint(event.pos(), erase)
            self.controller.edited()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._stroke = None

    def _paint(self, pos: QPointF, erase: bool) -> None:
        self.controller.plan.paint(pos.x(), pos.y(), self.brush, erase, since=self._stroke)
        self._stroke = (pos.x(), pos.y())

    # -- painting ------------------------------------------------------------------------------------

    def _plan_changed(self) -> None:
        self.prepareGeometryChange()
        plan = self.controller.plan
        self._mask_image = None
        if plan is not None and plan.has_mask:
            rgba = np.zeros((plan.height, plan.width, 4), np.uint8)
            rgba[plan.mask] = MASK
            self._mask_image = QImage(rgba.data, plan.width, plan.height, 4 * plan.width,
                                      QImage.Format.Format_RGBA8888).copy()
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        plan = self.controller.plan
        if plan is None:
            return
        if self._mask_image is not None:
            painter.drawImage(QRectF(0, 0, plan.width, plan.height), self._mask_image)
        scale = painter.worldTransform().m11() or 1.0
        r = DOT / scale  # a dot keeps its size on screen at any zoom
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        handles, targets = plan.pairs()
        for (hx, hy), (tx, ty) in zip(handles, targets):
            _arrow(painter, QPointF(hx + 0.5, hy + 0.5), QPointF(tx + 0.5, ty + 0.5), r)
        for point, colour in [(p, HANDLE) for p in plan.handles] + [(p, TARGET) for p in targets]:
            painter.setPen(QPen(QColor("white"), 1.5 / scale))
            painter.setBrush(QBrush(colour))
            painter.drawEllipse(QPointF(point[0] + 0.5, point[1] + 0.5), r, r)


def _arrow(painter: QPainter, start: QPointF, end: QPointF, r: float) -> None:
    """A white arrow from a handle to its target, its head at the target's dot."""
    dx, dy = end.x() - start.x(), end.y() - start.y()
    length = math.hypot(dx, dy)
    if length < 1e-6:
        return
    ux, uy = dx / length, dy / length
    tip = QPointF(end.x() - ux * r, end.y() - uy * r)
    painter.setPen(QPen(ARROW, 0.4 * r, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(start, tip)
    head = 1.6 * r
    left = QPointF(tip.x() - ux * head - uy * head * 0.6, tip.y() - uy * head + ux * head * 0.6)
    right = QPointF(tip.x() - ux * head + uy * head * 0.6, tip.y() - uy * head - ux * head * 0.6)
    painter.setBrush(QBrush(ARROW))
    painter.drawPolygon([tip, left, right])
