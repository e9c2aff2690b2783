"""Pause, resume, stop, single steps, live learning rates and D steps, and the progress bar with its ETA."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox, QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from ganstudio.core.training.control import LiveSettings

STATES = ("idle", "loading", "running", "paused", "stopping", "ended")


def format_duration(seconds: float) -> str:
    """'45 s', '12 min', '3 h 05 min'."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, secs = divmod(seconds, 60)
        return f"{minutes} min {secs:02d} s" if minutes < 10 else f"{minutes} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min"


def _rate_box(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(6)
    box.setRange(1e-7, 1e6)  # wide, so that the field never misstates a rate a run actually uses
    box.setSingleStep(1e-5)
    box.setValue(value)
    box.setMinimumWidth(90)
    return box


class TrainingControls(QWidget):
    """Buttons and fields that steer a run; emits what the user asked for and shows the run's state."""

    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()
    step_requested = Signal(str)  # "d", "g" or "both"
    settings_applied = Signal(object)  # LiveSettings
    continue_requested = Signal(int)  # train a finished or stopped run until this step

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = "idle"
        self.d_steps_live = True  # False for a trainer whose recipe fixes the D steps (CycleGAN)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause after the current step; then single steps are possible")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step and save a checkpoint")
        self.step_d = QPushButton("Step D")
        self.step_d.setToolTip("While paused: one discriminator update")
        self.step_g = QPushButton("Step G")
        self.step_g.setToolTip("While paused: one generator update")
        self.step_both = QPushButton("Step both")
        self.step_both.setToolTip("While paused: one full training step (D then G)")
        self.lr_g = _rate_box(2e-4)
        self.lr_d = _rate_box(2e-4)
        self.d_steps = QSpinBox()
        self.d_steps.setRange(1, 100)
        self.d_steps.setToolTip("Discriminator steps per generator step")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Use these learning rates and D steps from the next step on")
        self.continue_until = QSpinBox()
        self.continue_until.setRange(1, 10**9)
        self.continue_until.setSingleStep(1000)
        self.continue_until.setPrefix("until step ")
        self.continue_button = QPushButton("Resume training")
        self.continue_button.setToolTip("Continue from the latest checkpoint on the same trajectory")

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.progress.setTextVisible(True)
        self.eta = QLabel("")
        self.eta.setMinimumWidth(230)

        run_row = QHBoxLayout()
        for w in (self.pause_button, self.stop_button):
            run_row.addWidget(w)
        run_row.addSpacing(12)
        for w in (self.step_d, self.step_g, self.step_both):
            run_row.addWidget(w)
        run_row.addSpacing(12)
        run_row.addWidget(self.continue_until)
        run_row.addWidget(self.continue_button)
        run_row.addStretch(1)
        live_row = QHBoxLayout()
        live_row.addWidget(QLabel("Learning rate G"))
        live_row.addWidget(self.lr_g)
        live_row.addWidget(QLabel("D"))
        live_row.addWidget(self.lr_d)
        live_row.addSpacing(8)
        live_row.addWidget(QLabel("D steps per G step"))
        live_row.addWidget(self.d_steps)
        live_row.addWidget(self.apply_button)
        live_row.addStretch(1)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.eta)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(run_row)
        layout.addLayout(live_row)
        layout.addLayout(progress_row)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)

        self.pause_button.clicked.connect(self._on_pause)
        self.stop_button.clicked.connect(self.stop_requested)
        self.step_d.clicked.connect(lambda: self.step_requested.emit("d"))
        self.step_g.clicked.connect(lambda: self.step_requested.emit("g"))
        self.step_both.clicked.connect(lambda: self.step_requested.emit("both"))
        self.apply_button.clicked.connect(self._on_apply)
        self.continue_button.clicked.connect(lambda: self.continue_requested.emit(self.continue_until.value()))
        self.set_state("idle")

    def set_state(self, state: str) -> None:
        """Enable what makes sense: steps only while paused, resuming only when no worker runs."""
        if state not in STATES:
            raise ValueError(state)
        self.state = state
        live = state in ("running", "paused")
        self.pause_button.setEnabled(live)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(state in ("loading", "running", "paused"))
        for w in (self.step_d, self.step_g, self.step_both):
            w.setEnabled(state == "paused")
        for w in (self.lr_g, self.lr_d, self.apply_button):
            w.setEnabled(live)
        self.d_steps.setEnabled(live and self.d_steps_live)
        for w in (self.continue_until, self.continue_button):
            w.setVisible(state in ("ended", "idle"))
            w.setEnabled(state == "ended")
        if state == "stopping":
            self.eta.setText("Stopping after this step…")
        elif state == "paused":
            self.eta.setText("Paused")

    def allow_d_steps(self, allowed: bool) -> None:
        """Whether the D steps per G step can change while training (not for a CycleGAN: one D step is its
        recipe)."""
        self.d_steps_live = allowed
        self.d_steps.setToolTip("Discriminator steps per generator step" if allowed else
                                "A CycleGAN always trains with one discriminator step per generator step")
        self.set_state(self.state)

    def set_live(self, lr_g: float, lr_d: float, d_steps: int | None = None) -> None:
        """Show the run's current values (without emitting anything)."""
        for box, value in ((self.lr_g, lr_g), (self.lr_d, lr_d)):
            if not box.hasFocus() and abs(box.value() - value) > 1e-12:
                box.blockSignals(True)
                box.setValue(value)
                box.blockSignals(False)
        if d_steps is not None:
            self.d_steps.blockSignals(True)
            self.d_steps.setValue(d_steps)
            self.d_steps.blockSignals(False)

    def set_progress(self, step: int, total: int, steps_per_sec: float | None) -> None:
        """The bar and the ETA from the recent speed."""
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(step, total))
        self.progress.setFormat(f"step {step:,} of {total:,} (%p%)" if total else "")
        if self.state == "running":
            if steps_per_sec:
                left = (total - step) / steps_per_sec
                self.eta.setText(f"{steps_per_sec:,.1f} steps/s · {format_duration(left)} left")
            else:
                self.eta.setText("Measuring speed…")

    def set_continue_target(self, step: int, total: int) -> None:
        """Suggest where a resumed run should stop: its plan, or 50% more when it is done."""
        target = total if step < total else max(step + 1, int(total * 1.5))
        self.continue_until.setMinimum(step + 1)
        self.continue_until.setValue(target)

    def _on_pause(self) -> None:
        if self.state == "paused":
            self.resume_requested.emit()
        else:
            self.pause_requested.emit()

    def _on_apply(self) -> None:
        self.settings_applied.emit(LiveSettings(self.lr_g.value(), self.lr_d.value(), self.d_steps.value()))
