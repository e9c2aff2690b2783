"""Truncation psi: 1 samples the full distribution; smaller values trade variety for typical, cleaner images
(towards the average w for a StyleGAN, a truncated normal for the other models)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

STEPS = 100  # slider positions per unit of psi


class TruncationSlider(QWidget):
    """Emits psi_changed(psi) while dragged."""

    psi_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.slider.setValue(STEPS)
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(36)
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("Truncation ψ")
        layout.addWidget(self.title)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value_label)
        self.slider.valueChanged.connect(self._moved)
        self.set_style_based(False)
        self._show(1.0)

    def set_style_based(self, style_based: bool) -> None:
        """StyleGAN truncation may also extrapolate away from the average (psi up to 1.5)."""
        self.slider.setMaximum(int(1.5 * STEPS) if style_based else STEPS)
        self.setToolTip("Truncation: 1 = full variety; lower = more typical images, pulled towards the average "
                        "style w" if style_based else
                        "Truncation: 1 = full variety; lower = latents drawn from a normal distribution cut at "
                        "2ψ standard deviations (more typical, less varied images)")

    def psi(self) -> float:
        return self.slider.value() / STEPS

    def set_psi(self, psi: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(psi * STEPS))
        self.slider.blockSignals(False)
        self._show(self.psi())

    def _moved(self, value: int) -> None:
        self._show(value / STEPS)
        self.psi_changed.emit(value / STEPS)

    def _show(self, psi: float) -> None:
        self.value_label.setText(f"{psi:.2f}")
