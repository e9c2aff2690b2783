"""CycleGAN in the app: the wizard builds a translation run, a short run shows the cycle losses and the turned
grid (real -> translated -> back), and the Translate view translates an image both ways and exports a folder."""
from __future__ import annotations

import os

import numpy as np
import pytest

from ganstudio.core.defaults import RunChoices, run_config
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.cycle import CYCLE_METRICS, GRID_ROWS
from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import Settings
from ganstudio.gui.widgets.sample_grid import CAPTION_PX
from tests.core.test_cyclegan import _folder
from tests.gui.test_training_view import shut_down, wait_ended

SHOTS = os.environ.get("GANSTUDIO_SHOTS")  # a folder to save screenshots in, for looking at the screens


@pytest.fixture
def domains(tmp_path):
    """Two folders of 32 px grayscale images: dark noise (A) and light noise (B)."""
    rng = np.random.default_rng(0)
    a = _folder(tmp_path / "A", rng.integers(0, 128, (8, 32, 32), dtype=np.uint8))
    b = _folder(tmp_path / "B", rng.integers(128, 256, (8, 32, 32), dtype=np.uint8))
    return a, b


def tiny_cyclegan(a, b, steps=4):
    """A CycleGAN run as the core tests make it: capacity 4, one residual block, 32 px grayscale."""
    return run_config(RunChoices(source=f"folder:{a}", arch="cyclegan", resolution=32),
                      {"data": {"source_b": f"folder:{b}", "channels": 1},
                       "model": {"capacity": 4, "residual_blocks": 1},
                       "train": {"steps": steps, "epochs": None, "batch_size": 2, "sample_every": 2,
                                 "checkpoint_every": 0, "device": "cpu", "grid_size": 3}}).validate()


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(Settings(runs_folder=str(tmp_path / "runs"), cpu_threads=1))
    qtbot.addWidget(w, before_close_func=shut_down)
    w.resize(1280, 860)
    w.show()
    return w


def shot(widget, name: str) -> None:
    if SHOTS:
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()  # the layout's pending geometry
        widget.grab().save(os.path.join(SHOTS, name))


def test_a_short_cyclegan_run_shows_the_cycle_losses_and_the_turned_grid(qtbot, window, domains, tmp_path,
                                                                        monkeypatch):
    reads = []  # the CycleGAN terms come live from the trainer process: metrics.jsonl is never read back
    monkeypatch.setattr(RunFolder, "read_metrics", lambda self: reads.append(self) or [])
    view = window.start_run(tiny_cyclegan(*domains), tmp_path / "runs" / "cycle")
    ended = wait_ended(qtbot, view)
    assert ended.reason == "finished", ended.message
    view.plots.redraw()
    assert not reads
    monkeypatch.undo()
    logged = RunFolder(tmp_path / "runs" / "cycle").read_metrics()
    assert view.plots.generators.widget.isVisible() and view.plots.discriminators.widget.isVisible()
    for name in CYCLE_METRICS:
        assert view.plots.point_count(name) == 4 and np.isfinite(view.history.column(name)).all(), name
        assert np.allclose(view.history.column(name), [r[name] for r in logged]), name
    entry = view.grid.entries[-1]
    assert entry.count == 6 * 3 and entry.side == 32
    layout = view.grid.layout_of(entry)
    assert layout.captions == GRID_ROWS and layout.per_column == 3
    shown = view.grid.image_item.image
    assert shown.shape[0] == CAPTION_PX + layout.height * layout.scale  # three rows under the captions
    assert shown.shape[1] == layout.width * layout.scale  # six columns: real A, G(A), F(G(A)), real B, ...
    # a click on row 1 of column "G(A)" is sample 1 of the trainer's row "G(A)"
    x = (layout.lefts[1] + 5) * layout.scale
    y = CAPTION_PX + (layout.padding + (layout.side + layout.padding) + 5) * layout.scale
    assert layout.cell(x, y) == 1 * 3 + 1
    cut = view.grid.sample_pixels(4, entry)
    assert cut.shape[:2] == (32, 32)
    shot(window, "training_view_cyclegan.png")
    assert not view.plots.generators.widget.isHidden()
    # the hidden GAN Lab page and a long checkpoint path do not widen the window past a laptop's half screen
    view.status.setText(f"Finished: 4 steps. Checkpoint: {'/a-long-folder-name' * 20}/step-0000004.safetensors.")
    assert view.samples.minimumSizeHint().width() < view.toy_tabs.minimumSizeHint().width()
    assert view.minimumSizeHint().width() <= 860
    assert "G turns pictures of A into B" in view.grid.hint.text()  # the columns' names are explained
    window.resize(window.minimumSizeHint().width(), 860)  # as narrow as the window goes
    qtbot.waitUntil(lambda: window.width() < 900, timeout=5_000)
    qtbot.wait(50)
    assert view.grid.caption.width() >= view.grid.caption.sizeHint().width()  # "step 4, epoch …" is not cut


def test_a_cyclegan_s_live_controls_do_not_offer_d_steps(qtbot, window, domains, tmp_path):
    """One D step per G step is a CycleGAN's recipe (its trainer ignores a change): the box is off while it trains
    and the status after Apply does not promise it; the learning rates stay live."""
    view = window.start_run(tiny_cyclegan(*domains, steps=400), tmp_path / "runs" / "cycle")
    controls = view.controls
    qtbot.waitUntil(lambda: controls.state == "running", timeout=60_000)
    assert controls.lr_g.isEnabled() and controls.apply_button.isEnabled() and not controls.d_steps.isEnabled()
    controls.apply_button.click()
    assert "From the next step" in view.status.text() and "D step" not in view.status.text()
    view.stop()
    wait_ended(qtbot, view)
    controls.allow_d_steps(True)
    controls.set_state("running")
    assert controls.d_steps.isEnabled()


def test_the_translate_window_translates_an_image_both_ways_and_exports_a_folder(qtbot, window, domains,
                                                                                 tmp_path):
    a, b = domains
    view = window.start_run(tiny_cyclegan(a, b), tmp_path / "runs" / "cycle")
    wait_ended(qtbot, view)
    assert view.explore_button.text() == "Translate…"
    opened = []
    view.translate_requested.connect(opened.append)
    view.explore()
    assert opened and opened[0].endswith(".safetensors")
    dialog = window.translate_dialogs[-1]
    qtbot.waitUntil(lambda: dialog.info is not None, timeout=30_000)
    assert "32 px grayscale" in dialog.model_label.text()

    dialog.set_source(a / "000.png")
    qtbot.waitUntil(lambda: len(dialog.pairs) == 1, timeout=30_000)
    there = dialog.pairs[0][2]
    dialog.set_direction("b2a")
    qtbot.waitUntil(lambda: dialog.pairs and not np.array_equal(dialog.pairs[0][2], there), timeout=30_000)
    assert dialog.pairs[0][1].shape == (32, 32, 1) and "B → A" in dialog.source_label.text()
    shot(dialog, "translate_image.png")

    assert dialog.export_button.text() == "Save translation…" and "(G)" not in dialog.direction.currentText()
    dialog.set_direction("a2b")
    dialog.set_source(a)
    # until the folder's pairs are in, the image's pairs are on screen: Export waits, and the busy bar shows
    assert not dialog.export_button.isEnabled() and dialog.busy.isVisibleTo(dialog)
    assert dialog.export_button.text() == "Translate whole folder…"
    qtbot.waitUntil(lambda: len(dialog.pairs) == 8 and dialog.export_button.isEnabled(), timeout=30_000)
    assert not dialog.busy.isVisibleTo(dialog)
    shot(dialog, "translate_folder.png")
    out = tmp_path / "out"
    with qtbot.waitSignal(dialog.exported, timeout=60_000):
        dialog.export(out)
    qtbot.waitUntil(lambda: dialog.export_task is None, timeout=10_000)
    assert sorted(p.name for p in out.iterdir()) == [f"{i:03d}.png" for i in range(8)]
    assert "Wrote 8 images" in dialog.message.text()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    dialog.set_source(broken)  # an unreadable image: the folder's pairs go, and there is nothing to export
    qtbot.waitUntil(lambda: dialog.message.isVisible() and dialog.preview_task is None, timeout=30_000)
    assert "cannot be read" in dialog.message.text() and not dialog.pairs
    assert not dialog.export_button.isEnabled() and dialog.pairs_grid.count() == 0
    dialog.close()


def test_a_checkpoint_that_is_not_a_cyclegan_is_refused_in_one_sentence(qtbot, window, tmp_path):
    from tests.run_helpers import image_config, make_folder

    view = window.start_run(image_config(make_folder(tmp_path / "images"), steps=2), tmp_path / "runs" / "dc")
    wait_ended(qtbot, view)
    dialog = window.open_translator(view.newest_checkpoint())
    qtbot.waitUntil(lambda: dialog.message.isVisible(), timeout=30_000)
    assert "not a CycleGAN translator" in dialog.message.text() and dialog.message.text().count(". ") == 0
    assert not dialog.open_image.isEnabled()
    dialog.close()


def test_the_wizard_builds_a_cyclegan_run_from_two_folders(qtbot, domains, tmp_path):
    from ganstudio.gui.wizard.data_page import KINDS
    from ganstudio.gui.wizard.new_run_wizard import NewRunWizard
    from tests.gui.test_wizard import close_wizard

    a, b = domains
    wizard = NewRunWizard(Settings(runs_folder=str(tmp_path / "runs"), data_root=str(tmp_path / "datasets"),
                                   cpu_threads=1))
    qtbot.addWidget(wizard, before_close_func=close_wizard)
    wizard.show()
    page = wizard.data_page
    page.kind_buttons.button(KINDS.index("translate")).setChecked(True)
    assert page.options.currentWidget() is page.translate_widget
    page.folder_a.setText(str(a))
    page.folder_b.setText(str(b))
    page._set_pair()
    qtbot.waitUntil(lambda: not page.busy() and page.isComplete(), timeout=20_000)
    shot(wizard, "wizard_translate_folders.png")
    for _ in range(3):
        wizard.next()
        assert not wizard.currentPage().problems(), wizard.currentPage().title()
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    summary = wizard.review_page._summary()
    assert "folder A → folder B" in summary and "Domain B (bottom row): 8 images" in summary
    assert "Adam with" in summary and "1 D step per G step" in summary and "epoch steps" not in summary
    shot(wizard, "wizard_translate_review.png")
    config = wizard.result_config()
    assert config.model.arch == "cyclegan" and config.data.source_b == f"folder:{b}"
    config.validate()
    wizard.back()
    wizard.back()
    wizard.back()
    wizard.back()
    page.pair_celeba.setChecked(True)
    page.attribute.setCurrentIndex(page.attribute.findData("Eyeglasses"))
    assert wizard.config.data.domains == "Eyeglasses" and wizard.config.data.source == "celeba"
    qtbot.waitUntil(lambda: not page.busy(), timeout=20_000)
    assert "list_attr_celeba.txt" in page.problems()[0]  # not downloaded for a split: it must be there
    shot(wizard, "wizard_translate_celeba.png")
    wizard.shutdown()  # the review page's time estimate runs on a worker


def _celeba(root, blond: int = 3, dark: int = 5):
    """A CelebA layout of tiny faces with only Black_Hair and Blond_Hair in its attribute list."""
    from PIL import Image

    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    rows = []
    for i in range(blond + dark):
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(np.full((109, 89, 3), 40 + 20 * i, np.uint8)).save(folder / "img_align_celeba" / name)
        rows.append(f"{name} {-1 if i < blond else 1} {1 if i < blond else -1}")
    (folder / "list_attr_celeba.txt").write_text(f"{len(rows)}\nBlack_Hair Blond_Hair\n" + "\n".join(rows) + "\n")
    return root


def test_the_wizard_greys_out_what_a_cyclegan_does_not_use(qtbot, domains, tmp_path):
    """A CycleGAN has its own recipe: the loss page's loss, presets, tricks and small-data remedies are off and
    say why (no ADA advice for its 8 images), and the schedule shows its batch of 1 and locks what it cannot
    change; an ordinary image folder gets them all back."""
    from ganstudio.gui.wizard.data_page import KINDS
    from ganstudio.gui.wizard.new_run_wizard import NewRunWizard
    from tests.gui.test_wizard import close_wizard
    from tests.run_helpers import make_folder

    a, b = domains
    wizard = NewRunWizard(Settings(runs_folder=str(tmp_path / "runs"), data_root=str(tmp_path / "datasets"),
                                   cpu_threads=1))
    qtbot.addWidget(wizard, before_close_func=close_wizard)
    wizard.resize(1200, 800)
    wizard.show()
    page = wizard.data_page
    page.kind_buttons.button(KINDS.index("translate")).setChecked(True)
    page.folder_a.setText(str(a))
    page.folder_b.setText(str(b))
    page._set_pair()
    qtbot.waitUntil(lambda: not page.busy() and page.isComplete(), timeout=20_000)
    wizard.next()
    wizard.next()
    loss = wizard.loss_page
    assert wizard.currentPage() is loss and not loss.problems()
    for widget in (loss.preset, loss.loss, loss.tricks_box, loss.remedies_box):
        assert not widget.isEnabled()
    assert loss.recipe_note.isVisible() and "own recipe" in loss.recipe_note.text()
    assert not loss.advice_box.isVisible()  # 8 images, but a CycleGAN cannot augment
    shot(wizard, "wizard_translate_loss.png")
    note = loss.preset_note  # a wrapped hint gets the height of its lines, not a gap around them
    assert note.height() <= note.heightForWidth(note.width()) + 2
    assert loss.tricks_scroll.verticalScrollBar().maximum() == 0  # at 1200 x 800 every trick shows unscrolled
    wizard.next()
    schedule = wizard.schedule_page
    assert wizard.config.train.batch_size == 1 and schedule.batch.value() == 1  # not clamped to 2 on screen
    assert not any(w.isEnabled() for w in (schedule.optimizer, schedule.d_steps, schedule.eval_every))
    assert schedule.recipe_note.isVisible()
    wizard.back()
    wizard.back()
    wizard.back()
    page.kind_buttons.button(KINDS.index("folder")).setChecked(True)
    page.folder.setEditText(str(make_folder(tmp_path / "images", n=12, side=16)))
    qtbot.waitUntil(lambda: not page.busy() and page.isComplete(), timeout=20_000)
    wizard.next()
    wizard.next()
    assert all(w.isEnabled() for w in (loss.preset, loss.loss, loss.tricks_box, loss.remedies_box))
    assert not loss.recipe_note.isVisible() and loss.advice_box.isVisible()
    wizard.next()
    assert schedule.batch.minimum() == 2 and schedule.optimizer.isEnabled() and not schedule.recipe_note.isVisible()
    wizard.shutdown()


def test_the_wizard_previews_a_celeba_split_and_fits_a_narrow_window(qtbot, tmp_path):
    """CelebA split by an attribute shows faces of both domains and their sizes (not the full set's 162,770),
    starts from a hair colour, has a Browse button for its folder, and the data page fits 820 px."""
    from ganstudio.gui.wizard.data_page import KINDS
    from ganstudio.gui.wizard.new_run_wizard import NewRunWizard
    from tests.gui.test_wizard import close_wizard

    wizard = NewRunWizard(Settings(runs_folder=str(tmp_path / "runs"), data_root=str(_celeba(tmp_path / "data")),
                                   cpu_threads=1))
    qtbot.addWidget(wizard, before_close_func=close_wizard)
    wizard.show()
    page = wizard.data_page
    page.kind_buttons.button(KINDS.index("translate")).setChecked(True)
    assert not page.celeba_hint.isVisible()  # the CelebA sentence is for the CelebA split only
    page.pair_celeba.setChecked(True)
    assert page.attribute.currentData() == "Blond_Hair" and wizard.config.data.domains == "Blond_Hair"
    assert page.pair_root_browse.isVisible() and page.celeba_hint.isVisible()
    qtbot.waitUntil(lambda: not page.busy() and page.isComplete() and wizard.preview is not None, timeout=20_000)
    preview = wizard.preview
    assert preview.count == 5 and len(preview.examples) == 8 + 3  # A's row of eight (5 faces, 3 blanks), then B's 3
    assert "the 5 faces without Blond Hair" in preview.note and "the 3 faces with Blond Hair" in preview.note
    assert page.info.text() == preview.note
    assert wizard.minimumSizeHint().width() <= 820
    shot(wizard, "wizard_translate_celeba_split.png")
    wizard.shutdown()
