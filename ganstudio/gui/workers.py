"""Training off the GUI thread, in the one registry of worker threads (gui/threads.py, which also runs the short
background tasks).

The worker is a QObject moved to its own QThread. Signals carry plain data (dataclasses of floats, strings and
numpy arrays). The training worker sends updates at most `refresh_hz` times a second, batching the steps in
between, and never sends a new batch before the GUI has handled the previous one, so a trainer doing thousands
of steps a second cannot flood the event loop. Every exception is caught in the worker and reported. Threads
are stopped by a flag, then quit() and wait(); never terminate().

Threads, decided deliberately: the GUI thread does no tensor work (the GAN Lab field and the sample grids are
computed in the worker), so the trainer gets PyTorch's intra-op threads for itself: one per physical core, or
one for 2D toy models (see training_threads). Only one training worker runs at a time.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from ganstudio.core.config import RunConfig
from ganstudio.core.runs import GridEntry
from ganstudio.core.training.control import LiveSettings, TrainingControl
from ganstudio.core.errors import GanStudioError, user_message
from ganstudio.gui import threads

log = logging.getLogger(__name__)

METRIC_COLUMNS = ("step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                  "images_per_sec")
REFRESH_HZ = 10  # GUI updates per second while training
TOY_HZ = 10  # GAN Lab frames per second at most...
TOY_BUDGET = 0.05  # ...and fewer when drawing them would take more than this share of the training time
WORKER_NICE = 5  # Linux: the training thread yields to the GUI thread when the cores are busy (no effect if idle)

_DEFAULT_TORCH_THREADS: int | None = None

def training_threads(config: RunConfig, requested: int = 0) -> int:
    """Threads for a run's tensor operations: the user's choice, else one for 2D toy models (their operations
    are too small to split: a second thread only adds synchronisation, which costs up to 20x when the cores
    are busy), else PyTorch's default of one per physical core."""
    import torch

    global _DEFAULT_TORCH_THREADS
    if _DEFAULT_TORCH_THREADS is None:
        _DEFAULT_TORCH_THREADS = torch.get_num_threads()
    if requested > 0:
        return requested
    return 1 if config.data.is_toy else _DEFAULT_TORCH_THREADS


def torch_threads() -> int:
    """PyTorch's intra-op threads in this thread (for the log)."""
    import torch

    return torch.get_num_threads()


def lower_this_threads_priority() -> None:
    """Let the GUI thread go first when the CPU is contended (the threads this one starts inherit it).

    On a busy 2-core machine this halved the event loop's worst lateness during training at no measurable cost
    in steps per second (benchmarks/gui_overhead.py); when the cores are idle, priorities change nothing.
    """
    if sys.platform.startswith("linux"):  # a thread's own nice value; elsewhere QThread.setPriority does it
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICE))
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------------------------
# What the training worker reports


@dataclass(frozen=True)
class NewRun:
    """Start a run from a configuration into a new run folder."""

    config: RunConfig
    run_dir: Path


@dataclass(frozen=True)
class ResumeRun:
    """Continue a run from its latest checkpoint, optionally until a new number of steps."""

    run_dir: Path
    steps: int | None = None


@dataclass
class RunStarted:
    """The trainer is built and about to take its first step."""

    run_dir: str
    config: RunConfig
    step: int
    total_steps: int
    device: str
    data_size: int
    skipped_report: str
    real_points: np.ndarray | None  # toy data: a sample of the real points for the scatter
    resumed: bool
    at: float = field(default_factory=time.perf_counter)  # when the first step began (for measurements)


@dataclass
class ProgressBatch:
    """The steps since the last update, as one array, and the state after the last of them."""

    metrics: np.ndarray  # float64 [k, len(METRIC_COLUMNS)]; NaN where a step has no value
    step: int
    total_steps: int
    epoch: float
    lr_g: float
    lr_d: float
    steps_per_sec: float | None  # over the last few seconds; None right after a pause
    grids: list[GridEntry] = field(default_factory=list)
    toy: Any = None  # a core.toy_view.ToyFrame
    checkpoint: str | None = None
    skipped_since_start: int = 0  # streamed files that went bad during training
    evaluations: list[dict] = field(default_factory=list)  # quality metrics measured since the last batch


@dataclass
class RunEnded:
    """Why the worker stopped: "finished", "stopped" or "failed" (with a one-sentence message)."""

    reason: str
    step: int
    total_steps: int
    checkpoint: str | None
    message: str = ""
    run_dir: str | None = None
    at: float = field(default_factory=time.perf_counter)


# ---------------------------------------------------------------------------------------------------------------
# The training worker


class TrainingWorker(QObject):
    """Builds the trainer and runs it in its thread; reports in batches at the GUI's refresh rate."""

    status = Signal(str)  # "Loading MNIST…"
    started = Signal(object)  # RunStarted
    progress = Signal(object)  # ProgressBatch
    ended = Signal(object)  # RunEnded

    def __init__(self, job: NewRun | ResumeRun, control: TrainingControl, refresh_hz: float = REFRESH_HZ,
                 toy_hz: float = TOY_HZ, threads: int = 0):
        super().__init__()
        self.job = job
        self.threads = threads
        self.control = control
        self.interval = 1.0 / refresh_hz
        self.toy_interval = 1.0 / toy_hz if toy_hz else None
        self._handled = threading.Event()  # the GUI handled the last batch
        self._handled.set()
        self._rows: list[tuple] = []
        self._grids: list[GridEntry] = []
        self._evaluations: list[dict] = []
        self._checkpoint: str | None = None
        self._rate = deque(maxlen=100)  # (time, step) at recent updates
        self._last = None  # the newest StepReport
        self._next_flush = 0.0
        self._next_toy = 0.0
        self.trainer = None

    def acknowledge(self) -> None:
        """Called from the GUI thread when a batch has been handled (thread-safe)."""
        self._handled.set()

    @Slot()
    def run(self) -> None:
        """Build the trainer, train until done, stopped or failed; always ends with `ended`."""
        ended = RunEnded("failed", 0, 0, None)
        lower_this_threads_priority()
        try:
            trainer = self._make_trainer()
            ended = self._train(trainer)
        except Exception as exc:  # reported, never lost: the GUI shows it and stays usable
            if isinstance(exc, GanStudioError):
                log.warning("run %s failed: %s", self._run_dir(), exc)
            else:
                log.exception("run %s failed with an unexpected error", self._run_dir())
                traceback.print_exc()
            trainer = self.trainer
            if trainer is not None:
                try:
                    self._flush(trainer, force=True)  # the steps before the failure still reach the plots
                except Exception:
                    log.exception("could not send the last steps of %s to the GUI", self._run_dir())
            if trainer is None and self.control.stopped:  # Stop while the data was loading
                ended = RunEnded("stopped", 0, 0, None, "Stopped while the data was loading; nothing was trained.",
                                 self._run_dir())
            else:
                ended = RunEnded("failed", trainer.step if trainer else 0, trainer.total_steps if trainer else 0,
                                 self._checkpoint, user_message(exc), self._run_dir())
        finally:
            self.trainer = None
            log.info("run %s ended: %s at step %s of %s%s%s", ended.run_dir or self._run_dir(), ended.reason,
                     ended.step, ended.total_steps, f"; checkpoint {ended.checkpoint}" if ended.checkpoint else "",
                     f"; {ended.message}" if ended.message else "")
            self.ended.emit(ended)
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())  # so that Python may delete it from the GUI thread

    def _run_dir(self) -> str | None:
        if self.trainer is not None and self.trainer.run is not None:
            return str(self.trainer.run.path)
        return str(self.job.run_dir)

    def _make_trainer(self):
        import torch

        from ganstudio.core.data import load_data
        from ganstudio.core.device import resolve_device
        from ganstudio.core.runs import RunFolder
        from ganstudio.core.training.loop import Trainer

        job = self.job
        cfg = job.config if isinstance(job, NewRun) else RunFolder.open(job.run_dir).config()
        torch.set_num_threads(training_threads(cfg, self.threads))
        device = resolve_device(cfg.train.device)
        self.status.emit(f"Loading {cfg.data.source}…")
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if self.control.stopped:
                raise GanStudioError("the run was cancelled while its data was loading")
            now = time.monotonic()
            if now - last[0] > 0.1 or done == total:
                last[0] = now
                self.status.emit(f"Loading {cfg.data.source}: {done:,} of {total:,}")

        data = load_data(cfg.data, device, seed=cfg.train.seed, progress=progress,
                         class_order=cfg.model.class_names)  # a resumed run keeps its labels' numbers
        self.status.emit("Building the models…")
        if isinstance(job, NewRun):
            self.trainer = Trainer(cfg, job.run_dir, control=self.control, data=data)
        else:
            self.trainer = Trainer.resume(job.run_dir, control=self.control, steps=job.steps, data=data)
        return self.trainer

    def _train(self, trainer) -> RunEnded:
        real = None
        if trainer.config.model.toy:
            real = trainer.real_sample(1000)
            self._real = real
        start = trainer.step
        cfg = trainer.config
        log.info("run %s %s at step %d of %d: %s %dpx on %s, %s loss, data %s (%d %s), batch %d, lr G %g D %g, "
                 "%d torch threads", trainer.run.path, "resumed" if isinstance(self.job, ResumeRun) else "started",
                 trainer.step, trainer.total_steps, cfg.model.arch, cfg.model.resolution,
                 trainer.device_name, cfg.loss.name, cfg.data.source, trainer.data_size,
                 "points" if cfg.model.toy else "images", cfg.train.batch_size, *trainer.learning_rates,
                 torch_threads())
        if trainer.dataset_info.skipped_report:
            log.warning("run %s: %s", trainer.run.path, trainer.dataset_info.skipped_report)
        self.started.emit(RunStarted(str(trainer.run.path), trainer.config, trainer.step, trainer.total_steps,
                                     trainer.device_name, trainer.data_size, trainer.dataset_info.skipped_report,
                                     real, isinstance(self.job, ResumeRun)))
        self._next_flush = 0.0
        self._next_toy = 0.0
        for report in trainer:
            self._collect(report)
            paused = self.control.paused
            if paused or time.monotonic() >= self._next_flush:
                self._flush(trainer, force=paused)
        if self.control.stopped and trainer.step < trainer.total_steps and trainer.run is not None:
            stopped = trainer.save_stopped()  # a checkpoint, and a grid of this step when it has none
            self._checkpoint = stopped.checkpoint_path
            if stopped.samples is not None:
                self._grids.append(self._snapshot(stopped))
        self._flush(trainer, force=True)
        if trainer.step >= trainer.total_steps:
            return RunEnded("finished", trainer.step, trainer.total_steps, self._checkpoint, run_dir=self._run_dir())
        what = "Stopped" if trainer.step > start else "Stopped before the first step"
        return RunEnded("stopped", trainer.step, trainer.total_steps, self._checkpoint,
                        f"{what} at step {trainer.step:,}; the checkpoint is saved.", self._run_dir())

    def _collect(self, report) -> None:
        self._rows.append((report.step, report.epoch, report.loss_d, report.loss_g, report.d_real, report.d_fake,
                           report.grad_norm_d, report.grad_norm_g, report.images_per_sec))
        self._last = report
        if report.checkpoint_path:
            self._checkpoint = report.checkpoint_path
        if report.samples is not None:
            self._grids.append(self._snapshot(report))
        if report.evaluation is not None:
            self._evaluations.append(report.evaluation)

    def _snapshot(self, report) -> GridEntry:
        samples = report.samples
        if samples.ndim != 4:  # toy points: the scatter is drawn live, the PNG keeps the history
            return GridEntry(report.step, report.epoch, report.grid_path, None, len(samples), 0)
        from ganstudio.core.images import image_grid

        image = np.asarray(image_grid(samples))
        return GridEntry(report.step, report.epoch, report.grid_path, image, len(samples), samples.shape[-1])

    def _flush(self, trainer, force: bool = False) -> None:
        """Send what was collected, unless the GUI is still busy with the last batch (then keep collecting)."""
        now = time.monotonic()
        if not force and not self._handled.is_set():
            self._next_flush = now + self.interval / 4  # look again soon
            return
        if not self._rows and not force:
            return
        self._next_flush = now + self.interval
        rows = np.array([[np.nan if v is None else v for v in r] for r in self._rows], dtype=np.float64)
        rows = rows.reshape(-1, len(METRIC_COLUMNS))
        self._rows = []
        last = self._last
        if self.control.paused:
            self._rate.clear()
            rate = None
        else:
            self._rate.append((now, trainer.step))
            while len(self._rate) > 2 and now - self._rate[0][0] > 10.0:
                self._rate.popleft()
            (t0, s0), (t1, s1) = self._rate[0], self._rate[-1]
            rate = (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None
        batch = ProgressBatch(rows, trainer.step, trainer.total_steps, last.epoch if last else 0.0,
                              *trainer.learning_rates, rate,
                              self._grids, checkpoint=self._checkpoint,
                              skipped_since_start=len(trainer.skipped_files),
                              evaluations=self._evaluations)
        self._grids = []
        self._evaluations = []
        if trainer.config.model.toy and self.toy_interval is not None and (force or now >= self._next_toy):
            batch.toy = self._toy_frame(trainer)
            cost = time.monotonic() - now
            self._next_toy = now + max(self.toy_interval, cost / TOY_BUDGET)
        self._handled.clear()
        self.progress.emit(batch)

    def _toy_frame(self, trainer):
        try:
            return trainer.toy_frame(self._real)
        except Exception:  # the live picture is a view: it must never stop the run
            traceback.print_exc()
            self.toy_interval = None
            return None


class TrainingSession(QObject):
    """The GUI thread's handle on one training worker and its thread: start, control, shut down."""

    status = Signal(str)
    started = Signal(object)  # RunStarted
    progress = Signal(object)  # ProgressBatch
    ended = Signal(object)  # RunEnded

    def __init__(self, job: NewRun | ResumeRun, refresh_hz: float = REFRESH_HZ, toy_hz: float = TOY_HZ,
                 threads: int = 0):
        super().__init__()  # no parent: closing a widget must not destroy a thread that still runs
        self.job = job
        self.control = TrainingControl()
        self.qthread = QThread()
        self.qthread.setObjectName("ganstudio-training")
        self.worker = TrainingWorker(job, self.control, refresh_hz, toy_hz, threads)
        self.worker.moveToThread(self.qthread)
        self.qthread.started.connect(self.worker.run)
        self.worker.status.connect(self.status)
        self.worker.started.connect(self.started)
        self.worker.progress.connect(self._on_progress)
        self.worker.ended.connect(self._on_ended)
        self.qthread.finished.connect(self._on_thread_finished)
        self.result: RunEnded | None = None

    def start(self) -> None:
        threads.register(self, self.qthread, self.stop)  # join_all_threads stops it and waits for it
        self.qthread.start(QThread.Priority.LowPriority)  # Windows and macOS; Linux: lower_this_threads_priority

    @property
    def running(self) -> bool:
        return self.qthread.isRunning()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def single_step(self, kind: str) -> None:
        self.control.single_step(kind)

    def change(self, settings: LiveSettings) -> None:
        self.control.change(settings)

    def stop(self) -> None:
        """Ask the worker to stop after the current step; it saves a checkpoint and ends."""
        self.control.stop()

    def shutdown(self) -> None:
        """Stop and wait for the thread to end (the checkpoint is written before this returns)."""
        self.control.stop()
        self.qthread.quit()
        self.qthread.wait()

    def _on_progress(self, batch: ProgressBatch) -> None:
        try:
            self.progress.emit(batch)
        finally:
            self.worker.acknowledge()

    def _on_ended(self, ended: RunEnded) -> None:
        self.result = ended
        self.qthread.quit()
        self.ended.emit(ended)

    def _on_thread_finished(self) -> None:
        threads.unregister(self)
