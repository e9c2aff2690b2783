"""Training through the GUI on tiny data: plots fill, grids arrive, controls work, errors show, runs reopen."""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QMessageBox

from ganstudio.core.runs import RunFolder
from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import Settings, load_settings
from ganstudio.gui.widgets.sample_dialog import SampleDialog
from ganstudio.gui.widgets.sample_grid import PADDING
from ganstudio.gui.threads import running_threads
from ganstudio.gui.workers import METRIC_COLUMNS
from tests.run_helpers import image_config, make_folder, toy_config

TIMEOUT = 90_000  # ms; the suite shares two cores with other work


def shut_down(window: MainWindow) -> None:
    """Stop any training before pytest-qt closes the window (closing would ask the user)."""
    if window.view is not None:
        window.view.shutdown()


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(Settings(runs_folder=str(tmp_path / "runs"), cpu_threads=1))  # tiny models: one thread
    qtbot.addWidget(w, before_close_func=shut_down)
    w.show()
    return w


def wait_ended(qtbot, view, timeout=TIMEOUT):
    qtbot.waitUntil(lambda: view.last_ended is not None, timeout=timeout)
    view.session.qthread.wait(10_000)
    qtbot.waitUntil(lambda: not running_threads(), timeout=10_000)
    return view.last_ended


def test_a_short_image_run_fills_plots_grids_and_saves(qtbot, window, tmp_path):
    folder = make_folder(tmp_path / "images", n=24)
    run_dir = tmp_path / "runs" / "tiny"
    view = window.start_run(image_config(folder, steps=12), run_dir)
    ended = wait_ended(qtbot, view)
    assert ended.reason == "finished", ended.message
    view.plots.redraw()
    assert view.plots.point_count("loss_d") == 12
    assert view.plots.point_count("loss_g") == 12
    assert np.isfinite(view.history.column("loss_g")).all()
    run = RunFolder(run_dir)
    grids = run.sample_grids()
    assert len(view.grid.entries) == len(grids) >= 3  # steps 4, 8, and 12 (also the end of epoch 3)
    newest = view.grid.entries[-1]
    on_disk = np.asarray(Image.open(newest.path))
    assert np.array_equal(view.grid.current_image(), on_disk)
    assert newest.count == 16 and newest.side == 16
    assert run.latest_checkpoint().name == "step-0000012.safetensors"
    assert view.controls.state == "ended" and view.controls.progress.value() == 12
    assert str(run_dir.absolute()) in load_settings().recent_runs
    assert view.plots.augment.widget.isHidden() and view.plots.overfit.widget.isHidden()  # only for ADA runs


def test_an_ada_run_plots_p_live_and_when_reopened(qtbot, window, tmp_path):
    config = image_config(make_folder(tmp_path / "images", n=24), steps=16).with_updates(
        "loss", augment="ada", ada_interval=1, ada_speed_images=64)  # p moves by a batch in 8 images: visibly
    run_dir = tmp_path / "runs" / "ada"
    view = window.start_run(config, run_dir)
    assert wait_ended(qtbot, view).reason == "finished"
    view.plots.redraw()
    assert view.plots.augment.widget.isVisible() and view.plots.overfit.widget.isVisible()
    assert np.isfinite(view.history.column("ada_rt")).any()  # the heuristic that steers p, beside it
    x, p = view.plots.augment.curves["augment_p"][0].getData()
    assert len(x) == 16 and np.isfinite(p).all() and p.max() > 0
    logged = [r["augment_p"] for r in RunFolder(run_dir).read_metrics()]
    assert np.allclose(p, logged)
    view.open_run(run_dir)  # read back from metrics.jsonl
    view.plots.redraw()
    assert view.plots.augment.widget.isVisible() and np.allclose(view.history.column("augment_p"), logged)


def test_clicking_a_sample_enlarges_it(qtbot, window, tmp_path):
    view = window.start_run(image_config(make_folder(tmp_path / "images"), steps=4), tmp_path / "runs" / "a")
    wait_ended(qtbot, view)
    shown = []
    view.grid.sample_clicked.connect(lambda index, entry: shown.append(index))
    side = 16
    view.grid._on_click(PADDING + (side + PADDING) * 2 + 3, PADDING + (side + PADDING) * 1 + 5)  # row 1, col 2
    assert shown == [4 + 2]
    view.grid._on_click(1, 1)  # the padding between samples
    assert shown == [6]
    dialogs = [w for w in window.findChildren(SampleDialog)]
    assert len(dialogs) == 1
    expected = view.grid.current_image()[PADDING + 18:PADDING + 18 + 16, PADDING + 36:PADDING + 36 + 16]
    assert np.array_equal(dialogs[0].image, expected)
    dialogs[0].close()


def test_toy_run_shows_the_gan_lab_view(qtbot, window, tmp_path):
    run_dir = tmp_path / "runs" / "ring"
    view = window.start_run(toy_config(steps=120), run_dir)
    assert wait_ended(qtbot, view).reason == "finished"
    frame = view.toy.frame
    assert frame is not None and frame.field.shape == (48, 48) and frame.probability
    assert frame.fake.shape == (256, 2) and np.isfinite(frame.gradients).all()
    assert len(view.toy.real.data) == 1000
    xs, ys = view.toy.arrows.getData()
    assert xs is not None and len(xs) == 6 * 256  # a shaft and two head strokes per point
    assert view.samples.currentWidget() is view.toy_tabs
    saved = RunFolder(run_dir).sample_grids()  # every 50 steps and every epoch (31 steps), as PNG scatters
    assert len(view.snapshots.entries) == len(saved) == 6
    assert view.snapshots.entries[-1].path.endswith("step-0000120.png")
    assert view.plots.point_count("d_real") == 120
    mesh = frame.manifold  # GAN Lab's generator manifold: a 21 x 21 latent grid through G, one item
    assert mesh.shape == (21, 21, 2) and np.isfinite(mesh).all()
    xs, ys = view.toy.manifold.getData()
    assert len(xs) == 2 * 21 * 21 and view.toy.manifold.isVisible()
    view.toy.show_manifold.setChecked(False)
    assert not view.toy.manifold.isVisible()


def test_pause_single_steps_live_settings_and_stop(qtbot, window, tmp_path):
    run_dir = tmp_path / "runs" / "long"
    view = window.start_run(toy_config(steps=1_000_000), run_dir)
    qtbot.waitUntil(lambda: view.step >= 5, timeout=TIMEOUT)
    view.controls.pause_button.click()
    assert view.controls.state == "paused" and view.controls.step_d.isEnabled()
    worker = view.session.worker  # it relays the trainer process's reports
    qtbot.wait(200)  # the step under way when Pause was clicked still finishes and is reported
    qtbot.waitUntil(lambda: view.step == worker.step == len(view.history), timeout=TIMEOUT)
    paused_at = view.step
    qtbot.wait(300)
    assert view.step == paused_at, "a paused run must not train"

    view.controls.step_d.click()
    qtbot.waitUntil(lambda: view.step == paused_at + 1, timeout=TIMEOUT)
    assert math.isnan(view.history.column("loss_g")[-1]) and np.isfinite(view.history.column("loss_d")[-1])
    view.controls.step_g.click()
    qtbot.waitUntil(lambda: view.step == paused_at + 2, timeout=TIMEOUT)
    assert math.isnan(view.history.column("loss_d")[-1]) and np.isfinite(view.history.column("loss_g")[-1])

    view.controls.lr_g.setValue(0.00123)
    view.controls.apply_button.click()
    view.controls.step_both.click()
    qtbot.waitUntil(lambda: view.step == paused_at + 3, timeout=TIMEOUT)
    assert view.controls.lr_g.value() == pytest.approx(0.00123)
    assert view.session.worker.learning_rates[0] == pytest.approx(0.00123)

    view.controls.pause_button.click()  # resume
    assert view.controls.state == "running"
    qtbot.waitUntil(lambda: view.step > paused_at + 10, timeout=TIMEOUT)
    view.controls.stop_button.click()
    ended = wait_ended(qtbot, view)
    assert ended.reason == "stopped" and ended.step < 1_000_000
    assert RunFolder(run_dir).latest_checkpoint().name == f"step-{ended.step:07d}.safetensors"
    records = RunFolder(run_dir).read_metrics()
    assert [r["step"] for r in records] == list(range(1, ended.step + 1))
    assert records[paused_at]["lr_g"] == pytest.approx(5e-4) and records[-1]["lr_g"] == pytest.approx(0.00123)
    assert view.controls.continue_button.isEnabled()
    run = RunFolder(run_dir)
    grids = run.grid_entries(run.config(), records)  # a grid at the stop (named by epoch if it ended one)
    assert max(entry.step for entry in grids if entry.step is not None) == ended.step
    assert RunFolder(run_dir).config().train.lr_g == pytest.approx(0.00123)  # the applied rate is the run's
    reopened = window.open_run(run_dir)
    assert reopened.controls.lr_g.value() == pytest.approx(0.00123)
    assert reopened.controls.lr_d.value() == pytest.approx(5e-4)


def test_a_dataset_that_fails_shows_a_message_and_the_app_stays_usable(qtbot, window, tmp_path):
    folder = make_folder(tmp_path / "gone")
    config = image_config(folder)
    shutil.rmtree(folder)
    view = window.start_run(config, tmp_path / "runs" / "bad")
    ended = wait_ended(qtbot, view)
    assert ended.reason == "failed"
    assert view.banner.isVisible() and "does not exist" in view.banner.text.text()
    assert "Traceback" not in view.banner.text.text()
    assert not (tmp_path / "runs" / "bad" / "config.json").exists()
    view = window.start_run(toy_config(steps=20), tmp_path / "runs" / "fine")  # the app still trains
    assert wait_ended(qtbot, view).reason == "finished"


def test_a_non_finite_loss_stops_with_a_message_and_keeps_the_run_valid(qtbot, window, tmp_path):
    run_dir = tmp_path / "runs" / "nan"
    view = window.start_run(toy_config(steps=300, lr_d=1e4, lr_g=1e4, checkpoint_every=1), run_dir)  # inf at step 4
    ended = wait_ended(qtbot, view)
    assert ended.reason == "failed"
    text = view.banner.text.text()
    assert "loss became" in text and "intact" in text
    run = RunFolder(run_dir)
    last = run.latest_checkpoint()
    assert last is not None and view.controls.continue_button.isEnabled()
    assert RunFolder.open(run_dir).config().name == "ring"


def test_closing_while_training_asks_and_stops_cleanly(qtbot, window, tmp_path, monkeypatch):
    run_dir = tmp_path / "runs" / "close"
    view = window.start_run(toy_config(steps=1_000_000), run_dir)
    qtbot.waitUntil(lambda: view.step >= 3, timeout=TIMEOUT)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    window.close()
    assert window.isVisible() and view.is_training, "answering No keeps the window and the run"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.close()
    assert view.controls.state == "stopping", "the window stays responsive while the worker stops"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT)
    assert not view.session.qthread.isRunning(), "closing joins the worker thread"
    assert not view.session.worker.process.is_alive(), "and leaves no trainer process behind"
    step = RunFolder(run_dir).latest_checkpoint()
    assert step is not None and int(step.stem.split("-")[1]) >= 3


def test_a_finished_run_reopens_with_plots_grids_config_and_resumes(qtbot, window, tmp_path):
    folder = make_folder(tmp_path / "images")
    run_dir = tmp_path / "runs" / "again"
    first = window.start_run(image_config(folder, steps=8), run_dir)
    wait_ended(qtbot, first)

    leftover = RunFolder(run_dir).checkpoints_dir / ".step-0000009.safetensors.k1ll.tmp"  # a kill during a save
    leftover.write_bytes(b"\0" * 1000)
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    other = MainWindow(Settings(cpu_threads=1))
    qtbot.addWidget(other, before_close_func=shut_down)
    view = other.open_run(run_dir)
    assert not leftover.exists(), "reopening removes what killed saves left behind"
    assert view is not None and view.title.text() == "tiny"
    assert len(view.history) == 8 and view.plots.point_count("loss_d") == 8
    assert len(view.grid.entries) == len(RunFolder(run_dir).sample_grids()) >= 2
    assert [e.step for e in view.grid.entries] == sorted(e.step for e in view.grid.entries)
    assert view.controls.state == "ended" and view.controls.continue_button.isEnabled()
    assert "finished at step 8" in view.status.text()

    view.controls.continue_until.setValue(12)
    view.controls.continue_button.click()
    assert wait_ended(qtbot, view).reason == "finished"
    records = RunFolder(run_dir).read_metrics()
    assert [r["step"] for r in records] == list(range(1, 13))
    assert len(view.history) == 12
    assert RunFolder(run_dir).latest_checkpoint().name == "step-0000012.safetensors"
    assert json.loads((run_dir / "config.json").read_text())["train"]["steps"] == 12
    other.close()


def test_a_folder_that_is_not_a_run_is_refused_with_a_sentence(qtbot, window, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(text))
    assert window.open_run(tmp_path) is None
    assert said and "not a GAN Studio run" in said[0]
    assert window.view is None


def test_hours_of_history_stay_bounded(qtbot, window, tmp_path):
    view = window.start_run(toy_config(steps=10), tmp_path / "runs" / "h")
    wait_ended(qtbot, view)
    rows = np.zeros((1_000_000, len(view.history.columns)))  # the plotted columns (a CycleGAN has more)
    rows[:, 0] = np.arange(1, 1_000_001)
    rows[:, 2] = 1.0
    view.history.extend(rows)
    view.plots.redraw()
    assert len(view.history) <= view.history.max_points
    assert view.history.column("step")[-1] > 999_000


def test_hidden_path_is_used_for_settings(isolated_settings):
    from ganstudio.gui.settings import settings_path

    assert settings_path() == isolated_settings
    assert Path.home() not in isolated_settings.parents


def test_stop_while_the_data_loads_ends_cleanly(qtbot, window, tmp_path, shared_data):
    faces = shared_data / "celeba-10k" / "img_align_celeba"
    config = image_config(faces).with_updates("data", resolution=32, channels=3)
    view = window.start_run(config, tmp_path / "runs" / "faces")
    qtbot.waitUntil(lambda: "Loading" in view.status.text() and "of" in view.status.text(), timeout=TIMEOUT)
    view.controls.stop_button.click()
    ended = wait_ended(qtbot, view)
    assert ended.reason == "stopped" and "nothing was trained" in ended.message
    assert not (tmp_path / "runs" / "faces").exists()


def start_with_fault(window, config, run_dir, hook, **session):
    """Start a run whose trainer process injects a fault into itself (tests/process_faults.py)."""
    import ganstudio.gui.main_window as mw  # it starts a new run's session (before building the view)
    import ganstudio.gui.widgets.training_view as tv  # it starts a resumed run's

    real = tv.TrainingSession

    class Faulty(real):
        def __init__(self, job, **kwargs):
            super().__init__(job, **{**kwargs, "hook": f"tests.process_faults:{hook}", **session})

    tv.TrainingSession = mw.TrainingSession = Faulty
    try:
        view = window.start_run(config, run_dir)
    finally:
        tv.TrainingSession = mw.TrainingSession = real
    return view


def test_any_exception_in_the_trainer_becomes_a_sentence(qtbot, window, tmp_path):
    from ganstudio.core.errors import user_message as error_message

    view = start_with_fault(window, toy_config(steps=50), tmp_path / "runs" / "oom", "cuda_oom_at_step_3")
    ended = wait_ended(qtbot, view)
    assert ended.reason == "failed" and ended.step == 2
    assert view.banner.text.text().startswith("The GPU ran out of memory (CUDA out of memory.")
    assert len(view.history) == 2, "the steps before the failure still reach the plots"
    assert error_message(ValueError("odd\n  value")) == "Unexpected error (ValueError: odd value)."
    assert error_message(MemoryError()).startswith("The computer ran out of memory")
    view = start_with_fault(window, toy_config(steps=50), tmp_path / "runs" / "value", "exception_at_step_3")
    assert wait_ended(qtbot, view).message == "Unexpected error (ValueError: odd value)."


def test_a_killed_trainer_is_reported_in_a_sentence_and_the_run_resumes_exactly(qtbot, window, tmp_path):
    import signal

    from ganstudio.core.training.loop import Trainer

    run_dir = tmp_path / "runs" / "killed"
    config = toy_config(steps=1_000_000, checkpoint_every=5)
    view = window.start_run(config, run_dir)
    qtbot.waitUntil(lambda: view.step >= 12, timeout=TIMEOUT)
    os.kill(view.session.worker.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    qtbot.waitUntil(lambda: view.last_ended is not None, timeout=TIMEOUT)
    assert time.monotonic() - killed_at < 1.5, "the view says what happened within a second"
    ended = wait_ended(qtbot, view)
    last = RunFolder(run_dir).latest_checkpoint()
    kept = int(last.stem.split("-")[1])
    assert ended.reason == "failed" and window.isVisible()
    assert view.banner.text.text() == (f"The training process was killed by the system at step {ended.step:,} — out "
                                       f"of memory? The last checkpoint, step {kept:,}, is intact. Resume?")
    assert view.controls.continue_button.isEnabled()
    view.continue_run(kept + 6)
    assert wait_ended(qtbot, view).reason == "finished"
    resumed = {r["step"]: r["loss_d"] for r in RunFolder(run_dir).read_metrics()}
    reference = Trainer(config, tmp_path / "reference")
    straight = {}
    for report in reference:
        straight[report.step] = report.loss_d
        if report.step == kept + 6:
            break
    assert [resumed[s] for s in range(kept + 1, kept + 7)] == pytest.approx(
        [straight[s] for s in range(kept + 1, kept + 7)], rel=1e-5)


def test_a_segfault_in_the_trainer_leaves_the_app_running(qtbot, window, tmp_path):
    run_dir = tmp_path / "runs" / "segv"
    view = start_with_fault(window, toy_config(steps=100, checkpoint_every=5), run_dir, "segfault_at_step_12")
    ended = wait_ended(qtbot, view)
    assert ended.reason == "failed" and window.isVisible()
    assert ended.step <= 11 and view.banner.text.text() == (
        f"The training process crashed (a segmentation fault) at step {ended.step:,}. "
        "The last checkpoint, step 10, is intact. Resume?")
    view = window.start_run(toy_config(steps=10), tmp_path / "runs" / "after")  # the app still trains
    assert wait_ended(qtbot, view).reason == "finished"


def test_a_trainer_that_does_not_answer_stop_is_terminated(qtbot, window, tmp_path):
    run_dir = tmp_path / "runs" / "deaf"
    view = start_with_fault(window, toy_config(steps=1_000_000), run_dir, "deaf_to_stop", stop_timeout=1.0)
    qtbot.waitUntil(lambda: view.step >= 3, timeout=TIMEOUT)
    process = view.session.worker.process
    view.stop()
    ended = wait_ended(qtbot, view)
    assert ended.reason == "failed" and "did not answer for 1 s and was ended" in ended.message
    assert not process.is_alive()


def test_quality_metrics_plot_live_reopen_and_warn_of_mode_collapse(qtbot, window, tmp_path):
    run_dir = tmp_path / "runs" / "ring-eval"
    cfg = toy_config(steps=120).with_updates("train", eval_every=40, eval_samples=200)
    view = window.start_run(cfg, run_dir)
    assert wait_ended(qtbot, view).reason == "finished"
    steps = [r["step"] for r in view.evaluations.records]
    assert steps == [40, 80, 120]
    assert "modes_covered" in view.evaluations.available()
    view.evaluations.chooser.setCurrentIndex(view.evaluations.available().index("modes_covered"))
    xs, ys = view.evaluations.curve.getData()
    assert list(xs) == [40, 80, 120] and all(0 <= y <= 8 for y in ys)

    reopened = window.open_run(run_dir)
    assert [r["step"] for r in reopened.evaluations.records] == [40, 80, 120]

    from ganstudio.gui.workers import ProgressBatch

    collapse = {"step": 160, "modes_covered": 2, "best_modes_covered": 8, "mode_collapse_warning": True}
    reopened._on_progress(ProgressBatch(np.zeros((0, len(METRIC_COLUMNS))), 160, 200, 1.0, 1e-3, 1e-3, None,
                                        evaluations=[collapse]))
    assert reopened.banner.kind == "warning" and reopened.banner.title.text() == "Mode collapse?"
    assert "covers only 2 of the modes (best so far 8)" in reopened.banner.text.text()



def test_a_full_disk_stops_the_run_with_the_cli_sentence(qtbot, window, tmp_path):
    from ganstudio.core.errors import as_sentence

    run_dir = tmp_path / "runs" / "full"
    view = start_with_fault(window, toy_config(steps=1_000_000, checkpoint_every=5, sample_every=0), run_dir,
                            "full_disk_after_step_7")
    ended = wait_ended(qtbot, view)
    assert ended.reason == "failed"
    assert ended.message.startswith("The disk is full: the checkpoint of step 10 could not be saved in ")
    assert view.banner.text.text() == as_sentence(ended.message)
    assert str(run_dir) in ended.message and "it needs about" in ended.message
    assert ended.message.endswith("the last good checkpoint, step 5, is intact.")
    assert not list(run_dir.rglob("*.tmp"))
    assert view.controls.continue_button.isEnabled()


def test_hidden_views_skip_their_drawing_and_catch_up_when_shown(qtbot, window, tmp_path):
    """Hidden plots are not redrawn and the trainer makes no GAN Lab frames for a hidden view; shown again, both
    catch up, and the history has every step."""
    run_dir = tmp_path / "runs" / "hidden"
    view = window.start_run(toy_config(steps=1_000_000), run_dir)
    qtbot.waitUntil(lambda: view.toy.frame is not None, timeout=TIMEOUT)
    frames = []
    view.session.progress.connect(lambda batch: frames.append(batch.toy))

    def plotted() -> int:  # the points given to the curve (what is drawn of them depends on the zoom)
        x = view.plots.losses.curves["loss_d"][0].xData
        return 0 if x is None else len(x)

    view.plot_tabs.setCurrentWidget(view.evaluations)  # the curves' tab is hidden
    view.toy_tabs.setCurrentWidget(view.snapshots)  # and so is the GAN Lab view
    assert not view.plots.isVisible() and not view.toy.isVisible()
    qtbot.wait(600)  # frames already under way still arrive
    frames.clear()
    drawn = plotted()
    steps = view.step
    qtbot.waitUntil(lambda: len(frames) >= 3 and view.step > steps + 20, timeout=TIMEOUT)
    assert all(frame is None for frame in frames), "no GAN Lab frames while the view is hidden"
    assert plotted() == drawn, "hidden plots are not redrawn"
    view.plot_tabs.setCurrentWidget(view.plots)
    assert plotted() == len(view.history) > drawn, "shown again, they catch up"
    view.toy_tabs.setCurrentWidget(view.toy)
    qtbot.waitUntil(lambda: any(frame is not None for frame in frames), timeout=TIMEOUT)
    view.controls.stop_button.click()
    ended = wait_ended(qtbot, view)
    assert view.toy._drawn is view.toy.frame and view.toy.frame.step > steps
    assert view.history.column("step").tolist() == list(range(1, ended.step + 1)), "every step, once"


def test_a_spare_trainer_started_with_the_wizard_takes_the_next_run(qtbot, window, tmp_path):
    """Opening the new-run wizard starts a trainer process ahead (its imports take seconds); the next run uses it;
    cancelling the wizard or closing the app ends it."""
    from ganstudio.gui import workers

    window.new_run()
    assert workers._spare is not None
    window.wizard.reject()
    assert workers._spare is None, "a cancelled wizard ends its spare"
    workers.prestart_trainer()
    spare = workers._spare.process
    qtbot.waitUntil(lambda: workers.spare_ready(), timeout=TIMEOUT)
    view = window.start_run(toy_config(steps=20), tmp_path / "runs" / "spare")
    ended = wait_ended(qtbot, view)
    assert ended.reason == "finished" and view.session.worker.process is spare and workers._spare is None
    assert [r["step"] for r in RunFolder(tmp_path / "runs" / "spare").read_metrics()] == list(range(1, 21))
    workers.prestart_trainer()
    spare = workers._spare.process
    window.close()
    assert workers._spare is None and not spare.is_alive(), "closing the app ends the spare"


def test_a_new_run_in_a_folder_that_holds_one_names_the_apps_resume_button(qtbot, window, tmp_path):
    run_dir = tmp_path / "runs" / "taken"
    RunFolder.create(run_dir, toy_config(steps=20))
    view = window.start_run(toy_config(steps=20), run_dir)  # past the wizard's check (a folder made meanwhile)
    ended = wait_ended(qtbot, view)
    assert ended.reason == "failed"
    text = view.banner.text.text()
    assert "already holds a run" in text and "“Resume training”" in text and "--" not in text
