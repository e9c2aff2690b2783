"""Where the sliders come from: the latent axes, PCA (GANSpace) or SeFa, how many, and named direction sets
saved to and loaded from JSON files."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QSpinBox, QWidget)

from ganstudio.core.latent.directions import Directions
from ganstudio.core.errors import GanStudioError
from ganstudio.gui.explorer.model import METHOD_LABELS, ExplorerModel
from ganstudio.gui.colours import secondary_css

METHOD_TIPS = {
    "axes": "The first coordinates of the latent itself: simple, rarely meaningful one by one",
    "pca": "GANSpace: principal components of many sampled latents (w for StyleGAN; for other models an early "
           "feature layer, mapped back to z). Takes a few seconds",
    "sefa": "SeFa: closed-form factorization of the generator's first layer (StyleGAN: its style layers); "
            "the directions the generator responds to most, computed at once",
    "attributes": "Named sliders for face models (Smiling, Male, Eyeglasses, Blond hair, Young, Bangs): "
                  "thousands of generated faces are scored by the shipped CelebA attribute classifier and a "
                  "linear boundary is fitted per attribute. About a minute on a CPU",
}
ATTRIBUTES_OFF_TIP = "Face attributes need an unconditional colour face model"


class DirectionSource(QWidget):
    """Compute directions, save and load direction sets; `error` carries a sentence for the user."""

    error = Signal(str)

    def __init__(self, model: ExplorerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.method = QComboBox()
        for key, label in METHOD_LABELS.items():
            self.method.addItem(label, key)
            self.method.setItemData(self.method.count() - 1, METHOD_TIPS[key], Qt.ItemDataRole.ToolTipRole)
        self.method.setCurrentIndex(self.method.findData("sefa"))
        self.count = QSpinBox()
        self.count.setRange(1, 64)
        self.count.setValue(10)
        self.count.setToolTip("Number of sliders")
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip("Find this many directions with the chosen method")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.busy.hide()
        self.save_button = QPushButton("Save set…")
        self.save_button.setToolTip("Save these directions, their names and layer ranges to a JSON file")
        self.load_button = QPushButton("Load set…")
        self.load_button.setToolTip("Load a direction set saved for this model")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet(secondary_css())
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Directions"), 0, 0)
        grid.addWidget(self.method, 0, 1)
        grid.addWidget(self.count, 0, 2)
        grid.addWidget(self.compute_button, 0, 3)
        grid.addWidget(self.busy, 1, 0, 1, 4)
        files = QHBoxLayout()
        files.addWidget(self.summary, 1)
        files.addWidget(self.save_button)
        files.addWidget(self.load_button)
        grid.addLayout(files, 2, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        self.compute_button.clicked.connect(self.compute)
        self.save_button.clicked.connect(self._choose_save)
        self.load_button.clicked.connect(self._choose_load)
        self.method.currentIndexChanged.connect(self._method_picked)
        model.directions_busy.connect(self._busy)
        model.directions_changed.connect(self._describe)
        model.amounts_changed.connect(lambda: self._describe(model.state.directions))
        self._describe(model.state.directions)
        self._busy(model.computing_directions, "")

    def compute(self) -> None:
        self.model.compute_directions(self.method.currentData(), self.count.value())

    def _method_picked(self) -> None:
        """The user chose a source: its set comes back at once when it was made before for this model."""
        method = self.method.currentData()
        self._method_chosen()
        if self.model.computing_directions:
            return
        if self.model.use_kept(method):
            self._describe(self.model.state.directions)  # also when the chosen set was on the sliders already
            return
        if self.model.is_open:
            self.summary.setText(f"No {METHOD_LABELS[method]} directions yet for this model: press Compute.")

    def _method_chosen(self) -> None:
        method = self.method.currentData()
        self.method.setToolTip(METHOD_TIPS[method])
        self.count.setEnabled(method != "attributes")  # one slider per attribute

    def _allow_attributes(self) -> None:
        """Offer face attributes only where the attribute classifier can read the model's images."""
        item = self.method.model().item(self.method.findData("attributes"))
        allowed = self.model.can_fit_attributes
        item.setEnabled(allowed)
        item.setToolTip(METHOD_TIPS["attributes"] if allowed else ATTRIBUTES_OFF_TIP)
        if not allowed and self.method.currentData() == "attributes":
            self.method.setCurrentIndex(self.method.findData("sefa"))

    def _busy(self, busy: bool, what: str) -> None:
        self.busy.setVisible(busy)
        self.compute_button.setEnabled(not busy and self.model.is_open)
        if busy:
            self.summary.setText(what[:1].upper() + what[1:])

    def _describe(self, directions: Directions | None) -> None:
        self._allow_attributes()
        self.save_button.setEnabled(directions is not None)
        self.load_button.setEnabled(self.model.is_open)
        self.compute_button.setEnabled(self.model.is_open and not self.model.computing_directions)
        if directions is None:
            self.summary.setText("No directions yet." if self.model.is_open else "")
            return
        short = {"axes": "latent-axis", "pca": "PCA", "sefa": "SeFa",
                 "attributes": "named attribute"}.get(directions.method, directions.method)
        self.summary.setText(f"{len(directions)} {short} directions in {directions.space} space")
        index = self.method.findData(directions.method)
        if index >= 0:
            self.method.blockSignals(True)
            self.method.setCurrentIndex(index)
            self.method.blockSignals(False)
        self.count.setValue(len(directions))
        self._method_chosen()

    def save_to(self, path: str | Path) -> bool:
        try:
            self.model.state.save_directions(path)
        except GanStudioError as exc:
            self.error.emit(str(exc))
            return False
        self.model.message.emit(f"saved the direction set to {path}")
        return True

    def load_from(self, path: str | Path) -> bool:
        try:
            self.model.load_directions(path)
        except GanStudioError as exc:
            self.error.emit(str(exc))
            return False
        return True

    def _start_folder(self) -> str:
        info = self.model.info
        return str(info.path.parent) if info and info.path else ""

    def _choose_save(self) -> None:
        d = self.model.state.directions
        name = f"{self._start_folder()}/{d.method}-directions.json" if d else ""
        path, _ = QFileDialog.getSaveFileName(self, "Save the direction set", name, "Direction sets (*.json)")
        if path:
            self.save_to(path if path.endswith(".json") else path + ".json")

    def _choose_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a direction set", self._start_folder(),
                                              "Direction sets (*.json);;All files (*)")
        if path:
            self.load_from(path)
