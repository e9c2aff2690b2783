"""Style mixing controls (StyleGAN): sources A and B, which style rows come from B (with coarse / middle / fine
presets), and the seeds of the mixing grid."""
from __future__ import annotations

import re

from PySide6.QtWidgets import (QCheckBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from ganstudio.core.errors import as_sentence
from ganstudio.core.explorer import ModelInfo
from ganstudio.core.render import layer_groups
from ganstudio.gui.explorer.mix_source import MixSource
from ganstudio.gui.explorer.model import ExplorerModel

GROUP_COLOURS = {"coarse": "#1f77b4", "middle": "#2ca02c", "fine": "#d62728"}
MAX_GRID = 8


def parse_seeds(text: str, limit: int = MAX_GRID) -> tuple[int, ...]:
    """'1, 2, 5-7' -> (1, 2, 5, 6, 7); raises ValueError with a sentence for anything else."""
    seeds: list[int] = []
    for part in filter(None, re.split(r"[,\s]+", text.strip())):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"'{part}' is not a seed; write seeds like 1, 2, 5-7")
        a, b = int(match[1]), int(match[2] or match[1])
        seeds.extend(range(a, b + 1) if b >= a else range(a, b - 1, -1))
    if not seeds:
        raise ValueError("write at least one seed")
    if len(seeds) > limit:
        raise ValueError(f"at most {limit} seeds here, not {len(seeds)}")
    return tuple(seeds)


class MixingPanel(QWidget):
    """Edits the model's MixSettings."""

    def __init__(self, model: ExplorerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.source_a, self.source_b = MixSource("A"), MixSource("B")
        self.checks: list[QCheckBox] = []
        self.rows_box = QGroupBox("Styles taken from B")
        self._rows_grid = QGridLayout(self.rows_box)
        self.preset_buttons: dict[str, QPushButton] = {}
        presets = QHBoxLayout()
        for name in ("coarse", "middle", "fine", "all", "none"):
            button = QPushButton(name.capitalize())
            button.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            if name in GROUP_COLOURS:  # the same colours as the row check boxes
                button.setStyleSheet(f"QPushButton {{ color: {GROUP_COLOURS[name]}; font-weight: 600; }}")
            presets.addWidget(button)
            self.preset_buttons[name] = button
        self.preset_buttons["coarse"].setToolTip("B's pose, face shape and overall layout")
        self.preset_buttons["middle"].setToolTip("B's facial features, hair style, eyes open or closed")
        self.preset_buttons["fine"].setToolTip("B's colour scheme and fine texture")
        self.grid_a, self.grid_b = QLineEdit(), QLineEdit()
        for edit, tip in ((self.grid_a, "rows"), (self.grid_b, "columns")):
            edit.setToolTip(f"Seeds of the grid's {tip}, like 1, 2, 5-7 (at most {MAX_GRID})")
            edit.editingFinished.connect(self._grid_edited)
        self.grid_error = QLabel()
        self.grid_error.setStyleSheet("color: #b00020;")
        self.grid_error.setWordWrap(True)
        self.grid_error.hide()
        sources = QGroupBox("Sources")
        s_layout = QVBoxLayout(sources)
        s_layout.addWidget(self.source_a)
        s_layout.addWidget(self.source_b)
        grid_box = QGroupBox("Mixing grid (A seeds as rows, B seeds as columns)")
        g_form = QFormLayout(grid_box)
        g_form.addRow("A seeds", self.grid_a)
        g_form.addRow("B seeds", self.grid_b)
        g_form.addRow(self.grid_error)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(sources)
        layout.addWidget(self.rows_box)
        layout.addLayout(presets)
        layout.addWidget(grid_box)
        layout.addStretch(1)
        self.source_a.changed.connect(lambda v: self.model.state.set_mix(seed_a=None if v < 0 else v))
        self.source_b.changed.connect(lambda v: self.model.state.set_mix(seed_b=None if v < 0 else v))
        model.opened.connect(self._build)
        model.state_changed.connect(self._sync)
        if model.info is not None:
            self._build(model.info)

    def _build(self, info: ModelInfo) -> None:
        for check in self.checks:
            self._rows_grid.removeWidget(check)
            check.hide()
            check.deleteLater()
        self.checks = []
        if not info.style_based:
            return
        groups = layer_groups(info.num_ws)
        per_line = 5 if info.num_ws <= 10 else 6
        for row in range(info.num_ws):
            group = next(g for g, (a, b) in groups.items() if a <= row < b)
            check = QCheckBox(str(row))
            check.setToolTip(f"Style row {row} ({group}): take it from B")
            check.setStyleSheet(f"QCheckBox {{ color: {GROUP_COLOURS[group]}; font-weight: 600; }}")
            check.toggled.connect(self._rows_edited)
            self._rows_grid.addWidget(check, row // per_line, row % per_line)
            self.checks.append(check)
        self._sync()

    def rows(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.checks) if c.isChecked())

    def apply_preset(self, name: str) -> None:
        n = len(self.checks)
        if name == "all":
            rows = range(n)
        elif name == "none":
            rows = range(0)
        else:
            rows = range(*layer_groups(n)[name])
        self.model.state.set_mix(rows=tuple(rows))

    def _rows_edited(self, *_) -> None:
        self.model.state.set_mix(rows=self.rows())

    def _grid_edited(self) -> None:
        try:
            a, b = parse_seeds(self.grid_a.text()), parse_seeds(self.grid_b.text())
        except ValueError as exc:
            self.grid_error.setText(as_sentence(str(exc)))
            self.grid_error.show()
            return
        self.grid_error.hide()
        if (a, b) != (self.model.state.mix.grid_a, self.model.state.mix.grid_b):
            self.model.state.set_mix(grid_a=a, grid_b=b)

    def _sync(self) -> None:
        mix = self.model.state.mix
        self.source_a.set_value(mix.seed_a)
        self.source_b.set_value(mix.seed_b)
        for i, check in enumerate(self.checks):
            check.blockSignals(True)
            check.setChecked(i in mix.rows)
            check.blockSignals(False)
        if not self.grid_a.hasFocus():
            self.grid_a.setText(", ".join(map(str, mix.grid_a)))
        if not self.grid_b.hasFocus():
            self.grid_b.setText(", ".join(map(str, mix.grid_b)))
