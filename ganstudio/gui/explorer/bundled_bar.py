"""One button per model shipped with the app ("Faces", "Digits"): a pretrained model is one click away."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from ganstudio.core.bundled import BundledModel


class BundledModelBar(QWidget):
    """A checkable button per bundled model; `chosen` carries the model whose button was pressed."""

    chosen = Signal(object)  # BundledModel

    def __init__(self, models: list[BundledModel], parent: QWidget | None = None):
        super().__init__(parent)
        self.buttons: dict[str, QToolButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        if models:
            layout.addWidget(QLabel("Pretrained:"))
        for model in models:
            button = QToolButton()
            button.setText(model.title)
            button.setCheckable(True)
            button.setAutoRaise(False)
            button.setToolTip(f"{model.description}\nShipped with GAN Studio; `ganstudio train --preset "
                              f"{model.preset}` trains it again" if model.preset else model.description)
            button.clicked.connect(lambda checked=False, m=model: self._pressed(m))
            layout.addWidget(button)
            self.buttons[model.key] = button
        self.setVisible(bool(models))

    def _pressed(self, model: BundledModel) -> None:
        self.show_current(model.key)
        self.chosen.emit(model)

    def show_current(self, key: str | None) -> None:
        """Check the button of the open bundled model (none when another model is open)."""
        for k, button in self.buttons.items():
            button.setChecked(k == key)
