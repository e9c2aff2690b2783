"""The explorer's state without Qt: what the user chose (seed, class and class blend, truncation, interpolation,
style mixing, slider amounts, names and layer ranges, the direction set) and the render requests built from it.

Like napari's evented models, each change calls the callbacks connected to one of the state's events; the GUI's
adapter (gui/explorer/model.py) turns them into signals and renders, the tests drive the state without a display.
"""
from __future__ import annotations

import copy
import json
import random
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core.errors import GanStudioError
from ganstudio.core.export import interpolation_requests
from ganstudio.core.latent.directions import Directions
from ganstudio.core.latent.sampling import MAX_SEED
from ganstudio.core.render import LatentEdit, RenderRequest, StyleMix, layer_groups

IMAGE, MIX, MIX_GRID = "image", "mix", "mix_grid"  # what a `changed` event says needs rendering again
NO_TRANSFORM = (0.0, 0.0, 0.0)
SESSION_VERSION = 1


@dataclass(frozen=True)
class ModelInfo:
    """What the explorer shows about the open generator."""

    title: str
    path: Path | None
    step: int | None
    config: RunConfig
    style_based: bool
    num_ws: int
    class_names: tuple[str, ...]
    device: str
    input_transform: bool = False  # the image can be moved and turned (StyleGAN3)
    card: str = ""  # an imported model's card in one line: source, SHA-256, licence
    kind: str = ""  # what an imported model is ("StyleGAN3-T (NVIDIA pickle)"); empty for GAN Studio's own

    @property
    def conditional(self) -> bool:
        return bool(self.class_names)

    @property
    def resolution(self) -> int:
        return self.config.model.resolution

    def describe(self) -> str:
        """One line: title, architecture, size, classes, step and device."""
        m = self.config.model
        parts = [self.kind or (m.arch.upper() if m.arch != "stylegan" else "StyleGAN"),
                 f"{m.resolution}x{m.resolution}"]
        if self.conditional:
            parts.append(f"{len(self.class_names)} classes")
        if self.step is not None:
            parts.append(f"step {self.step:,}")
        return f"{self.title} · {' · '.join(parts)} · {self.device}"


@dataclass
class LoadedModel:
    """A checkpoint's generator, built and ready to explore (what a worker thread hands the GUI)."""

    G: nn.Module
    config: RunConfig
    title: str
    path: Path | None = None
    step: int | None = None
    card: str = ""  # an imported model's card in one line
    kind: str = ""  # what an imported model is ("StyleGAN2 (rosinality)")


def model_from_checkpoint(ckpt, path: Path | None, device: torch.device | str) -> LoadedModel:
    """Build the generator of a loaded Checkpoint on `device` (raises GanStudioError when it cannot)."""
    from ganstudio.core.checkpoints import generator_from_checkpoint
    from ganstudio.core.imported import card_summary, imported_kind

    G = generator_from_checkpoint(ckpt, device, name=path.name if path else "the checkpoint")
    title = (path.parent.parent.name if path and path.parent.name == "checkpoints" else
             path.name if path else ckpt.config.name)
    card = (ckpt.extra.get("imported") or {}).get("card")
    if isinstance(card, dict):  # an imported network has no training step of ours to show
        return LoadedModel(G, ckpt.config, title or "model", path, None, card_summary(card), imported_kind(card))
    return LoadedModel(G, ckpt.config, title or "model", path, ckpt.step)


def load_model(path: str | Path, device: torch.device | str) -> LoadedModel:
    """Read a checkpoint, run folder, NVIDIA `.pkl` or rosinality `.pt` and build its generator (slow for large
    models: run it off the GUI thread); a file that is refused raises GanStudioError with one sentence."""
    from ganstudio.core.checkpoints import load_checkpoint

    return model_from_checkpoint(load_checkpoint(path), Path(path), device)


@dataclass(frozen=True)
class MixSettings:
    """Style mixing: sources A and B (a seed, or None for the current edited image) and the rows taken from B."""

    seed_a: int | None = None
    seed_b: int | None = 1
    rows: tuple[int, ...] = ()
    grid_a: tuple[int, ...] = (1, 2, 3, 4)
    grid_b: tuple[int, ...] = (5, 6, 7, 8)


@dataclass(frozen=True)
class LatentUndo:
    """What ExplorerState.adopt_latent replaced: the explicit latent (None: the seed), its label, the slider
    amounts and the interpolation's t."""

    latent: tuple[float, ...] | None
    label: str
    amounts: tuple[float, ...]
    seed_t: float


class Event:
    """Callbacks called in order with the event's arguments (napari's EventEmitter, without Qt)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        """Call `callback` on every emit; returns it."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        """Stop calling `callback`."""
        self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        """Call every connected callback with `args`."""
        for callback in list(self._callbacks):
            callback(*args)


class ExplorerEvents:
    """The state's events: `changed(what)` (IMAGE, MIX or MIX_GRID), `amounts(render)` (slider amounts, names or
    layer ranges; render tells whether the image changes) and `directions(Directions | None)`."""

    def __init__(self) -> None:
        self.changed = Event()
        self.amounts = Event()
        self.directions = Event()


class ExplorerState:
    """The user's choices for one open generator with `num_ws` style rows (0: not style-based)."""

    def __init__(self, num_ws: int = 0, conditional: bool = False, seed: int = 0, psi: float = 1.0):
        self.events = ExplorerEvents()
        self.random = random.Random()
        self.reset(num_ws, conditional, seed, psi)

    def reset(self, num_ws: int = 0, conditional: bool = False, seed: int = 0, psi: float = 1.0) -> None:
        """Fresh choices for a newly opened generator (no events: whoever opens it announces it)."""
        self.num_ws = int(num_ws)
        self.seed = int(seed)
        self.class_index: int | None = 0 if conditional else None
        self.psi = float(psi)
        self.directions: Directions | None = None
        self.amounts: list[float] = []
        # every source's set computed or loaded for this model, with its slider amounts: switching the source
        # back (PCA, then Face attributes again) puts the set back at once instead of computing it again
        self.direction_sets: dict[str, tuple[Directions, list[float]]] = {}
        self.seed_b: int | None = None
        self.seed_t = 0.0
        self.frames = 8
        self.class_b: int | None = None
        self.class_t = 0.0
        self.transform = NO_TRANSFORM  # StyleGAN3's input: x, y (image widths) and rotation (degrees)
        self.mix = MixSettings(rows=tuple(range(*layer_groups(self.num_ws)["fine"])) if self.num_ws else ())
        # an explicit W+ latent shown instead of the seed's (a projected photo, a dragged face); None: the seed
        self.latent: tuple[float, ...] | None = None
        self.latent_label = ""

    # -- what the user chose -----------------------------------------------------------------------------

    def set_seed(self, seed: int) -> None:
        """Show this seed's image (leaving an explicit latent, if one was shown)."""
        self.seed = int(seed) % (MAX_SEED + 1)
        self.latent, self.latent_label = None, ""
        self.events.changed.emit(IMAGE)

    def set_latent(self, ws: np.ndarray | None, label: str = "") -> None:
        """Show an explicit W+ latent [num_ws, w_dim] (or one w row) instead of the seed's; None: the seed again.
        Sliders, mixing and interpolation apply to it; `label` names it (e.g. "photo.jpg")."""
        self.latent = None if ws is None else tuple(float(v) for v in np.asarray(ws, dtype=np.float32).ravel())
        self.latent_label = label if ws is not None else ""
        self.events.changed.emit(IMAGE)

    def adopt_latent(self, ws: np.ndarray, label: str) -> LatentUndo:
        """Show `ws`, a latent made from the current image that already holds its slider edits and interpolation
        (a dragged face): the sliders go back to zero and t to 0, so nothing is applied twice. Returns what
        put_back() needs to return to the image before."""
        undo = LatentUndo(self.latent, self.latent_label, tuple(self.amounts), self.seed_t)
        self.amounts = [0.0] * len(self.amounts)
        self.seed_t = 0.0
        self.events.amounts.emit(False)  # the sliders show zero; the render follows from set_latent
        self.set_latent(ws, label)
        return undo

    def put_back(self, undo: LatentUndo) -> None:
        """Return to the image before adopt_latent: its latent (or seed), slider amounts and t."""
        self.latent, self.latent_label, self.seed_t = undo.latent, undo.label, undo.seed_t
        if len(undo.amounts) == len(self.amounts):  # the same direction set is still on the sliders
            self.amounts = list(undo.amounts)
        self.events.amounts.emit(False)
        self.events.changed.emit(IMAGE)

    def any_seed(self) -> int:
        """A random seed (the state's own generator, so that tests may seed it)."""
        return self.random.randrange(MAX_SEED)

    def random_seed(self) -> int:
        """Jump to a random seed; returns it."""
        self.set_seed(self.any_seed())
        return self.seed

    def set_class(self, index: int | None) -> None:
        self.class_index = index
        self.events.changed.emit(IMAGE)

    def set_class_blend(self, class_b: int | None, t: float) -> None:
        """Blend the class towards class_b by t (None: no blend)."""
        self.class_b, self.class_t = class_b, float(t)
        self.events.changed.emit(IMAGE)

    def set_psi(self, psi: float) -> None:
        self.psi = float(psi)
        self.events.changed.emit(IMAGE)

    def set_transform(self, x: float, y: float, degrees: float) -> None:
        """Move the image content by (x, y) image widths and turn it by `degrees` (StyleGAN3)."""
        self.transform = (float(x), float(y), float(degrees))
        self.events.changed.emit(IMAGE)

    def set_interpolation(self, seed_b: int | None, t: float | None = None, frames: int | None = None) -> None:
        """Interpolate the main image towards seed B by t; the frame strip shows `frames` steps."""
        self.seed_b = seed_b
        if t is not None:
            self.seed_t = float(t)
        if frames is not None:
            self.frames = max(2, int(frames))
        self.events.changed.emit(IMAGE)

    def set_mix(self, **changes) -> None:
        """Change the style-mixing settings (seed_a, seed_b, rows, grid_a, grid_b)."""
        if "rows" in changes:
            changes["rows"] = tuple(sorted(set(int(r) for r in changes["rows"])))
        self.mix = replace(self.mix, **changes)
        grid = "grid_a" in changes or "grid_b" in changes or "rows" in changes
        self.events.changed.emit(MIX_GRID if grid else MIX)

    # -- sliders -----------------------------------------------------------------------------------------

    def set_directions(self, directions: Directions | None, amounts: list[float] | None = None) -> None:
        """Put a direction set on the sliders (at `amounts`, or all at zero); it is kept for its method."""
        if directions is not None and len(directions.layers) != len(directions):
            directions.layers = [None] * len(directions)
        self._keep_current_set()
        self.directions = directions
        n = len(directions) if directions is not None else 0
        self.amounts = [float(a) for a in amounts] if amounts is not None and len(amounts) == n else [0.0] * n
        if directions is not None:
            self.direction_sets[directions.method] = (directions, self.amounts)
        self.events.directions.emit(directions)

    def kept_set(self, method: str) -> tuple[Directions, list[float]] | None:
        """The set of this method already made for the open model, with its slider amounts (None: none yet)."""
        kept = self.direction_sets.get(method)
        return (kept[0], list(kept[1])) if kept is not None else None

    def _keep_current_set(self) -> None:
        if self.directions is not None:
            self.direction_sets[self.directions.method] = (self.directions, list(self.amounts))

    # -- the whole state, kept while another model is open -----------------------------------------------

    def remember(self) -> dict:
        """The user's choices as they are now, for restore() when the same model is opened again."""
        self._keep_current_set()
        saved = {k: v for k, v in vars(self).items() if k not in ("events", "random")}
        return copy.copy({**saved, "amounts": list(self.amounts), "direction_sets": dict(self.direction_sets)})

    def restore(self, saved: dict) -> None:
        """Put back choices from remember() (no events: whoever opens the model announces it)."""
        for key, value in saved.items():
            setattr(self, key, value)
        self.amounts = list(self.amounts)
        self.direction_sets = dict(self.direction_sets)

    def set_amount(self, index: int, amount: float) -> None:
        self.amounts[index] = float(amount)
        self.events.amounts.emit(True)

    def reset_amount(self, index: int) -> None:
        self.set_amount(index, 0.0)

    def reset_all(self) -> None:
        self.amounts = [0.0] * len(self.amounts)
        self.events.amounts.emit(True)

    def rename(self, index: int, name: str) -> None:
        name = name.strip()
        if self.directions is not None and name:
            self.directions.names[index] = name
            self.events.amounts.emit(False)

    def set_layers(self, index: int, layers: tuple[int, int] | None) -> None:
        """The style rows [start, end) a StyleGAN slider moves (None: all of them)."""
        if self.directions is None:
            return
        if layers is not None:
            start, end = max(0, int(layers[0])), min(self.num_ws, int(layers[1]))
            layers = None if (start, end) == (0, self.num_ws) else (start, max(end, start + 1))
        self.directions.layers[index] = layers
        self.events.amounts.emit(bool(self.amounts[index]))

    def save_directions(self, path: str | Path) -> None:
        if self.directions is None:
            raise GanStudioError("there are no directions to save")
        self.directions.save(path)

    # -- requests ----------------------------------------------------------------------------------------

    def edits(self) -> tuple[LatentEdit, ...]:
        """The sliders that are not at zero, as edits."""
        if self.directions is None:
            return ()
        return tuple(LatentEdit(i, a, self.directions.layers[i] if self.directions.layers else None)
                     for i, a in enumerate(self.amounts) if a != 0.0)

    def request(self) -> RenderRequest:
        """The main image's request: everything the user has set."""
        return RenderRequest(seed=self.seed, class_index=self.class_index, psi=self.psi, edits=self.edits(),
                             seed_b=self.seed_b, seed_t=self.seed_t if self.seed_b is not None else 0.0,
                             class_b=self.class_b, class_t=self.class_t if self.class_b is not None else 0.0,
                             ws=self.latent, input_transform=self._input_transform())

    def plain_request(self, seed: int) -> RenderRequest:
        """A seed with the current class, truncation and input transform, without edits."""
        return RenderRequest(seed=int(seed), class_index=self.class_index, psi=self.psi,
                             input_transform=self._input_transform())

    def _input_transform(self) -> tuple[float, float, float] | None:
        return None if self.transform == NO_TRANSFORM else self.transform

    def strip_requests(self) -> list[RenderRequest]:
        """The interpolation frames towards seed B (the class blend of the main image kept in each)."""
        base = self.request()
        frames = interpolation_requests(base, self.frames, seed_b=self.seed_b)
        return [replace(r, class_b=base.class_b, class_t=base.class_t) for r in frames]

    def mix_requests(self) -> list[RenderRequest]:
        """Source A, source B and their mix (B's styles on the chosen rows)."""
        a = self.request() if self.mix.seed_a is None else self.plain_request(self.mix.seed_a)
        b = self.request() if self.mix.seed_b is None else self.plain_request(self.mix.seed_b)
        mix = StyleMix(self.mix.rows, source=b) if self.mix.rows else None
        return [a, b, replace(a, mix=mix)]

    def grid_requests(self) -> list[RenderRequest]:
        """The mixing grid: A seeds, B seeds, then each A row mixed with each B column."""
        a = [self.plain_request(s) for s in self.mix.grid_a]
        b = [self.plain_request(s) for s in self.mix.grid_b]
        rows = self.mix.rows
        mixes = [replace(ra, mix=StyleMix(rows, seed=rb.seed) if rows else None) for ra in a for rb in b]
        return a + b + mixes


# -- the explorer as it was left, for the next launch ------------------------------------------------------

_NUMBERS = {"seed": int, "psi": float, "class_index": int, "class_b": int, "class_t": float, "seed_b": int,
            "seed_t": float, "frames": int}


def session_record(model: dict, saved: dict) -> dict:
    """JSON-able data for reopening the explorer at the next launch: `model` says which model it was (for
    example {"key": ..., "path": ...} or {"key": ..., "bundled": ...}); `saved` is ExplorerState.remember()."""
    directions: Directions | None = saved.get("directions")
    mix = saved.get("mix") or MixSettings()
    choices = {k: saved.get(k) for k in _NUMBERS}
    choices.update(transform=list(saved.get("transform", NO_TRANSFORM)),
                   mix={k: list(v) if isinstance(v, tuple) else v for k, v in asdict(mix).items()},
                   directions=json.loads(directions.to_json()) if directions is not None else None,
                   amounts=[float(a) for a in saved.get("amounts", [])])
    return {"version": SESSION_VERSION, "model": dict(model), "choices": choices}


def read_session(data: object) -> tuple[dict, dict] | None:
    """(model, choices for ExplorerState.restore()) from session_record()'s data: what cannot be read is left
    out; None when the record names no model."""
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict) or not data["model"].get("key"):
        return None
    raw = data.get("choices") if isinstance(data.get("choices"), dict) else {}
    saved: dict = {}
    for key, kind in _NUMBERS.items():
        value = raw.get(key)
        if value is None and key in ("class_index", "class_b", "seed_b"):
            saved[key] = None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            saved[key] = kind(value)
    transform = raw.get("transform")
    if isinstance(transform, list) and len(transform) == 3 and all(isinstance(v, (int, float)) for v in transform):
        saved["transform"] = tuple(float(v) for v in transform)
    try:
        mix = raw.get("mix") or {}
        saved["mix"] = MixSettings(**{k: (tuple(int(x) for x in v) if isinstance(v, list) else
                                          None if v is None else int(v)) for k, v in mix.items()})
    except (TypeError, ValueError):
        pass
    try:
        directions = Directions.from_json(json.dumps(raw["directions"]), "the saved sliders") \
            if raw.get("directions") else None
    except GanStudioError:
        directions = None
    amounts = raw.get("amounts")
    if directions is not None:
        ok = isinstance(amounts, list) and len(amounts) == len(directions) and \
            all(isinstance(a, (int, float)) for a in amounts)
        amounts = [float(a) for a in amounts] if ok else [0.0] * len(directions)
        saved.update(directions=directions, amounts=amounts, direction_sets={directions.method: (directions, amounts)})
    return dict(data["model"]), saved
