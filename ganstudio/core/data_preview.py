"""A look at a data source before training: is it there, how many images, which classes, a few examples,
which files would be skipped, and which resolutions it can give. Used by the new-run wizard."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganstudio.core.config import DataConfig
from ganstudio.core.data.decode import BadImage, decode_image, min_side
from ganstudio.core.data.folders import Progress, SkippedFile, scan_folder, shorter_side, typical_side
from ganstudio.core.data.sources import native_channels, native_resolution
from ganstudio.core.data.torchvision_sets import CELEBA_CROP, TORCHVISION, open_torchvision, torchvision_arrays
from ganstudio.core.data.toy import toy_distribution
from ganstudio.core.errors import DatasetError

EXAMPLE_SIDE = 64  # examples are shown as the model would see them at this size
TOY_TITLES = {"ring8": "a ring of 8 Gaussians", "grid25": "a 5 x 5 grid of Gaussians",
              "moons": "two interleaving moons", "spiral": "a two-turn spiral"}
DOWNLOAD_SIZES = {"mnist": "12 MB", "fashion-mnist": "30 MB", "cifar10": "170 MB", "celeba": "1.4 GB"}
TRAIN_SIZES = {"mnist": 60_000, "fashion-mnist": 60_000, "cifar10": 50_000, "celeba": 162_770}
CLASS_NAMES = {  # known before a download, so that a conditional model can be checked
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    "celeba": (),
}


@dataclass
class DataPreview:
    """What the wizard shows about a data source, and what it needs to refuse impossible choices."""

    source: str
    title: str  # "MNIST", "the folder ~/cats", "a ring of 8 Gaussians"
    count: int  # images or points (the known size of a dataset still to be downloaded)
    class_names: tuple[str, ...] = ()
    channels: int = 0  # the source's own channels (0 for toy points)
    native_resolution: int | None = None  # torchvision sets: their image side
    sides: np.ndarray | None = None  # folders: the shorter side of every usable image
    examples: list[np.ndarray] = field(default_factory=list)  # uint8 [H, W, C]
    points: np.ndarray | None = None  # toy data: a sample of the points
    skipped: list[SkippedFile] = field(default_factory=list)
    skipped_report: str = ""
    note: str = ""  # one sentence: where the data was found, or that it will be downloaded
    downloaded: bool = True  # False: a torchvision set that training will download first

    @property
    def is_toy(self) -> bool:
        return self.points is not None

    @property
    def labelled(self) -> bool:
        return len(self.class_names) >= 2

    def typical_side(self) -> int | None:
        """The shorter side that nine images in ten reach (folders), which caps the default resolution; None
        when the source has no such limit (a dataset, toy points)."""
        return typical_side(self.sides) if self.sides is not None else None

    def too_small(self, resolution: int) -> int:
        """How many images would be skipped as too small at this resolution (the loader's own rule)."""
        if self.sides is None:
            return 0
        return int((self.sides < min_side(resolution)).sum())

    def resolution_problem(self, resolution: int) -> str | None:
        """A sentence when the data cannot give this resolution, else None."""
        if self.is_toy:
            return None
        if self.native_resolution is not None and min_side(resolution) > self.native_resolution:
            return (f"{self.title} images are {self.native_resolution} px, so {resolution} px would only blur "
                    f"them; choose at most {2 * self.native_resolution} px")
        small = self.too_small(resolution)
        if self.sides is not None and small == len(self.sides):
            return (f"every image in {self.title} is smaller than {min_side(resolution)} px, half of "
                    f"{resolution} px; choose at most {2 * int(self.sides.max())} px")
        return None

    def resolution_warning(self, resolution: int) -> str:
        """A sentence when some (not all) images would be skipped at this resolution, else ""."""
        small = self.too_small(resolution)
        if self.sides is None or small == 0 or small == len(self.sides):
            return ""
        return f"{small:,} of {len(self.sides):,} images are smaller than {min_side(resolution)} px and will be skipped."


def preview_data(cfg: DataConfig, progress: Progress | None = None, examples: int = 8) -> DataPreview:
    """Inspect a data source; DatasetError with one sentence when it cannot be used."""
    if cfg.is_toy:
        name = cfg.source[len("toy:"):]
        points = toy_distribution(name, min(cfg.toy_samples, 2000), 0).points
        title = TOY_TITLES.get(name, name)
        return DataPreview(cfg.source, title, cfg.toy_samples, points=points,
                           note=f"{cfg.toy_samples:,} points are drawn from {title} when training starts.")
    if cfg.is_folder:
        return _preview_folder(cfg, progress, examples)
    return _preview_torchvision(cfg, examples)


def _preview_folder(cfg: DataConfig, progress: Progress | None, examples: int) -> DataPreview:
    channels = cfg.channels or 3
    root = Path(cfg.source[len("folder:"):]).expanduser()
    scan = scan_folder(root, channels, 16, cfg.center_crop, progress=progress, keep_images=False)
    sides = np.array([shorter_side(p) for p in scan.files], dtype=np.int64)
    picks = _spread(scan.files, scan.labels, examples)
    shown = [_example(p, channels, cfg.center_crop) for p in picks]
    classes = f" in {len(scan.class_names)} classes ({_names(scan.class_names)})" if scan.class_names else ""
    note = f"{len(scan.files):,} images{classes}." if scan.class_names else \
        f"{len(scan.files):,} images, no classes (put each class in its own subfolder for a conditional model)."
    return DataPreview(cfg.source, f"the folder {scan.root.name}", len(scan.files), scan.class_names, channels,
                       sides=sides, examples=[e for e in shown if e is not None], skipped=scan.skipped,
                       skipped_report=scan.report(), note=note)


def _preview_torchvision(cfg: DataConfig, examples: int) -> DataPreview:
    _, title, subfolder = TORCHVISION[cfg.source]
    root = Path(cfg.root).expanduser().absolute()
    channels = native_channels(cfg.source)
    native = 140 if cfg.source == "celeba" else native_resolution(cfg.source)
    try:
        dataset = open_torchvision(cfg.source, root, download=False)
    except DatasetError:
        if not cfg.download:
            raise
        return DataPreview(cfg.source, title, TRAIN_SIZES[cfg.source], CLASS_NAMES[cfg.source], channels, native,
                           note=f"{title} is not in {root} yet; it will be downloaded there (about "
                                f"{DOWNLOAD_SIZES[cfg.source]}) when training starts.", downloaded=False)
    if cfg.source == "celeba":
        folder = root / "celeba" / "img_align_celeba"
        files = [folder / name for name in dataset.filename]
        shown = [_example(p, channels, cfg.center_crop or CELEBA_CROP) for p in _spread(files, None, examples)]
        return DataPreview(cfg.source, title, len(files), (), channels, native, examples=[e for e in shown if e is not None],
                           note=f"{len(files):,} faces found in {folder}.")
    images, labels, names = torchvision_arrays(cfg.source, dataset)
    first = [np.flatnonzero(labels.numpy() == k)[:examples] for k in range(len(names))]
    order = [int(ids[r]) for r in range(examples) for ids in first if r < len(ids)][:examples]  # class by class
    shown = [np.ascontiguousarray(images[i].numpy().transpose(1, 2, 0)) for i in order]
    return DataPreview(cfg.source, title, len(images), names, channels, native, examples=shown,
                       note=f"{len(images):,} images in {len(names)} classes, found in {root / subfolder}.")


def preview_celeba_domains(cfg: DataConfig, examples: int = 8) -> DataPreview:
    """CelebA split by attributes (`cfg.domains`, not downloaded for this): half the examples from domain A, half
    from B, and the larger domain's size as the count (an epoch is a pass over it); DatasetError with one sentence
    when the split cannot be had."""
    from ganstudio.core.data.domains import celeba_split

    folder, files_a, files_b = celeba_split(cfg)
    wanted = (cfg.domains or "").replace("_", " ").split(":")
    with_a, with_b = (f"without {wanted[0]}", f"with {wanted[0]}") if len(wanted) == 1 else \
        (f"with {wanted[0]} and not {wanted[1]}", f"with {wanted[1]} and not {wanted[0]}")
    for name, files, what in (("A", files_a, with_a), ("B", files_b, with_b)):
        if not files:
            raise DatasetError(f"domain {name} of CelebA split by {cfg.domains} has no images (no faces {what})")
    channels, half = cfg.channels or 3, examples // 2
    rows = []
    for files in (files_a, files_b):
        shown = [_example(p, channels, cfg.center_crop or CELEBA_CROP) for p in _spread(files, None, half)]
        rows.append([e for e in shown if e is not None])
    blank = [np.zeros_like(rows[0][0])] if rows[0] else []
    shown = (rows[0] + blank * half)[:half] + rows[1][:half]
    return DataPreview("celeba", "CelebA", max(len(files_a), len(files_b)), (), channels, 140, examples=shown,
                       note=f"CelebA in {folder}. Domain A (top row): the {len(files_a):,} faces {with_a}. "
                            f"Domain B (bottom row): the {len(files_b):,} faces {with_b}.")


def _spread(files: list[Path], labels: list[int] | None, k: int) -> list[Path]:
    """Up to k files: one per class first, then evenly spaced through the list."""
    if not files:
        return []
    picked: list[int] = []
    if labels:
        seen: set[int] = set()
        for i, y in enumerate(labels):
            if y not in seen and len(picked) < k:
                seen.add(y)
                picked.append(i)
    for i in np.linspace(0, len(files) - 1, num=min(k, len(files))).astype(int).tolist():
        if len(picked) >= k:
            break
        if i not in picked:
            picked.append(i)
    return [files[i] for i in picked]


def _example(path: Path, channels: int, center_crop: int | None) -> np.ndarray | None:
    for side in (EXAMPLE_SIDE, 16):  # small images are shown at 16 px rather than not at all
        try:
            image = decode_image(path, channels, side, center_crop)
        except BadImage:
            continue
        return np.ascontiguousarray(image.transpose(1, 2, 0))
    return None


def _names(names: tuple[str, ...], first: int = 5) -> str:
    more = len(names) - first
    return ", ".join(names[:first]) + (f" and {more} more" if more > 0 else "")
