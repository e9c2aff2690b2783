"""The projection's settings: the space (W or W+), the steps, pivotal tuning, the face template and the loss (LPIPS
when VGG16's weights are here or named, else the offline loss)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QRadioButton, QSpinBox, QVBoxLayout, QWidget)

from ganstudio.core.errors import GanStudioError
from ganstudio.core.photo.align import TEMPLATES
from ganstudio.core.photo.loss import VGG16_FILE, vgg16_weights
from ganstudio.core.photo.projection import ProjectionSettings, TuningSettings
from ganstudio.gui.colours import secondary_css

SPACE_TEXT = {"w": "One code for the whole picture: edits behave best, the likeness is looser.",
              "w+": "A code for each layer of detail: the closest likeness; edits may drift a little further."}
PTI_TEXT = ("Tunes a copy of the generator to this photo, for the likeness the found code alone cannot reach "
            "(pivotal tuning, PTI).")
LOSS_WORDS = {"lpips": "LPIPS (VGG16 features)", "offline": "pixels, structure and face features"}


def likeness(psnr: float) -> str:
    """A reconstruction's closeness to the aligned photo in words: 'likeness 21.5 dB (PSNR)'."""
    return f"likeness {psnr:.1f} dB (PSNR)"
TEMPLATE_LABELS = {"celeba": "CelebA (GAN Studio face models)", "ffhq": "FFHQ (NVIDIA face models)"}


@dataclass(frozen=True)
class PhotoSettings:
    """What the user chose."""

    space: str = "w+"
    steps: int = ProjectionSettings.steps  # the core's defaults, as `ganstudio project` uses them
    pti: bool = False
    pti_steps: int = TuningSettings.steps
    template: str = "celeba"
    vgg16: str | None = None  # a VGG16 weight file the user named


class ProjectionSettingsPanel(QWidget):
    """Space, steps, pivotal tuning, template and loss, with a one-line explanation each."""

    template_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.vgg16: str | None = None
        self.spaces = QButtonGroup(self)
        space_box = QVBoxLayout()
        space_box.setSpacing(0)
        for key, text in (("w+", "W+ (a code per layer, default)"), ("w", "W (one code)")):
            button = QRadioButton(text)
            button.setProperty("space", key)
            button.setChecked(key == "w+")
            self.spaces.addButton(button)
            explanation = QLabel(SPACE_TEXT[key])
            explanation.setStyleSheet(secondary_css())
            explanation.setContentsMargins(22, 0, 0, 4)
            space_box.addWidget(button)
            space_box.addWidget(explanation)
        self.steps = QSpinBox()
        self.steps.setRange(1, 5000)
        self.steps.setValue(PhotoSettings.steps)
        self.steps.setSuffix(" steps")
        self.steps.setMaximumWidth(160)
        self.pti = QCheckBox("Fine-tune the generator for this photo")
        pti_text = QLabel(PTI_TEXT)
        pti_text.setStyleSheet(secondary_css())
        pti_text.setWordWrap(True)
        self.pti_steps = QSpinBox()
        self.pti_steps.setRange(1, 2000)
        self.pti_steps.setValue(PhotoSettings.pti_steps)
        self.pti_steps.setSuffix(" tuning steps")
        self.pti_steps.setEnabled(False)
        self.pti.toggled.connect(self.pti_steps.setEnabled)
        pti_row = QHBoxLayout()
        pti_row.addWidget(self.pti)
        pti_row.addWidget(self.pti_steps)
        pti_row.addStretch(1)
        self.template = QComboBox()
        for key in TEMPLATES:
            self.template.addItem(TEMPLATE_LABELS[key], key)
        self.template.setMaximumWidth(320)
        self.template.currentIndexChanged.connect(lambda _: self.template_changed.emit(self.template_name()))
        self.loss_label = QLabel()
        self.loss_label.setWordWrap(True)
        self.vgg_button = QPushButton("VGG16 weights…")
        self.vgg_button.setToolTip(f"Choose torchvision's {VGG16_FILE}, if you have it, to compare by LPIPS, the "
                                   "papers' perceptual comparison (GAN Studio never downloads it)")
        self.vgg_button.clicked.connect(self.choose_vgg16)
        loss_row = QHBoxLayout()
        loss_row.addWidget(self.loss_label, 1)
        loss_row.addWidget(self.vgg_button)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Space:", space_box)
        form.addRow("Projection:", self.steps)
        form.addRow("Tuning:", pti_row)
        form.addRow(QLabel(), pti_text)  # a label: a row without one gets its hint's size hint, a tall gap
        form.addRow("Face template:", self.template)
        form.addRow("Compare by:", loss_row)
        self.update_loss()

    def settings(self) -> PhotoSettings:
        """The settings as chosen."""
        return PhotoSettings(self.spaces.checkedButton().property("space"), self.steps.value(), self.pti.isChecked(),
                             self.pti_steps.value(), self.template_name(), self.vgg16)

    def template_name(self) -> str:
        return str(self.template.currentData())

    def set_template(self, name: str) -> None:
        """Choose the face template ("celeba" or "ffhq")."""
        self.template.setCurrentIndex(max(0, self.template.findData(name)))

    def loss_name(self) -> str:
        """"LPIPS (VGG16)" when VGG16's weights are here or named, else "the offline loss"."""
        try:
            return "lpips" if vgg16_weights(self.vgg16) is not None else "offline"
        except GanStudioError:
            return "offline"

    def update_loss(self) -> None:
        """Name the loss the projection will use."""
        if self.loss_name() == "lpips":
            where = Path(self.vgg16).name if self.vgg16 else "torch's cache"
            self.loss_label.setText(f"{LOSS_WORDS['lpips']}, weights from {where}")
        else:
            self.loss_label.setText(LOSS_WORDS["offline"].capitalize())
        self.loss_label.setToolTip("How the projection measures the difference between the model's picture and "
                                   "the photo: pixels, SSIM and the face classifier's features without VGG16 "
                                   "weights, LPIPS with them")

    def choose_vgg16(self) -> None:
        """Let the user name VGG16's weight file."""
        path, _ = QFileDialog.getOpenFileName(self, "VGG16 weights for LPIPS", "",
                                              "Weights (*.pth *.pt *.safetensors);;All files (*)")
        if path:
            self.set_vgg16(path)

    def set_vgg16(self, path: str | None) -> None:
        """Use this VGG16 weight file (None: torch's cache, if it has one)."""
        self.vgg16 = path or None
        self.update_loss()

    def set_enabled(self, on: bool) -> None:
        """Lock the settings while a projection runs."""
        for w in (*self.spaces.buttons(), self.steps, self.pti, self.template, self.vgg_button):
            w.setEnabled(on)
        self.pti_steps.setEnabled(on and self.pti.isChecked())
