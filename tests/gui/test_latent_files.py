"""File > Open latent… and Save latent… in the explorer, with a tiny GAN Studio StyleGAN: a latent file becomes the
current image (read on a worker) and the sliders edit it; another model's latent and a damaged file are refused
in one sentence; the current image's latent (slider edits included) is saved and opens as the same picture; a
pivotally tuned photo's file renders with its tuned generator; the menu actions follow the explorer's model."""
from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import torch

from ganstudio.core.checkpoints import Checkpoint, save_checkpoint
from ganstudio.core.latent.directions import model_info
from ganstudio.core.latent.files import load_latent, make_latent, save_latent
from ganstudio.core.models.registry import build_models
from ganstudio.core.photo.projection import save_tuned_generator
from ganstudio.core.render import Renderer, RenderRequest
from ganstudio.gui.explorer.explorer_view import ExplorerView
from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.threads import running_threads
from tests.conftest import tiny_config

WAIT = 30_000
SHOTS = os.environ.get("GANSTUDIO_SCREENSHOTS")  # a folder to save screenshots in, for looking at the screens


def write_stylegan(path, seed=0):
    cfg = tiny_config(arch="stylegan", channels=3, resolution=32, w_dim=16).with_updates("data", resolution=32)
    torch.manual_seed(seed)
    G, D = build_models(cfg.model, cfg.loss)
    save_checkpoint(path, Checkpoint(cfg, 5, {"G": G.state_dict(), "D": D.state_dict()}))
    return path


def seed_latent(G, cfg, seed: int, psi: float = 0.7):
    return make_latent(Renderer(G, cfg).latent(RenderRequest(seed=seed, psi=psi)), G, cfg, "seed")


@pytest.fixture
def view(qtbot, tmp_path):
    model = ExplorerModel(device="cpu")
    v = ExplorerView(model, bundled=[])
    qtbot.addWidget(v)
    v.resize(1000, 640)
    v.show()
    assert v.open_checkpoint(write_stylegan(tmp_path / "tiny.safetensors"))
    settle(qtbot, model)
    yield v
    v.shutdown()
    v.close()
    assert not running_threads()


def settle(qtbot, model):
    qtbot.waitUntil(lambda: model.state.directions is not None and not model.computing_directions and model.idle()
                    and model.last_result is not None, timeout=WAIT)
    qtbot.wait(30)
    qtbot.waitUntil(model.idle, timeout=WAIT)


def shows(qtbot, view, label: str):
    m = view.model
    qtbot.waitUntil(lambda: not view.latent_files.running and m.state.latent_label == label, timeout=WAIT)
    settle(qtbot, m)
    assert m.last_result.request.ws is not None
    return m.last_result.image


def snap(view, name):
    if SHOTS:
        view.grab().save(os.path.join(SHOTS, name))


def test_a_latent_file_becomes_the_current_image_and_the_sliders_edit_it(qtbot, view, tmp_path):
    m = view.model
    m.state.set_psi(0.7)
    m.state.set_seed(11)
    settle(qtbot, m)
    seed_image = m.last_result.image
    save_latent(tmp_path / "eleven.npz", seed_latent(m.G, m.info.config, 11))
    m.state.set_seed(3)
    m.state.set_amount(0, 2.0)  # the file's latent starts without edits
    settle(qtbot, m)
    assert view.open_latent(tmp_path / "eleven.npz")
    image = shows(qtbot, view, "eleven.npz")
    assert np.array_equal(image, seed_image) and not any(m.state.amounts)
    assert view.status.text().startswith("eleven.npz · 32×32")
    m.state.set_amount(0, 3.0)
    qtbot.waitUntil(lambda: m.idle() and bool(m.last_result.request.edits), timeout=WAIT)
    settle(qtbot, m)
    assert np.abs(m.last_result.image.astype(int) - seed_image).mean() > 1, "a slider edits the latent"
    snap(view, "latent_opened.png")


def test_another_model_s_latent_and_a_damaged_file_are_refused_in_one_sentence(qtbot, view, tmp_path):
    from ganstudio.core.checkpoints import load_generator

    m = view.model
    before = m.last_result.image
    other_G, other_cfg = load_generator(write_stylegan(tmp_path / "other.safetensors", seed=1))
    save_latent(tmp_path / "other.npz", seed_latent(other_G, other_cfg, 4))
    assert view.open_latent(tmp_path / "other.npz")
    qtbot.waitUntil(lambda: not view.latent_files.running and view.banner.isVisible(), timeout=WAIT)
    text = view.banner.text.text()
    assert "other.npz belongs to another model" in text and text.count(".") <= 2 and "Traceback" not in text
    assert "its weights' fingerprint" in text and "&#" not in text  # plain text: quotes as they are
    assert m.state.latent is None and np.array_equal(m.last_result.image, before)
    snap(view, "latent_refused.png")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert view.open_latent(tmp_path / "bad.npz")
    qtbot.waitUntil(lambda: not view.latent_files.running and "bad.npz" in view.banner.text.text(), timeout=WAIT)
    assert "is not a GAN Studio latent file" in view.banner.text.text() and m.state.latent is None


def test_the_current_image_s_latent_is_saved_with_its_edits_and_opens_as_the_same_picture(qtbot, view, tmp_path):
    m = view.model
    m.state.set_seed(5)
    m.state.set_amount(1, 2.5)
    settle(qtbot, m)
    edited = m.last_result.image
    assert view.save_latent(tmp_path / "edited")  # the .npz ending is added
    qtbot.waitUntil(lambda: not view.latent_files.running, timeout=WAIT)
    assert view.status.text() == "Saved the current image's latent to edited.npz."
    latent = load_latent(tmp_path / "edited.npz")
    latent.check_fits(m.G, m.info.config)
    assert latent.source == "seed" and latent.info["seed"] == 5 and latent.info["sliders_moved"] == 1
    m.state.set_seed(9)
    settle(qtbot, m)
    assert view.open_latent(tmp_path / "edited.npz")
    assert np.abs(shows(qtbot, view, "edited.npz").astype(int) - edited).max() <= 1
    assert not any(m.state.amounts)
    assert view.save_latent(tmp_path / "again.npz")  # a file's latent keeps where it came from
    qtbot.waitUntil(lambda: not view.latent_files.running, timeout=WAIT)
    again = load_latent(tmp_path / "again.npz")
    assert again.source == "seed" and again.info == {"from_latent": "edited.npz"}
    assert np.allclose(again.ws, latent.ws, atol=1e-6)


def test_a_tuned_photo_s_latent_renders_with_its_tuned_generator(qtbot, view, tmp_path):
    m = view.model
    original, cfg = m.G, m.info.config
    tuned = copy.deepcopy(original)
    with torch.no_grad():
        for p in tuned.synthesis.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_tuned_generator(tuned, tmp_path / "tiny.safetensors", tmp_path / "face-pti.safetensors")
    latent = seed_latent(original, cfg, 2)
    latent.tuned_generator, latent.tuned_model = "face-pti.safetensors", model_info(tuned, cfg)
    save_latent(tmp_path / "face.npz", latent)
    assert view.open_latent(tmp_path / "face.npz")
    shows(qtbot, view, "face.npz")
    assert m.G is not original and "tuned for face.npz" in m.info.title
    (tmp_path / "kept").mkdir()
    assert view.save_latent(tmp_path / "kept" / "face2.npz")
    qtbot.waitUntil(lambda: not view.latent_files.running, timeout=WAIT)
    saved = load_latent(tmp_path / "kept" / "face2.npz")
    assert saved.tuned_path(tmp_path / "kept" / "face2.npz").resolve() == tmp_path / "face-pti.safetensors"
    save_latent(tmp_path / "plain.npz", seed_latent(original, cfg, 8))
    assert view.open_latent(tmp_path / "plain.npz")
    shows(qtbot, view, "plain.npz")
    assert m.G is original, "a latent without a tuned generator brings the original back"
    (tmp_path / "face-pti.safetensors").unlink()
    assert view.open_latent(tmp_path / "face.npz")
    shows(qtbot, view, "face.npz")
    assert m.G is original and view.banner.isVisible() and view.banner.kind == "warning"
    assert "its tuned generator face-pti.safetensors is not beside it" in view.banner.text.text()
    snap(view, "latent_tuned_missing.png")


def test_the_file_menu_actions_follow_the_explorer_s_model(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from ganstudio.gui.main_window import MainWindow
    from ganstudio.gui.settings import Settings

    window = MainWindow(Settings())
    qtbot.addWidget(window, before_close_func=lambda w: w.explore.shutdown())
    assert not window.open_latent_action.isEnabled() and not window.save_latent_action.isEnabled()
    assert "Open a StyleGAN" in window.open_latent_action.toolTip()
    path = write_stylegan(tmp_path / "tiny.safetensors")
    assert window.explore.open_checkpoint(path)
    m = window.explore.model
    settle(qtbot, m)
    assert window.open_latent_action.isEnabled() and window.save_latent_action.isEnabled()
    save_latent(tmp_path / "menu.npz", seed_latent(m.G, m.info.config, 6))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "menu.npz"), ""))
    window.open_latent_action.trigger()
    assert window.tabs.currentWidget() is window.explore
    shows(qtbot, window.explore, "menu.npz")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "saved.npz"), ""))
    window.save_latent_action.trigger()
    qtbot.waitUntil(lambda: not window.explore.latent_files.running, timeout=WAIT)
    assert load_latent(tmp_path / "saved.npz").info == {"from_latent": "menu.npz"}
    window.close()
