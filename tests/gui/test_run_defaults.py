"""The wizard and `ganstudio train` build the same configuration for the same choices (one source of run defaults:
core.defaults). Regression: the wizard's StyleGAN trained with DCGAN's optimizer and no R1."""
from __future__ import annotations

import pytest

from ganstudio.cli import build_parser, config_from_args
from ganstudio.core.config import DATA_SOURCES, TOY_NAMES
from ganstudio.core.models.registry import architectures
from ganstudio.gui.settings import Settings
from ganstudio.gui.wizard.new_run_wizard import NewRunWizard
from ganstudio.gui.wizard.data_page import KINDS
from tests.gui.test_wizard import choose, close_wizard
from tests.run_helpers import make_folder


def cli_config(source: str, root: str, arch: str, conditional: bool = False, preset: str | None = None,
               flags: tuple[str, ...] = ()):
    """What `ganstudio train` builds for these choices (and any further flags)."""
    args = ["train", "--data", source, "--data-root", root, "--model", arch, "--out", "run"]
    args += ["--conditional"] if conditional else []
    args += ["--preset", preset] if preset else []
    args += list(flags)
    return config_from_args(build_parser().parse_args(args))


@pytest.fixture
def wizard(qtbot, tmp_path):
    w = NewRunWizard(Settings(runs_folder=str(tmp_path / "runs"), data_root=str(tmp_path / "datasets"),
                              cpu_threads=1))
    qtbot.addWidget(w, before_close_func=close_wizard)
    w.show()
    return w


def pick_data(qtbot, wizard, source: str) -> None:
    """Go back to the data page and choose a source there."""
    while wizard.currentPage() is not wizard.data_page:
        wizard.back()
    if source.startswith("folder:"):
        choose(qtbot, wizard, "folder", source[len("folder:"):])
    elif source.startswith("toy:"):
        choose(qtbot, wizard, "toy", toy=source[len("toy:"):])
    else:
        choose(qtbot, wizard, source)
    wizard.next()
    assert wizard.currentPage() is wizard.model_page


def pick_model(wizard, arch: str, conditional: bool) -> None:
    """Choose the architecture and the class condition on the model page, then walk on to the schedule."""
    while wizard.currentPage() is not wizard.model_page:
        wizard.back()
    page = wizard.model_page
    page.arch_buttons.button(page.archs.index(arch)).setChecked(True)
    page.conditional.setChecked(conditional)
    wizard.next()
    wizard.next()
    assert wizard.currentPage() is wizard.schedule_page


def test_wizard_and_command_line_agree_for_every_architecture_and_data_family(qtbot, wizard, tmp_path):
    root = wizard.config.data.root
    folder = f"folder:{make_folder(tmp_path / 'pics', n=12, side=16)}"
    image_sources = [*DATA_SOURCES, folder]
    checked = 0
    for source in [*image_sources, *(f"toy:{t}" for t in TOY_NAMES), image_sources[0]]:
        pick_data(qtbot, wizard, source)
        toy = source.startswith("toy:")
        for arch in ("mlp",) if toy else ("stylegan", "dcgan", "mlp"):  # StyleGAN, then back to DCGAN's recipe
            for conditional in (False,) if toy else (False, True):
                pick_model(wizard, arch, conditional)
                expected = cli_config(source, root, arch, conditional)
                assert wizard.config == expected, (source, arch, conditional)
                checked += 1
    assert checked == 5 * 6 + len(TOY_NAMES) + 6
    assert set(architectures()) == {"mlp", "dcgan", "stylegan"}  # cyclegan: see the translation test below


def test_wizard_stylegan_gets_the_stylegan2_recipe_and_a_resolution_it_can_make(qtbot, wizard):
    pick_data(qtbot, wizard, "mnist")
    pick_model(wizard, "stylegan", False)
    cfg = wizard.config
    assert (cfg.train.lr_g, cfg.train.betas_g, cfg.loss.r1_interval) == (0.002, (0.0, 0.99), 16)
    assert cfg.data.resolution == 32 and cfg.loss.r1_weight == 32 * 32 / 16384
    assert wizard.model_page.resolution.currentText() == "Nearest StyleGAN size (32 px)"
    assert (cfg.train.steps, cfg.train.epochs) == (1000, None)  # not 5 epochs of seconds-long steps on a CPU
    assert not wizard.schedule_page.problems()
    pick_model(wizard, "dcgan", False)
    assert (wizard.config.train.lr_g, wizard.config.train.betas_g, wizard.config.loss.r1_weight) == \
        (2e-4, (0.5, 0.999), 0.0)
    assert wizard.config.data.resolution is None  # MNIST's own 28 px again
    pick_data(qtbot, wizard, "toy:ring8")
    assert wizard.config.train.grid_size == 512 and wizard.config.model.arch == "mlp"


def test_an_edit_survives_a_change_of_architecture(qtbot, wizard):
    pick_data(qtbot, wizard, "cifar10")
    pick_model(wizard, "dcgan", False)
    wizard.schedule_page.lr_d.setValue(0.0003)
    pick_model(wizard, "stylegan", False)
    assert wizard.config.train.lr_d == 0.0003 and wizard.config.train.lr_g == 0.002


@pytest.mark.parametrize("source,arch,preset", [
    ("mnist", "dcgan", "wgan-gp"), ("mnist", "dcgan", "mnist-digits"), ("cifar10", "dcgan", "sngan"),
    ("toy:ring8", "mlp", "vanilla"), ("celeba", "stylegan", "stylegan-faces-cpu"),
])
def test_wizard_presets_match_the_command_line(qtbot, wizard, source, arch, preset):
    pick_data(qtbot, wizard, source)
    page = wizard.model_page
    page.arch_buttons.button(page.archs.index(arch)).setChecked(True)
    wizard.next()
    loss = wizard.loss_page
    loss.preset.setCurrentIndex(loss.preset.findData(preset))
    loss.preset.activated.emit(loss.preset.currentIndex())
    wizard.next()
    assert wizard.config == cli_config(source, wizard.config.data.root, arch, preset=preset)


@pytest.mark.parametrize("source,augment", [("folder", "ada"), ("folder", "diffaug"), ("toy:ring8", None)])
def test_wizard_and_command_line_agree_on_augmentation_unrolling_and_discriminators(qtbot, wizard, tmp_path,
                                                                                      source, augment):
    if source == "folder":
        source = f"folder:{make_folder(tmp_path / 'pics', n=12, side=16)}"
    pick_data(qtbot, wizard, source)
    arch = wizard.config.model.arch
    wizard.next()
    page = wizard.loss_page
    assert wizard.currentPage() is page
    assert page.augment.isEnabled() == (augment is not None)  # toy points have nothing to augment
    if augment:
        page.augment.setCurrentIndex(page.augment.findData(augment))
    page.unroll.setValue(5)
    page.num_d.setValue(3)
    assert page.isComplete(), page.problem_label.text()
    flags = ("--unroll", "5", "--num-d", "3") + (("--augment", augment) if augment else ())
    expected = cli_config(source, wizard.config.data.root, arch, flags=flags)
    assert wizard.config == expected
    assert (expected.loss.augment, expected.train.unroll, expected.model.num_d) == (augment or "none", 5, 3)


def test_wizard_translation_matches_the_command_line(qtbot, wizard, tmp_path):
    """"Translate between two image sets" builds what `--data folder:A --data-b folder:B` and `--domains` do."""
    a, b = make_folder(tmp_path / "A", n=12, side=32), make_folder(tmp_path / "B", n=10, side=32)
    page = wizard.data_page
    page.kind_buttons.button(KINDS.index("translate")).setChecked(True)
    page.pair_folders.setChecked(True)
    page.folder_a.setText(str(a))
    page.folder_b.setText(str(b))
    page._set_pair()
    qtbot.waitUntil(lambda: not page.busy() and page.isComplete(), timeout=20000)
    assert "Domain B (bottom row): 10 images" in page.info.text()
    wizard.next()
    assert wizard.model_page.arch_buttons.checkedButton().text() == "CycleGAN (translation)"
    assert [wizard.model_page.resolution.itemData(i) for i in range(1, wizard.model_page.resolution.count())] \
        == [32, 64, 128, 256]
    root = wizard.config.data.root
    args = ["train", "--data", f"folder:{a}", "--data-b", f"folder:{b}", "--data-root", root, "--out", "run"]
    assert wizard.config == config_from_args(build_parser().parse_args(args))
    assert wizard.config.model.arch == "cyclegan" and wizard.config.train.batch_size == 1
    wizard.model_page.resolution.setCurrentIndex(wizard.model_page.resolution.findData(128))
    assert wizard.config == config_from_args(build_parser().parse_args([*args, "--resolution", "128"]))
    wizard.model_page.resolution.setCurrentIndex(0)

    wizard.back()
    page.pair_celeba.setChecked(True)
    page.attribute.setCurrentIndex(page.attribute.findData("Blond_Hair"))
    qtbot.waitUntil(lambda: not page.busy(), timeout=20000)
    args = ["train", "--data", "celeba", "--domains", "Blond_Hair", "--data-root", root, "--out", "run"]
    assert wizard.config == config_from_args(build_parser().parse_args(args))

    page.kind_buttons.button(KINDS.index("mnist")).setChecked(True)  # back to one set: back to DCGAN
    assert wizard.config == cli_config("mnist", root, "dcgan")
