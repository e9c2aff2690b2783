"""The main window: menus, the device in the status bar, About, settings that persist, the Explore area."""
from __future__ import annotations

import torch
from PySide6.QtCore import Qt, qVersion

from ganstudio.core.device import device_name, resolve_device
from ganstudio.core.training.loop import Trainer
from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import Settings, load_settings, save_settings
from ganstudio.gui.widgets.about_dialog import AboutDialog
from tests.run_helpers import toy_config


def make_window(qtbot, settings=None) -> MainWindow:
    window = MainWindow(settings or Settings())
    qtbot.addWidget(window, before_close_func=lambda w: w.view and w.view.shutdown())
    window.show()
    return window


def test_menus_status_bar_and_about(qtbot):
    window = make_window(qtbot)
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert set(menus) == {"File", "Help"}
    file_items = [a.text().replace("&", "") for a in menus["File"].actions() if a.text()]
    assert file_items[:6] == ["New run…", "Open run…", "Open checkpoint…", "Recent runs", "Open pretrained model",
                             "Get pretrained models…"]
    assert window.tabs.tabText(0) == "Train" and window.tabs.tabText(1) == "Explore"
    assert window.device_label.text() == f"Device: {device_name(resolve_device('auto'))}"
    window.about_action.trigger()
    about = window.findChild(AboutDialog)
    assert about is not None and about.isVisible()
    text = about.versions.text()
    assert torch.__version__ in text and qVersion() in text and device_name(resolve_device("auto")) in text
    from ganstudio import __version__
    from ganstudio.logs import log_dir

    assert __version__ in text and str(log_dir()) in text and about.logs_button.text() == "Open log folder"
    about.close()


def test_settings_persist_geometry_and_recent_runs(qtbot, tmp_path, isolated_settings):
    run_dir = tmp_path / "runs" / "r1"
    list(Trainer(toy_config(steps=3), run_dir))
    window = make_window(qtbot, Settings())
    window.resize(960, 560)  # above the explorer's minimum size
    assert window.open_run(run_dir) is not None
    window.close()
    saved = load_settings()
    assert saved.recent_runs == [str(run_dir.absolute())] and saved.window_geometry
    assert isolated_settings.is_file()

    again = make_window(qtbot, load_settings())
    # The offscreen screen is 800 px wide, so the restored width (960) is clamped to the screen; the window's
    # minimum fits inside it. The height fits and must come back exactly.
    assert again.height() == 560 and again.minimumSizeHint().width() <= again.width() <= 800
    again._fill_recent_menu()
    assert any("r1" in a.text() for a in again.recent_menu.actions())
    assert again.welcome.recent.count() == 1
    item = again.welcome.recent.item(0)
    again.welcome.recent_run_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
    assert again.view is not None and again.view.run_dir.resolve() == run_dir.resolve()


def test_damaged_settings_fall_back_to_defaults(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"version": 99, "values": {"smoothing": "lots", "x_axis": "epoch", "unknown": 1}}')
    settings = load_settings(path)
    assert settings.smoothing == 50 and settings.x_axis == "epoch"
    path.write_text("not json")
    assert load_settings(path) == Settings()
    assert save_settings(Settings(), tmp_path / "a" / "b.json") == ""


def test_open_checkpoint_explores_it_in_the_explore_area(qtbot, tmp_path):
    from tests.conftest import tiny_config, tiny_images

    image_run = Trainer(tiny_config(steps=2).with_updates("train", checkpoint_every=2), tmp_path / "runs" / "img",
                        data=tiny_images())
    list(image_run)
    window = make_window(qtbot)
    window.open_checkpoint(image_run.run.latest_checkpoint())
    assert window.tabs.currentWidget() is window.explore
    model = window.explore.model
    qtbot.waitUntil(lambda: model.last_result is not None and model.last_result.image is not None, timeout=20000)
    assert model.last_result.image.shape == (16, 16, 3) or model.last_result.image.shape[:2] == (16, 16)
    assert str(image_run.run.latest_checkpoint()) in window.settings.recent_checkpoints

    toy_run = Trainer(toy_config(steps=4), tmp_path / "runs" / "ck")
    list(toy_run)
    # the open model's own renders done first: its status line would otherwise follow the refusal's
    qtbot.waitUntil(lambda: model.idle() and not model.computing_directions, timeout=20000)
    qtbot.wait(50)
    window.open_checkpoint(toy_run.run.latest_checkpoint())
    qtbot.waitUntil(lambda: not model.opening, timeout=20000)  # read and built on a worker thread
    assert "2D toy data has no images to explore" in window.explore.status.text()

    pickle = tmp_path / "model.safetensors"
    pickle.write_bytes(b"\x80\x04\x95 a pickle")
    window.open_checkpoint(pickle)
    qtbot.waitUntil(lambda: not model.opening, timeout=20000)
    assert "pickle" in window.explore.status.text() and "never opens them" in window.explore.status.text()
    window.close()  # closing joins the explorer's render thread
