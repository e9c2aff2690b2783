"""Training data: torchvision datasets, image folders and toy 2D distributions behind one indexable source.

A dataset that fits in `memory_limit_mb` lives as one uint8 tensor on the training device, so a training step
only indexes it. A larger one streams: images are decoded (files) or resized (torchvision arrays) per batch.
"""
from __future__ import annotations

import os
import re
import threading
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator
from urllib.error import URLError

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.transforms.v2 import functional as TF

from ganstudio.core.config import DATA_SOURCES, TOY_NAMES, DataConfig
from ganstudio.core.errors import DatasetError

Progress = Callable[[int, int], None]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
DECODE_WORKERS = 2  # the target machines have 2 cores; more threads only oversubscribe them
CELEBA_CROP = 140  # the face square inside CelebA's 178x218 aligned images
_CHUNK = 4096  # images converted at once when a whole torchvision set is resized


# ---------------------------------------------------------------------------------------------------------------
# Public records


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of the data set, and why in a short phrase."""

    path: str
    reason: str


@dataclass
class FolderScan:
    """The result of scanning an image folder: the good files, their labels and what was skipped."""

    root: Path
    files: list[Path]
    labels: list[int] | None
    class_names: tuple[str, ...]
    images: np.ndarray | None  # uint8 [N, C, H, W], or None when the set streams from disk
    skipped: list[SkippedFile] = field(default_factory=list)

    def report(self, first: int = 5) -> str:
        """One line naming the first skipped files and their reasons; "" when none was skipped."""
        if not self.skipped:
            return ""
        total = len(self.files) + len(self.skipped)
        return f"Skipped {len(self.skipped):,} of {total:,} files: {self.skipped_list(first)}"

    def skipped_list(self, first: int = 5) -> str:
        """The first skipped files with their reasons, e.g. "a.jpg (truncated), and 4 more"."""
        named = ", ".join(f"{self._display(s.path)} ({s.reason})" for s in self.skipped[:first])
        more = len(self.skipped) - first
        return named + (f", and {more:,} more" if more > 0 else "")

    def _display(self, path: str) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return path


@dataclass(frozen=True)
class ToySet:
    """Points drawn from a toy 2D distribution, with its mode centres where it has modes."""

    points: np.ndarray  # float32 [n, 2]
    modes: np.ndarray | None  # [M, 2] mode centres (ring8, grid25); None for moons and spiral
    mode_std: float | None


@dataclass(frozen=True)
class DatasetInfo:
    """What a run's data is, for the model, the GUI and the run's records."""

    source: str
    channels: int  # 0 for toy data
    resolution: int | None  # None for toy data
    num_classes: int
    class_names: tuple[str, ...]
    size: int
    is_toy: bool
    in_memory: bool
    skipped_report: str = ""
    modes: np.ndarray | None = None
    mode_std: float | None = None


# ---------------------------------------------------------------------------------------------------------------
# Sources


_TORCHVISION = {  # source: (torchvision class, name for people, where its files go under root)
    "mnist": ("MNIST", "MNIST", "MNIST/raw"),
    "fashion-mnist": ("FashionMNIST", "Fashion-MNIST", "FashionMNIST/raw"),
    "cifar10": ("CIFAR10", "CIFAR-10", "cifar-10-batches-py"),
    "celeba": ("CelebA", "CelebA", "celeba"),
}


def native_resolution(source: str) -> int | None:
    """The side in pixels a source is used at when the configuration gives none."""
    kind = _source_kind(source)
    return {"mnist": 28, "fashion-mnist": 28, "cifar10": 32, "toy": None}.get(kind, 64)


def native_channels(source: str) -> int:
    """The channel count a source is used at when the configuration gives none (0 for toy points)."""
    kind = _source_kind(source)
    return {"mnist": 1, "fashion-mnist": 1, "toy": 0}.get(kind, 3)


def _source_kind(source: str) -> str:
    kind = source.split(":", 1)[0] if ":" in source else source
    if kind not in (*DATA_SOURCES, "toy", "folder"):
        choices = ", ".join(DATA_SOURCES)
        raise DatasetError(f"unknown data source {source!r}; use one of {choices}, toy:NAME or folder:PATH")
    return kind


# ---------------------------------------------------------------------------------------------------------------
# Decoding one image file


class _BadImage(Exception):
    """An image file that cannot be used; the message is the short reason."""


def _min_side(resolution: int) -> int:
    return max(8, resolution // 2)


def _decode_image(path: Path, channels: int, resolution: int, center_crop: int | None) -> np.ndarray:
    """Decode a file fully and shape it to uint8 [channels, resolution, resolution]; raise _BadImage."""
    try:
        if path.stat().st_size == 0:
            raise _BadImage("empty file")
        with Image.open(path) as im:
            _check_pixels(im.size)
            im.load()
            image = ImageOps.exif_transpose(im)  # phone photos store their rotation in EXIF
        width, height = image.size
        if min(width, height) < _min_side(resolution):
            raise _BadImage(f"too small ({width}x{height}, needs at least {_min_side(resolution)} px)")
        image = _fit(_to_mode(image, channels), resolution, center_crop)
    except _BadImage:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise _BadImage(_bomb_reason(str(exc))) from None
    except UnidentifiedImageError:
        raise _BadImage("not an image") from None
    except FileNotFoundError:
        raise _BadImage("missing") from None
    except PermissionError:
        raise _BadImage("no permission to read it") from None
    except Exception as exc:  # Pillow raises many types on damaged files; any of them means "skip this file"
        raise _BadImage("truncated" if "truncated" in str(exc) else f"corrupt ({_short(exc)})") from None
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else np.ascontiguousarray(array.transpose(2, 0, 1))


def _check_pixels(size: tuple[int, int]) -> None:
    """Refuse images above Pillow's decompression-bomb limit even when its warning was not an error."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and size[0] * size[1] > limit:
        raise _BadImage(f"decompression bomb ({size[0] * size[1]:,} pixels)")


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
        raise _BadImage(f"unsupported colour mode {image.mode}") from None


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
    if center_crop:
        side = min(center_crop, *image.size)
        image = TF.center_crop(image, [side, side])
    image = TF.resize(image, [resolution], interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
    return TF.center_crop(image, [resolution, resolution])


def _short(exc: BaseException, limit: int = 120) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def _bombs_as_errors() -> Iterator[None]:
    """Make Pillow's decompression-bomb warning an error (warning filters are process-wide while active)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


# ---------------------------------------------------------------------------------------------------------------
# Scanning a folder


def scan_folder(
    root: str | Path,
    channels: int = 3,
    resolution: int = 64,
    center_crop: int | None = None,
    memory_limit_mb: int = 4096,
    progress: Progress | None = None,
    keep_images: bool = True,
) -> FolderScan:
    """Find, fully decode and check every image under root; keep the decoded set when it fits in memory.

    Class subfolders: when at least two first-level subfolders hold images, their names are the class labels
    and images directly in root are skipped ("not in a class subfolder"). With no subfolder, or only one, the
    folder is unlabelled and every image under it is used.
    """
    root = Path(root).expanduser().absolute()
    if not root.exists():
        raise DatasetError(f"the folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder of images")
    files, labels, class_names, ignored = _class_layout(root, _list_images(root))
    scan = _decode_all(root, files, labels, class_names, channels, resolution, center_crop,
                       memory_limit_mb, keep_images, progress, ignored)
    if not scan.files:
        if not scan.skipped:
            kinds = ", ".join(sorted(e[1:] for e in IMAGE_EXTENSIONS))
            raise DatasetError(f"the folder {root} has no images ({kinds})")
        raise DatasetError(f"the folder {root} has no usable image: all {len(scan.skipped):,} files were skipped "
                           f"({scan.skipped_list(3)})")
    return scan


def _list_images(root: Path) -> list[Path]:
    """Image files under root by extension, sorted; hidden files and folders are ignored."""
    found, seen = [], set()
    for folder, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop
            dirs.clear()
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(folder, n) for n in names
                  if not n.startswith(".") and os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS]
    return sorted(found)


def _class_layout(
    root: Path, files: list[Path]
) -> tuple[list[Path], list[int] | None, tuple[str, ...], list[SkippedFile]]:
    """Split files into class subfolders (two or more) or one unlabelled set; see scan_folder."""
    tops = {p.relative_to(root).parts[0] for p in files if len(p.relative_to(root).parts) > 1}
    if len(tops) < 2:
        return files, None, (), []
    class_names = tuple(sorted(tops))
    index = {name: i for i, name in enumerate(class_names)}
    kept, labels, ignored = [], [], []
    for path in files:
        parts = path.relative_to(root).parts
        if len(parts) == 1:
            ignored.append(SkippedFile(str(path), "not in a class subfolder"))
        else:
            kept.append(path)
            labels.append(index[parts[0]])
    return kept, labels, class_names, ignored


def _decode_all(root: Path, files: list[Path], labels: list[int] | None, class_names: tuple[str, ...],
                channels: int, resolution: int, center_crop: int | None, memory_limit_mb: float,
                keep_images: bool, progress: Progress | None, skipped: list[SkippedFile]) -> FolderScan:
    """Decode every file once in a small thread pool; keep the good ones (and their pixels if they fit)."""
    if channels not in (1, 3):
        raise DatasetError(f"images need 1 or 3 channels, not {channels}")
    n = len(files)
    in_memory = keep_images and n * channels * resolution * resolution <= memory_limit_mb * 2**20
    images = np.empty((n, channels, resolution, resolution), np.uint8) if in_memory else None
    good, good_labels, skipped = [], [], list(skipped)
    every = max(1, n // 200)  # about 200 progress calls however large the folder

    def decode(path: Path) -> np.ndarray | str:
        try:
            return _decode_image(path, channels, resolution, center_crop)
        except _BadImage as exc:
            return str(exc)

    pool = ThreadPoolExecutor(DECODE_WORKERS, thread_name_prefix="ganstudio-scan")
    try:
        with _bombs_as_errors():
            for k, result in enumerate(pool.map(decode, files)):
                if isinstance(result, str):
                    skipped.append(SkippedFile(str(files[k]), result))
                else:
                    if images is not None:
                        images[len(good)] = result
                    good.append(files[k])
                    if labels is not None:
                        good_labels.append(labels[k])
                if progress is not None and ((k + 1) % every == 0 or k + 1 == n):
                    progress(k + 1, n)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an interrupted scan does not decode the rest
    if labels is not None:
        good_labels, class_names = _drop_empty_classes(good_labels, class_names)
    return FolderScan(root, good, good_labels if labels is not None else None, class_names,
                      images[: len(good)] if images is not None else None, skipped)


def _drop_empty_classes(labels: list[int], class_names: tuple[str, ...]) -> tuple[list[int], tuple[str, ...]]:
    """Renumber the classes so that each one has at least one image."""
    used = sorted(set(labels))
    if len(used) == len(class_names):
        return labels, class_names
    renumber = {old: new for new, old in enumerate(used)}
    return [renumber[y] for y in labels], tuple(class_names[i] for i in used)


# ---------------------------------------------------------------------------------------------------------------
# Torchvision datasets


def _open_torchvision(source: str, root: Path, download: bool):
    """The torchvision train split; DatasetError with one sentence when it is missing and cannot be fetched."""
    import torchvision.datasets

    class_name, name, subfolder = _TORCHVISION[source]
    dataset_class = getattr(torchvision.datasets, class_name)
    options = {"split": "train", "target_type": "attr"} if source == "celeba" else {"train": True}
    where = root / subfolder
    try:
        return dataset_class(str(root), download=False, **options)
    except Exception as exc:  # torchvision signals a missing set with RuntimeError, a damaged one with others
        first = exc
    missing = "not found" in str(first).lower()
    if not download:
        if not missing:
            raise DatasetError(f"{name} in {root} could not be read ({_short(first)}); copy a good copy of "
                               f"the dataset into {where}, or turn on download to fetch it again.")
        raise DatasetError(f"{name} is not in {root} and downloading is turned off. "
                           f"Turn on download, or copy the dataset into {where}.")
    if source == "celeba" and not _has_gdown():
        raise DatasetError(f"{name} is not in {root}, and downloading it needs the gdown package, which is not "
                           f"installed. Install it with: pip install gdown (in the Python environment GAN Studio "
                           f"runs in), or copy the dataset into {where}.")
    try:
        return dataset_class(str(root), download=True, **options)
    except Exception as exc:  # no network, no gdown, a full disk, a changed mirror: all end the same way
        raise DatasetError(f"{name} is not in {root} and could not be downloaded ({_download_failure(exc)}). "
                           f"Connect to the internet once, or copy the dataset into {where}.") from None


def _has_gdown() -> bool:
    """torchvision downloads CelebA from Google Drive with gdown, an optional package."""
    import importlib.util

    try:
        return importlib.util.find_spec("gdown") is not None
    except (ImportError, ValueError):
        return False


def _download_failure(exc: BaseException) -> str:
    """A short cause for a failed download."""
    if isinstance(exc, ImportError) or "gdown" in str(exc):
        return "it needs the gdown package; install it with: pip install gdown"
    text = _short(exc)
    if isinstance(exc, URLError) or "urlopen error" in text or "Name or service" in text:
        return f"no network: {_short(exc.reason) if isinstance(exc, URLError) else text}"
    return text


def _torchvision_arrays(source: str, dataset) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """The whole train split as uint8 [N, C, H, W] at native size, int64 labels and class names."""
    if source == "cifar10":
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2)  # HWC numpy -> NCHW view
        return images, torch.as_tensor(dataset.targets, dtype=torch.int64), tuple(dataset.classes)
    names = tuple(str(d) for d in range(10)) if source == "mnist" else tuple(dataset.classes)
    return dataset.data.unsqueeze(1), dataset.targets.to(torch.int64), names


def _convert_batch(images: torch.Tensor, channels: int, resolution: int) -> torch.Tensor:
    """uint8 [B, C, h, w] -> uint8 [B, channels, resolution, resolution] (luminance or repeat, bicubic)."""
    if channels < images.shape[1]:
        images = TF.rgb_to_grayscale(images)
    if images.shape[-2:] != (resolution, resolution):
        shrinking = resolution < max(images.shape[-2:])
        images = torch.nn.functional.interpolate(images.float(), size=(resolution, resolution), mode="bicubic",
                                                 align_corners=False, antialias=shrinking)
        images = images.round_().clamp_(0, 255).to(torch.uint8)
    if channels > images.shape[1]:
        images = images.expand(-1, channels, -1, -1)
    return images.contiguous()


def _convert_all(images: torch.Tensor, channels: int, resolution: int, progress: Progress | None) -> torch.Tensor:
    """Convert a whole set in chunks, so that the float copy stays small."""
    n = len(images)
    if images.shape[1:] == (channels, resolution, resolution):
        return images.contiguous()
    out = torch.empty((n, channels, resolution, resolution), dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        out[start:start + _CHUNK] = _convert_batch(images[start:start + _CHUNK], channels, resolution)
        if progress is not None:
            progress(min(start + _CHUNK, n), n)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Streaming sources: read(indices) -> (uint8 images on the CPU, the indices actually used)


class _TensorStream:
    """A torchvision set kept at native size on the CPU, converted batch by batch."""

    def __init__(self, images: torch.Tensor, channels: int, resolution: int):
        self.images, self.channels, self.resolution = images, channels, resolution
        self.skipped: list[SkippedFile] = []

    def read(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _convert_batch(self.images[indices], self.channels, self.resolution), indices


class _FileStream:
    """Image files decoded on demand; a file that went bad since the scan is replaced by the next good one."""

    def __init__(self, root: Path, files: list[Path], channels: int, resolution: int, center_crop: int | None):
        self.root, self.files = root, files
        self.shape = (channels, resolution, center_crop)
        self.skipped: list[SkippedFile] = []
        self._bad: set[int] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(DECODE_WORKERS, thread_name_prefix="ganstudio-stream")
        weakref.finalize(self, self._pool.shutdown, wait=False)

    def read(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        used = indices.tolist()
        with _bombs_as_errors():
            images = list(self._pool.map(self._decode, used))
            for k, image in enumerate(images):
                while image is None:
                    used[k] = self._substitute(used[k])
                    images[k] = image = self._decode(used[k])
        return torch.from_numpy(np.stack(images)), torch.tensor(used, dtype=torch.int64)

    def _decode(self, index: int) -> np.ndarray | None:
        if index in self._bad:
            return None
        try:
            return _decode_image(self.files[index], *self.shape)
        except _BadImage as exc:
            with self._lock:
                if index not in self._bad:
                    self._bad.add(index)
                    self.skipped.append(SkippedFile(str(self.files[index]), str(exc)))
            return None

    def _substitute(self, index: int) -> int:
        """The next index (cyclically) not known to be bad."""
        if len(self._bad) >= len(self.files):
            raise DatasetError(f"every image in {self.root} has become unreadable since the scan")
        index = (index + 1) % len(self.files)
        while index in self._bad:
            index = (index + 1) % len(self.files)
        return index


# ---------------------------------------------------------------------------------------------------------------
# Toy 2D distributions


def toy_distribution(name: str, n: int, seed: int) -> ToySet:
    """n points from ring8, grid25, moons or spiral (the Unrolled GAN / VEEGAN set-ups), drawn by seed."""
    rng = np.random.default_rng(seed)
    if name == "ring8":
        angles = np.arange(8) * (2 * np.pi / 8)
        modes = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        return _mixture(rng, modes, 0.02, n)
    if name == "grid25":
        axis = np.arange(-4.0, 5.0, 2.0)
        modes = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
        return _mixture(rng, modes, 0.05, n)
    if name == "moons":
        return ToySet(_moons(rng, n), None, None)
    if name == "spiral":
        return ToySet(_spiral(rng, n), None, None)
    raise DatasetError(f"unknown toy distribution {name!r}; use one of {', '.join(TOY_NAMES)}")


def _mixture(rng: np.random.Generator, modes: np.ndarray, std: float, n: int) -> ToySet:
    """An equal-weight mixture of isotropic Gaussians."""
    which = rng.integers(len(modes), size=n)
    points = modes[which] + rng.normal(scale=std, size=(n, 2))
    return ToySet(points.astype(np.float32), modes.astype(np.float32), std)


def _moons(rng: np.random.Generator, n: int, noise: float = 0.05) -> np.ndarray:
    """Two interleaving half circles as in sklearn's make_moons, scaled x2 and centred on the origin."""
    t = rng.uniform(0.0, np.pi, size=n)
    inner = rng.random(n) < 0.5
    x = np.where(inner, 1.0 - np.cos(t), np.cos(t))
    y = np.where(inner, 0.5 - np.sin(t), np.sin(t))
    points = np.stack([x, y], axis=1) + rng.normal(scale=noise, size=(n, 2))
    return ((points - [0.5, 0.25]) * 2.0).astype(np.float32)


def _spiral(rng: np.random.Generator, n: int, noise: float = 0.03) -> np.ndarray:
    """A two-turn Archimedean spiral of radius 2, about evenly dense along its length."""
    turns = 2.0
    theta = turns * 2 * np.pi * np.sqrt(rng.random(n))  # sqrt: arc length grows with theta squared
    radius = 2.0 * theta / (turns * 2 * np.pi)
    points = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
    return (points + rng.normal(scale=noise, size=(n, 2))).astype(np.float32)


def mode_coverage(samples: np.ndarray, modes: np.ndarray, std: float, k: float = 3.0) -> tuple[int, float]:
    """(modes covered, share of high-quality samples) as in Unrolled GAN / VEEGAN.

    A sample is high quality when it lies within k*std of its nearest mode; a mode is covered when at least
    one high-quality sample has it as nearest mode. Non-finite samples count as low quality.
    """
    samples = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    modes = np.asarray(modes, dtype=np.float64)
    if len(samples) == 0:
        return 0, 0.0
    covered = np.zeros(len(modes), dtype=bool)
    close_count = 0
    for start in range(0, len(samples), 8192):
        chunk = samples[start:start + 8192]
        dist2 = ((chunk[:, None, :] - modes[None, :, :]) ** 2).sum(axis=-1)
        dist2 = np.where(np.isfinite(dist2), dist2, np.inf)
        nearest = dist2.argmin(axis=1)
        close = dist2[np.arange(len(chunk)), nearest] <= (k * std) ** 2
        covered[nearest[close]] = True
        close_count += int(close.sum())
    return int(covered.sum()), close_count / len(samples)


# ---------------------------------------------------------------------------------------------------------------
# The training set


class TrainingData:
    """The training set as one indexable source: a tensor on the device, or a stream from disk."""

    def __init__(self, info: DatasetInfo, device: torch.device | str, data: torch.Tensor | None = None,
                 labels: torch.Tensor | None = None, stream: _TensorStream | _FileStream | None = None):
        self.info = info
        self.device = torch.device(device)
        self._data = None if data is None else data.to(self.device)
        self._labels = None if labels is None else labels.to(self.device, torch.int64)
        self._stream = stream

    def __len__(self) -> int:
        return self.info.size

    @property
    def stream_skipped(self) -> list[SkippedFile]:
        """Files that went bad after the scan and were replaced while streaming (live list)."""
        return self._stream.skipped if self._stream is not None else []

    def epoch_order(self, epoch: int, seed: int) -> torch.Tensor:
        """A permutation of range(len(self)) that depends only on (seed, epoch); CPU int64."""
        generator = torch.Generator().manual_seed((seed * 1_000_003 + epoch) & 0xFFFF_FFFF_FFFF_FFFF)
        return torch.randperm(self.info.size, generator=generator)

    def get(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A batch on the device: images float32 in [-1, 1] [B, C, H, W] (toy: points [B, 2]) and labels or None."""
        if self._stream is not None:
            return self._get_streamed(indices)
        idx = indices.to(self.device)
        x = self._data[idx]
        if not self.info.is_toy:
            x = x.float().div_(127.5).sub_(1)
        return x, None if self._labels is None else self._labels[idx]

    def _get_streamed(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        images, used = self._stream.read(indices.cpu())
        x = images.to(self.device).float().div_(127.5).sub_(1)
        return x, None if self._labels is None else self._labels[used.to(self.device)]


def load_data(cfg: DataConfig, device: torch.device | str = "cpu", seed: int = 0,
              progress: Progress | None = None) -> TrainingData:
    """Load the data a configuration names; DatasetError with one sentence when it cannot be had."""
    device = torch.device(device)
    if cfg.is_toy:
        return _load_toy(cfg, device, seed)
    channels = cfg.channels or native_channels(cfg.source)
    resolution = cfg.resolution or native_resolution(cfg.source)
    if cfg.is_folder:
        scan = scan_folder(cfg.source[len("folder:"):], channels, resolution, cfg.center_crop,
                           cfg.memory_limit_mb, progress)
        return _from_scan(cfg, scan, channels, resolution, device)
    if cfg.source not in _TORCHVISION:
        raise DatasetError(f"unknown data source {cfg.source!r}")
    root = Path(cfg.root).expanduser().absolute()
    dataset = _open_torchvision(cfg.source, root, cfg.download)
    if cfg.source == "celeba":
        return _load_celeba(cfg, dataset, root, channels, resolution, device, progress)
    images, labels, class_names = _torchvision_arrays(cfg.source, dataset)
    info = DatasetInfo(cfg.source, channels, resolution, len(class_names), class_names, len(images),
                       is_toy=False, in_memory=_fits(len(images), channels, resolution, cfg.memory_limit_mb))
    if info.in_memory:
        return TrainingData(info, device, _convert_all(images, channels, resolution, progress), labels)
    return TrainingData(info, device, labels=labels, stream=_TensorStream(images, channels, resolution))


def _fits(n: int, channels: int, resolution: int, memory_limit_mb: float) -> bool:
    return n * channels * resolution * resolution <= memory_limit_mb * 2**20


def _load_toy(cfg: DataConfig, device: torch.device, seed: int) -> TrainingData:
    toy = toy_distribution(cfg.source[len("toy:"):], cfg.toy_samples, seed)
    info = DatasetInfo(cfg.source, 0, None, 0, (), len(toy.points), is_toy=True, in_memory=True,
                       modes=toy.modes, mode_std=toy.mode_std)
    return TrainingData(info, device, torch.from_numpy(toy.points))


def _load_celeba(cfg: DataConfig, dataset, root: Path, channels: int, resolution: int, device: torch.device,
                 progress: Progress | None) -> TrainingData:
    """CelebA's train split, decoded from its image folder like any folder (unlabelled)."""
    folder = root / "celeba" / "img_align_celeba"
    files = [folder / name for name in dataset.filename]
    scan = _decode_all(folder, files, None, (), channels, resolution, cfg.center_crop or CELEBA_CROP,
                       cfg.memory_limit_mb, True, progress, [])
    if not scan.files:
        raise DatasetError(f"none of CelebA's {len(files):,} training images in {folder} could be read "
                           f"({scan.skipped_list(3)})")
    return _from_scan(cfg, scan, channels, resolution, device, center_crop=cfg.center_crop or CELEBA_CROP)


def _from_scan(cfg: DataConfig, scan: FolderScan, channels: int, resolution: int, device: torch.device,
               center_crop: int | None = None) -> TrainingData:
    """A TrainingData over a scanned folder: its pixels in memory, or a stream over its files."""
    info = DatasetInfo(cfg.source, channels, resolution, len(scan.class_names), scan.class_names,
                       len(scan.files), is_toy=False, in_memory=scan.images is not None,
                       skipped_report=scan.report())
    labels = None if scan.labels is None else torch.tensor(scan.labels, dtype=torch.int64)
    if scan.images is not None:
        return TrainingData(info, device, torch.from_numpy(scan.images), labels)
    stream = _FileStream(scan.root, scan.files, channels, resolution, center_crop or cfg.center_crop)
    return TrainingData(info, device, labels=labels, stream=stream)
