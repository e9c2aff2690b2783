"""Files GAN Studio writes get the mode the user's umask gives (run folders are copied to servers and shared)."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from ganstudio.core.export import save_png
from ganstudio.core.io import atomic_write_text, current_umask, file_mode
from ganstudio.core.training.loop import Trainer
from tests.conftest import tiny_config, tiny_images

pytestmark = pytest.mark.skipif(os.name == "nt", reason="Windows has no umask or POSIX modes")


@pytest.fixture
def umask():
    """Set the process's umask for one test and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_an_atomic_write_honours_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    assert current_umask() == mask and file_mode() == expected
    atomic_write_text(tmp_path / "a.txt", "hello")
    assert mode(tmp_path / "a.txt") == expected


def test_every_file_of_a_run_and_an_export_is_readable_by_others_under_umask_022(tmp_path, umask):
    umask(0o022)
    config = tiny_config(steps=4).with_updates("train", sample_every=2, checkpoint_every=2)
    list(Trainer(config, tmp_path / "run", data=tiny_images()))
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert "config.json" in names and "metrics.jsonl" in names
    assert any(n.endswith(".safetensors") for n in names) and any(n.endswith(".png") for n in names)
    assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(0o644) for p in files}
    png = save_png(np.zeros((8, 8, 3), np.uint8), tmp_path / "exports" / "image.png")
    assert mode(png) == 0o644
