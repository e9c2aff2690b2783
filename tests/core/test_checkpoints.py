"""Checkpoints: atomic, complete, never unpickled, and every bad file gets one clear sentence."""
from __future__ import annotations

import errno
import os
import pickle

import pytest
import torch

from ganstudio.core import io as gs_io
from ganstudio.core.checkpoints import load_checkpoint, load_generator, save_checkpoint
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.loop import Trainer
from ganstudio.core.errors import CheckpointError, GanStudioError
from tests.conftest import tiny_config, tiny_images


@pytest.fixture
def trained(tmp_path):
    trainer = Trainer(tiny_config(steps=3), tmp_path / "run", data=tiny_images())
    list(trainer)
    return trainer, RunFolder(tmp_path / "run").latest_checkpoint()


def test_checkpoint_holds_everything_a_run_needs(trained):
    trainer, path = trained
    ckpt = load_checkpoint(path)
    assert ckpt.step == 3 and ckpt.config == trainer.config.with_updates("train")
    assert set(ckpt.modules) == {"G", "D", "G_ema"}
    assert set(ckpt.optimizers) == {"G", "D"} and ckpt.optimizers["G"]["state"]
    assert {"rng_cpu", "fixed_z"} <= set(ckpt.extra_tensors)
    assert ckpt.version
    G, cfg = load_generator(path)
    assert torch.equal(G(trainer.fixed_z), torch.as_tensor(trainer.sample_fixed()))


class RunsCode:
    """A pickle payload whose loading would create a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_a_pickle_that_would_run_code_is_rejected_and_the_code_does_not_run(tmp_path, writer):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.safetensors"
    if writer == "pickle":
        evil.write_bytes(pickle.dumps({"G": RunsCode(marker)}))
    else:
        torch.save({"G": RunsCode(marker)}, evil)
    with pytest.raises(CheckpointError, match="pickle.*never opens them"):
        load_checkpoint(evil)
    with pytest.raises(CheckpointError):
        load_generator(evil)
    assert not marker.exists()


def test_a_refused_file_is_logged_with_the_library_s_reason(tmp_path, caplog):
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, this is a text file\n" * 20)
    with caplog.at_level("INFO", logger="ganstudio"), pytest.raises(CheckpointError):
        load_checkpoint(text)
    assert any("refused" in r.getMessage() and str(text) in r.getMessage() and "header" in r.getMessage()
               for r in caplog.records)


def test_truncated_and_foreign_files_get_one_sentence(trained, tmp_path):
    _, path = trained
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a GAN Studio checkpoint") as info:
        load_checkpoint(cut)
    assert "\n" not in str(info.value)
    text = tmp_path / "notes.safetensors"
    text.write_text("hello, this is a text file\n" * 20)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(text)
    # plain words, without the library's jargon (which goes to the log)
    assert str(info.value) == "notes.safetensors is not a GAN Studio checkpoint (it is damaged or another kind of file)"
    assert "header" not in str(info.value) and "deserializ" not in str(info.value)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(CheckpointError, match="safetensors file but not a GAN Studio checkpoint"):
        load_checkpoint(other)


def test_weights_that_do_not_fit_the_architecture_are_refused(trained, tmp_path):
    trainer, path = trained
    ckpt = load_checkpoint(path)
    ckpt.config = ckpt.config.with_updates("model", capacity=16)  # claims a wider model
    wrong = tmp_path / "wrong.safetensors"
    save_checkpoint(wrong, ckpt)
    with pytest.raises(CheckpointError, match="do not match the architecture"):
        load_generator(wrong)


def test_a_failed_write_leaves_the_previous_checkpoint_intact(trained, monkeypatch):
    trainer, path = trained
    before = path.read_bytes()

    def full_disk(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gs_io.os, "fsync", lambda fd: full_disk(None))
    with pytest.raises(GanStudioError, match="disk is full.*previous file is intact"):
        save_checkpoint(path, trainer.checkpoint())
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_exported_model_is_slim_samples_the_same_and_cannot_resume(trained, tmp_path):
    from ganstudio.core.checkpoints import export_generator

    trainer, path = trained
    out = export_generator(path, tmp_path / "model.safetensors")
    assert out.stat().st_size < path.stat().st_size / 2
    G, cfg = load_generator(out)
    assert torch.equal(G(trainer.fixed_z), torch.as_tensor(trainer.sample_fixed()))
    run = RunFolder(tmp_path / "run")
    out.replace(run.checkpoint_path(99))
    with pytest.raises(CheckpointError, match="holds only a generator"):
        Trainer.resume(run.path, data=tiny_images())


def test_a_checkpoint_whose_header_length_starts_like_a_pickle_still_opens(tmp_path):
    """A safetensors file starts with its header's length; when that length is 0x80 mod 256 the first byte is a
    pickle's (one file in 256 once): it must still open, and a real pickle must still be refused."""
    from safetensors.torch import save_file

    from ganstudio.core.checkpoints import _is_safetensors

    path = tmp_path / "x.safetensors"
    for pad in range(300):  # find a metadata length that puts 0x80 first
        save_file({"w": torch.zeros(2)}, str(path), metadata={"format": "x", "pad": "a" * pad})
        head = path.read_bytes()[:9]
        if head[0] == 0x80:
            break
    assert head[0] == 0x80 and _is_safetensors(head, path.stat().st_size)
    pickled = tmp_path / "p.safetensors"
    torch.save({"w": torch.zeros(2)}, pickled, _use_new_zipfile_serialization=False)
    data = pickled.read_bytes()
    assert data[:1] == b"\x80" and not _is_safetensors(data[:9], len(data))
    with pytest.raises(CheckpointError, match="Python pickle"):
        load_checkpoint(pickled)
