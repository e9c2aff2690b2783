"""Peak downsampling of the live curves: every bucket's lowest and highest value kept, extended incrementally."""
from __future__ import annotations

import numpy as np

from ganstudio.gui.downsample import PeakCurve, bucket_width, peaks


def _curve(n: int = 5000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.arange(1, n + 1, dtype=np.float64)
    y = rng.normal(size=n)
    y[rng.random(n) < 0.05] = np.nan  # missing values
    y[n // 5:n // 5 + 300] = np.nan  # a gap wider than a bucket
    y[n // 2 - 3] = 40.0  # a spike
    return x, y


def test_every_bucket_keeps_its_lowest_and_highest_value_at_their_own_step_and_in_order():
    x, y = _curve()
    width = 17.0
    px, py, _, _ = peaks(x, y, width)
    assert np.all(np.diff(px) >= 0), "points in the order they were logged"
    buckets = np.floor(x / width)
    drawn = np.floor(px / width)
    for k in np.unique(buckets):
        ys, shown = y[buckets == k], py[drawn == k]
        if np.isfinite(ys).any():
            assert set(shown) == {np.nanmin(ys), np.nanmax(ys)}
            for value in shown:  # drawn where it happened
                assert px[(drawn == k) & (py == value)][0] == x[(buckets == k) & (y == value)][0]
        else:
            assert len(shown) == 1 and np.isnan(shown[0]), "an empty bucket leaves a gap"
    assert 40.0 in py


def test_a_bucket_of_one_step_is_drawn_exactly():
    x, y = _curve(300)
    px, py, _, _ = peaks(x, y, 0.5)
    assert np.array_equal(px, x) and np.array_equal(py, y, equal_nan=True)


def test_extending_piece_by_piece_gives_what_reducing_the_whole_gives():
    x, y = _curve()
    width = bucket_width(5000, 400)
    curve = PeakCurve()
    rng = np.random.default_rng(1)
    n = 0
    while n < len(x):
        n = min(len(x), n + int(rng.integers(1, 200)))
        got = curve.update(x[:n], y[:n], width, key="run")
        whole = peaks(x[:n], y[:n], width)
        assert np.array_equal(got[0], whole[0]) and np.array_equal(got[1], whole[1], equal_nan=True), n
        assert curve.rows == n


def test_new_data_a_new_width_or_fewer_rows_start_afresh():
    x, y = _curve(2000)
    curve = PeakCurve()
    curve.update(x, y, 10.0, key=("history", 0))
    y2 = -y
    got = curve.update(x, y2, 10.0, key=("history", 1))  # the history was rewritten (a new generation)
    assert np.array_equal(got[1], peaks(x, y2, 10.0)[1], equal_nan=True)
    got = curve.update(x, y2, 4.0, key=("history", 1))
    assert np.array_equal(got[1], peaks(x, y2, 4.0)[1], equal_nan=True)
    got = curve.update(x[:50], y2[:50], 4.0, key=("history", 1))  # cleared and refilled under the same key
    assert np.array_equal(got[1], peaks(x[:50], y2[:50], 4.0)[1], equal_nan=True)


def test_only_the_rows_in_view_are_reduced_with_one_either_side():
    x, y = _curve()
    y[:] = np.arange(len(y))
    got_x, _ = PeakCurve().update(x, y, 1.0, view=(1000.5, 2000.5))
    assert got_x[0] == 1000 and got_x[-1] == 2001


def test_a_log_axis_leaves_out_values_that_have_no_logarithm():
    x = np.arange(1.0, 9.0)
    y = np.array([1.0, 0.0, 2.0, -1.0, 3.0, 0.0, 0.0, 4.0])
    _, py, _, _ = peaks(x, y, 0.5, positive=True)
    assert np.array_equal(py, [1.0, np.nan, 2.0, np.nan, 3.0, np.nan, np.nan, 4.0], equal_nan=True)


def test_bucket_width_is_about_a_pixel_and_steady():
    assert bucket_width(1_000_000, 400) <= 2500 < bucket_width(1_000_000, 400) * 1.2
    assert bucket_width(1000, 400) == bucket_width(1010, 401), "a small change keeps the buckets"
    assert bucket_width(0, 400) == 0.0 and bucket_width(100, 0) == 0.0
