"""Rendering for the explorer and `ganstudio sample`: a request (seed, class, truncation, slider edits, style mix)
in, pixels out. Qt-free; errors come back inside the result instead of being raised (as stylegan3's renderer).

`AsyncRenderer` renders on its own thread and keeps only the newest request, so a dragged slider never queues
stale frames."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from ganstudio.config import RunConfig
from ganstudio.core.images import to_uint8
from ganstudio.core.latent.directions import Directions
from ganstudio.core.latent.sampling import is_style_based, z_for_seed
from ganstudio.errors import GanStudioError

LAYER_GROUPS = ("coarse", "middle", "fine")


def layer_groups(num_ws: int) -> dict[str, tuple[int, int]]:
    """Style rows for the coarse / middle / fine presets of the StyleGAN paper: pose and shape, features,
    colour and texture. Rows run from 4x4 upwards two per resolution, so for a 64x64 model (10 rows) these
    are the paper's 4-8 px, 16-32 px and 64 px layers."""
    a, b = round(0.4 * num_ws), round(0.8 * num_ws)
    return {"coarse": (0, a), "middle": (a, b), "fine": (b, num_ws)}


@dataclass(frozen=True)
class LatentEdit:
    """Move along direction `index` by `amount` standard deviations (on style rows [start, end) for StyleGAN)."""

    index: int
    amount: float
    layers: tuple[int, int] | None = None


@dataclass(frozen=True)
class StyleMix:
    """Take the style rows `rows` from a second latent (a seed, or an explicit w)."""

    rows: tuple[int, ...]
    seed: int | None = None
    w: tuple[float, ...] | None = None  # the second source's w row, e.g. another edited image


@dataclass(frozen=True)
class RenderRequest:
    seed: int = 0
    class_index: int | None = None
    psi: float = 1.0
    edits: tuple[LatentEdit, ...] = ()
    mix: StyleMix | None = None
    noise_mode: str = "const"  # StyleGAN: deterministic renders for sliders
    z: tuple[float, ...] | None = None  # an explicit latent instead of the seed's


@dataclass
class RenderResult:
    request: RenderRequest
    image: np.ndarray | None = None  # uint8 [H, W, C]
    error: str | None = None
    seconds: float = 0.0
    stamp: int = 0
    latent: np.ndarray | None = field(default=None, repr=False)  # the edited z or w row(s) that were rendered


class Renderer:
    """Renders requests with one generator (the EMA weights of a checkpoint), on the CPU or a GPU."""

    def __init__(self, G: nn.Module, config: RunConfig, directions: Directions | None = None):
        self.G = G.eval().requires_grad_(False)
        self.config = config
        self.device = next(G.parameters()).device
        self.style_based = is_style_based(G)
        self.directions = directions
        self._dir_tensors = None
        if config.model.toy:
            raise GanStudioError("a model trained on 2D toy data has no images to explore")
        if directions is not None:
            self.set_directions(directions)

    def set_directions(self, directions: Directions | None) -> None:
        if directions is not None:
            directions.check_fits(self.G, self.config)
            vectors = torch.as_tensor(directions.vectors, device=self.device)
            scales = torch.as_tensor(directions.scales, device=self.device)
            self._dir_tensors = (vectors, scales)
        else:
            self._dir_tensors = None
        self.directions = directions

    @property
    def num_ws(self) -> int:
        return int(self.G.num_ws) if self.style_based else 0

    def _labels(self, request: RenderRequest) -> torch.Tensor | None:
        m = self.config.model
        if not m.conditional:
            return None
        index = request.class_index if request.class_index is not None else 0
        if not 0 <= index < m.num_classes:
            raise GanStudioError(f"class {index} is out of range 0-{m.num_classes - 1}")
        return torch.tensor([index], device=self.device)

    def _z(self, request: RenderRequest) -> torch.Tensor:
        if request.z is not None:
            return torch.tensor(request.z, dtype=torch.float32, device=self.device).reshape(1, -1)
        psi = 1.0 if self.style_based else request.psi  # StyleGAN truncates in w instead
        return z_for_seed(request.seed, self.config.model.z_dim, psi).to(self.device)

    def latent(self, request: RenderRequest) -> torch.Tensor:
        """The edited latent: z [1, z_dim], or ws [1, num_ws, w_dim] for a StyleGAN."""
        c = self._labels(request)
        z = self._z(request)
        if not self.style_based:
            return self._apply_edits(z, request.edits)
        ws = self.G.mapping(z, c, truncation_psi=request.psi)
        ws = self._apply_edits(ws, request.edits)
        if request.mix is not None and request.mix.rows:
            ws = ws.clone()
            other = self._mix_source(request, c)
            rows = list(request.mix.rows)
            ws[:, rows] = other[:, rows]
        return ws

    def _mix_source(self, request: RenderRequest, c: torch.Tensor | None) -> torch.Tensor:
        mix = request.mix
        if mix.w is not None:
            w = torch.tensor(mix.w, dtype=torch.float32, device=self.device).reshape(1, -1, self.G.mapping.w_dim)
            return w.expand(1, self.num_ws, -1) if w.shape[1] == 1 else w
        z = z_for_seed(mix.seed or 0, self.config.model.z_dim).to(self.device)
        return self.G.mapping(z, c, truncation_psi=request.psi)

    def _apply_edits(self, latent: torch.Tensor, edits: tuple[LatentEdit, ...]) -> torch.Tensor:
        if not edits:
            return latent
        if self._dir_tensors is None:
            raise GanStudioError("slider edits need a direction set")
        vectors, scales = self._dir_tensors
        latent = latent.clone()
        for edit in edits:
            if not 0 <= edit.index < len(vectors):
                raise GanStudioError(f"there is no direction {edit.index}")
            step = edit.amount * scales[edit.index] * vectors[edit.index]
            if latent.dim() == 3:
                start, end = edit.layers or (0, latent.shape[1])
                latent[:, start:end] += step
            else:
                latent += step
        return latent

    @torch.no_grad()
    def render(self, request: RenderRequest, stamp: int = 0) -> RenderResult:
        """Pixels for a request; a problem is reported in the result, never raised."""
        start = time.perf_counter()
        try:
            latent = self.latent(request)
            if self.style_based:
                x = self.G.synthesis(latent, noise_mode=request.noise_mode)
            else:
                x = self.G(latent, self._labels(request))
            image = to_uint8(x)[0]
            return RenderResult(request, image=image, seconds=time.perf_counter() - start, stamp=stamp,
                                latent=latent.float().cpu().numpy())
        except GanStudioError as exc:
            return RenderResult(request, error=str(exc), seconds=time.perf_counter() - start, stamp=stamp)
        except (RuntimeError, ValueError) as exc:
            return RenderResult(request, error=f"rendering failed: {str(exc).splitlines()[0][:200]}",
                                seconds=time.perf_counter() - start, stamp=stamp)


class AsyncRenderer:
    """A render thread that keeps only the newest request: submit() never blocks and never queues."""

    def __init__(self, renderer: Renderer, on_result: Callable[[RenderResult], None]):
        self.renderer = renderer
        self.on_result = on_result
        self._cond = threading.Condition()
        self._pending: tuple[int, RenderRequest] | None = None
        self._stamp = 0
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="ganstudio-render", daemon=True)
        self._thread.start()

    def submit(self, request: RenderRequest) -> int:
        """Replace any waiting request with this one; returns its stamp (increasing)."""
        with self._cond:
            self._stamp += 1
            self._pending = (self._stamp, request)
            self._cond.notify()
            return self._stamp

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                stamp, request = self._pending
                self._pending = None
            self.on_result(self.renderer.render(request, stamp))

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)
