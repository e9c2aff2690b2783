"""The class of a conditional model, by its dataset name, and an interpolation towards a second class."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QLabel, QSlider, QWidget

STEPS = 100


class ClassPicker(QWidget):
    """Emits class_changed(index) and blend_changed(class_b or -1, t)."""

    class_changed = Signal(int)
    blend_changed = Signal(int, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setToolTip("The class the generator draws")
        self.blend_check = QCheckBox("Blend towards")
        self.blend_check.setToolTip("Interpolate the class embedding between two classes")
        self.combo_b = QComboBox()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, STEPS)
        self.t_label = QLabel("0.00")
        self.t_label.setMinimumWidth(36)
        self.t_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Class"), 0, 0)
        grid.addWidget(self.combo, 0, 1, 1, 2)
        grid.addWidget(self.blend_check, 1, 0)
        grid.addWidget(self.combo_b, 1, 1, 1, 2)
        self.t_title = QLabel("Position")
        self.t_title.setContentsMargins(22, 0, 0, 0)
        grid.addWidget(self.t_title, 2, 0)
        grid.addWidget(self.slider, 2, 1)
        grid.addWidget(self.t_label, 2, 2)
        grid.setColumnStretch(1, 1)
        self.combo.currentIndexChanged.connect(self.class_changed)
        self.blend_check.toggled.connect(self._blend_edited)
        self.combo_b.currentIndexChanged.connect(self._blend_edited)
        self.slider.valueChanged.connect(self._blend_edited)
        self._enable_blend()

    def set_classes(self, names: tuple[str, ...]) -> None:
        """Fill both lists with the dataset's class names (no signals)."""
        for combo in (self.combo, self.combo_b):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([f"{name}" for name in names])
            combo.blockSignals(False)
        self.combo_b.blockSignals(True)
        self.combo_b.setCurrentIndex(min(1, len(names) - 1))
        self.combo_b.blockSignals(False)

    def set_state(self, index: int | None, class_b: int | None, t: float) -> None:
        for w in (self.combo, self.blend_check, self.combo_b, self.slider):
            w.blockSignals(True)
        if index is not None:
            self.combo.setCurrentIndex(index)
        self.blend_check.setChecked(class_b is not None)
        if class_b is not None:
            self.combo_b.setCurrentIndex(class_b)
        self.slider.setValue(round(t * STEPS))
        for w in (self.combo, self.blend_check, self.combo_b, self.slider):
            w.blockSignals(False)
        self.t_label.setText(f"{t:.2f}")
        self._enable_blend()

    def _enable_blend(self) -> None:
        on = self.blend_check.isChecked()
        self.combo_b.setEnabled(on)
        self.slider.setEnabled(on)
        self.t_label.setEnabled(on)
        self.t_title.setEnabled(on)

    def _blend_edited(self, *_):
        self._enable_blend()
        t = self.slider.value() / STEPS
        self.t_label.setText(f"{t:.2f}")
        self.blend_changed.emit(self.combo_b.currentIndex() if self.blend_check.isChecked() else -1, t)
