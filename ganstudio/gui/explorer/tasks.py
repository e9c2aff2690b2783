"""A function run off the GUI thread (computing directions, exporting), with progress, cancel and a clean stop.

The function is called as fn(progress, cancelled) where progress(done, total) reports and cancelled() tells
whether the user asked to stop. A QObject worker on its own QThread runs it; every exception is caught and
reported as one sentence; the thread is stopped with quit() and wait(), never terminate()."""
from __future__ import annotations

import threading
import traceback
import weakref
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ganstudio.core.errors import Cancelled, GanStudioError

TaskFn = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]

_running: "weakref.WeakSet[Task]" = weakref.WeakSet()
_keep_alive: set = set()  # tasks whose thread has not ended yet


SENTENCE_STARTS = {"a", "an", "the", "this", "these", "there", "could", "cannot", "can't", "class", "rendering",
                   "style", "slider", "unknown", "choose", "write", "at", "images", "animations", "mp4",
                   "frames", "open", "saved", "loaded", "exported", "no", "not", "computing", "cancelled"}


def as_sentence(message: str) -> str:
    """A core message ('could not ...') as a sentence for the screen; one that starts with a name (a file,
    a model) keeps its case."""
    message = message.strip()
    first = message.split(" ", 1)[0]
    if first.lower() in SENTENCE_STARTS or first[:1].isdigit():
        message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?", "…")) else message + "."


def running_tasks() -> list["Task"]:
    """Tasks whose thread is still running (the tests check that none is left)."""
    return [t for t in list(_running) if t.is_running()]


class _Worker(QObject):
    progress = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, fn: TaskFn, cancel: threading.Event, what: str):
        super().__init__()
        self._fn, self._cancel, self._what = fn, cancel, what

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(lambda done, total: self.progress.emit(int(done), int(total)), self._cancel.is_set)
        except Cancelled:
            self.cancelled.emit()
        except GanStudioError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # an unexpected failure still reaches the user as one sentence
            traceback.print_exc()
            self.failed.emit(f"{self._what} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
        else:
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)
        finally:
            self.finished.emit()


class Task(QObject):
    """One background job: start(), cancel(), stop(); signals arrive on the GUI thread."""

    progress = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, fn: TaskFn, what: str = "the task", parent: QObject | None = None):
        super().__init__(parent)
        self._cancel = threading.Event()
        self._thread = QThread()
        self._thread.setObjectName(f"ganstudio-{what}")
        self._worker = _Worker(fn, self._cancel, what)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        for name in ("progress", "succeeded", "failed", "cancelled"):
            getattr(self._worker, name).connect(getattr(self, name))
        # quit() from the worker's own thread: a queued quit would never run while the GUI thread waits in stop()
        self._worker.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._ended)
        self._started = False

    def start(self) -> "Task":
        self._started = True
        _running.add(self)
        _keep_alive.add(self)  # a QThread must never be destroyed while it runs
        self._thread.start()
        return self

    def _ended(self) -> None:
        _keep_alive.discard(self)
        self.finished.emit()

    def cancel(self) -> None:
        """Ask the function to stop at its next check."""
        self._cancel.set()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def stop(self, timeout_ms: int = 10000) -> bool:
        """Cancel, then wait for the thread to end; True when it has."""
        self.cancel()
        if self._started:
            self._thread.quit()
            return self._thread.wait(timeout_ms)
        return True
