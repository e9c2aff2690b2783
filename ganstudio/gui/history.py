"""The metric history behind the live plots: growing numpy columns, bounded in size, with smoothed copies.

Hours of training stay fast to plot: past `max_points` rows, neighbouring rows are averaged in pairs and later
steps are averaged in groups of the same size (the `stride`), so memory and drawing time stay bounded. The
smoothed curves (a trailing mean) are extended incrementally, not recomputed on every update.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

DEFAULT_MAX_POINTS = 200_000


class _Grow:
    """A float64 array of rows that grows by doubling."""

    def __init__(self, width: int):
        self.data = np.empty((1024, width))
        self.n = 0

    def append(self, rows: np.ndarray) -> None:
        need = self.n + len(rows)
        if need > len(self.data):
            bigger = np.empty((max(need, 2 * len(self.data)), self.data.shape[1]))
            bigger[: self.n] = self.data[: self.n]
            self.data = bigger
        self.data[self.n:need] = rows
        self.n = need

    def reset(self, rows: np.ndarray) -> None:
        self.n = 0
        self.append(rows)

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.n]


def nan_mean_groups(rows: np.ndarray, size: int) -> np.ndarray:
    """Mean of each group of `size` consecutive rows, ignoring NaN (all-NaN groups stay NaN)."""
    groups = rows[: len(rows) // size * size].reshape(-1, size, rows.shape[1])
    finite = np.isfinite(groups)
    total = np.where(finite, groups, 0.0).sum(axis=1)
    count = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the finite values among each value and the window - 1 before it (NaN where none is finite)."""
    finite = np.isfinite(values)
    csum = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    hi = np.arange(1, len(values) + 1)
    lo = np.maximum(0, hi - window)
    count = ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (csum[hi] - csum[lo]) / np.maximum(count, 1), np.nan)


class MetricHistory:
    """Rows of (step, epoch, metrics...) in named columns; see the module docstring for the bounds."""

    def __init__(self, columns: Sequence[str], max_points: int = DEFAULT_MAX_POINTS, window: int = 50):
        if max_points < 4:
            raise ValueError("max_points must be at least 4")
        self.columns = tuple(columns)
        self.index = {name: i for i, name in enumerate(self.columns)}
        self.max_points = max_points
        self.window = max(1, int(window))
        self.stride = 1  # logged steps per stored row
        self._rows = _Grow(len(self.columns))
        self._pending = np.empty((0, len(self.columns)))  # steps waiting to fill a group of `stride`
        self._smooth = _Grow(len(self.columns))
        self._csum = _Grow(len(self.columns))  # running sums for the trailing mean, with a leading zero row
        self._ccount = _Grow(len(self.columns))
        self.generation = 0  # changes when stored rows were rewritten (views must redraw everything)
        self._reset_smoothing()

    def __len__(self) -> int:
        return self._rows.n

    def column(self, name: str) -> np.ndarray:
        return self._rows.view[:, self.index[name]]

    def smoothed(self, name: str) -> np.ndarray:
        return self._smooth.view[:, self.index[name]]

    def last(self, name: str) -> float:
        """The newest finite value of a column, or NaN."""
        values = self.column(name)
        finite = np.flatnonzero(np.isfinite(values))
        return float(values[finite[-1]]) if len(finite) else float("nan")

    def clear(self) -> None:
        self.stride = 1
        self._rows.reset(np.empty((0, len(self.columns))))
        self._pending = np.empty((0, len(self.columns)))
        self.generation += 1
        self._reset_smoothing()

    def set_window(self, window: int) -> None:
        """Change the trailing-mean window and recompute the smoothed columns."""
        self.window = max(1, int(window))
        self.generation += 1
        self._reset_smoothing()

    def extend(self, rows: np.ndarray) -> None:
        """Append logged steps (float64 [k, columns], NaN for missing values)."""
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, len(self.columns))
        if self.stride > 1:
            rows = np.concatenate([self._pending, rows])
            full = len(rows) // self.stride * self.stride
            self._pending = rows[full:]
            rows = nan_mean_groups(rows[:full], self.stride)
        if len(rows):
            self._rows.append(rows)
            self._extend_smoothing(rows)
        while self._rows.n > self.max_points:
            self._compact()

    def _compact(self) -> None:
        """Average neighbouring rows in pairs: half the rows, twice the stride."""
        rows = self._rows.view
        odd = rows[len(rows) // 2 * 2:]
        self._rows.reset(nan_mean_groups(rows, 2))
        self.stride *= 2
        if len(odd):  # a lone last row waits for its partner
            self._pending = np.concatenate([np.repeat(odd, self.stride // 2, axis=0), self._pending])
        self.generation += 1
        self._reset_smoothing()

    def _reset_smoothing(self) -> None:
        width = len(self.columns)
        self._smooth.reset(np.empty((0, width)))
        self._csum.reset(np.zeros((1, width)))
        self._ccount.reset(np.zeros((1, width)))
        if self._rows.n:
            self._extend_smoothing(self._rows.view)

    def _extend_smoothing(self, rows: np.ndarray) -> None:
        finite = np.isfinite(rows)
        start = self._csum.n  # rows already summed + 1
        self._csum.append(self._csum.data[start - 1] + np.cumsum(np.where(finite, rows, 0.0), axis=0))
        self._ccount.append(self._ccount.data[start - 1] + np.cumsum(finite, axis=0))
        hi = np.arange(start, start + len(rows))
        lo = np.maximum(0, hi - self.window)
        count = self._ccount.data[hi] - self._ccount.data[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (self._csum.data[hi] - self._csum.data[lo]) / np.maximum(count, 1)
        self._smooth.append(np.where(count > 0, mean, np.nan))

    @classmethod
    def from_records(cls, records: list[dict], columns: Sequence[str], **kwargs) -> "MetricHistory":
        """A history from metrics.jsonl records (missing values become NaN)."""
        history = cls(columns, **kwargs)
        rows = np.array([[_number(r.get(c)) for c in columns] for r in records], dtype=np.float64)
        history.extend(rows.reshape(-1, len(columns)))
        return history


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else np.nan
