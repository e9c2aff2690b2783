"""Turning generator output into pictures: image grids and 2D scatter plots, as PIL images."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ganstudio.core.io import atomic_write


def to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """[N, C, H, W] in [-1, 1] -> uint8 [N, H, W, C]."""
    x = torch.as_tensor(images).detach().float().cpu()
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def image_grid(images: torch.Tensor | np.ndarray, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """A square-ish grid of [N, C, H, W] images in [-1, 1]."""
    from torchvision.utils import make_grid  # torchvision takes seconds to import: only when a grid is drawn

    x = torch.as_tensor(images).detach().float().cpu()
    nrow = nrow or max(1, math.ceil(math.sqrt(x.shape[0])))
    grid = make_grid(x, nrow=nrow, padding=padding, normalize=True, value_range=(-1, 1), pad_value=1.0)
    arr = (grid.mul(255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy())
    if arr.shape[2] == 1 or x.shape[1] == 1:
        return Image.fromarray(arr[:, :, 0], mode="L")
    return Image.fromarray(arr, mode="RGB")


def scatter_image(fake: np.ndarray, real: np.ndarray | None = None, size: int = 512,
                  extent: float | None = None) -> Image.Image:
    """Real points (blue) and generated points (orange) on a white square, for 2D toy data."""
    pts = [p for p in (real, fake) if p is not None and len(p)]
    if extent is None:
        extent = max(1.0, float(np.abs(np.concatenate(pts)).max()) * 1.1) if pts else 1.0
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    half = size / 2
    draw.line([(half, 0), (half, size)], fill=(225, 225, 225))
    draw.line([(0, half), (size, half)], fill=(225, 225, 225))

    def plot(points: np.ndarray, colour: tuple[int, int, int]) -> None:
        xy = (np.asarray(points, dtype=np.float64) / extent + 1) * half
        for x, y in xy:
            draw.ellipse([x - 1.5, size - y - 1.5, x + 1.5, size - y + 1.5], fill=colour)

    if real is not None:
        plot(real, (31, 119, 180))
    plot(fake, (255, 127, 14))
    legend = [("generated", (255, 127, 14))] + ([("real", (31, 119, 180))] if real is not None else [])
    for row, (label, colour) in enumerate(legend):
        y = 8 + 16 * row
        draw.ellipse([8, y + 3, 16, y + 11], fill=colour)
        draw.text((22, y), label, fill=(60, 60, 60))
    return img


def save_image(img: Image.Image, path: Path) -> None:
    """Save a PNG atomically."""
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")  # encoded first, so that a full disk's message knows the size
    data = buffer.getvalue()
    atomic_write(Path(path), lambda tmp: tmp.write_bytes(data), len(data))
