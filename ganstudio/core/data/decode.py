"""Decoding one image file, with the safety checks that decide whether it is used (size, bombs, damage, modes)."""
from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DECODE_WORKERS = 2  # the target machines have 2 cores; more threads only oversubscribe them


class BadImage(Exception):
    """An image file that cannot be used; the message is the short reason."""


def min_side(resolution: int) -> int:
    """The shortest side in pixels an image may have to be used at `resolution`."""
    return max(8, resolution // 2)


def decode_image(path: Path, channels: int, resolution: int, center_crop: int | None) -> np.ndarray:
    """Decode a file fully and shape it to uint8 [channels, resolution, resolution]; raise BadImage."""
    try:
        if path.stat().st_size == 0:
            raise BadImage("empty file")
        with Image.open(path) as im:
            _check_pixels(im.size)
            im.load()
            image = ImageOps.exif_transpose(im)  # phone photos store their rotation in EXIF
        width, height = image.size
        if min(width, height) < min_side(resolution):
            raise BadImage(f"too small ({width}x{height}, needs at least {min_side(resolution)} px)")
        image = _fit(_to_mode(image, channels), resolution, center_crop)
    except BadImage:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise BadImage(_bomb_reason(str(exc))) from None
    except UnidentifiedImageError:
        raise BadImage("not an image") from None
    except FileNotFoundError:
        raise BadImage("missing") from None
    except PermissionError:
        raise BadImage("no permission to read it") from None
    except Exception as exc:  # Pillow raises many types on damaged files; any of them means "skip this file"
        raise BadImage("truncated" if "truncated" in str(exc) else f"corrupt ({short_reason(exc)})") from None
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else np.ascontiguousarray(array.transpose(2, 0, 1))


def _check_pixels(size: tuple[int, int]) -> None:
    """Refuse images above Pillow's decompression-bomb limit even when its warning was not an error."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and size[0] * size[1] > limit:
        raise BadImage(f"decompression bomb ({size[0] * size[1]:,} pixels)")


def _bomb_reason(message: str) -> str:
    found = re.search(r"\((\d+) pixels\)", message)
    return f"decompression bomb ({int(found.group(1)):,} pixels)" if found else "decompression bomb"


def _to_mode(image: Image.Image, channels: int) -> Image.Image:
    """Convert any Pillow mode to "L" or "RGB"; transparency is composited on white, 16-bit scaled to 8."""
    target = "L" if channels == 1 else "RGB"
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        image = _to_8bit(image)
    if image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    if image.mode == target:
        return image
    try:
        return image.convert(target)
    except ValueError:
        raise BadImage(f"unsupported colour mode {image.mode}") from None


def _to_8bit(image: Image.Image) -> Image.Image:
    """Scale a 16-bit or float grayscale image to 8 bits (Pillow's own convert clips instead)."""
    values = np.asarray(image).astype(np.float32)
    if image.mode == "F":
        values = values * 255.0 if values.size and values.max() <= 1.0 else values
    else:
        values = values / 257.0  # 65535 -> 255
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")


def _fit(image: Image.Image, resolution: int, center_crop: int | None) -> Image.Image:
    """Optional centre square, then the shorter side to `resolution`, then the central square."""
    from torchvision.transforms.v2 import functional as TF  # seconds to import: a toy run never needs it

    if center_crop:
        side = min(center_crop, *image.size)
        image = TF.center_crop(image, [side, side])
    image = TF.resize(image, [resolution], interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
    return TF.center_crop(image, [resolution, resolution])


def short_reason(exc: BaseException, limit: int = 120) -> str:
    """An exception's text on one line, cut to `limit` characters, to name a cause inside a sentence."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def bombs_as_errors() -> Iterator[None]:
    """Make Pillow's decompression-bomb warning an error (warning filters are process-wide while active)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield

