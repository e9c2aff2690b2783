"""Scanning an image folder: find every image, decode and check it once, keep the set in memory when it fits."""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from ganstudio.core.data.decode import DECODE_WORKERS, BadImage, bombs_as_errors, decode_image
from ganstudio.core.errors import DatasetError

Progress = Callable[[int, int], None]

# torchvision's IMG_EXTENSIONS plus GIF: read even if this Pillow build lacks a plugin (then the file is skipped
# with its reason instead of counted as a foreign type).
_BASE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif")
# Pillow registers these, but only as stubs or through external programs (Ghostscript, a video decoder).
_NOT_DECODED = frozenset({".bufr", ".grib", ".h5", ".hdf", ".emf", ".wmf", ".eps", ".ps", ".mpeg", ".mpg"})


def _pillow_extensions() -> frozenset[str]:
    """The extensions of every format this Pillow opens, and torchvision's list plus GIF."""
    Image.init()
    opened = {ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    return frozenset((opened - _NOT_DECODED) | set(_BASE_EXTENSIONS))


IMAGE_EXTENSIONS = _pillow_extensions()
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """A sort key that orders numbers within names by value: s1, s2, s10 (not s1, s10, s2)."""
    parts = _DIGITS.split(name)
    return tuple(int(part) if i % 2 else part.casefold() for i, part in enumerate(parts)), name


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
    unread: dict[str, int] = field(default_factory=dict)  # files of a type not read, counted by extension

    def report(self, first: int = 5) -> str:
        """The skipped files (the first named, with their reasons) and the files of a type not read; "" when
        every file was used."""
        parts = []
        if self.skipped:
            total = len(self.files) + len(self.skipped)
            parts.append(f"Skipped {len(self.skipped):,} of {total:,} files: {self.skipped_list(first)}")
        if self.unread:
            parts.append(unread_text(self.unread))
        return ". ".join(parts)

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


def unread_text(unread: dict[str, int]) -> str:
    """E.g. "401 files of a type GAN Studio does not read: .xyz (400), .txt (1)"."""
    total = sum(unread.values())
    ranked = sorted(unread.items(), key=lambda kv: (-kv[1], kv[0]))
    kinds = ", ".join(ext if len(unread) == 1 else f"{ext} ({n:,})" for ext, n in ranked)
    return f"{total:,} file{'s' if total != 1 else ''} of a type GAN Studio does not read: {kinds}"


def scan_folder(
    root: str | Path,
    channels: int = 3,
    resolution: int = 64,
    center_crop: int | None = None,
    memory_limit_mb: int = 4096,
    progress: Progress | None = None,
    keep_images: bool = True,
    class_order: tuple[str, ...] = (),
) -> FolderScan:
    """Find, fully decode and check every image under root; keep the decoded set when it fits in memory.

    Class subfolders: when at least two first-level subfolders hold images, their names are the class labels
    and images directly in root are skipped ("not in a class subfolder"). With no subfolder, or only one, the
    folder is unlabelled and every image under it is used. Classes are numbered in natural order (s1, s2, s10),
    except that `class_order` (a trained run's class names) keeps its labels: those names come first, as given.
    """
    root = Path(root).expanduser().absolute()
    if not root.exists():
        raise DatasetError(f"the folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder of images")
    images, unread = _list_images(root)
    files, labels, class_names, ignored = _class_layout(root, images, class_order)
    scan = decode_all(root, files, labels, class_names, channels, resolution, center_crop,
                       memory_limit_mb, keep_images, progress, ignored)
    scan.unread = unread
    if not scan.files:
        foreign = f"; {unread_text(unread)}" if unread else ""
        if not scan.skipped:
            kinds = ", ".join(sorted(_BASE_EXTENSIONS))
            raise DatasetError(f"the folder {root} has no images ({kinds} and the other types Pillow reads)"
                               f"{foreign}")
        raise DatasetError(f"the folder {root} has no usable image: all {len(scan.skipped):,} files were skipped "
                           f"({scan.skipped_list(3)}){foreign}")
    return scan


def shorter_side(path: Path) -> int:
    """The shorter side of an image from its header (0 when it cannot be read)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return min(im.size)
    except Exception:  # any unreadable file: the scan reports it, here it only must not count
        return 0


def typical_side(sides: np.ndarray | list[int]) -> int | None:
    """The shorter side that nine readable images in ten reach: what caps a folder's default resolution."""
    readable = np.asarray(sides)[np.asarray(sides) > 0]
    return int(np.percentile(readable, 10, method="lower")) if len(readable) else None


def folder_side(root: str | Path) -> int | None:
    """typical_side of the images under root, from their headers only (fast); None when there are none."""
    root = Path(root).expanduser()
    if not root.is_dir():
        return None
    return typical_side([shorter_side(p) for p in _list_images(root)[0]])


def _list_images(root: Path) -> tuple[list[Path], dict[str, int]]:
    """Image files under root by extension, sorted, and the other files counted by extension; hidden files
    and folders are ignored."""
    found, seen, unread = [], set(), {}
    for folder, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop
            dirs.clear()
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for n in names:
            if n.startswith("."):
                continue
            ext = os.path.splitext(n)[1].lower()
            if ext in IMAGE_EXTENSIONS:
                found.append(Path(folder, n))
            else:
                key = ext or "(no extension)"
                unread[key] = unread.get(key, 0) + 1
    return sorted(found), unread


def _class_layout(
    root: Path, files: list[Path], class_order: tuple[str, ...] = ()
) -> tuple[list[Path], list[int] | None, tuple[str, ...], list[SkippedFile]]:
    """Split files into class subfolders (two or more) or one unlabelled set; see scan_folder."""
    tops = {p.relative_to(root).parts[0] for p in files if len(p.relative_to(root).parts) > 1}
    if len(tops) < 2:
        return files, None, (), []
    known = tuple(name for name in class_order if name in tops)
    class_names = known + tuple(sorted(tops - set(known), key=natural_key))
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


def decode_all(root: Path, files: list[Path], labels: list[int] | None, class_names: tuple[str, ...],
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
            return decode_image(path, channels, resolution, center_crop)
        except BadImage as exc:
            return str(exc)

    pool = ThreadPoolExecutor(DECODE_WORKERS, thread_name_prefix="ganstudio-scan")
    try:
        with bombs_as_errors():
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
