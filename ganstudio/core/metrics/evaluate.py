"""Evaluate a generator against its training data: FID, KID, IS, precision/recall, density/coverage, modes.

`Evaluator` holds what stays the same between evaluations of one run (the extractor, the cached reference
statistics, the best mode coverage so far); `evaluate` is the one-shot form used by `ganstudio eval`.
Evaluation draws its latent vectors from its own seeded generator, so it never changes a run's trajectory.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ganstudio.core.data.sources import TrainingData
from ganstudio.core.metrics.extractors import FeatureExtractor, default_extractor, get_extractor
from ganstudio.core.metrics.fid import frechet_distance, gaussian_stats
from ganstudio.core.metrics.inception_score import inception_score
from ganstudio.core.metrics.kid import kernel_inception_distance
from ganstudio.core.metrics.modes import CollapseWatch, class_coverage, class_histogram, toy_modes
from ganstudio.core.metrics.prdc import DC_K, PR_K, density_coverage, precision_recall
from ganstudio.core.metrics.reference import ReferenceStats, reference_stats
from ganstudio.core.errors import ConfigError

METRICS = {
    "fid": "Frechet distance between feature Gaussians (lower is better)",
    "kid": "kernel distance, unbiased (lower is better; x 1000 is often quoted)",
    "is": "Inception Score or its analogue for the extractor's classes (higher is better)",
    "pr": "precision (quality) and recall (diversity) of k-NN manifolds, k = 3",
    "dc": "density and coverage, k = 5",
    "modes": "toy mixtures: modes covered and share of samples within 3 std of a mode",
    "classes": "histogram of predicted classes, its KL from the data's, classes covered",
}
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def default_metrics(data: TrainingData, extractor: FeatureExtractor) -> tuple[str, ...]:
    """The metrics that suit this data and extractor."""
    info = data.info
    if info.is_toy:
        return (("modes",) if info.modes is not None else ()) + ("fid", "pr")
    chosen = ("fid", "kid", "pr")
    if extractor.num_classes:
        chosen += ("is",)
    if extractor.num_classes and tuple(extractor.class_names) == tuple(info.class_names):
        chosen += ("classes",)
    return chosen


def applicable_metrics(data: TrainingData, extractor: FeatureExtractor) -> tuple[str, ...]:
    """Every metric that can be measured for this data with this extractor."""
    info = data.info
    return tuple(name for name in METRICS
                 if not (name in ("is", "classes") and not extractor.num_classes)
                 and not (name == "modes" and (not info.is_toy or info.modes is None)))


def parse_metrics(spec: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """'fid,kid' or a list -> names checked against METRICS; None for 'auto' (the defaults); ('all',) for all."""
    if spec is None or spec == "auto" or (not isinstance(spec, str) and len(spec) == 0):
        return None
    names = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if names in (["all"], ["auto"]):
        return ("all",) if names == ["all"] else None
    for name in names:
        if name not in METRICS:
            raise ConfigError(f"unknown metric {name!r}; use any of {', '.join(METRICS)} (or auto, all)")
    return tuple(dict.fromkeys(names))


class Evaluator:
    """Evaluates generators of one dataset, reusing the extractor and reference statistics between calls."""

    def __init__(self, data: TrainingData, metrics: str | Sequence[str] | None = None, n: int = 10_000,
                 extractor: str | FeatureExtractor | None = None, *, seed: int = 0,
                 device: torch.device | str | None = None, cache_dir=None, use_cache: bool = True,
                 progress: Progress | None = None):
        if n < 10:
            raise ConfigError(f"evaluation needs at least 10 samples, not {n}")
        self.data, self.n, self.seed = data, n, seed
        self.device = torch.device(device) if device is not None else data.device
        self.cache_dir, self.use_cache, self.progress = cache_dir, use_cache, progress
        self.notes: list[str] = []
        if extractor is None or extractor == "auto":
            extractor, note = default_extractor(data.info)
            self._note(note)
        self.extractor = extractor if isinstance(extractor, FeatureExtractor) else get_extractor(extractor, self.device)
        self._note(self.extractor.check(data.info))
        asked = parse_metrics(metrics)
        if asked == ("all",):
            asked = applicable_metrics(data, self.extractor)
        self.metrics = asked or default_metrics(data, self.extractor)
        self._check_metrics()
        self.watch = CollapseWatch()
        self._reference: ReferenceStats | None = None

    def _note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def _check_metrics(self) -> None:
        info, ex = self.data.info, self.extractor
        for name in self.metrics:
            if name == "is" and not ex.num_classes:
                raise ConfigError(f"the Inception Score needs a classifier with exclusive classes; the {ex.name} "
                                  "extractor has none (use --extractor inception, or mnist for digits)")
            if name == "classes" and not ex.num_classes:
                raise ConfigError(f"class histograms need a classifier extractor; {ex.name} has no classes "
                                  "(use --extractor mnist for digits, or inception)")
            if name == "modes" and (not info.is_toy or info.modes is None):
                raise ConfigError(f"mode coverage needs a toy mixture with known modes (toy:ring8, toy:grid25), "
                                  f"not {info.source}; for labelled images use the classes metric")
        if len(self.data) < 2 * max(PR_K, DC_K):
            raise ConfigError(f"the data has only {len(self.data)} samples, too few to evaluate against")

    # -- reference ---------------------------------------------------------------------------------------

    def reference(self) -> ReferenceStats:
        """The real data's statistics: computed at the first call (or read from the cache), then kept."""
        if self._reference is None:
            progress = (lambda done, total: self.progress("real", done, total)) if self.progress else None
            self._reference = reference_stats(self.data, self.extractor, self.n, self.seed, self.cache_dir,
                                              self.use_cache, progress)
        return self._reference

    # -- generated samples -------------------------------------------------------------------------------

    @torch.no_grad()
    def generated(self, G: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, np.ndarray]:
        """Features, class probabilities, requested labels (conditional G) and raw toy points of n samples."""
        z_dim, c_dim = int(G.z_dim), int(getattr(G, "c_dim", 0) or 0)
        gen = torch.Generator().manual_seed(self.seed + 1)  # its own stream: the run's RNG is untouched
        labels = torch.arange(self.n) % c_dim if c_dim else None
        was_training = G.training
        G.eval()
        features, probabilities, points = [], [], []
        batch = max(1, min(500, self.extractor.batch_size))
        try:
            for start in range(0, self.n, batch):
                size = min(batch, self.n - start)
                z = torch.randn(size, z_dim, generator=gen).to(self.device)
                c = labels[start:start + size].to(self.device) if labels is not None else None
                x = G(z, c)
                self._check_shape(x)
                f, p = self.extractor(x)
                features.append(f.cpu())
                if p is not None:
                    probabilities.append(p.cpu())
                if self.data.info.is_toy:
                    points.append(x.float().cpu().numpy())
                if self.progress is not None:
                    self.progress("generated", start + size, self.n)
        finally:
            G.train(was_training)
        return (torch.cat(features), torch.cat(probabilities) if probabilities else None, labels,
                np.concatenate(points) if points else np.zeros((0, 2)))

    def _check_shape(self, x: torch.Tensor) -> None:
        info = self.data.info
        want = (2,) if info.is_toy else (info.channels, info.resolution, info.resolution)
        if tuple(x.shape[1:]) != want:
            shape = "x".join(map(str, x.shape[1:]))
            raise ConfigError(f"the generator makes {shape} samples but the data has {'x'.join(map(str, want))}; "
                              "evaluate it against data of its own shape")

    # -- metrics -----------------------------------------------------------------------------------------

    def evaluate(self, G: nn.Module, step: int | None = None) -> dict:
        """One evaluation record (JSON-ready): the metrics, the extractor, sample counts and seconds taken."""
        t0 = time.perf_counter()
        ref_was_ready = self._reference is not None
        ref = self.reference()
        t_ref = time.perf_counter() - t0
        features, probabilities, labels, points = self.generated(G)
        record: dict = {} if step is None else {"step": step}
        record.update(n=len(features), n_real=ref.n, extractor=self.extractor.name, metrics=list(self.metrics))
        if ref.n < self.n:
            self._note(f"the data has only {ref.n:,} samples, so the reference uses all of them")
        finite = bool(torch.isfinite(features).all())
        if not finite:
            self._note_once(record, "the generator produced non-finite samples, so distances are undefined")
        for name in self.metrics:
            record.update(self._metric(name, ref, features, probabilities, labels, points, finite))
        self.watch.observe(record)
        if not ref_was_ready and not ref.from_cache:
            record["reference_seconds"] = round(t_ref, 3)
        record["seconds"] = round(time.perf_counter() - t0, 3)
        if self.notes:
            record["notes"] = record.get("notes", []) + self.notes
        return _json_safe(record)

    @staticmethod
    def _note_once(record: dict, text: str) -> None:
        record.setdefault("notes", []).append(text)

    def _metric(self, name: str, ref: ReferenceStats, features: torch.Tensor, probabilities: torch.Tensor | None,
                labels: torch.Tensor | None, points: np.ndarray, finite: bool) -> dict:
        if name == "modes":
            info = self.data.info
            return toy_modes(points, info.modes, info.mode_std)
        if name in ("is", "classes"):
            return self._class_metric(name, ref, probabilities, labels)
        if not finite:
            keys = {"fid": ("fid",), "kid": ("kid", "kid_std"), "pr": ("precision", "recall"),
                    "dc": ("density", "coverage")}[name]
            return dict.fromkeys(keys)
        if name == "fid":
            return {"fid": frechet_distance(ref.stats, gaussian_stats(features))}
        if name == "kid":
            mean, std = kernel_inception_distance(ref.features, features, seed=self.seed)
            return {"kid": mean, "kid_std": std}
        if name == "pr":
            precision, recall = precision_recall(ref.features, features, PR_K, ref.radii.get(PR_K))
            return {"precision": precision, "recall": recall}
        if name == "dc":
            density, coverage = density_coverage(ref.features, features, DC_K, ref.radii.get(DC_K))
            return {"density": density, "coverage": coverage}
        raise ConfigError(f"unknown metric {name!r}")

    def _class_metric(self, name: str, ref: ReferenceStats, probabilities: torch.Tensor | None,
                      labels: torch.Tensor | None) -> dict:
        if probabilities is None or not torch.isfinite(probabilities).all():
            return {"is": None, "is_std": None} if name == "is" else {"class_kl": None}
        if name == "is":
            mean, std = inception_score(probabilities)
            return {"is": mean, "is_std": std}
        predicted = probabilities.argmax(1)
        out = class_coverage(class_histogram(predicted, self.extractor.num_classes), ref.class_histogram)
        if self.extractor.num_classes > 100:
            del out["class_histogram"]  # 1,000 ImageNet shares per record would swamp the log
        info = self.data.info
        if labels is not None and tuple(self.extractor.class_names) == tuple(info.class_names):
            out["class_accuracy"] = float((predicted == labels).float().mean())  # does G obey its labels?
        return out


def evaluate(G: nn.Module, data: TrainingData, metrics: str | Sequence[str] | None = None, n: int = 10_000,
             extractor: str | FeatureExtractor | None = None, **options) -> dict:
    """Evaluate a generator once against data; see Evaluator for the options."""
    return Evaluator(data, metrics, n, extractor, **options).evaluate(G)


def _json_safe(value):
    """Non-finite floats become None (JSON has no NaN); numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
