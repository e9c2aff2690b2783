"""A style-mixing source: the current edited image, or a seed."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QSpinBox, QWidget

from ganstudio.core.latent.sampling import MAX_SEED


class MixSource(QWidget):
    """Emits changed(seed) with -1 meaning the current edited image."""

    changed = Signal(int)

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.current = QRadioButton("Current image")
        self.current.setToolTip("The image in the main view, with its slider edits")
        self.from_seed = QRadioButton("Seed")
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setKeyboardTracking(False)
        group = QButtonGroup(self)
        group.addButton(self.current)
        group.addButton(self.from_seed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(f"<b>{title}</b>")
        self.title.setMinimumWidth(24)
        layout.addWidget(self.title)
        layout.addWidget(self.current)
        layout.addWidget(self.from_seed)
        layout.addWidget(self.seed, 1)
        self.current.toggled.connect(self._edited)
        self.seed.valueChanged.connect(self._edited)

    def value(self) -> int | None:
        return None if self.current.isChecked() else self.seed.value()

    def set_value(self, seed: int | None) -> None:
        for w in (self.current, self.from_seed, self.seed):
            w.blockSignals(True)
        self.current.setChecked(seed is None)
        self.from_seed.setChecked(seed is not None)
        if seed is not None:
            self.seed.setValue(seed)
        self.seed.setEnabled(seed is not None)
        for w in (self.current, self.from_seed, self.seed):
            w.blockSignals(False)

    def _edited(self, *_) -> None:
        self.seed.setEnabled(self.from_seed.isChecked())
        value = self.value()
        self.changed.emit(-1 if value is None else value)
