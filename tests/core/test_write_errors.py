"""A full disk (or any write error) while saving: one sentence naming the folder and the space needed, the last
good checkpoint intact, no temporary file left, and no traceback from `ganstudio train`."""
from __future__ import annotations

import errno

import pytest

import ganstudio.core.io as gs_io
from ganstudio.core.checkpoints import load_checkpoint
from ganstudio.core.errors import TrainingError, WriteError, size_text
from ganstudio.core.io import atomic_write
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.loop import Trainer
from tests.conftest import tiny_config, tiny_images


def _leftovers(folder):
    return [p.name for p in folder.rglob("*.tmp")]


def test_the_atomic_writer_names_the_folder_and_the_space_needed(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    target.parent.mkdir()
    target.write_bytes(b"old")

    def write_half_then_fill_the_disk(tmp):
        tmp.write_bytes(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError) as caught:
        atomic_write(target, write_half_then_fill_the_disk, size=12_300_000)
    message = str(caught.value)
    assert message.startswith("the disk is full: file.bin could not be written to ")
    assert str(target.parent) in message and "it needs about 12.3 MB free" in message and " is free" in message
    assert caught.value.disk_full and caught.value.needed == 12_300_000
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_other_write_errors_say_why(tmp_path):
    def refuse(tmp):
        raise OSError(errno.EACCES, "Permission denied")

    with pytest.raises(WriteError, match=r"could not write: f.txt could not be written to .* \(Permission denied\)"):
        atomic_write(tmp_path / "f.txt", refuse)
    assert _leftovers(tmp_path) == []


def test_size_text():
    assert [size_text(n) for n in (820, 400_000, 12_345_678, 1_200_000_000)] == \
        ["820 bytes", "400 KB", "12.3 MB", "1.2 GB"]


class FullDisk:
    """fsync fails with ENOSPC once armed: a disk that fills while the atomic writer saves a file."""

    def __init__(self, monkeypatch):
        self.armed = False
        real = gs_io.os.fsync

        def fsync(fd):
            if self.armed:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(fd)

        monkeypatch.setattr(gs_io.os, "fsync", fsync)


@pytest.mark.parametrize("what, sample_every", [("checkpoint", 0), ("sample grid", 5)])
def test_a_full_disk_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, what, sample_every):
    disk = FullDisk(monkeypatch)
    cfg = tiny_config(steps=10).with_updates("train", checkpoint_every=3, sample_every=sample_every)
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_images())
    good = None
    with pytest.raises(TrainingError) as caught:
        for report in trainer:
            if report.step == 3:
                good = RunFolder(tmp_path / "run").latest_checkpoint().read_bytes()
                disk.armed = True
    step = 5 if what == "sample grid" else 6
    message = str(caught.value)
    folder = tmp_path / "run" / ("samples" if what == "sample grid" else "checkpoints")
    assert message.startswith(f"the disk is full: the {what} of step {step} could not be saved in {folder} "
                              "(it needs about ")
    assert message.endswith("so the run stopped; the last good checkpoint, step 3, is intact")
    run = RunFolder(tmp_path / "run")
    assert run.latest_checkpoint().read_bytes() == good
    assert load_checkpoint(run.latest_checkpoint()).step == 3
    assert _leftovers(tmp_path) == []
    disk.armed = False
    resumed = Trainer.resume(run.path, data=tiny_images())
    assert resumed.step == 3


def test_a_full_disk_while_logging_metrics_stops_the_run(tmp_path):
    trainer = Trainer(tiny_config(steps=10).with_updates("train", checkpoint_every=2), tmp_path / "run",
                      data=tiny_images())

    class FullFile:
        def __init__(self, fh):
            self.fh = fh

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.fh.close()

    with pytest.raises(TrainingError, match=r"^the disk is full: the metrics log of step 5 could not be saved in "
                                            r".*step 4, is intact$"):
        for report in trainer:
            if report.step == 4:
                trainer._metrics_file = FullFile(trainer._metrics_file)


def test_ganstudio_train_prints_one_line_on_a_full_disk(tmp_path, monkeypatch, capsys):
    from ganstudio.cli import main

    disk = FullDisk(monkeypatch)
    disk.armed = True
    out = tmp_path / "run"
    monkeypatch.setattr(RunFolder, "create", _create_then_fill(disk))
    code = main(["train", "--data", "toy:ring8", "--steps", "4", "--batch-size", "16", "--checkpoint-every", "2",
                 "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("ganstudio train: error: the disk is full: the ") and str(out) in line
    assert "it needs about" in line and "so the run stopped" in line
    assert _leftovers(tmp_path) == []


def _create_then_fill(disk):
    """RunFolder.create that writes config.json first, then lets the disk fill."""
    real = RunFolder.create.__func__

    def create(cls, path, config):
        disk.armed = False
        try:
            return real(cls, path, config)
        finally:
            disk.armed = True

    return classmethod(create)
