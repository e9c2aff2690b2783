"""`ganstudio --self-test`: a smoke test of an installed or frozen app. It starts Qt offscreen, opens the main
window, loads every bundled model and renders an image from it (and moves a named slider of the face model), trains a few steps on a toy distribution, writes a
checkpoint to a temporary folder and reads it back. Exit status 0 when everything worked."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable


def _check_window() -> str:
    from PySide6.QtWidgets import QApplication

    from ganstudio.gui.app import create_main_window

    app = QApplication.instance() or QApplication([sys.argv[0], "-platform", "offscreen"])
    window = create_main_window()  # with the self-test's own settings file (run_self_test)
    window.show()
    window.open_start_page()  # a first launch: the explorer with the bundled face model
    model = window.explore.model
    deadline = time.perf_counter() + 30
    while not (model.last_result is not None and model.idle()) and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    shown = window.explore.image_view.image
    title = window.windowTitle()
    window.explore.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    if shown is None:
        raise RuntimeError("the first launch did not show the bundled face model")
    return f"main window '{title}' opened offscreen and showed the {model.bundled_key} model on first launch"


def _check_models() -> str:
    import numpy as np

    from ganstudio.core.bundled import bundled_models
    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.latent.directions import Directions
    from ganstudio.core.render import LatentEdit, Renderer, RenderRequest

    models = bundled_models()
    if not any(m.key == "faces" for m in models):
        raise RuntimeError("the bundled face model is missing from ganstudio/resources/models")
    done = []
    for model in models:
        G, cfg = load_generator(model.file, "cpu")
        directions = Directions.load(model.directions) if model.directions else None
        renderer = Renderer(G, cfg, directions)
        result = renderer.render(RenderRequest(seed=1, class_index=0 if cfg.model.conditional else None))
        if result.error:
            raise RuntimeError(f"{model.title}: {result.error}")
        if result.image is None or np.ptp(result.image) == 0:
            raise RuntimeError(f"{model.title} rendered a blank image")
        note = f"{model.key} {result.image.shape[1]}x{result.image.shape[0]} in {result.seconds * 1000:.0f} ms"
        if directions is not None:
            edited = renderer.render(RenderRequest(seed=1, edits=(LatentEdit(0, 3.0),)))
            if edited.error or np.array_equal(edited.image, result.image):
                raise RuntimeError(f"{model.title}: the {directions.names[0]} slider does not change the image")
            note += f" (slider '{directions.names[0]}' moves it)"
        done.append(note)
    return "rendered " + ", ".join(done)


def _check_training() -> str:
    from ganstudio.core.checkpoints import load_checkpoint
    from ganstudio.core.training.loop import Trainer
    from ganstudio.core.defaults import RunChoices, run_config

    cfg = run_config(RunChoices(source="toy:ring8"))
    cfg = cfg.with_updates("data", toy_samples=2048).with_updates(
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
    """Run every check, print one line each, return the process exit status. The app's settings go to a
    temporary file, so the user's own settings (and their first launch) are left alone."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    previous = os.environ.get("GANSTUDIO_SETTINGS")
    with tempfile.TemporaryDirectory(prefix="ganstudio-selftest-settings-") as settings_dir:
        os.environ["GANSTUDIO_SETTINGS"] = str(Path(settings_dir) / "settings.json")
        try:
            return _run_checks()
        finally:
            if previous is None:
                os.environ.pop("GANSTUDIO_SETTINGS", None)
            else:
                os.environ["GANSTUDIO_SETTINGS"] = previous


def _run_checks() -> int:
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
