"""The explorer's headless twins (ganstudio directions, sample --direction / --interpolate) and the renderer on a
real (tiny) StyleGAN: SeFa in w, edits on a layer range, style mixing rows, psi."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.cli import main
from ganstudio.core.checkpoints import load_generator
from ganstudio.core.latent.directions import Directions, compute_directions
from ganstudio.core.render import LatentEdit, Renderer, RenderRequest, StyleMix, layer_groups
from ganstudio.core.training.loop import Trainer
from tests.conftest import tiny_config, tiny_images
from tests.core.test_stylegan import style_config


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpts")
    out = {}
    for name, cfg, data in (("stylegan", style_config(steps=2), tiny_images(n=32, channels=3, resolution=32)),
                            ("dcgan", tiny_config(steps=2), tiny_images())):
        trainer = Trainer(cfg.with_updates("train", checkpoint_every=2), root / name, data=data)
        list(trainer)
        out[name] = trainer.run.latest_checkpoint()
    return out


def test_stylegan_sefa_directions_live_in_w_and_edit_only_their_rows(checkpoints):
    G, cfg = load_generator(checkpoints["stylegan"])
    d = compute_directions(G, cfg, "sefa", k=4)
    v = torch.as_tensor(d.vectors)
    assert d.space == "w" and torch.allclose(v @ v.T, torch.eye(4), atol=1e-4)
    r = Renderer(G, cfg, d)
    coarse = layer_groups(G.num_ws)["coarse"]
    base = r.latent(RenderRequest(seed=1))
    edited = r.latent(RenderRequest(seed=1, edits=(LatentEdit(0, 3.0, coarse),)))
    changed = (edited - base).abs().sum(dim=(0, 2)) > 0
    assert changed.tolist() == [coarse[0] <= i < coarse[1] for i in range(G.num_ws)]


def test_style_mixing_takes_exactly_the_chosen_rows_from_b(checkpoints):
    G, cfg = load_generator(checkpoints["stylegan"])
    r = Renderer(G, cfg)
    a = r.latent(RenderRequest(seed=1))
    b = r.latent(RenderRequest(seed=2))
    mixed = r.latent(RenderRequest(seed=1, mix=StyleMix(rows=(2, 3), seed=2)))
    for row in range(G.num_ws):
        expected = b if row in (2, 3) else a
        assert torch.equal(mixed[:, row], expected[:, row])
    same = r.render(RenderRequest(seed=5, psi=0.0)).image, r.render(RenderRequest(seed=9, psi=0.0)).image
    assert np.array_equal(*same)  # psi 0: the w_avg image whatever the seed


def test_directions_command_and_sample_with_a_direction(checkpoints, tmp_path):
    dirs = tmp_path / "dirs.json"
    assert main(["directions", "--checkpoint", str(checkpoints["dcgan"]), "--method", "sefa", "--n", "3",
                 "--out", str(dirs)]) == 0
    assert len(Directions.load(dirs)) == 3
    plain, moved, back = (tmp_path / f"{n}.npy" for n in ("plain", "moved", "back"))
    args = ["sample", "--checkpoint", str(checkpoints["dcgan"]), "--n", "4", "--seed", "3"]
    assert main(args + ["--out", str(plain)]) == 0
    assert main(args + ["--direction", f"{dirs}:0=3", "--out", str(moved)]) == 0
    assert main(args + ["--direction", f"{dirs}:0=3", "--direction", f"{dirs}:0=-3", "--out", str(back)]) == 0
    assert not np.allclose(np.load(plain), np.load(moved))
    assert np.allclose(np.load(plain), np.load(back), atol=1e-5)
    assert main(args + ["--direction", f"{dirs}:7=1", "--out", str(moved)]) == 1  # no direction 7


def test_stylegan_sample_with_direction_and_interpolation_gif(checkpoints, tmp_path):
    dirs = tmp_path / "w.json"
    ck = str(checkpoints["stylegan"])
    assert main(["directions", "--checkpoint", ck, "--method", "pca", "--n", "2", "--samples", "200",
                 "--out", str(dirs)]) == 0
    assert main(["sample", "--checkpoint", ck, "--n", "2", "--direction", f"{dirs}:1=2", "--psi", "0.7",
                 "--out", str(tmp_path / "edit.png")]) == 0
    gif = tmp_path / "walk.gif"
    assert main(["sample", "--checkpoint", ck, "--interpolate", "1", "2", "--frames", "5", "--out", str(gif)]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 5 and im.size == (32, 32)
