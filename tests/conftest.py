"""Shared fixtures: headless Qt, a tiny in-memory dataset, the shared real data."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GANSTUDIO_LOG_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "ganstudio-test-logs"))

import pytest
import torch

from ganstudio.core.config import RunConfig
from ganstudio.core.data.sources import DatasetInfo, TrainingData

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def one_thread():
    """Torch on one thread for the test (tiny models: faster, and the same numbers on every machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a skip saying where it was looked for."""
    if not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (see the README's development section)")
    return SHARED_DATA


def tiny_images(n: int = 64, channels: int = 1, resolution: int = 16, classes: int = 0, seed: int = 0,
                device: str = "cpu") -> TrainingData:
    """Random uint8 images (and labels) held as a TrainingData, for fast model and loop tests."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, channels, resolution, resolution), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % classes if classes else None
    names = tuple(str(i) for i in range(classes))
    info = DatasetInfo("memory", channels, resolution, classes, names, n, is_toy=False, in_memory=True)
    return TrainingData(info, device, images, labels)


def tiny_config(arch: str = "dcgan", loss: str = "bce", steps: int = 3, **model) -> RunConfig:
    """A config for a tiny, fast model on tiny_images."""
    return (RunConfig()
            .with_updates("data", source="folder:unused", resolution=16)
            .with_updates("model", arch=arch, capacity=8, z_dim=8, **model)
            .with_updates("loss", name=loss)
            .with_updates("train", steps=steps, epochs=None, batch_size=8, sample_every=0,
                          checkpoint_every=0, grid_size=8, device="cpu"))
