"""The explorer on imported NVIDIA StyleGAN2/3 pickles and rosinality checkpoints: opened on a worker thread with
the model card shown, StyleGAN3's move/turn sliders, 1:1 zoom and panning, previews while a slider is held, a
refused file in one sentence, and the last model with its choices reopened at the next launch. The files are
written by tests/imported_fixtures.py (our code, random weights, the original layouts)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest

from ganstudio.core.imported import stylegan2
from ganstudio.gui.explorer.explorer_view import ExplorerView
from ganstudio.gui.explorer.image_view import ImageView
from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import load_settings, session_path
from ganstudio.gui.threads import running_threads
from tests.imported_fixtures import (TINY, RunsCode, random_generator, write_nvidia_pickle, write_rosinality,
                                     write_stylegan3_pickle)

WAIT = 30_000
SHOTS = os.environ.get("GANSTUDIO_SCREENSHOTS")  # a folder to save screenshots in, for looking at the screens


@pytest.fixture
def view(qtbot, one_thread):
    view = ExplorerView(ExplorerModel(device="cpu"), bundled=[])
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    yield view
    view.shutdown()
    assert not running_threads()


def settle(qtbot, model: ExplorerModel) -> None:
    """Opened, directions ready, nothing rendering, results delivered."""
    qtbot.waitUntil(lambda: model.is_open and not model.opening and model.state.directions is not None
                    and not model.computing_directions and model.idle() and model.last_result is not None,
                    timeout=WAIT)
    qtbot.wait(30)
    qtbot.waitUntil(model.idle, timeout=WAIT)
    qtbot.wait(30)


@pytest.fixture
def sg2_pickle(tmp_path) -> Path:
    return write_nvidia_pickle(tmp_path / "network-snapshot-000100.pkl", random_generator(stylegan2.ADA, TINY), TINY)


@pytest.fixture
def sg3_pickle(tmp_path) -> Path:
    return write_stylegan3_pickle(tmp_path / "stylegan3-t-tiny.pkl")


def test_a_pickle_opens_on_a_worker_thread_renders_and_shows_its_card(view, qtbot, sg2_pickle):
    opened = []
    view.checkpoint_opened.connect(opened.append)
    view.open_in_background(sg2_pickle)
    assert view.model.opening and not view.busy.isHidden()  # the GUI is free meanwhile; a busy bar says so
    settle(qtbot, view.model)
    assert view.busy.isHidden() and opened == [str(sg2_pickle)]
    image = view.image_view.image
    assert image is not None and image.shape == (16, 16, 3) and np.ptp(image) > 0
    assert view.model.info.style_based and not view.model.info.input_transform
    assert view.card.isVisible() and sg2_pickle.name in view.card.text() and "non-commercial" in view.card.text()
    assert "SHA-256" in view.title.toolTip()
    assert view.title.text().startswith(f"{sg2_pickle.name} · StyleGAN2-ADA (NVIDIA pickle) · 16x16 · ")
    assert view.card.text().startswith("StyleGAN2-ADA (NVIDIA pickle), 16 px from ")
    assert view.transform_panel.isHidden()  # StyleGAN2 has no input transform
    assert "16×16 rendered in" in view.status.text()


def test_a_rosinality_checkpoint_opens_too(view, qtbot, tmp_path):
    path = write_rosinality(tmp_path / "550000.pt", random_generator(stylegan2.ADA, TINY))
    view.open_in_background(path)
    settle(qtbot, view.model)
    assert view.image_view.image.shape == (16, 16, 3) and "rosinality" in view.card.text()
    assert view.title.text().startswith("550000.pt · StyleGAN2 (rosinality) · 16x16 · ")
    if SHOTS:
        view.grab().save(os.path.join(SHOTS, "explorer_rosinality_title.png"))


def test_stylegan3_sliders_move_and_turn_the_image(view, qtbot, sg3_pickle):
    model = view.model
    view.open_in_background(sg3_pickle)
    settle(qtbot, model)
    assert model.info.input_transform and view.transform_panel.isVisible()
    assert view.title.text().startswith("stylegan3-t-tiny.pkl · StyleGAN3-T (NVIDIA pickle) · 32x32 · ")
    if SHOTS:
        view.grab().save(os.path.join(SHOTS, "explorer_stylegan3_title.png"))
    still = view.image_view.image.copy()
    panel = view.transform_panel
    panel.x_slider.setValue(25)  # an eighth of the image width to the right
    qtbot.waitUntil(lambda: model.idle() and model.last_result.request.input_transform == (0.125, 0.0, 0.0),
                    timeout=WAIT)
    settle(qtbot, model)
    moved = view.image_view.image.copy()
    assert not np.array_equal(moved, still)
    # the content moved right by 4 of 32 pixels: the middle of the moved image is the still one shifted
    inner = slice(10, 22)
    shifted = np.roll(still.astype(int), 4, axis=1)[inner, inner]
    assert np.abs(moved.astype(int)[inner, inner] - shifted).mean() < np.abs(moved.astype(int) - still).mean()
    panel.turn_slider.setValue(90)
    qtbot.waitUntil(lambda: model.idle() and model.last_result.request.input_transform == (0.125, 0.0, 90.0),
                    timeout=WAIT)
    settle(qtbot, model)
    assert not np.array_equal(view.image_view.image, moved) and "turned +90°" in view.status.text()
    panel.reset_button.click()
    qtbot.waitUntil(lambda: model.idle() and model.last_result.request.input_transform is None, timeout=WAIT)
    settle(qtbot, model)
    assert np.array_equal(view.image_view.image, still)
    assert panel.transform() == (0.0, 0.0, 0.0)


def test_a_refused_file_is_one_sentence_and_its_code_never_runs(view, qtbot, tmp_path):
    marker = tmp_path / "ran"
    hostile = tmp_path / "network-snapshot.pkl"
    import pickle

    hostile.write_bytes(pickle.dumps({"G_ema": RunsCode(marker)}))
    view.open_in_background(hostile)
    qtbot.waitUntil(lambda: not view.model.opening, timeout=WAIT)
    qtbot.waitUntil(lambda: view.banner.isVisible(), timeout=WAIT)
    text = view.status.text()
    assert "posix.system" in text or "os.system" in text
    assert text.count(". ") == 0 and text.endswith(".") and "\n" not in text  # one sentence
    assert not marker.exists() and not view.model.is_open and view.busy.isHidden()


def test_zoom_one_to_one_fit_and_pan(qtbot):
    image_view = ImageView()
    qtbot.addWidget(image_view)
    image_view.resize(300, 300)
    image_view.show()
    image = np.random.default_rng(0).integers(0, 255, (1024, 1024, 3), dtype=np.uint8)
    image_view.set_image(image, 1)
    assert image_view.zoom < 0.3  # fits the view: larger than it
    image_view.actual_size()
    assert image_view.zoom == 1.0
    bars = image_view.horizontalScrollBar(), image_view.verticalScrollBar()
    assert all(bar.maximum() > 600 for bar in bars)
    before = [bar.value() for bar in bars]
    viewport = image_view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(150, 150))
    QTest.mouseMove(viewport, QPoint(100, 90))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(100, 90))
    assert [bar.value() for bar in bars] == [before[0] + 50, before[1] + 60]  # dragged up-left: the view pans
    wheel = QWheelEvent(QPointF(150, 150), QPointF(150, 150), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    image_view.wheelEvent(wheel)  # the wheel zooms in a step
    assert image_view.zoom == 2.0
    image_view.set_image(image[::-1].copy(), 2)  # a new render keeps the zoom the user chose
    assert image_view.zoom == 2.0
    image_view.fit()
    assert image_view.zoom < 0.3 and all(bar.maximum() == 0 for bar in bars)


def test_a_held_slider_asks_for_previews_and_the_full_image_on_release(view, qtbot, sg2_pickle):
    model = view.model
    view.open_in_background(sg2_pickle)
    settle(qtbot, model)
    side = model.info.resolution
    assert model.renderer.preview_size is not None and model.renderer.preview_size < side  # a 'skip' StyleGAN2
    slider = view.truncation.slider
    slider.sliderPressed.emit()
    assert model.slider_held
    slider.setValue(50)
    qtbot.waitUntil(lambda: model.idle() and model.last_result.request.psi == 0.5, timeout=WAIT)
    preview = model.last_result
    assert preview.preview and preview.request.max_size == model.renderer.preview_size
    assert preview.image.shape[:2] == (side, side)  # enlarged: the view keeps its size and zoom
    assert "preview" in view.status.text()
    slider.sliderReleased.emit()
    assert not model.slider_held
    qtbot.waitUntil(lambda: model.idle() and not model.last_result.preview, timeout=WAIT)
    full = model.last_result
    assert full.request.psi == 0.5 and full.request.max_size is None and full.image.shape[:2] == (side, side)
    row = view.sliders.rows[0].slider  # sliders made after the view was built are followed too
    row.sliderPressed.emit()
    assert model.slider_held
    row.sliderReleased.emit()


def make_window(qtbot, settings_file: Path) -> MainWindow:
    window = MainWindow(load_settings(settings_file), settings_file=settings_file)
    qtbot.addWidget(window, before_close_func=lambda w: w.explore.shutdown())
    window.resize(1200, 760)
    window.show()
    return window


def test_the_last_model_and_its_choices_come_back_at_the_next_launch(qtbot, tmp_path, sg3_pickle, one_thread):
    settings_file = tmp_path / "config" / "settings.json"
    window = make_window(qtbot, settings_file)
    window.settings.opened_before = True  # not the very first launch (that one shows the bundled faces)
    window.open_checkpoint(sg3_pickle)
    model, view = window.explore.model, window.explore
    settle(qtbot, model)
    assert window.settings.recent_checkpoints == [str(sg3_pickle)]
    view.seed_field.set_seed(77)
    model.state.set_seed(77)
    view.truncation.slider.setValue(70)
    view.transform_panel.x_slider.setValue(-20)
    view.sliders.rows[1].field.setValue(1.5)
    settle(qtbot, model)
    left = model.last_result.image.copy()
    window.close()
    assert session_path(settings_file).exists()

    again = make_window(qtbot, settings_file)
    again.open_start_page()  # Explore was open: it comes back with the same model and choices
    model, view = again.explore.model, again.explore
    settle(qtbot, model)
    assert model.info.path == sg3_pickle and again.tabs.currentWidget() is view
    assert (model.state.seed, model.state.psi, model.state.transform) == (77, 0.7, (-0.1, 0.0, 0.0))
    assert model.state.amounts[1] == 1.5 and view.sliders.rows[1].field.value() == 1.5
    assert view.seed_field.seed() == 77 and view.transform_panel.x_slider.value() == -20
    assert np.array_equal(model.last_result.image, left)
    again.close()

    sg3_pickle.unlink()  # gone: skipped with a note, and the explorer opens as on any launch
    third = make_window(qtbot, settings_file)
    third.open_start_page()
    assert not third.explore.model.opening
    assert f"{sg3_pickle.name}, is no longer at" in third.statusBar().currentMessage()
    third.close()


def test_a_session_waits_for_the_explore_tab_when_train_was_open(qtbot, tmp_path, sg2_pickle, one_thread):
    settings_file = tmp_path / "config" / "settings.json"
    window = make_window(qtbot, settings_file)
    window.settings.opened_before = True
    window.open_checkpoint(sg2_pickle)
    settle(qtbot, window.explore.model)
    window.explore.model.state.set_seed(5)
    window.tabs.setCurrentWidget(window.train_stack)
    window.close()
    assert load_settings(settings_file).last_tab == "train"
    again = make_window(qtbot, settings_file)
    again.open_start_page()
    assert again.tabs.currentWidget() is again.train_stack and not again.explore.model.is_open
    again.tabs.setCurrentWidget(again.explore)
    settle(qtbot, again.explore.model)
    assert again.explore.model.info.path == sg2_pickle and again.explore.model.state.seed == 5
    again.close()
