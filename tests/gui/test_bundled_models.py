"""The pretrained models shipped with the app: first launch opens the explorer with the face model and its named
sliders, the digit model is one click away, later launches return to the area that was open."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganstudio.core.bundled import bundled_model, bundled_models
from ganstudio.core.latent.directions import Directions
from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import Settings, load_settings

WAIT = 20_000


def make_window(qtbot, settings: Settings) -> MainWindow:
    window = MainWindow(settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.explore.shutdown())
    window.resize(1200, 760)
    window.show()
    return window


def wait_rendered(qtbot, window: MainWindow) -> None:
    model = window.explore.model
    qtbot.waitUntil(lambda: model.is_open and model.last_result is not None and model.idle(), timeout=WAIT)


def test_first_launch_opens_the_face_model_with_its_named_sliders(qtbot, isolated_settings):
    window = make_window(qtbot, Settings())
    window.open_start_page()
    wait_rendered(qtbot, window)
    view, model = window.explore, window.explore.model
    assert window.tabs.currentWidget() is view
    assert model.bundled_key == "faces" and model.info.style_based
    start = bundled_model("faces")
    state = model.state
    assert (state.seed, state.psi) == (start.start_seed, start.start_psi) == (4, 0.7)  # a typical face first
    assert model.last_result.request.seed == 4 and model.last_result.request.psi == 0.7
    shipped = Directions.load(bundled_model("faces").directions)
    assert model.state.directions.method == "attributes" and not model.computing_directions  # no SeFa on top
    names = [row.name_edit.text() for row in view.sliders.rows]
    assert names == shipped.names and names[0].startswith("Smiling") and len(names) == 6
    assert view.bundled.buttons["faces"].isChecked() and not view.bundled.buttons["digits"].isChecked()
    image = view.image_view.image
    assert image is not None and image.shape[:2] == (64, 64) and np.ptp(image) > 50
    # the first launch is remembered: the next one does not force the explorer
    assert load_settings().opened_before
    window.close()
    assert load_settings().last_tab == "explore"


def test_moving_the_smiling_slider_changes_the_face(qtbot):
    window = make_window(qtbot, Settings(opened_before=True, last_tab="explore"))
    window.open_start_page()
    wait_rendered(qtbot, window)
    view, model = window.explore, window.explore.model
    before = view.image_view.image.copy()
    view.sliders.rows[0].field.setValue(3.0)
    qtbot.waitUntil(lambda: bool(model.last_result.request.edits) and model.idle(), timeout=WAIT)
    qtbot.waitUntil(lambda: not np.array_equal(view.image_view.image, before), timeout=WAIT)
    assert model.last_result.request.edits[0].index == 0


def test_the_digit_model_is_one_click_away(qtbot):
    window = make_window(qtbot, Settings(opened_before=True))
    window.open_start_page()
    assert window.tabs.currentWidget() is window.train_stack and not window.explore.model.is_open
    window.tabs.setCurrentWidget(window.explore)
    view = window.explore
    view.bundled.buttons["digits"].click()
    wait_rendered(qtbot, window)
    assert view.model.bundled_key == "digits" and view.model.info.conditional
    assert view.class_picker.isVisible() and view.bundled.buttons["digits"].isChecked()
    assert view.model.info.class_names == tuple(str(i) for i in range(10))
    item = view.direction_source.method.model().item(view.direction_source.method.findData("attributes"))
    assert not item.isEnabled()  # face attributes do not apply to digits
    qtbot.waitUntil(lambda: view.model.state.directions is not None and not view.model.computing_directions,
                    timeout=WAIT)
    assert view.model.state.directions.method == "sefa"


def test_file_menu_lists_the_pretrained_models(qtbot):
    window = make_window(qtbot, Settings(opened_before=True))
    titles = [a.text() for a in window.pretrained_menu.actions()]
    assert titles == [m.title for m in bundled_models()] == ["Faces", "Digits"]
    window.pretrained_menu.actions()[1].trigger()
    wait_rendered(qtbot, window)
    assert window.tabs.currentWidget() is window.explore and window.explore.model.bundled_key == "digits"


def test_face_attributes_can_be_fitted_again_in_the_app(qtbot, monkeypatch):
    monkeypatch.setattr("ganstudio.gui.explorer.model.ATTRIBUTE_SAMPLES", 300)  # 4,000 in the app
    window = make_window(qtbot, Settings(opened_before=True))
    window.open_bundled("faces")
    wait_rendered(qtbot, window)
    source, model = window.explore.direction_source, window.explore.model
    shipped = model.state.directions
    index = source.method.findData("attributes")
    assert source.method.model().item(index).isEnabled()
    source.method.setCurrentIndex(index)
    assert not source.count.isEnabled()  # one slider per attribute
    source.compute_button.click()
    qtbot.waitUntil(lambda: model.state.directions is not shipped and not model.computing_directions, timeout=WAIT)
    assert model.state.directions.method == "attributes" and model.state.directions.names[0] == "Smiling"
    assert "6 named attribute directions" in source.summary.text()


def test_the_window_fits_an_800_pixel_screen_with_a_model_open(qtbot):
    window = make_window(qtbot, Settings(opened_before=True))
    window.open_bundled("faces")
    wait_rendered(qtbot, window)
    window.explore.tabs.setCurrentIndex(2)  # style mixing: three views and the grid, in a scroll area
    qtbot.wait(50)
    assert window.minimumSizeHint().width() <= 800, window.minimumSizeHint()
    assert window.explore.title.toolTip().startswith("Faces · StyleGAN")  # the full title, when it is cut short


def test_a_damaged_model_list_is_explained_and_checkpoints_still_open(qtbot, monkeypatch):
    from ganstudio.core.errors import GanStudioError
    from ganstudio.gui.explorer.explorer_view import ExplorerView

    def damaged(folder=None):
        raise GanStudioError("the list of bundled models (models.json) is damaged: bad JSON")

    monkeypatch.setattr("ganstudio.gui.explorer.explorer_view.bundled_models", damaged)
    view = ExplorerView()
    qtbot.addWidget(view, before_close_func=lambda v: v.shutdown())
    assert view.bundled_models == [] and not view.bundled.isVisibleTo(view)
    assert "models.json" in view.status.text() and view.open_button.isEnabled()


def test_switching_digits_and_faces_keeps_each_model_s_seed_sliders_and_psi(qtbot):
    window = make_window(qtbot, Settings(opened_before=True))
    window.open_bundled("faces")
    wait_rendered(qtbot, window)
    view, model = window.explore, window.explore.model
    model.state.set_seed(1234)
    model.state.set_psi(0.55)
    view.sliders.rows[0].field.setValue(1.5)
    wait_rendered(qtbot, window)
    window.open_bundled("digits")
    wait_rendered(qtbot, window)
    qtbot.waitUntil(lambda: model.state.directions is not None and not model.computing_directions, timeout=WAIT)
    model.state.set_class(7)
    window.open_bundled("faces")
    wait_rendered(qtbot, window)
    assert (model.state.seed, model.state.psi) == (1234, 0.55)
    assert view.seed_field.seed() == 1234 and view.truncation.psi() == pytest.approx(0.55, abs=0.01)
    assert model.state.directions.method == "attributes" and view.sliders.rows[0].field.value() == 1.5
    assert model.last_result.request.seed == 1234 and model.last_result.request.edits[0].amount == 1.5
    window.open_bundled("digits")
    wait_rendered(qtbot, window)
    assert model.state.class_index == 7 and not model.computing_directions  # its SeFa set kept too


def test_the_face_model_s_hints_name_only_what_it_has(qtbot):
    window = make_window(qtbot, Settings(opened_before=True))
    window.open_bundled("faces")
    wait_rendered(qtbot, window)
    hint = window.explore.interpolation.path_label.text()
    assert "class" not in hint and "lerp in w" in hint
    window.open_bundled("digits")
    wait_rendered(qtbot, window)
    assert "class" in window.explore.interpolation.path_label.text()


def test_exports_of_a_bundled_model_go_to_the_user_s_folder(qtbot, tmp_path, monkeypatch):
    exports = tmp_path / "Documents" / "GAN Studio exports"
    monkeypatch.setattr("ganstudio.gui.explorer.export_dialog.default_exports_folder", lambda: exports)
    window = make_window(qtbot, Settings(opened_before=True))
    window.open_bundled("digits")
    wait_rendered(qtbot, window)
    dialog = window.explore.show_export()
    dialog.choose("image")
    suggested = Path(dialog.path.text())
    assert suggested.parent == exports and not exports.exists()  # made when needed
    assert "resources" not in suggested.parts
    dialog.start()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    assert dialog.written == suggested and suggested.is_file()
    dialog.close()
