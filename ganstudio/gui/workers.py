"""Training in a child process, driven from the one registry of worker threads (gui/threads.py, which also runs
the short background tasks).

The trainer runs in a spawned process (core.training.process): its main thread trains with its own torch
threads, so the app's event loop and the trainer never share an interpreter lock or an OpenMP pool. The
TrainingWorker, a QObject on its own QThread, starts that process, turns its messages (plain data: JSON headers
and raw arrays, never pickles) into the signals the training view uses, and forwards pause, single steps, live
settings and stop. The child sends updates at most `refresh_hz` times a second and never a new batch before the
GUI has handled the previous one. While training, the app does no tensor work and keeps its torch threads at 1.
A spare trainer process may be started ahead (prestart_trainer, when the new-run wizard opens): the next run
takes it, and Start then costs only the data and the models, not the interpreter's and torch's imports.

A crash never takes the app down: an exception in the child is reported as a sentence; a child that dies (a
segfault, the system killing it for memory) is noticed at once from its exit status, and the view says what
happened, at which step, and which checkpoint is intact. Stop asks the child to save and end; one that does not
answer within `stop_timeout` is terminated, then killed. Threads are stopped by a flag, then quit() and wait().
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from ganstudio.core.config import RunConfig
from ganstudio.core.runs import GridEntry, RunFolder, checkpoint_step
from ganstudio.core.training.control import LiveSettings
from ganstudio.core.training.process import METRIC_COLUMNS, WireError, child_main, receive, toy_frame_from
from ganstudio.core.training import process as training_process
from ganstudio.core.errors import user_message
from ganstudio.gui import threads

log = logging.getLogger(__name__)

REFRESH_HZ = 10  # GUI updates per second while training
TOY_HZ = 10  # GAN Lab frames per second at most (fewer when drawing them costs more than 5% of training)
STOP_TIMEOUT = 60.0  # s a stopping child may take to save its checkpoint before it is terminated
POLL_S = 0.05  # the worker notices a dead child within this (plus the time the system takes to reap it)

__all__ = ["METRIC_COLUMNS", "NewRun", "ResumeRun", "RunStarted", "ProgressBatch", "RunEnded", "TrainingWorker",
           "TrainingSession", "training_threads", "prestart_trainer", "discard_spare", "spare_ready"]


def training_threads(config: RunConfig, requested: int = 0) -> int:
    """Threads the trainer process uses for a run (see core.training.process.training_threads)."""
    return training_process.training_threads(config.data.is_toy, requested)


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
    marks: dict[str, float] = field(default_factory=dict)  # the trainer's start-up, in wall-clock time.time()


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


def run_exists_message(run_dir: str) -> str:
    """The app's sentence for a new run whose folder already holds one: its way to resume is a button."""
    return (f"{run_dir} already holds a run; open it (File ▸ Open run…) and press “Resume training”, "
            "or choose another folder.")


@dataclass
class RunEnded:
    """Why the worker stopped: "finished", "stopped" or "failed" (with a one-sentence message)."""

    reason: str
    step: int
    total_steps: int
    checkpoint: str | None
    message: str = ""
    run_dir: str | None = None
    at: float = field(default_factory=time.perf_counter)  # when the app learnt of the end (for measurements)
    steps_done: int = 0  # steps the trainer process took, and the seconds they took there (its own speed)
    train_seconds: float = 0.0


# ---------------------------------------------------------------------------------------------------------------
# A spare trainer process, started before the user's Start (its interpreter and imports take seconds)


@dataclass
class _TrainerProcess:
    """A trainer process and the app's ends of its two pipes."""

    process: Any
    commands: Any  # the app's end of the command pipe
    events: Any  # the app's end of the event pipe


_spare: _TrainerProcess | None = None
_spare_lock = threading.Lock()
_spare_exit_hook = False


def _spawn(job: dict | None, args: tuple = ()) -> _TrainerProcess:
    """A trainer process for `job` (None: a spare that waits for its job) and the app's ends of its pipes."""
    ctx = multiprocessing.get_context("spawn")
    commands_child, commands = ctx.Pipe(duplex=False)
    events, events_child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=child_main, name="ganstudio-trainer", daemon=False,
                          args=(commands_child, events_child, job, *args))
    process.start()
    commands_child.close()
    events_child.close()
    return _TrainerProcess(process, commands, events)


def prestart_trainer() -> None:
    """Start a spare trainer process now (when the new-run wizard opens), so that Start costs only the data and
    the models; the next run takes it. Ended by discard_spare(), or by the app's exit."""
    global _spare, _spare_exit_hook
    with _spare_lock:
        if _spare is not None and _spare.process.is_alive():
            return
        dead, _spare = _spare, _spawn(None)
        if not _spare_exit_hook:
            import atexit

            atexit.register(discard_spare)  # runs before multiprocessing's own exit hook joins its children
            _spare_exit_hook = True
    if dead is not None:
        _end_spare(dead)


def spare_ready(timeout: float = 0.0) -> bool:
    """Whether a spare trainer has finished its imports (waits up to `timeout` seconds)."""
    with _spare_lock:
        spare = _spare
    return spare is not None and spare.process.is_alive() and spare.events.poll(timeout)


def discard_spare() -> None:
    """End the spare trainer process, if any."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None:
        _end_spare(spare)


def _end_spare(spare: _TrainerProcess) -> None:
    """A spare holds nothing yet: it is terminated at once (it may still be importing, deaf to its pipe)."""
    spare.commands.close()
    spare.process.terminate()
    spare.process.join(2.0)
    if spare.process.is_alive():
        spare.process.kill()
        spare.process.join()
    spare.events.close()


def _take_spare() -> _TrainerProcess | None:
    """The spare trainer, for a run that starts now (None when there is none, or it died)."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None and not spare.process.is_alive():
        _end_spare(spare)
        return None
    return spare


# ---------------------------------------------------------------------------------------------------------------
# The training worker


class ProcessControl:
    """The GUI's handle on the child's TrainingControl: the same requests, sent down the command pipe."""

    def __init__(self) -> None:
        self._conn = None
        self._lock = threading.Lock()
        self._early: list[dict] = []  # requests made before the child started
        self._stop = False
        self._paused = False
        self.stop_requested_at: float | None = None

    def attach(self, conn) -> None:
        with self._lock:
            self._conn = conn
            early, self._early = self._early, []
        for command in early:
            self._send(command)

    def _send(self, command: dict) -> None:
        with self._lock:
            if self._conn is None:
                self._early.append(command)
                return
            try:
                self._conn.send_bytes(json.dumps(command).encode("utf-8"))
            except (OSError, ValueError):  # the child has ended (its exit is reported by the worker)
                pass

    def detach(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        if not self._stop:
            self._stop = True
            self.stop_requested_at = time.monotonic()
        self._send({"cmd": "stop"})

    def pause(self) -> None:
        self._paused = True
        self._send({"cmd": "pause"})

    def resume(self) -> None:
        self._paused = False
        self._send({"cmd": "resume"})

    def single_step(self, kind: str = "both") -> None:
        if kind not in ("both", "d", "g"):
            raise ValueError(f"unknown step kind {kind!r}")
        self._send({"cmd": "single", "kind": kind})

    def change(self, settings: LiveSettings) -> None:
        self._send({"cmd": "change", "lr_g": settings.lr_g, "lr_d": settings.lr_d, "d_steps": settings.d_steps})

    def acknowledge(self) -> None:
        self._send({"cmd": "ack"})

    def want_toy_frames(self, wanted: bool) -> None:
        self._send({"cmd": "toy", "on": bool(wanted)})

    @property
    def stopped(self) -> bool:
        return self._stop

    @property
    def paused(self) -> bool:
        return self._paused


class TrainingWorker(QObject):
    """Starts the trainer process and relays its messages as signals; notices its death at once."""

    status = Signal(str)  # "Loading MNIST…"
    started = Signal(object)  # RunStarted
    progress = Signal(object)  # ProgressBatch
    ended = Signal(object)  # RunEnded

    def __init__(self, job: NewRun | ResumeRun, control: ProcessControl, refresh_hz: float = REFRESH_HZ,
                 toy_hz: float = TOY_HZ, threads: int = 0, stop_timeout: float = STOP_TIMEOUT,
                 hook: str | None = None):
        super().__init__()
        self.job = job
        self.threads = threads
        self.control = control
        self.refresh_hz, self.toy_hz = refresh_hz, toy_hz
        self.stop_timeout = stop_timeout
        self.hook = hook  # tests: "module:function" the child calls with its trainer
        self.process = None
        self.step = 0  # the newest step the child reported
        self.total_steps = 0
        self.learning_rates: tuple[float, float] | None = None
        self.run_dir = str(job.run_dir)
        self._checkpoint: str | None = None
        self._terminated = False

    @property
    def pid(self) -> int | None:
        """The trainer process's id while it runs."""
        return self.process.pid if self.process is not None else None

    def acknowledge(self) -> None:
        """Called from the GUI thread when a batch has been handled."""
        self.control.acknowledge()

    def _job(self) -> dict:
        job = self.job
        if isinstance(job, NewRun):
            data = {"kind": "new", "config": job.config.to_dict(), "run_dir": str(job.run_dir)}
        else:
            data = {"kind": "resume", "run_dir": str(job.run_dir), "steps": job.steps}
        if self.hook:
            data["hook"] = self.hook
        return data

    @Slot()
    def run(self) -> None:
        """Start the child, relay its messages until it ends; always ends with `ended`."""
        ended = None
        events = None
        try:
            spare = _take_spare()
            if spare is not None:  # started ahead of time: it has imported what training needs
                try:
                    spare.commands.send_bytes(json.dumps({"cmd": "job", "job": self._job(), "threads": self.threads,
                                                          "refresh_hz": self.refresh_hz,
                                                          "toy_hz": self.toy_hz}).encode("utf-8"))
                except (OSError, ValueError):  # it died meanwhile: start a fresh one
                    _end_spare(spare)
                    spare = None
            if spare is None:
                spare = _spawn(self._job(), (self.threads, self.refresh_hz, self.toy_hz))
            self.process, events = spare.process, spare.events
            self.control.attach(spare.commands)
            ended = self._relay(events)
        except Exception as exc:  # reported, never lost: the GUI shows it and stays usable
            log.exception("run %s failed with an unexpected error", self.run_dir)
            traceback.print_exc()
            ended = RunEnded("failed", self.step, self.total_steps, self._checkpoint, user_message(exc),
                             self.run_dir)
        finally:
            self.control.detach()
            if events is not None:
                events.close()
            self._reap()
            if ended is None:
                ended = RunEnded("failed", self.step, self.total_steps, self._checkpoint,
                                 "The training process could not start.", self.run_dir)
            level = logging.WARNING if ended.reason == "failed" else logging.INFO
            log.log(level, "run %s ended: %s at step %s of %s%s%s", ended.run_dir or self.run_dir, ended.reason, ended.step, ended.total_steps,
                    f"; checkpoint {ended.checkpoint}" if ended.checkpoint else "",
                    f"; {ended.message}" if ended.message else "")
            self.ended.emit(ended)
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())  # so that Python may delete it from the GUI thread

    def _relay(self, events) -> RunEnded:
        """Turn the child's messages into signals until its "ended" message or its death."""
        process = self.process
        while True:
            ready = wait_for([events, process.sentinel], timeout=POLL_S)
            if events in ready:
                try:
                    kind, fields, arrays = receive(events)
                except (EOFError, OSError, WireError):
                    return self._died()
                if kind == "ended":
                    return self._ended(fields)
                self._dispatch(kind, fields, arrays)
            elif process.sentinel in ready:
                if not events.poll():
                    return self._died()
            self._enforce_stop_timeout()

    def _dispatch(self, kind: str, fields: dict, arrays: dict[str, np.ndarray]) -> None:
        if kind == "log":  # the trainer's own log records, into the app's log
            logging.getLogger(str(fields["name"])).log(int(fields["level"]), "%s", fields["message"])
        elif kind == "status":
            self.status.emit(str(fields["text"]))
        elif kind == "started":
            self.run_dir = fields["run_dir"]
            self.step, self.total_steps = int(fields["step"]), int(fields["total_steps"])
            cfg = RunConfig.from_dict(fields["config"])
            log.info("run %s %s at step %d of %d: %s %dpx on %s, %s loss, data %s (%d %s), batch %d, lr G %g D %g, "
                     "%d trainer threads", fields["run_dir"], "resumed" if fields["resumed"] else "started",
                     self.step, self.total_steps, cfg.model.arch, cfg.model.resolution, fields["device"],
                     cfg.loss.name, cfg.data.source, int(fields["data_size"]),
                     "points" if cfg.model.toy else "images", cfg.train.batch_size, cfg.train.lr_g, cfg.train.lr_d,
                     self.threads)
            if fields["skipped_report"]:
                log.warning("run %s: %s", fields["run_dir"], fields["skipped_report"])
            self.started.emit(RunStarted(fields["run_dir"], cfg, self.step,
                                         self.total_steps, fields["device"], int(fields["data_size"]),
                                         fields["skipped_report"], arrays.get("real_points"),
                                         bool(fields["resumed"]), marks=dict(fields.get("marks") or {})))
        elif kind == "progress":
            self.step, self.total_steps = int(fields["step"]), int(fields["total_steps"])
            self.learning_rates = (float(fields["lr_g"]), float(fields["lr_d"]))
            if fields.get("checkpoint"):
                self._checkpoint = fields["checkpoint"]
            grids = [GridEntry(g["step"], g["epoch"], g["path"], arrays.get(g["image"]) if g["image"] else None,
                               int(g["count"]), int(g["side"])) for g in fields["grids"]]
            toy = toy_frame_from(fields["toy"], arrays) if fields.get("toy") else None
            self.progress.emit(ProgressBatch(arrays["metrics"], self.step, self.total_steps, float(fields["epoch"]),
                                             *self.learning_rates, fields["steps_per_sec"], grids, toy,
                                             fields["checkpoint"], int(fields["skipped_since_start"]),
                                             list(fields["evaluations"])))

    def _ended(self, fields: dict) -> RunEnded:
        message = fields["message"]
        if fields.get("error") == "RunExistsError":
            message = run_exists_message(fields["run_dir"])
        ended = RunEnded(fields["reason"], int(fields["step"]), int(fields["total_steps"]), fields["checkpoint"],
                         message, fields["run_dir"], steps_done=int(fields.get("steps_done", 0)),
                         train_seconds=float(fields.get("train_seconds", 0.0)))
        self.process.join(self.stop_timeout)  # the interpreter's exit is not training time
        return ended

    def _enforce_stop_timeout(self) -> None:
        """A child asked to stop that has not ended in time is terminated (then killed)."""
        asked = self.control.stop_requested_at
        if asked is None or self._terminated or time.monotonic() - asked < self.stop_timeout:
            return
        self._terminated = True
        self.process.terminate()
        self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()

    def _died(self) -> RunEnded:
        """The child ended without saying so: say what happened, at which step, and what is intact."""
        self.process.join(5.0)
        code = self.process.exitcode
        at = f"at step {self.step:,}"
        if self._terminated:
            what = f"The training process did not answer for {self.stop_timeout:g} s and was ended {at}."
        elif code == -getattr(signal, "SIGKILL", 9):
            what = f"The training process was killed by the system {at} — out of memory?"
        elif code is not None and code < 0:
            what = f"The training process crashed ({_signal_name(-code)}) {at}."
        else:
            what = f"The training process ended unexpectedly (exit status {code}) {at}."
        latest = RunFolder(self.run_dir).latest_checkpoint() if Path(self.run_dir).is_dir() else None
        if latest is not None:
            kept = f" The last checkpoint, step {checkpoint_step(latest):,}, is intact. Resume?"
        else:
            kept = " It had saved no checkpoint yet."
        return RunEnded("failed", self.step, self.total_steps, str(latest) if latest else None, what + kept,
                        self.run_dir)

    def _reap(self) -> None:
        """No orphan: the child has ended, or is ended now."""
        process = self.process
        if process is None:
            return
        if process.is_alive():
            process.join(self.stop_timeout if self.control.stopped else 1.0)
        if process.is_alive():
            process.terminate()
            process.join(2.0)
        if process.is_alive():
            process.kill()
            process.join()


def _signal_name(number: int) -> str:
    names = {"SIGSEGV": "a segmentation fault", "SIGABRT": "aborted", "SIGBUS": "a bus error",
             "SIGFPE": "a floating-point exception", "SIGILL": "an illegal instruction", "SIGTERM": "terminated"}
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    return names.get(name, name)


class TrainingSession(QObject):
    """The GUI thread's handle on one training worker and its thread: start, control, shut down."""

    status = Signal(str)
    started = Signal(object)  # RunStarted
    progress = Signal(object)  # ProgressBatch
    ended = Signal(object)  # RunEnded

    def __init__(self, job: NewRun | ResumeRun, refresh_hz: float = REFRESH_HZ, toy_hz: float = TOY_HZ,
                 threads: int = 0, stop_timeout: float = STOP_TIMEOUT, hook: str | None = None):
        super().__init__()  # no parent: closing a widget must not destroy a thread that still runs
        self.job = job
        self.control = ProcessControl()
        self.qthread = QThread()
        self.qthread.setObjectName("ganstudio-training")
        self.worker = TrainingWorker(job, self.control, refresh_hz, toy_hz, threads, stop_timeout, hook)
        self.worker.moveToThread(self.qthread)
        self.qthread.started.connect(self.worker.run)
        self.worker.status.connect(self.status)
        self.worker.started.connect(self.started)
        self.worker.progress.connect(self._on_progress)
        self.worker.ended.connect(self._on_ended)
        self.qthread.finished.connect(self._on_thread_finished)
        self.result: RunEnded | None = None
        self._gui_threads: int | None = None

    def start(self) -> None:
        threads.register(self, self.qthread, self.stop)  # join_all_threads stops it and waits for it
        self._gui_threads = _set_torch_threads(1)  # the trainer process gets the cores
        self.qthread.start()

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

    def want_toy_frames(self, wanted: bool) -> None:
        """Whether the GAN Lab view is on screen: the trainer makes its frames only then."""
        self.control.want_toy_frames(wanted)

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
        if self._gui_threads is not None:
            _set_torch_threads(self._gui_threads)
            self._gui_threads = None
        threads.unregister(self)


def _set_torch_threads(n: int) -> int | None:
    """Set this process's torch threads (when torch is loaded); returns the previous number."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return None
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    return previous
