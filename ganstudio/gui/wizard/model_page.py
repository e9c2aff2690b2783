"""Wizard page 2: the model. Architectures come from the registry, so new ones (StyleGAN) appear by themselves."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QRadioButton, QSpinBox,
    QVBoxLayout,
)

from ganstudio.core.data import native_resolution
from ganstudio.core.defaults import supported_resolutions
from ganstudio.core.models.registry import all_architectures, translation_architectures
from ganstudio.core.errors import GanStudioError
from ganstudio.gui.describe import arch_blurb, arch_title, capacity_hint
from ganstudio.gui.wizard.common import WizardPage, blank, hint, millions, parameter_count, resolved_model

RESOLUTIONS = (16, 28, 32, 64, 128, 256)


class ModelPage(WizardPage):
    """Architecture, conditioning, resolution and capacity, with the size of the networks they make."""

    def __init__(self):
        super().__init__("Model", "Which generator and discriminator, at which size?")
        self.arch_buttons = QButtonGroup(self)
        self.archs = all_architectures()
        self.arch_hints = []
        arch_box = QGroupBox("Architecture")
        arch_layout = QVBoxLayout(arch_box)
        for i, arch in enumerate(self.archs):
            button = QRadioButton(arch_title(arch))
            self.arch_buttons.addButton(button, i)
            arch_layout.addWidget(button)
            self.arch_hints.append(hint(arch_blurb(arch)))
            arch_layout.addWidget(self.arch_hints[-1])

        self.conditional = QCheckBox("Class-conditional: generate a chosen class")
        self.d_condition = QComboBox()
        self.d_condition.addItem("Projection (Miyato & Koyama 2018)", "projection")
        self.d_condition.addItem("Concatenate the label (Mirza & Osindero 2014)", "concat")
        self.resolution = QComboBox()
        self.capacity = QSpinBox()
        self.capacity.setRange(8, 512)
        self.capacity.setSingleStep(8)
        self.z_dim = QSpinBox()
        self.z_dim.setRange(1, 1024)
        form = QFormLayout()
        form.addRow(blank(), self.conditional)
        form.addRow(blank(), hint("G gets the class with z; D judges image and class together. Needs labelled data."))
        form.addRow("D sees the class by", self.d_condition)
        form.addRow("Resolution", self.resolution)
        form.addRow(blank(), hint("Images are resized (and centre-cropped) to this side. Bigger is slower."))
        form.addRow("Capacity", self.capacity)
        self.capacity_hint = hint("")
        form.addRow(blank(), self.capacity_hint)
        form.addRow("Latent size (z)", self.z_dim)
        form.addRow(blank(), hint("Dimensions of the noise G turns into a sample; 2 for toy data lets you see it all."))
        options = QGroupBox("Options")
        options.setLayout(form)
        self.size_label = QLabel("")
        self.size_label.setStyleSheet("color: #333;")

        right = QVBoxLayout()
        right.addWidget(options)
        right.addWidget(self.size_label)
        right.addStretch(1)
        right.addWidget(self.problem_label)
        right.addWidget(self.warning_label)
        layout = QHBoxLayout(self)
        layout.addWidget(arch_box, 2)
        layout.addLayout(right, 3)
        arch_layout.addStretch(1)

        self.arch_buttons.idToggled.connect(
            lambda i, on: on and self.choose(arch=self.archs[i]))
        self.conditional.toggled.connect(lambda on: self.choose(conditional=on))
        self.d_condition.currentIndexChanged.connect(
            lambda: self.update_config("model", d_condition=self.d_condition.currentData()))
        self.resolution.currentIndexChanged.connect(
            lambda: self.choose(resolution=self.resolution.currentData()))
        self.capacity.valueChanged.connect(lambda v: self.update_config("model", capacity=v))
        self.z_dim.valueChanged.connect(lambda v: self.update_config("model", z_dim=v))

    def load(self) -> None:
        cfg = self.config
        m, d = cfg.model, cfg.data
        translating = d.is_translation  # two domains: the translation models only; one set: the noise models
        for i, arch in enumerate(self.archs):
            shown = (arch in translation_architectures()) == translating
            self.arch_buttons.button(i).setVisible(shown)
            self.arch_hints[i].setVisible(shown)
        if m.arch in self.archs:
            self.arch_buttons.button(self.archs.index(m.arch)).setChecked(True)
        self.conditional.setChecked(m.conditional)
        self.d_condition.setCurrentIndex(max(0, self.d_condition.findData(m.d_condition)))
        self.resolution.clear()
        self.resolution.addItem(self._default_text(), None)
        for res in RESOLUTIONS if m.arch not in translation_architectures() else supported_resolutions(m.arch):
            self.resolution.addItem(f"{res} x {res} px", res)
        chosen = self.wizard().choices.resolution
        self.resolution.setCurrentIndex(0 if chosen is None else max(0, self.resolution.findData(chosen)))
        self.capacity.setValue(m.capacity)
        self.z_dim.setValue(m.z_dim)
        toy = d.is_toy
        for w in (self.conditional, self.d_condition, self.resolution):
            w.setEnabled(not toy)
        self.conditional.setEnabled(not toy and not translating)  # a translator has no classes and no z
        self.z_dim.setEnabled(not translating)

    def _default_text(self) -> str:
        """The first resolution item: what the run gets when the user picks none, and why."""
        wizard, d = self.wizard(), self.config.data
        side = wizard.default_resolution()
        if side is None:
            return "Not used for 2D points"
        if wizard.choices.data_side is not None and side < (native_resolution(d.source) or side):
            return f"Fitted to the images ({side} px)"
        native = native_resolution(d.source)
        if side == native and d.source in ("mnist", "fashion-mnist", "cifar10"):
            return f"The data's own ({side} px)"
        if side != native:  # StyleGAN on 28 px digits
            return f"Nearest {arch_title(self.config.model.arch)} size ({side} px)"
        return f"Default ({side} px)"

    def refresh(self) -> None:
        self.d_condition.setEnabled(self.config.model.conditional and not self.config.data.is_toy)
        self.capacity_hint.setText(capacity_hint(self.config.model.arch))
        self._update_size()
        super().refresh()

    def _update_size(self) -> None:
        if self.problems():
            self.size_label.setText("")
            return
        try:
            g, d = parameter_count(resolved_model(self.config, self.wizard().preview))
        except (GanStudioError, ValueError, RuntimeError) as exc:
            self.size_label.setText(f"Cannot build this model: {exc}")
            return
        self.size_label.setText(f"Generator {millions(g)} parameters · discriminator {millions(d)} parameters")

    def problems(self) -> list[str]:
        cfg, preview = self.config, self.wizard().preview
        d, m = cfg.data, cfg.model
        found = []
        if d.is_toy and m.arch != "mlp":
            found.append(f"2D toy data is points, not images: it needs the MLP model, not {arch_title(m.arch)}")
        if m.conditional and preview is not None and not preview.labelled:
            where = " (put each class in its own subfolder)" if d.is_folder else ""
            found.append(f"A conditional model needs labelled data, and {preview.title} has no classes{where}")
        side = d.resolution or native_resolution(d.source)  # the default is checked like any choice
        if preview is not None and side is not None:
            problem = preview.resolution_problem(side)
            if problem:
                found.append(problem)
        return self.with_config_check(found)

    def warnings(self) -> list[str]:
        d, preview = self.config.data, self.wizard().preview
        res = d.resolution or native_resolution(d.source)
        if preview is not None and res is not None:
            warning = preview.resolution_warning(res)
            return [warning] if warning else []
        return []
