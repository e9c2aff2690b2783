"""StyleGAN3's input transform on sliders, as NVIDIA's visualizer has them: move the image content left/right and
up/down (in image widths) and turn it (in degrees). Shown only for generators whose input can be transformed."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QSlider, QToolButton, QWidget

MOVE_STEPS = 200  # slider positions per image width
MOVE_RANGE = 1.0  # +-1 image width
TURN_RANGE = 180  # +-180 degrees, one position a degree


class InputTransformPanel(QGroupBox):
    """Emits transform_changed(x, y, degrees) while a slider moves; set_transform() updates without emitting."""

    transform_changed = Signal(float, float, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Move and turn (StyleGAN3)", parent)
        self.setToolTip("StyleGAN3 draws its image from Fourier features of a continuous plane: these sliders move "
                        "and turn that plane, so the content moves without redrawing the model's styles")
        self.x_slider = self._slider(MOVE_RANGE * MOVE_STEPS, "Move the content right (+) or left (−), in image widths")
        self.y_slider = self._slider(MOVE_RANGE * MOVE_STEPS, "Move the content down (+) or up (−), in image widths")
        self.turn_slider = self._slider(TURN_RANGE, "Turn the content, in degrees (+: clockwise on screen)")
        self.labels = [QLabel() for _ in range(3)]
        self.reset_button = QToolButton()
        self.reset_button.setText("↺")
        self.reset_button.setToolTip("Put the image back where the model draws it")
        self.reset_button.clicked.connect(lambda: self._emit_after(lambda: self.set_transform((0.0, 0.0, 0.0))))
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 4, 8, 4)
        grid.setVerticalSpacing(2)
        for row, (name, slider) in enumerate((("x", self.x_slider), ("y", self.y_slider),
                                              ("Rotate", self.turn_slider))):
            grid.addWidget(QLabel(name), row, 0)
            grid.addWidget(slider, row, 1)
            self.labels[row].setMinimumWidth(44)
            self.labels[row].setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(self.labels[row], row, 2)
        grid.addWidget(self.reset_button, 0, 3)
        grid.setColumnStretch(1, 1)
        for slider in (self.x_slider, self.y_slider, self.turn_slider):
            slider.valueChanged.connect(self._moved)
        self._show()

    @staticmethod
    def _slider(half_range: float, tip: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(-int(half_range), int(half_range))
        slider.setToolTip(tip)
        return slider

    def transform(self) -> tuple[float, float, float]:
        """(x, y, degrees) as the sliders show them."""
        return (self.x_slider.value() / MOVE_STEPS, self.y_slider.value() / MOVE_STEPS,
                float(self.turn_slider.value()))

    def set_transform(self, transform: tuple[float, float, float]) -> None:
        """Show a transform without emitting."""
        x, y, degrees = transform
        for slider, value in ((self.x_slider, x * MOVE_STEPS), (self.y_slider, y * MOVE_STEPS),
                              (self.turn_slider, degrees)):
            slider.blockSignals(True)
            slider.setValue(round(value))
            slider.blockSignals(False)
        self._show()

    def _emit_after(self, change) -> None:
        change()
        self.transform_changed.emit(*self.transform())

    def _moved(self, _value: int) -> None:
        self._show()
        self.transform_changed.emit(*self.transform())

    def _show(self) -> None:
        x, y, degrees = self.transform()
        for label, text in zip(self.labels, (f"{x:+.3f}", f"{y:+.3f}", f"{degrees:+.0f}°")):
            label.setText(text)
