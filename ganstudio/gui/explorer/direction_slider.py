"""One latent direction on a slider: its (editable) name, the amount in standard deviations, a reset button and,
for a StyleGAN, the style rows the edit applies to (coarse / middle / fine presets or a custom range)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QSlider, QSpinBox, QToolButton, QWidget)

from ganstudio.core.render import layer_groups

STEPS = 100  # slider positions per standard deviation
SLIDER_RANGE = 4.0  # the slider spans +-4 standard deviations; the number field allows more
FIELD_RANGE = 20.0


class DirectionSlider(QFrame):
    """Signals carry plain values; set_* methods update the row without emitting."""

    amount_changed = Signal(float)
    reset_requested = Signal()
    renamed = Signal(str)
    layers_changed = Signal(object)  # (start, end) or None for every row

    def __init__(self, name: str, num_ws: int = 0, tooltip: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.num_ws = num_ws
        self._custom_mode = False  # "Custom…" chosen: keep showing the row range even when it equals a preset
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.name_edit = QLineEdit(name)
        self.name_edit.setFrame(False)
        self.name_edit.setToolTip("Click to rename this direction")
        self.name_edit.setStyleSheet("QLineEdit { font-weight: 600; background: transparent; }"
                                     "QLineEdit:focus { background: palette(base); }")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(-SLIDER_RANGE * STEPS), int(SLIDER_RANGE * STEPS))
        self.slider.setPageStep(STEPS // 2)
        self.slider.setToolTip(tooltip or "Move along this direction, in standard deviations")
        self.field = QDoubleSpinBox()
        self.field.setRange(-FIELD_RANGE, FIELD_RANGE)
        self.field.setDecimals(2)
        self.field.setSingleStep(0.1)
        self.field.setSuffix(" σ")
        self.field.setKeyboardTracking(False)
        self.field.setFixedWidth(84)
        self.reset_button = QToolButton()
        self.reset_button.setText("↺")
        self.reset_button.setToolTip("Reset this slider to 0")
        self.layers_combo = QComboBox(self)  # parented: for a z-space model they are never laid out
        self.start_spin, self.end_spin = QSpinBox(self), QSpinBox(self)
        for spin, tip in ((self.start_spin, "first style row"), (self.end_spin, "last style row")):
            spin.setToolTip(tip)
            spin.setRange(0, max(0, num_ws - 1))
            spin.setKeyboardTracking(False)
        grid = QGridLayout(self)
        grid.setContentsMargins(2, 4, 2, 4)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.name_edit, 0, 0)
        top = QHBoxLayout()
        top.setSpacing(4)
        if num_ws:
            top.addWidget(self.layers_combo)
            self.range_label = QLabel("rows")
            top.addWidget(self.range_label)
            top.addWidget(self.start_spin)
            self.dash = QLabel("–")
            top.addWidget(self.dash)
            top.addWidget(self.end_spin)
            self._fill_layer_presets()
        else:
            self.layers_combo.hide()
        top.addWidget(self.reset_button)
        grid.addLayout(top, 0, 1, Qt.AlignmentFlag.AlignRight)
        bottom = QHBoxLayout()
        bottom.addWidget(self.slider, 1)
        bottom.addWidget(self.field)
        grid.addLayout(bottom, 1, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        self.slider.valueChanged.connect(self._slider_moved)
        self.field.valueChanged.connect(self._field_edited)
        self.reset_button.clicked.connect(self.reset_requested)
        self.name_edit.editingFinished.connect(lambda: self.renamed.emit(self.name_edit.text()))
        self.layers_combo.currentIndexChanged.connect(self._preset_chosen)
        self.start_spin.valueChanged.connect(self._custom_edited)
        self.end_spin.valueChanged.connect(self._custom_edited)
        self._show_custom(False)

    # -- amount -------------------------------------------------------------------------------------

    def amount(self) -> float:
        return self.field.value()

    def set_amount(self, amount: float) -> None:
        for w in (self.slider, self.field):
            w.blockSignals(True)
        self.field.setValue(amount)
        self.slider.setValue(round(max(-SLIDER_RANGE, min(SLIDER_RANGE, amount)) * STEPS))
        for w in (self.slider, self.field):
            w.blockSignals(False)

    def _slider_moved(self, value: int) -> None:
        self.field.blockSignals(True)
        self.field.setValue(value / STEPS)
        self.field.blockSignals(False)
        self.amount_changed.emit(value / STEPS)

    def _field_edited(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(max(-SLIDER_RANGE, min(SLIDER_RANGE, value)) * STEPS))
        self.slider.blockSignals(False)
        self.amount_changed.emit(value)

    def set_name(self, name: str) -> None:
        if not self.name_edit.hasFocus():
            self.name_edit.setText(name)

    # -- style rows (StyleGAN) ----------------------------------------------------------------------

    def _fill_layer_presets(self) -> None:
        self._presets = {"all": None, **layer_groups(self.num_ws)}
        self.layers_combo.addItem("All layers", "all")
        for name, (a, b) in layer_groups(self.num_ws).items():
            self.layers_combo.addItem(f"{name.capitalize()} ({a}–{b - 1})", name)
        self.layers_combo.addItem("Custom…", "custom")
        self.layers_combo.setToolTip("Which style rows this edit changes: coarse = pose and shape, middle = "
                                     "features, fine = colour and texture")

    def set_layers(self, layers: tuple[int, int] | None) -> None:
        """Show a row range (no signals); a range that is not a preset shows as custom."""
        if not self.num_ws:
            return
        layers = tuple(layers) if layers else None
        name = next((n for n, r in self._presets.items() if r == layers), None)
        index = self.layers_combo.findData(name) if name else -1
        custom = index < 0 or self._custom_mode
        for w in (self.layers_combo, self.start_spin, self.end_spin):
            w.blockSignals(True)
        self.layers_combo.setCurrentIndex(self.layers_combo.count() - 1 if custom else index)
        start, end = layers or (0, self.num_ws)
        self.start_spin.setValue(start)
        self.end_spin.setValue(end - 1)
        for w in (self.layers_combo, self.start_spin, self.end_spin):
            w.blockSignals(False)
        self._show_custom(custom)

    def _show_custom(self, on: bool) -> None:
        for w in (self.start_spin, self.end_spin):
            w.setVisible(on and bool(self.num_ws))
        for name in ("range_label", "dash"):
            if hasattr(self, name):
                getattr(self, name).setVisible(on)

    def _preset_chosen(self, index: int) -> None:
        data = self.layers_combo.itemData(index)
        self._custom_mode = data == "custom"
        if self._custom_mode:  # the range stays as it is until the row spin boxes change it
            self._show_custom(True)
            return
        self._show_custom(False)
        self.layers_changed.emit(self._presets[data])

    def _custom_edited(self, *_) -> None:
        start, last = self.start_spin.value(), self.end_spin.value()
        if last < start:
            self.end_spin.blockSignals(True)
            self.end_spin.setValue(start)
            self.end_spin.blockSignals(False)
            last = start
        self.layers_changed.emit((start, last + 1))
