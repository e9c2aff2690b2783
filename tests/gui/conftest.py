"""GUI test fixtures: settings in a temporary folder, and a check that fails a test which leaves top-level
widgets or worker threads behind (after joining the threads, so one failure does not poison the next test)."""
from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QStandardPaths
from PySide6.QtWidgets import QApplication

from ganstudio.gui.threads import running_threads


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app's settings at a temporary file: tests never touch the user's real settings."""
    path = tmp_path / "config" / "settings.json"
    monkeypatch.setenv("GANSTUDIO_SETTINGS", str(path))
    QStandardPaths.setTestModeEnabled(True)
    return path


@pytest.fixture(autouse=True)
def no_leaks(qapp: QApplication):
    """Fail a test that leaves a top-level widget or a running worker thread behind."""
    before = set(qapp.topLevelWidgets())
    threads_before = set(threading.enumerate())
    yield
    leaked_threads = running_threads()
    for thread in leaked_threads:  # join them anyway, so that the next test starts clean
        thread.quit()
        thread.wait(30_000)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # Still open, or one of ours still alive. (pyqtgraph's hidden, parentless context menus belong to their
    # plots' Python objects, which pytest keeps until the end of the teardown: they are not counted.)
    leaked = [type(w).__name__ for w in qapp.topLevelWidgets()
              if w not in before and (w.isVisible() or type(w).__module__.startswith("ganstudio"))]
    python_threads = [t.name for t in threading.enumerate()  # QThreads that ran Python show up as dummies
                      if t not in threads_before and t.is_alive() and not isinstance(t, threading._DummyThread)]
    assert not leaked_threads, f"the test left {len(leaked_threads)} worker thread(s) running"
    assert not leaked, f"the test left top-level widgets behind: {leaked}"
    assert not python_threads, f"the test left Python threads running: {python_threads}"
