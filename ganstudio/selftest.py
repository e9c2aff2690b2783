"""`ganstudio --self-test`: a smoke test of an installed or frozen app. It starts Qt offscreen, opens the main
window, loads every bundled model and renders an image from it, trains a few steps on a toy distribution, writes a
checkpoint to a temporary folder and reads it back. Exit status 0 when everything worked."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable


def bundled_models() -> list[Path]:
    """The model files shipped in ganstudio.resources/models."""
    from ganstudio.resources import resource_path

    folder = resource_path("models")
    return sorted(folder.glob("*.safetensors")) if folder.is_dir() else []


def _check_window() -> str:
    from PySide6.QtWidgets import QApplication

    from ganstudio.gui.app import create_main_window

    app = QApplication.instance() or QApplication([sys.argv[0], "-platform", "offscreen"])
    window = create_main_window()
    window.show()
    app.processEvents()
    title = window.windowTitle()
    window.close()
    window.deleteLater()
    app.processEvents()
    return f"main window '{title}' opened offscreen"


def _check_models() -> str:
    import numpy as np

    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.render import Renderer, RenderRequest

    models = bundled_models()
    if not models:
        raise RuntimeError("no bundled model found in ganstudio/resources/models")
    done = []
    for path in models:
        G, cfg = load_generator(path, "cpu")
        result = Renderer(G, cfg).render(RenderRequest(seed=1))
        if result.error:
            raise RuntimeError(f"{path.name}: {result.error}")
        if result.image is None or np.ptp(result.image) == 0:
            raise RuntimeError(f"{path.name} rendered a blank image")
        done.append(f"{path.stem} {result.image.shape[1]}x{result.image.shape[0]} in {result.seconds * 1000:.0f} ms")
    return "rendered " + ", ".join(done)


def _check_training() -> str:
    from ganstudio.config import RunConfig
    from ganstudio.core.checkpoints import load_checkpoint
    from ganstudio.core.training.loop import Trainer
    from ganstudio.presets import data_defaults, merge

    cfg = RunConfig.from_dict(merge(RunConfig().to_dict(), data_defaults("toy:ring8")))
    cfg = cfg.with_updates("data", source="toy:ring8", toy_samples=2048).with_updates(
        "train", steps=20, epochs=None, device="cpu", checkpoint_every=10)
    with tempfile.TemporaryDirectory(prefix="ganstudio-selftest-") as tmp:
        trainer = Trainer(cfg, Path(tmp) / "run")
        reports = list(trainer)
        latest = trainer.run.latest_checkpoint()
        ckpt = load_checkpoint(latest)
        if ckpt.step != 20 or len(reports) != 20:
            raise RuntimeError("the toy run did not reach step 20")
    return f"trained 20 toy steps (D loss {reports[-1].loss_d:.3f}), wrote and re-read {latest.name}"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("window", _check_window), ("bundled models", _check_models), ("training", _check_training),
]


def run_self_test() -> int:
    """Run every check, print one line each, return the process exit status."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch

    import ganstudio

    print(f"GAN Studio {ganstudio.__version__} self-test (torch {torch.__version__}, "
          f"{'frozen' if getattr(sys, 'frozen', False) else 'installed'})")
    failures = 0
    for name, check in CHECKS:
        start = time.perf_counter()
        try:
            detail = check()
            print(f"  ok    {name}: {detail} ({time.perf_counter() - start:.1f} s)")
        except Exception as exc:  # a self-test reports every failure and goes on
            failures += 1
            print(f"  FAIL  {name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    print("self-test passed" if not failures else f"self-test failed ({failures} of {len(CHECKS)} checks)")
    return 0 if not failures else 1
