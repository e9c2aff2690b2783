"""The explorer's choices and the requests built from them, without Qt or a display (core/explorer.py)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ganstudio.core import export
from ganstudio.core.explorer import IMAGE, MIX, MIX_GRID, ExplorerState
from ganstudio.core.latent.directions import compute_directions
from ganstudio.core.latent.sampling import MAX_SEED
from ganstudio.core.render import LatentEdit, RenderRequest, StyleMix, layer_groups
from tests.fake_stylegan import fake_stylegan


def recorded(state: ExplorerState) -> list[tuple]:
    """Every event the state sends, as (event, argument)."""
    seen: list[tuple] = []
    for name in ("changed", "amounts", "directions"):
        getattr(state.events, name).connect(lambda arg, name=name: seen.append((name, arg)))
    return seen


@pytest.fixture
def directions():
    G, cfg = fake_stylegan(num_ws=10)
    return compute_directions(G, cfg, "sefa", 3)


def test_choices_send_one_event_each_and_build_the_main_request():
    state = ExplorerState(conditional=True, seed=4, psi=0.7)
    seen = recorded(state)
    assert state.request() == RenderRequest(seed=4, class_index=0, psi=0.7)
    state.set_seed(MAX_SEED + 3)
    state.set_class(2)
    state.set_class_blend(1, 0.25)
    state.set_psi(0.5)
    state.set_interpolation(9, t=0.5, frames=1)
    assert seen == [("changed", IMAGE)] * 5
    assert state.seed == 2 and state.frames == 2  # seeds wrap; a strip has at least 2 frames
    assert state.request() == RenderRequest(seed=2, class_index=2, psi=0.5, seed_b=9, seed_t=0.5, class_b=1,
                                            class_t=0.25)
    state.set_interpolation(None)
    assert state.request().seed_t == 0.0  # t only counts while there is a seed B
    assert 0 <= state.random_seed() < MAX_SEED and state.seed == state.request().seed


def test_strip_frames_are_core_exports_interpolation_with_the_class_blend_kept():
    state = ExplorerState(conditional=True)
    state.set_class_blend(3, 0.5)
    state.set_interpolation(7, t=0.3, frames=5)
    frames = state.strip_requests()
    base = RenderRequest(seed=0, class_index=0, class_b=3, class_t=0.5)
    assert [r.seed_t for r in frames] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert all(r.seed_b == 7 and (r.class_b, r.class_t) == (3, 0.5) for r in frames)
    plain = export.interpolation_requests(base, 5, seed_b=7)
    assert [(r.seed, r.seed_b, r.seed_t) for r in frames] == [(r.seed, r.seed_b, r.seed_t) for r in plain]


def test_mixing_rows_sources_and_grid(directions):
    state = ExplorerState(num_ws=10)
    assert state.mix.rows == tuple(range(*layer_groups(10)["fine"]))  # fine styles from B by default
    seen = recorded(state)
    state.set_mix(seed_a=3)
    state.set_mix(rows=[5, 1, 1], grid_a=(2,), grid_b=(8, 9))
    assert seen == [("changed", MIX), ("changed", MIX_GRID)] and state.mix.rows == (1, 5)
    a, b, mixed = state.mix_requests()
    assert a == state.plain_request(3) and b == state.plain_request(1)
    assert mixed.mix == StyleMix((1, 5), source=b)
    state.set_mix(seed_a=None)
    state.set_directions(directions)
    state.set_amount(0, 1.5)
    assert state.mix_requests()[0].edits == (LatentEdit(0, 1.5),)  # source A is the edited image
    grid = state.grid_requests()
    assert [r.seed for r in grid] == [2, 8, 9, 2, 2]
    assert [r.mix for r in grid[3:]] == [StyleMix((1, 5), seed=8), StyleMix((1, 5), seed=9)]


def test_sliders_amounts_names_and_layer_ranges(directions):
    state = ExplorerState(num_ws=10)
    seen = recorded(state)
    state.set_directions(directions)
    assert seen == [("directions", directions)] and state.amounts == [0.0, 0.0, 0.0]
    assert directions.layers == [None, None, None]
    del seen[:]
    state.set_amount(1, -2)
    state.rename(0, "  pose ")
    state.rename(0, "   ")  # an empty name is ignored
    state.set_layers(2, (8, 30))  # clamped to the model's 10 rows; amount 0: nothing to render
    state.set_layers(1, (0, 10))  # all rows: no range
    assert seen == [("amounts", True), ("amounts", False), ("amounts", False), ("amounts", True)]
    assert directions.names[0] == "pose" and directions.layers == [None, None, (8, 10)]
    assert state.edits() == (LatentEdit(1, -2.0, None),)
    state.set_layers(1, (4, 4))  # an empty range moves one row
    assert state.edits() == (LatentEdit(1, -2.0, (4, 5)),)
    state.reset_all()
    assert state.amounts == [0.0] * 3 and state.edits() == ()
    state.reset(num_ws=10)
    assert state.directions is None and state.amounts == [] and state.seed == 0


def test_the_state_needs_no_qt():
    code = ("import sys, ganstudio.core.explorer;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph')"
            " or m.startswith('ganstudio.gui')];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_source_s_set_is_kept_with_its_amounts_for_the_open_model():
    G, cfg = fake_stylegan(num_ws=10)
    sefa, pca = compute_directions(G, cfg, "sefa", 3), compute_directions(G, cfg, "pca", 2, n_samples=200)
    state = ExplorerState(num_ws=10)
    assert state.kept_set("sefa") is None
    state.set_directions(sefa)
    state.set_amount(1, 2.0)
    state.rename(0, "Pose")
    state.set_directions(pca)  # switching the source...
    assert state.amounts == [0.0, 0.0]
    kept, amounts = state.kept_set("sefa")  # ...keeps the other set as it was left
    assert kept is sefa and kept.names[0] == "Pose" and amounts == [0.0, 2.0, 0.0]
    state.set_directions(kept, amounts)
    assert state.amounts == [0.0, 2.0, 0.0] and state.kept_set("pca")[0] is pca
    state.reset(num_ws=10)  # another model: nothing kept
    assert state.kept_set("sefa") is None and state.directions is None


def test_remember_and_restore_bring_back_a_model_s_choices():
    G, cfg = fake_stylegan(num_ws=10)
    sefa = compute_directions(G, cfg, "sefa", 3)
    state = ExplorerState(num_ws=10, seed=4, psi=0.7)
    state.set_directions(sefa)
    state.set_seed(1234)
    state.set_psi(0.5)
    state.set_amount(2, -1.5)
    state.set_interpolation(77, t=0.25)
    saved = state.remember()
    state.reset(num_ws=0, conditional=True, seed=0, psi=1.0)  # another model in between
    state.set_seed(9)
    assert state.directions is None and state.seed == 9
    state.restore(saved)
    assert (state.seed, state.psi, state.num_ws, state.seed_b, state.seed_t) == (1234, 0.5, 10, 77, 0.25)
    assert state.directions is sefa and state.amounts == [0.0, 0.0, -1.5]
    assert state.request().edits == (LatentEdit(2, -1.5, None),)


def test_an_explicit_latent_is_rendered_edited_and_mixed_and_a_seed_leaves_it():
    import numpy as np
    import torch

    from ganstudio.core.render import Renderer

    G, cfg = fake_stylegan(num_ws=10)
    renderer = Renderer(G, cfg, compute_directions(G, cfg, "sefa", 3))
    state = ExplorerState(num_ws=10, seed=5)
    seen = recorded(state)
    ws = renderer.latent(RenderRequest(seed=11))[0].numpy() + 0.5  # a latent no seed gives
    state.set_latent(ws, "photo.jpg")
    assert seen == [("changed", IMAGE)] and state.latent_label == "photo.jpg"
    assert torch.allclose(renderer.latent(state.request())[0], torch.from_numpy(ws))
    assert not np.array_equal(renderer.render(state.request()).image, renderer.render(RenderRequest(seed=5)).image)
    state.set_directions(compute_directions(G, cfg, "sefa", 3))
    state.set_amount(0, 2.0)  # sliders move it
    assert not torch.allclose(renderer.latent(state.request())[0], torch.from_numpy(ws))
    one_row = renderer.latent(RenderRequest(ws=tuple(ws[0].tolist())))[0]  # one w row fills every style row
    assert torch.allclose(one_row, torch.from_numpy(ws[0]).expand(10, -1))
    a, _, mixed = state.mix_requests()  # the latent is source A of the mix
    assert a.ws == state.latent == mixed.ws
    bad = renderer.render(RenderRequest(ws=(0.0,) * 7))
    assert bad.image is None and "style rows" in bad.error
    state.set_seed(6)
    assert state.latent is None and state.request().ws is None


def test_an_adopted_latent_takes_the_edits_along_and_put_back_returns_exactly():
    """A dragged latent already holds the sliders and the interpolation: they go to zero (nothing is applied
    twice), and put_back returns to the image before."""
    import numpy as np
    import torch

    from ganstudio.core.render import Renderer

    G, cfg = fake_stylegan(num_ws=10)
    renderer = Renderer(G, cfg, compute_directions(G, cfg, "sefa", 3))
    state = ExplorerState(num_ws=10, seed=5)
    state.set_directions(renderer.directions)
    state.set_amount(1, 1.5)
    state.set_interpolation(8, t=0.25)
    before = renderer.render(state.request()).image
    ws = renderer.latent(state.request())[0].numpy()
    seen = recorded(state)
    undo = state.adopt_latent(ws, "dragged")
    assert seen == [("amounts", False), ("changed", IMAGE)]
    assert state.amounts == [0.0, 0.0, 0.0] and state.seed_t == 0.0 and state.latent_label == "dragged"
    assert np.array_equal(renderer.render(state.request()).image, before)  # the same picture, edits inside
    state.set_amount(0, 2.0)
    assert not torch.allclose(renderer.latent(state.request())[0], torch.from_numpy(ws))
    state.put_back(undo)
    assert state.latent is None and state.amounts == [0.0, 1.5, 0.0] and state.seed_t == 0.25
    assert np.array_equal(renderer.render(state.request()).image, before)
