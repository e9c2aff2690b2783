"""One run in the Train area: live plots, the sample grid (or the GAN Lab view), and the controls.

It shows a live run (a TrainingSession: a worker thread driving the trainer process) or a finished one read back
from its folder, and resumes either from the latest checkpoint.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, QUrl, Qt, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget,
)

from ganstudio.core.config import RunConfig
from ganstudio.core.errors import GanStudioError, as_sentence
from ganstudio.core.losses import get_loss
from ganstudio.core.runs import GridEntry, RunFolder, checkpoint_step
from ganstudio.core.training.cycle import GRID_ROWS
from ganstudio.gui.describe import describe_config, tricks_in_use
from ganstudio.gui.history import MetricHistory
from ganstudio.gui.settings import Settings
from ganstudio.gui.widgets.config_dialog import ConfigDialog
from ganstudio.gui.widgets.evaluation_plot import EvaluationPlot
from ganstudio.gui.widgets.message_banner import MessageBanner
from ganstudio.gui.widgets.metric_plots import MetricPlots
from ganstudio.gui.widgets.sample_dialog import SampleDialog
from ganstudio.gui.widgets.sample_grid import SampleGridView
from ganstudio.gui.widgets.toy_view import ToyView
from ganstudio.gui.widgets.training_controls import TrainingControls
from ganstudio.gui.workers import METRIC_COLUMNS, NewRun, ResumeRun, RunEnded, TrainingSession

CONTROLS_MS = 250  # the progress bar and the ETA update at most 4 times a second
LEFTOVER_AGE = 60.0  # s; a temporary file untouched this long belongs to no live write (another process may train)


class TrainingView(QWidget):
    """Plots, samples and controls of one run."""

    run_started = Signal(str)  # the run folder, once its trainer is built
    state_changed = Signal(str)  # TrainingControls.STATES
    device_changed = Signal(str)
    explore_requested = Signal(str)  # the run's newest checkpoint, to open in the explorer
    translate_requested = Signal(str)  # a CycleGAN run's newest checkpoint, to open in the Translate window
    back_requested = Signal()  # show the Train page's list of runs

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.session: TrainingSession | None = None
        self.run_dir: Path | None = None
        self.config: RunConfig | None = None
        self.step = 0
        self.total_steps = 0
        self.history = MetricHistory(METRIC_COLUMNS, window=settings.smoothing)
        self.last_ended: RunEnded | None = None
        self._latest = None  # the newest ProgressBatch
        self._controls_timer = QTimer(self)
        self._controls_timer.setSingleShot(True)
        self._controls_timer.setInterval(CONTROLS_MS)
        self._controls_timer.timeout.connect(self._show_latest)

        self.title = QLabel("")
        self.title.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where = QLabel("")
        self.where.setStyleSheet("color: #666;")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.back_button = QPushButton("‹ All runs")
        self.back_button.setToolTip("Back to the Train page: new run, open a run, recent runs (a run in progress "
                                    "keeps training)")
        self.explore_button = QPushButton("Explore")
        self.explore_button.setToolTip("Open the run's newest checkpoint in the explorer")
        self.config_button = QPushButton("Configuration…")
        self.folder_button = QPushButton("Open folder")
        header_text = QVBoxLayout()
        header_text.setSpacing(2)
        header_text.addWidget(self.title)
        header_text.addWidget(self.summary)
        header_text.addWidget(self.where)
        header = QHBoxLayout()
        header.addWidget(self.back_button, 0, Qt.AlignTop)
        header.addSpacing(8)
        header.addLayout(header_text, 1)
        header.addWidget(self.explore_button, 0, Qt.AlignTop)
        header.addWidget(self.config_button, 0, Qt.AlignTop)
        header.addWidget(self.folder_button, 0, Qt.AlignTop)

        self.banner = MessageBanner()
        self.controls = TrainingControls()
        self.plots = MetricPlots(self.history)
        self.plots.set_x_axis(settings.x_axis)
        self.grid = SampleGridView()
        self.toy = ToyView()
        self.snapshots = SampleGridView(empty_text="Saved scatter plots appear here at every sample interval.")
        self.toy_tabs = QTabWidget()
        self.toy_tabs.addTab(self.toy, "Live (GAN Lab view)")
        self.toy_tabs.addTab(self.snapshots, "Saved snapshots")
        self.samples = QStackedWidget()
        self.samples.addWidget(self.grid)
        self.samples.addWidget(self.toy_tabs)
        self.evaluations = EvaluationPlot()
        self.plot_tabs = QTabWidget()
        self.plot_tabs.addTab(self.plots, "Training curves")
        self.plot_tabs.addTab(self.evaluations, "Quality metrics")
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.plot_tabs)
        splitter.addWidget(self.samples)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self.status = QLabel("")
        self.status.setStyleSheet("color: #555;")
        self.status.setWordWrap(True)  # a checkpoint's long path must not widen the window

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.controls)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

        self.config_button.clicked.connect(self.show_config)
        self.explore_button.clicked.connect(self.explore)
        self.back_button.clicked.connect(self.back_requested)
        self.folder_button.clicked.connect(self._open_folder)
        self.controls.pause_requested.connect(self.pause)
        self.controls.resume_requested.connect(self.resume)
        self.controls.stop_requested.connect(self.stop)
        self.controls.step_requested.connect(self.single_step)
        self.controls.settings_applied.connect(self._apply_settings)
        self.controls.continue_requested.connect(self.continue_run)
        self.grid.sample_clicked.connect(self._enlarge)
        self.toy.visibility_changed.connect(self._toy_visibility)
        self.plots.x_axis_changed.connect(lambda axis: setattr(self.settings, "x_axis", axis))
        self.plots.smoothing_changed.connect(lambda window: setattr(self.settings, "smoothing", window))
        self._set_state("idle")
        self._update_explore_button()

    # -- starting, opening, resuming ------------------------------------------------------------------

    @property
    def is_training(self) -> bool:
        """A worker is loading data or training (it has not reported its end yet)."""
        return self.session is not None and self.session.running and self.last_ended is None

    def start_new(self, config: RunConfig, run_dir: str | Path, session: TrainingSession | None = None) -> None:
        """Train a new run into run_dir (created by the trainer once the data has loaded); `session`: one already
        started for this run (its messages wait in the event queue until the view is connected)."""
        self.run_dir = Path(run_dir)
        self._show_config(config)
        self.history.clear()
        self.plots.redraw()
        self.grid.set_entries([])
        self.snapshots.set_entries([])
        self._start(NewRun(config, self.run_dir), session)

    def open_run(self, run_dir: str | Path) -> None:
        """Show a finished or stopped run from its folder: config, plots, grids; GanStudioError if unreadable."""
        run = RunFolder.open(run_dir)
        run.remove_leftovers(older_than=LEFTOVER_AGE)
        config = run.config()
        records = run.read_metrics()
        self.run_dir = run.path
        self.last_ended = None
        self._show_config(config)
        self.history = MetricHistory.from_records(records, METRIC_COLUMNS, window=self.settings.smoothing)
        self.plots.history = self.history
        self.plots.redraw()
        self.evaluations.set_records(run.read_evals())
        entries = run.grid_entries(config, records)
        (self.snapshots if config.model.toy else self.grid).set_entries(entries)
        latest = run.latest_checkpoint()
        self.step = checkpoint_step(latest) if latest else (int(records[-1]["step"]) if records else 0)
        self.total_steps = self._planned_steps(config, records)
        self.controls.set_live(config.train.lr_g, config.train.lr_d, config.train.d_steps)
        self.controls.set_progress(self.step, self.total_steps, None)
        self.controls.set_continue_target(self.step, self.total_steps)
        self.plots.set_total_steps(max(self.total_steps, self.step))
        self._set_state("ended")
        if config.model.toy and latest is not None:
            self._show_toy_checkpoint(latest)
        self._update_explore_button()
        finished = self.step >= self.total_steps
        if latest is None:
            self.banner.show_message("This run has no checkpoint, so it cannot be resumed (it stopped before its "
                                     "first checkpoint was written).", "warning")
            self.controls.continue_button.setEnabled(False)
        else:
            self.banner.hide()
        state = "finished" if finished else "stopped"
        self.status.setText(f"Reopened: {state} at step {self.step:,} of about {self.total_steps:,}; "
                            f"{len(records):,} logged steps, {len(entries)} sample grids"
                            + (f"; latest checkpoint {latest.name}" if latest else "") + ".")

    def continue_run(self, steps: int | None = None) -> None:
        """Resume the shown run from its latest checkpoint (until `steps` when given)."""
        if self.run_dir is None or self.is_training:
            return
        self.banner.hide()
        self._start(ResumeRun(self.run_dir, steps))

    def _start(self, job, session: TrainingSession | None = None) -> None:
        self.last_ended = None
        self.session = session or TrainingSession(job, threads=self.settings.cpu_threads)
        self.session.status.connect(self.status.setText)
        self.session.started.connect(self._on_started)
        self.session.progress.connect(self._on_progress)
        self.session.ended.connect(self._on_ended)
        self._set_state("loading")
        self.status.setText("Starting…")
        if session is None:
            self.session.start()

    # -- controls ------------------------------------------------------------------------------------

    def pause(self) -> None:
        if self.session is not None and self.controls.state == "running":
            self.session.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.session is not None and self.controls.state == "paused":
            self.session.resume()
            self._set_state("running")

    def single_step(self, kind: str) -> None:
        if self.session is not None and self.controls.state == "paused":
            self.session.single_step(kind)

    def stop(self) -> None:
        """Stop after the current step; the worker saves a checkpoint and ends."""
        if self.session is not None and self.session.running:
            self.session.stop()
            self._set_state("stopping")

    def shutdown(self) -> None:
        """Stop training and wait for the worker thread (its checkpoint is written before this returns)."""
        if self.session is not None:
            self.session.shutdown()

    def _toy_visibility(self, visible: bool) -> None:
        """The trainer makes GAN Lab frames only while the view shows them."""
        if self.session is not None and self.session.running:
            self.session.want_toy_frames(visible)

    def _apply_settings(self, settings) -> None:
        if self.session is not None:
            self.session.change(settings)
            if self.config is not None:  # the trainer writes them into config.json too
                self.config = self.config.with_updates("train", lr_g=settings.lr_g, lr_d=settings.lr_d,
                                                       d_steps=settings.d_steps)
            d_steps = settings.d_steps if self.controls.d_steps_live else None
            steps = "" if d_steps is None else f"; {d_steps} D step{'' if d_steps == 1 else 's'} per G step"
            self.status.setText(f"From the next step: learning rates G {settings.lr_g:g}, D {settings.lr_d:g}"
                                f"{steps}.")

    # -- from the worker -----------------------------------------------------------------------------

    def _on_started(self, started) -> None:
        self.run_dir = Path(started.run_dir)
        self.step, self.total_steps = started.step, started.total_steps
        self._show_config(started.config)
        if started.resumed:  # the trainer dropped logged steps after its checkpoint: show the file as it is now
            run = RunFolder(self.run_dir)
            self.history = MetricHistory.from_records(run.read_metrics(), METRIC_COLUMNS,
                                                      window=self.settings.smoothing)
            self.plots.history = self.history
            self.plots.redraw()
            self.grid.drop_after(started.step)
            self.snapshots.drop_after(started.step)
        self.evaluations.set_records(RunFolder(self.run_dir).read_evals() if started.resumed else [])
        self.plots.set_total_steps(self.total_steps)
        if started.real_points is not None:
            self.toy.set_real(started.real_points)
        self.controls.set_progress(self.step, self.total_steps, None)
        self.controls.set_live(started.config.train.lr_g, started.config.train.lr_d,
                               started.config.train.d_steps)
        if self.controls.state == "loading":
            self._set_state("running")
        size = f"{started.data_size:,} {'points' if started.config.model.toy else 'images'}"
        self.status.setText(f"{'Resumed' if started.resumed else 'Training'} on {started.device} with {size}.")
        if started.skipped_report:
            self.banner.show_message(started.skipped_report, "warning")
        self._update_explore_button()
        self.device_changed.emit(started.device)
        self.run_started.emit(started.run_dir)

    def _on_progress(self, batch) -> None:
        """Keep every step for the plots; the controls show the newest state at their own, slower pace."""
        self.step, self.total_steps = batch.step, batch.total_steps
        rows = batch.metrics
        last_step = self.history.last("step") if len(self.history) else float("nan")
        if len(rows) and last_step == last_step:  # not NaN
            # A resumed run's history is read from metrics.jsonl when it starts, and the worker may already have
            # logged the next steps: keep each step once.
            rows = rows[rows[:, 0] > last_step]
        if len(rows):
            self.history.extend(rows)
            self.plots.mark_dirty()
        self._latest = batch
        if not self._controls_timer.isActive() or self.controls.state == "paused":
            self._show_latest()
            self._controls_timer.start()
        for grid in batch.grids:
            (self.snapshots if grid.image is None else self.grid).add_entry(grid)
        if batch.toy is not None:
            self.toy.show_frame(batch.toy)
        for record in batch.evaluations:
            self.evaluations.add(record)
            self._warn_if_collapsing(record)
        if self.controls.state == "paused":
            self.status.setText(f"Paused at step {batch.step:,}. Single steps: D only, G only, or both.")

    def _warn_if_collapsing(self, record: dict) -> None:
        """A drop in mode or class coverage is the classic sign of mode collapse: say so while it happens."""
        if not record.get("mode_collapse_warning"):
            return
        if record.get("modes_covered") is not None:
            what = f"{record['modes_covered']} of the modes (best so far {record.get('best_modes_covered')})"
        else:
            what = f"{record.get('classes_covered')} classes (best so far {record.get('best_classes_covered')})"
        self.banner.show_message(f"At step {record.get('step', self.step):,} the generator covers only {what}: "
                                 "a likely mode collapse. Try a lower learning rate, minibatch std-dev, "
                                 "spectral normalization or WGAN-GP.", "warning", "Mode collapse?")

    def _show_latest(self) -> None:
        """Progress, ETA and learning rates from the newest batch (labels cost a repaint and a relayout)."""
        batch = self._latest
        if batch is not None:
            self.controls.set_progress(batch.step, batch.total_steps, batch.steps_per_sec)
            self.controls.set_live(batch.lr_g, batch.lr_d)

    def _on_ended(self, ended: RunEnded) -> None:
        self.last_ended = ended
        self.step = ended.step or self.step
        self.total_steps = ended.total_steps or self.total_steps
        self.plots.redraw()
        self._set_state("ended")
        self.controls.set_progress(self.step, self.total_steps, None)
        self.controls.set_continue_target(self.step, self.total_steps)
        has_checkpoint = self.run_dir is not None and RunFolder(self.run_dir).latest_checkpoint() is not None
        self.controls.continue_button.setEnabled(has_checkpoint)
        self._update_explore_button()
        self.controls.continue_until.setVisible(has_checkpoint)
        self.controls.continue_button.setVisible(has_checkpoint)
        if ended.reason == "failed":
            kept = (" The run folder is intact; resume from its last checkpoint when the cause is fixed."
                    if has_checkpoint and "checkpoint" not in ended.message else "")
            self.banner.show_message(as_sentence(ended.message) + kept, "error", "Training stopped:")
            self.status.setText(f"Failed at step {self.step:,}.")
            self.controls.eta.setText("Failed")
        elif ended.reason == "stopped":
            self.status.setText(ended.message + " Resume it with “Resume training”.")
            self.controls.eta.setText("Stopped")
        else:
            self.status.setText(f"Finished: {self.step:,} steps. Checkpoint: {ended.checkpoint or 'none'}.")
            self.controls.eta.setText("Done")

    # -- helpers -------------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        self.controls.set_state(state)
        self.state_changed.emit(state)

    def _show_config(self, config: RunConfig) -> None:
        self.config = config
        self.title.setText(config.name)
        tricks = ", ".join(tricks_in_use(config)) or "no tricks"
        self.summary.setText(f"{describe_config(config)} · {tricks}")
        self.where.setText(str(self.run_dir) if self.run_dir else "")
        self.plots.set_probability(get_loss(config.loss.name).probability)
        self.plots.set_augment(config.loss.augment == "ada", config.loss.ada_target)
        self.plots.set_translation(config.model.arch == "cyclegan")
        self.grid.set_columns(GRID_ROWS if config.model.arch == "cyclegan" else ())
        self.controls.allow_d_steps(config.model.arch != "cyclegan")
        self.samples.setCurrentWidget(self.toy_tabs if config.data.is_toy else self.grid)
        for page in (self.grid, self.toy_tabs):  # a hidden page's minimum size must not widen the window
            shown = page is self.samples.currentWidget()
            page.setSizePolicy(QSizePolicy.Policy.Preferred if shown else QSizePolicy.Policy.Ignored,
                               QSizePolicy.Policy.Preferred if shown else QSizePolicy.Policy.Ignored)
        self.grid.class_names = config.model.class_names

    def show_config(self) -> None:
        if self.config is None:
            return
        where = str(self.run_dir / "config.json") if self.run_dir else "config.json"
        ConfigDialog(self.config, where, self).show()

    def newest_checkpoint(self) -> Path | None:
        """The run's newest checkpoint file, if it has one yet."""
        return RunFolder(self.run_dir).latest_checkpoint() if self.run_dir is not None else None

    def explore(self) -> None:
        """Ask for the newest checkpoint in the explorer; say why not when there is none yet."""
        latest = self.newest_checkpoint()
        if latest is None:
            self.status.setText("This run has no checkpoint yet to explore; one is written at every checkpoint "
                                "interval and when training stops.")
            self._update_explore_button()
            return
        (self.translate_requested if self._translates else self.explore_requested).emit(str(latest))

    @property
    def _translates(self) -> bool:
        """A CycleGAN run: its checkpoints open in the Translate window, not the explorer."""
        return self.config is not None and self.config.model.arch == "cyclegan"

    def _update_explore_button(self) -> None:
        has = self.newest_checkpoint() is not None
        self.explore_button.setText("Translate…" if self._translates else "Explore")
        self.explore_button.setEnabled(has or self.is_training)  # a checkpoint may appear while it trains
        where = "the Translate window (images A → B and B → A)" if self._translates else "the explorer"
        self.explore_button.setToolTip(f"Open the run's newest checkpoint in {where}" if has else
                                       "No checkpoint yet: one is written at every checkpoint interval and at "
                                       "the end")

    def _open_folder(self) -> None:
        if self.run_dir is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.run_dir))):
            self.status.setText(f"No file manager could be opened; the run is in {self.run_dir}")

    def _enlarge(self, index: int, entry: GridEntry) -> None:
        pixels = self.grid.sample_pixels(index, entry)
        if pixels is None:
            return
        names = self.config.model.class_names if self.config else ()
        klass = f", class {names[index % len(names)]}" if names else ""
        SampleDialog(pixels, f"Sample {index + 1} at {entry.label()}{klass}", self).show()

    def _show_toy_checkpoint(self, path: Path) -> None:
        from ganstudio.core.toy_view import checkpoint_frame

        try:
            frame, real = checkpoint_frame(path)
        except GanStudioError as exc:
            self.banner.show_message(str(exc), "warning")
            return
        self.toy.set_real(real)
        self.toy.show_frame(frame)

    @staticmethod
    def _planned_steps(config: RunConfig, records: list[dict]) -> int:
        """The run's planned length: its steps, or its epochs converted with the logged steps per epoch."""
        t = config.train
        if t.steps is not None:
            return t.steps
        last = next((r for r in reversed(records) if r.get("epoch")), None)
        if last is None:
            return 0
        return max(int(last["step"]), int(round(t.epochs * last["step"] / last["epoch"])))
