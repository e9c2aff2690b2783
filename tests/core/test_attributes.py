"""Named attribute directions (InterFaceGAN): boundary fitting, conditioning, the CLI, and the shipped face
model's sliders checked against the attribute classifier."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstudio.core.latent.attributes import (
    AttributeClassifier, Boundary, attribute_directions, check_directions, condition, display_name,
    fit_boundary, parse_conditions,
)
from ganstudio.core.latent.directions import Directions
from ganstudio.core.models.registry import build_models
from ganstudio.core.errors import GanStudioError
from tests.conftest import tiny_config


def test_fit_boundary_recovers_a_known_normal():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 16, generator=gen) * torch.linspace(0.5, 2.0, 16)  # unequal spreads, as in w
    true = torch.zeros(16)
    true[3], true[7] = 0.6, -0.8
    scores = x @ true + 0.1 * torch.randn(4000, generator=gen)
    b = fit_boundary(x, scores, "Smiling")
    assert float(b.normal.norm()) == pytest.approx(1.0, abs=1e-5)
    assert float(b.normal @ true) > 0.99  # the direction, and its sign: towards higher scores
    assert b.correlation > 0.98 and b.train_correlation > 0.98
    noise = fit_boundary(x, torch.randn(4000, generator=gen), "Young")  # scores unrelated to the latent
    assert abs(noise.correlation) < 0.1


def test_fit_boundary_refuses_too_few_samples():
    with pytest.raises(GanStudioError, match="too few samples"):
        fit_boundary(torch.randn(20, 4), torch.randn(20), "Male")
    with pytest.raises(GanStudioError, match="do not depend"):
        fit_boundary(torch.randn(200, 4), torch.zeros(200), "Male")


def test_condition_projects_out_other_normals():
    gen = torch.Generator().manual_seed(1)
    a, b, c = (torch.nn.functional.normalize(torch.randn(32, generator=gen), dim=0) for _ in range(3))
    make = lambda n, name: Boundary(name, n, 0.9, 0.9)  # noqa: E731
    out = condition(make(a, "Blond_Hair"), [make(b, "Male"), make(c, "Young")])
    assert out.conditioned_on == ("Male", "Young")
    assert float(out.normal.norm()) == pytest.approx(1.0, abs=1e-5)
    assert abs(float(out.normal @ b)) < 1e-5 and abs(float(out.normal @ c)) < 1e-5
    assert float(out.normal @ a) > 0.5  # still mostly the attribute's own direction
    with pytest.raises(GanStudioError, match="coincide"):
        condition(make(a, "Male"), [make(a, "Smiling")])


def test_parse_conditions_and_names():
    assert parse_conditions(["Blond_Hair:Male", "Eyeglasses: Male, Young"]) == {
        "Blond_Hair": ("Male",), "Eyeglasses": ("Male", "Young")}
    with pytest.raises(GanStudioError, match="ATTRIBUTE:OTHER"):
        parse_conditions(["Smiling"])
    assert display_name("Blond_Hair") == "Blond hair"


def test_classifier_rejects_unknown_attributes_and_grayscale():
    clf = AttributeClassifier()
    assert "Smiling" in clf.attributes and len(clf.attributes) == 40
    with pytest.raises(GanStudioError, match="unknown CelebA attribute"):
        clf.indices(["Smiling", "Sunglasses"])
    with pytest.raises(GanStudioError, match="colour"):
        clf.logits(torch.zeros(2, 1, 64, 64), ["Smiling"])


def _tiny_face_model():
    cfg = tiny_config("stylegan", channels=3, w_dim=16, mapping_layers=2, resolution=32).with_updates(
        "data", channels=3, resolution=32).with_updates("model", capacity=4)
    torch.manual_seed(0)
    G, _ = build_models(cfg.model, cfg.loss)
    return G.eval(), cfg


def test_attribute_directions_on_a_tiny_stylegan_round_trip(tmp_path):
    G, cfg = _tiny_face_model()
    fit = attribute_directions(G, cfg, ["Smiling", "Male", "Blond_Hair"], n_samples=400,
                               conditions={"Blond_Hair": ("Male",)})
    d = fit.directions
    assert d.method == "attributes" and d.space == "w" and d.vectors.shape == (3, 16)
    assert d.names == ["Smiling", "Male", "Blond hair"]
    assert d.model["attributes"] == ["Smiling", "Male", "Blond_Hair"]
    assert d.model["conditioned_on"] == [[], [], ["Male"]]
    assert abs(float(np.dot(d.vectors[2], d.vectors[1]))) < 1e-4  # conditioned on Male: orthogonal to it
    assert np.all(d.scales > 0) and fit.cosines.shape == (3, 3)
    d.save(tmp_path / "faces.json")
    loaded = Directions.load(tmp_path / "faces.json")
    assert loaded.model["attributes"] == d.model["attributes"] and loaded.names == d.names
    checks = check_directions(G, cfg, loaded, seeds=[1, 2], amounts=(-2.0, 0.0, 2.0))
    assert [c.attribute for c in checks] == ["Smiling", "Male", "Blond_Hair"]
    assert all(len(c.mean_probability) == 3 and 0 <= c.monotonic_share <= 1 for c in checks)


def test_attribute_directions_refuse_conditional_and_unfitted_conditions():
    G, cfg = _tiny_face_model()
    with pytest.raises(GanStudioError, match="not fitted"):
        attribute_directions(G, cfg, ["Smiling"], n_samples=100, conditions={"Male": ("Smiling",)})
    cond = tiny_config("dcgan", conditional=True, num_classes=10)
    Gc, _ = build_models(cond.model, cond.loss)
    with pytest.raises(GanStudioError, match="unconditional"):
        attribute_directions(Gc, cond, ["Smiling"], n_samples=100)


def test_cli_directions_attributes(tmp_path, capsys):
    from ganstudio.cli import main
    from ganstudio.core.checkpoints import Checkpoint, save_checkpoint

    G, cfg = _tiny_face_model()
    ckpt = tmp_path / "tiny.safetensors"
    save_checkpoint(ckpt, Checkpoint(config=cfg, step=1, modules={"G_ema": G.state_dict()}))
    out = tmp_path / "attrs.json"
    code = main(["directions", "--checkpoint", str(ckpt), "--method", "attributes", "--samples", "300",
                 "--attributes", "Smiling,Male", "--condition", "Smiling:Male", "--check-seeds", "2",
                 "--out", str(out)])
    assert code == 0
    assert Directions.load(out).model["conditioned_on"] == [["Male"], []]
    printed = capsys.readouterr()
    assert "held-out correlation" in printed.err and "monotonic" in printed.out
    assert main(["directions", "--checkpoint", str(ckpt), "--method", "attributes", "--samples", "300",
                 "--attributes", "Smiling,Sunglasses", "--out", str(out)]) == 1
    assert "unknown CelebA attribute(s) Sunglasses" in capsys.readouterr().err
