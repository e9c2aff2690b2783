"""The explorer's Qt-free parts for imported models: StyleGAN3's input transform in render requests, opening a
foreign file as a LoadedModel with its card, and the session kept for the next launch."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ganstudio.core.errors import CheckpointError
from ganstudio.core.explorer import ExplorerState, load_model, read_session, session_record
from ganstudio.core.imported import stylegan2
from ganstudio.core.latent.directions import compute_directions
from ganstudio.core.render import Renderer, RenderRequest
from tests.imported_fixtures import TINY, random_generator, write_nvidia_pickle, write_stylegan3_pickle


@pytest.fixture
def sg3(tmp_path, one_thread):
    return load_model(write_stylegan3_pickle(tmp_path / "sg3.pkl"), "cpu")


def test_a_pickle_loads_as_a_model_with_its_card(tmp_path, one_thread):
    path = write_nvidia_pickle(tmp_path / "ffhq.pkl", random_generator(stylegan2.ADA, TINY), TINY)
    loaded = load_model(path, "cpu")
    assert loaded.title == "ffhq.pkl" and loaded.path == path and loaded.step is None
    assert loaded.card.startswith("StyleGAN2-ADA (NVIDIA pickle), 16 px from ffhq.pkl") and "non-commercial" in loaded.card
    assert loaded.kind == "StyleGAN2-ADA (NVIDIA pickle)"
    assert not Renderer(loaded.G, loaded.config).has_input_transform
    (tmp_path / "junk.pkl").write_bytes(b"\x80\x04junk")
    with pytest.raises(CheckpointError, match="junk.pkl"):
        load_model(tmp_path / "junk.pkl", "cpu")


def test_the_input_transform_moves_the_image_and_goes_back_to_the_file_s(sg3):
    renderer = Renderer(sg3.G, sg3.config)
    assert renderer.has_input_transform
    still = renderer.render(RenderRequest(seed=3)).image
    moved = renderer.render(RenderRequest(seed=3, input_transform=(0.125, 0.0, 0.0))).image
    turned = renderer.render(RenderRequest(seed=3, input_transform=(0.0, 0.0, 45.0))).image
    assert not np.array_equal(still, moved) and not np.array_equal(still, turned)
    inner = slice(10, 22)  # 4 of 32 pixels to the right
    assert np.abs(moved[inner, inner].astype(int) - np.roll(still, 4, axis=1)[inner, inner]).mean() < 3
    assert np.array_equal(renderer.render(RenderRequest(seed=3)).image, still)  # None: the file's own transform
    batch = renderer.render_batch([RenderRequest(seed=3, input_transform=(0.125, 0.0, 0.0))] * 2)
    assert all(np.array_equal(r.image, moved) for r in batch.results)


def test_the_state_puts_the_transform_in_every_request():
    state = ExplorerState(num_ws=8)
    seen = []
    state.events.changed.connect(seen.append)
    assert state.request().input_transform is None
    state.set_transform(0.1, -0.2, 30)
    assert seen == ["image"] and state.request().input_transform == (0.1, -0.2, 30.0)
    assert state.plain_request(5).input_transform == (0.1, -0.2, 30.0)
    assert all(r.input_transform == (0.1, -0.2, 30.0) for r in state.mix_requests() + state.grid_requests())
    state.set_transform(0, 0, 0)
    assert state.request().input_transform is None


def test_a_session_survives_json_and_damage_is_left_out(sg3):
    directions = compute_directions(sg3.G, sg3.config, "sefa", 3)
    state = ExplorerState(num_ws=sg3.G.num_ws, seed=0)
    state.set_seed(42)
    state.set_psi(0.6)
    state.set_transform(0.05, 0.0, -20.0)
    state.set_directions(directions)
    state.set_amount(2, -1.25)
    state.set_layers(0, (1, 4))
    state.set_mix(rows=(5, 6))
    record = json.loads(json.dumps(session_record({"key": "k", "path": "/m.pkl"}, state.remember())))
    model, saved = read_session(record)
    assert model == {"key": "k", "path": "/m.pkl"}
    again = ExplorerState(num_ws=sg3.G.num_ws)
    again.restore(saved)
    assert (again.seed, again.psi, again.transform, again.amounts) == (42, 0.6, (0.05, 0.0, -20.0), [0.0, 0.0, -1.25])
    assert again.mix.rows == (5, 6) and again.directions.layers[0] == (1, 4)
    assert np.array_equal(again.directions.vectors, directions.vectors)
    assert again.request() == state.request()
    # damaged parts are left out; the rest comes back
    record["choices"].update(psi="lots", amounts=[1, 2], transform=[1, 2], mix={"bogus": 1}, directions={"x": 1})
    _, saved = read_session(record)
    assert saved["seed"] == 42 and "psi" not in saved and "transform" not in saved and "mix" not in saved
    assert "directions" not in saved
    assert read_session({"model": {}}) is None and read_session("nonsense") is None
