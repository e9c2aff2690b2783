"""The live plots: peak-downsampled curves that lose no peak, redrawn one plot a tick, round-robin."""
from __future__ import annotations

import numpy as np
import pytest

from ganstudio.gui.history import MetricHistory
from ganstudio.gui.widgets.metric_plots import MetricPlots
from ganstudio.gui.workers import METRIC_COLUMNS


def _rows(start: int, count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed + start)
    rows = np.full((count, len(METRIC_COLUMNS)), np.nan)
    rows[:, 0] = np.arange(start, start + count)
    rows[:, 1] = rows[:, 0] / 100
    rows[:, 2:10] = rng.random((count, 8)) + 0.5
    return rows


@pytest.fixture
def plots(qtbot):
    widget = MetricPlots(MetricHistory(METRIC_COLUMNS))
    widget._timer.stop()  # the tests tick by hand
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _drawn(plots: MetricPlots, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The raw curve's points as given (a log plot's curve returns log10 of them)."""
    panel = plots._panel_of(column)
    x, y = panel.curves[column][0].getData()
    return x, (10 ** y if panel is plots.grads else y)


@pytest.mark.parametrize("steps", [1, 100, 650])
def test_a_long_planned_run_draws_its_first_steps(plots, steps):
    """pyqtgraph's own peak downsampling drew nothing while a run had fewer steps than a pixel column holds."""
    plots.set_total_steps(1_000_000)
    rows = _rows(1, steps)
    plots.history.extend(rows)
    plots.redraw()
    x, y = _drawn(plots, "loss_d")
    column = METRIC_COLUMNS.index("loss_d")
    assert plots.point_count("loss_d") >= 1 and plots.drawn_rows("loss_d") == steps
    assert np.nanmax(y) == rows[:, column].max() and np.nanmin(y) == rows[:, column].min()


def test_hours_of_steps_keep_every_peak_in_about_two_points_a_pixel(plots):
    plots.set_total_steps(200_000)
    rows = _rows(1, 150_000)  # under the history's own bound (it averages pairs of steps beyond it)
    column = METRIC_COLUMNS.index("loss_g")
    rows[123_456, column] = 9.0  # one step's spike
    rows[134_567, column] = -3.0
    for start in range(0, len(rows), 30_000):
        plots.history.extend(rows[start:start + 30_000])
        plots.mark_dirty()
        for _ in range(len(plots.panels)):
            plots.redraw_step()
    x, y = _drawn(plots, "loss_g")
    width = plots.losses.plot.getViewBox().width()
    assert len(x) <= 2.5 * width, "no more than ~2 points a pixel column"
    assert 9.0 in y and -3.0 in y, "a single step's peak stays on screen"
    assert x[np.flatnonzero(y == 9.0)[0]] == 123_457
    assert plots.drawn_rows("loss_g") == len(plots.history) == 150_000


def test_one_plot_is_redrawn_a_tick_and_every_shown_plot_in_turn(plots):
    plots.set_total_steps(1000)
    shown = [p for p in plots.panels if not p.widget.isHidden()]
    assert len(shown) == 4  # losses, D output, gradient norms, speed (no ADA, no CycleGAN)
    plots.history.extend(_rows(1, 10))
    plots.mark_dirty()
    seen = []
    for _ in range(len(shown)):
        before = {id(p): p.peaks[next(iter(p.curves))][0].rows for p in plots.panels}
        plots.redraw_step()
        changed = [p for p in plots.panels if p.peaks[next(iter(p.curves))][0].rows != before[id(p)]]
        assert len(changed) == 1, "one plot a tick"
        seen.append(changed[0])
    assert {id(p) for p in seen} == {id(p) for p in shown}, "each shown plot in turn"
    plots.redraw_step()
    assert all(p.peaks[next(iter(p.curves))][0].rows == 10 for p in shown), "nothing left to draw: no redraw"
    assert plots.augment.peaks["augment_p"][0].rows == 0, "a hidden plot is not drawn"
    plots.set_augment(True)
    for _ in range(len(plots.panels)):
        plots.redraw_step()
    assert plots.augment.peaks["augment_p"][0].rows == 10, "shown, it catches up"


def test_steps_arriving_between_ticks_all_reach_every_plot(plots):
    plots.set_total_steps(5000)
    step = 1
    for _ in range(40):  # the trainer's batches arrive faster than the plots are redrawn
        plots.history.extend(_rows(step, 37))
        step += 37
        plots.mark_dirty()
        plots.redraw_step()
    for _ in range(len(plots.panels)):
        plots.redraw_step()
    for column in ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "images_per_sec"):
        x, y = _drawn(plots, column)
        values = plots.history.column(column)
        assert plots.drawn_rows(column) == step - 1
        width = plots._panel_of(column).buckets(plots.history.column("step"), False)[0]
        assert x[-1] > step - 1 - width and np.nanmax(y) == values.max() and np.nanmin(y) == values.min(), column


def test_zooming_in_redraws_the_view_at_its_own_resolution(plots):
    plots.set_total_steps(100_000)
    plots.history.extend(_rows(1, 100_000))
    plots.redraw()
    coarse = plots.point_count("loss_d")
    plots.losses.plot.setXRange(50_000, 50_200, padding=0)
    for _ in range(len(plots.panels)):
        plots.redraw_step()
    x, _ = _drawn(plots, "loss_d")
    assert x[0] >= 49_999 and x[-1] <= 50_201, "only what is in view (and a step either side)"
    assert len(x) >= 200, "every step in view, now that a pixel holds less than one"
    assert coarse < 2.5 * plots.losses.plot.getViewBox().width()


def test_before_the_run_is_planned_the_plots_follow_the_data(plots):
    """A reopened run is drawn before its planned length is known: the x axis then spans the data, all drawn."""
    plots.history.extend(_rows(1, 8))
    plots.redraw()
    assert plots.point_count("loss_d") == 8
    plots.history.extend(_rows(9, 100_000))
    plots.redraw()
    x, _ = _drawn(plots, "loss_d")
    width = plots.losses.buckets(plots.history.column("step"), True)[0]
    assert x[0] < 1 + width and x[-1] > 100_008 - width, "from the first pixel column to the last"
    assert len(x) <= 2.5 * plots.losses.plot.getViewBox().width()


def test_a_new_history_is_drawn_whole(plots):
    plots.set_total_steps(100)
    plots.history.extend(_rows(1, 50))
    plots.redraw()
    fresh = MetricHistory(METRIC_COLUMNS)
    fresh.extend(_rows(1, 20, seed=5))
    plots.history = fresh
    for _ in range(len(plots.panels)):
        plots.redraw_step()
    x, y = _drawn(plots, "loss_d")
    assert np.array_equal(y, fresh.column("loss_d"))
    again = MetricHistory(METRIC_COLUMNS)  # as long as the last, and perhaps at the same address
    again.extend(_rows(1, 20, seed=6))
    plots.history = again
    plots.redraw()
    assert np.array_equal(_drawn(plots, "loss_d")[1], again.column("loss_d"))


def test_a_cyclegan_run_names_what_its_discriminators_see(plots):
    """A CycleGAN has no z: its D-output key says real and translated, and the 0.5 line's key stays."""
    plots.set_probability(True)
    plots.set_translation(True)
    title = plots.outputs.plot.titleLabel.text
    assert "D(translated)" in title and "D(G(z))" not in title and "equilibrium" in title
    plots.set_translation(False)
    assert "D(G(z))" in plots.outputs.plot.titleLabel.text
