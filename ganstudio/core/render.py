"""Rendering for the explorer and `ganstudio sample`: a request (seed, class, truncation, interpolation, slider
edits, style mix) in, pixels out. Qt-free; errors come back inside the result instead of being raised (as
stylegan3's renderer). A Renderer may be used from several threads: one render runs at a time.

`AsyncRenderer` renders on its own thread and keeps only the newest request of each channel (the main image, the
mixing images, the frame strip ...), so a dragged slider never queues stale frames."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core.images import to_uint8
from ganstudio.core.latent.directions import Directions
from ganstudio.core.latent.sampling import is_style_based, lerp, slerp, z_for_seed
from ganstudio.core.errors import GanStudioError, user_message

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
    """Take the style rows `rows` from a second latent: a seed, an explicit w, or another request's edited ws."""

    rows: tuple[int, ...]
    seed: int | None = None
    w: tuple[float, ...] | None = None  # the second source's w row(s)
    source: RenderRequest | None = None  # e.g. the current edited image (its own mix is ignored)


@dataclass(frozen=True)
class RenderRequest:
    seed: int = 0
    class_index: int | None = None
    psi: float = 1.0
    edits: tuple[LatentEdit, ...] = ()
    mix: StyleMix | None = None
    noise_mode: str = "const"  # StyleGAN: deterministic renders for sliders
    truncation_cutoff: int | None = None  # StyleGAN: truncate only the style rows below this one
    z: tuple[float, ...] | None = None  # an explicit latent instead of the seed's
    seed_b: int | None = None  # interpolate towards this seed by seed_t (slerp in z, lerp in w)
    seed_t: float = 0.0
    class_b: int | None = None  # interpolate towards this class by class_t (its embedding, or its w)
    class_t: float = 0.0
    # StyleGAN: an explicit W+ latent (num_ws rows of w_dim, flattened; or one w row) instead of the seed's, e.g.
    # a projected photo or a dragged face; truncation and the class do not apply to it, edits and mixing do
    ws: tuple[float, ...] | None = None
    input_transform: tuple[float, float, float] | None = None  # StyleGAN3: move (x, y image widths), turn (degrees)


@dataclass
class RenderResult:
    request: RenderRequest
    image: np.ndarray | None = None  # uint8 [H, W, C]
    error: str | None = None
    seconds: float = 0.0
    stamp: int = 0
    latent: np.ndarray | None = field(default=None, repr=False)  # the edited z or w row(s) that were rendered
    channel: str = "main"


@dataclass
class BatchResult:
    """The results of a batch of requests rendered together (a frame strip, a mixing grid)."""

    results: list[RenderResult]
    seconds: float = 0.0
    stamp: int = 0
    channel: str = "main"

    @property
    def error(self) -> str | None:
        return next((r.error for r in self.results if r.error), None)


class Renderer:
    """Renders requests with one generator (the EMA weights of a checkpoint), on the CPU or a GPU."""

    def __init__(self, G: nn.Module, config: RunConfig, directions: Directions | None = None,
                 points: bool = False):
        self.G = G.eval().requires_grad_(False)
        self.config = config
        self.device = next(G.parameters()).device
        self.style_based = is_style_based(G)
        self.directions = directions
        self._dir_tensors = None
        self.lock = threading.RLock()  # one render (or direction computation) at a time on this generator
        self._input = input_with_transform(G)
        self._file_transform = self._input.transform.detach().clone() if self._input is not None else None
        if config.model.toy and not points:  # `points=True`: generate() gives a toy model's 2D points
            raise GanStudioError("a model trained on 2D toy data has no images to explore")
        if directions is not None:
            self.set_directions(directions)

    def set_directions(self, directions: Directions | None) -> None:
        """Use these directions for slider edits (None: no sliders); raises when they belong to another model."""
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

    @property
    def has_input_transform(self) -> bool:
        """The generator's input can be moved and turned (StyleGAN3's Fourier features)."""
        return self._input is not None

    def _set_input_transform(self, transform: tuple[float, float, float] | None) -> None:
        """Set StyleGAN3's input transform for the next synthesis (None: the one the file came with)."""
        if self._input is None:
            return
        from ganstudio.core.imported.stylegan3 import input_transform_matrix

        matrix = self._file_transform if transform is None else input_transform_matrix(*transform)
        self._input.transform.copy_(matrix.to(self._input.transform.device, self._input.transform.dtype))

    def _class_tensor(self, index: int | None) -> torch.Tensor | None:
        m = self.config.model
        if not m.conditional:
            return None
        index = index if index is not None else 0
        if not 0 <= index < m.num_classes:
            raise GanStudioError(f"class {index} is out of range 0-{m.num_classes - 1}")
        return torch.tensor([index], device=self.device)

    def _z(self, request: RenderRequest) -> torch.Tensor:
        """z of the request (for a z-space model, already interpolated towards seed_b)."""
        psi = 1.0 if self.style_based else request.psi  # StyleGAN truncates in w instead
        if request.z is not None:
            z = torch.tensor(request.z, dtype=torch.float32, device=self.device).reshape(1, -1)
        else:
            z = z_for_seed(request.seed, self.config.model.z_dim, psi).to(self.device)
        if _towards_seed(request) and not self.style_based:
            z = slerp(z, z_for_seed(request.seed_b, self.config.model.z_dim, psi).to(self.device),
                      float(request.seed_t))
        return z

    def _class_blend(self, request: RenderRequest) -> tuple[torch.Tensor, float] | None:
        """The second class and the weight of a class interpolation, when the request asks for one."""
        if request.class_b is None or request.class_t == 0.0 or not self.config.model.conditional:
            return None
        return self._class_tensor(request.class_b), float(request.class_t)

    def _styles(self, z: torch.Tensor, request: RenderRequest) -> torch.Tensor:
        """ws of a StyleGAN for z, interpolated (in w) towards the request's second class."""
        cutoff = request.truncation_cutoff
        ws = self.G.mapping(z, self._class_tensor(request.class_index), truncation_psi=request.psi,
                            truncation_cutoff=cutoff)
        blend = self._class_blend(request)
        if blend is not None:
            ws = lerp(ws, self.G.mapping(z, blend[0], truncation_psi=request.psi, truncation_cutoff=cutoff),
                      blend[1])
        return ws

    def latent(self, request: RenderRequest) -> torch.Tensor:
        """The edited latent: z [1, z_dim], or ws [1, num_ws, w_dim] for a StyleGAN."""
        self._class_tensor(request.class_index), self._class_blend(request)  # a wrong class fails before any batch
        z = self._z(request)
        if not self.style_based:
            if request.ws is not None:
                raise GanStudioError("a W+ latent needs a StyleGAN; this model has no style rows")
            return self._apply_edits(z, request.edits)
        ws = self._styles(z, request) if request.ws is None else self._explicit_ws(request.ws)
        if _towards_seed(request):
            z_b = z_for_seed(request.seed_b, self.config.model.z_dim).to(self.device)
            ws = lerp(ws, self._styles(z_b, request), float(request.seed_t))
        ws = self._apply_edits(ws, request.edits)
        if request.mix is not None and request.mix.rows:
            ws = ws.clone()
            other = self._mix_source(request, self._class_tensor(request.class_index))
            rows = list(request.mix.rows)
            if min(rows) < 0 or max(rows) >= self.num_ws:
                raise GanStudioError(f"style rows must be in 0-{self.num_ws - 1}")
            ws[:, rows] = other[:, rows]
        return ws

    def _explicit_ws(self, values: tuple[float, ...]) -> torch.Tensor:
        """A request's own W+ latent as [1, num_ws, w_dim] (one w row is repeated on every style row)."""
        w_dim = self.G.mapping.w_dim
        ws = torch.tensor(values, dtype=torch.float32, device=self.device)
        if ws.numel() == w_dim:
            return ws.reshape(1, 1, w_dim).expand(1, self.num_ws, w_dim).clone()
        if ws.numel() != self.num_ws * w_dim:
            raise GanStudioError(f"this latent has {ws.numel()} numbers; the model needs {self.num_ws} style rows "
                                 f"of {w_dim} ({self.num_ws * w_dim} numbers) or one row of {w_dim}")
        return ws.reshape(1, self.num_ws, w_dim)

    def _mix_source(self, request: RenderRequest, c: torch.Tensor | None) -> torch.Tensor:
        mix = request.mix
        if mix.source is not None:
            source = mix.source if mix.source.mix is None else replace(mix.source, mix=None)
            return self.latent(source)
        if mix.w is not None:
            w = torch.tensor(mix.w, dtype=torch.float32, device=self.device).reshape(1, -1, self.G.mapping.w_dim)
            return w.expand(1, self.num_ws, -1) if w.shape[1] == 1 else w
        z = z_for_seed(mix.seed or 0, self.config.model.z_dim).to(self.device)
        return self.G.mapping(z, c, truncation_psi=request.psi, truncation_cutoff=request.truncation_cutoff)

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

    @contextmanager
    def _embedding_blend(self, blends: list[tuple[torch.Tensor, float] | None]) -> Iterator[None]:
        """Interpolate the class embedding of a z-space generator per sample (a hook on `G.embed`)."""
        if all(b is None for b in blends):
            yield
            return
        embed = getattr(self.G, "embed", None)
        if not isinstance(embed, nn.Module):
            raise GanStudioError("this model has no class embedding to interpolate")
        rows = [i for i, b in enumerate(blends) if b is not None]
        others = embed(torch.cat([blends[i][0] for i in rows]))
        weights = torch.tensor([blends[i][1] for i in rows], device=self.device, dtype=others.dtype)[:, None]

        def hook(module, inputs, output):
            output = output.clone()
            output[rows] = lerp(output[rows], others.to(output.dtype), weights)
            return output

        handle = embed.register_forward_hook(hook)
        try:
            yield
        finally:
            handle.remove()

    def _synthesize(self, requests: Sequence[RenderRequest], latents: list[torch.Tensor]) -> torch.Tensor:
        if self.style_based:
            self._set_input_transform(requests[0].input_transform)  # one network: the batch shares the first's
            return self.G.synthesis(torch.cat(latents), noise_mode=requests[0].noise_mode)
        labels = [self._class_tensor(r.class_index) for r in requests]
        c = torch.cat(labels) if labels[0] is not None else None
        with self._embedding_blend([self._class_blend(r) for r in requests]):
            return self.G(torch.cat(latents), c)

    @torch.no_grad()
    def render(self, request: RenderRequest, stamp: int = 0) -> RenderResult:
        """Pixels for a request; a problem is reported in the result, never raised."""
        return self.render_batch([request], stamp).results[0]

    @torch.no_grad()
    def generate(self, requests: Sequence[RenderRequest], chunk: int = 64) -> torch.Tensor:
        """G's raw output for requests on the CPU (images [N, C, H, W] in [-1, 1], or [N, 2] points), in chunks;
        a bad request raises GanStudioError (for the command line, which stops at the first problem)."""
        parts = []
        with self.lock:
            for first in range(0, len(requests), chunk):
                part = list(requests[first:first + chunk])
                parts.append(self._synthesize(part, [self.latent(r) for r in part]).float().cpu())
        return torch.cat(parts)

    @torch.no_grad()
    def render_batch(self, requests: Sequence[RenderRequest], stamp: int = 0, chunk: int = 16) -> BatchResult:
        """Pixels for several requests, run through the generator together in chunks; each result carries its
        own error (a bad request does not spoil the others)."""
        start = time.perf_counter()
        results = [RenderResult(r, stamp=stamp) for r in requests]
        with self.lock:
            for first in range(0, len(requests), chunk):
                part = list(range(first, min(first + chunk, len(requests))))
                good, latents = [], []
                for i in part:
                    try:
                        latents.append(self.latent(requests[i]))
                        good.append(i)
                    except (GanStudioError, RuntimeError, ValueError) as exc:
                        results[i].error = user_message(exc, "Rendering")
                if not good:
                    continue
                try:
                    images = to_uint8(self._synthesize([requests[i] for i in good], latents))
                except (GanStudioError, RuntimeError, ValueError) as exc:
                    for i in good:
                        results[i].error = user_message(exc, "Rendering")
                    continue
                for j, i in enumerate(good):
                    results[i].image = images[j]
                    results[i].latent = latents[j].float().cpu().numpy()
        seconds = time.perf_counter() - start
        for r in results:
            r.seconds = seconds / max(1, len(results))
        return BatchResult(results, seconds=seconds, stamp=stamp)


def input_with_transform(G: nn.Module) -> nn.Module | None:
    """The input layer whose `transform` buffer moves and turns the image (StyleGAN3), or None."""
    layer = getattr(getattr(G, "synthesis", None), "input", None)
    transform = getattr(layer, "transform", None)
    return layer if isinstance(transform, torch.Tensor) and transform.shape == (3, 3) else None


def _towards_seed(request: RenderRequest) -> bool:
    return request.seed_b is not None and request.seed_t != 0.0 and (request.z is not None
                                                                     or request.seed_b != request.seed)


class AsyncRenderer:
    """A render thread that keeps only the newest request of each channel: submit() never blocks and never
    queues. The "main" channel (the image that follows a slider) goes first; other channels in the order their
    newest job arrived. A job is one request (the callback gets a RenderResult) or a sequence of requests (a
    BatchResult)."""

    MAIN = "main"

    def __init__(self, renderer: Renderer, on_result: Callable[[RenderResult | BatchResult], None]):
        self.renderer = renderer
        self.on_result = on_result
        self._cond = threading.Condition()
        self._pending: dict[str, tuple[int, RenderRequest | tuple[RenderRequest, ...]]] = {}
        self._stamp = 0
        self._closed = False
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name="ganstudio-render", daemon=True)
        self._thread.start()

    def submit(self, request: RenderRequest | Sequence[RenderRequest], channel: str = MAIN) -> int:
        """Replace any waiting job of this channel with this one; returns its stamp (increasing)."""
        job = request if isinstance(request, RenderRequest) else tuple(request)
        with self._cond:
            self._stamp += 1
            self._pending[channel] = (self._stamp, job)
            self._cond.notify()
            return self._stamp

    def cancel(self, channel: str) -> None:
        """Forget the waiting job of a channel (one being rendered still reports)."""
        with self._cond:
            self._pending.pop(channel, None)

    def idle(self) -> bool:
        """True when nothing is waiting or rendering."""
        with self._cond:
            return not self._pending and not self._busy

    def _next(self) -> tuple[str, int, RenderRequest | tuple[RenderRequest, ...]]:
        channel = self.MAIN if self.MAIN in self._pending else min(self._pending, key=lambda c: self._pending[c][0])
        stamp, job = self._pending.pop(channel)
        return channel, stamp, job

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._busy = False
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                channel, stamp, job = self._next()
                self._busy = True
            if isinstance(job, RenderRequest):
                result = self.renderer.render(job, stamp)
            else:
                result = self.renderer.render_batch(job, stamp)
                for r in result.results:
                    r.channel = channel
            result.channel = channel
            try:
                self.on_result(result)
            except Exception:  # a failing callback must not end the render thread
                import traceback

                traceback.print_exc()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after the render in progress; waiting jobs are dropped."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
