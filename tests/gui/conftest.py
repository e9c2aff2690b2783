"""GUI test fixtures: settings in a temporary folder, and a check that fails a test which leaves top-level
widgets or worker threads behind (after joining the threads, so one failure does not poison the next test)."""
from __future__ import annotations

import gc
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QCoreApplication, QEvent, QStandardPaths
from PySide6.QtWidgets import QApplication

from ganstudio.config import RunConfig
from ganstudio.gui.workers import running_threads


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


def make_folder(root: Path, n: int = 24, side: int = 16, classes: int = 0, bad: int = 0) -> Path:
    """A folder of random PNGs (in class subfolders when classes > 0), plus `bad` corrupt files."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        folder = root / f"class{i % classes}" if classes else root
        folder.mkdir(exist_ok=True)
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGB").save(folder / f"img{i:03d}.png")
    for i in range(bad):
        (root / f"broken{i}.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    return root


def image_config(folder: Path, steps: int = 12, **train) -> RunConfig:
    """A tiny DCGAN on a folder of 16 px images: a few steps take well under a second."""
    options = dict(steps=steps, epochs=None, batch_size=8, sample_every=4, checkpoint_every=0, grid_size=16,
                   device="cpu")
    options.update(train)
    return (RunConfig(name="tiny")
            .with_updates("data", source=f"folder:{folder}", resolution=16, channels=1)
            .with_updates("model", arch="dcgan", capacity=8, z_dim=8)
            .with_updates("train", **options))


def toy_config(steps: int = 200, **train) -> RunConfig:
    """The ring of 8 Gaussians with a small MLP."""
    options = dict(steps=steps, epochs=None, batch_size=64, sample_every=50, checkpoint_every=0, device="cpu",
                   lr_g=5e-4, lr_d=5e-4)
    options.update(train)
    return (RunConfig(name="ring")
            .with_updates("data", source="toy:ring8", toy_samples=2000)
            .with_updates("model", arch="mlp", z_dim=2, capacity=32)
            .with_updates("train", **options))
