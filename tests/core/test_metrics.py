"""The metric formulas: FID, KID, IS, precision/recall, density/coverage, mode and class coverage."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from ganstudio.core.data.toy import toy_distribution
from ganstudio.core.metrics.fid import fid_from_features, frechet_distance, gaussian_stats
from ganstudio.core.metrics.inception_score import inception_score
from ganstudio.core.metrics.kid import kernel_inception_distance, polynomial_kernel, unbiased_mmd2
from ganstudio.core.metrics.modes import (
    CollapseWatch, class_coverage, class_histogram, histogram_kl, mode_coverage, toy_modes,
)
from ganstudio.core.metrics.prdc import density_coverage, knn_radii, precision_recall


def correlated(n: int, d: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """Gaussian features with a random full covariance (and mean shift)."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return rng.normal(size=(n, d)) @ mixing + rng.normal(size=d) * 0.1 + shift


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula with scipy's general matrix square root (pytorch-fid's reference)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root.real))


def test_fid_of_a_set_against_itself_is_zero():
    x = correlated(600, 64, 0)
    assert abs(fid_from_features(x, x)) < 1e-9 * np.trace(np.cov(x, rowvar=False))
    few = correlated(40, 64, 1)  # fewer samples than dimensions: singular covariance
    assert abs(fid_from_features(few, few)) < 1e-8 * np.trace(np.cov(few, rowvar=False))


@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_fid_agrees_with_the_scipy_sqrtm_reference(shift):
    a, b = correlated(800, 48, 2), correlated(700, 48, 3, shift=shift)
    ours, reference = fid_from_features(a, b), scipy_fid(a, b)
    assert reference > 0.1
    assert abs(ours - reference) <= 1e-3 * reference


def test_fid_grows_with_the_distance_between_sets():
    a = correlated(1000, 16, 4)
    values = [fid_from_features(a, correlated(1000, 16, 4 + 10, shift=s)) for s in (0.0, 0.5, 1.0)]
    assert values[0] < values[1] < values[2]
    stats = gaussian_stats(a)
    assert stats.n == 1000 and stats.cov.shape == (16, 16)
    assert frechet_distance(stats, stats) < 1e-9


def test_kid_is_unbiased_and_positive_for_shifted_sets():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2000, 32)).astype(np.float32)
    halves = []
    for seed in range(10):
        order = np.random.default_rng(100 + seed).permutation(len(x))
        halves.append(kernel_inception_distance(x[order[:1000]], x[order[1000:]], subsets=10, subset_size=500,
                                                seed=seed)[0])
    mean_halves = float(np.mean(halves))
    shifted, _ = kernel_inception_distance(x[:1000], x[1000:] + 0.3, subsets=10, subset_size=500)
    a, b = torch.from_numpy(x[:500]), torch.from_numpy(x[500:1000])
    biased = float(polynomial_kernel(a, a).mean() + polynomial_kernel(b, b).mean() - 2 * polynomial_kernel(a, b).mean())
    assert shifted > 0.1
    assert abs(mean_halves) < 0.05 * biased and abs(mean_halves) < 0.01 * shifted  # biased: about 0.03 here
    assert min(halves) < 0 < max(halves)  # individual unbiased estimates fall on both sides of 0


def test_unbiased_mmd_matches_the_textbook_formula():
    x, y = torch.rand(2, 300, 16), torch.rand(2, 300, 16) + 0.05
    k = lambda a, b: (a.double() @ b.double().transpose(-1, -2) / 16 + 1) ** 3  # noqa: E731
    m = 300
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    expected = ((kxx.sum((-1, -2)) - kxx.diagonal(dim1=-2, dim2=-1).sum(-1)) / (m * (m - 1))
                + (kyy.sum((-1, -2)) - kyy.diagonal(dim1=-2, dim2=-1).sum(-1)) / (m * (m - 1))
                - 2 * kxy.sum((-1, -2)) / m**2)
    assert torch.allclose(unbiased_mmd2(x, y), expected, rtol=1e-3, atol=1e-7)


def test_inception_score_bounds():
    uniform = np.full((1000, 10), 0.1)
    assert inception_score(uniform)[0] == pytest.approx(1.0)
    confident = np.eye(10)[np.arange(1000) % 10]
    mean, std = inception_score(confident)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-9)
    one_class = np.eye(10)[np.zeros(1000, dtype=int)]  # confident but collapsed
    assert inception_score(one_class)[0] == pytest.approx(1.0)
    half = np.eye(10)[np.arange(1000) % 5]  # confident, half the classes
    assert inception_score(half)[0] == pytest.approx(5.0)


def test_precision_and_recall_of_a_set_against_itself_are_one():
    x = torch.from_numpy(correlated(1500, 20, 6)).float()
    assert precision_recall(x, x) == (1.0, 1.0)
    density, coverage = density_coverage(x, x)
    assert coverage == 1.0 and 0.9 < density < 1.6


def test_distances_survive_a_large_common_offset_and_repeated_samples():
    """Distances by matrix products round by about sqrt(eps) x |x|: features far from the origin with a small
    spread, or a collapsed set of identical samples (every k-NN radius 0), must still match themselves."""
    torch.manual_seed(0)
    offset = 1000 + 0.01 * torch.randn(300, 64)
    assert precision_recall(offset, offset) == (1.0, 1.0)
    assert density_coverage(offset, offset)[1] == 1.0
    assert precision_recall(offset, offset + 0.1)[0] < 0.05  # a shift of 10 spreads is still seen
    same = torch.full((50, 64), 3.0) + torch.randn(1, 64)
    assert precision_recall(same, same) == (1.0, 1.0)


def test_precision_measures_quality_and_recall_diversity():
    rng = np.random.default_rng(7)
    two_clusters = np.concatenate([rng.normal(size=(1000, 8)), rng.normal(size=(1000, 8)) + 20])
    one_cluster = rng.normal(size=(1000, 8))  # G dropped a mode: good quality, half the diversity
    precision, recall = precision_recall(two_clusters, one_cluster)
    assert precision > 0.85 and 0.4 < recall < 0.55
    density, coverage = density_coverage(two_clusters, one_cluster)
    assert 0.4 < coverage < 0.55
    far = rng.normal(size=(1000, 8)) + 100
    assert precision_recall(two_clusters, far) == (0.0, 0.0)
    assert density_coverage(two_clusters, far) == (0.0, 0.0)


def test_knn_radii_leave_the_point_itself_out():
    x = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    assert knn_radii(x, 1).tolist() == [1.0, 1.0, 2.0, 3.0]
    assert knn_radii(x, 2).tolist() == [3.0, 2.0, 3.0, 5.0]


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mode_coverage_of_true_and_collapsed_samples(name):
    toy = toy_distribution(name, 5000, seed=0)
    covered, share = mode_coverage(toy.points, toy.modes, toy.mode_std)
    assert covered == len(toy.modes) and share > 0.95
    collapsed = toy.modes[2] + np.random.default_rng(0).normal(scale=toy.mode_std, size=(1000, 2))
    assert mode_coverage(collapsed, toy.modes, toy.mode_std)[0] == 1
    assert mode_coverage(np.full((4, 2), np.nan), toy.modes, toy.mode_std) == (0, 0.0)


def test_toy_mode_coverage_counts_modes_and_quality():
    ring = toy_distribution("ring8", 4000, seed=0)
    assert toy_modes(ring.points, ring.modes, ring.mode_std) == {
        "modes_covered": 8, "modes_total": 8, "high_quality": pytest.approx(1 - np.exp(-4.5), abs=0.005)}  # P(r < 3 std), 2D
    collapsed = ring.points[np.linalg.norm(ring.points - ring.modes[0], axis=1) < 3 * ring.mode_std]  # mode 0 only
    far = np.full((len(collapsed), 2), 10.0, dtype=np.float32)  # and as many points nowhere near a mode
    result = toy_modes(np.concatenate([collapsed, far]), ring.modes, ring.mode_std)
    assert result["modes_covered"] == 1 and result["high_quality"] == pytest.approx(0.5)


def test_class_histogram_and_kl():
    real = class_histogram(torch.arange(1000) % 10, 10)
    assert np.allclose(real, 0.1)
    assert histogram_kl(real, real) == pytest.approx(0.0, abs=1e-12)
    sevens = class_histogram(torch.full((1000,), 7), 10)
    assert histogram_kl(sevens, real) == pytest.approx(np.log(10), rel=1e-3)  # all mass on one of ten classes
    half = class_histogram(torch.arange(1000) % 5, 10)
    result = class_coverage(half, real)
    assert result["classes_covered"] == 5 and result["classes_total"] == 10
    assert result["class_kl"] == pytest.approx(np.log(2), rel=1e-3)


def test_collapse_watch_flags_a_drop_below_the_best():
    watch = CollapseWatch()
    flags = [watch.observe({"modes_covered": m})["mode_collapse_warning"] for m in (3, 8, 7, 6, 2, 8)]
    assert flags == [False, False, False, True, True, False]
    resumed = CollapseWatch()
    resumed.restore([{"modes_covered": 8}, {"fid": 1.0}])
    assert resumed.observe({"modes_covered": 5})["mode_collapse_warning"] is True
    assert watch.observe({"fid": 2.0}) == {"fid": 2.0}  # nothing to watch in a record without coverage
