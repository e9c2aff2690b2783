"""Peak downsampling of a growing curve to the plot's pixel columns, kept incrementally.

A plot that spans hours of training shows thousands of steps in each pixel column; drawing them all costs tens
of milliseconds of the GUI thread a redraw. The x axis is cut into buckets about a pixel wide (anchored at 0, so
that a pan or a longer history keeps them), and each bucket is drawn as its lowest and highest value, at the x
where they occur and in the order they occur: every peak stays on screen, and a bucket holding a single step is
drawn exactly. Closed buckets are kept, so that a redraw only reduces the steps logged since the last one.
"""
from __future__ import annotations

import math

import numpy as np


def bucket_width(x_range: float, pixels: float) -> float:
    """A bucket about one pixel wide, rounded down to a quarter power of two (so small changes of the range
    or of the plot's size keep the buckets; at most ~2.4 points a pixel)."""
    if not (x_range > 0 and pixels > 0) or not math.isfinite(x_range):
        return 0.0
    return 2.0 ** (math.floor(math.log2(x_range / pixels) * 4) / 4)


def peaks(x: np.ndarray, y: np.ndarray, width: float, positive: bool = False
          ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Min and max of y in each bucket of x ([k * width, (k + 1) * width)), at their own x and in their order.

    Rows with a non-finite x are left out (and with `positive`, for a log axis, rows with y <= 0 count as
    non-finite); a bucket whose y are all non-finite gives one NaN point (a gap in a
    curve drawn with connect="finite"). Returns x, y, and the rows and the points before the last bucket (the
    buckets before it are complete when x grows).
    """
    keep = np.flatnonzero(np.isfinite(x))
    if not len(keep):
        return np.empty(0), np.empty(0), len(x), 0
    xs, ys = x[keep], y[keep]
    if positive:
        ys = np.where(ys > 0, ys, np.nan)
    if width > 0:
        bucket = np.floor(xs / width)
    else:  # no width known: each row its own bucket
        bucket = np.arange(len(xs), dtype=np.float64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(bucket)) + 1])
    group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(xs))))
    finite = np.isfinite(ys)
    with np.errstate(invalid="ignore"):
        low = np.fmin.reduceat(ys, starts)
        high = np.fmax.reduceat(ys, starts)
    rows = np.arange(len(ys))
    big = len(ys)
    at_low = np.minimum.reduceat(np.where(finite & (ys == low[group]), rows, big), starts)
    at_high = np.minimum.reduceat(np.where(finite & (ys == high[group]), rows, big), starts)
    empty = at_low == big  # no finite value in the bucket: one NaN point keeps the gap
    at_low[empty] = starts[empty]
    at_high[empty] = starts[empty]
    first, second = np.minimum(at_low, at_high), np.maximum(at_low, at_high)
    order = np.stack([first, second], axis=1).reshape(-1)
    two = np.stack([np.ones(len(first), bool), second != first], axis=1).reshape(-1)
    picked = order[two]
    last_points = 1 + int(second[-1] != first[-1])  # the last bucket may still grow
    return xs[picked], ys[picked], int(keep[starts[-1]]), len(picked) - last_points


class PeakCurve:
    """The peak-downsampled copy of one curve, extended with each redraw (see the module docstring)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget what was reduced (the next update reduces the whole curve)."""
        self._key: tuple | None = None
        self.rows = 0  # the curve's rows that the last update covered (up to the view's end)
        self._done = 0  # rows (from the first one reduced) in complete buckets
        self._x = np.empty(0)
        self._y = np.empty(0)

    def update(self, x: np.ndarray, y: np.ndarray, width: float, view: tuple[float, float] | None = None,
               key: object = None, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The curve (x growing) reduced to buckets of `width`, only over the rows in `view` (x from, to) and one
        row either side; `key` names the data (another key, or fewer rows than before, starts afresh);
        `positive`: see peaks()."""
        lo, hi = 0, len(x)
        if view is not None and len(x):
            lo = max(0, int(np.searchsorted(x, view[0], side="left")) - 1)
            hi = min(len(x), int(np.searchsorted(x, view[1], side="right")) + 1)
        full_key = (key, width, lo, positive)
        if full_key != self._key or hi < lo + self._done:
            self.reset()
            self._key = full_key
        start = lo + self._done
        self.rows = hi
        tail_x, tail_y, done, closed = peaks(x[start:hi], y[start:hi], width, positive)
        if done:  # buckets before the last are complete: keep them
            self._x = np.concatenate([self._x, tail_x[:closed]])
            self._y = np.concatenate([self._y, tail_y[:closed]])
            tail_x, tail_y = tail_x[closed:], tail_y[closed:]
            self._done += done
        return np.concatenate([self._x, tail_x]), np.concatenate([self._y, tail_y])
