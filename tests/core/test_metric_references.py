"""Our metrics agree with the reference implementations on identical inputs: prdc (precision, recall, density,
coverage), pytorch-fid (FID, and the FID Inception network itself) and torch-fidelity (FID, KID, IS).

The references are development dependencies (pyproject's dev extra); the Inception weights are random, made here,
and loaded into both networks (nothing is downloaded)."""
from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.core.metrics import get_extractor
from ganstudio.core.metrics.extractors import FID_INCEPTION_FILE, FID_INCEPTION_URL
from ganstudio.core.metrics.fid import fid_from_features, gaussian_stats
from ganstudio.core.metrics.fid_inception import FIDInceptionV3
from ganstudio.core.metrics.inception_score import inception_score
from ganstudio.core.metrics.kid import kernel_inception_distance, unbiased_mmd2
from ganstudio.core.metrics.prdc import density_coverage, knn_radii, precision_recall
from ganstudio.core.errors import ConfigError


def features(n: int, d: int, seed: int, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """float32 Gaussian features with a full covariance (the same for every seed of one d)."""
    mixing = np.random.default_rng(d).normal(size=(d, d)) / np.sqrt(d)
    samples = np.random.default_rng([seed, d]).normal(size=(n, d))
    return ((samples @ mixing) * scale + shift).astype(np.float32)


def ours_prdc(real, fake, k: int) -> np.ndarray:
    return np.array(precision_recall(real, fake, k) + density_coverage(real, fake, k))


def authors_prdc(real, fake, k: int) -> np.ndarray:
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # it prints the set sizes
        out = compute_prdc(np.asarray(real), np.asarray(fake), k)
    return np.array([out["precision"], out["recall"], out["density"], out["coverage"]])


# -- precision, recall, density, coverage ------------------------------------------------------------------


@pytest.mark.parametrize("d,n,k", [(2, 1200, 3), (2, 1200, 5), (64, 1000, 5), (2048, 500, 3), (2048, 500, 5)])
def test_prdc_agrees_with_the_authors_package(d, n, k):
    pytest.importorskip("prdc")
    real = features(n, d, seed=0)
    # a little wider and shifted: the values lie inside (0, 1), where a ball wider than prdc's would show at once
    fake = features(n - 100, d, seed=1, scale=1 + 0.4 / math.sqrt(d), shift=0.3 / math.sqrt(d))
    expected = authors_prdc(real, fake, k)
    assert ((expected > 0.05) & (expected < 0.97)).sum() >= 3  # a test that could fail
    assert np.allclose(ours_prdc(real, fake, k), expected, rtol=1e-3, atol=0)


def test_prdc_of_a_set_against_itself_matches_the_package():
    """The neighbour that sets a ball's radius is outside it (open balls): density of a set against itself is 1."""
    pytest.importorskip("prdc")
    x = features(400, 2048, seed=1)
    assert ours_prdc(x, x, 5).tolist() == authors_prdc(x, x, 5).tolist() == [1.0, 1.0, 1.0, 1.0]


def test_prdc_on_points_whose_answers_are_known():
    real = torch.tensor([[0.0], [1.0], [3.0], [6.0]])  # k=1 radii: 1, 1, 2, 3
    fake = torch.tensor([[0.5], [2.9], [10.0]])  # k=1 radii: 2.4, 2.4, 7.1
    assert knn_radii(real, 1).tolist() == [1.0, 1.0, 2.0, 3.0]
    precision, recall = precision_recall(real, fake, 1)
    assert precision == pytest.approx(2 / 3) and recall == 1.0  # 10 is in no real ball; 6 is in the ball of 10
    density, coverage = density_coverage(real, fake, 1)
    assert density == pytest.approx(3 / 3) and coverage == 0.75  # 0.5 in two balls, 2.9 in one; 6's ball is empty
    on_the_edge = torch.tensor([[9.0], [9.0]])  # exactly the radius 3 from 6: outside, as in prdc
    assert precision_recall(real, on_the_edge, 1)[0] == 0.0 and density_coverage(real, on_the_edge, 1) == (0.0, 0.0)


def test_an_exactly_repeated_sample_is_inside_its_own_ball_even_of_radius_0():
    """A collapsed set (every sample the same, so every radius 0) matches itself; prdc counts nothing there."""
    same = torch.full((8, 2048), 0.25) + torch.randn(1, 2048)
    assert precision_recall(same, same, 5) == (1.0, 1.0)
    assert density_coverage(same, same, 5) == (pytest.approx(8 / 5), 1.0)  # each sample lies in all 8 balls
    if _has("prdc"):
        assert authors_prdc(same.numpy(), same.numpy(), 5).tolist() == [0.0, 0.0, 0.0, 0.0]
    far = torch.full((100, 64), 1000.0) + 1e-3 * torch.randn(100, 64)  # tiny spread far from the origin
    assert precision_recall(far, far, 3) == (1.0, 1.0) and density_coverage(far, far, 5) == (1.0, 1.0)


# -- FID, KID, IS -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [0.0, 0.2])
def test_fid_agrees_with_pytorch_fid_and_torch_fidelity(shift):
    pytest.importorskip("pytorch_fid")
    pytest.importorskip("torch_fidelity")
    from pytorch_fid.fid_score import calculate_frechet_distance
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    a, b = features(1500, 64, seed=2), features(1200, 64, seed=3, scale=1.1, shift=shift)
    ours = fid_from_features(a, b)
    sa, sb = gaussian_stats(a), gaussian_stats(b)
    by_pytorch_fid = calculate_frechet_distance(sa.mean, sa.cov, sb.mean, sb.cov)
    by_fidelity = fid_statistics_to_metric(fid_features_to_statistics(torch.from_numpy(a)),
                                           fid_features_to_statistics(torch.from_numpy(b)), False)
    assert ours == pytest.approx(by_pytorch_fid, rel=1e-6)
    assert ours == pytest.approx(by_fidelity["frechet_inception_distance"], rel=1e-5)  # its float32 statistics


def test_kid_agrees_with_torch_fidelity_on_the_same_subsets():
    pytest.importorskip("torch_fidelity")
    from torch_fidelity.metric_kid import kernel_mmd, kid_features_to_metric

    x, y = features(600, 256, seed=4), features(500, 256, seed=5, scale=1.05, shift=0.2)
    options = dict(kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None,
                   kid_kernel_poly_coef0=1)
    rng = np.random.RandomState(7)  # torch-fidelity's subsets, drawn as it draws them
    picks = [(rng.choice(600, 200, replace=False), rng.choice(500, 200, replace=False)) for _ in range(5)]
    theirs = [kernel_mmd(x[i], y[j], **options) for i, j in picks]
    ours = unbiased_mmd2(torch.from_numpy(np.stack([x[i] for i, _ in picks])),
                         torch.from_numpy(np.stack([y[j] for _, j in picks])))
    assert ours.numpy() == pytest.approx(np.array(theirs), rel=1e-5)
    whole = kid_features_to_metric(torch.from_numpy(x[:400]), torch.from_numpy(y[:400]), kid_subsets=1,
                                   kid_subset_size=400, verbose=False, rng_seed=0, **options)
    assert kernel_inception_distance(x[:400], y[:400])[0] == pytest.approx(
        whole["kernel_inception_distance_mean"], rel=1e-5)


def test_inception_score_agrees_with_torch_fidelity():
    pytest.importorskip("torch_fidelity")
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = torch.from_numpy(np.random.default_rng(8).normal(size=(1000, 1008)) * 3).float()
    theirs = isc_features_to_metric(logits, splits=10, shuffle=False)
    mean, std = inception_score(logits.double().softmax(1), splits=10)
    assert mean == pytest.approx(theirs["inception_score_mean"], rel=1e-6)
    assert std == pytest.approx(theirs["inception_score_std"], rel=1e-4, abs=1e-9)


# -- the FID Inception network ------------------------------------------------------------------------------


def random_fid_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights that keep activations of order 1 through all 94 layers (He init, varied batch norms)."""
    gen = torch.Generator().manual_seed(seed)
    net = FIDInceptionV3()
    state = {}
    for name, value in net.state_dict().items():
        if name.endswith("conv.weight"):
            value = torch.randn(value.shape, generator=gen) * math.sqrt(2 / value[0].numel())
        elif name.endswith("bn.weight") or name.endswith("running_var"):
            value = torch.rand(value.shape, generator=gen) + 0.5
        elif value.is_floating_point():
            value = torch.randn(value.shape, generator=gen) * 0.1
        state[name] = value
    return state


@pytest.fixture(scope="module")
def fid_weights(tmp_path_factory):
    """A random weights file in pytorch-fid's layout."""
    path = tmp_path_factory.mktemp("fid") / FID_INCEPTION_FILE
    torch.save(random_fid_weights(), path)
    return path


def image_set(n: int, side: int, seed: int, brighter: int = 0) -> torch.Tensor:
    """uint8 images [n, 3, side, side] with some structure (blurred noise), optionally brighter."""
    gen = torch.Generator().manual_seed(seed)
    noise = torch.rand(n, 3, side // 4, side // 4, generator=gen)
    images = torch.nn.functional.interpolate(noise, size=(side, side), mode="bilinear", align_corners=False)
    return (images * 200 + brighter).clamp(0, 255).round().to(torch.uint8)


def test_fid_inception_gives_pytorch_fids_features_and_fid(fid_weights, tmp_path, monkeypatch):
    pytest.importorskip("pytorch_fid")
    import pytorch_fid.inception
    from pytorch_fid.fid_score import get_activations

    # pytorch-fid builds its FID blocks and "downloads" our random weights: nothing goes to the network
    monkeypatch.setattr(pytorch_fid.inception, "load_state_dict_from_url",
                        lambda *args, **kwargs: torch.load(fid_weights, weights_only=True))
    reference = pytorch_fid.inception.InceptionV3([3], use_fid_inception=True).eval()
    ours = get_extractor(f"fid-inception:{fid_weights}")
    sets = [image_set(4, 40, seed=1), image_set(4, 40, seed=2, brighter=40)]
    theirs_f, ours_f = [], []
    for s, images in enumerate(sets):
        files = []
        for i, image in enumerate(images):  # pytorch-fid reads PNG files
            files.append(tmp_path / f"{s}-{i}.png")
            Image.fromarray(image.permute(1, 2, 0).numpy()).save(files[-1])
        theirs_f.append(torch.from_numpy(get_activations(files, reference, batch_size=4, num_workers=0)))
        ours_f.append(ours(images.float() / 127.5 - 1)[0])
    theirs_all, ours_all = torch.cat(theirs_f), torch.cat(ours_f)
    assert theirs_all.std() > 0.1  # activations survived the random network
    assert (ours_all - theirs_all).abs().max() <= 1e-5 * theirs_all.abs().max()
    theirs_fid = few_sample_fid(*theirs_f)
    assert theirs_fid > 1.0
    assert few_sample_fid(*ours_f) == pytest.approx(theirs_fid, rel=1e-3)


def few_sample_fid(a: torch.Tensor, b: torch.Tensor) -> float:
    """FID of sets smaller than the dimension, exactly and fast: the nonzero eigenvalues of S_a S_b are the squared
    singular values of A B^T / sqrt((n_a - 1)(n_b - 1)) for the centred sets A, B (pytorch-fid's scipy sqrtm takes
    minutes on 2048 x 2048 matrices; its formula is compared with ours in 64 dimensions above)."""
    a, b = a.double(), b.double()
    ca, cb = a - a.mean(0), b - b.mean(0)
    scale = math.sqrt((len(a) - 1) * (len(b) - 1))
    trace_sqrt = torch.linalg.svdvals(ca @ cb.T).sum() / scale
    means = (a.mean(0) - b.mean(0)).square().sum()
    return float(means + ca.square().sum() / (len(a) - 1) + cb.square().sum() / (len(b) - 1) - 2 * trace_sqrt)


def test_few_sample_fid_is_fid():
    a, b = features(30, 8, seed=9), features(20, 8, seed=10, shift=0.5)
    assert few_sample_fid(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(fid_from_features(a, b),
                                                                                     rel=1e-9)


def test_fid_inception_holds_torch_fidelitys_network_too(fid_weights):
    """The same tensor names load into torch-fidelity's port; at 299 px (no resizing) pool3 and the unbiased
    logits of the Inception Score agree once the pixels are scaled as it scales them ((x - 128) / 128)."""
    pytest.importorskip("torch_fidelity")
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    theirs = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                         feature_extractor_weights_path=str(fid_weights))
    ours = get_extractor(f"fid-inception:{fid_weights}")
    images = image_set(2, 299, seed=3)
    pool3, logits = theirs(images)
    our_pool3, our_logits = ours.module.features_and_logits((images.float() - 128) / 128)
    assert (our_pool3 - pool3).abs().max() <= 1e-5 * pool3.abs().max()
    assert (our_logits - logits).abs().max() <= 1e-5 * logits.abs().max()


def test_fid_inception_rounds_to_8_bits_and_resizes_like_pytorch_fid(fid_weights):
    ex = get_extractor(f"fid-inception:{fid_weights}")
    assert ex.feature_dim == 2048 and ex.num_classes == 1008 and ex.resolution == 299

    def resized(x):
        return torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)

    real = torch.randint(0, 256, (2, 1, 28, 28)).float() / 127.5 - 1
    assert torch.allclose(ex.prepare(real), resized(real.expand(-1, 3, -1, -1)), atol=1e-6)  # uint8 data unchanged
    assert torch.equal(ex.prepare(real + 0.001), ex.prepare(real))  # generated samples are rounded as a PNG is
    big = torch.rand(1, 3, 320, 320) * 2 - 1
    rounded = torch.round((big + 1) * 127.5) / 127.5 - 1
    assert torch.allclose(ex.prepare(big), resized(rounded), atol=1e-6)  # shrunk without antialiasing


def test_fid_inception_weights_are_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(ConfigError) as err:
        get_extractor("fid-inception")
    message = str(err.value)
    assert FID_INCEPTION_FILE in message and FID_INCEPTION_URL in message
    assert str(tmp_path / "hub" / "checkpoints") in message and "fid-inception:FILE" in message
    assert "\n" not in message and message.count(". ") == 0  # one sentence
    with pytest.raises(ConfigError, match="does not exist"):
        get_extractor(f"fid-inception:{tmp_path / 'nowhere.pth'}")
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, wrong)
    with pytest.raises(ConfigError, match="does not hold the FID Inception weights"):
        get_extractor(f"fid-inception:{wrong}")


def test_fid_inception_is_found_in_the_torch_hub_cache(fid_weights, tmp_path, monkeypatch):
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "hub" / "checkpoints" / FID_INCEPTION_FILE).symlink_to(fid_weights)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert get_extractor("fid-inception").name == "fid-inception"


def _has(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False
