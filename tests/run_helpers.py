"""Tiny runs for tests: a folder of random PNGs, a tiny image config and a small toy config (no Qt here)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ganstudio.core.config import RunConfig


def make_folder(root: Path, n: int = 24, side: int = 16, classes: int = 0, bad: int = 0) -> Path:
    """A folder of random PNGs (in class subfolders when classes > 0), plus `bad` corrupt files."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        folder = root / f"class{i % classes}" if classes else root
        folder.mkdir(exist_ok=True)
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGB").save(folder / f"img{i:03d}.png")
    for i in range(bad):
        (root / f"broken{i}.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    return root


def image_config(folder: Path, steps: int = 12, **train) -> RunConfig:
    """A tiny DCGAN on a folder of 16 px images: a few steps take well under a second."""
    options = dict(steps=steps, epochs=None, batch_size=8, sample_every=4, checkpoint_every=0, grid_size=16,
                   device="cpu")
    options.update(train)
    return (RunConfig(name="tiny")
            .with_updates("data", source=f"folder:{folder}", resolution=16, channels=1)
            .with_updates("model", arch="dcgan", capacity=8, z_dim=8)
            .with_updates("train", **options))


def toy_config(steps: int = 200, **train) -> RunConfig:
    """The ring of 8 Gaussians with a small MLP."""
    options = dict(steps=steps, epochs=None, batch_size=64, sample_every=50, checkpoint_every=0, device="cpu",
                   lr_g=5e-4, lr_d=5e-4)
    options.update(train)
    return (RunConfig(name="ring")
            .with_updates("data", source="toy:ring8", toy_samples=2000)
            .with_updates("model", arch="mlp", z_dim=2, capacity=32)
            .with_updates("train", **options))
