"""Words shown to people about data and runs: true to the data, and commands that survive being pasted."""
from __future__ import annotations

import shlex

from ganstudio.core.config import RunConfig
from ganstudio.core.data import load_data
from ganstudio.core.config import DataConfig
from ganstudio.gui.config_summary import config_sections, shell_quote, train_command
from ganstudio.gui.describe import DATA_BLURBS


def test_the_mnist_description_counts_the_images_a_run_finds(shared_data):
    data = load_data(DataConfig(source="mnist", root=str(shared_data), download=False), "cpu")
    assert len(data) == 60_000 and DATA_BLURBS["mnist"].startswith(f"{len(data):,} handwritten digits")
    assert "pip install gdown" in DATA_BLURBS["celeba"]


def test_the_train_command_quotes_a_path_with_spaces_for_each_shell():
    path = "/home/ann/GAN Studio runs/my run/config.json"
    posix = train_command(path, windows=False)
    assert shlex.split(posix) == ["ganstudio", "train", "--config", path]
    assert train_command(r"C:\Users\Ann\GAN Studio runs\r1\config.json", windows=True) == \
        r'ganstudio train --config "C:\Users\Ann\GAN Studio runs\r1\config.json"'
    assert shell_quote("/plain/path.json", windows=False) == "/plain/path.json"
    assert shell_quote("it's", windows=False) == "'it'\"'\"'s'"


def labels(config: RunConfig) -> dict[str, dict[str, str]]:
    return {section: dict(rows) for section, rows in config_sections(config)}


def test_a_dcgan_run_shows_no_stylegan_settings_and_a_stylegan_run_shows_them():
    dcgan = labels(RunConfig().with_updates("model", arch="dcgan"))
    assert "Style size (w)" not in dcgan["Model"] and "Mapping layers" not in dcgan["Model"]
    assert dcgan["Model"]["Architecture"].startswith("DCGAN") and "Gradient penalty weight" not in dcgan["Loss"]
    style = labels(RunConfig().with_updates("model", arch="stylegan").with_updates("loss", name="wgan-gp"))
    assert style["Model"]["Style size (w)"] == "512" and "Spectral norm in D" not in style["Model"]
    assert style["Loss"]["Gradient penalty weight"] == "10"


def test_the_remedies_for_small_data_and_collapse_are_named_when_on():
    from ganstudio.gui.describe import tricks_in_use

    plain = RunConfig()
    assert "Augmentation" not in labels(plain)["Loss"] and "TensorBoard events" not in labels(plain)["Training"]
    cfg = (RunConfig().with_updates("loss", augment="ada").with_updates("train", unroll=5, tensorboard=True)
           .with_updates("model", num_d=3))
    shown = labels(cfg)
    assert shown["Loss"]["Augmentation"] == "ADA (adaptive), r_t target 0.6"
    assert shown["Loss"]["Unrolled D"] == "5 steps ahead" and shown["Loss"]["Discriminators"].startswith("3,")
    assert shown["Training"]["TensorBoard events"] == "on"
    assert tricks_in_use(cfg)[-3:] == ["ADA (adaptive)", "unrolled D (5 steps)", "3 discriminators"]
