"""The GAN Lab picture of a 2D run: D's field, G's gradients, G's manifold, and that watching never changes the
run."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstudio.core.losses import get_loss
from ganstudio.core.toy_view import (
    MANIFOLD_SIZE, checkpoint_frame, discriminator_field, field_extent, generator_gradients, generator_manifold,
    grid_points, live_noise,
)
from ganstudio.core.training.process import receive, send, toy_frame_from, toy_frame_message
from ganstudio.core.training.loop import Trainer
from tests.run_helpers import toy_config


def test_field_is_d_at_each_cell_centre_with_rows_along_y():
    trainer = Trainer(toy_config(steps=1))
    D = trainer.discriminator
    field = discriminator_field(D, 2.0, 8, torch.sigmoid)
    points = grid_points(2.0, 8)
    assert field.shape == (8, 8)
    assert points[0].tolist() == pytest.approx([-1.75, -1.75]) and points[1].tolist() == pytest.approx([-1.25, -1.75])
    with torch.no_grad():
        direct = torch.sigmoid(D.eval()(points)).reshape(8, 8).numpy()
    assert np.allclose(field, direct, atol=1e-6)
    assert ((field > 0) & (field < 1)).all()


def test_gradients_point_where_g_loss_falls():
    trainer = Trainer(toy_config(steps=1))
    G, D, loss = trainer.generator, trainer.discriminator, get_loss(trainer.config.loss.name)
    z = live_noise(2, 64)
    fake, grads = generator_gradients(G, D, z, loss.g_loss)
    assert fake.shape == grads.shape == (64, 2)
    x = torch.from_numpy(fake)
    step = 1e-3 * torch.from_numpy(grads) / torch.from_numpy(grads).norm(dim=1, keepdim=True)
    with torch.no_grad():
        before = torch.stack([loss.g_loss(D(p[None])) for p in x])
        after = torch.stack([loss.g_loss(D(p[None])) for p in x + step])
    assert (after < before).float().mean() > 0.95
    assert all(p.grad is None for p in list(G.parameters()) + list(D.parameters()))


def test_watching_a_run_does_not_change_its_trajectory(one_thread):
    cfg = toy_config(steps=10).with_updates("model", spectral_norm=True, d_dropout=0.2)
    plain = [(r.loss_d, r.loss_g) for r in Trainer(cfg)]
    watched, trainer = [], Trainer(cfg)
    z = live_noise(cfg.model.z_dim, 128)
    real = trainer.real_sample(100)
    for report in trainer:
        watched.append((report.loss_d, report.loss_g))
        frame = trainer.toy_frame(real, z, n=16)
        assert frame.field.shape == (16, 16) and trainer.generator.training and trainer.discriminator.training
    assert watched == plain


def test_extent_covers_the_data_and_follows_strays_within_a_limit():
    real = np.array([[2.0, 0.0], [-2.0, 0.0]])
    assert field_extent(real) == 2.5
    assert field_extent(real, np.array([[4.0, 0.0]] * 10)) == 5.0
    assert field_extent(real, np.array([[1e6, 0.0]] * 10)) == 8.0  # at most 3x the data, rounded up


def test_a_saved_toy_run_gives_its_picture(tmp_path):
    trainer = Trainer(toy_config(steps=5), tmp_path / "run")
    list(trainer)
    frame, real = checkpoint_frame(tmp_path / "run")
    assert frame.step == 5 and frame.fake.shape == (256, 2) and real.shape == (1000, 2)
    assert frame.probability and frame.field.shape == (48, 48)


def test_manifold_is_g_over_a_grid_of_the_first_two_latent_dimensions():
    trainer = Trainer(toy_config(steps=1).with_updates("model", z_dim=5))
    G = trainer.generator
    mesh = generator_manifold(G, 5, n=7, extent=2.0)
    assert mesh.shape == (7, 7, 2) and mesh.dtype == np.float32
    z = torch.zeros(1, 5)
    z[0, 0], z[0, 1] = 2.0, -2.0 / 3  # node (i=2, j=6): z_0 along columns, z_1 along rows, the rest 0
    with torch.no_grad():
        assert np.allclose(mesh[2, 6], G.eval()(z)[0].numpy(), atol=1e-6)
    assert generator_manifold(Trainer(toy_config(steps=1).with_updates("model", z_dim=1)).generator, 1,
                              n=9).shape == (1, 9, 2)


def test_the_live_frame_carries_the_manifold_over_the_wire():
    import multiprocessing

    trainer = Trainer(toy_config(steps=1))
    frame = trainer.toy_frame(trainer.real_sample(100))
    assert frame.manifold.shape == (MANIFOLD_SIZE, MANIFOLD_SIZE, 2) and trainer.generator.training
    fields, arrays = toy_frame_message(frame)
    a, b = multiprocessing.Pipe(duplex=False)
    send(b, "progress", {"toy": fields}, arrays)
    _, got_fields, got_arrays = receive(a)
    again = toy_frame_from(got_fields["toy"], got_arrays)
    assert np.array_equal(again.manifold, frame.manifold) and np.array_equal(again.fake, frame.fake)


def test_a_saved_toy_run_whose_config_lies_about_its_size_is_refused_without_allocating(tmp_path):
    from ganstudio.core.checkpoints import load_checkpoint, save_checkpoint
    from ganstudio.core.errors import CheckpointError

    trainer = Trainer(toy_config(steps=2).with_updates("train", checkpoint_every=2), tmp_path / "run")
    list(trainer)
    ckpt = load_checkpoint(tmp_path / "run")
    ckpt.config = ckpt.config.with_updates("model", capacity=2_000_000)  # layers of 4 million by 4 million
    save_checkpoint(tmp_path / "lie.safetensors", ckpt)
    with pytest.raises(CheckpointError, match="generator weights in lie.safetensors do not match"):
        checkpoint_frame(tmp_path / "lie.safetensors")
