"""The GAN Lab view's own drawing: the field's colours as pyqtgraph maps them, and what a frame sets."""
from __future__ import annotations

import numpy as np
import pytest
import pyqtgraph as pg
from PySide6.QtGui import QImage

from ganstudio.core.toy_view import ToyFrame
from ganstudio.gui.widgets.toy_view import FIELD_COLOURS, ToyView, field_colours


def _pyqtgraph_colours(field: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """What an ImageItem with the colour map shows for the field (its QImage, as RGB)."""
    item = pg.ImageItem(axisOrder="row-major")
    item.setColorMap(FIELD_COLOURS)
    item.setImage(field, levels=levels, autoLevels=False)
    item.render()
    image = item.qimage.convertToFormat(QImage.Format.Format_RGB888)
    n = field.shape[0]
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(n, image.bytesPerLine())
    return rows[:, :3 * n].reshape(n, n, 3).copy()  # the QImage owns the pixels


@pytest.mark.parametrize("levels", [(0.0, 1.0), (-2.5, 4.0), (0.3, 0.3)])
def test_the_field_has_the_colours_of_the_colour_map(levels):
    rng = np.random.default_rng(0)
    field = rng.uniform(levels[0] - 1, levels[1] + 1, (48, 48))
    field[0, :5] = [levels[0], levels[1], (levels[0] + levels[1]) / 2, -1e9, 1e9]
    assert np.array_equal(field_colours(field, levels), _pyqtgraph_colours(field, levels))


def test_a_frame_sets_the_field_points_arrows_and_mesh(qtbot):
    view = ToyView()
    qtbot.addWidget(view)
    view.show()
    rng = np.random.default_rng(1)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 21), np.linspace(-1, 1, 21)), axis=-1).astype(np.float32)
    frame = ToyFrame(7, 2.0, rng.random((48, 48)).astype(np.float32), rng.normal(size=(256, 2)).astype(np.float32),
                     rng.normal(size=(256, 2)).astype(np.float32), True, grid)
    view.show_frame(frame)
    assert view._drawn is frame
    assert view.field.image.shape == (48, 48, 3) and np.array_equal(view.field.image, field_colours(frame.field,
                                                                                                     (0.0, 1.0)))
    assert len(view.fake.data) == 256
    xs, _ = view.arrows.getData()
    assert len(xs) == 6 * 256
    xs, _ = view.manifold.getData()
    assert len(xs) == 2 * 21 * 21
    assert "Step 7" in view.status.text()
