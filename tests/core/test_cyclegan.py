"""CycleGAN: the networks, two-domain data, the trainer (learning, exact resume), translation and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.cli import main
from ganstudio.core.config import ModelConfig
from ganstudio.core.data import load_data
from ganstudio.core.data.domains import CELEBA_ATTRIBUTES, unknown_attributes
from ganstudio.core.defaults import RunChoices, run_config
from ganstudio.core.errors import ConfigError, DatasetError
from ganstudio.core.models.cyclegan import PatchDiscriminator, ResnetGenerator, residual_blocks
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.cycle import CYCLE_METRICS, CycleTrainer, FakePool, lr_factor
from ganstudio.core.training.loop import Trainer
from ganstudio.core.translate import load_translator, translate


def _folder(path, images):
    path.mkdir(parents=True)
    for i, x in enumerate(images):
        Image.fromarray(x).save(path / f"{i:03d}.png")
    return path


@pytest.fixture
def noise_domains(tmp_path):
    """Two folders of random 32 px grayscale images."""
    rng = np.random.default_rng(0)
    a = _folder(tmp_path / "A", rng.integers(0, 256, (12, 32, 32), dtype=np.uint8))
    b = _folder(tmp_path / "B", rng.integers(0, 256, (10, 32, 32), dtype=np.uint8))
    return a, b


def _config(a, b, steps=4, **train):
    return run_config(RunChoices(source=f"folder:{a}", arch="cyclegan", resolution=32),
                      {"data": {"source_b": f"folder:{b}", "channels": 1},
                       "model": {"capacity": 4, "residual_blocks": 1},
                       "train": {"steps": steps, "epochs": None, "batch_size": 4, "sample_every": 0,
                                 "checkpoint_every": 0, "device": "cpu", **train}}).validate()


def test_networks_and_recipe():
    m = ModelConfig(arch="cyclegan", capacity=4, channels=3, resolution=64)
    assert [residual_blocks(ModelConfig(resolution=r)) for r in (32, 64, 128, 256)] == [3, 4, 6, 9]
    x = torch.randn(2, 3, 64, 64)
    assert ResnetGenerator(m)(x).shape == x.shape
    assert PatchDiscriminator(m)(x).shape == (2, 1, 6, 6)  # one score per patch
    cfg = run_config(RunChoices(source="folder:x", arch="cyclegan"))
    assert (cfg.loss.name, cfg.loss.cycle_weight, cfg.loss.identity_weight, cfg.loss.pool_size) == ("lsgan", 10, 0.5, 50)
    assert (cfg.train.lr_g, cfg.train.betas_g, cfg.train.lr_decay_share, cfg.train.ema) == (2e-4, (0.5, 0.999), 0.5, False)
    assert [lr_factor(s, 10, 0.5) for s in (0, 4, 5, 9)] == [1.0, 1.0, 1.0, pytest.approx(1 / 3)]


def test_fake_pool_keeps_and_swaps():
    torch.manual_seed(0)
    pool = FakePool(3)
    first = torch.arange(2.0).view(2, 1)
    assert torch.equal(pool.query(first), first)  # filling: returned as they are
    out = pool.query(torch.tensor([[10.0], [11.0], [12.0], [13.0]]))
    assert len(pool.state()) == 3 and out.shape == (4, 1)
    assert set(out.flatten().tolist()) <= {0.0, 1.0, 10.0, 11.0, 12.0, 13.0}


def test_two_folders_train_log_grid_and_checkpoint(tmp_path, noise_domains, one_thread):
    a, b = noise_domains
    trainer = Trainer(_config(a, b, steps=3, sample_every=3), tmp_path / "run")
    assert isinstance(trainer, CycleTrainer) and trainer.dataset_info.domain_sizes == (12, 10)
    reports = list(trainer)
    assert reports[-1].samples.shape == (6 * 6, 1, 32, 32)  # six rows: A, G(A), F(G(A)), B, F(B), G(F(B))
    record = RunFolder(tmp_path / "run").read_metrics()[-1]
    assert set(CYCLE_METRICS) <= set(record) and record["loss_g"] > 0
    run = RunFolder(tmp_path / "run")
    (entry,) = run.grid_entries(run.config(), run.read_metrics())
    assert entry.count == 36 and entry.side == 32
    translator = load_translator(tmp_path / "run")
    assert translator.resolution == 32 and translator.translate(torch.zeros(2, 1, 32, 32), "b2a").shape == (2, 1, 32, 32)

    from ganstudio.core.training.control import LiveSettings

    trainer.control.change(LiveSettings(lr_g=1e-4, d_steps=3))  # live: a new base rate; D steps stay 1
    trainer.total_steps = 4
    (report,) = list(trainer)
    assert report.lr_g == pytest.approx(1e-4 * lr_factor(3, 4, 0.5)) and trainer.config.train.d_steps == 1
    assert trainer.config.train.lr_g == 1e-4 and trainer.checkpoint().config.train.lr_g == 1e-4


def test_exact_resume(tmp_path, noise_domains, one_thread):
    a, b = noise_domains
    cfg = _config(a, b, steps=4, checkpoint_every=2).with_updates("loss", pool_size=6)  # full after 2 steps: swaps
    whole = Trainer(cfg, tmp_path / "whole")
    losses = [(r.loss_g, r.loss_d, r.extras["cycle"]) for r in whole]
    half = Trainer(cfg, tmp_path / "half")
    for report in half:
        if report.step == 2:
            break
    resumed = Trainer.resume(tmp_path / "half")
    assert isinstance(resumed, CycleTrainer) and resumed.step == 2
    tail = [(r.loss_g, r.loss_d, r.extras["cycle"]) for r in resumed]
    assert tail == losses[2:]
    for key, value in whole.translator_b2a.state_dict().items():
        assert torch.equal(value, resumed.translator_b2a.state_dict()[key]), key


def test_learns_mnist_inversion(tmp_path, shared_data, one_thread):
    """Digits <-> the same kind of digits colour-inverted (unpaired): after 20 steps G's output is close to the
    true inversion, which the untrained generator is not."""
    import torchvision

    digits = torchvision.datasets.MNIST(str(shared_data), train=False, download=False).data.numpy()
    a = _folder(tmp_path / "A", digits[:128])
    b = _folder(tmp_path / "B", 255 - digits[128:256])  # other digits: the two sets are unpaired
    cfg = _config(a, b, steps=20, batch_size=8, lr_g=2e-3, lr_d=2e-3).with_updates(
        "model", capacity=8).with_updates("loss", identity_weight=0.0)  # identity fights an inversion
    test = torch.from_numpy(digits[1000:1064]).float()[:, None]
    x = torch.nn.functional.interpolate(test, size=32, mode="bicubic").clamp(0, 255) / 127.5 - 1

    def l1_to_inversion(G):
        with torch.no_grad():
            return ((G.eval()(x) + x).abs().mean() / 2).item()  # pixels in [0, 1]

    trainer = Trainer(cfg)
    untrained = l1_to_inversion(trainer.translator_a2b)
    trainer.translator_a2b.train()
    for _ in trainer:
        pass
    learned = l1_to_inversion(trainer.translator_a2b)
    assert untrained > 0.3 and learned < 0.2, (untrained, learned)


def test_cli_train_and_translate_folder(tmp_path, noise_domains, capsys):
    a, b = noise_domains
    run = tmp_path / "run"
    assert main(["train", "--data", f"folder:{a}", "--data-b", f"folder:{b}", "--channels", "1", "--resolution",
                 "32", "--capacity", "4", "--residual-blocks", "1", "--batch-size", "4", "--steps", "2",
                 "--out", str(run), "--quiet"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["arch"] == "cyclegan" and config["data"]["source_b"] == f"folder:{b}"
    out = tmp_path / "translated"
    assert main(["translate", "--checkpoint", str(run), "--direction", "a2b", "--input", str(a),
                 "--out", str(out), "--device", "cpu"]) == 0
    written = sorted(out.glob("*.png"))
    assert len(written) == 12 and Image.open(written[0]).size == (32, 32)
    assert "Translated 12 images (a2b)" in capsys.readouterr().err
    one = tmp_path / "one.png"
    result = translate(run, "b2a", b / "000.png", one)
    assert result.written == [one] and one.is_file()


def test_bad_input_is_one_sentence(tmp_path, noise_domains, capsys):
    a, b = noise_domains
    with pytest.raises(DatasetError, match="domain B: the folder .*absent does not exist"):
        load_data(_config(a, tmp_path / "absent").data)
    celeba = tmp_path / "celeba"
    (celeba / "img_align_celeba").mkdir(parents=True)
    (celeba / "list_attr_celeba.txt").write_text("1\nBlack_Hair Blond_Hair\n000001.jpg 1 -1\n")
    cfg = run_config(RunChoices(source="celeba", arch="cyclegan"), {"data": {"root": str(tmp_path),
                                                                             "domains": "Black_Hair:Red_Hair"}})
    with pytest.raises(ConfigError, match=r"^--domains: CelebA has no attribute 'Red_Hair' \(close matches: "):
        cfg.validate()  # before any data is read
    cfg = cfg.with_updates("data", domains="Black_Hair:Bald")  # an attribute list that lacks one of the 40
    with pytest.raises(DatasetError, match="unknown CelebA attribute 'Bald'; use one of Black_Hair, Blond_Hair"):
        load_data(cfg.validate().data)
    with pytest.raises(ConfigError, match="are for the cyclegan model, not dcgan"):
        run_config(RunChoices(source=f"folder:{a}", arch="dcgan"), {"data": {"source_b": f"folder:{b}"}}).validate()
    with pytest.raises(ConfigError, match="translates between two image sets"):
        run_config(RunChoices(source=f"folder:{a}", arch="cyclegan")).validate()
    assert main(["translate", "--checkpoint", str(tmp_path / "none"), "--direction", "a2b", "--input", str(a),
                 "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganstudio translate: error:") and len(err.splitlines()) == 1


def test_celeba_attributes_are_listed_once_and_misspellings_get_close_matches():
    assert len(CELEBA_ATTRIBUTES) == 40 == len(set(CELEBA_ATTRIBUTES)) and "Blond_Hair" in CELEBA_ATTRIBUTES
    assert unknown_attributes(["Black_Hair", "Blond_Hair"]) is None
    assert unknown_attributes(["Black_Hair", "Blonde_Hair"]).startswith(
        "CelebA has no attribute 'Blonde_Hair' (close matches: Blond_Hair")
    message = unknown_attributes(["Sunburn_Xyz"])
    assert message.count(", ") == 39 and message.endswith("Young)")  # nothing close: all 40, in one sentence


def test_the_readme_picture_is_drawn_from_generated_faces(tmp_path, monkeypatch, capsys, one_thread):
    """benchmarks/cyclegan.py --picture-generated: faces of the bundled face model that the classifier reads as
    black-haired and as blond, translated both ways by a checkpoint, scored and drawn (input, translated, back)."""
    import sys
    from dataclasses import replace

    from benchmarks import cyclegan as bench
    from ganstudio.core.data.domains import DomainPair
    from tests.conftest import tiny_images

    a, b = tiny_images(n=4, channels=3, resolution=64), tiny_images(n=4, channels=3, resolution=64, seed=1)
    cfg = run_config(RunChoices(source="folder:unused", arch="cyclegan", resolution=64),
                     {"data": {"source_b": "folder:unused-b", "channels": 3},
                      "model": {"capacity": 4, "residual_blocks": 1},
                      "train": {"steps": 1, "epochs": None, "batch_size": 2, "device": "cpu", "grid_size": 2}})
    trainer = Trainer(cfg.validate(), tmp_path / "run", data=DomainPair(a, b, replace(a.info, size=8,
                                                                                      domain_sizes=(4, 4))))
    trainer.save_checkpoint()
    png, numbers = tmp_path / "hair.png", tmp_path / "hair.json"
    monkeypatch.setattr(sys, "argv", ["cyclegan.py", "--checkpoint", str(tmp_path / "run"), "--picture-generated",
                                      str(png), "--json", str(numbers), "--test", "3", "--columns", "2",
                                      "--candidates", "400", "--threads", "1"])
    assert bench.main() == 0
    results = json.loads(numbers.read_text())
    for direction in ("a2b", "b2a"):  # every input read right: the classifier picked them
        assert results[direction]["images"] == 3 and results[direction]["input_read_right"] == 1.0
        assert 0 <= results[direction]["flipped"] <= 1
    assert Image.open(png).size == (4 * 66 + 2, 3 * 66 + 2)  # input, translated, back; 2 of each direction
    assert "picture:" in capsys.readouterr().out


def test_a_translator_is_not_sampled_and_stays_out_of_the_noise_models(tmp_path, noise_domains, one_thread):
    from ganstudio.core.checkpoints import export_generator, load_generator
    from ganstudio.core.errors import CheckpointError
    from ganstudio.core.models.registry import all_architectures, architectures, translation_architectures

    assert "cyclegan" not in architectures() and translation_architectures() == ("cyclegan",)
    assert "cyclegan" in all_architectures()
    a, b = noise_domains
    trainer = Trainer(_config(a, b, steps=1), tmp_path / "run")
    list(trainer)
    with pytest.raises(CheckpointError, match="translator: .* use ganstudio translate"):
        load_generator(tmp_path / "run")
    slim = export_generator(tmp_path / "run", tmp_path / "model.safetensors")  # both directions travel
    assert load_translator(slim).translate(torch.zeros(1, 1, 32, 32), "a2b").shape == (1, 1, 32, 32)


def test_time_estimate_of_a_cyclegan(one_thread):
    from ganstudio.core.training.estimate import estimate_time

    cfg = run_config(RunChoices(source="celeba", arch="cyclegan", resolution=32),
                     {"data": {"domains": "Eyeglasses"}, "model": {"capacity": 4, "residual_blocks": 1},
                      "train": {"steps": 100, "epochs": None, "device": "cpu"}}).validate()
    estimate = estimate_time(cfg, 1000, warmup=1, steps=2)
    assert estimate.total_steps == 100 and estimate.seconds_per_step > 0
