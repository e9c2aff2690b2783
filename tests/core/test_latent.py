"""Latent directions, truncation, interpolation and the newest-request-wins renderer (z-space models)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from ganstudio.core.config import LossConfig, ModelConfig, RunConfig
from ganstudio.core.latent.directions import Directions, compute_directions
from ganstudio.core.latent.sampling import lerp, slerp, z_for_seed
from ganstudio.core.models.registry import build_models
from ganstudio.core.render import AsyncRenderer, LatentEdit, Renderer, RenderRequest, layer_groups
from ganstudio.core.errors import GanStudioError


def model(arch="dcgan", conditional=False, seed=0):
    torch.manual_seed(seed)
    m = ModelConfig(arch=arch, capacity=8, z_dim=16, resolution=16, channels=3, conditional=conditional,
                    num_classes=4 if conditional else 0)
    cfg = RunConfig(model=m)
    G, _ = build_models(m, LossConfig())
    return G.eval(), cfg


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_sefa_directions_are_orthonormal_and_sorted(arch):
    G, cfg = model(arch)
    d = compute_directions(G, cfg, "sefa", k=8)
    v = torch.as_tensor(d.vectors)
    assert v.shape == (8, 16)
    assert torch.allclose(v @ v.T, torch.eye(8), atol=1e-4)
    assert np.all(np.diff(d.scores) <= 1e-6)
    # the top direction really is the one the first layer responds to most
    first = next(m for m in G.modules() if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Linear)))
    w = first.weight.detach()
    A = w[:16].reshape(16, -1).T if arch == "dcgan" else w[:, :16]
    gains = (A @ v.T).norm(dim=0)
    assert gains[0] >= gains.max() - 1e-5


def test_pca_directions_are_unit_and_ranked_by_variance():
    G, cfg = model()
    d = compute_directions(G, cfg, "pca", k=5, n_samples=600)
    assert np.allclose(np.linalg.norm(d.vectors, axis=1), 1.0, atol=1e-5)
    assert np.all(np.diff(d.scores) <= 1e-6) and d.space == "z"


def test_moving_along_a_direction_and_back_restores_the_image():
    G, cfg = model()
    r = Renderer(G, cfg, compute_directions(G, cfg, "sefa", k=4))
    base = r.render(RenderRequest(seed=3)).image
    moved = r.render(RenderRequest(seed=3, edits=(LatentEdit(0, 2.5),))).image
    back = r.render(RenderRequest(seed=3, edits=(LatentEdit(0, 0.0),))).image
    assert not np.array_equal(base, moved)
    assert np.array_equal(base, back)
    assert r.render(RenderRequest(seed=3)).image.shape == (16, 16, 3)


def test_truncation_and_classes():
    z1 = z_for_seed(5, 64)
    zt = z_for_seed(5, 64, psi=0.5)
    assert torch.equal(z1, z_for_seed(5, 64)) and zt.abs().max() <= 1.0 + 1e-6
    G, cfg = model(conditional=True)
    r = Renderer(G, cfg)
    a, b = r.render(RenderRequest(seed=1, class_index=0)), r.render(RenderRequest(seed=1, class_index=2))
    assert not np.array_equal(a.image, b.image)
    bad = r.render(RenderRequest(seed=1, class_index=9))
    assert bad.image is None and "out of range" in bad.error


def test_interpolation_endpoints():
    a, b = torch.randn(1, 8), torch.randn(1, 8)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    assert torch.allclose(lerp(a, b, 0.5), (a + b) / 2)


def test_direction_sets_round_trip_and_refuse_another_model(tmp_path):
    G, cfg = model()
    d = compute_directions(G, cfg, "sefa", k=3)
    d.names = ["smile", "age", "light"]
    d.save(tmp_path / "dirs.json")
    loaded = Directions.load(tmp_path / "dirs.json")
    assert loaded.names == d.names and np.allclose(loaded.vectors, d.vectors)
    G2, cfg2 = model("mlp")
    cfg2 = cfg2.with_updates("model", z_dim=16)
    other = RunConfig(model=ModelConfig(arch="dcgan", z_dim=32, capacity=8, resolution=16, channels=3))
    G3, _ = build_models(other.model, LossConfig())
    with pytest.raises(GanStudioError, match="belong to a dcgan model with a 16-d z space"):
        Renderer(G3, other, loaded)
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(GanStudioError, match="not a GAN Studio direction set"):
        Directions.load(tmp_path / "junk.json")


def test_async_renderer_keeps_only_the_newest_request():
    G, cfg = model()
    results = []
    done = threading.Event()

    def on_result(result):
        results.append(result)
        if result.request.seed == 199:
            done.set()

    r = Renderer(G, cfg)
    slow_render = r.render

    def slow(request, stamp=0):  # a render slower than the submissions, as while dragging a slider
        time.sleep(0.01)
        return slow_render(request, stamp)

    r.render = slow
    renderer = AsyncRenderer(r, on_result)
    for seed in range(200):
        renderer.submit(RenderRequest(seed=seed))
    assert done.wait(10)
    renderer.close()
    stamps = [res.stamp for res in results]
    assert stamps == sorted(stamps) and len(results) < 50  # stale requests were skipped, not queued
    assert results[-1].request.seed == 199 and results[-1].error is None


def test_layer_groups_cover_every_row():
    g = layer_groups(10)
    assert g == {"coarse": (0, 4), "middle": (4, 8), "fine": (8, 10)}
