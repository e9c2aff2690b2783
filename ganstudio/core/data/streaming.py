"""Streaming sources for sets larger than memory: read(indices) -> (uint8 images on the CPU, the indices used)."""
from __future__ import annotations

import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ganstudio.core.data.decode import DECODE_WORKERS, BadImage, bombs_as_errors, decode_image
from ganstudio.core.data.folders import SkippedFile
from ganstudio.core.data.torchvision_sets import convert_batch
from ganstudio.core.errors import DatasetError


class TensorStream:
    """A torchvision set kept at native size on the CPU, converted batch by batch."""

    def __init__(self, images: torch.Tensor, channels: int, resolution: int):
        self.images, self.channels, self.resolution = images, channels, resolution
        self.skipped: list[SkippedFile] = []

    def read(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images of the indices, and the indices actually used."""
        return convert_batch(self.images[indices], self.channels, self.resolution), indices


class FileStream:
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
        """uint8 images of the indices, and the indices actually used."""
        used = indices.tolist()
        with bombs_as_errors():
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
            return decode_image(self.files[index], *self.shape)
        except BadImage as exc:
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
