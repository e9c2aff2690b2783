"""core.defaults: the one place a run's configuration is built from the user's choices."""
from __future__ import annotations

from ganstudio.core.config import RunConfig
from ganstudio.core.defaults import RunChoices, choices_of, config_edits, run_config


def test_data_families_and_architectures_bring_their_recipes():
    toy = run_config(RunChoices(source="toy:moons"))
    assert (toy.model.arch, toy.model.z_dim, toy.train.batch_size, toy.train.grid_size) == ("mlp", 2, 256, 512)
    assert (toy.train.steps, toy.train.epochs) == (3000, None)
    images = run_config(RunChoices(source="cifar10"))
    assert (images.model.arch, images.train.epochs, images.train.lr_g) == ("dcgan", 5.0, 2e-4)
    style = run_config(RunChoices(source="celeba", arch="stylegan"))
    assert (style.train.lr_g, style.train.betas_d, style.loss.r1_interval, style.model.w_dim) == \
        (0.002, (0.0, 0.99), 16, 512)
    assert style.loss.r1_weight == 0.25 and style.data.resolution is None  # CelebA's own 64 px
    assert run_config(RunChoices(source="celeba", arch="stylegan", resolution=128)).loss.r1_weight == 1.0


def test_a_stylegan_on_mnist_picks_a_resolution_it_can_make():
    cfg = run_config(RunChoices(source="mnist", arch="stylegan")).validate()
    assert cfg.data.resolution == 32 and cfg.loss.r1_weight == 32 * 32 / 16384
    assert run_config(RunChoices(source="mnist", arch="dcgan")).data.resolution is None


def test_choices_beat_overrides_which_beat_the_preset():
    cfg = run_config(RunChoices(source="mnist", arch="mlp", preset="wgan-gp"),
                     {"train": {"lr_g": 0.01}, "model": {"arch": "stylegan"}})
    assert cfg.preset == "wgan-gp" and cfg.loss.name == "wgan-gp" and cfg.train.d_steps == 5
    assert cfg.model.arch == "mlp" and cfg.train.lr_g == 0.01 and cfg.model.d_norm == "layer"
    # without an explicit architecture the preset's is used, with that architecture's defaults below it
    faces = run_config(RunChoices(source="folder:/faces", preset="stylegan-faces-cpu"))
    assert faces.model.arch == "stylegan" and faces.model.z_dim == 128 and faces.data.resolution == 64


def test_choices_of_and_edits_rebuild_the_same_configuration():
    cfg = run_config(RunChoices(source="mnist", arch="stylegan", preset="mnist-digits"),
                     {"train": {"seed": 7}})
    choices = choices_of(cfg)
    assert choices.resolution is None and choices.conditional is None  # both come from defaults and preset
    edits = config_edits(cfg, run_config(choices))
    assert edits == {"train": {"seed": 7}}
    assert run_config(choices, edits) == cfg
    assert config_edits(RunConfig(), RunConfig()) == {}


def test_a_stylegan_is_proposed_a_length_in_steps_that_suits_the_machine(monkeypatch):
    import torch

    from ganstudio.core import device

    cpu = run_config(RunChoices(source="mnist", arch="stylegan"))
    assert (cpu.train.steps, cpu.train.epochs, cpu.train.sample_every) == (1000, None, 100)
    assert run_config(RunChoices(source="mnist")).train.epochs == 5.0  # a DCGAN keeps its epochs
    monkeypatch.setattr(device, "resolve_device", lambda name="auto": torch.device("cuda"))
    assert run_config(RunChoices(source="mnist", arch="stylegan")).train.steps == 25_000


def test_the_default_resolution_follows_what_the_images_allow():
    folder = "folder:/faces"
    assert run_config(RunChoices(source=folder)).data.resolution is None  # unknown data: 64 px
    # 23 x 28 px images: 64 px would need 32 px images; the largest side each model makes from them is 32
    assert run_config(RunChoices(source=folder, data_side=23)).data.resolution == 32
    assert run_config(RunChoices(source=folder, arch="stylegan", data_side=23)).data.resolution == 32
    assert run_config(RunChoices(source=folder, data_side=12)).data.resolution == 16
    assert run_config(RunChoices(source=folder, data_side=300)).data.resolution is None  # 64 fits
    assert run_config(RunChoices(source=folder, data_side=23, resolution=64)).data.resolution == 64  # chosen
    style = run_config(RunChoices(source=folder, arch="stylegan", data_side=23))
    assert style.loss.r1_weight == 32 * 32 / 16384  # the recipe follows the fitted side
    assert run_config(RunChoices(source="mnist", arch="stylegan", data_side=None)).data.resolution == 32


def test_the_command_line_fits_the_default_resolution_to_a_folders_images(tmp_path):
    from ganstudio.cli import build_parser, config_from_args
    from tests.run_helpers import make_folder

    folder = make_folder(tmp_path / "faces", n=10, side=23, bad=1)
    args = ["train", "--data", f"folder:{folder}", "--out", str(tmp_path / "run")]
    assert config_from_args(build_parser().parse_args(args)).data.resolution == 32
    chosen = config_from_args(build_parser().parse_args([*args, "--resolution", "16"]))
    assert chosen.data.resolution == 16
