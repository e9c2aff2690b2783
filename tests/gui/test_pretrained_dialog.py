"""File > Get pretrained models: the catalogue table, a download on a worker (progress, model card, Cancel and
resume, an unreachable host) and Open into the explorer, against a local HTTP server on 127.0.0.1."""
from __future__ import annotations

import os

import pytest

from ganstudio.core.download import part_path
from ganstudio.core.pretrained import Licence, PretrainedModel
from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import Settings
from ganstudio.gui.widgets import pretrained_dialog
from ganstudio.gui.widgets.pretrained_dialog import PretrainedDialog
from tests.http_fixtures import Served, closed_port, http_server
from tests.imported_fixtures import TINY, random_generator, write_nvidia_pickle

LICENCE = Licence("NVIDIA Source Code License for StyleGAN3", "https://example.org/licence",
                  "non-commercial use only (research or evaluation)")


def release(url: str, key: str = "tiny-ffhq-16") -> PretrainedModel:
    return PretrainedModel(key, "Tiny faces 16", "StyleGAN2-ADA", "test", 16, url, LICENCE,
                           "A 16-px generator with random weights, made by the tests.")


@pytest.fixture
def pickle_bytes(tmp_path) -> bytes:
    return write_nvidia_pickle(tmp_path / "src.pkl", random_generator(), TINY).read_bytes()


def download(qtbot, dialog: PretrainedDialog) -> None:
    with qtbot.waitSignal(dialog.download_button.clicked, timeout=1000):
        dialog.download_button.click()
    assert dialog.task is not None
    with qtbot.waitSignal(dialog.task.finished, timeout=60_000):
        pass


def test_the_dialog_lists_the_catalogue_with_licences(qtbot, tmp_path):
    dialog = PretrainedDialog(tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    model = dialog.table_model
    assert model.rowCount() >= 20 and model.columnCount() == 6
    first = [model.index(0, c).data() for c in range(6)]
    assert first == ["FFHQ faces 1024", "StyleGAN2-ADA", "1024 px", "unknown", "non-commercial",
                     "not downloaded"]
    assert not dialog.progress.isVisible()  # no idle 0% bar before anything is downloaded
    assert dialog.select("stylegan2-ada-cifar10-32")
    assert "10 classes" in dialog.details.text() and "non-commercial use only" in dialog.details.text()
    assert dialog.download_button.isEnabled() and not dialog.open_button.isEnabled()
    assert not dialog.cancel_button.isEnabled()
    if os.environ.get("GANSTUDIO_SCREENSHOTS"):
        dialog.grab().save(os.path.join(os.environ["GANSTUDIO_SCREENSHOTS"], "pretrained_dialog.png"))
    dialog.close()


def test_download_shows_the_card_and_open_explores_it(qtbot, tmp_path, monkeypatch, pickle_bytes):
    folder = tmp_path / "models"
    monkeypatch.setenv("GANSTUDIO_MODELS_DIR", str(folder))
    with http_server(Served({"net.pkl": pickle_bytes})) as served:
        monkeypatch.setattr(pretrained_dialog, "catalogue", lambda: [release(served.url("net.pkl"))])
        window = MainWindow(Settings())
        qtbot.addWidget(window)
        window.show()
        window.get_models_action.trigger()
        dialog = window.pretrained_dialog
        assert dialog is not None and dialog.isVisible() and dialog.folder == folder
        progress = []
        dialog.progress.valueChanged.connect(progress.append)
        download(qtbot, dialog)
    assert (folder / "tiny-ffhq-16.pkl").read_bytes() == pickle_bytes
    text = dialog.status.text()
    assert text.startswith("Downloaded and checked:") and "16 px" in text and "non-commercial" in text
    assert progress and dialog.progress.value() == dialog.progress.maximum()
    assert dialog.table_model.index(0, 5).data() == "downloaded"
    assert dialog.open_button.isEnabled() and not dialog.download_button.isEnabled()
    if os.environ.get("GANSTUDIO_SCREENSHOTS"):
        dialog.grab().save(os.path.join(os.environ["GANSTUDIO_SCREENSHOTS"], "pretrained_dialog_done.png"))
    dialog.open_button.click()
    assert not dialog.isVisible() and window.tabs.currentWidget() is window.explore
    qtbot.waitUntil(lambda: "rendered" in window.explore.status.text(), timeout=30_000)
    assert window.explore.title.text().startswith("tiny-ffhq-16.pkl · StyleGAN2-ADA (NVIDIA pickle) · 16x16")
    assert window.settings.recent_checkpoints[0] == str(folder / "tiny-ffhq-16.pkl")
    window.close()


def test_cancel_keeps_the_partial_download_and_resume_finishes_it(qtbot, tmp_path, pickle_bytes):
    data = pickle_bytes * 8  # the importer reads the first pickle; the rest makes the download take a while
    with http_server(Served({"net.pkl": data}, delay_s=0.01)) as served:
        dialog = PretrainedDialog(tmp_path, [release(served.url("net.pkl"))])
        qtbot.addWidget(dialog)
        dialog.show()
        dialog.download_button.click()
        assert dialog.cancel_button.isEnabled() and not dialog.download_button.isEnabled()
        qtbot.waitUntil(lambda: "Downloading Tiny faces 16:" in dialog.status.text(), timeout=10_000)
        with qtbot.waitSignal(dialog.task.finished, timeout=30_000):
            dialog.cancel_button.click()
        assert dialog.status.text().startswith("Cancelled.")
        part = part_path(tmp_path / "tiny-ffhq-16.pkl")
        kept = part.stat().st_size
        assert 0 < kept < len(data)
        assert dialog.download_button.text() == "Resume download"
        assert dialog.table_model.index(0, 5).data().startswith("partly (")
        served.delay_s = 0.0
        download(qtbot, dialog)
    assert served.requests == ["", f"bytes={kept}-"]
    assert (tmp_path / "tiny-ffhq-16.pkl").read_bytes() == data
    assert dialog.status.text().startswith("Downloaded and checked:")
    dialog.close()


def test_an_unreachable_host_is_one_sentence_in_the_dialog(qtbot, tmp_path):
    dialog = PretrainedDialog(tmp_path, [release(f"http://127.0.0.1:{closed_port()}/net.pkl")])
    qtbot.addWidget(dialog)
    dialog.show()
    download(qtbot, dialog)
    text = dialog.status.text()
    assert text.startswith("Could not reach 127.0.0.1: the connection was refused; download http://127.0.0.1:")
    assert "File > Open checkpoint" in text and "\n" not in text and "--checkpoint" not in text
    assert not dialog.progress.isVisible()
    assert dialog.download_button.isEnabled()
    dialog.close()
