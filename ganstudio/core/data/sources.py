"""A run's data as one indexable source: what it is (DatasetInfo), its native size, and load_data.

A dataset that fits in `memory_limit_mb` lives as one uint8 tensor on the training device, so a training step
only indexes it. A larger one streams: images are decoded (files) or resized (torchvision arrays) per batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganstudio.core.config import DATA_SOURCES, DataConfig
from ganstudio.core.data.folders import FolderScan, Progress, SkippedFile, decode_all, scan_folder
from ganstudio.core.data.streaming import FileStream, TensorStream
from ganstudio.core.data.torchvision_sets import (
    CELEBA_CROP, TORCHVISION, convert_all, open_torchvision, torchvision_arrays,
)
from ganstudio.core.data.toy import toy_distribution
from ganstudio.core.errors import DatasetError


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
    domain_sizes: tuple[int, ...] = ()  # images of domains A and B (unpaired translation), else empty


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


class TrainingData:
    """The training set as one indexable source: a tensor on the device, or a stream from disk."""

    def __init__(self, info: DatasetInfo, device: torch.device | str, data: torch.Tensor | None = None,
                 labels: torch.Tensor | None = None, stream: TensorStream | FileStream | None = None):
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
              progress: Progress | None = None, class_order: tuple[str, ...] = ()) -> TrainingData:
    """Load the data a configuration names; DatasetError with one sentence when it cannot be had. A trained
    run passes its class names as `class_order`, so that a folder's labels keep their numbers."""
    device = torch.device(device)
    if cfg.is_translation:  # two domains (CycleGAN): a DomainPair, which the loop reads like one set
        from ganstudio.core.data.domains import load_domains

        return load_domains(cfg, device, seed, progress)
    if cfg.is_toy:
        return _load_toy(cfg, device, seed)
    channels = cfg.channels or native_channels(cfg.source)
    resolution = cfg.resolution or native_resolution(cfg.source)
    if cfg.is_folder:
        scan = scan_folder(cfg.source[len("folder:"):], channels, resolution, cfg.center_crop,
                           cfg.memory_limit_mb, progress, class_order=class_order)
        return from_scan(cfg, scan, channels, resolution, device)
    if cfg.source not in TORCHVISION:
        raise DatasetError(f"unknown data source {cfg.source!r}")
    root = Path(cfg.root).expanduser().absolute()
    dataset = open_torchvision(cfg.source, root, cfg.download)
    if cfg.source == "celeba":
        return _load_celeba(cfg, dataset, root, channels, resolution, device, progress)
    images, labels, class_names = torchvision_arrays(cfg.source, dataset)
    info = DatasetInfo(cfg.source, channels, resolution, len(class_names), class_names, len(images),
                       is_toy=False, in_memory=_fits(len(images), channels, resolution, cfg.memory_limit_mb))
    if info.in_memory:
        return TrainingData(info, device, convert_all(images, channels, resolution, progress), labels)
    return TrainingData(info, device, labels=labels, stream=TensorStream(images, channels, resolution))


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
    scan = decode_all(folder, files, None, (), channels, resolution, cfg.center_crop or CELEBA_CROP,
                       cfg.memory_limit_mb, True, progress, [])
    if not scan.files:
        raise DatasetError(f"none of CelebA's {len(files):,} training images in {folder} could be read "
                           f"({scan.skipped_list(3)})")
    return from_scan(cfg, scan, channels, resolution, device, center_crop=cfg.center_crop or CELEBA_CROP)


def from_scan(cfg: DataConfig, scan: FolderScan, channels: int, resolution: int, device: torch.device,
               center_crop: int | None = None) -> TrainingData:
    """A TrainingData over a scanned folder: its pixels in memory, or a stream over its files."""
    info = DatasetInfo(cfg.source, channels, resolution, len(scan.class_names), scan.class_names,
                       len(scan.files), is_toy=False, in_memory=scan.images is not None,
                       skipped_report=scan.report())
    labels = None if scan.labels is None else torch.tensor(scan.labels, dtype=torch.int64)
    if scan.images is not None:
        return TrainingData(info, device, torch.from_numpy(scan.images), labels)
    stream = FileStream(scan.root, scan.files, channels, resolution, center_crop or cfg.center_crop)
    return TrainingData(info, device, labels=labels, stream=stream)
