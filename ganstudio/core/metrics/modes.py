"""Mode coverage: modes of the 2D toy mixtures (Unrolled GAN, VEEGAN), class histograms of labelled data, and a
watch that flags a drop in coverage (a likely mode collapse) during training."""
from __future__ import annotations

import numpy as np
import torch

COLLAPSE_SHARE = 0.8  # warn when coverage falls below this share of its best so far
CLASS_PRESENT = 0.25  # a class is covered when it gets at least this share of its real frequency


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


def toy_modes(samples: np.ndarray, modes: np.ndarray, std: float) -> dict:
    """Modes covered and the share of high-quality samples (within 3 std of a mode) of 2D samples."""
    covered, quality = mode_coverage(np.asarray(samples), modes, std)
    return {"modes_covered": covered, "modes_total": int(len(modes)), "high_quality": quality}


def class_histogram(predicted: np.ndarray | torch.Tensor, num_classes: int) -> np.ndarray:
    """The share of samples in each class [K] (sums to 1) from predicted class indices [N]."""
    labels = torch.as_tensor(predicted).detach().cpu().long()
    counts = torch.bincount(labels, minlength=num_classes)[:num_classes].double()
    return (counts / max(1, int(counts.sum()))).numpy()


def histogram_kl(p: np.ndarray, q: np.ndarray, eps: float = 1e-6) -> float:
    """KL(p || q) in nats between two class histograms; eps keeps empty classes finite."""
    p = np.asarray(p, dtype=np.float64) + eps
    q = np.asarray(q, dtype=np.float64) + eps
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


def class_coverage(generated: np.ndarray, real: np.ndarray) -> dict:
    """Histogram of generated classes, its KL from the real one (PacGAN's KL(model || data)), classes covered."""
    covered = int(np.sum((real > 0) & (generated >= CLASS_PRESENT * real)))
    return {"class_histogram": [round(float(v), 6) for v in generated],
            "class_kl": histogram_kl(generated, real),
            "classes_covered": covered, "classes_total": int(np.sum(real > 0))}


class CollapseWatch:
    """Remembers the best coverage seen in a run and flags an evaluation where it falls well below it."""

    def __init__(self, share: float = COLLAPSE_SHARE):
        self.share = share
        self.best: dict[str, int] = {}

    def observe(self, record: dict) -> dict:
        """Add `mode_collapse_warning` (and the best so far) to an evaluation record that has a coverage count."""
        for key in ("modes_covered", "classes_covered"):
            if key not in record:
                continue
            best = max(self.best.get(key, 0), int(record[key]))
            self.best[key] = best
            record[f"best_{key}"] = best
            record["mode_collapse_warning"] = bool(record[key] < self.share * best)
            break
        return record

    def restore(self, records: list[dict]) -> None:
        """Continue from the evaluations of a resumed run."""
        for record in records:
            for key in ("modes_covered", "classes_covered"):
                if key in record:
                    self.best[key] = max(self.best.get(key, 0), int(record[key]))
