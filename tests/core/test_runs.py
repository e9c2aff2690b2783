"""The run folder's names: written and parsed back in one module, and a saved run's grids read back in order."""
from __future__ import annotations

from pathlib import Path

from ganstudio.core import runs
from ganstudio.core.runs import GridEntry, RunFolder
from ganstudio.core.training.loop import Trainer
from tests.conftest import tiny_config, tiny_images


def test_names_are_parsed_back_and_others_ignored():
    assert runs.checkpoint_step(Path("x") / runs.checkpoint_name(1234)) == 1234
    assert runs.checkpoint_step("step-12.png") is None and runs.checkpoint_step("notes.safetensors") is None
    assert runs.parse_grid_name(runs.grid_name(500)) == ("step", 500)
    assert runs.parse_grid_name(runs.grid_name(500, epoch=3)) == ("epoch", 3)
    assert runs.parse_grid_name("step-500.jpg") is None and runs.parse_grid_name("preview.png") is None
    assert RunFolder("r").checkpoint_path(7).name == "step-0000007.safetensors"
    assert RunFolder("r").grid_path(7).name == "step-0000007.png" and RunFolder("r").grid_path(9, 1).name == "epoch-0001.png"


def test_grid_entries_of_a_saved_run_follow_the_steps(tmp_path):
    cfg = tiny_config(steps=12).with_updates("train", sample_every=5)
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_images(n=48))  # 6 steps an epoch
    list(trainer)
    run = RunFolder(tmp_path / "run")
    (run.samples_dir / "notes.png").write_bytes(b"")  # not a grid name: ignored
    assert not RunFolder.is_run(tmp_path) and RunFolder.is_run(run.path)
    entries = run.grid_entries(run.config(), run.read_metrics())
    assert [(e.step, e.epoch) for e in entries] == [(5, None), (6, 1.0), (10, None), (12, 2.0)]
    assert all(e.count == 8 and e.side == 16 and e.image is None for e in entries)
    assert entries[1].label() == "step 6, epoch 1" and GridEntry(None, None, "a.png").label() == "a.png"
    assert runs.checkpoint_step(run.latest_checkpoint()) == 12


def test_temporary_files_of_killed_saves_go_when_a_run_resumes(tmp_path):
    import os


    trainer = Trainer(tiny_config(steps=3).with_updates("train", checkpoint_every=3), tmp_path / "run",
                      data=tiny_images())
    list(trainer)
    run = RunFolder(tmp_path / "run")
    size = run.latest_checkpoint().stat().st_size
    killed = [run.checkpoints_dir / ".step-0000006.safetensors.k1ll3d.tmp",
              run.samples_dir / ".step-0000006.png.a8c2x.tmp", run.path / ".metrics.jsonl.zz9.tmp"]
    for p in killed:
        p.write_bytes(b"\0" * size)
    kept = [run.checkpoints_dir / "notes.tmp", run.path / ".hidden"]
    for p in kept:
        p.write_text("mine")
    assert run.leftover_temporary_files() == sorted(killed)
    young = run.path / ".config.json.new1.tmp"
    young.write_text("{}")
    time_ago = 120
    for p in killed:
        os.utime(p, (p.stat().st_atime - time_ago, p.stat().st_mtime - time_ago))
    assert run.leftover_temporary_files(older_than=60) == sorted(killed), "a live write's file is left alone"
    Trainer.resume(run.path, steps=4, data=tiny_images())
    assert run.leftover_temporary_files() == [] and not young.exists()
    assert all(p.exists() for p in kept)


def test_a_folder_that_holds_a_run_is_refused_in_words_of_neither_the_cli_nor_the_app(tmp_path):
    import pytest

    from ganstudio.core.errors import ConfigError, RunExistsError

    RunFolder.create(tmp_path / "run", tiny_config())
    with pytest.raises(RunExistsError) as caught:
        RunFolder.create(tmp_path / "run", tiny_config())
    assert isinstance(caught.value, ConfigError) and caught.value.folder == str(tmp_path / "run")
    assert str(caught.value) == f"{tmp_path / 'run'} already holds a run; resume it or choose another folder"
    assert "--" not in str(caught.value)
