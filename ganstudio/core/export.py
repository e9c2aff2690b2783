"""Exporting what the explorer shows: the image as a PNG at a scale, image grids (seeds, the style-mixing grid),
and animated GIF or MP4 files of an interpolation or a slider sweep, with a progress callback and cancel.

Qt-free: the GUI's export dialog and the command line both call it. Every file is written atomically."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from ganstudio.core.io import atomic_write
from ganstudio.core.render import LatentEdit, Renderer, RenderRequest
from ganstudio.core.errors import Cancelled, GanStudioError

ProgressFn = Callable[[int, int], None]  # (done, total)
CancelFn = Callable[[], bool]  # True: stop as soon as possible
ANIMATION_FORMATS = (".gif", ".mp4")


class ExportCancelled(Cancelled):
    """The user cancelled an export; nothing was written."""


def to_pil(image: np.ndarray, scale: int = 1) -> Image.Image:
    """A uint8 [H, W, C] image as a PIL image, enlarged `scale` times with crisp (nearest-neighbour) pixels."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    pil = Image.fromarray(np.ascontiguousarray(image))
    scale = int(scale)
    if scale < 1:
        raise GanStudioError(f"the scale must be 1 or more, not {scale}")
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    return pil


def save_png(image: np.ndarray | Image.Image, path: str | Path, scale: int = 1) -> Path:
    """Write one image (or a prepared grid) as a PNG."""
    pil = image if isinstance(image, Image.Image) else to_pil(image, scale)
    path = _with_suffix(path, ".png")
    atomic_write(path, lambda tmp: pil.save(tmp, format="PNG"))
    return path


def grid_image(images: Sequence[np.ndarray], columns: int | None = None, padding: int = 2, scale: int = 1,
               background: int = 255) -> Image.Image:
    """Images of one size in rows of `columns`, separated by `padding` pixels (before scaling)."""
    if not len(images):
        raise GanStudioError("there are no images to put in a grid")
    columns = columns or max(1, math.ceil(math.sqrt(len(images))))
    rows = math.ceil(len(images) / columns)
    cells = [[images[r * columns + c] if r * columns + c < len(images) else None for c in range(columns)]
             for r in range(rows)]
    return _compose(cells, padding, scale, background)


def mixing_grid_image(a_images: Sequence[np.ndarray], b_images: Sequence[np.ndarray],
                      mixes: Sequence[Sequence[np.ndarray]], padding: int = 2, scale: int = 1,
                      background: int = 255) -> Image.Image:
    """The StyleGAN paper's figure: B sources along the top, A sources down the left, each mix where they meet."""
    if len(mixes) != len(a_images) or any(len(row) != len(b_images) for row in mixes):
        raise GanStudioError("the mixing grid needs one mix for every A row and B column")
    cells = [[None, *b_images]] + [[a, *row] for a, row in zip(a_images, mixes)]
    return _compose(cells, padding, scale, background)


def _compose(cells: list[list[np.ndarray | None]], padding: int, scale: int, background: int) -> Image.Image:
    first = next(np.asarray(c) for row in cells for c in row if c is not None)
    h, w = first.shape[:2]
    channels = first.shape[2] if first.ndim == 3 else 1
    rows, columns = len(cells), max(len(r) for r in cells)
    canvas = np.full((padding + rows * (h + padding), padding + columns * (w + padding), channels), background,
                     np.uint8)
    for r, row in enumerate(cells):
        for c, image in enumerate(row):
            if image is None:
                continue
            image = np.asarray(image).reshape(h, w, channels)
            y, x = padding + r * (h + padding), padding + c * (w + padding)
            canvas[y:y + h, x:x + w] = image
    return to_pil(canvas, scale)


def interpolation_requests(base: RenderRequest, frames: int, seed_b: int | None = None,
                           class_b: int | None = None) -> list[RenderRequest]:
    """Frames from `base` to another seed and/or another class (t from 0 to 1), keeping its edits and truncation."""
    if frames < 2:
        raise GanStudioError("an interpolation needs at least 2 frames")
    if seed_b is None and class_b is None:
        raise GanStudioError("choose a second seed or a second class to interpolate towards")
    ts = np.linspace(0.0, 1.0, frames)
    return [replace(base, seed_b=seed_b, seed_t=float(t) if seed_b is not None else 0.0,
                    class_b=class_b, class_t=float(t) if class_b is not None else 0.0) for t in ts]


def sweep_requests(base: RenderRequest, index: int, low: float, high: float, frames: int,
                   layers: tuple[int, int] | None = None, bounce: bool = True) -> list[RenderRequest]:
    """Frames that move slider `index` from `low` to `high` standard deviations (and back, for a seamless loop),
    the other sliders staying where they are."""
    if frames < 2:
        raise GanStudioError("a slider sweep needs at least 2 frames")
    amounts = list(np.linspace(low, high, frames))
    if bounce:
        amounts += amounts[-2:0:-1]
    others = tuple(e for e in base.edits if e.index != index)
    return [replace(base, edits=others + (LatentEdit(index, float(a), layers),)) for a in amounts]


def seed_grid_requests(base: RenderRequest, seeds: Sequence[int]) -> list[RenderRequest]:
    """The current settings (class, truncation, edits) applied to each seed."""
    return [replace(base, seed=int(s), z=None) for s in seeds]


def render_frames(renderer: Renderer, requests: Sequence[RenderRequest], progress: ProgressFn | None = None,
                  cancel: CancelFn | None = None, chunk: int = 8, total: int | None = None) -> list[np.ndarray]:
    """Render every request (a few at a time, so that cancel is prompt); the first error stops the export."""
    frames: list[np.ndarray] = []
    total = total or len(requests)
    for first in range(0, len(requests), chunk):
        if cancel is not None and cancel():
            raise ExportCancelled("the export was cancelled; nothing was written")
        batch = renderer.render_batch(requests[first:first + chunk])
        if batch.error:
            raise GanStudioError(f"could not render frame {first + 1}: {batch.error}")
        frames.extend(r.image for r in batch.results)
        if progress is not None:
            progress(len(frames), total)
    return frames


def mp4_support() -> str | None:
    """None when MP4 files can be written, otherwise the reason in one sentence."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError:
        return "MP4 export needs the imageio-ffmpeg package (pip install imageio-ffmpeg); GIF works without it"
    except RuntimeError:
        return "MP4 export needs ffmpeg, which imageio-ffmpeg could not find on this system; GIF works without it"
    return None


def write_animation(frames: Sequence[np.ndarray], path: str | Path, fps: float = 24.0, scale: int = 1,
                    progress: ProgressFn | None = None, cancel: CancelFn | None = None, done: int = 0,
                    total: int | None = None) -> Path:
    """Write frames as a looping GIF or an H.264 MP4, chosen by the file's suffix."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in ANIMATION_FORMATS:
        raise GanStudioError(f"animations are saved as .gif or .mp4, not {suffix or 'a file without a suffix'}")
    if not len(frames):
        raise GanStudioError("there are no frames to write")
    if not 0 < fps <= 120:
        raise GanStudioError(f"frames per second must be between 1 and 120, not {fps}")
    total = total or len(frames)

    def step(i: int) -> None:
        if cancel is not None and cancel():
            raise ExportCancelled("the export was cancelled; nothing was written")
        if progress is not None:
            progress(done + i, total)

    if suffix == ".gif":
        def write(tmp: Path) -> None:
            images = []
            for i, frame in enumerate(frames):
                images.append(to_pil(frame, scale))
                step(i + 1)
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                           duration=max(20, round(1000 / fps)), loop=0, optimize=False, disposal=2)
    else:
        reason = mp4_support()
        if reason:
            raise GanStudioError(reason)

        def write(tmp: Path) -> None:
            import imageio_ffmpeg

            first = _even(np.asarray(to_pil(frames[0], scale).convert("RGB")))
            writer = imageio_ffmpeg.write_frames(str(tmp), (first.shape[1], first.shape[0]), fps=fps,
                                                 codec="libx264", pix_fmt_out="yuv420p", macro_block_size=2,
                                                 quality=8, output_params=["-f", "mp4"],
                                                 ffmpeg_log_level="error")
            writer.send(None)  # start ffmpeg
            try:
                for i, frame in enumerate(frames):
                    writer.send(_even(np.asarray(to_pil(frame, scale).convert("RGB"))))
                    step(i + 1)
            finally:
                writer.close()

    atomic_write(path, write)
    return path


def _even(rgb: np.ndarray) -> np.ndarray:
    """Pad to even width and height (H.264 with 4:2:0 colour needs them) by repeating the last row/column."""
    h, w = rgb.shape[:2]
    return np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if (h % 2 or w % 2) else rgb


def export_animation(renderer: Renderer, requests: Sequence[RenderRequest], path: str | Path, fps: float = 24.0,
                     scale: int = 1, progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> Path:
    """Render the frames and write them as a GIF or MP4; progress counts rendering and encoding."""
    path = Path(path).expanduser()
    if path.suffix.lower() == ".mp4" and (reason := mp4_support()):
        raise GanStudioError(reason)  # before spending time on rendering
    total = 2 * len(requests)
    frames = render_frames(renderer, requests, progress, cancel, total=total)
    return write_animation(frames, path, fps, scale, progress, cancel, done=len(frames), total=total)


def _with_suffix(path: str | Path, suffix: str) -> Path:
    """The path with `suffix` added when it has none; another suffix is refused."""
    path = Path(path).expanduser()
    if not path.suffix:
        return path.with_name(path.name + suffix)
    if path.suffix.lower() != suffix:
        raise GanStudioError(f"images are saved as {suffix} files, not {path.suffix}")
    return path
