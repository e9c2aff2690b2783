"""A seed: a number field and a Random button; the image follows at once."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from ganstudio.core.latent.sampling import MAX_SEED


class SeedField(QWidget):
    """Emits seed_changed(seed) when the user types, steps or asks for a random seed."""

    seed_changed = Signal(int)
    random_requested = Signal()

    def __init__(self, label: str = "Seed", parent: QWidget | None = None):
        super().__init__(parent)
        self.spin = QSpinBox()
        self.spin.setRange(0, MAX_SEED)
        self.spin.setKeyboardTracking(False)  # typing 123 renders once, not for 1, 12 and 123
        self.spin.setToolTip("The random seed of the latent code: the same seed always gives the same image")
        self.spin.setMinimumWidth(110)
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Pick a random seed")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if label:
            layout.addWidget(QLabel(label))
        layout.addWidget(self.spin, 1)
        layout.addWidget(self.random_button)
        self.spin.valueChanged.connect(self.seed_changed)
        self.random_button.clicked.connect(self.random_requested)

    def seed(self) -> int:
        return self.spin.value()

    def set_seed(self, seed: int) -> None:
        """Show a seed without emitting seed_changed."""
        self.spin.blockSignals(True)
        self.spin.setValue(int(seed))
        self.spin.blockSignals(False)
