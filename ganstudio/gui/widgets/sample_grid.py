"""The fixed-noise sample grid with a timeline to scrub back through earlier grids; a click enlarges a sample."""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from ganstudio.core.runs import GridEntry

PADDING = 2  # pixels between samples, as core.images.image_grid draws them
CACHE_SIZE = 24  # decoded grids kept in memory; older ones are read again from their PNG
CLICK_HINT = "Click a sample to enlarge it."
COLUMNS_HINT = "G turns pictures of A into B, F turns B into A; F(G(A)) is the way back, which should look like A."


def grid_cell(x: float, y: float, count: int, side: int, padding: int = PADDING) -> int | None:
    """The index of the sample at pixel (x, y) of a grid drawn by image_grid, or None between samples."""
    if count <= 0 or side <= 0 or x < 0 or y < 0:
        return None
    nrow = max(1, math.ceil(math.sqrt(count)))
    col, dx = divmod(int(x) - padding, side + padding)
    row, dy = divmod(int(y) - padding, side + padding)
    if int(x) < padding or int(y) < padding or dx >= side or dy >= side or col >= nrow:
        return None
    index = row * nrow + col
    return index if index < count else None


def grid_sample(image: np.ndarray, index: int, count: int, side: int, padding: int = PADDING,
                per_row: int | None = None) -> np.ndarray:
    """The pixels of one sample cut out of a grid image (`per_row` samples a row; square-ish by default)."""
    nrow = per_row or max(1, math.ceil(math.sqrt(count)))
    row, col = divmod(index, nrow)
    top, left = padding + row * (side + padding), padding + col * (side + padding)
    return image[top:top + side, left:left + side]


CAPTION_PX = 26  # the caption strip above a captioned grid
CAPTION_FONT_PX = 16
BLOCK_GAP = 8  # pixels between the A and B halves of a captioned grid


class ColumnLayout:
    """A grid made of rows of one kind each (a CycleGAN's real A, G(A), F(G(A)), real B, F(B), G(F(B))) shown
    turned: one column per kind, captioned on top, so that each row reads real -> translated -> back."""

    def __init__(self, captions: tuple[str, ...], count: int, side: int, padding: int = PADDING):
        self.captions, self.side, self.padding = captions, side, padding
        self.per_column = count // len(captions)  # images of each kind (the trainer's row length)
        self.scale = 2 if side < 64 else 1  # room for the captions above small images
        step = side + padding
        half = len(captions) // 2
        self.lefts = [padding + c * step + (BLOCK_GAP if c >= half else 0) for c in range(len(captions))]
        self.width = self.lefts[-1] + step
        self.height = padding + self.per_column * step

    def render(self, image: np.ndarray) -> np.ndarray:
        """The turned grid with the captions above its columns, as uint8 [H, W, 3]."""
        from PIL import ImageDraw, ImageFont

        rgb = image if image.ndim == 3 and image.shape[2] == 3 else np.repeat(image.reshape(*image.shape[:2], 1), 3, 2)
        out = np.full((self.height, self.width, 3), 255, np.uint8)
        for c in range(len(self.captions)):
            for r in range(self.per_column):
                tile = grid_sample(rgb, c * self.per_column + r, 0, self.side, self.padding, self.per_column)
                top = self.padding + r * (self.side + self.padding)
                out[top:top + self.side, self.lefts[c]:self.lefts[c] + self.side] = tile
        big = Image.fromarray(out).resize((self.width * self.scale, self.height * self.scale), Image.NEAREST)
        page = Image.new("RGB", (big.width, big.height + CAPTION_PX), "white")
        page.paste(big, (0, CAPTION_PX))
        draw = ImageDraw.Draw(page)
        try:
            font = ImageFont.load_default(size=CAPTION_FONT_PX)
        except (OSError, TypeError):  # Pillow without FreeType: the small bitmap font
            font = ImageFont.load_default()
        for caption, left in zip(self.captions, self.lefts):
            centre = (left + self.side / 2) * self.scale
            width = draw.textlength(caption, font=font)
            draw.text((centre - width / 2, 4), caption, fill=(40, 40, 40), font=font)
        return np.asarray(page)

    def cell(self, x: float, y: float) -> int | None:
        """The index (in the trainer's grid) of the sample at pixel (x, y) of the rendered picture, or None."""
        x, y = x / self.scale, (y - CAPTION_PX) / self.scale
        row, dy = divmod(int(y) - self.padding, self.side + self.padding)
        if y < self.padding or dy >= self.side or not 0 <= row < self.per_column:
            return None
        for c, left in enumerate(self.lefts):
            if left <= x < left + self.side:
                return c * self.per_column + row
        return None


class _ClickableImage(pg.ImageItem):
    clicked = Signal(float, float)

    def mouseClickEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.button() == Qt.MouseButton.LeftButton:
            pos = event.pos()
            self.clicked.emit(pos.x(), pos.y())
            event.accept()
        else:
            super().mouseClickEvent(event)


class SampleGridView(QWidget):
    """Shows one grid of the timeline; follows the newest grid unless the user scrubs back."""

    sample_clicked = Signal(int, object)  # index, the GridEntry it was clicked in

    def __init__(self, parent: QWidget | None = None, empty_text: str = "The first sample grid appears after "
                                                                         "the first epoch or sample interval."):
        super().__init__(parent)
        self.entries: list[GridEntry] = []
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.class_names: tuple[str, ...] = ()
        self.columns: tuple[str, ...] = ()  # captions of a grid shown turned (ColumnLayout); () as saved
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image_item = _ClickableImage(axisOrder="row-major")
        self.box.addItem(self.image_item)
        self.image_item.clicked.connect(self._on_click)
        self.placeholder = QLabel(empty_text)
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #777;")

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Scrub back through earlier grids")
        self.caption = QLabel("")  # on its own row: beside the slider a narrow window cut it off
        self.follow = QCheckBox("Follow newest")
        self.follow.setChecked(True)
        self.follow.setToolTip("Show each new grid as it arrives")
        bar = QHBoxLayout()
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.follow)
        hint = QLabel(CLICK_HINT)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #777;")
        hint.hide()
        self.hint = hint
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.view, 1)
        layout.addLayout(bar)
        layout.addWidget(self.caption)
        layout.addWidget(hint)
        self.view.hide()
        self.slider.valueChanged.connect(self._show)
        self.follow.toggled.connect(self._on_follow)

    # -- public ---------------------------------------------------------------------------------------

    def set_entries(self, entries: list[GridEntry]) -> None:
        """Replace the timeline (a reopened run) and show its newest grid."""
        self.entries = list(entries)
        self._cache.clear()
        self._update_slider(follow=True)

    def add_entry(self, entry: GridEntry) -> None:
        """Append a grid (replacing one with the same PNG path, as a resumed run rewrites it)."""
        if entry.path is not None:
            for i, old in enumerate(self.entries):
                if old.path == entry.path:
                    del self.entries[i]
                    self._cache.clear()
                    break
        self.entries.append(entry)
        self._update_slider(follow=self.follow.isChecked())

    def drop_after(self, step: int) -> None:
        """Forget grids made after a step (a resumed run goes back to its checkpoint)."""
        kept = [e for e in self.entries if e.step is None or e.step <= step]
        if len(kept) != len(self.entries):
            self.entries = kept
            self._cache.clear()
            self._update_slider(follow=True)

    def set_columns(self, captions: tuple[str, ...]) -> None:
        """Show grids turned, one captioned column per row kind of the saved grid (a CycleGAN's); () as saved."""
        self.columns = tuple(captions)
        self.hint.setText((COLUMNS_HINT + " " if self.columns else "") + CLICK_HINT)
        self._show()

    def layout_of(self, entry: GridEntry) -> ColumnLayout | None:
        """How an entry is shown turned, or None when it is shown as saved."""
        if not self.columns or entry.count < len(self.columns) or entry.side <= 0:
            return None
        return ColumnLayout(self.columns, entry.count, entry.side)

    @property
    def current(self) -> GridEntry | None:
        return self.entries[self.slider.value()] if self.entries else None

    def current_image(self) -> np.ndarray | None:
        return self._image(self.slider.value()) if self.entries else None

    # -- internals ------------------------------------------------------------------------------------

    def _update_slider(self, follow: bool) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.entries) - 1))
        if follow:
            self.slider.setValue(len(self.entries) - 1)
        self.slider.blockSignals(False)
        self.slider.setEnabled(len(self.entries) > 1)
        self._show()

    def _image(self, index: int) -> np.ndarray | None:
        entry = self.entries[index]
        if entry.image is not None:
            return entry.image
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        try:
            with Image.open(entry.path) as im:
                image = np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB") else im)
        except (OSError, ValueError):
            return None
        self._cache[index] = image
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return image

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self._show()  # grids that arrived while hidden were not decoded

    def _show(self) -> None:
        if not self.isVisible():
            return
        if not self.entries:
            self.placeholder.show()
            self.view.hide()
            self.caption.setText("")
            self.hint.hide()
            return
        index = self.slider.value()
        image = self._image(index)
        entry = self.entries[index]
        self.caption.setText(f"{entry.label()}  ({index + 1} of {len(self.entries)})")
        self.hint.setVisible(entry.count > 0 and entry.side > 0)
        if image is None:
            self.placeholder.setText(f"The grid {entry.path} could not be read.")
            self.placeholder.show()
            self.view.hide()
            return
        self.placeholder.hide()
        self.view.show()
        layout = self.layout_of(entry)
        if layout is not None:
            image = layout.render(image)
        first = self.image_item.image is None or self.image_item.image.shape[:2] != image.shape[:2]
        self.image_item.setImage(image, autoLevels=False, levels=(0, 255))
        if first:
            self.box.autoRange(padding=0.01)
        self.follow.blockSignals(True)  # scrubbing back stops following; returning to the end resumes it
        self.follow.setChecked(index == len(self.entries) - 1)
        self.follow.blockSignals(False)

    def _on_follow(self, checked: bool) -> None:
        if checked and self.entries:
            self.slider.setValue(len(self.entries) - 1)

    def _on_click(self, x: float, y: float) -> None:
        entry = self.current
        if entry is None:
            return
        layout = self.layout_of(entry)
        index = layout.cell(x, y) if layout is not None else grid_cell(x, y, entry.count, entry.side)
        if index is not None:
            self.sample_clicked.emit(index, entry)

    def sample_pixels(self, index: int, entry: GridEntry | None = None) -> np.ndarray | None:
        """One sample of a grid on the timeline (the current one by default)."""
        entry = entry or self.current
        if entry is None or not entry.count:
            return None
        image = entry.image if entry.image is not None else self._image(self.entries.index(entry))
        if image is None:
            return None
        layout = self.layout_of(entry)
        return grid_sample(image, index, entry.count, entry.side, per_row=layout.per_column if layout else None)
