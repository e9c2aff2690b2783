"""Work off the GUI thread, shaped like superqt's `create_worker` / `@thread_worker`, and the one registry of
every worker thread that runs (short tasks and the training session alike).

A function worker calls fn(progress, cancelled): progress(done, total) reports (and raises core's Cancelled once
the worker was asked to quit), cancelled() tells whether it was. A generator worker runs a generator function,
sends each value it yields as `yielded` and checks for quit between yields. Either ends with exactly one of
`returned(value)`, `errored(sentence)` or `aborted`, then `finished`; all signals arrive on the GUI thread.

Each worker is a QObject on its own QThread (not a thread pool, unlike superqt: a worker can be joined on its
own, and join_all_threads can wait for every thread when the app quits). A worker has no parent, and the registry
holds it while its thread runs: a QThread must never be destroyed while it runs. Threads are stopped by a flag,
then quit() and wait(); never terminate().
"""
from __future__ import annotations

import inspect
import logging
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from ganstudio.core.errors import Cancelled, GanStudioError, user_message

log = logging.getLogger(__name__)

_live: dict[QObject, tuple[QThread, Callable[[], None]]] = {}  # owner -> (its thread, how to ask it to stop)


def register(owner: QObject, thread: QThread, stop: Callable[[], None]) -> None:
    """Keep `owner` alive while `thread` runs and let join_all_threads stop it; the owner unregisters itself."""
    _live[owner] = (thread, stop)


def unregister(owner: QObject) -> None:
    """The owner's thread has finished."""
    _live.pop(owner, None)


def running_threads() -> list[QThread]:
    """Every worker thread still running, training included (the tests check that none is left)."""
    return [thread for thread, _ in list(_live.values()) if thread.isRunning()]


def join_all_threads() -> None:
    """Ask every worker to stop (training saves its checkpoint), then wait for all their threads."""
    for _, stop in list(_live.values()):
        stop()
    for thread in running_threads():
        thread.quit()
        thread.wait()


class _Runner(QObject):
    """Runs the work in the worker's thread; its signals are relayed by the worker on the GUI thread."""

    progress = Signal(int, int)
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(str)
    aborted = Signal()
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], abort: threading.Event, doing: str):
        super().__init__()
        self.fn, self.abort, self.doing = fn, abort, doing

    @Slot()
    def run(self) -> None:
        try:
            result = self.work()
        except Cancelled:
            self.aborted.emit()
        except Exception as exc:  # reported as one sentence, never lost
            if isinstance(exc, GanStudioError):
                log.warning("%s: %s", self.doing or "a background task", exc)
            else:
                log.exception("%s failed with an unexpected error", self.doing or "a background task")
                traceback.print_exc()
            if self.abort.is_set():
                self.aborted.emit()
            else:
                self.errored.emit(user_message(exc, self.doing))
        else:
            if self.abort.is_set():
                self.aborted.emit()
            else:
                self.returned.emit(result)
        finally:
            self.finished.emit()
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())  # so that Python may delete it from the GUI thread

    def work(self) -> Any:
        return self.fn(self._progress, self.abort.is_set)

    def _progress(self, done: int, total: int) -> None:
        if self.abort.is_set():
            raise Cancelled("cancelled")
        self.progress.emit(int(done), int(total))


class _GeneratorRunner(_Runner):
    def work(self) -> Any:
        generator = self.fn()
        while not self.abort.is_set():  # checked between yields
            try:
                value = next(generator)
            except StopIteration as stop:
                return stop.value
            if not self.abort.is_set():  # a value made after quit() is dropped
                self.yielded.emit(value)
        generator.close()
        raise Cancelled("cancelled")


class WorkerBase(QObject):
    """One piece of work on its own thread: start(), quit() (ask it to stop), join(); see the module's doc."""

    started = Signal()
    progress = Signal(int, int)  # function workers: progress(done, total)
    yielded = Signal(object)  # generator workers: each yielded value
    returned = Signal(object)
    errored = Signal(str)  # what went wrong, as one sentence
    aborted = Signal()
    finished = Signal()

    _runner_class = _Runner

    def __init__(self, fn: Callable[..., Any], name: str = "task", doing: str = ""):
        super().__init__()  # no parent: a widget closing must not destroy a thread that still runs
        self._abort = threading.Event()
        self.qthread = QThread()
        self.qthread.setObjectName(f"ganstudio-{name}")
        self._runner = self._runner_class(fn, self._abort, doing)
        self._runner.moveToThread(self.qthread)
        self.qthread.started.connect(self._runner.run)
        for signal in ("progress", "yielded", "returned", "errored", "aborted"):
            getattr(self._runner, signal).connect(getattr(self, signal))
        # quit() from the worker's own thread: a queued quit would never run while the GUI thread waits in join()
        self._runner.finished.connect(self.qthread.quit, Qt.ConnectionType.DirectConnection)
        self.qthread.finished.connect(self._on_thread_finished)
        self._started = False

    def start(self) -> "WorkerBase":
        """Start the thread (once); returns the worker."""
        if not self._started:
            self._started = True
            register(self, self.qthread, self.quit)
            self.qthread.start()
            self.started.emit()
        return self

    def quit(self) -> None:
        """Ask the work to stop at its next check; whatever it returns after this is dropped (`aborted`)."""
        self._abort.set()

    @property
    def abort_requested(self) -> bool:
        return self._abort.is_set()

    @property
    def is_running(self) -> bool:
        return self.qthread.isRunning()

    def join(self, msecs: int | None = None) -> bool:
        """quit(), then wait for the thread to end; True when it has."""
        self.quit()
        if not self._started:
            return True
        self.qthread.quit()
        return self.qthread.wait() if msecs is None else self.qthread.wait(msecs)

    @Slot()
    def _on_thread_finished(self) -> None:
        unregister(self)
        self.finished.emit()


class FunctionWorker(WorkerBase):
    """fn(progress, cancelled) -> result, on its own thread."""


class GeneratorWorker(WorkerBase):
    """A generator function on its own thread: each value goes out as `yielded`, quit is checked between yields,
    its return value goes out as `returned`."""

    _runner_class = _GeneratorRunner


def create_worker(fn: Callable[..., Any], *args: Any, _start_thread: bool = False, _name: str = "task",
                  _doing: str = "", _connect: dict[str, Callable] | None = None, **kwargs: Any) -> WorkerBase:
    """A GeneratorWorker for a generator function, else a FunctionWorker; `_connect` maps signal names to slots."""
    if inspect.isgeneratorfunction(fn):
        worker: WorkerBase = GeneratorWorker(lambda: fn(*args, **kwargs), _name, _doing)
    else:
        worker = FunctionWorker((lambda progress, cancelled: fn(progress, cancelled, *args, **kwargs))
                                if args or kwargs else fn, _name, _doing)
    for signal, slot in (_connect or {}).items():
        getattr(worker, signal).connect(slot)
    return worker.start() if _start_thread else worker


def thread_worker(fn: Callable[..., Any] | None = None, *, start_thread: bool = False, name: str = "task",
                  doing: str = "", connect: dict[str, Callable] | None = None):
    """Decorator: calling the function returns its worker (started when start_thread is True)."""
    def decorate(func: Callable[..., Any]) -> Callable[..., WorkerBase]:
        def make(*args: Any, **kwargs: Any) -> WorkerBase:
            return create_worker(func, *args, _start_thread=start_thread, _name=name, _doing=doing,
                                 _connect=connect, **kwargs)
        make.__doc__, make.__name__ = func.__doc__, func.__name__
        return make
    return decorate(fn) if fn is not None else decorate


class WorkerGroup:
    """The workers a widget started, so that it can stop and join all of them when it closes."""

    def __init__(self) -> None:
        self.workers: list[WorkerBase] = []

    def create(self, fn: Callable[..., Any], name: str, doing: str = "") -> WorkerBase:
        """A worker (not started yet) that the group will stop and join."""
        self.workers = [w for w in self.workers if w.is_running]
        worker = create_worker(fn, _name=name, _doing=doing)
        self.workers.append(worker)
        return worker

    def quit_all(self) -> None:
        """Ask every worker to stop."""
        for worker in self.workers:
            worker.quit()

    def join(self) -> None:
        """Stop every worker and wait for its thread."""
        for worker in self.workers:
            worker.join()
        self.workers = []
