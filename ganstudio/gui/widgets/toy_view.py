"""The GAN Lab view for 2D toy data: real and fake points over D's output, with G's gradient as arrows and G's
manifold (a grid over the latent plane drawn through G) as a warped mesh."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ganstudio.core.toy_view import ToyFrame

REAL = (44, 160, 44)
FAKE = (148, 103, 189)
ARROW = (90, 60, 120)
MESH = (50, 90, 150)
# D's output from "judged fake" (purple) through undecided (white) to "judged real" (green), pale behind the points.
FIELD_COLOURS = pg.ColorMap([0.0, 0.5, 1.0], [(196, 170, 224), (250, 250, 250), (170, 222, 170)])
FIELD_LUT = FIELD_COLOURS.getLookupTable(nPts=256)  # uint8 [256, 3], as ImageItem.setColorMap makes it
ARROW_SHARE = 0.07  # the 90th-percentile arrow is this share of the view's width
HEAD_ANGLE = np.deg2rad(28)


def arrow_segments(start: np.ndarray, vector: np.ndarray, length: float) -> np.ndarray:
    """Line segments (pairs of points) drawing an arrow from each start along its vector, with a head.

    Vectors are scaled so that the 90th-percentile one is `length` long; returns float [6 * n, 2].
    """
    ok = np.isfinite(start).all(axis=1) & np.isfinite(vector).all(axis=1)
    start, vector = start[ok], vector[ok]
    if not len(start):
        return np.empty((0, 2))
    norms = np.linalg.norm(vector, axis=1)
    scale = np.quantile(norms, 0.9)
    vector = vector * (length / scale if scale > 0 else 0.0)
    tip = start + vector
    back = -vector * 0.35
    heads = []
    for angle in (HEAD_ANGLE, -HEAD_ANGLE):
        c, s = np.cos(angle), np.sin(angle)
        rotated = np.stack([back[:, 0] * c - back[:, 1] * s, back[:, 0] * s + back[:, 1] * c], axis=1)
        heads.append(tip + rotated)
    segments = np.stack([start, tip, tip, heads[0], tip, heads[1]], axis=1)  # [n, 6, 2]
    return segments.reshape(-1, 2)


def field_colours(field: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """D's output as RGB uint8 [n, n, 3] through FIELD_COLOURS, as pyqtgraph's ImageItem maps it with a colour map
    (done here, while the frame is set, so that the repaint only draws an image)."""
    lo, hi = levels
    scale = len(FIELD_LUT) / (hi - lo if hi != lo else 1.0)
    index = np.clip((np.asarray(field, dtype=np.float64) - lo) * scale, 0, len(FIELD_LUT) - 1)
    return FIELD_LUT[index.astype(np.uint8)]


def mesh_lines(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y and connect arrays that draw a grid of points [rows, cols, 2] as its rows then its columns, in one
    polyline; a segment touching a non-finite point is left out."""
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 3 or grid.shape[2] != 2 or not grid.size:
        return np.empty(0), np.empty(0), np.empty(0, dtype=bool)
    parts, links = [], []
    for lines in (grid, grid.transpose(1, 0, 2)):  # along rows (z_0 varies), then along columns (z_1 varies)
        points = lines.reshape(-1, 2)
        link = np.ones(lines.shape[:2], dtype=bool)
        link[:, -1] = False  # no segment from the end of one line to the start of the next
        parts.append(points)
        links.append(link.reshape(-1))
    points, connect = np.concatenate(parts), np.concatenate(links)
    finite = np.isfinite(points).all(axis=1)
    connect &= finite & np.append(finite[1:], False)
    points = np.where(finite[:, None], points, 0.0)
    return points[:, 0], points[:, 1], connect


class ToyView(QWidget):
    """Shows ToyFrames as they arrive (only while visible: a hidden view draws the newest when shown); real points
    are set once per run."""

    visibility_changed = Signal(bool)  # frames are wanted (the trainer need not make them while hidden)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.frame: ToyFrame | None = None
        self._drawn: ToyFrame | None = None
        self._extent = None
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot_widget.setMinimumSize(320, 320)
        plot = self.plot = self.plot_widget.getPlotItem()
        plot.setAspectLocked(True)
        plot.showGrid(x=False, y=False)
        plot.hideButtons()
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen("k")
            plot.getAxis(axis).setPen((150, 150, 150))
        self.field = pg.ImageItem(axisOrder="row-major")  # given RGB: field_colours maps D's output
        self.field.setZValue(-10)
        plot.addItem(self.field)
        self.real = pg.ScatterPlotItem(size=6, pen=pg.mkPen(255, 255, 255, 160), brush=pg.mkBrush(*REAL, 230),
                                       name="real data")
        self.fake = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(*FAKE, 200), name="generated")
        # curve items, not PlotDataItems: set with every frame, they need none of a PlotDataItem's extras
        self.arrows = pg.PlotCurveItem(pen=pg.mkPen(*ARROW, 150, width=1), connect="pairs", name="G's gradient")
        # one item for the whole mesh: the connect array breaks the polyline between grid lines
        self.manifold = pg.PlotCurveItem(pen=pg.mkPen(*MESH, 110, width=1), name="G's manifold")
        self.manifold.setZValue(-5)
        legend = plot.addLegend(offset=(8, 8), labelTextSize="8pt", brush=pg.mkBrush(255, 255, 255, 200))
        for item in (self.manifold, self.real, self.fake, self.arrows):
            plot.addItem(item)
        self.legend = legend
        # repainted with every frame but unchanged by it: painted from a pixmap kept at screen resolution
        for item in (self.real, legend):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

        self.show_field = QCheckBox("D's output")
        self.show_real = QCheckBox("Real")
        self.show_fake = QCheckBox("Generated")
        self.show_arrows = QCheckBox("G's gradient")
        self.show_manifold = QCheckBox("G's manifold")
        self.show_manifold.setToolTip("A grid over the latent space (its first two dimensions) drawn through the "
                                      "generator: watch G fold the plane onto the modes, or onto one (collapse)")
        toggles = QHBoxLayout()
        toggles.addWidget(QLabel("Show:"))
        for box, item in ((self.show_field, self.field), (self.show_real, self.real), (self.show_fake, self.fake),
                          (self.show_arrows, self.arrows), (self.show_manifold, self.manifold)):
            box.setChecked(True)
            box.toggled.connect(item.setVisible)
            toggles.addWidget(box)
        toggles.addStretch(1)
        self.caption = QLabel("Background: the discriminator's output (green: judged real, purple: judged fake). "
                              "Arrows: where the generator's loss pushes each generated point. Mesh: a grid over the latent "
                              "space as the generator maps it onto the plane.")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #555;")
        self.status = QLabel("Waiting for the first step…")
        self.status.setStyleSheet("color: #777;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(toggles)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.caption)
        layout.addWidget(self.status)

    def set_real(self, points: np.ndarray | None) -> None:
        """The real data points, drawn under the generated ones."""
        self.real.setData(pos=np.empty((0, 2)) if points is None else np.asarray(points, dtype=np.float64))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        if self.frame is not None and self.frame is not self._drawn:
            self._draw(self.frame)
        self.visibility_changed.emit(True)

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().hideEvent(event)
        self.visibility_changed.emit(False)

    def show_frame(self, frame: ToyFrame) -> None:
        """Show one frame: drawn now when visible, else when the view is shown."""
        self.frame = frame
        if self.isVisible():
            self._draw(frame)

    def _draw(self, frame: ToyFrame) -> None:
        """Draw a frame: the field as a heatmap, the fake points and their gradient arrows."""
        self._drawn = frame
        e = frame.extent
        field = np.nan_to_num(frame.field.astype(np.float64), nan=0.5 if frame.probability else 0.0)
        if frame.probability:
            levels = (0.0, 1.0)
        else:  # a raw score has no fixed scale: centre the colours on the middle of what D outputs now
            lo, hi = np.quantile(field, [0.02, 0.98]) if field.size else (0.0, 1.0)
            mid, half = (lo + hi) / 2, max((hi - lo) / 2, 1e-6)
            levels = (mid - half, mid + half)
        self.field.setImage(field_colours(field, levels), autoLevels=False)
        self.field.setRect(QRectF(-e, -e, 2 * e, 2 * e))
        fake = np.asarray(frame.fake, dtype=np.float64)
        self.fake.setData(pos=fake[np.isfinite(fake).all(axis=1)])
        segments = arrow_segments(fake, np.asarray(frame.gradients, dtype=np.float64), 2 * e * ARROW_SHARE)
        self.arrows.setData(segments[:, 0], segments[:, 1]) if len(segments) else self.arrows.setData([], [])
        x, y, connect = mesh_lines(frame.manifold if frame.manifold is not None else np.empty((0, 0, 2)))
        self.manifold.setData(x, y, connect=connect)
        if self._extent != e:
            self._extent = e
            self.plot.setRange(xRange=(-e, e), yRange=(-e, e), padding=0)
        kind = "probability" if frame.probability else "raw score"
        self.status.setText(f"Step {frame.step:,} · D's output as a {kind}, from {field.min():.3g} to "
                            f"{field.max():.3g}")
