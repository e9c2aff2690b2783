"""The explorer with pytest-qt: sliders, reset, class picker, style mixing rows, layer ranges, interpolation,
direction sets, export, bad checkpoints. Tiny models (a 16 px DCGAN checkpoint, a fake StyleGAN); every thread
is joined in teardown and no top-level widget may be left behind."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication

from ganstudio.core import export
from ganstudio.core.checkpoints import Checkpoint, save_checkpoint
from ganstudio.core.latent.directions import compute_directions
from ganstudio.core.models.registry import build_models
from ganstudio.core.render import Renderer, RenderRequest, RenderResult, layer_groups
from ganstudio.gui.explorer.model import CHANNEL_GRID, CHANNEL_MIX, ExplorerModel
from ganstudio.gui.explorer.explorer_view import ExplorerView
from ganstudio.gui.threads import running_threads
from tests.conftest import tiny_config
from tests.fake_stylegan import fake_stylegan

CLASSES = ("cat", "dog", "fox", "owl")
WAIT = 10000


@pytest.fixture(autouse=True)
def no_leaked_top_level_widgets(qapp):
    """Fails a test that leaves a top-level widget behind (set up before qtbot, so checked after its cleanup)."""
    before = set(QApplication.topLevelWidgets())
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before]
    assert not leaked, f"leaked top-level widgets: {leaked}"


def write_checkpoint(path, conditional=True, seed=0):
    cfg = tiny_config(conditional=conditional, num_classes=4 if conditional else 0,
                      class_names=CLASSES if conditional else (), channels=3)
    torch.manual_seed(seed)
    G, D = build_models(cfg.model, cfg.loss)
    save_checkpoint(path, Checkpoint(cfg, 42, {"G": G.state_dict(), "D": D.state_dict()}))
    return path


class Window:
    """The explorer view as the main window's Explore area holds it."""

    def __init__(self, view: ExplorerView):
        self.view = view

    def open_checkpoint(self, path) -> bool:
        return self.view.open_checkpoint(path)


@pytest.fixture
def window(qtbot, tmp_path):
    model = ExplorerModel(device="cpu")
    view = ExplorerView(model)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    yield Window(view)
    view.shutdown()
    assert not model._async and not running_threads()
    view.close()


def settle(qtbot, model):
    """Wait until directions exist and nothing is being rendered, and the results have been delivered."""
    qtbot.waitUntil(lambda: model.state.directions is not None and not model.computing_directions and model.idle(),
                    timeout=WAIT)
    qtbot.wait(30)
    qtbot.waitUntil(model.idle, timeout=WAIT)
    qtbot.wait(30)


@pytest.fixture
def dcgan(window, qtbot, tmp_path):
    assert window.open_checkpoint(write_checkpoint(tmp_path / "tiny.safetensors"))
    settle(qtbot, window.view.model)
    return window


@pytest.fixture
def stylegan(window, qtbot):
    G, cfg = fake_stylegan(num_classes=0, num_ws=10)
    window.view.model.set_generator(G, cfg, "fake stylegan")
    settle(qtbot, window.view.model)
    return window


def shown(window):
    return window.view.image_view.image.copy()


def test_sliders_change_the_image_and_reset_restores_it_exactly(dcgan, qtbot):
    view, model = dcgan.view, dcgan.view.model
    base = shown(dcgan)
    assert len(view.sliders.rows) == 8 and model.state.directions.method == "sefa"  # 10 asked, capped by z_dim 8
    view.sliders.rows[0].slider.setValue(250)  # +2.5 standard deviations
    qtbot.waitUntil(lambda: not np.array_equal(shown(dcgan), base), timeout=WAIT)
    settle(qtbot, model)
    assert model.last_result.request.edits[0].amount == pytest.approx(2.5)
    assert view.sliders.rows[0].field.value() == pytest.approx(2.5)
    qtbot.mouseClick(view.sliders.rows[0].reset_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: np.array_equal(shown(dcgan), base), timeout=WAIT)
    assert view.sliders.rows[0].slider.value() == 0 and model.last_result.request.edits == ()
    view.sliders.rows[1].field.setValue(-3.0)
    view.sliders.rows[2].slider.setValue(150)
    qtbot.waitUntil(lambda: not np.array_equal(shown(dcgan), base), timeout=WAIT)
    qtbot.mouseClick(view.sliders.reset_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: np.array_equal(shown(dcgan), base), timeout=WAIT)
    assert [r.amount() for r in view.sliders.rows] == [0.0] * 8


def test_seed_field_and_random_button_render_at_once(dcgan, qtbot):
    view, model = dcgan.view, dcgan.view.model
    view.seed_field.spin.setValue(7)
    qtbot.waitUntil(lambda: model.last_result.request.seed == 7, timeout=WAIT)
    expected = Renderer(model.G, model.info.config).render(RenderRequest(seed=7, class_index=0)).image
    assert np.array_equal(shown(dcgan), expected)
    qtbot.mouseClick(view.seed_field.random_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.last_result.request.seed == model.state.seed != 7, timeout=WAIT)
    assert view.seed_field.seed() == model.state.seed


def test_class_picker_changes_the_class_of_the_output(dcgan, qtbot):
    view, model = dcgan.view, dcgan.view.model
    picker = view.class_picker
    assert picker.isVisible() and [picker.combo.itemText(i) for i in range(picker.combo.count())] == list(CLASSES)
    reference = Renderer(model.G, model.info.config)
    picker.combo.setCurrentIndex(3)
    qtbot.waitUntil(lambda: model.last_result.request.class_index == 3, timeout=WAIT)
    assert np.array_equal(shown(dcgan), reference.render(RenderRequest(seed=0, class_index=3)).image)
    assert not np.array_equal(shown(dcgan), reference.render(RenderRequest(seed=0, class_index=0)).image)
    picker.blend_check.setChecked(True)
    picker.combo_b.setCurrentIndex(1)
    picker.slider.setValue(100)  # all the way to class 1
    qtbot.waitUntil(lambda: model.last_result.request.class_t == 1.0, timeout=WAIT)
    assert model.last_result.request.class_b == 1
    assert np.array_equal(shown(dcgan), reference.render(RenderRequest(seed=0, class_index=1)).image)
    assert "dog" in view.status.text()


def test_truncation_pulls_latents_in(dcgan, qtbot):
    view, model = dcgan.view, dcgan.view.model
    view.truncation.slider.setValue(30)
    qtbot.waitUntil(lambda: model.last_result.request.psi == pytest.approx(0.3), timeout=WAIT)
    z = model.last_result.latent
    assert np.abs(z).max() <= 0.6 + 1e-6


def test_interpolation_strip_and_frames(dcgan, qtbot):
    view, model = dcgan.view, dcgan.view.model
    view.tabs.setCurrentIndex(1)
    panel = view.interpolation
    panel.enabled_check.setChecked(True)
    panel.seed_b.spin.setValue(9)
    panel.frames.setValue(5)
    qtbot.waitUntil(lambda: view.strip.count() == 5, timeout=WAIT)
    assert view.strip.isVisible()
    item = view.strip.item(4)
    qtbot.mouseClick(view.strip.viewport(), Qt.MouseButton.LeftButton, pos=view.strip.visualItemRect(item).center())
    qtbot.waitUntil(lambda: model.last_result.request.seed_t == 1.0, timeout=WAIT)
    assert panel.slider.value() == 100
    assert np.array_equal(shown(dcgan), Renderer(model.G, model.info.config).render(
        RenderRequest(seed=9, class_index=0)).image)
    assert np.array_equal(view.strip.frames[4], shown(dcgan))


def test_direction_sets_compute_rename_save_and_load(dcgan, qtbot, tmp_path):
    view, model = dcgan.view, dcgan.view.model
    source = view.direction_source
    source.method.setCurrentIndex(source.method.findData("pca"))
    source.count.setValue(4)
    qtbot.mouseClick(source.compute_button, Qt.MouseButton.LeftButton)
    assert model.computing_directions  # off the GUI thread: the call returned at once
    qtbot.waitUntil(lambda: model.state.directions.method == "pca" and not model.computing_directions, timeout=WAIT)
    assert len(view.sliders.rows) == 4
    row = view.sliders.rows[0]
    row.name_edit.setText("thickness")
    row.name_edit.editingFinished.emit()
    assert model.state.directions.names[0] == "thickness"
    assert source.save_to(tmp_path / "set.json")
    source.method.setCurrentIndex(source.method.findData("axes"))
    qtbot.mouseClick(source.compute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.state.directions.method == "axes" and not model.computing_directions, timeout=WAIT)
    assert source.load_from(tmp_path / "set.json")
    assert model.state.directions.method == "pca" and view.sliders.rows[0].name_edit.text() == "thickness"
    other = tiny_config(channels=3).with_updates("model", z_dim=12)
    G, _ = build_models(other.model, other.loss)
    compute_directions(G, other, "sefa", 3).save(tmp_path / "other.json")
    assert not source.load_from(tmp_path / "other.json")
    assert "belong to a dcgan model with a 12-d z space" in view.status.text()
    assert model.state.directions.method == "pca"  # the sliders in use are kept
    sibling = tiny_config(conditional=True, num_classes=4, class_names=CLASSES, channels=3)
    torch.manual_seed(5)  # same architecture, other weights (as another checkpoint)
    G, _ = build_models(sibling.model, sibling.loss)
    compute_directions(G, sibling, "sefa", 3).save(tmp_path / "sibling.json")
    assert source.load_from(tmp_path / "sibling.json")
    assert "made with other weights" in view.status.text() and len(view.sliders.rows) == 3
    (tmp_path / "bad.json").write_text("{}")
    assert not source.load_from(tmp_path / "bad.json")
    assert "is not a GAN Studio direction set" in view.status.text()


def test_a_wrong_or_damaged_checkpoint_gets_one_sentence(window, qtbot, tmp_path):
    pickle = tmp_path / "model.pt"
    pickle.write_bytes(b"\x80\x04\x95" + b"\x00" * 64)
    assert not window.open_checkpoint(pickle)
    text = window.view.status.text()
    assert "pickle" in text and "Traceback" not in text and text.count(".") >= 1
    assert not window.view.model.is_open and not window.view.export_button.isEnabled()
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(write_checkpoint(tmp_path / "good.safetensors").read_bytes()[:300])
    assert not window.open_checkpoint(damaged)
    sentence = "damaged.safetensors is not a GAN Studio checkpoint (it is damaged or another kind of file)."
    assert window.view.status.text() == sentence
    # shown where the user looks, not only in the status line
    assert window.view.banner.isVisible() and window.view.banner.text.text() == sentence
    assert window.open_checkpoint(tmp_path / "good.safetensors")
    assert not window.view.banner.isVisible()  # a model that opens clears it
    settle(qtbot, window.view.model)


def test_stale_results_are_dropped(dcgan, qtbot):
    model = dcgan.view.model
    seen = []
    model.rendered.connect(seen.append)
    old = RenderResult(RenderRequest(seed=99), image=np.zeros((16, 16, 3), np.uint8), stamp=1)
    model._deliver((model._generation, old))
    model._deliver((model._generation - 1, RenderResult(RenderRequest(), image=old.image, stamp=10**9)))
    assert seen == []


def test_mixing_checkboxes_change_exactly_the_expected_rows(stylegan, qtbot):
    view, model = stylegan.view, stylegan.view.model
    assert view.tabs.isTabVisible(2)
    view.tabs.setCurrentIndex(2)
    assert view.left.currentWidget() is view.mixing_area and view.mixing_view.isVisible()
    panel = view.mixing
    assert len(panel.checks) == 10
    mixes = []
    model.batch_rendered.connect(lambda b: mixes.append(b) if b.channel == CHANNEL_MIX else None)

    def check_rows(expected):
        qtbot.waitUntil(lambda: bool(mixes) and mixes[-1].results[2].request.mix is not None
                        and mixes[-1].results[2].request.mix.rows == expected, timeout=WAIT)
        a, b, mixed = (r.latent[0] for r in mixes[-1].results)
        from_b = [i for i in range(10) if np.array_equal(mixed[i], b[i]) and not np.array_equal(mixed[i], a[i])]
        from_a = [i for i in range(10) if np.array_equal(mixed[i], a[i])]
        assert from_b == list(expected) and from_a == [i for i in range(10) if i not in expected]

    qtbot.mouseClick(panel.preset_buttons["coarse"], Qt.MouseButton.LeftButton)
    coarse = tuple(range(*layer_groups(10)["coarse"]))
    check_rows(coarse)
    assert [c.isChecked() for c in panel.checks] == [i in coarse for i in range(10)]
    panel.checks[7].setChecked(True)
    check_rows(coarse + (7,))
    panel.checks[0].setChecked(False)
    check_rows(coarse[1:] + (7,))
    # source A as the current edited image: its slider edits are in the mix
    panel.source_a.current.setChecked(True)
    view.sliders.rows[0].slider.setValue(200)
    qtbot.waitUntil(lambda: mixes[-1].results[0].request.edits != (), timeout=WAIT)
    assert model.state.mix.seed_a is None


def test_mixing_grid_has_a_seeds_as_rows_and_b_seeds_as_columns(stylegan, qtbot):
    view, model = stylegan.view, stylegan.view.model
    view.tabs.setCurrentIndex(2)
    view.mixing.grid_a.setText("3, 4")
    view.mixing.grid_b.setText("10-12")
    view.mixing.grid_b.editingFinished.emit()
    qtbot.waitUntil(lambda: model.state.mix.grid_b == (10, 11, 12), timeout=WAIT)
    qtbot.waitUntil(lambda: view.mixing_view.grid_image is not None
                    and view.mixing_view.grid_image.shape[:2] == (2 + 3 * 18, 2 + 4 * 18), timeout=WAIT)
    grid = view.mixing_view.grid_image
    r = Renderer(model.G, model.info.config)
    assert np.array_equal(grid[2 + 18:2 + 34, 2:18], r.render(RenderRequest(seed=3)).image)
    assert np.array_equal(grid[2:18, 2 + 18:2 + 34], r.render(RenderRequest(seed=10)).image)
    view.mixing.grid_a.setText("1, x")
    view.mixing.grid_a.editingFinished.emit()
    assert "'x' is not a seed" in view.mixing.grid_error.text() and model.state.mix.grid_a == (3, 4)
    assert CHANNEL_GRID == "grid"


def test_stylegan_slider_layer_presets_limit_the_rows_an_edit_moves(stylegan, qtbot):
    view, model = stylegan.view, stylegan.view.model
    row = view.sliders.rows[0]
    assert row.layers_combo.isVisibleTo(view)
    base = model.last_result.latent.copy()
    row.layers_combo.setCurrentIndex(row.layers_combo.findData("fine"))
    row.slider.setValue(300)
    qtbot.waitUntil(lambda: model.last_result.request.edits != (), timeout=WAIT)
    settle(qtbot, model)
    changed = [i for i in range(10) if not np.array_equal(model.last_result.latent[0, i], base[0, i])]
    assert changed == list(range(*layer_groups(10)["fine"]))
    row.layers_combo.setCurrentIndex(row.layers_combo.findData("custom"))
    row.start_spin.setValue(2)
    row.end_spin.setValue(3)
    qtbot.waitUntil(lambda: model.last_result.request.edits[0].layers == (2, 4), timeout=WAIT)
    settle(qtbot, model)
    changed = [i for i in range(10) if not np.array_equal(model.last_result.latent[0, i], base[0, i])]
    assert changed == [2, 3]


def run_export(qtbot, dialog, kind, path, **options):
    dialog.choose(kind)
    for name, value in options.items():
        getattr(dialog, name).setValue(value)
    dialog.path.setText(str(path))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)


def test_export_writes_png_grid_gif_and_mp4(dcgan, qtbot, tmp_path):
    view = dcgan.view
    dialog = view.show_export()
    side = shown(dcgan).shape[0]  # 28: the DCGAN's MNIST size
    run_export(qtbot, dialog, "image", tmp_path / "one.png", scale=4)
    assert dialog.written == tmp_path / "one.png"
    png = np.asarray(Image.open(dialog.written))
    assert png.shape == (4 * side, 4 * side, 3) and np.array_equal(png[::4, ::4], shown(dcgan))
    dialog.choose("seeds")
    dialog.seeds.setText("0-5")
    run_export(qtbot, dialog, "seeds", tmp_path / "seeds.png", scale=1, columns=3)
    assert Image.open(tmp_path / "seeds.png").size == (2 + 3 * (side + 2), 2 + 2 * (side + 2))
    view.sliders.rows[0].slider.setValue(100)
    run_export(qtbot, dialog, "sweep", tmp_path / "sweep.gif", scale=2, frames=4)
    gif = Image.open(tmp_path / "sweep.gif")
    assert gif.n_frames == 6 and gif.size == (2 * side, 2 * side)
    assert dialog.progress.value() == dialog.progress.maximum()
    if export.mp4_support() is None:
        dialog.format.setCurrentIndex(1)
        run_export(qtbot, dialog, "interpolation", tmp_path / "walk.mp4", scale=2, frames=5)
        import imageio.v3 as iio

        assert iio.imread(tmp_path / "walk.mp4").shape == (8, 2 * side, 2 * side, 3)
    else:
        assert not dialog.format.model().item(1).isEnabled()
        dialog.choose("interpolation")
        assert dialog.format_note.isVisible() and "MP4 export needs" in dialog.format_note.text()
    run_export(qtbot, dialog, "sweep", tmp_path / "sweep.avi")
    assert "saved as .gif or .mp4" in dialog.status.text() and not (tmp_path / "sweep.avi").exists()
    dialog.close()


def test_a_long_export_can_be_cancelled(dcgan, qtbot, tmp_path):
    dialog = dcgan.view.show_export()
    dialog.choose("interpolation")
    dialog.frames.setValue(600)
    dialog.path.setText(str(tmp_path / "long.gif"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=WAIT)
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)  # "Cancel" while running
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT)
    assert "Cancelled" in dialog.status.text() and not list(tmp_path.glob("long*")) and not list(
        tmp_path.glob(".long*"))
    dialog.close()


def test_closing_during_a_long_pca_stops_and_joins_its_thread(dcgan, qtbot):
    model = dcgan.view.model
    model.compute_directions("pca", 4, n_samples=60000)
    assert model.computing_directions and running_threads()
    model.close()
    assert not running_threads() and not model.computing_directions


def test_the_view_embeds_with_a_loaded_checkpoint_and_refuses_toy_models(qtbot, tmp_path):
    from ganstudio.core.checkpoints import load_checkpoint
    from ganstudio.gui.explorer.explorer_view import ExplorerView

    view = ExplorerView(ExplorerModel(device="cpu"))
    qtbot.addWidget(view)
    try:
        path = write_checkpoint(tmp_path / "tiny.safetensors")
        opened = []
        view.checkpoint_opened.connect(opened.append)
        assert view.show_checkpoint(path, load_checkpoint(path)) and opened == [str(path)]
        qtbot.waitUntil(lambda: view.image_view.image is not None, timeout=WAIT)
        toy = tiny_config("mlp").with_updates("model", toy=True, channels=1)
        G, D = build_models(toy.model, toy.loss)
        save_checkpoint(tmp_path / "toy.safetensors", Checkpoint(toy, 1, {"G": G.state_dict(), "D": D.state_dict()}))
        assert not view.open_checkpoint(tmp_path / "toy.safetensors")
        assert view.status.text() == "A model trained on 2D toy data has no images to explore."
        assert view.model.is_open  # the model that was open stays open
    finally:
        view.shutdown()


def test_a_source_s_sliders_come_back_when_it_is_chosen_again(dcgan, qtbot):
    view, model = dcgan.view, dcgan.view.model
    source = view.direction_source
    sefa = model.state.directions
    view.sliders.rows[1].field.setValue(1.5)
    qtbot.waitUntil(lambda: bool(model.state.edits()), timeout=WAIT)
    source.method.setCurrentIndex(source.method.findData("pca"))
    assert model.state.directions is sefa and "press Compute" in source.summary.text()  # nothing to switch to yet
    source.method.setCurrentIndex(source.method.findData("sefa"))
    assert source.summary.text() == "8 SeFa directions in z space"  # the set on the sliders, said again
    source.method.setCurrentIndex(source.method.findData("pca"))
    source.count.setValue(3)
    source.compute_button.click()
    qtbot.waitUntil(lambda: model.state.directions.method == "pca" and not model.computing_directions,
                    timeout=WAIT)
    pca = model.state.directions
    source.method.setCurrentIndex(source.method.findData("sefa"))  # back: at once, no Compute
    assert model.state.directions is sefa and not model.computing_directions
    assert len(view.sliders.rows) == 8 and view.sliders.rows[1].field.value() == pytest.approx(1.5)
    source.method.setCurrentIndex(source.method.findData("pca"))
    assert model.state.directions is pca and len(view.sliders.rows) == 3
    settle(qtbot, model)


def test_a_model_opened_again_comes_back_as_it_was_left(window, qtbot, tmp_path):
    view, model = window.view, window.view.model
    first = write_checkpoint(tmp_path / "first.safetensors")
    second = write_checkpoint(tmp_path / "second.safetensors", conditional=False, seed=3)
    assert window.open_checkpoint(first)
    settle(qtbot, model)
    sefa = model.state.directions
    view.seed_field.set_seed(321)
    model.state.set_seed(321)
    model.state.set_class(2)
    view.sliders.rows[0].field.setValue(2.0)
    settle(qtbot, model)
    assert window.open_checkpoint(second)
    settle(qtbot, model)
    assert model.state.seed == 0 and model.state.directions is not sefa
    assert window.open_checkpoint(first)
    qtbot.waitUntil(lambda: model.idle() and model.last_result is not None, timeout=WAIT)
    settle(qtbot, model)
    assert not model.computing_directions and model.state.directions is sefa
    assert (model.state.seed, model.state.class_index) == (321, 2) and view.seed_field.seed() == 321
    assert view.sliders.rows[0].field.value() == pytest.approx(2.0)
    assert model.last_result.request.seed == 321 and model.last_result.request.edits[0].amount == 2.0
