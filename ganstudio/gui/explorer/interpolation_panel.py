"""Interpolation between the current seed (A) and a second seed (B): slerp in z, lerp in w for a StyleGAN.
The main view shows the point t; the frame strip shows the whole path."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QSpinBox, QWidget

from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.explorer.seed_field import SeedField
from ganstudio.gui.colours import secondary_css

STEPS = 100


class InterpolationPanel(QWidget):
    """Seed B, the number of frames and the position t."""

    def __init__(self, model: ExplorerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.enabled_check = QCheckBox("Interpolate towards a second seed")
        self.seed_a_label = QLabel()
        self.seed_b = SeedField(label="")
        self.seed_b.set_seed(1)
        self.frames = QSpinBox()
        self.frames.setRange(2, 64)
        self.frames.setValue(model.state.frames)
        self.frames.setToolTip("Frames in the strip (and in an exported animation)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.t_label = QLabel("0.00")
        self.t_label.setMinimumWidth(36)
        t_row = QHBoxLayout()
        t_row.addWidget(self.slider, 1)
        t_row.addWidget(self.t_label)
        self.path_label = QLabel()
        self.path_label.setWordWrap(True)
        self.path_label.setStyleSheet(secondary_css())
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.enabled_check)
        form.addRow("Seed A", self.seed_a_label)
        form.addRow("Seed B", self.seed_b)
        form.addRow("Frames", self.frames)
        form.addRow("Position t", t_row)
        form.addRow(self.path_label)
        self.enabled_check.toggled.connect(self._edited)
        self.seed_b.seed_changed.connect(self._edited)
        self.seed_b.random_requested.connect(self._random_b)
        self.frames.valueChanged.connect(self._edited)
        self.slider.valueChanged.connect(self._edited)
        model.state_changed.connect(self._sync)
        model.opened.connect(lambda info: self._sync())
        self._sync()

    def _random_b(self) -> None:
        self.seed_b.set_seed(self.model.state.any_seed())
        self._edited()

    def _edited(self, *_) -> None:
        on = self.enabled_check.isChecked()
        self.model.state.set_interpolation(self.seed_b.seed() if on else None, t=self.slider.value() / STEPS,
                                     frames=self.frames.value())

    def _sync(self) -> None:
        m = self.model
        on = m.state.seed_b is not None
        for w in (self.enabled_check, self.slider, self.frames):
            w.blockSignals(True)
        self.enabled_check.setChecked(on)
        if on:
            self.seed_b.set_seed(m.state.seed_b)
        self.slider.setValue(round(m.state.seed_t * STEPS))
        self.frames.setValue(m.state.frames)
        for w in (self.enabled_check, self.slider, self.frames):
            w.blockSignals(False)
        for w in (self.seed_b, self.frames, self.slider, self.t_label):
            w.setEnabled(on)
        self.t_label.setText(f"{m.state.seed_t:.2f}")
        self.seed_a_label.setText(f"{m.state.seed}  (the seed above)")
        space = "lerp in w (the StyleGAN's style space)" if m.info and m.info.style_based else \
            "slerp in z (along the sphere where Gaussian latents live)"
        kept = "Sliders and class apply" if m.info and m.info.conditional else "The sliders apply"
        self.path_label.setText(f"Path: {space}. {kept} to every frame.")
