"""Wizard page 3: the loss and the stabilisation tricks, each with one line saying what it does; presets; and the
remedies for small data and mode collapse (augmentation, an unrolled D, several D's), with a hint to augment a
small image set."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
    QPushButton, QScrollArea, QSpinBox, QVBoxLayout, QWidget,
)

from ganstudio.core.config import AUGMENTS
from ganstudio.core.defaults import augmentation_advice
from ganstudio.core.losses import LOSSES
from ganstudio.core.presets import presets
from ganstudio.gui.describe import AUGMENT_BLURBS, AUGMENT_TITLES, LOSS_BLURBS, LOSS_TITLES, TRICK_BLURBS, arch_title
from ganstudio.gui.wizard.common import WizardPage, blank, hint


RECIPE_NOTE = ("A CycleGAN trains with its own recipe: the least-squares loss, a cycle back to the input (weight "
               "{cycle:g}), an identity term (weight {identity:g}) and a pool of {pool} past fakes for D. The tricks "
               "and remedies below are for the other models, so they are off.")


def _spin(maximum: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, maximum)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSpecialValueText("off")
    return box


class LossPage(WizardPage):
    """The adversarial loss, the tricks, and paper presets that set them together."""

    def __init__(self):
        super().__init__("Loss and tricks", "How D and G are scored, and what keeps their game stable.")
        self.presets = presets()
        self.preset = QComboBox()
        self.preset.addItem("Custom (set below)", None)
        for key, preset in self.presets.items():
            self.preset.addItem(preset.title, key)
        self.preset_note = hint("")
        self.loss = QComboBox()
        for name in LOSSES:
            self.loss.addItem(LOSS_TITLES[name], name)
        self.loss_note = hint("")
        self.recipe_note = hint("")  # a translator's own recipe: why the rest of the page is greyed out
        self.recipe_note.setStyleSheet("color: #8a5a00;")
        top = QFormLayout()
        top.addRow(blank(), self.recipe_note)
        top.addRow("Preset", self.preset)
        top.addRow(blank(), self.preset_note)
        top.addRow("Loss", self.loss)
        top.addRow(blank(), self.loss_note)
        top_box = QGroupBox("Game")
        top_box.setLayout(top)
        self.top_form = top

        self.spectral_norm = QCheckBox("Spectral normalization in D")
        self.label_smoothing = _spin(0.45, 0.05)
        self.instance_noise = _spin(2.0, 0.05)
        self.feature_matching = QCheckBox("Feature matching for G")
        self.minibatch_discrimination = QCheckBox("Minibatch discrimination")
        self.minibatch_std = QCheckBox("Minibatch standard deviation")
        self.r1 = _spin(100.0, 1.0, 4)  # StyleGAN's gamma is 0.0625 at 32 px
        self.d_dropout = _spin(0.9, 0.1)
        self.ema = QCheckBox("Sample from an average of G (EMA)")
        tricks = QGridLayout()
        tricks.setColumnStretch(1, 1)
        rows = [
            (self.spectral_norm, "spectral_norm"),
            (self._labelled("One-sided label smoothing", self.label_smoothing), "label_smoothing"),
            (self._labelled("Instance noise (std)", self.instance_noise), "instance_noise"),
            (self.feature_matching, "feature_matching"),
            (self.minibatch_discrimination, "minibatch_discrimination"),
            (self.minibatch_std, "minibatch_std"),
            (self._labelled("R1 penalty weight", self.r1), "r1"),
            (self._labelled("Dropout in D", self.d_dropout), "d_dropout"),
            (self.ema, "ema"),
        ]
        for i, (widget, key) in enumerate(rows):
            tricks.addWidget(widget, i, 0)
            tricks.addWidget(hint(TRICK_BLURBS[key]), i, 1)
        tricks.setRowStretch(len(rows), 1)  # spare height below the rows, not between them
        tricks_rows = QWidget()
        tricks_rows.setLayout(tricks)
        self.tricks_scroll = QScrollArea()  # a short window scrolls the rows instead of squeezing their hints
        self.tricks_scroll.setWidgetResizable(True)
        self.tricks_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.tricks_scroll.setWidget(tricks_rows)
        tricks_box = self.tricks_box = QGroupBox("Tricks")
        QVBoxLayout(tricks_box).addWidget(self.tricks_scroll)

        self.augment = QComboBox()
        for name in AUGMENTS:
            self.augment.addItem(AUGMENT_TITLES[name], name)
        self.augment_note = hint("")
        self.advice = QLabel()
        self.advice.setWordWrap(True)
        self.advice.setStyleSheet("color: #8a5a00;")
        self.use_ada = QPushButton("Use ADA")
        self.use_ada.setToolTip("Turn on adaptive augmentation (ADA) for this run")
        self.unroll = QSpinBox()
        self.unroll.setRange(0, 20)
        self.unroll.setSpecialValueText("off")
        self.unroll.setSuffix(" steps ahead")
        self.num_d = QSpinBox()
        self.num_d.setRange(1, 8)
        remedies = QGridLayout()
        remedies.setColumnStretch(1, 1)
        remedies.addWidget(self._labelled("Augmentation", self.augment), 0, 0)
        remedies.addWidget(self.augment_note, 0, 1)
        advice_row = QHBoxLayout()
        advice_row.setContentsMargins(0, 0, 0, 0)
        advice_row.addWidget(self.advice, 1)
        advice_row.addWidget(self.use_ada)
        self.advice_box = QWidget()
        self.advice_box.setLayout(advice_row)
        remedies.addWidget(self.advice_box, 1, 0, 1, 2)
        remedies.addWidget(self._labelled("Unrolled D", self.unroll), 2, 0)
        remedies.addWidget(hint(TRICK_BLURBS["unroll"]), 2, 1)
        remedies.addWidget(self._labelled("Discriminators", self.num_d), 3, 0)
        remedies.addWidget(hint(TRICK_BLURBS["num_d"]), 3, 1)
        remedies_box = self.remedies_box = QGroupBox("Small data and mode collapse")
        remedies_box.setLayout(remedies)

        layout = QVBoxLayout(self)
        layout.addWidget(top_box)
        layout.addWidget(tricks_box, 1)
        layout.addWidget(remedies_box)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.warning_label)

        self.preset.activated.connect(self._on_preset)
        self.loss.currentIndexChanged.connect(lambda: self.update_config("loss", name=self.loss.currentData()))
        self.spectral_norm.toggled.connect(lambda on: self.update_config("model", spectral_norm=on))
        self.label_smoothing.valueChanged.connect(lambda v: self.update_config("loss", label_smoothing=v))
        self.instance_noise.valueChanged.connect(lambda v: self.update_config("loss", instance_noise=v))
        self.feature_matching.toggled.connect(lambda on: self.update_config("loss", feature_matching=on))
        self.minibatch_discrimination.toggled.connect(
            lambda on: self.update_config("model", minibatch_discrimination=on))
        self.minibatch_std.toggled.connect(lambda on: self.update_config("model", minibatch_std=on))
        self.r1.valueChanged.connect(lambda v: self.update_config("loss", r1_weight=v))
        self.d_dropout.valueChanged.connect(lambda v: self.update_config("model", d_dropout=v))
        self.ema.toggled.connect(lambda on: self.update_config("train", ema=on))
        self.augment.currentIndexChanged.connect(
            lambda: self.update_config("loss", augment=self.augment.currentData()))
        self.use_ada.clicked.connect(lambda: self.augment.setCurrentIndex(self.augment.findData("ada")))
        self.unroll.valueChanged.connect(lambda v: self.update_config("train", unroll=v))
        self.num_d.valueChanged.connect(lambda v: self.update_config("model", num_d=v))

    @staticmethod
    def _labelled(text: str, box: QDoubleSpinBox) -> QWidget:
        widget = QWidget()
        row = QHBoxLayout(widget)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel(text))
        row.addWidget(box)
        row.addStretch(1)
        return widget

    def load(self) -> None:
        cfg = self.config
        m, lo = cfg.model, cfg.loss
        self.preset.setCurrentIndex(max(0, self.preset.findData(cfg.preset)))
        self.loss.setCurrentIndex(max(0, self.loss.findData(lo.name)))
        self.spectral_norm.setChecked(m.spectral_norm)
        self.label_smoothing.setValue(lo.label_smoothing)
        self.instance_noise.setValue(lo.instance_noise)
        self.feature_matching.setChecked(lo.feature_matching)
        self.minibatch_discrimination.setChecked(m.minibatch_discrimination)
        self.minibatch_std.setChecked(m.minibatch_std)
        self.r1.setValue(lo.r1_weight)
        self.d_dropout.setValue(m.d_dropout)
        self.ema.setChecked(cfg.train.ema)
        self.augment.setCurrentIndex(max(0, self.augment.findData(lo.augment)))
        self.augment.setEnabled(not cfg.data.is_toy)
        self.unroll.setValue(cfg.train.unroll)
        self.num_d.setValue(m.num_d)
        own_recipe = cfg.data.is_translation  # CycleGAN's step has its own loss and none of these switches
        for widget in (self.preset, self.loss, self.tricks_box, self.remedies_box):
            widget.setEnabled(not own_recipe)
        self.top_form.setRowVisible(self.recipe_note, own_recipe)
        self.recipe_note.setText(RECIPE_NOTE.format(cycle=lo.cycle_weight, identity=lo.identity_weight,
                                                    pool=lo.pool_size) if own_recipe else "")

    def refresh(self) -> None:
        self.loss_note.setText(LOSS_BLURBS.get(self.config.loss.name, ""))
        self.preset_note.setText(self._preset_text())
        if self.config.data.is_toy:
            self.augment_note.setText("Augmentation is for pictures; 2D points have nothing to flip or recolour.")
        else:
            self.augment_note.setText(AUGMENT_BLURBS.get(self.config.loss.augment, ""))
        preview = self.wizard().preview if self.wizard() is not None else None
        advice = augmentation_advice(preview.count if preview is not None else None, self.config)
        self.advice.setText(advice or "")
        self.advice_box.setVisible(advice is not None)
        super().refresh()

    def _preset_text(self) -> str:
        key = self.preset.currentData()
        if key is None:
            return "Or start from a paper's recipe: its loss, tricks and optimizer (data and model stay yours)."
        preset = self.presets[key]
        arch = preset.config.get("model", {}).get("arch")
        note = preset.description
        if arch and arch != self.config.model.arch:
            note += (f" The paper used {arch_title(arch)}; you keep {arch_title(self.config.model.arch)}"
                     " (change it on the previous page).")
        return note

    def _on_preset(self) -> None:
        key = self.preset.currentData()
        if key is None:
            self.wizard().drop_preset()
            self.refresh()
            return
        self.choose(preset=key)  # the architecture stays the one chosen on the previous page

    def problems(self) -> list[str]:
        return self.with_config_check([])
