"""The direction sliders of the open model: one row per direction, and Reset all."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from ganstudio.core.latent.directions import Directions
from ganstudio.gui.explorer.direction_slider import DirectionSlider
from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.colours import secondary_css


class SliderPanel(QWidget):
    """Shows the model's directions as sliders and sends the user's moves back to it."""

    def __init__(self, model: ExplorerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.rows: list[DirectionSlider] = []
        self.reset_all_button = QPushButton("Reset all")
        self.reset_all_button.setToolTip("Put every slider back to 0")
        self.reset_all_button.clicked.connect(model.state.reset_all)
        self.hint = QLabel()
        self.hint.setStyleSheet(secondary_css())
        self.hint.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(self.hint, 1)
        header.addStretch(0)
        header.addWidget(self.reset_all_button, 0)
        self._rows_box = QWidget()
        self._rows_layout = QVBoxLayout(self._rows_box)
        self._rows_layout.setContentsMargins(0, 0, 4, 0)
        self._rows_layout.setSpacing(0)
        self._rows_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self._rows_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.scroll, 1)
        model.directions_changed.connect(self._rebuild)
        model.amounts_changed.connect(self._sync)
        self._rebuild(model.state.directions)

    def _rebuild(self, directions: Directions | None) -> None:
        for row in self.rows:
            self._rows_layout.removeWidget(row)
            row.hide()  # at once: deleteLater waits for the event loop
            row.deleteLater()
        self.rows = []
        num_ws = self.model.info.num_ws if self.model.info else 0
        if directions is not None:
            unit = "w" if directions.space == "w" else "z"
            for i, name in enumerate(directions.names):
                tip = (attribute_tip(directions, i) if directions.method == "attributes" else
                       f"Direction {i + 1} in {unit} space (score {directions.scores[i]:.3g}); "
                       "slider units are standard deviations of the latent along it")
                row = DirectionSlider(name, num_ws, tip)
                row.amount_changed.connect(lambda v, i=i: self.model.state.set_amount(i, v))
                row.reset_requested.connect(lambda i=i: self.model.state.reset_amount(i))
                row.renamed.connect(lambda text, i=i: self.model.state.rename(i, text))
                row.layers_changed.connect(lambda r, i=i: self.model.state.set_layers(i, r))
                self._rows_layout.insertWidget(i, row)
                self.rows.append(row)
        self.reset_all_button.setEnabled(bool(self.rows))
        self.hint.setText("" if self.rows else "No directions yet: choose a source above and press Compute.")
        self.hint.setVisible(not self.rows)
        self._sync()

    def _sync(self) -> None:
        directions = self.model.state.directions
        for i, row in enumerate(self.rows):
            row.set_amount(self.model.state.amounts[i])
            row.set_name(directions.names[i])
            row.set_layers(directions.layers[i] if directions.layers else None)


def attribute_tip(directions: Directions, index: int) -> str:
    """What a named attribute slider does, for its tooltip."""
    name = directions.names[index]
    kept = (directions.model.get("conditioned_on") or [[]] * len(directions))[index]
    tip = (f"{name}: towards + the CelebA attribute classifier sees more of it (the boundary follows the "
           f"classifier with r = {directions.scores[index]:.2f})")
    if kept:
        tip += f"; made to keep {', '.join(k.replace('_', ' ') for k in kept)} about the same"
    return tip + ". Slider units are standard deviations of w along the direction"
