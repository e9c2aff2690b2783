"""Getting around runs: Explore from a run, back to the list, the recent runs' context menu, the configuration
dialog, the log of what happened, and where the logs are."""
from __future__ import annotations

import os
import shlex
import stat

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from ganstudio.core.runs import RunFolder
from ganstudio.core.training.loop import Trainer
from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import Settings, load_settings
from ganstudio.gui.threads import running_threads
from ganstudio.gui.widgets.about_dialog import AboutDialog
from ganstudio.gui.widgets.config_dialog import ConfigDialog
from tests.run_helpers import image_config, make_folder

WAIT = 60_000


@pytest.fixture
def run_dir(tmp_path):
    """A finished tiny DCGAN run in a folder whose path has spaces."""
    folder = make_folder(tmp_path / "images")
    path = tmp_path / "GAN Studio runs" / "my run"
    list(Trainer(image_config(folder, steps=6, checkpoint_every=3), path))
    return path


@pytest.fixture
def window(qtbot, run_dir):
    w = MainWindow(Settings(cpu_threads=1, opened_before=True, recent_runs=[str(run_dir)]))
    qtbot.addWidget(w, before_close_func=lambda w: (w.view and w.view.shutdown(), w.explore.shutdown()))
    w.resize(1100, 720)
    w.show()
    return w


def test_a_run_opens_in_the_explorer_and_goes_back_to_the_list(qtbot, window, run_dir):
    view = window.open_run(run_dir)
    assert view.explore_button.isEnabled() and view.back_button.isVisible()
    view.explore_button.click()
    model = window.explore.model
    qtbot.waitUntil(lambda: model.is_open and model.last_result is not None and model.idle(), timeout=WAIT)
    assert window.tabs.currentWidget() is window.explore
    assert model.info.path == RunFolder(run_dir).latest_checkpoint() and model.info.step == 6
    window.tabs.setCurrentWidget(window.train_stack)
    view.back_button.click()
    assert window.train_stack.currentWidget() is window.welcome and window.welcome.recent.count() == 1
    assert window.welcome.current_button.isVisible() and window.welcome.current_button.text() == "Back to tiny ›"
    window.welcome.current_button.click()
    assert window.train_stack.currentWidget() is view
    view.back_button.click()
    assert window.open_run(run_dir) is view  # the run on show comes back, not a second copy
    assert window.train_stack.currentWidget() is view


def test_a_run_without_a_checkpoint_cannot_be_explored(qtbot, window, tmp_path):
    path = tmp_path / "no checkpoint"
    list(Trainer(image_config(make_folder(tmp_path / "imgs"), steps=2), path))
    for ckpt in (path / "checkpoints").glob("*"):
        ckpt.unlink()
    view = window.open_run(path)
    assert not view.explore_button.isEnabled()
    view.explore()
    assert "no checkpoint yet" in view.status.text() and not window.explore.model.is_open


def test_the_recent_runs_context_menu_opens_explores_shows_and_removes(qtbot, window, run_dir, monkeypatch):
    actions = {a.text(): a for a in window.welcome.menu_for(str(run_dir)).actions() if a.text()}
    assert list(actions) == ["Open", "Explore the newest checkpoint", "Show folder", "Remove from this list"]
    assert all(a.isEnabled() for a in actions.values())
    actions["Open"].trigger()
    assert window.view is not None and window.view.run_dir == run_dir
    window.show_runs_list()
    actions["Explore the newest checkpoint"].trigger()
    model = window.explore.model
    qtbot.waitUntil(lambda: model.is_open and model.idle() and model.last_result is not None, timeout=WAIT)
    assert model.info.path == RunFolder(run_dir).latest_checkpoint()
    said = []
    monkeypatch.setattr("ganstudio.gui.widgets.welcome_page.QDesktopServices.openUrl", lambda url: False)
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: said.append(text))
    actions["Show folder"].trigger()
    assert said and str(run_dir) in said[0]  # no file manager: the path, in a message
    actions["Remove from this list"].trigger()
    assert window.settings.recent_runs == [] and window.welcome.recent.count() == 0
    assert load_settings().recent_runs == [] and run_dir.is_dir()  # the folder stays


def test_a_missing_run_can_still_be_removed_from_the_list(window, tmp_path):
    gone = str(tmp_path / "gone")
    window.settings.recent_runs.insert(0, gone)
    window.welcome.set_recent(window.settings.recent_runs)
    actions = {a.text(): a for a in window.welcome.menu_for(gone).actions() if a.text()}
    assert not actions["Open"].isEnabled() and not actions["Explore the newest checkpoint"].isEnabled()
    actions["Remove from this list"].trigger()
    assert gone not in window.settings.recent_runs


def test_the_configuration_dialog_shows_what_applies_and_a_command_that_pastes(qtbot, window, run_dir):
    view = window.open_run(run_dir)
    view.show_config()
    dialog = window.findChild(ConfigDialog)
    assert dialog is not None
    config_path = str(run_dir / "config.json")
    if os.name != "nt":
        assert shlex.split(dialog.command.text()) == ["ganstudio", "train", "--config", config_path]
    summary = dialog.summary.toPlainText()
    assert "DCGAN" in summary and "Spectral norm in D" in summary
    assert "Style size" not in summary and "Mapping" not in summary and "w_dim" not in summary  # no StyleGAN
    assert "{" not in summary and dialog.pages.currentWidget() is dialog.summary
    dialog.raw.setChecked(True)
    assert dialog.pages.currentWidget() is dialog.text and '"w_dim"' in dialog.text.toPlainText()
    dialog.close()


def test_runs_started_and_ended_are_logged_with_what_a_bug_report_needs(qtbot, window, tmp_path, caplog):
    caplog.set_level("INFO", logger="ganstudio")
    folder = make_folder(tmp_path / "more images")
    view = window.start_run(image_config(folder, steps=4), tmp_path / "runs" / "logged")
    qtbot.waitUntil(lambda: view.last_ended is not None, timeout=WAIT)
    view.session.qthread.wait(10_000)
    qtbot.waitUntil(lambda: not running_threads(), timeout=10_000)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "logged started at step 0 of 4: dcgan 16px on CPU" in text
    assert "ended: finished at step 4 of 4; checkpoint" in text and "batch 8" in text
    assert "saved checkpoint" in text


def test_open_log_folder_shows_the_path_when_no_file_manager_answers(qtbot, window, monkeypatch):
    from ganstudio.logs import log_dir

    monkeypatch.setattr(AboutDialog, "open_url", staticmethod(lambda url: False))
    about = window.show_about()
    box = about._open_logs()
    assert box is not None and str(log_dir()) in box.text()
    assert about.logs_note.isVisible() and str(log_dir()) in about.logs_note.text()
    assert QGuiApplication.clipboard().text() == str(log_dir())
    box.close()
    about.close()


@pytest.mark.skipif(os.name == "nt", reason="no POSIX modes on Windows")
def test_settings_are_written_with_the_umask_s_mode(window, isolated_settings):
    old = os.umask(0o022)
    try:
        window.save_settings()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(isolated_settings).st_mode) == 0o644
