"""Training in a child process: the wire format between the app and its trainer, and the child's main function.

The app spawns `child_main` (multiprocessing's spawn context: a fresh interpreter, whose main thread trains with
its own torch threads) and talks to it over two one-way pipes of plain data. Every message is a JSON header sent
with `send_bytes`, then one raw buffer per numpy array it names (dtype from an allow-list, and shape); nothing
the child sends is unpickled, so a broken or hostile child can send the app only numbers, strings and arrays.

Child -> app: "status" {text}; "started" {...} with the real points of a toy run and the wall-clock `marks` of
its start-up (entered, imported, data, built); "progress" {...} with the steps' metrics (METRIC_COLUMNS), sample grids (uint8
images) and the GAN Lab frame (made here, so the app does no tensor work); and last "ended" {reason, step,
total_steps, checkpoint, message, run_dir, steps_done, train_seconds}. App -> child: "pause", "resume", "single"
{kind}, "change" {lr_g, lr_d, d_steps}, "stop", "toy" {on} (whether the app shows the GAN Lab view: frames are
made only then), and "ack" once the app has shown a progress message (the child sends no new one before, so it
cannot flood the app). A spare trainer, started before the user asks for a run (when the new-run wizard opens),
imports what training needs, says "ready", and waits for "job" {job, threads, refresh_hz, toy_hz}: Start then
costs only the data and the models. When the app's end of the pipe closes (the app died), the
child stops after its step, saves a checkpoint and exits: it never outlives the app as an orphan.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import threading
import time
import traceback
from collections import deque
from typing import Any

import numpy as np

from ganstudio.core.training.reports import CYCLE_METRICS

REPORT_COLUMNS = ("step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                  "images_per_sec")  # StepReport's own fields
# The extras the app plots: ADA's p and r_t, a CycleGAN's terms (NaN where a run has none)
EXTRA_COLUMNS = ("augment_p", "ada_rt", *CYCLE_METRICS)
METRIC_COLUMNS = (*REPORT_COLUMNS, *EXTRA_COLUMNS)  # the columns of every "progress" message's metrics
DTYPES = {"uint8", "int64", "float32", "float64", "bool"}  # what an array on the wire may be
TOY_BUDGET = 0.05  # GAN Lab frames take at most this share of the training time
# The trainer yields to the app's event loop on busy cores (halved its worst lateness in threads). It costs nothing
# while the GUI is idle, and with Linux's autogroups (on by default) it ranks the trainer only against the app.
CHILD_NICE = 5


class WireError(Exception):
    """A message that breaks the wire format (a child that crashed mid-message, or not ours)."""


def send(conn, kind: str, fields: dict | None = None, arrays: dict[str, np.ndarray] | None = None) -> None:
    """Send one message: a JSON header, then each array's raw bytes."""
    arrays = {name: np.ascontiguousarray(a) for name, a in (arrays or {}).items()}
    header = {"kind": kind, "fields": fields or {},
              "arrays": [[name, str(a.dtype), list(a.shape)] for name, a in arrays.items()]}
    conn.send_bytes(json.dumps(header).encode("utf-8"))
    for a in arrays.values():
        conn.send_bytes(a.tobytes() if a.size else b"")


def receive(conn) -> tuple[str, dict, dict[str, np.ndarray]]:
    """The next message as (kind, fields, arrays); WireError when it is not well formed."""
    try:
        header = json.loads(conn.recv_bytes().decode("utf-8"))
        kind, fields, specs = header["kind"], header["fields"], header["arrays"]
        if not isinstance(kind, str) or not isinstance(fields, dict):
            raise TypeError("kind and fields")
        arrays = {}
        for name, dtype, shape in specs:
            if dtype not in DTYPES:
                raise TypeError(f"dtype {dtype}")
            raw = conn.recv_bytes()
            arrays[str(name)] = np.frombuffer(raw, dtype=dtype).reshape([int(n) for n in shape]).copy()
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise WireError(f"a malformed message from the training process ({exc})") from None
    return kind, fields, arrays


def toy_frame_message(frame) -> tuple[dict, dict[str, np.ndarray]]:
    """A core.toy_view.ToyFrame as fields and arrays."""
    arrays = {"toy.field": frame.field, "toy.fake": frame.fake, "toy.gradients": frame.gradients}
    if frame.manifold is not None:
        arrays["toy.manifold"] = frame.manifold
    return {"step": frame.step, "extent": frame.extent, "probability": frame.probability}, arrays


def toy_frame_from(fields: dict, arrays: dict[str, np.ndarray]):
    """The ToyFrame of toy_frame_message."""
    from ganstudio.core.toy_view import ToyFrame

    return ToyFrame(int(fields["step"]), float(fields["extent"]), arrays["toy.field"], arrays["toy.fake"],
                    arrays["toy.gradients"], bool(fields["probability"]), arrays.get("toy.manifold"))


def training_threads(toy: bool, requested: int = 0) -> int:
    """Threads for a run's tensor operations: the user's choice, else one for 2D toy models (their operations
    are too small to split: a second thread only adds synchronisation, which costs up to 20x when the cores
    are busy), else PyTorch's default of one per physical core."""
    import torch

    if requested > 0:
        return requested
    return 1 if toy else torch.get_num_threads()


class _Commands:
    """Reads the app's commands in a thread of the child and applies them to the loop's TrainingControl."""

    def __init__(self, conn, control):
        self.conn, self.control = conn, control
        self.handled = threading.Event()  # the app has shown the last progress message
        self.handled.set()
        self.app_gone = False
        self.toy_wanted = True  # the app shows the GAN Lab view (frames are made only then)
        threading.Thread(target=self._read, name="ganstudio-commands", daemon=True).start()

    def _read(self) -> None:
        from ganstudio.core.training.control import LiveSettings

        while True:
            try:
                command = json.loads(self.conn.recv_bytes().decode("utf-8"))
            except (EOFError, OSError):  # the app closed its end or died: save and end
                self.app_gone = True
                self.control.stop()
                self.handled.set()
                return
            except ValueError:
                continue
            name = command.get("cmd")
            if name == "ack":
                self.handled.set()
            elif name == "pause":
                self.control.pause()
            elif name == "resume":
                self.control.resume()
            elif name == "single":
                self.control.single_step(command.get("kind", "both"))
            elif name == "change":
                self.control.change(LiveSettings(command.get("lr_g"), command.get("lr_d"), command.get("d_steps")))
            elif name == "stop":
                self.control.stop()
            elif name == "toy":
                self.toy_wanted = bool(command.get("on", True))


class _Child:
    """The child's side: builds the trainer, trains, and reports in batches at the app's refresh rate."""

    def __init__(self, events, commands: _Commands, control, refresh_hz: float, toy_hz: float):
        self.events, self.commands, self.control = events, commands, control
        self.interval = 1.0 / refresh_hz
        self.toy_interval = 1.0 / toy_hz if toy_hz else None
        self.rows: list[tuple] = []
        self.grids: list[tuple[dict, np.ndarray | None]] = []
        self.evaluations: list[dict] = []
        self.checkpoint: str | None = None
        self.rate = deque(maxlen=100)
        self.last = None
        self.next_flush = 0.0
        self.next_toy = 0.0
        self.real = None
        self.trainer = None
        self.saying = threading.Lock()
        self.steps_done = 0  # steps this process trained, and the seconds they took (its own speed)
        self.train_seconds = 0.0
        self.marks: dict[str, float] = {}  # wall-clock times of the start-up's parts, for measurements

    def say(self, kind: str, fields: dict | None = None, arrays: dict | None = None) -> None:
        with self.saying:  # the logging handler may speak from another thread
            if not self.commands.app_gone:
                try:
                    send(self.events, kind, fields, arrays)
                except (BrokenPipeError, OSError):
                    self.commands.app_gone = True
                    self.control.stop()

    def build(self, job: dict, threads: int):
        import torch

        from ganstudio.core.config import RunConfig
        from ganstudio.core.data import load_data
        from ganstudio.core.device import resolve_device
        from ganstudio.core.errors import GanStudioError
        from ganstudio.core.runs import RunFolder
        from ganstudio.core.training.loop import Trainer

        self.marks["imported"] = time.time()
        resume = job["kind"] == "resume"
        cfg = RunFolder.open(job["run_dir"]).config() if resume else RunConfig.from_dict(job["config"])
        torch.set_num_threads(training_threads(cfg.data.is_toy, threads))
        device = resolve_device(cfg.train.device)
        self.say("status", {"text": f"Loading {cfg.data.source}…"})
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if self.control.stopped:
                raise GanStudioError("the run was cancelled while its data was loading")
            now = time.monotonic()
            if now - last[0] > 0.1 or done == total:
                last[0] = now
                self.say("status", {"text": f"Loading {cfg.data.source}: {done:,} of {total:,}"})

        data = load_data(cfg.data, device, seed=cfg.train.seed, progress=progress,
                         class_order=cfg.model.class_names)  # a resumed run keeps its labels' numbers
        self.marks["data"] = time.time()
        self.say("status", {"text": "Building the models…"})
        if resume:
            self.trainer = Trainer.resume(job["run_dir"], control=self.control, steps=job.get("steps"), data=data)
        else:
            self.trainer = Trainer(cfg, job["run_dir"], control=self.control, data=data)
        if job.get("hook"):  # tests: "module:function", called with the trainer (fault injection)
            module, _, name = job["hook"].partition(":")
            getattr(importlib.import_module(module), name)(self.trainer)
        self.marks["built"] = time.time()
        return self.trainer

    def train(self, trainer, resumed: bool) -> dict:
        arrays = {}
        if trainer.config.model.toy:
            self.real = trainer.real_sample(1000)
            arrays["real_points"] = self.real
        start = trainer.step
        self.say("started", {"run_dir": str(trainer.run.path), "config": trainer.config.to_dict(),
                             "step": trainer.step, "total_steps": trainer.total_steps, "device": trainer.device_name,
                             "data_size": trainer.data_size, "skipped_report": trainer.dataset_info.skipped_report,
                             "resumed": resumed, "marks": self.marks}, arrays)
        began = time.perf_counter()
        for report in trainer:
            self.collect(report)
            paused = self.control.paused
            if paused or time.monotonic() >= self.next_flush:
                self.flush(force=paused)
        self.steps_done, self.train_seconds = trainer.step - start, time.perf_counter() - began
        if self.control.stopped and trainer.step < trainer.total_steps and trainer.run is not None:
            stopped = trainer.save_stopped()  # a checkpoint, and a grid of this step when it has none
            self.checkpoint = stopped.checkpoint_path
            if stopped.samples is not None:
                self.collect_grid(stopped.step, stopped.epoch, stopped.samples, stopped.grid_path)
        self.flush(force=True)
        if trainer.step >= trainer.total_steps:
            return {"reason": "finished"}
        what = "Stopped" if trainer.step > start else "Stopped before the first step"
        return {"reason": "stopped", "message": f"{what} at step {trainer.step:,}; the checkpoint is saved."}

    def collect(self, report) -> None:
        self.rows.append((*(getattr(report, name) for name in REPORT_COLUMNS),
                          *(report.extras.get(name) for name in EXTRA_COLUMNS)))
        self.last = report
        if report.checkpoint_path:
            self.checkpoint = report.checkpoint_path
        if report.samples is not None:
            self.collect_grid(report.step, report.epoch, report.samples, report.grid_path)
        if report.evaluation is not None:
            self.evaluations.append(report.evaluation)

    def collect_grid(self, step: int, epoch: float, samples: np.ndarray, path: str | None) -> None:
        """A sample grid for the app: images as one picture, toy points as they are (drawn live)."""
        entry = {"step": step, "epoch": epoch, "path": path, "count": len(samples),
                 "side": 0 if samples.ndim != 4 else int(samples.shape[-1])}
        image = None
        if samples.ndim == 4:  # toy points: the scatter is drawn live, the PNG keeps the history
            image = np.asarray(self.trainer.render_samples(samples))  # the family's layout (CycleGAN: 6 rows)
        self.grids.append((entry, image))

    def flush(self, force: bool = False) -> None:
        """Send what was collected, unless the app is still busy with the last batch (then keep collecting)."""
        trainer = self.trainer
        now = time.monotonic()
        if not force and not self.commands.handled.is_set():
            self.next_flush = now + self.interval / 4  # look again soon
            return
        if not self.rows and not force:
            return
        self.next_flush = now + self.interval
        rows = np.array([[np.nan if v is None else v for v in r] for r in self.rows], dtype=np.float64)
        rows = rows.reshape(-1, len(METRIC_COLUMNS))
        self.rows = []
        if self.control.paused:
            self.rate.clear()
            rate = None
        else:
            self.rate.append((now, trainer.step))
            while len(self.rate) > 2 and now - self.rate[0][0] > 10.0:
                self.rate.popleft()
            (t0, s0), (t1, s1) = self.rate[0], self.rate[-1]
            rate = (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None
        lr_g, lr_d = trainer.learning_rates
        fields: dict[str, Any] = {
            "step": trainer.step, "total_steps": trainer.total_steps,
            "epoch": self.last.epoch if self.last else 0.0, "lr_g": lr_g, "lr_d": lr_d, "steps_per_sec": rate,
            "checkpoint": self.checkpoint, "skipped_since_start": len(trainer.skipped_files),
            "evaluations": self.evaluations, "grids": [], "toy": None,
        }
        arrays = {"metrics": rows}
        for i, (entry, image) in enumerate(self.grids):
            if image is not None:
                arrays[f"grid{i}"] = image
            fields["grids"].append({**entry, "image": f"grid{i}" if image is not None else None})
        self.grids, self.evaluations = [], []
        if (trainer.config.model.toy and self.toy_interval is not None and self.commands.toy_wanted
                and (force or now >= self.next_toy)):
            frame = self.toy_frame()
            if frame is not None:
                fields["toy"], toy_arrays = toy_frame_message(frame)
                arrays.update(toy_arrays)
            cost = time.monotonic() - now
            self.next_toy = now + max(self.toy_interval, cost / TOY_BUDGET)
        self.commands.handled.clear()
        self.say("progress", fields, arrays)

    def toy_frame(self):
        try:
            return self.trainer.toy_frame(self.real)
        except Exception:  # the live picture is a view: it must never stop the run
            traceback.print_exc()
            self.toy_interval = None
            return None


def _lower_priority() -> None:
    """Let the app's GUI thread go first when the CPU is contended (no effect when the cores are idle)."""
    try:
        os.nice(CHILD_NICE)
    except (AttributeError, OSError):  # Windows has no nice; the default priority is fine there
        pass


class _LogToApp(logging.Handler):
    """The child's log records travel to the app as "log" messages, so they land in the app's log file."""

    def __init__(self, child: "_Child"):
        super().__init__(logging.INFO)
        self.child = child

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.child.say("log", {"level": record.levelno, "name": record.name, "message": record.getMessage()})
        except Exception:  # logging must never stop training
            pass


def warm_up() -> None:
    """Import what any run needs: torch, the trainer, torch._dynamo (every optimizer's first construction imports
    it) and torchvision (its datasets and grids); seconds that a spare trainer spends before the user's Start."""
    import torch._dynamo  # noqa: F401
    import torchvision  # noqa: F401

    import ganstudio.core.training.loop  # noqa: F401


def _wait_for_job(commands_conn) -> dict | None:
    """A spare's job: {"cmd": "job", "job", "threads", "refresh_hz", "toy_hz"}; None when the app let it go."""
    while True:
        try:
            request = json.loads(commands_conn.recv_bytes().decode("utf-8"))
        except (EOFError, OSError):  # the app discarded the spare, or ended
            return None
        except ValueError:
            continue
        if isinstance(request, dict) and request.get("cmd") == "job" and isinstance(request.get("job"), dict):
            return request


def child_main(commands_conn, events_conn, job: dict | None = None, threads: int = 0, refresh_hz: float = 10.0,
               toy_hz: float = 10.0) -> None:
    """The training process: build the trainer for `job` ({"kind": "new", "config", "run_dir"} or {"kind":
    "resume", "run_dir", "steps"}), train under the app's commands, and always end with an "ended" message.
    Without a job it is a spare started ahead of time: it warms up, says "ready", and waits for its job."""
    from ganstudio.core.errors import GanStudioError, user_message
    from ganstudio.core.training.control import TrainingControl

    _lower_priority()
    if job is None:
        try:
            warm_up()
        except Exception:  # what fails here fails again, in a sentence, when the job builds its trainer
            traceback.print_exc()
        try:
            send(events_conn, "ready")
        except OSError:  # the app is gone
            return
        request = _wait_for_job(commands_conn)
        if request is None:
            events_conn.close()
            return
        job, threads = request["job"], int(request.get("threads", threads))
        refresh_hz, toy_hz = float(request.get("refresh_hz", refresh_hz)), float(request.get("toy_hz", toy_hz))
    entered = time.time()
    control = TrainingControl()
    commands = _Commands(commands_conn, control)
    child = _Child(events_conn, commands, control, refresh_hz, toy_hz)
    child.marks["entered"] = entered
    package_log = logging.getLogger("ganstudio")
    package_log.setLevel(logging.INFO)
    package_log.addHandler(_LogToApp(child))
    ended: dict[str, Any] = {"reason": "failed", "message": ""}
    try:
        trainer = child.build(job, threads)
        ended = child.train(trainer, job["kind"] == "resume")
    except Exception as exc:  # reported, never lost: the app shows it and stays usable
        if not isinstance(exc, GanStudioError):
            traceback.print_exc()
        if child.trainer is not None:
            try:
                child.flush(force=True)  # the steps before the failure still reach the plots
            except Exception:
                traceback.print_exc()
        if child.trainer is None and control.stopped:
            ended = {"reason": "stopped", "message": "Stopped while the data was loading; nothing was trained."}
        else:
            # the error's kind lets the app word what its user can do (RunExistsError: its Resume button)
            ended = {"reason": "failed", "message": user_message(exc), "error": type(exc).__name__}
    trainer = child.trainer
    run_dir = str(trainer.run.path) if trainer is not None and trainer.run is not None else str(job["run_dir"])
    ended.update(step=trainer.step if trainer else 0, total_steps=trainer.total_steps if trainer else 0,
                 checkpoint=child.checkpoint, run_dir=run_dir, steps_done=child.steps_done,
                 train_seconds=child.train_seconds)
    ended.setdefault("message", "")
    child.say("ended", ended)
    events_conn.close()
