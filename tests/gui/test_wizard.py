"""The new-run wizard, page by page: previews, choices that cannot work keep Next disabled, and the result."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWizard

from ganstudio.core.models import registry
from ganstudio.core.runs import RunFolder
from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import Settings, load_settings
from ganstudio.gui.wizard.data_page import KINDS
from ganstudio.gui.wizard.new_run_wizard import NewRunWizard
from tests.run_helpers import make_folder, toy_config

TIMEOUT = 60_000


def close_wizard(wizard: NewRunWizard) -> None:
    wizard.shutdown()


@pytest.fixture
def wizard(qtbot, tmp_path):
    settings = Settings(runs_folder=str(tmp_path / "runs"), data_root=str(tmp_path / "datasets"), cpu_threads=1)
    w = NewRunWizard(settings)
    qtbot.addWidget(w, before_close_func=close_wizard)
    w.show()
    return w


def choose(qtbot, wizard, kind: str, folder=None, toy: str | None = None) -> None:
    """Pick a data source on the first page and wait for its preview."""
    page = wizard.data_page
    page.kind_buttons.button(KINDS.index(kind)).setChecked(True)
    if folder is not None:
        page.folder.setEditText(str(folder))
    if toy is not None:
        page.toy_name.setCurrentIndex(page.toy_name.findData(f"toy:{toy}"))
    qtbot.waitUntil(lambda: not page.busy(), timeout=TIMEOUT)


def test_data_page_previews_a_folder_and_refuses_an_empty_one(qtbot, wizard, tmp_path):
    page = wizard.data_page
    empty = tmp_path / "empty"
    empty.mkdir()
    choose(qtbot, wizard, "folder", empty)
    assert not page.isComplete()
    assert "has no images" in page.problem_label.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()

    folder = make_folder(tmp_path / "pics", n=24, bad=1)
    choose(qtbot, wizard, "folder", folder)
    assert page.isComplete(), page.problem_label.text()
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "24 images" in page.info.text()
    assert "broken0.png" in page.skipped.text() and "Skipped 1 of 25 files" in page.skipped.text()
    assert not page.thumb_labels[0].pixmap().isNull()
    assert wizard.preview.count == 24 and not wizard.preview.labelled
    assert str(folder) in wizard.settings.recent_data_folders[0]


def test_data_page_explains_a_missing_dataset_and_previews_toy_data(qtbot, wizard):
    page = wizard.data_page
    choose(qtbot, wizard, "mnist")
    assert page.isComplete() and "will be downloaded" in page.info.text()
    page.download.setChecked(False)
    qtbot.waitUntil(lambda: not page.busy(), timeout=TIMEOUT)
    assert not page.isComplete() and "downloading is turned off" in page.problem_label.text()

    choose(qtbot, wizard, "toy", toy="spiral")
    assert page.isComplete() and wizard.config.data.source == "toy:spiral"
    assert page.scatter.isVisible() and len(page.scatter_points.data) == 2000
    assert wizard.config.model.arch == "mlp" and wizard.config.model.z_dim == 2  # the toy family's defaults


def test_model_page_keeps_next_disabled_for_choices_that_cannot_work(qtbot, wizard, tmp_path):
    choose(qtbot, wizard, "folder", make_folder(tmp_path / "flat", n=12, side=16))
    wizard.next()
    page = wizard.model_page
    assert wizard.currentPage() is page and page.isComplete()
    assert "parameters" in page.size_label.text()

    page.conditional.setChecked(True)
    assert not page.isComplete() and "needs labelled data" in page.problem_label.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    page.conditional.setChecked(False)

    page.resolution.setCurrentIndex(page.resolution.findData(128))
    assert not page.isComplete() and "smaller than 64 px" in page.problem_label.text()
    page.resolution.setCurrentIndex(page.resolution.findData(32))
    assert page.isComplete()

    wizard.back()
    choose(qtbot, wizard, "folder", make_folder(tmp_path / "classes", n=12, classes=3))
    wizard.next()
    page.conditional.setChecked(True)
    assert page.isComplete(), page.problem_label.text()


def test_the_default_resolution_follows_the_images_and_is_checked_like_any_choice(qtbot, wizard, tmp_path):
    """23 px images: 64 px is refused, and the preselected default is what the images allow (32 px), not 64."""
    choose(qtbot, wizard, "folder", make_folder(tmp_path / "faces", n=12, side=23))
    wizard.next()
    page = wizard.model_page
    assert page.resolution.currentIndex() == 0 and page.resolution.currentText() == "Fitted to the images (32 px)"
    assert wizard.config.data.resolution == 32 and page.isComplete(), page.problem_label.text()
    page.resolution.setCurrentIndex(page.resolution.findData(64))
    assert not page.isComplete() and "choose at most 46 px" in page.problem_label.text()
    page.resolution.setCurrentIndex(0)
    assert wizard.config.data.resolution == 32 and page.isComplete()
    page.arch_buttons.button(page.archs.index("stylegan")).setChecked(True)
    assert page.resolution.currentText() == "Fitted to the images (32 px)" and page.isComplete()
    assert "Channels of the layers at full size" in page.capacity_hint.text()  # not "DCGAN feature maps"

    wizard.back()  # 10 px images are too small for any StyleGAN: its default is refused like a choice
    choose(qtbot, wizard, "folder", make_folder(tmp_path / "tiny", n=12, side=10))
    wizard.next()
    assert wizard.currentPage() is page and wizard.config.model.arch == "stylegan"
    assert page.resolution.currentIndex() == 0 and not page.isComplete()
    assert "smaller than" in page.problem_label.text()
    page.arch_buttons.button(page.archs.index("dcgan")).setChecked(True)  # a DCGAN can make 16 px from them
    assert page.resolution.currentText() == "Fitted to the images (16 px)" and page.isComplete()


def test_schedule_page_counts_whole_steps_and_tells_no_length_for_a_refused_batch(qtbot, wizard, tmp_path):
    from ganstudio.gui.wizard.schedule_page import steps_text

    assert (steps_text(937.0), steps_text(468.5), steps_text(1)) == ("937 steps", "about 468 steps", "1 step")
    choose(qtbot, wizard, "folder", make_folder(tmp_path / "pics", n=24))
    for _ in range(3):
        wizard.next()
    page = wizard.schedule_page
    assert wizard.currentPage() is page
    page.batch.setValue(8)
    assert "one epoch (all 24 images seen by D) is 3 steps at batch 8" in page.length_note.text()
    page.d_steps.setValue(2)
    assert "is about 2 steps at batch 8" in page.length_note.text()
    page.batch.setValue(1000)
    assert not page.isComplete() and "larger than the data" in page.problem_label.text()
    assert page.length_note.text() == ""
    assert "ganstudio" not in page.eval_every.specialValueText()


def test_loss_page_suggests_augmentation_for_a_small_image_folder(qtbot, wizard, tmp_path):
    choose(qtbot, wizard, "folder", make_folder(tmp_path / "few", n=12, side=16))
    wizard.next()
    wizard.next()
    page = wizard.loss_page
    assert wizard.currentPage() is page and wizard.config.loss.augment == "none"
    assert page.advice_box.isVisible() and "12 images is a small set" in page.advice.text()
    assert "pictures as they are" in page.augment_note.text()
    page.use_ada.click()
    assert wizard.config.loss.augment == "ada" and not page.advice_box.isVisible()
    assert "adjusts itself" in page.augment_note.text()
    wizard.back()
    wizard.back()
    choose(qtbot, wizard, "toy", toy="ring8")  # points: nothing to augment, no advice
    wizard.next()
    wizard.next()
    assert not page.advice_box.isVisible() and not page.augment.isEnabled()
    assert wizard.config.loss.augment == "none"


def test_messages_in_the_app_say_what_to_click_not_what_to_type(qtbot):
    from ganstudio.gui.widgets.evaluation_plot import EvaluationPlot

    plot = EvaluationPlot()
    qtbot.addWidget(plot)
    assert "--eval-every" not in plot.note.text() and "Schedule page" in plot.note.text()


def test_model_page_refuses_convolutions_for_toy_points_and_lists_registered_models(qtbot, tmp_path):
    registry.architectures()

    @registry.register("fancygan")
    def _fancy(model, loss):  # a model added by another part of the app, such as StyleGAN
        return registry._BUILDERS["mlp"](model, loss)

    try:
        w = NewRunWizard(Settings(data_root=str(tmp_path)))
        qtbot.addWidget(w, before_close_func=close_wizard)
        w.show()
        choose(qtbot, w, "toy", toy="ring8")
        w.next()
        page = w.model_page
        assert "fancygan" in page.archs
        titles = [b.text() for b in page.arch_buttons.buttons()]
        assert "Fancygan" in titles
        page.arch_buttons.button(page.archs.index("dcgan")).setChecked(True)
        assert not page.isComplete() and "needs the MLP model" in page.problem_label.text()
        page.arch_buttons.button(page.archs.index("mlp")).setChecked(True)
        assert page.isComplete()
    finally:
        registry._BUILDERS.pop("fancygan", None)


def test_the_whole_wizard_builds_the_run_and_remembers_the_choices(qtbot, wizard, tmp_path):
    choose(qtbot, wizard, "toy", toy="ring8")
    wizard.next()
    wizard.next()
    loss = wizard.loss_page
    assert wizard.currentPage() is loss
    loss.preset.setCurrentIndex(loss.preset.findData("wgan-gp"))
    loss.preset.activated.emit(loss.preset.currentIndex())
    cfg = wizard.config
    assert cfg.loss.name == "wgan-gp" and cfg.train.d_steps == 5 and cfg.model.arch == "mlp"
    assert "The paper used DCGAN" in loss.preset_note.text()
    assert "gradient penalty" in loss.loss_note.text()
    loss.label_smoothing.setValue(0.1)
    assert not loss.isComplete() and "label smoothing" in loss.problem_label.text().lower()
    loss.label_smoothing.setValue(0.0)
    assert loss.isComplete()

    wizard.next()
    schedule = wizard.schedule_page
    schedule.batch.setValue(30_000)
    assert not schedule.isComplete() and "larger than the data" in schedule.problem_label.text()
    schedule.batch.setValue(128)
    schedule.by_steps.setChecked(True)
    schedule.steps.setValue(40)
    assert schedule.isComplete() and "40 generator steps" in schedule.length_note.text()
    schedule.eval_every.setValue(20)  # quality metrics during training
    assert schedule.config.train.eval_every == 20

    wizard.next()
    review = wizard.review_page
    review.name.setText("a/b")
    assert not review.isComplete() and "cannot contain" in review.problem_label.text()
    RunFolder.create(tmp_path / "runs" / "taken", toy_config())
    review.name.setText("taken")
    assert not review.isComplete() and "already holds a run" in review.problem_label.text()
    review.name.setText("my-ring")
    assert review.isComplete()
    qtbot.waitUntil(lambda: review.task is None, timeout=TIMEOUT)
    assert "per step" in review.estimate_label.text() and review.estimate.seconds_per_step > 0

    wizard.accept()
    result = wizard.result_config()
    assert result.name == "my-ring" and result.loss.name == "wgan-gp" and result.train.steps == 40
    assert wizard.run_dir() == tmp_path / "runs" / "my-ring"
    again = NewRunWizard(wizard.settings)
    qtbot.addWidget(again, before_close_func=close_wizard)
    assert again.config.data.source == "toy:ring8" and again.config.loss.name == "wgan-gp"


def test_new_run_from_the_menu_trains_what_the_wizard_made(qtbot, tmp_path):
    window = MainWindow(Settings(runs_folder=str(tmp_path / "runs"), cpu_threads=1))
    qtbot.addWidget(window, before_close_func=lambda w: w.view and w.view.shutdown())
    window.show()
    window.new_action.trigger()
    wizard = window.wizard
    assert wizard is not None and wizard.isVisible()
    choose(qtbot, wizard, "toy", toy="grid25")
    wizard.next()
    wizard.next()
    wizard.next()
    wizard.schedule_page.by_steps.setChecked(True)
    wizard.schedule_page.steps.setValue(25)
    wizard.next()
    wizard.review_page.name.setText("grid")
    qtbot.waitUntil(lambda: wizard.review_page.task is None, timeout=TIMEOUT)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert window.wizard is None and window.view is not None
    view = window.view
    qtbot.waitUntil(lambda: view.last_ended is not None, timeout=TIMEOUT)
    view.session.qthread.wait(10_000)
    assert view.last_ended.reason == "finished" and view.step == 25
    assert (tmp_path / "runs" / "grid" / "config.json").is_file()
    saved = load_settings()
    assert saved.wizard["data"]["source"] == "toy:grid25"
    assert saved.recent_runs[0].endswith("grid")
