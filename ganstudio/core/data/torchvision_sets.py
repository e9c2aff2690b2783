"""Torchvision datasets: opening the train split (with one clear sentence when it is missing or offline) and
converting its arrays to the run's channels and resolution."""
from __future__ import annotations

from pathlib import Path
from urllib.error import URLError

import torch

from ganstudio.core.data.decode import short_reason
from ganstudio.core.data.folders import Progress
from ganstudio.core.errors import DatasetError

CELEBA_CROP = 140  # the face square inside CelebA's 178x218 aligned images
_CHUNK = 4096  # images converted at once when a whole torchvision set is resized

TORCHVISION = {  # source: (torchvision class, name for people, where its files go under root)
    "mnist": ("MNIST", "MNIST", "MNIST/raw"),
    "fashion-mnist": ("FashionMNIST", "Fashion-MNIST", "FashionMNIST/raw"),
    "cifar10": ("CIFAR10", "CIFAR-10", "cifar-10-batches-py"),
    "celeba": ("CelebA", "CelebA", "celeba"),
}



def open_torchvision(source: str, root: Path, download: bool):
    """The torchvision train split; DatasetError with one sentence when it is missing and cannot be fetched."""
    import torchvision.datasets

    class_name, name, subfolder = TORCHVISION[source]
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
            raise DatasetError(f"{name} in {root} could not be read ({short_reason(first)}); copy a good copy of "
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
    text = short_reason(exc)
    if isinstance(exc, URLError) or "urlopen error" in text or "Name or service" in text:
        return f"no network: {short_reason(exc.reason) if isinstance(exc, URLError) else text}"
    return text


def torchvision_arrays(source: str, dataset) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """The whole train split as uint8 [N, C, H, W] at native size, int64 labels and class names."""
    if source == "cifar10":
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2)  # HWC numpy -> NCHW view
        return images, torch.as_tensor(dataset.targets, dtype=torch.int64), tuple(dataset.classes)
    names = tuple(str(d) for d in range(10)) if source == "mnist" else tuple(dataset.classes)
    return dataset.data.unsqueeze(1), dataset.targets.to(torch.int64), names


def convert_batch(images: torch.Tensor, channels: int, resolution: int) -> torch.Tensor:
    """uint8 [B, C, h, w] -> uint8 [B, channels, resolution, resolution] (luminance or repeat, bicubic)."""
    if channels < images.shape[1]:
        from torchvision.transforms.v2 import functional as TF  # seconds to import: only when needed

        images = TF.rgb_to_grayscale(images)
    if images.shape[-2:] != (resolution, resolution):
        shrinking = resolution < max(images.shape[-2:])
        images = torch.nn.functional.interpolate(images.float(), size=(resolution, resolution), mode="bicubic",
                                                 align_corners=False, antialias=shrinking)
        images = images.round_().clamp_(0, 255).to(torch.uint8)
    if channels > images.shape[1]:
        images = images.expand(-1, channels, -1, -1)
    return images.contiguous()


def convert_all(images: torch.Tensor, channels: int, resolution: int, progress: Progress | None) -> torch.Tensor:
    """Convert a whole set in chunks, so that the float copy stays small."""
    n = len(images)
    if images.shape[1:] == (channels, resolution, resolution):
        return images.contiguous()
    out = torch.empty((n, channels, resolution, resolution), dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        out[start:start + _CHUNK] = convert_batch(images[start:start + _CHUNK], channels, resolution)
        if progress is not None:
            progress(min(start + _CHUNK, n), n)
    return out
