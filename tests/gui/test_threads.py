"""The one worker framework (gui/threads.py): function and generator workers, abort, errors as sentences, and the
one registry that join_all_threads and the leak check see."""
from __future__ import annotations

import threading

from ganstudio.core.errors import GanStudioError
from ganstudio.gui import threads
from ganstudio.gui.threads import GeneratorWorker, WorkerGroup, create_worker, thread_worker

WAIT = 10_000


def test_a_function_worker_reports_progress_and_returns(qtbot):
    def work(progress, cancelled):
        for i in range(3):
            progress(i + 1, 3)
        return "done"

    worker = create_worker(work)
    steps = []
    worker.progress.connect(lambda done, total: steps.append((done, total)))
    with qtbot.waitSignal(worker.returned, timeout=WAIT) as returned:
        worker.start()
    assert returned.args == ["done"] and steps == [(1, 3), (2, 3), (3, 3)]
    qtbot.waitUntil(lambda: not threads.running_threads(), timeout=WAIT)


def test_errors_arrive_as_one_sentence(qtbot):
    def bad(progress, cancelled):
        raise ValueError("odd\n value")

    def refused(progress, cancelled):
        raise GanStudioError("could not read the folder")

    worker = create_worker(bad, _doing="the export")
    with qtbot.waitSignal(worker.errored, timeout=WAIT) as bad_said:
        worker.start()
    assert bad_said.args == ["The export failed (ValueError: odd value)."]
    assert worker.join(WAIT)
    worker = create_worker(refused, _start_thread=False)
    with qtbot.waitSignal(worker.errored, timeout=WAIT) as said:
        worker.start()
    assert said.args == ["Could not read the folder."]
    assert worker.join(WAIT) and not threads.running_threads()


def test_quit_aborts_at_the_next_progress_call_and_join_waits(qtbot):
    started = threading.Event()

    def endless(progress, cancelled):
        started.set()
        while True:
            progress(0, 1)

    worker = create_worker(endless).start()
    returned, aborted = [], []
    worker.returned.connect(returned.append)
    worker.aborted.connect(lambda: aborted.append(True))
    assert started.wait(5) and worker.is_running and worker.qthread in threads.running_threads()
    assert worker.join(WAIT)
    qtbot.waitUntil(lambda: bool(aborted), timeout=WAIT)
    assert not returned and not threads.running_threads()


def test_a_generator_worker_yields_and_stops_between_yields(qtbot):
    gate = threading.Event()

    @thread_worker
    def count(n):
        for i in range(n):
            yield i
            gate.wait(5)
        return "finished"

    worker = count(1000)
    assert isinstance(worker, GeneratorWorker) and not worker.is_running
    seen = []
    worker.yielded.connect(seen.append)
    worker.start()
    qtbot.waitUntil(lambda: seen == [0], timeout=WAIT)
    aborted = []
    worker.aborted.connect(lambda: aborted.append(True))
    worker.quit()
    gate.set()
    qtbot.waitUntil(lambda: bool(aborted) and not worker.is_running, timeout=WAIT)
    assert seen == [0]
    worker = count(3)
    with qtbot.waitSignal(worker.returned, timeout=WAIT) as returned:
        worker.start()
    assert returned.args == ["finished"]
    qtbot.waitUntil(lambda: not worker.is_running, timeout=WAIT)


def test_join_all_threads_stops_every_worker_and_a_group_joins_its_own(qtbot):
    def until_cancelled(progress, cancelled):
        while not cancelled():
            threading.Event().wait(0.01)

    group = WorkerGroup()
    grouped = group.create(until_cancelled, "grouped").start()
    loose = create_worker(until_cancelled, _start_thread=True)
    assert {grouped.qthread, loose.qthread} <= set(threads.running_threads())
    group.join()
    assert not grouped.is_running and loose.is_running
    threads.join_all_threads()
    assert not threads.running_threads()
