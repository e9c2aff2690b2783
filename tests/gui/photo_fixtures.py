"""A face photo made by our own code for the photo dialog's tests: a face the bundled model draws, enlarged and
placed on a larger background, stored turned on its side with an EXIF orientation tag that turns it upright."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganstudio.core.checkpoints import generator_from_checkpoint, load_checkpoint
from ganstudio.core.images import to_uint8
from ganstudio.core.photo.align import template_for

SCALE, OFFSET, SIZE = 3, (40, 60), (272, 320)  # the face is enlarged 3x at OFFSET on a SIZE (w, h) photo


@dataclass
class FacePhoto:
    path: Path
    upright: np.ndarray  # uint8 [H, W, 3] as the photo looks once turned upright
    face: np.ndarray  # the model's own 64 px face
    points: list[tuple[float, float]]  # left eye, right eye, mouth in upright photo pixels


def face_photo(folder: Path, model_file: Path, seed: int = 4, psi: float = 0.7) -> FacePhoto:
    """Write photo.jpg: a face of the model at `model_file`, upright only through its EXIF orientation (6)."""
    ckpt = load_checkpoint(model_file)
    G = generator_from_checkpoint(ckpt, "cpu", name=model_file.name)
    z = torch.randn(1, G.mapping.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        face = to_uint8(G(z, None, truncation_psi=psi, noise_mode="const"))[0]
    r = face.shape[0]
    w, h = SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    background = np.stack([90 + 60 * xx / w, 110 + 40 * yy / h, 140 - 50 * xx / w], -1).astype(np.uint8)
    upright = background.copy()
    big = np.asarray(Image.fromarray(face).resize((r * SCALE, r * SCALE), Image.Resampling.BICUBIC))
    ox, oy = OFFSET
    upright[oy:oy + r * SCALE, ox:ox + r * SCALE] = big
    template = template_for(ckpt.config)
    points = [(ox + SCALE * x, oy + SCALE * y) for x, y in template.points]
    stored = Image.fromarray(upright).rotate(90, expand=True)  # counter-clockwise; orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    path = folder / "photo.jpg"
    stored.save(path, quality=97, exif=exif)
    return FacePhoto(path, upright, face, points)
