"""Reference statistics of the real data in an extractor's feature space, computed once and cached on disk.

A cache file is keyed by a hash of the data (source, size, shape, and the pixels of a few of its images), the
extractor (name and a hash of its weights), the number of samples and their seed. It is a safetensors file
written atomically, so a crash never leaves half a file and nothing is ever unpickled.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganstudio.core.data.sources import TrainingData
from ganstudio.core.io import atomic_write
from ganstudio.core.metrics.extractors import FeatureExtractor
from ganstudio.core.metrics.fid import GaussianStats, gaussian_stats
from ganstudio.core.metrics.prdc import DC_K, PR_K, knn_radii
from ganstudio.core.errors import GanStudioError

FORMAT_VERSION = 2  # 2: k-NN radii from float64 distances (as prdc)
CACHE_ENV = "GANSTUDIO_CACHE"  # overrides the platform cache folder
PROBE = 64  # images whose pixels enter the cache key, so that a folder whose images changed is recomputed
Progress = Callable[[int, int], None]


@dataclass
class ReferenceStats:
    """Features of n real samples and what the metrics need of them."""

    features: torch.Tensor  # float32 [n, D]
    stats: GaussianStats
    radii: dict[int, torch.Tensor]  # k -> distance of every real feature to its k-th nearest real neighbour
    class_histogram: np.ndarray | None  # share of real samples per predicted class, for classifier extractors
    key: str
    from_cache: bool = False

    @property
    def n(self) -> int:
        return len(self.features)


def default_cache_dir() -> Path:
    """$GANSTUDIO_CACHE, else the platform's cache folder: ~/.cache/ganstudio, ~/Library/Caches/ganstudio, ..."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "ganstudio" / "cache"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "ganstudio"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ganstudio"
    return base


def real_indices(data: TrainingData, n: int, seed: int) -> torch.Tensor:
    """The real samples a reference uses: the first n of a seeded permutation (all of them if fewer)."""
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return order[:n]


def reference_key(data: TrainingData, extractor: FeatureExtractor, n: int, seed: int) -> str:
    """A hash naming one reference: data identity and a pixel probe, extractor weights, sample count, seed."""
    info = data.info
    probe = data.get(real_indices(data, min(n, PROBE), seed))[0].float().cpu().numpy()
    identity = {"format": FORMAT_VERSION, "source": info.source, "size": info.size, "channels": info.channels,
                "resolution": info.resolution, "extractor": extractor.name, "weights": extractor.fingerprint,
                "n": n, "seed": seed, "probe": hashlib.sha256(probe.tobytes()).hexdigest()}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


def reference_stats(data: TrainingData, extractor: FeatureExtractor, n: int, seed: int = 0,
                    cache_dir: str | Path | None = None, use_cache: bool = True,
                    progress: Progress | None = None) -> ReferenceStats:
    """The reference for (data, extractor, n, seed): from the cache when there, else computed and cached."""
    n = min(n, len(data))
    key = reference_key(data, extractor, n, seed)
    path = Path(cache_dir or default_cache_dir()) / "reference" / f"{extractor.name}-{key}.safetensors"
    cacheable = use_cache and extractor.channels != 0  # toy points cost nothing to recompute
    if cacheable:
        cached = _load(path, key)
        if cached is not None:
            return cached
    features, probabilities = extract_real(data, extractor, real_indices(data, n, seed), progress)
    ref = _build(features, probabilities, extractor, key)
    if cacheable:
        _save(path, ref)
    return ref


def extract_real(data: TrainingData, extractor: FeatureExtractor, indices: torch.Tensor,
                 progress: Progress | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Features (and class probabilities) of the real samples at `indices`, batch by batch, on the CPU."""
    features, probabilities = [], []
    for start in range(0, len(indices), extractor.batch_size):
        batch = data.get(indices[start:start + extractor.batch_size])[0]
        f, p = extractor(batch)
        features.append(f.cpu())
        if p is not None:
            probabilities.append(p.cpu())
        if progress is not None:
            progress(min(start + extractor.batch_size, len(indices)), len(indices))
    return torch.cat(features), torch.cat(probabilities) if probabilities else None


def _build(features: torch.Tensor, probabilities: torch.Tensor | None, extractor: FeatureExtractor,
           key: str) -> ReferenceStats:
    from ganstudio.core.metrics.modes import class_histogram

    radii = {k: knn_radii(features, k) for k in (PR_K, DC_K) if len(features) > k}
    histogram = (class_histogram(probabilities.argmax(1), extractor.num_classes)
                 if probabilities is not None else None)
    return ReferenceStats(features, gaussian_stats(features), radii, histogram, key)


def _save(path: Path, ref: ReferenceStats) -> None:
    tensors = {"features": ref.features.contiguous(), "mean": torch.from_numpy(ref.stats.mean),
               "cov": torch.from_numpy(ref.stats.cov)}
    tensors.update({f"radii_{k}": r.contiguous() for k, r in ref.radii.items()})
    if ref.class_histogram is not None:
        tensors["class_histogram"] = torch.from_numpy(ref.class_histogram)
    meta = {"format": "ganstudio-reference", "format_version": str(FORMAT_VERSION), "key": ref.key}
    try:
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    except (GanStudioError, OSError):
        pass  # a cache that cannot be written only costs time on the next run


def _load(path: Path, key: str) -> ReferenceStats | None:
    """A cached reference, or None when missing, damaged or not the one asked for."""
    if not path.is_file():
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if meta.get("key") != key or meta.get("format_version") != str(FORMAT_VERSION):
            return None
        t = load_file(str(path))
        stats = GaussianStats(t["mean"].numpy(), t["cov"].numpy(), len(t["features"]))
        radii = {int(name[6:]): v for name, v in t.items() if name.startswith("radii_")}
        histogram = t["class_histogram"].numpy() if "class_histogram" in t else None
        return ReferenceStats(t["features"], stats, radii, histogram, key, from_cache=True)
    except (SafetensorError, OSError, KeyError, ValueError, RuntimeError):
        return None
