"""The pretrained models shipped in resources/models: the manifest, the files, and checks of what they promise:
the digit model obeys the class picker without collapsing, the face model's named sliders move the attribute
classifier's scores the right way."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganstudio.core.bundled import bundled_model, bundled_models, resolve_model_path
from ganstudio.core.checkpoints import load_generator
from ganstudio.core.latent.attributes import DEFAULT_ATTRIBUTES, check_directions
from ganstudio.core.latent.directions import Directions
from ganstudio.core.metrics.extractors import get_extractor
from ganstudio.core.errors import GanStudioError
from ganstudio.core.presets import find_preset


def test_manifest_lists_faces_then_digits_with_cards_and_presets():
    models = bundled_models()
    assert [m.key for m in models] == ["faces", "digits"]
    for m in models:
        assert m.file.stat().st_size < 10_000_000  # a few MB each
        assert m.card.is_file() and "## Training" in m.card.read_text()
        assert find_preset(m.preset).key == m.preset  # `ganstudio train --preset` reproduces it
    assert "non-commercial research" in bundled_model("faces").card.read_text()
    assert "CC BY-SA 3.0" in bundled_model("digits").card.read_text()
    assert resolve_model_path("bundled:digits") == bundled_model("digits").file
    assert str(resolve_model_path("runs/x")) == "runs/x"


def test_unknown_and_damaged_manifests_give_one_sentence(tmp_path):
    with pytest.raises(GanStudioError, match="no bundled model 'cats' \\(bundled: faces, digits\\)"):
        bundled_model("cats")
    (tmp_path / "models.json").write_text('{"models": [{"title": "no key"}]}')
    with pytest.raises(GanStudioError, match="damaged"):
        bundled_models(tmp_path)
    (tmp_path / "models.json").write_text(json.dumps({"models": [
        {"key": "gone", "title": "Gone", "file": "missing.safetensors"}]}))
    assert bundled_models(tmp_path) == []  # listed but not installed: not offered
    assert bundled_models(tmp_path / "nowhere") == []


def test_digit_model_draws_the_requested_digit_in_varied_styles():
    G, cfg = load_generator(bundled_model("digits").file, "cpu")
    assert cfg.model.conditional and cfg.model.num_classes == 10
    mnist = get_extractor("mnist")
    z = torch.randn(200, cfg.model.z_dim, generator=torch.Generator().manual_seed(7))
    labels = torch.arange(200) % 10
    with torch.no_grad():
        images = G(z, labels)
    _, probabilities = mnist(images)
    accuracy = float((probabilities.argmax(1) == labels).float().mean())
    assert accuracy > 0.95, f"only {accuracy:.0%} of digits are the class asked for"
    # within one class the samples differ (a collapsed model drew one image per class, with a pixel spread of
    # 0.05; MNIST's classes spread 0.18 (ones) to 0.36, their mean 0.31)
    spreads = [float(images[labels == k].std(0).mean()) for k in range(10)]
    assert min(spreads) > 0.1 and np.mean(spreads) > 0.2, f"within-class spreads {spreads}: the model ignores z"


def test_face_model_named_sliders_move_their_attribute():
    faces = bundled_model("faces")
    G, cfg = load_generator(faces.file, "cpu")
    directions = Directions.load(faces.directions)
    directions.check_fits(G, cfg)
    assert directions.model["attributes"] == list(DEFAULT_ATTRIBUTES)
    assert directions.names[:2] == ["Smiling", "Male"]
    checks = {c.attribute: c for c in check_directions(G, cfg, directions, seeds=range(2000, 2008))}
    smiling = checks["Smiling"]
    assert smiling.mean_is_monotonic, smiling.mean_probability
    assert smiling.rising_share == 1.0 and smiling.monotonic_share >= 0.75
    assert smiling.mean_probability[-1] - smiling.mean_probability[0] > 0.5
    for attribute in ("Male", "Blond_Hair", "Young", "Bangs"):
        c = checks[attribute]
        assert c.rising_share >= 0.75 and c.spearman > 0.5, (attribute, c)
    glasses = checks["Eyeglasses"]  # weak (the card says so), but the right way on average
    assert glasses.mean_probability[-1] > glasses.mean_probability[0] and glasses.spearman > 0
    # a conditioned slider is orthogonal to the normals it keeps fixed (checkable where that attribute's own
    # shipped slider is its unconditioned normal)
    conditioned = directions.model["conditioned_on"]
    attributes = directions.model["attributes"]
    pairs = [(i, attributes.index(o)) for i, others in enumerate(conditioned) for o in others
             if not conditioned[attributes.index(o)]]
    assert pairs, conditioned
    for i, j in pairs:
        assert abs(float(np.dot(directions.vectors[i], directions.vectors[j]))) < 1e-4, (attributes[i], attributes[j])
    assert np.all(np.isfinite(directions.scales)) and np.all(directions.scales > 0)


def test_command_line_takes_bundled_models(tmp_path, capsys):
    from ganstudio.cli import main

    out = tmp_path / "sevens.png"
    assert main(["sample", "--checkpoint", "bundled:digits", "--n", "4", "--class", "7", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert main(["sample", "--checkpoint", "bundled:cats", "--n", "4", "--out", str(out)]) == 1
    assert "no bundled model 'cats'" in capsys.readouterr().err
