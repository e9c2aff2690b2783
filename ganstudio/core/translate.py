"""Translating images with a trained CycleGAN (Qt-free: the CLI's `ganstudio translate` and the app's Translate
view both call this).

`load_translator(checkpoint)` opens a run folder (its latest checkpoint) or a checkpoint file and returns a
`Translator` holding both generators; `Translator.translate(images, "a2b" | "b2a")` maps a batch in [-1, 1]
and `Translator.cycle` also maps it back. `read_images` shapes image files the way the run's training data was
shaped (channels, centre crop, resolution); `translate(...)` does the whole job for files and folders.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from ganstudio.core.checkpoints import load_checkpoint
from ganstudio.core.config import RunConfig
from ganstudio.core.data.decode import BadImage, decode_image
from ganstudio.core.data.folders import IMAGE_EXTENSIONS, SkippedFile
from ganstudio.core.errors import CheckpointError, GanStudioError

DIRECTIONS = ("a2b", "b2a")  # a2b: G, domain A to B; b2a: F, domain B to A


@dataclass
class Translator:
    """A trained CycleGAN's two generators, in eval mode on one device."""

    config: RunConfig
    a2b: nn.Module  # G
    b2a: nn.Module  # F
    device: torch.device
    step: int = 0

    @property
    def resolution(self) -> int:
        """The side in pixels the generators were trained at (inputs are shaped to it)."""
        return self.config.model.resolution

    @property
    def channels(self) -> int:
        """1 (grayscale) or 3 (colour)."""
        return self.config.model.channels

    def generator(self, direction: str) -> nn.Module:
        """G for "a2b", F for "b2a"."""
        if direction not in DIRECTIONS:
            raise GanStudioError(f"the direction must be a2b or b2a, not {direction!r}")
        return self.a2b if direction == "a2b" else self.b2a

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str, batch: int = 16) -> Tensor:
        """[N, C, H, W] in [-1, 1] at the model's resolution -> the other domain, float32 on the CPU."""
        G = self.generator(direction)
        out = [G(images[i:i + batch].to(self.device)).float().cpu() for i in range(0, len(images), batch)]
        return torch.cat(out) if out else images.new_zeros((0, *images.shape[1:]))

    def cycle(self, images: Tensor, direction: str) -> tuple[Tensor, Tensor]:
        """The translation and its way back (A -> G(A) -> F(G(A)) for a2b)."""
        there = self.translate(images, direction)
        back = self.translate(there, "b2a" if direction == "a2b" else "a2b")
        return there, back


def load_translator(checkpoint: str | Path, device: torch.device | str = "cpu") -> Translator:
    """Both generators of a CycleGAN checkpoint (a file, or a run folder's latest); one sentence when it is not."""
    from ganstudio.core.fitting import build_fitted
    from ganstudio.core.models.registry import build_models

    ckpt = load_checkpoint(checkpoint)
    name = Path(checkpoint).name
    if ckpt.config.model.arch != "cyclegan":
        raise CheckpointError(f"{name} is a {ckpt.config.model.arch} model, not a CycleGAN translator "
                              "(train one with --model cyclegan)")
    missing = [k for k in ("G", "F") if k not in ckpt.modules]
    if missing:
        raise CheckpointError(f"{name} has no {missing[0]} generator")
    device = torch.device(device)
    nets = [build_fitted(lambda: build_models(ckpt.config.model, ckpt.config.loss)[0], ckpt.modules[key],
                         f"{key} generator", name, device).eval() for key in ("G", "F")]
    return Translator(ckpt.config, nets[0], nets[1], device, ckpt.step)


def image_files(source: str | Path) -> list[Path]:
    """An image file as a list of one, or the image files directly inside a folder (sorted)."""
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
                       and not p.name.startswith("."))
        if not files:
            raise GanStudioError(f"the folder {path} has no images")
        return files
    if not path.exists():
        raise GanStudioError(f"{path} does not exist")
    return [path]


def read_images(files: list[Path], config: RunConfig) -> tuple[Tensor, list[Path], list[SkippedFile]]:
    """Images shaped as the run's training data was ([N, C, H, W] in [-1, 1]), the files read, and those
    skipped with a reason."""
    from ganstudio.core.data.torchvision_sets import CELEBA_CROP

    m, d = config.model, config.data
    crop = d.center_crop or (CELEBA_CROP if d.source == "celeba" else None)
    arrays, used, skipped = [], [], []
    for path in files:
        try:
            arrays.append(decode_image(path, m.channels, m.resolution, crop))
            used.append(path)
        except BadImage as exc:
            skipped.append(SkippedFile(str(path), str(exc)))
    if not arrays:
        return torch.zeros(0, m.channels, m.resolution, m.resolution), used, skipped
    x = torch.from_numpy(np.stack(arrays)).float().div_(127.5).sub_(1)
    return x, used, skipped


def to_pil(image: Tensor) -> Image.Image:
    """One [C, H, W] image in [-1, 1] as a PIL image."""
    from ganstudio.core.images import to_uint8

    array = to_uint8(image[None])[0]
    return Image.fromarray(array[:, :, 0], mode="L") if array.shape[2] == 1 else Image.fromarray(array, mode="RGB")


@dataclass
class TranslationResult:
    """What `translate` wrote and what it could not read."""

    written: list[Path] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def translate(checkpoint: str | Path | Translator, direction: str, source: str | Path, out: str | Path,
              device: torch.device | str = "cpu", batch: int = 16,
              progress: Callable[[int, int], None] | None = None) -> TranslationResult:
    """Translate an image file or a folder's images and write PNGs: to `out` itself when one file goes to a
    name ending in an image extension, else into the folder `out` as NAME.png."""
    from ganstudio.core.images import save_image

    translator = checkpoint if isinstance(checkpoint, Translator) else load_translator(checkpoint, device)
    translator.generator(direction)  # an unknown direction fails before any work
    files = image_files(source)
    out = Path(out).expanduser()
    single = len(files) == 1 and not Path(source).expanduser().is_dir() and out.suffix.lower() in IMAGE_EXTENSIONS
    result = TranslationResult()
    for start in range(0, len(files), batch):
        images, used, skipped = read_images(files[start:start + batch], translator.config)
        result.skipped += skipped
        translated = translator.translate(images, direction, batch)
        for path, image in zip(used, translated):
            target = out if single else out / f"{path.stem}.png"
            save_image(to_pil(image), target)
            result.written.append(target)
        if progress is not None:
            progress(min(start + batch, len(files)), len(files))
    if not result.written:
        reasons = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in result.skipped[:3])
        raise GanStudioError(f"no image of {source} could be read ({reasons})")
    return result
