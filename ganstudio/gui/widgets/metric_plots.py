"""Live training curves: D and G loss, mean D(x) and D(G(z)), gradient norms, images per second, and for a run
with ADA its augmentation probability p and the overfitting heuristic r_t that steers it.

Each curve is created once and fed with setData from a MetricHistory, reduced to what is in view and to its
peaks per pixel column (gui.downsample, kept incrementally), so hours of history stay fast. The GUI thread never
redraws all plots at once: a timer redraws one plot a tick, round-robin, so that each plot is redrawn about 4 times
a second and no single block of work is long; only while the plots are visible (a hidden tab catches up when
shown). The x axis spans the whole planned run, so that the axes (the most expensive part of a redraw) are rarely
redrawn.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from ganstudio.gui.colours import plot_colours
from ganstudio.gui.downsample import PeakCurve, bucket_width
from ganstudio.gui.history import MetricHistory

D_COLOUR, G_COLOUR = (31, 119, 180), (255, 127, 14)
REAL_COLOUR, FAKE_COLOUR = (44, 160, 44), (148, 103, 189)
SPEED_COLOUR = (80, 80, 80)
AUGMENT_COLOUR = (214, 39, 40)
AUGMENT_HEIGHT = 130  # px: a strip under the four plots, only for ADA runs
CYCLE_COLOUR, IDENTITY_COLOUR = (214, 39, 40), (140, 86, 75)
D_B_COLOUR = (23, 190, 207)
# A CycleGAN's own terms (core.training.cycle.CYCLE_METRICS): G's sum and D's sum stay on the Losses plot
CYCLE_SERIES = [("adv_g", "G adversarial (A→B)", G_COLOUR), ("adv_f", "F adversarial (B→A)", FAKE_COLOUR),
                ("cycle", "cycle", CYCLE_COLOUR), ("identity", "identity", IDENTITY_COLOUR)]
CYCLE_D_SERIES = [("loss_d_a", "D_A (real A or F(B)?)", D_COLOUR), ("loss_d_b", "D_B (real B or G(A)?)", D_B_COLOUR)]
EQUILIBRIUM_COLOUR = (120, 120, 120)
EQUILIBRIUM_KEY = "<span style='color:#787878'>┄</span>&nbsp;0.5 equilibrium"
REDRAW_MS = 250  # each plot is redrawn this often while training (one plot a tick)
MIN_TICK_MS = 30  # the redraw timer's shortest tick (six plots of a CycleGAN or ADA run: 41 ms)
FALLBACK_PIXELS = 1000  # a plot not laid out yet: buckets as for a plot this wide


def _pen(colour: tuple[int, int, int], width: float, alpha: int = 255) -> pg.QtGui.QPen:
    return pg.mkPen((*colour, alpha), width=width)


class _LogAxis(pg.AxisItem):
    """A log axis that labels only 1, 2 and 5 times a power of ten, so that short ranges stay readable."""

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph naming)
        labels = []
        for v in values:
            value = 10 ** (v * scale)
            mantissa = value / 10 ** np.floor(np.log10(value) + 1e-9)
            labels.append(f"{value:.3g}" if round(mantissa, 3) in (1.0, 2.0, 5.0) else "")
        return labels


def _hex(colour: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % colour


class _Panel:
    """One plot with a raw and a smoothed curve per series; the key to the colours is in the title, above the
    plot, so that no curve runs under it."""

    def __init__(self, widget: pg.PlotWidget, title: str, series: list[tuple[str, str, tuple[int, int, int]]],
                 key: bool = True):
        self.widget = widget
        self.plot = widget.getPlotItem()  # no pyqtgraph downsampling: the curves get pixel-sized data already
        self.key = [(label, colour) for _, label, colour in series] if key else []
        self.curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.peaks: dict[str, tuple[PeakCurve, PeakCurve]] = {}
        for column, label, colour in series:
            raw = self.plot.plot(pen=_pen(colour, 1, 70), connect="finite", antialias=False)
            smooth = self.plot.plot(pen=_pen(colour, 2), name=label, connect="finite", antialias=False)
            self.curves[column] = (raw, smooth)
            self.peaks[column] = (PeakCurve(), PeakCurve())
        self.set_title(title)

    def set_labels(self, labels: list[str]) -> None:
        """Rename the series in the key (their columns and colours stay)."""
        self.key = [(label, colour) for label, (_, colour) in zip(labels, self.key)]
        self.set_title(self.title, self.extra_key)

    def buckets(self, x: np.ndarray, auto: bool) -> tuple[float, tuple[float, float] | None]:
        """The peak buckets' width (about a pixel) and the x range in view (None: `auto`, the range follows the
        data, all of which is in view)."""
        view = self.plot.getViewBox()
        pixels = view.width() if view.width() >= 50 else FALLBACK_PIXELS
        if auto:
            finite = x[np.isfinite(x)]
            return bucket_width(float(finite[-1] - finite[0]) if len(finite) else 0.0, pixels), None
        x0, x1 = view.viewRange()[0]
        return bucket_width(x1 - x0, pixels), (x0, x1)

    def set_title(self, title: str, extra_key: str = "") -> None:
        """The plot's title in the palette's text colour, with the colour key on a line below it."""
        foreground = plot_colours()[1].name()
        items = [f"<span style='color:{_hex(c)}'>━</span>&nbsp;{label}" for label, c in self.key]
        if extra_key:
            items.append(extra_key)
        key = "&nbsp;&nbsp;".join(items)
        self.title, self.extra_key = title, extra_key
        self.plot.setTitle(f"<b>{title}</b>" + (f"<br><span style='font-size:8pt'>{key}</span>" if key else ""),
                           size="9pt", color=foreground)


class MetricPlots(QWidget):
    """Four live plots (six for a CycleGAN) over a MetricHistory, with steps or epochs on the x axis and raw/smoothed curves."""

    x_axis_changed = Signal(str)
    smoothing_changed = Signal(int)

    def __init__(self, history: MetricHistory, parent: QWidget | None = None):
        super().__init__(parent)
        self._history = history
        self._serial = 0  # counts the histories shown (an id() may be reused by the next one)
        self._dirty = False
        self._generation = -1
        self._stale: set[int] = set()  # panels (by index) with rows or a view not drawn yet
        self._next = 0  # the round-robin's next panel
        self.x_column = "step"
        self.total_steps = 0

        self.x_choice = QComboBox()
        self.x_choice.addItem("Steps", "step")
        self.x_choice.addItem("Epochs", "epoch")
        self.show_raw = QCheckBox("Raw")
        self.show_raw.setChecked(True)
        self.show_smooth = QCheckBox("Smoothed over")
        self.show_smooth.setChecked(True)
        self.window = QSpinBox()
        self.window.setRange(1, 10_000)
        self.window.setValue(history.window)
        self.window.setSuffix(" steps")
        self.window.setToolTip("The smoothed curves are the mean of the last N logged steps.")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("X axis:"))
        controls.addWidget(self.x_choice)
        controls.addSpacing(16)
        controls.addWidget(self.show_raw)
        controls.addWidget(self.show_smooth)
        controls.addWidget(self.window)
        controls.addStretch(1)

        self.losses = _Panel(self._plot_widget(), "Losses", [("loss_d", "D loss", D_COLOUR),
                                                             ("loss_g", "G loss", G_COLOUR)])
        self.outputs = _Panel(self._plot_widget(), "Mean D output", [("d_real", "D(x)", REAL_COLOUR),
                                                                     ("d_fake", "D(G(z))", FAKE_COLOUR)])
        self.grads = _Panel(self._plot_widget(log_y=True), "Gradient norms", [("grad_norm_d", "D", D_COLOUR),
                                                                              ("grad_norm_g", "G", G_COLOUR)])
        self.grads.plot.setLogMode(y=True)
        self.speed = _Panel(self._plot_widget(), "Speed (images/s)",
                            [("images_per_sec", "images/s", SPEED_COLOUR)], key=False)
        self.augment = _Panel(self._plot_widget(), "Augmentation probability p (ADA)",
                              [("augment_p", "p", AUGMENT_COLOUR)], key=False)
        self.overfit = _Panel(self._plot_widget(), "How sure D is of the real images (ADA's r_t)",
                              [("ada_rt", "r_t", REAL_COLOUR)], key=False)
        self.ada_target = pg.InfiniteLine(0.6, angle=0, pen=pg.mkPen(EQUILIBRIUM_COLOUR, width=1, style=Qt.DashLine))
        self.overfit.plot.addItem(self.ada_target)
        self.augment.widget.setToolTip("ADA's chance of augmenting (flips, turns, shifts, colour changes) each image "
                                       "D sees; it rises while D overfits and falls when it does not.")
        self.overfit.widget.setToolTip("r_t = mean of sign(D(x)) over real images: near 1, D recognises every real "
                                       "image (overfitting); ADA raises p while r_t is above the dashed target.")
        for panel in (self.augment, self.overfit):
            panel.widget.setMinimumSize(260, AUGMENT_HEIGHT)
            panel.widget.setMaximumHeight(AUGMENT_HEIGHT + 40)
            panel.widget.hide()
        self.generators = _Panel(self._plot_widget(), "Generator terms", CYCLE_SERIES)
        self.discriminators = _Panel(self._plot_widget(), "Discriminator losses", CYCLE_D_SERIES)
        self.panels = [self.losses, self.outputs, self.grads, self.speed, self.augment, self.overfit,
                       self.generators, self.discriminators]
        self.translation_panels = (self.generators, self.discriminators)  # shown for a CycleGAN run only
        # unlabelled on the plot (a label there sits under the curves): the title's key names it
        self.equilibrium = pg.InfiniteLine(0.5, angle=0, pen=pg.mkPen(EQUILIBRIUM_COLOUR, width=1,
                                                                      style=Qt.DashLine))
        self.outputs.plot.addItem(self.equilibrium)
        for panel in self.panels[1:]:
            panel.plot.setXLink(self.losses.plot)
        for i, panel in enumerate(self.panels):  # a zoom, a pan or a resize needs buckets for the new view
            panel.plot.getViewBox().sigXRangeChanged.connect(lambda *_, i=i: self._stale.add(i))
            panel.plot.getViewBox().sigResized.connect(lambda *_, i=i: self._stale.add(i))

        grid = QGridLayout()
        grid.setSpacing(4)
        for i, panel in enumerate(self.panels):  # ADA's two plots in a third row, shown for ADA runs
            grid.addWidget(panel.widget, i // 2, i % 2)
        for panel in self.translation_panels:
            panel.widget.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addLayout(grid, 1)

        self.x_choice.currentIndexChanged.connect(self._on_x_axis)
        self.show_raw.toggled.connect(self._redraw_all)
        self.show_smooth.toggled.connect(self._redraw_all)
        self.window.valueChanged.connect(self._on_window)
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS // 4)
        self._timer.timeout.connect(self.redraw_step)
        self._timer.start()

    def _plot_widget(self, log_y: bool = False) -> pg.PlotWidget:
        axes = {"left": _LogAxis("left")} if log_y else None
        background, foreground = plot_colours()
        widget = pg.PlotWidget(background=background, axisItems=axes)
        widget.setMinimumSize(260, 170)
        plot = widget.getPlotItem()
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setPen((150, 150, 150))  # this also greys the axis label: colour it after
            plot.getAxis(axis).setTextPen(foreground)
        plot.setLabel("bottom", "step", color=foreground.name())
        plot.getAxis("bottom").enableAutoSIPrefix(False)  # "epoch (x0.001)" reads worse than 0.05, 0.1
        return widget

    # -- public ---------------------------------------------------------------------------------------

    def set_probability(self, probability: bool) -> None:
        """Probability losses show D's output in [0, 1] with the 0.5 line; others show the raw critic score."""
        self.equilibrium.setVisible(probability)
        self.outputs.set_title("Mean D output (probability)" if probability else "Mean D output (raw score)",
                               EQUILIBRIUM_KEY if probability else "")

    def set_augment(self, adaptive: bool, target: float = 0.6) -> None:
        """Show ADA's p and its overfitting heuristic r_t (with its target) for an ADA run; hide them otherwise."""
        self.ada_target.setValue(target)
        self.overfit.set_title(self.overfit.title,
                               f"<span style='color:#787878'>┄</span>&nbsp;target {target:g}")
        for panel in (self.augment, self.overfit):
            panel.widget.setVisible(adaptive)

    def set_translation(self, on: bool) -> None:
        """Show the plots of a CycleGAN's terms: G's and F's adversarial, cycle and identity losses, D_A and D_B."""
        for panel in self.translation_panels:
            panel.widget.setVisible(on)
        # a CycleGAN's D sees real pictures and translated ones; there is no z
        self.outputs.set_labels(["D(real)", "D(translated)"] if on else ["D(x)", "D(G(z))"])

    def set_x_axis(self, column: str) -> None:
        index = self.x_choice.findData(column)
        if index >= 0:
            self.x_choice.setCurrentIndex(index)

    def set_smoothing(self, window: int) -> None:
        self.window.setValue(window)

    def set_total_steps(self, total: int) -> None:
        """The planned length of the run: the x axis spans it (in steps, or in epochs as far as known)."""
        self.total_steps = total
        self._fit_x()

    def _fit_x(self) -> None:
        if self.total_steps <= 0:
            self.losses.plot.enableAutoRange(x=True)
            return
        end = float(self.total_steps)
        if self.x_column == "epoch":
            steps, epochs = self.history.column("step"), self.history.column("epoch")
            if not len(steps) or not steps[-1] or not np.isfinite(epochs[-1]):
                self.losses.plot.enableAutoRange(x=True)
                return
            end = end * epochs[-1] / steps[-1]
        self.losses.plot.setXRange(0, end, padding=0.01)

    def mark_dirty(self) -> None:
        """New rows are in the history; they are drawn at the next redraw tick."""
        self._dirty = True

    @property
    def history(self) -> MetricHistory:
        return self._history

    @history.setter
    def history(self, history: MetricHistory) -> None:
        self._history = history
        self._serial += 1
        self._dirty = True

    def redraw(self) -> None:
        """Draw the whole history now, in every plot."""
        self._take_news()
        for i in range(len(self.panels)):
            self._draw_panel(i)

    def redraw_step(self) -> None:
        """One tick of the live redraw: the next visible plot with rows or a view not drawn yet, if any."""
        if not self.isVisible():
            return
        self._take_news()
        shown = [i for i in range(len(self.panels)) if not self.panels[i].widget.isHidden()]
        interval = max(MIN_TICK_MS, REDRAW_MS // max(1, len(shown)))  # each shown plot every REDRAW_MS
        if interval != self._timer.interval():
            self._timer.setInterval(interval)
        for k in range(len(self.panels)):
            i = (self._next + k) % len(self.panels)
            if i in self._stale and i in shown:
                self._next = i + 1
                self._draw_panel(i)
                return

    def point_count(self, column: str = "loss_d") -> int:
        """How many points the raw curve of a column holds (for tests and the status line)."""
        data = self._panel_of(column).curves[column][0].getData()[0]
        return 0 if data is None else len(data)

    def drawn_rows(self, column: str = "loss_d") -> int:
        """How many rows of the history the raw curve of a column shows (up to the end of the view)."""
        return self._panel_of(column).peaks[column][0].rows

    # -- internals ------------------------------------------------------------------------------------

    def _panel_of(self, column: str) -> _Panel:
        for panel in self.panels:
            if column in panel.curves:
                return panel
        raise KeyError(column)

    def _take_news(self) -> None:
        """New rows (or rewritten ones) make every plot stale."""
        if self._dirty or self._generation != self.history.generation:
            self._generation = self.history.generation
            self._dirty = False
            self._stale.update(range(len(self.panels)))

    def _draw_panel(self, i: int) -> None:
        """Give one plot's curves their rows, reduced to the view's pixel columns."""
        self._stale.discard(i)
        panel = self.panels[i]
        history = self.history
        x = history.column(self.x_column)
        width, view = panel.buckets(x, self.losses.plot.getViewBox().autoRangeEnabled()[0])
        key = (self._serial, history.generation, self.x_column)
        log = panel is self.grads  # a zero norm (no gradient this step) has no logarithm
        for column, (raw, smooth) in panel.curves.items():
            if column not in history.index:
                continue
            raw_peaks, smooth_peaks = panel.peaks[column]
            for curve, peaks, y, shown in ((raw, raw_peaks, history.column(column), self.show_raw.isChecked()),
                                           (smooth, smooth_peaks, history.smoothed(column),
                                            self.show_smooth.isChecked())):
                curve.setVisible(shown)
                if shown:
                    curve.setData(*peaks.update(x, y, width, view, key, positive=log))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self._take_news()  # what arrived while hidden, at once
        for i in sorted(self._stale):
            if not self.panels[i].widget.isHidden():
                self._draw_panel(i)

    def _redraw_all(self) -> None:
        self.redraw()

    def _on_x_axis(self) -> None:
        self.x_column = self.x_choice.currentData()
        for panel in self.panels:
            panel.plot.setLabel("bottom", self.x_column, color=plot_colours()[1].name())
            panel.plot.enableAutoRange()
        self.redraw()
        self._fit_x()
        self.x_axis_changed.emit(self.x_column)

    def _on_window(self, value: int) -> None:
        self.history.set_window(value)
        self.redraw()
        self.smoothing_changed.emit(value)
