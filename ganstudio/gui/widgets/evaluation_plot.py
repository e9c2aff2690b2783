"""The quality metrics measured during a run (FID, KID, modes covered ...), one metric at a time, against the
step; evaluation records come from StepReport.evaluation live, or from a run's evals.jsonl."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ganstudio.gui.colours import plot_colours

# Metrics worth a curve, in the order the chooser lists them, with the words it shows.
METRICS = {
    "fid": "FID (lower is better)", "kid": "KID (lower is better)", "is": "Inception-style score",
    "precision": "Precision", "recall": "Recall", "density": "Density", "coverage": "Coverage",
    "modes_covered": "Modes covered", "high_quality": "Share of high-quality samples",
    "classes_covered": "Classes covered", "class_kl": "Class histogram KL (lower is better)",
}


class EvaluationPlot(QWidget):
    """A chooser of the measured metrics and one curve of the chosen metric."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.records: list[dict] = []
        self.chooser = QComboBox()
        self.chooser.currentIndexChanged.connect(self._redraw)
        self.note = QLabel("No quality metrics in this run. To measure them while training, start a run "
                           "(File › New run…) and choose an interval under “Quality metrics” on its Schedule page; "
                           "a finished run can be measured with the command ganstudio eval.")
        self.note.setWordWrap(True)
        background, foreground = plot_colours()  # the palette's, as the training plots (dark themes too)
        self.plot = pg.PlotWidget(background=background)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        for axis in ("left", "bottom"):
            self.plot.getPlotItem().getAxis(axis).setTextPen(foreground)
        self.plot.setLabel("bottom", "step", color=foreground.name())
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2), symbol="o", symbolSize=6,
                                    symbolBrush="#1f77b4")
        top = QHBoxLayout()
        top.addWidget(QLabel("Metric:"))
        top.addWidget(self.chooser, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.plot, 1)
        self._refresh_chooser()

    def set_records(self, records: list[dict]) -> None:
        """Replace the history (a reopened run)."""
        self.records = list(records)
        self._refresh_chooser()
        self._redraw()

    def add(self, record: dict) -> None:
        self.records.append(record)
        self._refresh_chooser()
        self._redraw()

    def available(self) -> list[str]:
        return [k for k in METRICS if any(_number(r.get(k)) is not None for r in self.records)]

    def _refresh_chooser(self) -> None:
        keys = self.available()
        current = self.chooser.currentData()
        if keys == [self.chooser.itemData(i) for i in range(self.chooser.count())]:
            return
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for key in keys:
            self.chooser.addItem(METRICS[key], key)
        if current in keys:
            self.chooser.setCurrentIndex(keys.index(current))
        self.chooser.blockSignals(False)
        self.note.setVisible(not keys)
        self.chooser.setEnabled(bool(keys))

    def _redraw(self) -> None:
        key = self.chooser.currentData()
        points = [(r["step"], _number(r.get(key))) for r in self.records if key and "step" in r]
        points = [(x, y) for x, y in points if y is not None]
        self.curve.setData([x for x, _ in points], [y for _, y in points])
        self.plot.setLabel("left", METRICS.get(key, ""))


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
