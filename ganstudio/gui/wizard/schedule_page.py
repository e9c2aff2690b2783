"""Wizard page 4: the schedule. Length, batch, learning rates, D steps, intervals, seed and device."""
from __future__ import annotations

import math

from PySide6.QtWidgets import (
    QButtonGroup, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QRadioButton, QSpinBox,
    QVBoxLayout,
)

from ganstudio.core.device import device_name, resolve_device
from ganstudio.core.errors import GanStudioError
from ganstudio.core.latent.sampling import MAX_SEED
from ganstudio.gui.wizard.common import WizardPage, blank, hint


def device_choices() -> list[tuple[str, str]]:
    """(label, device setting) for every device this machine has."""
    import torch

    choices = [(f"Automatic: {device_name(resolve_device('auto'))}", "auto"), ("CPU", "cpu")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            choices.append((f"GPU {i}: {torch.cuda.get_device_name(i)}", f"cuda:{i}"))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        choices.append(("Apple GPU (MPS)", "mps"))
    return choices


def steps_text(steps: float) -> str:
    """A count of steps in words, whole: '937 steps', 'about 469 steps' (D steps can split a batch count)."""
    whole = round(steps)
    about = "" if abs(steps - whole) < 1e-9 else "about "
    return f"{about}{whole:,} step{'' if whole == 1 and not about else 's'}"


def _rate() -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(6)
    box.setRange(1e-6, 1.0)
    box.setSingleStep(1e-5)
    return box


class SchedulePage(WizardPage):
    """How long and how fast: everything the optimizer and the run's bookkeeping need."""

    def __init__(self):
        super().__init__("Schedule", "How long to train, how fast, and how often to save.")
        self.by_epochs = QRadioButton("Epochs")
        self.by_steps = QRadioButton("Steps")
        self.length_kind = QButtonGroup(self)
        self.length_kind.addButton(self.by_epochs, 0)
        self.length_kind.addButton(self.by_steps, 1)
        self.epochs = QDoubleSpinBox()
        self.epochs.setRange(0.01, 100_000)
        self.epochs.setDecimals(2)
        self.steps = QSpinBox()
        self.steps.setRange(1, 100_000_000)
        self.steps.setSingleStep(500)
        length_row = QHBoxLayout()
        length_row.addWidget(self.by_epochs)
        length_row.addWidget(self.epochs)
        length_row.addSpacing(16)
        length_row.addWidget(self.by_steps)
        length_row.addWidget(self.steps)
        length_row.addStretch(1)
        self.length_note = hint("")
        self.batch = QSpinBox()
        self.batch.setRange(2, 65_536)
        self.optimizer = QComboBox()
        self.optimizer.addItem("Adam", "adam")
        self.optimizer.addItem("RMSprop (for WGAN with clipping)", "rmsprop")
        self.lr_g = _rate()
        self.lr_d = _rate()
        rates = QHBoxLayout()
        rates.addWidget(QLabel("G"))
        rates.addWidget(self.lr_g)
        rates.addSpacing(12)
        rates.addWidget(QLabel("D"))
        rates.addWidget(self.lr_d)
        rates.addStretch(1)
        self.d_steps = QSpinBox()
        self.d_steps.setRange(1, 100)
        form = QFormLayout()
        form.addRow("Length", length_row)
        form.addRow(blank(), self.length_note)
        form.addRow("Batch size", self.batch)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rates", rates)
        form.addRow(blank(), hint("Learning rates and D steps can also be changed while training."))
        form.addRow("D steps per G step", self.d_steps)
        self.recipe_note = hint("A CycleGAN trains with Adam, one D step per G step, and no quality metrics while "
                                "it trains; its batch may be a single picture.")
        form.addRow(blank(), self.recipe_note)
        self.train_form = form
        train_box = QGroupBox("Training")
        train_box.setLayout(form)

        self.sample_every = QSpinBox()
        self.sample_every.setRange(0, 10_000_000)
        self.sample_every.setSingleStep(100)
        self.sample_every.setSpecialValueText("only at the end of each epoch")
        self.sample_every.setPrefix("every ")
        self.sample_every.setSuffix(" steps")
        self.checkpoint_every = QSpinBox()
        self.checkpoint_every.setRange(0, 10_000_000)
        self.checkpoint_every.setSingleStep(500)
        self.checkpoint_every.setSpecialValueText("only at the end (and when stopped)")
        self.checkpoint_every.setPrefix("every ")
        self.checkpoint_every.setSuffix(" steps")
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.device = QComboBox()
        for label, value in device_choices():
            self.device.addItem(label, value)
        run_form = QFormLayout()
        run_form.addRow("Sample grid", self.sample_every)
        run_form.addRow(blank(), hint("The sample grid is also drawn at the end of every epoch."))
        run_form.addRow("Checkpoint", self.checkpoint_every)
        self.eval_every = QSpinBox()
        self.eval_every.setRange(0, 10_000_000)
        self.eval_every.setSingleStep(500)
        self.eval_every.setSpecialValueText("off")
        self.eval_every.setPrefix("every ")
        self.eval_every.setSuffix(" steps")
        run_form.addRow("Quality metrics", self.eval_every)
        run_form.addRow(blank(), hint("FID, precision/recall and mode or class coverage, plotted live in the run's "
                                 "Quality metrics tab; each measurement pauses training while it runs."))
        run_form.addRow("Seed", self.seed)
        run_form.addRow(blank(), hint("The same seed and settings give the same run, step for step, on the CPU."))
        run_form.addRow("Device", self.device)
        run_box = QGroupBox("Bookkeeping")
        run_box.setLayout(run_form)

        layout = QVBoxLayout(self)
        layout.addWidget(train_box)
        layout.addWidget(run_box)
        layout.addStretch(1)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.warning_label)

        self.length_kind.idToggled.connect(self._on_length_kind)
        self.epochs.valueChanged.connect(lambda v: self.by_epochs.isChecked() and
                                         self.update_config("train", epochs=v, steps=None))
        self.steps.valueChanged.connect(lambda v: self.by_steps.isChecked() and
                                        self.update_config("train", steps=v, epochs=None))
        self.batch.valueChanged.connect(lambda v: self.update_config("train", batch_size=v))
        self.optimizer.currentIndexChanged.connect(
            lambda: self.update_config("train", optimizer=self.optimizer.currentData()))
        self.lr_g.valueChanged.connect(lambda v: self.update_config("train", lr_g=v))
        self.lr_d.valueChanged.connect(lambda v: self.update_config("train", lr_d=v))
        self.d_steps.valueChanged.connect(lambda v: self.update_config("train", d_steps=v))
        self.sample_every.valueChanged.connect(lambda v: self.update_config("train", sample_every=v))
        self.checkpoint_every.valueChanged.connect(lambda v: self.update_config("train", checkpoint_every=v))
        self.eval_every.valueChanged.connect(lambda v: self.update_config("train", eval_every=v))
        self.seed.valueChanged.connect(lambda v: self.update_config("train", seed=v))
        self.device.currentIndexChanged.connect(
            lambda: self.update_config("train", device=self.device.currentData()))

    def load(self) -> None:
        t = self.config.train
        by_steps = t.steps is not None
        self.by_steps.setChecked(by_steps)
        self.by_epochs.setChecked(not by_steps)
        self.epochs.setValue(t.epochs if t.epochs is not None else 5.0)
        self.steps.setValue(t.steps if t.steps is not None else self._steps_for(5.0))
        self.epochs.setEnabled(not by_steps)
        self.steps.setEnabled(by_steps)
        own_recipe = self.config.data.is_translation  # CycleGAN's step: Adam, 1 D step, instance norm (batch 1)
        self.batch.setMinimum(1 if own_recipe else 2)
        self.batch.setValue(t.batch_size)
        for widget in (self.optimizer, self.d_steps, self.eval_every):
            widget.setEnabled(not own_recipe)
        self.train_form.setRowVisible(self.recipe_note, own_recipe)
        self.optimizer.setCurrentIndex(max(0, self.optimizer.findData(t.optimizer)))
        self.lr_g.setValue(t.lr_g)
        self.lr_d.setValue(t.lr_d)
        self.d_steps.setValue(t.d_steps)
        self.sample_every.setValue(t.sample_every)
        self.checkpoint_every.setValue(t.checkpoint_every)
        self.eval_every.setValue(t.eval_every)
        self.seed.setValue(t.seed)
        index = self.device.findData(t.device)
        if index < 0:  # a device saved on another machine: add it, and the page explains if it is missing
            self.device.addItem(t.device, t.device)
            index = self.device.count() - 1
        self.device.setCurrentIndex(index)

    def _on_length_kind(self, index: int, checked: bool) -> None:
        if not checked:
            return
        by_steps = index == 1
        self.epochs.setEnabled(not by_steps)
        self.steps.setEnabled(by_steps)
        if by_steps:
            self.update_config("train", steps=self.steps.value(), epochs=None)
        else:
            self.update_config("train", epochs=self.epochs.value(), steps=None)

    def _count(self) -> int | None:
        preview = self.wizard().preview
        return preview.count if preview is not None else None

    def _steps_per_epoch(self) -> float | None:
        count, t = self._count(), self.config.train
        return max(1, count // t.batch_size) / t.d_steps if count else None

    def _steps_for(self, epochs: float) -> int:
        per_epoch = self._steps_per_epoch()
        return max(1, math.ceil(epochs * per_epoch)) if per_epoch else 1000

    def refresh(self) -> None:
        t, per_epoch = self.config.train, self._steps_per_epoch()
        count = self._count()
        if count is not None and t.batch_size > count:
            self.length_note.setText("")  # no length to tell for a batch the page refuses (the problem says why)
        elif per_epoch:
            total = t.steps if t.steps is not None else max(1, math.ceil(t.epochs * per_epoch))
            what = "points" if self.config.data.is_toy else "images"
            self.length_note.setText(f"{total:,} generator steps in all; one epoch (all {count:,} {what} seen "
                                     f"by D) is {steps_text(per_epoch)} at batch {t.batch_size}.")
        super().refresh()

    def problems(self) -> list[str]:
        found = []
        count = self._count()
        t = self.config.train
        if count is not None and t.batch_size > count:
            found.append(f"The batch size {t.batch_size:,} is larger than the data ({count:,}); choose at most "
                         f"{count:,}")
        try:
            resolve_device(t.device)
        except GanStudioError as exc:
            found.append(str(exc))
        return self.with_config_check(found)

    def warnings(self) -> list[str]:
        t = self.config.train
        if self.config.loss.name == "wgan" and t.optimizer == "adam":
            return ["WGAN with weight clipping was published with RMSprop; Adam often makes it unstable"]
        return []
