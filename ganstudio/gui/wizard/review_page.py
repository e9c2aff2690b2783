"""Wizard page 5: review the run, name it, choose its folder, and see how long it will take."""
from __future__ import annotations

import html
import os
import re
import time
from pathlib import Path

from PySide6.QtWidgets import (
    QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWizard,
)

from ganstudio.core.config import RunConfig
from ganstudio.core.data import native_resolution
from ganstudio.core.training.estimate import TimeEstimate, estimate_time
from ganstudio.gui.describe import LOSS_TITLES, arch_title, data_title, domains_title, tricks_in_use
from ganstudio.gui.threads import WorkerBase, WorkerGroup
from ganstudio.gui.widgets.training_controls import format_duration
from ganstudio.gui.wizard.common import WizardPage, blank, hint
from ganstudio.gui.workers import training_threads

BAD_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def default_run_name(config: RunConfig) -> str:
    """'mnist-dcgan-20260509-0613', 'ring8-mlp-…', 'cats-dcgan-…'."""
    source = config.data.source
    data = source[4:] if source.startswith("toy:") else (Path(source[7:]).name if source.startswith("folder:")
                                                           else source)
    return f"{data or 'data'}-{config.model.arch}-{time.strftime('%Y%m%d-%H%M')}"


def name_problem(name: str) -> str | None:
    if not name.strip():
        return "Give the run a name"
    if BAD_NAME.search(name) or name.strip() in (".", ".."):
        return "A run name cannot contain / \\ : * ? \" < > | (it becomes a folder name)"
    return None


def folder_problem(run_dir: Path) -> str | None:
    """Why a new run cannot be created in run_dir, or None."""
    if (run_dir / "config.json").exists():
        return f"{run_dir} already holds a run; choose another name, or open that run to resume it"
    if run_dir.exists() and not run_dir.is_dir():
        return f"{run_dir} is a file"
    parent = run_dir
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        return f"GAN Studio may not write into {parent}; choose another folder"
    return None


OPTIMIZER_TITLES = {"adam": "Adam", "rmsprop": "RMSprop"}


class ReviewPage(WizardPage):
    """The whole configuration in words, the run's name and folder, and a measured time estimate."""

    def __init__(self):
        super().__init__("Review", "Check the run, name it, and start training.")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        summary_box = QGroupBox("The run")
        QVBoxLayout(summary_box).addWidget(self.summary)

        self.name = QLineEdit()
        self.parent_folder = QLineEdit()
        self.browse = QPushButton("Browse…")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.parent_folder, 1)
        folder_row.addWidget(self.browse)
        self.run_dir_label = hint("")
        form = QFormLayout()
        form.addRow("Run name", self.name)
        form.addRow("Save runs in", folder_row)
        form.addRow(blank(), self.run_dir_label)
        where_box = QGroupBox("Where")
        where_box.setLayout(form)

        self.estimate_label = QLabel("")
        self.estimate_label.setWordWrap(True)
        # a wrapped label does not grow when its text changes inside a group box: reserve three lines
        self.estimate_label.setMinimumHeight(3 * self.estimate_label.fontMetrics().lineSpacing() + 4)
        self.measure = QPushButton("Measure again")
        measure_row = QHBoxLayout()
        measure_row.addStretch(1)
        measure_row.addWidget(self.measure)
        estimate_layout = QVBoxLayout()
        estimate_layout.addWidget(self.estimate_label)
        estimate_layout.addLayout(measure_row)
        estimate_box = QGroupBox("Time")
        estimate_box.setLayout(estimate_layout)

        layout = QVBoxLayout(self)
        layout.addWidget(summary_box)
        layout.addWidget(where_box)
        layout.addWidget(estimate_box)
        layout.addStretch(1)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.warning_label)

        self.task: WorkerBase | None = None
        self.tasks = WorkerGroup()
        self.estimate: TimeEstimate | None = None
        self._measured_for: RunConfig | None = None
        self.name.textChanged.connect(lambda _: self.refresh())
        self.parent_folder.textChanged.connect(lambda _: self.refresh())
        self.browse.clicked.connect(self._browse)
        self.measure.clicked.connect(self.start_estimate)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start training")

    # -- state ---------------------------------------------------------------------------------------

    def load(self) -> None:
        wizard = self.wizard()
        if not self.name.text():
            self.name.setText(default_run_name(self.config))
        if not self.parent_folder.text():
            self.parent_folder.setText(wizard.runs_folder())
        self.summary.setText(self._summary())
        if self._measured_for != self.config:
            self.start_estimate()

    @property
    def run_dir(self) -> Path:
        return Path(self.parent_folder.text().strip()).expanduser() / self.name.text().strip()

    def refresh(self) -> None:
        if self.name.text().strip() and self.parent_folder.text().strip():
            self.run_dir_label.setText(f"The run folder will be {self.run_dir}")
        else:
            self.run_dir_label.setText("")
        super().refresh()

    def problems(self) -> list[str]:
        problem = name_problem(self.name.text())
        if problem:
            return [problem]
        if not self.parent_folder.text().strip():
            return ["Choose the folder where runs are saved"]
        problem = folder_problem(self.run_dir)
        return [problem] if problem else []

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save runs in", self.parent_folder.text())
        if folder:
            self.parent_folder.setText(folder)

    def _summary(self) -> str:
        cfg, preview = self.config, self.wizard().preview
        m, lo, t = cfg.model, cfg.loss, cfg.train
        size = f" ({preview.count:,} {'points' if cfg.data.is_toy else 'images'})" if preview else ""
        res = "" if cfg.data.is_toy else f", {cfg.data.resolution or native_resolution(cfg.data.source)} px"
        length = f"{t.steps:,} steps" if t.steps is not None else f"{t.epochs:g} epochs"
        rows = [
            ("Data", domains_title(cfg.data) + (f" ({preview.note.rstrip('.')})" if preview and cfg.data.source_b else "")
             if cfg.data.is_translation else f"{data_title(cfg.data.source)}{size}"),
            ("Model", f"{arch_title(m.arch)}{' conditional' if m.conditional else ''}{res}, capacity "
                      f"{m.capacity}" + ("" if cfg.data.is_translation else f", z {m.z_dim}")),
            ("Loss", LOSS_TITLES.get(lo.name, lo.name) + (f" (preset {cfg.preset})" if cfg.preset else "")),
            ("Tricks", ", ".join(tricks_in_use(cfg)) or "none"),
            ("Schedule", f"{length}, batch {t.batch_size}, {OPTIMIZER_TITLES.get(t.optimizer, t.optimizer)} with "
                         f"learning rates G {t.lr_g:g} / D {t.lr_d:g}, {t.d_steps} D "
                         f"step{'' if t.d_steps == 1 else 's'} per G step"),
            ("Saving", f"grid {f'every {t.sample_every:,} steps' if t.sample_every else 'at the end of each epoch'}"
                       f", checkpoint {f'every {t.checkpoint_every:,} steps' if t.checkpoint_every else 'at the end'}"
                       f"; seed {t.seed}; device {t.device}"),
        ]
        return "<table>" + "".join(f"<tr><td style='padding-right:12px; color:#666'>{k}</td>"
                                   f"<td>{html.escape(v)}</td></tr>" for k, v in rows) + "</table>"

    # -- the estimate --------------------------------------------------------------------------------

    def start_estimate(self) -> None:
        """Time a few warm-up steps of this model in a background thread."""
        self.cancel_estimate()
        config = self.config
        preview = self.wizard().preview
        count = preview.count if preview else 1000
        classes = len(preview.class_names) if preview is not None and config.model.conditional else 0
        self._measured_for = config
        self.estimate = None
        self.estimate_label.setText("Measuring the speed with a few warm-up steps of this model…")
        self.measure.setEnabled(False)

        def work(progress, cancelled):
            import torch

            torch.set_num_threads(training_threads(config))  # measure with the threads training will use
            return estimate_time(config, count, classes, warmup=1, steps=3, should_stop=cancelled)

        task = self.tasks.create(work, "estimate")
        task.returned.connect(self._on_estimate)
        task.errored.connect(self._on_estimate_failed)
        self.task = task.start()

    def _on_estimate(self, estimate: TimeEstimate | None) -> None:
        self.task = None
        self.measure.setEnabled(True)
        if estimate is None:
            return
        self.estimate = estimate
        per_step = estimate.seconds_per_step
        step_text = f"{per_step * 1000:.0f} ms" if per_step < 1 else f"{per_step:.1f} s"
        text = (f"About {step_text} per step on {estimate.device}: {format_duration(estimate.seconds_per_epoch)} "
                f"per epoch ({estimate.steps_per_epoch:,.0f} steps), about "
                f"{format_duration(estimate.total_seconds)} for the whole run ({estimate.total_steps:,} steps).")
        if not self.config.data.is_toy:
            text += " Loading the data and drawing sample grids come on top."
        self.estimate_label.setText(text)

    def _on_estimate_failed(self, message: str) -> None:
        self.task = None
        self.measure.setEnabled(True)
        self.estimate_label.setText(f"Could not measure the speed: {message}")

    def cancel_estimate(self) -> None:
        if self.task is not None:
            self.task.quit()
            self.task = None
            self.measure.setEnabled(True)

    def shutdown(self) -> None:
        """Cancel the estimate and wait for its thread (the wizard is closing)."""
        self.cancel_estimate()
        self.tasks.join()
