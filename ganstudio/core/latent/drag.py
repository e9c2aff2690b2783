"""Drag to edit (DragGAN, Pan et al. 2023): move handle points on a StyleGAN image towards target points by
optimising the first style rows of W+, on the CPU or a GPU.

Each step runs the synthesis network on the current W+ up to an intermediate feature map (the rest of the network
runs without gradients, and only when the step's picture is wanted). Features are read as if the map were
bilinearly upsampled to the output size, but only at the pixels around the points (the whole map is upsampled only
for a mask). Point tracking moves every handle to the pixel, within `track_radius`, whose feature is nearest (L1)
to the handle's feature in the starting image. Motion supervision then pulls the features
one pixel ahead of each handle (towards its target) onto the current, detached ones around the handle, and an
optional mask (the region that may change) adds a term keeping the features outside it at their starting values.
Adam updates the first `rows` style rows; the others stay fixed. The drag stops when every handle is within
`tolerance` pixels of its target, or after `max_steps` updates. Coordinates are (x, y) in output pixels.

Generators plug in through their synthesis network, which must give (size, module) pairs for its feature maps:
- a `feature_layers()` method returning them (GAN Studio's StyleGAN; any other generator can add one), or
- NVIDIA's StyleGAN2 layout: `block_resolutions` and blocks `b4`..`bN` returning (x, img), or
- NVIDIA's StyleGAN3 layout: `layer_names` and layers `L0_..` whose output carries a margin around the image
  (cropped centrally to the layer's sampling rate, `out_sampling_rate` or `spec.out_rate`).
A module's output (or the first item of a tuple) is the feature map [N, C, S, S]; it is captured by a forward hook.
"""
from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.core.errors import GanStudioError
from ganstudio.core.images import to_uint8
from ganstudio.core.latent.sampling import is_style_based

Points = Sequence[Sequence[float]]


@dataclass(frozen=True)
class DragSettings:
    """How a drag optimises; the defaults were tuned on the bundled 64 x 64 face model (benchmarks/drag.py)."""

    lr: float = 0.04  # Adam's learning rate on the style rows
    rows: int | None = None  # style rows optimised (the first ones); None: the first 6, as in the paper
    feature_size: int | None = None  # the feature map's size; None: feature_size_for(output size)
    motion_radius: float = 2.0  # output pixels around a handle whose features are pulled along
    track_radius: float = 4.0  # output pixels around a handle searched by point tracking
    tolerance: float = 1.0  # a handle within this many pixels of its target has arrived
    max_steps: int = 100  # optimisation steps before giving up
    mask_weight: float = 3.0  # weight of keeping the features outside the mask
    noise_mode: str = "const"  # deterministic renders, as the explorer's


def feature_size_for(resolution: int) -> int:
    """The feature map DragGAN reads: a quarter of the output (its 6th block at 512 px), at least 32 px (half of
    a 64 px output, where a quarter is too coarse to place points) and at most 128 px."""
    return int(min(resolution, max(32, min(128, resolution // 4))))


@dataclass
class DragStep:
    """One step of a drag, as plain data for the GUI: where the handles are and what the image looks like."""

    step: int  # optimisation updates done before this step's render
    handles: np.ndarray  # float [K, 2], (x, y) output pixels, tracked in this step's render
    loss: float  # the loss of this step's update (nan when it made none: the drag was done)
    done: bool
    reason: str = ""  # "reached" (every handle within tolerance) or "step limit" once done
    image: np.ndarray | None = field(default=None, repr=False)  # uint8 [H, W, C] of this step's render
    ms: float = 0.0  # wall time of the step
    latent: np.ndarray | None = field(default=None, repr=False)  # ws [num_ws, w_dim] of the picture (with it)


@dataclass
class DragResult:
    """The end of a drag, for the command line: the final latent and how the handles went."""

    latent: torch.Tensor  # ws [1, num_ws, w_dim]
    image: np.ndarray  # uint8 [H, W, C]
    targets: np.ndarray  # [K, 2]
    final_handles: np.ndarray  # [K, 2]
    handle_history: list[list[list[float]]]  # the handles' positions at every step, the start first
    steps: int  # optimisation updates made
    ms_per_step: float
    reached: bool

    def report(self) -> dict:
        """The JSON report of `ganstudio drag`."""
        return {"targets": self.targets.tolist(), "final_handles": self.final_handles.tolist(),
                "handles_per_step": self.handle_history, "steps": self.steps,
                "ms_per_step": round(self.ms_per_step, 2), "reached": self.reached}


# ---------------------------------------------------------------------------------------------------------------
# Feature maps


def feature_layers(G: nn.Module) -> list[tuple[int, nn.Module]]:
    """(size, module) pairs of a style-based generator's synthesis feature maps, coarse to fine."""
    synthesis = getattr(G, "synthesis", None)
    if synthesis is None or not is_style_based(G):
        raise GanStudioError("dragging needs a style-based generator (StyleGAN); this model has no W+ space")
    if hasattr(synthesis, "feature_layers"):
        return list(synthesis.feature_layers())
    if hasattr(synthesis, "block_resolutions"):  # NVIDIA's StyleGAN2
        return [(int(r), getattr(synthesis, f"b{r}")) for r in synthesis.block_resolutions]
    if hasattr(synthesis, "layer_names"):  # NVIDIA's StyleGAN3 (the last layer is to-RGB)
        layers = []
        for name in synthesis.layer_names[:-1]:
            layer = getattr(synthesis, name)
            spec = getattr(layer, "spec", None)
            rate = getattr(layer, "out_sampling_rate", None) or getattr(spec, "out_rate", None)
            if rate is None:
                break
            layers.append((int(rate), layer))
        if layers:
            return layers
    raise GanStudioError("this generator does not tell where its feature maps are, so it cannot be dragged")


def choose_feature_layer(G: nn.Module, resolution: int, size: int | None = None) -> tuple[int, nn.Module]:
    """The last feature layer at `size` (default feature_size_for(resolution)), else the finest one below it."""
    wanted = size or feature_size_for(resolution)
    layers = feature_layers(G)
    below = [pair for pair in layers if pair[0] <= wanted]
    return below[-1] if below else layers[0]


class FeaturesTaken(Exception):
    """Raised by captured_features(stop=True) to end a forward once the feature map is captured."""


@contextmanager
def captured_features(module: nn.Module, size: int, stop: bool = False,
                      then_no_grad: bool = False) -> Iterator[list[torch.Tensor]]:
    """While open, every forward of `module` in this thread appends its feature map [N, C, size, size] (margin
    cropped); renders of the same generator in other threads (the explorer's) are not captured. `stop`: the
    forward ends there with FeaturesTaken (nothing after the features is computed); `then_no_grad`: the rest of
    the forward runs without recording gradients (its picture is only looked at)."""
    store: list[torch.Tensor] = []
    thread = threading.get_ident()
    grad_before = torch.is_grad_enabled()

    def hook(_module, _inputs, output):
        if threading.get_ident() != thread:
            return
        x = output[0] if isinstance(output, (tuple, list)) else output
        margin = (x.shape[-1] - size) // 2
        store.append(x[..., margin:margin + size, margin:margin + size] if margin > 0 else x)
        if stop:
            raise FeaturesTaken
        if then_no_grad:
            torch.set_grad_enabled(False)

    handle = module.register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()
        torch.set_grad_enabled(grad_before)


def features_and_image(G: nn.Module, ws: torch.Tensor, layer: nn.Module, size: int, noise_mode: str,
                       with_image: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The feature map of `layer` for ws (with gradients when enabled), and the picture when asked (computed
    without gradients); without the picture the forward stops at the feature map."""
    with captured_features(layer, size, stop=not with_image, then_no_grad=True) as store:
        try:
            image = G.synthesis(ws, noise_mode=noise_mode)
        except FeaturesTaken:
            image = None
    if not store:
        raise GanStudioError("the generator's feature layer did not run, so its features cannot be read")
    return store[-1], image


# ---------------------------------------------------------------------------------------------------------------
# The optimisation


def _check_points(points: Points, what: str, width: int, height: int) -> torch.Tensor:
    arr = np.asarray(points, dtype=np.float64)
    if arr.size == 0:
        raise GanStudioError("a drag needs at least one handle and its target")
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        raise GanStudioError(f"{what} must be (x, y) pairs of numbers")
    outside = [(x, y) for x, y in arr if not (0 <= x <= width - 1 and 0 <= y <= height - 1)]
    if outside:
        x, y = outside[0]
        raise GanStudioError(f"the {what[:-1]} ({x:g}, {y:g}) is outside the {width} x {height} image "
                             f"(x 0-{width - 1}, y 0-{height - 1})")
    return torch.as_tensor(arr, dtype=torch.float32)


def _at_pixels(features: torch.Tensor, pixels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Feature vectors [P, C] of [1, C, h, w] at whole output pixels [P, 2] (x, y) of an output `size` (H, W):
    exactly the values of the map bilinearly upsampled to `size` (F.interpolate, align_corners=False)."""
    h, w = size
    grid = torch.stack([(2 * pixels[:, 0] + 1) / w - 1, (2 * pixels[:, 1] + 1) / h - 1], dim=1)
    out = F.grid_sample(features, grid[None, :, None, :], mode="bilinear", padding_mode="border",
                        align_corners=False)
    return out[0, :, :, 0].t()


def _sample(features: torch.Tensor, points: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Bilinear feature vectors [P, C] at output positions [P, 2] (x, y) of the map [1, C, h, w] upsampled to
    `size` (default: its own), computed from the four whole pixels around each point (no upsampled map)."""
    h, w = size or features.shape[-2:]
    x, y = points[:, 0].clamp(0, w - 1), points[:, 1].clamp(0, h - 1)  # "border" padding
    x0, y0 = x.floor(), y.floor()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    corners = torch.cat([torch.stack([x0, y0], 1), torch.stack([x1, y0], 1), torch.stack([x0, y1], 1),
                         torch.stack([x1, y1], 1)])
    v00, v10, v01, v11 = _at_pixels(features, corners, (h, w)).chunk(4)
    return (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy


def _disc(radius: float) -> torch.Tensor:
    """Integer (dx, dy) offsets within `radius` pixels of the origin."""
    r = int(math.floor(radius))
    d = torch.arange(-r, r + 1, dtype=torch.float32)
    offsets = torch.cartesian_prod(d, d)
    return offsets[offsets.norm(dim=1) <= radius + 1e-6]


class DragSession:
    """A drag run step by step: `step()` renders, tracks the handles and makes one update, so that a GUI can
    show every step and stop between them; `undo()` returns to the starting latent exactly."""

    def __init__(self, G: nn.Module, ws: torch.Tensor, handles: Points, targets: Points,
                 mask: np.ndarray | torch.Tensor | None = None, settings: DragSettings = DragSettings()):
        feature_layers(G)  # a clear error for generators without W+ or feature maps
        self.G, self.settings = G, settings
        self.device = next(G.parameters()).device
        num_ws, w_dim = int(G.num_ws), int(G.mapping.w_dim)
        if ws.dim() == 2:
            ws = ws[:, None, :].expand(-1, num_ws, -1)
        if ws.dim() != 3 or ws.shape != (1, num_ws, w_dim):
            raise GanStudioError(f"the latent must be ws [1, {num_ws}, {w_dim}] (or w [1, {w_dim}]), "
                                 f"got {list(ws.shape)}")
        self.start_ws = ws.detach().to(self.device, torch.float32).clone()
        with torch.no_grad():
            probe = G.synthesis(self.start_ws, noise_mode=settings.noise_mode)
        self.height, self.width = probe.shape[-2:]
        start = _check_points(handles, "handles", self.width, self.height)
        self.targets = _check_points(targets, "targets", self.width, self.height).to(self.device)
        if start.shape != self.targets.shape:
            raise GanStudioError(f"every handle needs one target: {len(start)} handles, {len(self.targets)} targets")
        self.start_handles = start.to(self.device)
        self.mask = self._check_mask(mask)
        self.rows = min(num_ws, settings.rows or 6)
        self.feature_size, self.layer = choose_feature_layer(G, self.width, settings.feature_size)
        self._motion_offsets = _disc(settings.motion_radius).to(self.device)
        self._track_offsets = _disc(settings.track_radius).to(self.device)
        with torch.no_grad():
            start_features, _ = features_and_image(G, self.start_ws, self.layer, self.feature_size,
                                                   settings.noise_mode, with_image=False)
        self._start_features = start_features.detach()  # at the feature map's size
        # what tracking looks for
        self._handle_features = _sample(self._start_features, self.start_handles, self.size)
        self.undo()

    @property
    def size(self) -> tuple[int, int]:
        """The output's (height, width)."""
        return int(self.height), int(self.width)

    def _check_mask(self, mask: np.ndarray | torch.Tensor | None) -> torch.Tensor | None:
        if mask is None:
            return None
        m = torch.as_tensor(np.asarray(mask), dtype=torch.float32)
        if m.dim() == 3:  # a painted picture: any channel counts
            m = m.amax(dim=-1)
        if m.shape != (self.height, self.width):
            raise GanStudioError(f"the mask must be {self.width} x {self.height} pixels like the image, "
                                 f"got {m.shape[-1]} x {m.shape[0]}")
        return (m > 0).float().to(self.device)[None, None]

    def _upsample(self, features: torch.Tensor) -> torch.Tensor:
        if features.shape[-2:] == (self.height, self.width):
            return features
        return F.interpolate(features, size=(self.height, self.width), mode="bilinear", align_corners=False)

    def undo(self) -> torch.Tensor:
        """Return to the starting latent and handles (and start the optimiser afresh); gives the starting ws."""
        self._free = self.start_ws[:, :self.rows].clone().requires_grad_(True)
        self._fixed = self.start_ws[:, self.rows:]
        self._optimizer = torch.optim.Adam([self._free], lr=self.settings.lr)
        self.handles = self.start_handles.clone()
        self.history: list[list[list[float]]] = []
        self.steps = 0
        self.done = False
        return self.start_ws.clone()

    @property
    def latent(self) -> torch.Tensor:
        """The current ws [1, num_ws, w_dim] (a detached copy)."""
        return torch.cat([self._free.detach(), self._fixed], dim=1).clone()

    def render(self) -> np.ndarray:
        """The current image, uint8 [H, W, C]."""
        with torch.no_grad():
            return to_uint8(self.G.synthesis(self.latent, noise_mode=self.settings.noise_mode))[0]

    def distances(self) -> np.ndarray:
        """How far each handle is from its target, in pixels."""
        return (self.targets - self.handles).norm(dim=1).cpu().numpy()

    def step(self, with_image: bool = True) -> DragStep:
        """Render, track the handles, and unless they have all arrived (or the step limit is reached) update."""
        if self.done:
            raise GanStudioError("this drag is finished; undo it to start again")
        t0 = time.perf_counter()
        s = self.settings
        ws = torch.cat([self._free, self._fixed], dim=1)
        shown = ws.detach().clone() if with_image else None  # the latent of this step's picture
        features, image = features_and_image(self.G, ws, self.layer, self.feature_size, s.noise_mode, with_image)
        if self.steps > 0:
            self.handles = self._track(features.detach())
        self.history.append(self.handles.cpu().tolist())
        remaining = (self.targets - self.handles).norm(dim=1)
        moving = remaining > s.tolerance
        reason = "reached" if not moving.any() else "step limit" if self.steps >= s.max_steps else ""
        loss = float("nan")
        if not reason:
            total = self._loss(features, moving, remaining)
            # the gradient of the free rows only: the generator's weights are left alone even if trainable
            (self._free.grad,) = torch.autograd.grad(total, [self._free])
            self._optimizer.step()
            self.steps += 1
            loss = float(total.detach())
        self.done = bool(reason)
        picture = to_uint8(image.detach().clamp(-1, 1))[0] if image is not None else None
        return DragStep(self.steps, self.handles.cpu().numpy(), loss, self.done, reason, picture,
                        (time.perf_counter() - t0) * 1000.0,
                        shown[0].cpu().numpy() if shown is not None else None)

    def _loss(self, features: torch.Tensor, moving: torch.Tensor, remaining: torch.Tensor) -> torch.Tensor:
        """Motion supervision for the handles still moving, plus the mask term."""
        terms = []
        for i in torch.nonzero(moving).flatten().tolist():
            direction = (self.targets[i] - self.handles[i]) / remaining[i]
            around = self.handles[i] + self._motion_offsets
            ahead = _sample(features, around + direction, self.size)
            terms.append(F.l1_loss(ahead, _sample(features, around, self.size).detach()))
        loss = torch.stack(terms).sum()
        if self.mask is not None:  # the whole map is needed here: upsampled (the difference, as upsampling is linear)
            keep = 1.0 - self.mask
            change = self._upsample(features - self._start_features).abs()
            loss = loss + self.settings.mask_weight * (change * keep).mean()
        return loss

    def _track(self, features: torch.Tensor) -> torch.Tensor:
        """Each handle moves to the pixel near it whose feature is nearest its starting feature."""
        moved = []
        for i, handle in enumerate(self.handles):
            candidates = handle.round() + self._track_offsets
            inside = ((candidates[:, 0] >= 0) & (candidates[:, 0] <= self.width - 1) &
                      (candidates[:, 1] >= 0) & (candidates[:, 1] <= self.height - 1))
            candidates = candidates[inside]
            vectors = _at_pixels(features, candidates, self.size)
            nearest = (vectors - self._handle_features[i]).abs().sum(dim=1).argmin()
            moved.append(candidates[nearest])
        return torch.stack(moved)

    def run(self, should_stop: Callable[[], bool] | None = None, with_images: bool = True) -> Iterator[DragStep]:
        """Steps until done, or until `should_stop()` says so between steps."""
        while not self.done and not (should_stop and should_stop()):
            yield self.step(with_images)


def drag(G: nn.Module, ws: torch.Tensor, handles: Points, targets: Points,
         mask: np.ndarray | torch.Tensor | None = None, settings: DragSettings = DragSettings(),
         progress: Callable[[DragStep], None] | None = None) -> DragResult:
    """Drag handles to targets (the command line's whole run); returns the final latent and how it went."""
    session = DragSession(G, ws, handles, targets, mask, settings)
    times, last = [], None
    for last in session.run(with_images=False):
        if not last.done:
            times.append(last.ms)
        if progress is not None:
            progress(last)
    return DragResult(session.latent, session.render(), session.targets.cpu().numpy(),
                      session.handles.cpu().numpy(), session.history, session.steps,
                      float(np.mean(times)) if times else 0.0, last is not None and last.reason == "reached")
