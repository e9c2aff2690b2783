"""File > Edit a photo with pytest-qt and the bundled 64 px face model: a photo made by our own code (EXIF turned),
three clicked points, the aligned preview, a few projection steps with progress and a live reconstruction,
Cancel and closing mid-run, the latent in the explorer (its image is the reconstruction; a slider edits it),
pivotal tuning swapped in and out, the latent file, paste back, a tiny GAN Studio StyleGAN, and the menu action for
non-StyleGAN models."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ganstudio.core.bundled import bundled_model
from ganstudio.core.latent.files import load_latent
from ganstudio.core.photo.align import align_face, apply_transform, invert_transform, load_photo, template_for
from ganstudio.gui.explorer.explorer_view import ExplorerView
from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.photo.edit_photo_dialog import EditPhotoDialog
from ganstudio.gui.threads import running_threads
from tests.gui.photo_fixtures import face_photo

WAIT = 60_000


@pytest.fixture
def explorer(qtbot):
    model = ExplorerModel(device="cpu")
    view = ExplorerView(model)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    assert view.open_bundled(bundled_model("faces"))
    qtbot.waitUntil(lambda: model.last_result is not None and model.idle(), timeout=WAIT)
    yield view
    view.shutdown()
    view.close()


@pytest.fixture
def photo(tmp_path):
    return face_photo(tmp_path, bundled_model("faces").file)


@pytest.fixture
def dialog(qtbot, explorer):
    d = EditPhotoDialog(explorer)
    qtbot.addWidget(d)
    d.show()
    yield d
    d.close()
    assert not d.running and not running_threads()


def click(picker, point) -> None:
    QTest.mouseClick(picker, Qt.MouseButton.LeftButton, pos=picker.to_widget(point).toPoint())


def opened(qtbot, d, path) -> None:
    """Open a photo (read on a worker) and wait until it is shown."""
    assert d.open_photo(path)
    qtbot.waitUntil(lambda: d.photo is not None and not d.status.text().startswith("Opening"), timeout=WAIT)


def aligned(qtbot, d, photo) -> None:
    opened(qtbot, d, photo.path)
    for p in photo.points:
        click(d.picker, p)
    qtbot.waitUntil(lambda: d.face is not None, timeout=WAIT)


def project(qtbot, d, steps: int, pti_steps: int = 0) -> None:
    d.settings.steps.setValue(steps)
    d.settings.pti.setChecked(bool(pti_steps))
    d.settings.pti_steps.setValue(max(pti_steps, 1))
    assert d.start_projection()
    qtbot.waitUntil(lambda: not d.running, timeout=5 * WAIT)
    assert d.result is not None, d.status.text()


def test_clicked_points_give_the_aligned_preview(qtbot, dialog, photo):
    d = dialog
    assert not d.project_button.isEnabled() and "Open a photo" in d.instruction.text()
    opened(qtbot, d, photo.path)
    assert d.photo.shape == photo.upright.shape  # turned upright by its EXIF orientation
    assert np.abs(d.photo.astype(int) - photo.upright).mean() < 2
    assert "left of the picture" in d.instruction.text() and "1 of 3" in d.instruction.text()
    click(d.picker, photo.points[0])
    click(d.picker, photo.points[1])
    assert "mouth" in d.instruction.text() and d.face is None and not d.project_button.isEnabled()
    click(d.picker, photo.points[2])
    qtbot.waitUntil(lambda: d.face is not None, timeout=WAIT)
    assert d.project_button.isEnabled() and "Drag a marker" in d.instruction.text()
    picked = d.picker.points()
    assert np.abs(np.array(picked) - photo.points).max() < 1.5  # one screen pixel at this zoom
    expected = align_face(d.photo, picked, template_for(d.config)).image
    assert np.array_equal(d.target_view.image, expected) and d.target_view.image.shape == (64, 64, 3)
    assert np.abs(expected.astype(int) - photo.face).mean() < 8  # the model's own face, cut out again
    # a marker drags; Reset clears them all
    start = d.picker.to_widget(picked[2]).toPoint()
    QTest.mousePress(d.picker, Qt.MouseButton.LeftButton, pos=start)
    QTest.mouseMove(d.picker, start + QPoint(0, 12))
    QTest.mouseRelease(d.picker, Qt.MouseButton.LeftButton, pos=start + QPoint(0, 12))
    moved = d.picker.points()
    assert moved[:2] == picked[:2] and moved[2][1] > picked[2][1] + 3
    qtbot.waitUntil(lambda: d.face is not None and not np.array_equal(d.target_view.image, expected), timeout=WAIT)
    d.reset_button.click()
    assert d.picker.points() == [] and d.face is None and not d.project_button.isEnabled()


def test_a_corrupt_photo_gets_one_sentence(qtbot, dialog, tmp_path):
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert dialog.open_photo(bad)
    qtbot.waitUntil(lambda: not dialog.status.text().startswith("Opening"), timeout=WAIT)
    text = dialog.status.text()
    assert "holiday.jpg" in text and text.endswith(".") and text.count(". ") == 0 and dialog.photo is None


def test_project_open_in_explorer_edit_save_and_paste_back(qtbot, dialog, explorer, photo, tmp_path):
    d, m = dialog, explorer.model
    aligned(qtbot, d, photo)
    previews = []
    d._report.connect(lambda r: previews.append(r.preview is not None))
    project(qtbot, d, steps=6)
    assert d.progress.value() == d.progress.maximum() == 6 and len(previews) >= 3 and any(previews)
    assert d.reconstruction_view.image is not None and "PSNR" in d.reconstruction_view.caption.text()
    # in words a first-time user can read: no "offline loss", "SSIM" or "name VGG16's weights" on the screen
    assert "likeness" in d.reconstruction_view.caption.text() and "offline" not in d.status.text()
    assert "SSIM" not in d.settings.loss_label.text() and "(PTI)" not in d.settings.pti.text()
    assert d.result.ws.shape == (1, 10, m.G.mapping.w_dim) and d.explorer_button.isEnabled()
    # the explorer's current image is the latent, drawn exactly as the reconstruction
    assert d.open_in_explorer()
    qtbot.waitUntil(lambda: m.idle() and m.last_result is not None and m.last_result.request.ws is not None,
                    timeout=WAIT)
    assert m.state.latent_label == "photo.jpg"
    assert np.array_equal(m.last_result.image, d.result.image)
    assert np.array_equal(explorer.image_view.image, d.result.image)
    # a slider edits it
    m.state.set_amount(0, 3.0)
    qtbot.waitUntil(lambda: m.idle() and bool(m.last_result.request.edits), timeout=WAIT)
    edited = m.last_result.image
    assert np.abs(edited.astype(int) - d.result.image).mean() > 1
    # the latent file, for this model
    saved = d.save_latent_file(tmp_path / "me.npz")
    latent = load_latent(saved)
    assert np.allclose(latent.ws, d.result.ws) and latent.photo == "photo.jpg" and latent.space == "w+"
    latent.check_fits(m.G, m.info.config)
    # paste back: the original size, changed only inside the face's square
    out = d.paste_back_to(tmp_path / "edited.png")
    pasted, original = load_photo(out), load_photo(photo.path)
    assert pasted.shape == original.shape
    corners = apply_transform(invert_transform(d.face.matrix), [(0, 0), (64, 0), (0, 64), (64, 64)])
    (x0, y0), (x1, y1) = np.floor(corners.min(0)).astype(int), np.ceil(corners.max(0)).astype(int)
    inside = np.zeros(original.shape[:2], bool)
    inside[max(y0, 0):y1, max(x0, 0):x1] = True
    diff = np.abs(pasted.astype(int) - original).max(axis=2)
    assert diff[~inside].max() == 0 and diff[inside].mean() > 1
    assert "edited.png" in d.status.text()


def test_cancel_and_closing_stop_the_projection(qtbot, explorer, photo):
    d = EditPhotoDialog(explorer)
    qtbot.addWidget(d)
    d.show()
    aligned(qtbot, d, photo)
    d.settings.steps.setValue(5000)
    assert d.start_projection() and d.cancel_button.isEnabled() and not d.project_button.isEnabled()
    qtbot.waitUntil(lambda: d.progress.value() > 0, timeout=WAIT)
    d.cancel_button.click()
    qtbot.waitUntil(lambda: not d.running, timeout=WAIT)
    assert d.result is None and "Cancelled" in d.status.text() and d.project_button.isEnabled()
    assert not running_threads()
    assert d.start_projection()
    qtbot.waitUntil(lambda: d.progress.value() > 0, timeout=WAIT)
    d.close()  # cancels and joins the worker
    assert not d.running and not running_threads()


def test_pivotal_tuning_renders_with_the_tuned_copy_until_the_original_is_back(qtbot, dialog, explorer, photo,
                                                                                  tmp_path):
    d, m = dialog, explorer.model
    original = m.G
    aligned(qtbot, d, photo)
    project(qtbot, d, steps=3, pti_steps=3)
    assert d.result.tuned is not None and d.progress.maximum() == 6
    assert d.open_in_explorer()
    qtbot.waitUntil(lambda: m.idle() and m.last_result is not None and m.last_result.request.ws is not None,
                    timeout=WAIT)
    assert m.G is d.result.tuned and "tuned for photo.jpg" in m.info.title
    assert np.array_equal(m.last_result.image, d.result.image)
    assert m.state.directions is not None and m.state.directions.names[0] == "Smiling"  # the original's sliders
    assert d.original_button.isVisible() and d.fits_explorer()
    saved = d.save_latent_file(tmp_path / "me.npz")
    latent = load_latent(saved)
    assert (tmp_path / "me-pti.safetensors").is_file() and latent.tuned_generator == "me-pti.safetensors"
    d.original_button.click()
    qtbot.waitUntil(lambda: m.idle() and m.last_result is not None, timeout=WAIT)
    assert m.G is original and m.bundled_key == "faces" and not d.original_button.isVisible()


def test_the_file_menu_action_follows_the_explorer_s_model(qtbot):
    from ganstudio.gui.main_window import MainWindow
    from ganstudio.gui.settings import Settings

    window = MainWindow(Settings())
    qtbot.addWidget(window, before_close_func=lambda w: w.explore.shutdown())
    action = window.edit_photo_action
    assert not action.isEnabled() and "Open a StyleGAN" in action.toolTip()
    model = window.explore.model
    window.open_bundled("digits")
    # its SeFa directions first (a set finishing after the switch lands on the next model: see the report)
    qtbot.waitUntil(lambda: model.idle() and model.state.directions is not None and not model.computing_directions,
                    timeout=WAIT)
    assert not action.isEnabled() and "needs a StyleGAN" in action.toolTip()
    assert window.edit_photo() is None and "needs a StyleGAN" in window.statusBar().currentMessage()
    window.open_bundled("faces")
    qtbot.waitUntil(model.idle, timeout=WAIT)
    assert action.isEnabled()
    action.trigger()
    dialog = window.photo_dialog
    assert isinstance(dialog, EditPhotoDialog) and dialog.isVisible()
    assert window.edit_photo() is dialog  # the same dialog comes back while the model is the same
    window.close()
    assert not dialog.isVisible()


def test_a_tiny_gan_studio_stylegan_takes_a_photo_too(qtbot, tmp_path, photo):
    from ganstudio.core.checkpoints import Checkpoint, save_checkpoint
    from ganstudio.core.models.registry import build_models
    from tests.conftest import tiny_config

    cfg = tiny_config(arch="stylegan", channels=3, resolution=32, w_dim=16).with_updates("data", resolution=32)
    G, D = build_models(cfg.model, cfg.loss)
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(path, Checkpoint(cfg, 5, {"G": G.state_dict(), "D": D.state_dict()}))
    model = ExplorerModel(device="cpu")
    view = ExplorerView(model, bundled=[])
    qtbot.addWidget(view)
    assert view.open_checkpoint(path)
    qtbot.waitUntil(lambda: model.last_result is not None and model.idle(), timeout=WAIT)
    d = EditPhotoDialog(view)
    qtbot.addWidget(d)
    aligned(qtbot, d, photo)
    assert d.face.image.shape == (32, 32, 3)
    project(qtbot, d, steps=3)
    assert d.open_in_explorer()
    qtbot.waitUntil(lambda: model.idle() and model.last_result.request.ws is not None, timeout=WAIT)
    assert np.array_equal(model.last_result.image, d.result.image)
    d.close()
    view.shutdown()
    assert not running_threads()
