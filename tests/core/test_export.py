"""Exports (PNG at a scale, grids, GIF and MP4 with progress and cancel) and the renderer's interpolation,
batches, style mixing and channels, with tiny models."""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.core import export
from ganstudio.core.latent.directions import Directions, compute_directions
from ganstudio.core.latent.sampling import slerp, z_for_seed
from ganstudio.core.render import AsyncRenderer, BatchResult, LatentEdit, Renderer, RenderRequest, StyleMix
from ganstudio.core.errors import GanStudioError
from tests.core.test_latent import model
from tests.fake_stylegan import fake_stylegan


@pytest.fixture(scope="module")
def cond():
    G, cfg = model(conditional=True)
    return Renderer(G, cfg, compute_directions(G, cfg, "sefa", k=4))


def test_png_at_a_scale_repeats_every_pixel(cond, tmp_path):
    image = cond.render(RenderRequest(seed=1)).image
    path = export.save_png(image, tmp_path / "one", scale=3)
    assert path.name == "one.png"
    big = np.asarray(Image.open(path))
    assert big.shape == (48, 48, 3) and np.array_equal(big[::3, ::3], image) and np.array_equal(big[2::3, 1::3], image)
    with pytest.raises(GanStudioError, match="saved as .png"):
        export.save_png(image, tmp_path / "one.jpg")


def test_grids_have_the_expected_layout(cond):
    images = export.render_frames(cond, export.seed_grid_requests(RenderRequest(class_index=1), range(5)))
    grid = export.grid_image(images, columns=3, padding=2)
    assert grid.size == (2 + 3 * 18, 2 + 2 * 18)
    assert np.array_equal(np.asarray(grid)[2 + 18:2 + 18 + 16, 2 + 18:2 + 18 + 16], images[4])
    mix = export.mixing_grid_image(images[:2], images[2:5], [images[:3], images[1:4]], padding=0)
    cells = np.asarray(mix)
    assert mix.size == (4 * 16, 3 * 16) and np.all(cells[:16, :16] == 255)
    assert np.array_equal(cells[16:32, 48:64], images[2]) and np.array_equal(cells[:16, 16:32], images[2])


def test_interpolation_slerps_z_and_ends_at_both_seeds(cond):
    reqs = export.interpolation_requests(RenderRequest(seed=3, class_index=0), 5, seed_b=8)
    frames = export.render_frames(cond, reqs)
    assert np.array_equal(frames[0], cond.render(RenderRequest(seed=3, class_index=0)).image)
    assert np.array_equal(frames[-1], cond.render(RenderRequest(seed=8, class_index=0)).image)
    middle = cond.latent(reqs[2])
    assert torch.allclose(middle, slerp(z_for_seed(3, 16), z_for_seed(8, 16), 0.5), atol=1e-6)


def test_class_interpolation_moves_between_the_two_classes(cond):
    a = cond.render(RenderRequest(seed=2, class_index=0)).image
    b = cond.render(RenderRequest(seed=2, class_index=3)).image
    half = cond.render(RenderRequest(seed=2, class_index=0, class_b=3, class_t=0.5)).image
    assert np.array_equal(cond.render(RenderRequest(seed=2, class_index=0, class_b=3, class_t=1.0)).image, b)
    assert not np.array_equal(half, a) and not np.array_equal(half, b)


def test_a_batch_renders_the_same_pixels_as_single_requests(cond):
    reqs = [RenderRequest(seed=s, class_index=s % 4, edits=(LatentEdit(0, s / 2),), class_b=1, class_t=0.3 * (s % 2))
            for s in range(5)] + [RenderRequest(seed=1, class_index=7)]
    batch = cond.render_batch(reqs, chunk=4)
    for req, res in zip(reqs[:5], batch.results):
        assert np.array_equal(res.image, cond.render(req).image)
    assert batch.results[-1].image is None and "out of range" in batch.results[-1].error


def test_slider_sweep_loops_and_keeps_the_other_sliders(cond):
    base = RenderRequest(seed=1, edits=(LatentEdit(1, 0.5), LatentEdit(0, 2.0)))
    reqs = export.sweep_requests(base, 0, -2, 2, 5)
    assert [r.edits[-1].amount for r in reqs] == [-2, -1, 0, 1, 2, 1, 0, -1]
    assert all(r.edits[0] == LatentEdit(1, 0.5) and len(r.edits) == 2 for r in reqs)


def test_gif_has_every_frame_and_progress_reaches_the_end(cond, tmp_path):
    seen = []
    reqs = export.interpolation_requests(RenderRequest(seed=1), 6, seed_b=2)
    path = export.export_animation(cond, reqs, tmp_path / "walk.gif", fps=12, scale=2,
                                   progress=lambda done, total: seen.append((done, total)))
    gif = Image.open(path)
    assert gif.n_frames == 6 and gif.size == (32, 32) and gif.info["loop"] == 0
    assert seen[-1] == (12, 12) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_cancel_stops_an_export_and_writes_nothing(cond, tmp_path):
    calls = []
    cancel = lambda: len(calls) > 0  # noqa: E731 - cancel after the first chunk
    reqs = export.interpolation_requests(RenderRequest(seed=1), 40, seed_b=2)
    with pytest.raises(export.ExportCancelled, match="cancelled"):
        export.export_animation(cond, reqs, tmp_path / "walk.gif", progress=lambda d, t: calls.append(d),
                                cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_mp4_is_written_when_the_codec_is_present_or_refused_clearly(cond, tmp_path, monkeypatch):
    reqs = export.sweep_requests(RenderRequest(seed=1), 0, -2, 2, 4)
    if export.mp4_support() is None:
        import imageio.v3 as iio

        path = export.export_animation(cond, reqs, tmp_path / "sweep.mp4", fps=10, scale=3)
        video = iio.imread(path)
        assert video.shape == (6, 48, 48, 3)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as on a system without the package
    assert "imageio-ffmpeg" in export.mp4_support()
    with pytest.raises(GanStudioError, match="MP4 export needs"):
        export.export_animation(cond, reqs, tmp_path / "other.mp4")
    assert not (tmp_path / "other.mp4").exists()
    with pytest.raises(GanStudioError, match=".gif or .mp4"):
        export.write_animation([np.zeros((4, 4, 3), np.uint8)], tmp_path / "a.avi")


def test_style_mixing_replaces_exactly_the_chosen_rows():
    G, cfg = fake_stylegan()
    r = Renderer(G, cfg)
    base = r.latent(RenderRequest(seed=1, psi=0.7))
    other = r.latent(RenderRequest(seed=2, psi=0.7))
    mixed = r.latent(RenderRequest(seed=1, psi=0.7, mix=StyleMix((1, 4), seed=2)))
    rows = [i for i in range(6) if not torch.equal(mixed[0, i], base[0, i])]
    assert rows == [1, 4] and torch.equal(mixed[0, [1, 4]], other[0, [1, 4]])
    from_w = r.latent(RenderRequest(seed=1, psi=0.7, mix=StyleMix((0,), w=tuple(other.flatten().tolist()))))
    assert torch.allclose(from_w[0, 0], other[0, 0]) and torch.equal(from_w[0, 1:], base[0, 1:])
    assert r.render(RenderRequest(seed=1, mix=StyleMix((9,), seed=2))).error.startswith("Style rows must be")
    d = compute_directions(G, cfg, "sefa", k=2)
    r.set_directions(d)
    edited_b = RenderRequest(seed=2, psi=0.7, edits=(LatentEdit(1, 3.0),))
    from_edited = r.latent(RenderRequest(seed=1, psi=0.7, mix=StyleMix((2, 3, 5), source=edited_b)))
    assert torch.equal(from_edited[0, [2, 3, 5]], r.latent(edited_b)[0, [2, 3, 5]])
    assert torch.equal(from_edited[0, [0, 1, 4]], base[0, [0, 1, 4]])


def test_style_interpolation_lerps_w_and_edits_apply_to_layer_ranges():
    G, cfg = fake_stylegan(num_classes=3)
    d = compute_directions(G, cfg, "sefa", k=3)
    r = Renderer(G, cfg, d)
    wa, wb = r.latent(RenderRequest(seed=1)), r.latent(RenderRequest(seed=5))
    assert torch.allclose(r.latent(RenderRequest(seed=1, seed_b=5, seed_t=0.25)), wa + 0.25 * (wb - wa), atol=1e-6)
    edited = r.latent(RenderRequest(seed=1, edits=(LatentEdit(0, 2.0, (2, 4)),)))
    changed = [i for i in range(6) if not torch.equal(edited[0, i], wa[0, i])]
    assert changed == [2, 3]
    c2 = r.latent(RenderRequest(seed=1, class_index=2))
    assert torch.allclose(r.latent(RenderRequest(seed=1, class_b=2, class_t=1.0)), c2, atol=1e-6)


def test_direction_sets_keep_their_layer_ranges(tmp_path):
    G, cfg = fake_stylegan()
    d = compute_directions(G, cfg, "pca", k=3, n_samples=300)
    d.layers = [None, (0, 2), (4, 6)]
    d.save(tmp_path / "d.json")
    assert Directions.load(tmp_path / "d.json").layers == [None, (0, 2), (4, 6)]


def test_async_renderer_serves_the_main_channel_first_and_batches_whole():
    G, cfg = model()
    r = Renderer(G, cfg)
    got, gate, started, done = [], threading.Event(), threading.Event(), threading.Event()
    slow = r.render_batch

    def gated(requests, stamp=0, chunk=16):
        started.set()
        gate.wait(5)
        return slow(requests, stamp, chunk)

    r.render_batch = gated

    def on_result(result):
        got.append(result)
        if len(got) == 3:
            done.set()

    a = AsyncRenderer(r, on_result)
    try:
        a.submit(RenderRequest(seed=0))  # being rendered (held at the gate)
        assert started.wait(5)
        a.submit([RenderRequest(seed=s) for s in range(4)], channel="strip")
        a.submit(RenderRequest(seed=1))
        a.submit(RenderRequest(seed=2))  # replaces seed 1
        gate.set()
        assert done.wait(10)
    finally:
        a.close()
    assert [g.channel for g in got] == ["main", "main", "strip"]
    assert got[1].request.seed == 2 and isinstance(got[2], BatchResult) and len(got[2].results) == 4
    assert not a.alive


def test_a_pca_can_be_cancelled_and_wide_layers_use_fewer_samples(monkeypatch):
    from ganstudio.core.latent import directions as dirs
    from ganstudio.core.errors import Cancelled

    G, cfg = model()
    with pytest.raises(Cancelled):
        compute_directions(G, cfg, "pca", k=3, n_samples=2000, cancelled=lambda: True)
    monkeypatch.setattr(dirs, "FEATURE_BUDGET", 300 * 8)  # as if the first layer were very wide
    seen = []
    real = dirs._early_features
    monkeypatch.setattr(dirs, "_early_features", lambda *a: seen.append(real(*a)) or seen[-1])
    d = compute_directions(G, cfg, "pca", k=3, n_samples=2000)
    assert len(seen[0]) == 256 and len(d) == 3  # one batch of 256 instead of 2000 samples
