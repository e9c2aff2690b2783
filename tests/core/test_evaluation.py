"""Feature extractors, cached reference statistics, evaluation of generators, in training and from the CLI."""
from __future__ import annotations

import json
import pickle
import pytest
import torch

from ganstudio.cli import main
from ganstudio.core.config import RunConfig
from ganstudio.core.data.sources import DatasetInfo, TrainingData, load_data
from ganstudio.core.metrics import Evaluator, evaluate, extractors, get_extractor
from ganstudio.core.metrics.extractors import INCEPTION_FILE, shipped_path
from ganstudio.core.metrics.networks import load_network
from ganstudio.core.metrics.reference import reference_stats
from ganstudio.core.models.registry import build_models
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.loop import Trainer
from ganstudio.core.errors import ConfigError
from tests.conftest import tiny_config, tiny_images


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Reference statistics go to a temporary folder, never the user's cache."""
    monkeypatch.setenv("GANSTUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def digit_like(n: int = 120, seed: int = 0) -> TrainingData:
    """Random 1x28x28 images with ten classes named like MNIST's, so the mnist extractor's checks pass."""
    data = tiny_images(n=n, channels=1, resolution=28, classes=10, seed=seed)
    data.info = DatasetInfo("memory", 1, 28, 10, tuple(str(d) for d in range(10)), n, False, True)
    return data


def tiny_generator(channels: int = 1, resolution: int = 28, conditional: bool = False):
    cfg = tiny_config(conditional=conditional, num_classes=10 if conditional else 0,
                      channels=channels, resolution=resolution)
    return build_models(cfg.model, cfg.loss)[0].eval()


# -- extractors ---------------------------------------------------------------------------------------------


def test_shipped_mnist_classifier_reaches_99_percent_on_the_real_test_set(shared_data):
    from torchvision.datasets import MNIST

    test = MNIST(str(shared_data), train=False, download=False)
    net, meta = load_network(shipped_path("mnist"))
    with torch.no_grad():
        x = test.data.unsqueeze(1).float().div(127.5).sub(1)
        predicted = torch.cat([net(x[i:i + 2000]).argmax(1) for i in range(0, len(x), 2000)])
    accuracy = (predicted == test.targets).float().mean().item()
    assert accuracy >= 0.99
    assert meta["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)  # the model card's number is this one


def test_shipped_extractors_are_small_and_give_features():
    for name, shape, dim, classes in (("mnist", (1, 28, 28), 128, 10), ("celeba", (3, 64, 64), 256, 0)):
        assert shipped_path(name).stat().st_size < 2_000_000
        assert shipped_path(name).with_suffix(".md").is_file()  # the model card ships beside the weights
        ex = get_extractor(name)
        features, probabilities = ex(torch.rand(5, *shape) * 2 - 1)
        assert features.shape == (5, dim) and torch.isfinite(features).all()
        assert (probabilities is None) == (classes == 0)
        if classes:
            assert probabilities.shape == (5, classes)
            assert torch.allclose(probabilities.sum(1), torch.ones(5))


def test_extractors_refuse_data_they_cannot_read_with_one_sentence():
    colour = tiny_images(n=20, channels=3, resolution=64)
    with pytest.raises(ConfigError, match="reads grayscale"):
        get_extractor("mnist").check(colour.info)
    with pytest.raises(ConfigError, match="reads colour"):
        get_extractor("celeba").check(digit_like().info)
    with pytest.raises(ConfigError, match="unknown extractor 'resnet'"):
        get_extractor("resnet")
    toy = load_data(RunConfig().data.__class__(source="toy:ring8", toy_samples=100))
    with pytest.raises(ConfigError, match="toy 2D data has no images"):
        get_extractor("mnist").check(toy.info)
    with pytest.raises(ConfigError, match="for toy 2D data"):
        get_extractor("points").check(colour.info)
    note = get_extractor("celeba").check(tiny_images(n=20, channels=3, resolution=32).info)
    assert "32x32 images resized to 64x64" in note


def test_missing_inception_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.delenv("GANSTUDIO_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(ConfigError) as err:
        get_extractor("inception")
    message = str(err.value)
    assert INCEPTION_FILE in message and str(tmp_path / "hub" / "checkpoints") in message
    assert "--inception-weights" in message and "\n" not in message


def test_inception_extractor_with_a_weights_file(tmp_path):
    """Randomly initialised torchvision Inception-v3 weights stand in for the ImageNet ones (no network here)."""
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    path = tmp_path / INCEPTION_FILE
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=True).state_dict(), path)
    ex = get_extractor(f"inception:{path}")
    assert ex.feature_dim == 2048 and ex.num_classes == 1000 and ex.resolution == 299
    assert "grayscale repeated" in ex.check(digit_like().info)
    features, probabilities = ex(torch.rand(3, 1, 28, 28) * 2 - 1)
    assert features.shape == (3, 2048) and probabilities.shape == (3, 1000)
    assert torch.isfinite(features).all() and torch.allclose(probabilities.sum(1), torch.ones(3))

    class Hostile:
        def __reduce__(self):
            return (print, ("this would run code",))

    bad = tmp_path / "hostile.pth"
    bad.write_bytes(pickle.dumps({"weight": Hostile()}, protocol=2))
    with pytest.raises(ConfigError, match="cannot read Inception-v3 weights"):
        get_extractor(f"inception:{bad}")


def test_a_registered_extractor_plugs_into_evaluation(monkeypatch):
    from ganstudio.core.metrics import FeatureExtractor, register_extractor

    monkeypatch.setattr(extractors, "_FACTORIES", dict(extractors._FACTORIES))  # leave the registry as it was

    @register_extractor("pixels")
    def pixels(argument: str, device: str) -> FeatureExtractor:
        return FeatureExtractor("pixels", "downsampled pixels", 49, "pixels-v1",
                                lambda x: (torch.nn.functional.avg_pool2d(x, 4).flatten(1), None), channels=1)

    assert "pixels" in extractors.extractor_names()
    record = evaluate(tiny_generator(), digit_like(), "fid,pr", n=60, extractor="pixels")
    assert record["extractor"] == "pixels" and record["fid"] > 0


# -- reference statistics and evaluation ------------------------------------------------------------------


def test_reference_statistics_are_cached_and_keyed_by_data(private_cache):
    data, ex = digit_like(), get_extractor("mnist")
    first = reference_stats(data, ex, n=100)
    again = reference_stats(data, ex, n=100)
    assert not first.from_cache and again.from_cache
    assert torch.equal(first.features, again.features) and (first.stats.cov == again.stats.cov).all()
    assert list((private_cache / "reference").glob("mnist-*.safetensors"))
    assert not list((private_cache / "reference").glob("*.tmp"))
    other = reference_stats(digit_like(seed=1), ex, n=100)  # same shape and size, other pixels
    assert not other.from_cache and other.key != first.key
    assert reference_stats(data, ex, n=50).key != first.key


def test_evaluate_a_generator_on_digits_with_every_metric():
    data = digit_like()
    G = tiny_generator(conditional=True)
    record = evaluate(G, data, "all", n=100, extractor="mnist")
    assert record["metrics"] == ["fid", "kid", "is", "pr", "dc", "classes"]
    assert record["fid"] > 0 and 1.0 <= record["is"] <= 10.0
    assert 0 <= record["precision"] <= 1 and 0 <= record["recall"] <= 1
    assert len(record["class_histogram"]) == 10 and record["class_kl"] >= 0
    assert 0 <= record["class_accuracy"] <= 1  # conditional G: share of samples classified as asked
    json.dumps(record, allow_nan=False)
    assert G.training is False


def test_a_generator_of_the_data_itself_scores_perfectly():
    """A 'generator' that returns real images: FID near 0, precision and recall 1, IS of the real set."""
    data = digit_like(n=200)

    class Replay(torch.nn.Module):
        z_dim = 4

        def __init__(self):
            super().__init__()
            self.cursor = 0

        def forward(self, z, c=None):
            order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
            idx = order[self.cursor:self.cursor + len(z)]
            self.cursor += len(z)
            return data.get(idx)[0]

    record = evaluate(Replay(), data, "fid,pr,dc", n=200, extractor="mnist")
    assert record["fid"] < 1e-6 and record["precision"] == 1.0 and record["recall"] == 1.0
    assert record["coverage"] == 1.0


def test_bad_metric_requests_fail_with_one_sentence():
    data = digit_like()
    with pytest.raises(ConfigError, match="unknown metric 'fud'"):
        Evaluator(data, "fid,fud", 100, "mnist")
    with pytest.raises(ConfigError, match="Inception Score needs a classifier"):
        Evaluator(tiny_images(n=40, channels=3, resolution=64), "is", 100, "celeba")
    with pytest.raises(ConfigError, match="mode coverage needs a toy mixture"):
        Evaluator(data, "modes", 100, "mnist")
    with pytest.raises(ConfigError, match="generator makes 3x64x64 samples"):
        Evaluator(data, "fid", 100, "mnist").evaluate(tiny_generator(3, 64))


# -- during training --------------------------------------------------------------------------------------


def test_evaluation_during_training_writes_records_and_keeps_the_trajectory(tmp_path, monkeypatch):
    monkeypatch.delenv("GANSTUDIO_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))  # no Inception weights here
    extractors._shipped.cache_clear()  # loading the extractor inside the run must not move its RNG either
    cfg = tiny_config(steps=7).with_updates("data", resolution=28)
    straight = Trainer(cfg, tmp_path / "plain", data=digit_like(n=64))
    list(straight)
    evaluated = cfg.with_updates("train", eval_every=3, eval_samples=64, eval_metrics=("fid", "pr", "classes"))
    trainer = Trainer(evaluated, tmp_path / "eval", data=digit_like(n=64))
    reports = list(trainer)
    assert [r.step for r in reports if r.evaluation] == [3, 6, 7]  # every 3 steps and at the end
    records = RunFolder(tmp_path / "eval").read_evals()
    assert [r["step"] for r in records] == [3, 6, 7]
    assert all({"fid", "precision", "recall", "class_kl", "classes_covered", "mode_collapse_warning",
                "extractor", "seconds"} <= set(r) for r in records)
    assert records[0]["extractor"] == "mnist"  # auto without Inception weights: grayscale -> the digit classifier
    assert "Inception-v3 weights not found" in records[0]["notes"][0]
    assert records[-1] == reports[-1].evaluation
    assert "evaluation" not in RunFolder(tmp_path / "eval").read_metrics()[4]
    losses = [(r["loss_d"], r["loss_g"]) for r in RunFolder(tmp_path / "plain").read_metrics()]
    assert losses == [(r["loss_d"], r["loss_g"]) for r in RunFolder(tmp_path / "eval").read_metrics()]


def test_toy_training_tracks_modes_and_resume_keeps_the_best(tmp_path):
    cfg = (RunConfig().with_updates("data", source="toy:ring8", toy_samples=2000)
           .with_updates("model", arch="mlp", z_dim=2, capacity=8)
           .with_updates("train", steps=6, epochs=None, batch_size=64, eval_every=3, eval_samples=500,
                         checkpoint_every=3, sample_every=0, device="cpu"))
    run = tmp_path / "ring"
    list(Trainer(cfg, run))
    records = RunFolder(run).read_evals()
    assert [r["step"] for r in records] == [3, 6]
    assert all(r["modes_total"] == 8 and "modes_covered" in r and "high_quality" in r for r in records)
    assert records[0]["metrics"] == ["modes", "fid", "pr"] and records[0]["extractor"] == "points"
    trainer = Trainer.resume(run, steps=9)
    assert [r["step"] for r in RunFolder(run).read_evals()] == [3, 6]
    assert trainer.evaluator.watch.best["modes_covered"] == max(r["modes_covered"] for r in records)
    list(trainer)
    assert [r["step"] for r in RunFolder(run).read_evals()] == [3, 6, 9]


def test_config_rejects_unknown_eval_metrics():
    with pytest.raises(ConfigError, match="unknown metric 'fidd'"):
        tiny_config().with_updates("train", eval_metrics=("fidd",)).validate()


# -- the command line -------------------------------------------------------------------------------------


def test_eval_cli_on_a_tiny_checkpoint(tmp_path, capsys):
    run = tmp_path / "ring"
    assert main(["train", "--data", "toy:ring8", "--steps", "20", "--batch-size", "64", "--out", str(run),
                 "--quiet"]) == 0
    out = tmp_path / "eval.json"
    assert main(["eval", "--checkpoint", str(run), "--n", "500", "--metrics", "modes,fid,pr,kid",
                 "--out", str(out), "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "modes covered" in table and "FID" in table and "precision" in table and "KID" in table
    record = json.loads(out.read_text())
    assert record["step"] == 20 and record["n"] == 500 and record["extractor"] == "points"
    assert {"fid", "kid", "precision", "recall", "modes_covered", "high_quality"} <= set(record)


def test_eval_cli_on_mnist_with_the_shipped_classifier(shared_data, tmp_path, capsys):
    run = tmp_path / "mnist"
    assert main(["train", "--data", "mnist", "--data-root", str(shared_data), "--capacity", "8", "--batch-size",
                 "16", "--steps", "2", "--out", str(run), "--quiet"]) == 0
    out = tmp_path / "eval.json"
    assert main(["eval", "--checkpoint", str(run), "--data-root", str(shared_data), "--n", "300",
                 "--out", str(out), "--quiet"]) == 0
    record = json.loads(out.read_text())
    assert record["extractor"] == "mnist" and record["metrics"] == ["fid", "kid", "pr", "is", "classes"]
    assert record["fid"] > 0 and len(record["class_histogram"]) == 10
    assert "IS (analogue)" in capsys.readouterr().out


@pytest.mark.parametrize("extra,message", [
    (["--metrics", "fid,sharpness"], "unknown metric 'sharpness'"),
    (["--extractor", "mnist"], "toy 2D data has no images for the mnist extractor"),
    (["--data", "mnist"], "this generator makes 2D points, so it cannot be measured against mnist"),
])
def test_eval_cli_errors_are_one_line(tmp_path, capsys, extra, message):
    run = tmp_path / "ring"
    assert main(["train", "--data", "toy:ring8", "--steps", "2", "--batch-size", "8", "--out", str(run),
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run), "--n", "50", "--quiet", *extra]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("ganstudio eval: error:") and message in lines[-1]
    assert len([line for line in lines if "error" in line]) == 1
