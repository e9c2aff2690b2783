"""Tells when any slider of a widget tree is held down with the mouse (and when it is let go), so that the
explorer can draw cheap previews while a slider is dragged and the full image on release."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSlider, QWidget


class SliderHold(QObject):
    """held(True) when a watched slider is pressed, held(False) when it is released."""

    held = Signal(bool)

    MARK = "ganstudio_slider_hold"  # a property on each slider already followed

    def watch(self, root: QWidget) -> None:
        """Follow every slider under `root` not followed yet (call again when sliders were added)."""
        for slider in root.findChildren(QSlider):
            if slider.property(self.MARK):
                continue
            slider.setProperty(self.MARK, True)
            slider.sliderPressed.connect(lambda: self.held.emit(True))
            slider.sliderReleased.connect(lambda: self.held.emit(False))
