"""The training loop: exact resume, run folder contents, non-finite losses, pause/stop/single steps."""
from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import pytest
import torch

from ganstudio.core.config import RunConfig
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.control import LiveSettings, TrainingControl
from ganstudio.core.training.loop import Trainer
from ganstudio.core.errors import ConfigError, TrainingError
from tests.conftest import tiny_config, tiny_images

KEYS = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g")


def _losses(records):
    return [tuple(r[k] for k in KEYS) for r in records]


@pytest.mark.parametrize("arch,loss,extra", [
    ("dcgan", "bce", {"model": {"d_dropout": 0.2}, "loss": {"instance_noise": 0.1}}),
    ("mlp", "wgan-gp", {"model": {"conditional": True}, "train": {"d_steps": 2}}),
])
def test_resume_continues_the_same_trajectory(tmp_path, arch, loss, extra):
    """20 steps + resume + 20 steps logs exactly the same losses as 40 steps (on the CPU)."""
    cfg = tiny_config(arch, loss, steps=40).with_updates("train", ema=True, checkpoint_every=20, log_every=1)
    for section, changes in extra.items():
        cfg = cfg.with_updates(section, **changes)
    classes = 3 if cfg.model.conditional else 0
    straight = Trainer(cfg, tmp_path / "straight", data=tiny_images(n=40, classes=classes))
    list(straight)

    control = TrainingControl()
    first = Trainer(cfg, tmp_path / "resumed", control=control, data=tiny_images(n=40, classes=classes))
    for report in first:
        if report.step == 20:
            control.stop()
    # a crash after the checkpoint would leave extra lines; resume must drop them
    with open(RunFolder(tmp_path / "resumed").metrics_path, "a") as fh:
        fh.write(json.dumps({"step": 21, "loss_d": 9.0}) + "\n")
    second = Trainer.resume(tmp_path / "resumed", data=tiny_images(n=40, classes=classes))
    assert second.step == 20
    list(second)

    a = RunFolder(tmp_path / "straight").read_metrics()
    b = RunFolder(tmp_path / "resumed").read_metrics()
    assert [r["step"] for r in b] == list(range(1, 41))
    assert _losses(a) == _losses(b)
    for x, y in zip(straight.ema_generator.state_dict().values(), second.ema_generator.state_dict().values()):
        assert torch.equal(x, y)


def test_run_folder_has_config_metrics_grids_and_checkpoints(tmp_path):
    cfg = tiny_config(steps=12).with_updates("train", sample_every=5, checkpoint_every=4, keep_checkpoints=2)
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_images(n=48))
    reports = list(trainer)
    run = RunFolder(tmp_path / "run")
    assert RunConfig.load(run.config_path) == trainer.config
    records = run.read_metrics()
    assert len(records) == 12 and all({"step", "loss_d", "loss_g", "d_real", "d_fake"} <= set(r) for r in records)
    assert [p.name for p in run.checkpoints()] == ["step-0000008.safetensors", "step-0000012.safetensors"]
    names = sorted(p.name for p in run.sample_grids())
    assert "step-0000005.png" in names and "step-0000010.png" in names and "epoch-0001.png" in names
    assert sum(r.samples is not None for r in reports) >= 3
    assert reports[-1].samples.shape == (8, 1, 16, 16)


def test_fixed_noise_is_the_same_for_every_grid(tmp_path):
    trainer = Trainer(tiny_config(steps=2), data=tiny_images())
    z = trainer.fixed_z.clone()
    list(trainer)
    assert torch.equal(trainer.fixed_z, z)
    assert torch.equal(Trainer(tiny_config(steps=2), data=tiny_images()).fixed_z, z)  # drawn from the seed


def test_seeded_runs_are_deterministic_on_cpu():
    runs = [[(r.loss_d, r.loss_g) for r in Trainer(tiny_config(steps=5), data=tiny_images())] for _ in range(2)]
    assert runs[0] == runs[1]
    other = [(r.loss_d, r.loss_g) for r in Trainer(tiny_config(steps=5).with_updates("train", seed=1),
                                                      data=tiny_images())]
    assert other != runs[0]


def test_non_finite_loss_stops_with_a_reason_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = tiny_config(steps=10).with_updates("train", checkpoint_every=3)
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_images())
    good = None
    with pytest.raises(TrainingError, match=r"became nan at step 5.*step-0000003.safetensors.* intact"):
        for report in trainer:
            if report.step == 3:
                good = RunFolder(tmp_path / "run").latest_checkpoint().read_bytes()
            if report.step == 4:
                with torch.no_grad():  # poison D so that the next loss is NaN
                    next(trainer.discriminator.parameters()).fill_(float("nan"))
    run = RunFolder(tmp_path / "run")
    assert run.latest_checkpoint().name == "step-0000003.safetensors"
    assert run.latest_checkpoint().read_bytes() == good
    assert [r["step"] for r in run.read_metrics()] == [1, 2, 3, 4]


def test_pause_single_steps_live_changes_and_stop():
    control = TrainingControl()
    trainer = Trainer(tiny_config(steps=1000), control=control, data=tiny_images())
    control.pause()
    control.single_step("d")
    control.single_step("g")
    control.change(LiveSettings(lr_g=1e-3, d_steps=2))
    control.single_step("both")
    seen = []

    def consume():
        for report in trainer:
            seen.append(report)

    thread = threading.Thread(target=consume)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive(), "a paused loop must wait"
    assert len(seen) == 3
    assert seen[0].loss_d is not None and seen[0].loss_g is None  # D only
    assert seen[1].loss_d is None and seen[1].loss_g is not None  # G only
    assert seen[2].lr_g == 1e-3 and trainer.d_steps == 2
    control.resume()
    while len(seen) < 6:
        thread.join(timeout=0.05)
    control.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and len(seen) < 1000


def test_epochs_set_the_number_of_steps():
    cfg = tiny_config().with_updates("train", steps=None, epochs=2.0, batch_size=8)
    assert Trainer(cfg, data=tiny_images(n=64)).total_steps == 16


def test_config_json_round_trip_and_clear_errors():
    cfg = tiny_config("mlp", "hinge", conditional=True).with_updates("train", betas_g=(0.0, 0.9))
    assert RunConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ConfigError, match="unknown setting config.model.colour"):
        RunConfig.from_dict({"model": {"colour": 1}})
    with pytest.raises(ConfigError, match="config.train.batch_size must be a whole number"):
        RunConfig.from_dict({"train": {"batch_size": "big"}})
    with pytest.raises(ConfigError, match="resolution 48"):
        tiny_config().with_updates("data", resolution=48).validate()
    with pytest.raises(ConfigError, match="conditional model needs labelled data"):
        Trainer(tiny_config(conditional=True), data=tiny_images())


def test_reports_carry_finite_speed_and_epoch():
    reports = list(Trainer(tiny_config(steps=4), data=tiny_images(n=16)))
    assert all(r.images_per_sec > 0 and math.isfinite(r.images_per_sec) for r in reports)
    assert reports[-1].epoch == pytest.approx(2.0)


def test_channels_last_auto_is_decided_per_device_and_recorded(tmp_path):
    from ganstudio.core.device import CPU_CHANNELS_LAST, auto_channels_last

    cfg = tiny_config("dcgan", steps=1)
    assert cfg.train.channels_last is None  # the default: decided when the run starts
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_images())
    assert trainer.config.train.channels_last is CPU_CHANNELS_LAST["dcgan"]
    list(trainer)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["train"]["channels_last"] is CPU_CHANNELS_LAST["dcgan"]  # a resumed run keeps the decision
    for forced in (True, False):
        t = Trainer(cfg.with_updates("train", channels_last=forced), data=tiny_images(channels=3))
        assert t.config.train.channels_last is forced
        x, _, _ = t._next_batch()
        assert x.is_contiguous(memory_format=torch.channels_last) is forced
    cuda = torch.device("cuda")  # a device object needs no GPU
    assert auto_channels_last("dcgan", False, cuda, "bf16") and auto_channels_last("stylegan", False, cuda, "fp16")
    assert not auto_channels_last("dcgan", False, cuda, "fp32")
    assert not auto_channels_last("mlp", False, cuda, "bf16") and not auto_channels_last("mlp", True, cuda, "bf16")


def test_live_settings_become_the_runs_own_and_survive_reopen_and_resume(tmp_path):
    """Applied learning rates and D steps reach config.json at once and the checkpoint; an epoch-planned run keeps
    its length when its D steps change."""
    cfg = tiny_config(steps=1).with_updates("train", steps=None, epochs=2.0, batch_size=8, checkpoint_every=0)
    control = TrainingControl()
    trainer = Trainer(cfg, tmp_path / "run", control=control, data=tiny_images(n=64))
    planned = trainer.total_steps
    for report in trainer:
        if report.step == 2:
            control.change(LiveSettings(lr_g=1e-4, lr_d=3e-4, d_steps=2))
        if report.step == 3:
            assert report.lr_g == 1e-4
            saved = RunFolder(tmp_path / "run").config().train  # before any checkpoint: a crash keeps them
            assert (saved.lr_g, saved.lr_d, saved.d_steps) == (1e-4, 3e-4, 2)
            control.stop()
    trainer.save_stopped()
    resumed = Trainer.resume(tmp_path / "run", data=tiny_images(n=64))
    assert resumed.learning_rates == (1e-4, 3e-4) and resumed.d_steps == 2
    assert resumed.total_steps == planned
    assert RunFolder(tmp_path / "run").config().train.lr_g == 1e-4


def test_metrics_reach_the_disk_while_training_and_a_stop_leaves_a_grid(tmp_path, monkeypatch):
    from ganstudio.core.training import loop

    monkeypatch.setattr(loop, "LOG_FLUSH_SECONDS", 0.0)
    control = TrainingControl()
    cfg = tiny_config(steps=100).with_updates("train", sample_every=50, checkpoint_every=0)
    trainer = Trainer(cfg, tmp_path / "run", control=control, data=tiny_images(n=200))
    run = RunFolder(tmp_path / "run")
    for report in trainer:
        assert [r["step"] for r in run.read_metrics()] == list(range(1, report.step + 1))  # flushed as logged
        if report.step == 12:
            control.stop()
    assert run.sample_grids() == []  # no grid was due before step 50 or the first epoch's end (25)
    stopped = trainer.save_stopped()
    assert stopped.step == 12 and stopped.samples is not None
    assert [p.name for p in run.sample_grids()] == ["step-0000012.png"] == [Path(stopped.grid_path).name]
    assert Path(stopped.checkpoint_path) == run.latest_checkpoint()
    again = trainer.save_stopped()  # the grid of this step exists: only the checkpoint is written again
    assert again.samples is None and len(run.sample_grids()) == 1


def test_metrics_are_flushed_at_most_once_a_second_by_default(tmp_path):
    control = TrainingControl()
    trainer = Trainer(tiny_config(steps=100).with_updates("train", checkpoint_every=0), tmp_path / "run",
                      control=control, data=tiny_images())
    for report in trainer:
        if report.step == 1:
            assert len(RunFolder(tmp_path / "run").read_metrics()) == 1  # the first step is written at once
        if report.step == 5:
            control.stop()
