"""Drag to edit (DragGAN) on the bundled face model, on the CPU with few steps: handles move towards their targets,
a mask keeps the rest of the picture, Undo is exact, bad points are refused in one sentence; and the feature-map
protocol for NVIDIA-layout generators."""
from __future__ import annotations

import threading
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.core.bundled import bundled_model
from ganstudio.core.checkpoints import load_generator
from ganstudio.core.errors import GanStudioError
from ganstudio.core.images import to_uint8
from ganstudio.core.latent.drag import (
    DragSession, DragSettings, captured_features, choose_feature_layer, drag, feature_size_for,
)
from ganstudio.core.latent.sampling import z_for_seed

from tests.fake_stylegan import FakeStyleGenerator


@pytest.fixture(scope="module")
def faces():
    G, _ = load_generator(bundled_model("faces").file, "cpu")
    G.eval().requires_grad_(False)
    ws = G.mapping(z_for_seed(4, G.z_dim), truncation_psi=0.7)
    return G, ws


def render(G, ws) -> np.ndarray:
    with torch.no_grad():
        return to_uint8(G.synthesis(ws, noise_mode="const"))[0].astype(np.float64)


def test_feature_map_is_chosen_by_resolution(faces):
    G, _ = faces
    assert [feature_size_for(r) for r in (32, 64, 256, 512, 1024)] == [32, 32, 64, 128, 128]
    size, module = choose_feature_layer(G, 64)
    assert size == 32 and module is G.synthesis.blocks[2].conv1
    assert choose_feature_layer(G, 64, 16)[0] == 16


def test_a_drag_moves_the_handle_to_its_target(faces):
    G, ws = faces
    handle, target = (30.0, 40.0), (36.0, 40.0)
    result = drag(G, ws, [handle], [target], settings=DragSettings(max_steps=40))
    start = np.hypot(target[0] - handle[0], target[1] - handle[1])
    end = float(np.linalg.norm(result.final_handles[0] - result.targets[0]))
    assert end < start and end <= 2.0, f"the handle ended {end:.1f} px from its target (started {start:.1f})"
    assert result.reached and 0 < result.steps <= 40 and result.ms_per_step > 0
    assert len(result.handle_history) == result.steps + 1 and result.handle_history[0] == [list(handle)]
    report = result.report()
    assert set(report) >= {"targets", "final_handles", "handles_per_step", "steps", "ms_per_step"}
    assert result.image.shape == (64, 64, 3) and result.latent.shape == ws.shape
    assert not torch.equal(result.latent, ws) and torch.equal(result.latent[:, 6:], ws[:, 6:])  # first rows only


def test_a_mask_keeps_the_pixels_outside_it(faces):
    G, ws = faces
    mask = np.zeros((64, 64), np.uint8)
    mask[28:52, 20:48] = 255  # the painted region around the handle and its target
    settings = DragSettings(max_steps=12, tolerance=0.0)  # both runs make the same number of updates
    before = render(G, ws)
    changes = []
    for m in (None, mask):
        result = drag(G, ws, [(30, 40)], [(37, 40)], mask=m, settings=settings)
        assert result.steps == 12
        changes.append(np.abs(result.image - before)[mask == 0].mean())
    assert changes[1] < 0.5 * changes[0], f"outside the mask: {changes[1]:.2f} with it, {changes[0]:.2f} without"


def test_steps_are_live_and_undo_restores_the_exact_start(faces):
    G, ws = faces
    before = render(G, ws)
    session = DragSession(G, ws, [(30, 40), (40, 30)], [(35, 40), (40, 36)])
    steps = list(zip(range(3), session.run()))
    assert [s.step for _, s in steps] == [1, 2, 3] and not steps[-1][1].done
    assert steps[0][1].image.shape == (64, 64, 3) and steps[0][1].handles.shape == (2, 2)
    assert np.isfinite(steps[-1][1].loss) and not np.array_equal(session.render(), before)
    start = session.undo()
    assert torch.equal(start, ws) and torch.equal(session.latent, ws)
    assert np.array_equal(session.render().astype(np.float64), before)
    assert session.steps == 0 and session.history == [] and session.handles.tolist() == [[30, 40], [40, 30]]
    with pytest.raises(GanStudioError, match="finished"):
        session.done = True
        session.step()


@pytest.mark.parametrize("handles, targets, mask, message", [
    ([(64, 10)], [(60, 10)], None, r"^the handle \(64, 10\) is outside the 64 x 64 image \(x 0-63, y 0-63\)$"),
    ([(10, 10)], [(10, -1)], None, r"^the target \(10, -1\) is outside the 64 x 64 image"),
    ([(10, 10), (20, 20)], [(12, 10)], None, "every handle needs one target: 2 handles, 1 targets"),
    ([], [], None, "at least one handle"),
    ([(10, 10, 3)], [(12, 10)], None, r"handles must be \(x, y\) pairs"),
    ([(10, 10)], [(12, 10)], np.ones((32, 32)), "the mask must be 64 x 64 pixels like the image, got 32 x 32"),
])
def test_bad_points_and_masks_are_refused_in_one_sentence(faces, handles, targets, mask, message):
    G, ws = faces
    with pytest.raises(GanStudioError, match=message) as info:
        DragSession(G, ws, handles, targets, mask)
    assert "\n" not in str(info.value)


def test_latents_and_generators_that_cannot_be_dragged(faces):
    G, ws = faces
    with pytest.raises(GanStudioError, match=r"ws \[1, 10, 128\]"):
        DragSession(G, ws[:, :4], [(10, 10)], [(12, 10)])
    assert DragSession(G, ws[:, 0], [(10, 10)], [(12, 10)]).start_ws.shape == (1, 10, 128)  # w is broadcast
    digits, _ = load_generator(bundled_model("digits").file, "cpu")
    with pytest.raises(GanStudioError, match="style-based"):
        DragSession(digits, torch.zeros(1, 10), [(10, 10)], [(12, 10)])
    fake = FakeStyleGenerator()
    with pytest.raises(GanStudioError, match="does not tell where its feature maps are"):
        DragSession(fake, fake.mapping(torch.zeros(1, 8)), [(1, 1)], [(3, 1)])


# -- NVIDIA's module layouts ---------------------------------------------------------------------------------------

class NvidiaStyleBlock(nn.Module):
    """A block shaped like NVIDIA's StyleGAN2 `b{res}`: (x, img, ws) -> (x, img)."""

    def __init__(self, w_dim: int, first: bool):
        super().__init__()
        self.const = nn.Parameter(torch.randn(8, 4, 4)) if first else None
        self.affine = nn.Linear(w_dim, 8)
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.torgb = nn.Conv2d(8, 3, 1)

    def forward(self, x, img, ws, noise_mode="const"):
        x = self.const[None].expand(ws.shape[0], -1, -1, -1) if x is None else F.interpolate(x, scale_factor=2)
        x = F.leaky_relu(self.conv(x * self.affine(ws[:, 0])[:, :, None, None]), 0.2)
        y = self.torgb(x)
        return x, y if img is None else F.interpolate(img, scale_factor=2, mode="bilinear") + y


class NvidiaStyleSynthesis(nn.Module):
    def __init__(self, w_dim: int = 8):
        super().__init__()
        self.block_resolutions, self.num_ws, self.w_dim = [4, 8, 16, 32], 4, w_dim
        for i, res in enumerate(self.block_resolutions):
            setattr(self, f"b{res}", NvidiaStyleBlock(w_dim, i == 0))

    def forward(self, ws, noise_mode="const"):
        x = img = None
        for i, res in enumerate(self.block_resolutions):
            x, img = getattr(self, f"b{res}")(x, img, ws[:, i:i + 1], noise_mode)
        return torch.tanh(img)


class NvidiaStyleGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.mapping = nn.Linear(8, 8)
        self.mapping.w_dim = 8
        self.synthesis = NvidiaStyleSynthesis()
        self.num_ws = 4


def test_nvidia_stylegan2_layout_is_dragged_through_its_blocks():
    G = NvidiaStyleGenerator().requires_grad_(False)
    size, module = choose_feature_layer(G, 32, 16)
    assert size == 16 and module is G.synthesis.b16
    session = DragSession(G, torch.randn(1, 4, 8), [(10, 12)], [(14, 12)], settings=DragSettings(feature_size=16))
    step = session.step()
    assert step.image.shape == (32, 32, 3) and step.handles.shape == (1, 2) and np.isfinite(step.loss)
    assert not torch.equal(session.latent, session.start_ws)


def test_a_feature_map_with_a_margin_is_cropped_and_other_threads_renders_are_not_captured():
    layer = nn.Identity()
    x = torch.arange(20 * 20, dtype=torch.float32).reshape(1, 1, 20, 20)
    with captured_features(layer, 16) as store:
        other = threading.Thread(target=layer, args=(x * 0,))  # the explorer rendering meanwhile
        other.start()
        other.join()
        layer(x)
    assert len(store) == 1 and torch.equal(store[0], x[..., 2:18, 2:18])


def test_settings_are_frozen():
    with pytest.raises(FrozenInstanceError):
        DragSettings().lr = 1.0  # type: ignore[misc]
    assert replace(DragSettings(), rows=4).rows == 4


def test_cli_drags_an_imported_stylegan2_and_writes_the_report(tmp_path, capsys):
    """`ganstudio drag` on an NVIDIA-layout pickle written by our fixtures: picture, latent and report."""
    import json

    from ganstudio.cli import main
    from ganstudio.core.imported import stylegan2
    from tests.imported_fixtures import TINY, random_generator, write_nvidia_pickle

    path = write_nvidia_pickle(tmp_path / "net.pkl", random_generator(stylegan2.ADA, TINY), TINY)
    out, report, latent = tmp_path / "d.png", tmp_path / "r.json", tmp_path / "w.npz"
    assert main(["drag", "--checkpoint", str(path), "--seed", "3", "--handle", "6,6", "--target", "9,8",
                 "--steps", "3", "--out", str(out), "--report", str(report), "--latent-out", str(latent)]) == 0
    data = json.loads(report.read_text())
    assert data["targets"] == [[9.0, 8.0]] and len(data["handles_per_step"]) >= 2 and data["steps"] <= 3
    assert out.exists() and np.load(latent)["ws"].ndim == 3
    assert main(["drag", "--checkpoint", str(path), "--handle", "6,6", "--target", "99,8", "--out",
                 str(out)]) == 1
    assert "error:" in capsys.readouterr().err


def test_features_are_read_at_the_points_exactly_as_from_the_upsampled_map():
    """The step reads features around the points only; the values are those of the whole map upsampled."""
    from ganstudio.core.latent.drag import _at_pixels, _sample

    torch.manual_seed(0)
    features = torch.randn(1, 5, 32, 32)
    upsampled = F.interpolate(features, size=(64, 64), mode="bilinear", align_corners=False)
    points = torch.rand(300, 2) * 66 - 1  # inside, and a little outside (border padding)
    h, w = upsampled.shape[-2:]
    grid = torch.stack([(2 * points[:, 0] + 1) / w - 1, (2 * points[:, 1] + 1) / h - 1], dim=1)
    expected = F.grid_sample(upsampled, grid[None, :, None, :], mode="bilinear", padding_mode="border",
                             align_corners=False)[0, :, :, 0].t()
    assert torch.allclose(_sample(features, points, (64, 64)), expected, atol=1e-5)
    pixels = torch.randint(0, 64, (300, 2)).float()
    assert torch.allclose(_at_pixels(features, pixels, (64, 64)),
                          upsampled[0, :, pixels[:, 1].long(), pixels[:, 0].long()].t(), atol=1e-5)


def test_a_step_without_its_picture_stops_the_forward_at_the_feature_map(faces):
    G, ws = faces
    calls = []
    hook = G.synthesis.blocks[-1].conv0.register_forward_pre_hook(lambda *a: calls.append(1))
    try:
        session = DragSession(G, ws, [(30, 40)], [(36, 40)])
        calls.clear()
        step = session.step(with_image=False)
        assert not calls and step.image is None and step.latent is None and np.isfinite(step.loss)
        step = session.step(with_image=True)
        assert calls and step.image.shape == (64, 64, 3) and step.latent.shape == (10, 128)
        assert torch.is_grad_enabled()
        assert np.array_equal(step.image, render(G, torch.as_tensor(step.latent)[None]).astype(np.uint8))
    finally:
        hook.remove()
