"""The generator manifold's mesh as one polyline: rows, then columns, broken between lines and at bad points."""
from __future__ import annotations

import numpy as np

from ganstudio.gui.widgets.toy_view import mesh_lines


def test_mesh_lines_draw_rows_then_columns_without_joining_them():
    grid = np.stack(np.meshgrid(np.arange(3.0), np.arange(2.0), indexing="xy"), axis=-1)  # [2 rows, 3 cols, 2]
    x, y, connect = mesh_lines(grid)
    assert len(x) == len(y) == len(connect) == 12
    assert x[:6].tolist() == [0, 1, 2, 0, 1, 2] and y[:6].tolist() == [0, 0, 0, 1, 1, 1]  # the two rows
    assert x[6:].tolist() == [0, 0, 1, 1, 2, 2] and y[6:].tolist() == [0, 1, 0, 1, 0, 1]  # the three columns
    assert connect.tolist() == [1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0]


def test_mesh_lines_leave_out_segments_at_non_finite_points():
    grid = np.zeros((2, 2, 2))
    grid[0, 1] = np.nan
    x, y, connect = mesh_lines(grid)
    assert np.isfinite(x).all() and np.isfinite(y).all()
    assert connect.tolist() == [0, 0, 1, 0, 1, 0, 0, 0]
    assert mesh_lines(np.empty((0, 0, 2)))[0].size == 0
