"""The plots' metric history: bounded size, exact means when compacting, incremental smoothing."""
from __future__ import annotations

import numpy as np

from ganstudio.gui.history import MetricHistory, nan_mean_groups, trailing_mean


def test_trailing_mean_ignores_missing_values():
    values = np.array([1.0, np.nan, 3.0, 5.0, np.nan, np.nan])
    assert np.allclose(trailing_mean(values, 2), [1.0, 1.0, 3.0, 4.0, 5.0, np.nan], equal_nan=True)


def test_history_appends_in_pieces_and_smooths_like_the_whole():
    history = MetricHistory(("step", "loss"), window=7)
    rng = np.random.default_rng(0)
    values = rng.normal(size=500)
    values[::11] = np.nan
    rows = np.stack([np.arange(1, 501), values], axis=1)
    for start in range(0, 500, 37):
        history.extend(rows[start:start + 37])
    assert len(history) == 500 and history.stride == 1
    assert np.allclose(history.smoothed("loss"), trailing_mean(values, 7), equal_nan=True)
    history.set_window(3)
    assert np.allclose(history.smoothed("loss"), trailing_mean(values, 3), equal_nan=True)
    assert history.last("loss") == values[-1]


def test_history_stays_bounded_and_keeps_exact_means():
    history = MetricHistory(("step", "loss"), max_points=100)
    steps = np.arange(1, 1001, dtype=float)
    for start in range(0, 1000, 13):
        chunk = steps[start:start + 13]
        history.extend(np.stack([chunk, chunk * 2], axis=1))
    assert len(history) <= 100 and history.stride == 16
    full = nan_mean_groups(np.stack([steps, steps * 2], axis=1)[:len(history) * 16], 16)
    assert np.allclose(history.column("step"), full[:, 0]) and np.allclose(history.column("loss"), full[:, 1])
    assert history.generation > 0


def test_history_from_metrics_records():
    records = [{"step": 1, "loss_d": 1.5}, {"step": 2, "loss_d": 1.0, "loss_g": 0.7, "epoch_end": True}]
    history = MetricHistory.from_records(records, ("step", "loss_d", "loss_g"))
    assert history.column("step").tolist() == [1, 2]
    assert np.isnan(history.column("loss_g")[0]) and history.column("loss_g")[1] == 0.7
