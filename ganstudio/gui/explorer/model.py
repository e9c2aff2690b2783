"""The explorer's controller: the open generator, what the user has chosen (seed, class, truncation, slider
amounts, interpolation, style mixing) and the renderer that turns it into pictures.

Renders run on the AsyncRenderer's thread (the newest request of each channel wins); its callback is forwarded
to the GUI thread with a queued signal, and a result older than the last one shown is dropped. Directions are
computed on a background task with a copy of the generator, so the sliders stay live meanwhile."""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core.bundled import BundledModel
from ganstudio.core.checkpoints import Checkpoint, generator_from_checkpoint, load_checkpoint
from ganstudio.core.device import device_name, resolve_device
from ganstudio.core.latent.attributes import attribute_directions
from ganstudio.core.latent.directions import Directions, compute_directions, model_info
from ganstudio.core.latent.sampling import is_style_based
from ganstudio.core.render import (AsyncRenderer, BatchResult, LatentEdit, Renderer, RenderRequest, RenderResult,
                                   StyleMix, layer_groups)
from ganstudio.core.errors import GanStudioError
from ganstudio.gui.explorer.tasks import Task

MAX_SEED = 2**31 - 1
METHOD_LABELS = {"axes": "Latent axes", "pca": "PCA (GANSpace)", "sefa": "SeFa (closed form)",
                 "attributes": "Face attributes (InterFaceGAN)"}
ATTRIBUTE_SAMPLES = 4000  # faces scored for attribute directions in the app (about a minute on a laptop CPU)
CHANNEL_STRIP, CHANNEL_MIX, CHANNEL_GRID = "strip", "mix", "grid"


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

    @property
    def conditional(self) -> bool:
        return bool(self.class_names)

    @property
    def resolution(self) -> int:
        return self.config.model.resolution

    def describe(self) -> str:
        m = self.config.model
        parts = [m.arch.upper() if m.arch != "stylegan" else "StyleGAN", f"{m.resolution}x{m.resolution}"]
        if self.conditional:
            parts.append(f"{len(self.class_names)} classes")
        if self.step is not None:
            parts.append(f"step {self.step:,}")
        return f"{self.title} · {' · '.join(parts)} · {self.device}"


@dataclass(frozen=True)
class MixSettings:
    """Style mixing: sources A and B (a seed, or None for the current edited image) and the rows taken from B."""

    seed_a: int | None = None
    seed_b: int | None = 1
    rows: tuple[int, ...] = ()
    grid_a: tuple[int, ...] = (1, 2, 3, 4)
    grid_b: tuple[int, ...] = (5, 6, 7, 8)


class ExplorerModel(QObject):
    """Owns the generator, the Renderer and the AsyncRenderer; emits each new picture."""

    opened = Signal(object)  # ModelInfo
    open_failed = Signal(str)
    state_changed = Signal()  # seed, class, truncation, interpolation or mixing settings changed
    directions_changed = Signal(object)  # Directions | None
    directions_busy = Signal(bool, str)  # computing?, what
    amounts_changed = Signal()  # slider amounts, names or layer ranges changed
    rendered = Signal(object)  # RenderResult of the main image
    batch_rendered = Signal(object)  # BatchResult of the strip, mix or grid channel
    message = Signal(str)  # a sentence for the status line
    error = Signal(str)  # a problem, in one sentence
    _result_ready = Signal(object)  # from the render thread

    def __init__(self, device: str = "auto", parent: QObject | None = None):
        super().__init__(parent)
        self.device_request = device
        self.info: ModelInfo | None = None
        self.bundled_key: str | None = None  # the key of an open bundled model
        self.G: nn.Module | None = None
        self.renderer: Renderer | None = None
        self._async: AsyncRenderer | None = None
        self._direction_task: Task | None = None
        self._shown: dict[str, int] = {}
        self._generation = 0  # results of a previously open model are ignored
        self._random = random.Random()
        self._result_ready.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.mixing_shown = False  # the mixing views are on screen (no mix renders otherwise)
        self._reset_state()

    def _reset_state(self) -> None:
        self.seed = 0
        self.class_index: int | None = None
        self.psi = 1.0
        self.directions: Directions | None = None
        self.amounts: list[float] = []
        self.seed_b: int | None = None
        self.seed_t = 0.0
        self.frames = 8
        self.class_b: int | None = None
        self.class_t = 0.0
        self.mix = MixSettings()
        self.last_result: RenderResult | None = None
        self._strip_key: tuple | None = None

    # -- opening ---------------------------------------------------------------------------------------

    def open_checkpoint(self, path: str | Path) -> bool:
        """Load a checkpoint (file or run folder); a wrong or damaged file is reported by open_failed."""
        try:
            ckpt = load_checkpoint(path)
            self.open_loaded(ckpt, Path(path))
        except GanStudioError as exc:
            self.open_failed.emit(str(exc))
            return False
        return True

    def open_loaded(self, ckpt: Checkpoint, path: Path | None = None) -> None:
        """Explore an already loaded checkpoint (raises GanStudioError when it cannot be explored)."""
        device = resolve_device(self.device_request)
        name = path.name if path else "the checkpoint"
        G = generator_from_checkpoint(ckpt, device, name=name)
        title = (path.parent.parent.name if path and path.parent.name == "checkpoints" else
                 path.name if path else ckpt.config.name)
        self.set_generator(G, ckpt.config, title or "model", path=path, step=ckpt.step)

    def open_bundled(self, bundled: BundledModel) -> bool:
        """Open a model shipped with the app, with its named direction set on the sliders when it has one."""
        try:
            ckpt = load_checkpoint(bundled.file)
            G = generator_from_checkpoint(ckpt, resolve_device(self.device_request), name=bundled.file.name)
            directions = Directions.load(bundled.directions) if bundled.directions else None
            if directions is not None:
                directions.check_fits(G, ckpt.config)
            self.set_generator(G, ckpt.config, bundled.title, path=bundled.file, step=ckpt.step,
                               directions=directions, bundled_key=bundled.key, seed=bundled.start_seed,
                               psi=bundled.start_psi)
        except GanStudioError as exc:
            self.open_failed.emit(f"the bundled {bundled.title} model cannot be opened: {exc}")
            return False
        return True

    def set_generator(self, G: nn.Module, config: RunConfig, title: str, path: Path | None = None,
                      step: int | None = None, directions: Directions | None = None,
                      bundled_key: str | None = None, seed: int = 0, psi: float = 1.0) -> None:
        """Explore a generator, for example a copy (copy.deepcopy) of a running run's EMA generator: the explorer
        puts the module it gets in eval mode and renders with it from its own thread. Without `directions`,
        SeFa directions are computed for the sliders."""
        renderer = Renderer(G, config)  # raises for toy models before anything is replaced
        self.close()
        self._reset_state()
        self.G, self.renderer = G, renderer
        self.seed, self.psi = int(seed), float(psi)
        m = config.model
        names = tuple(m.class_names) if m.class_names else tuple(str(i) for i in range(m.num_classes))
        style = is_style_based(G)
        self.info = ModelInfo(title, path, step, config, style, int(G.num_ws) if style else 0,
                              names if m.conditional else (), device_name(renderer.device))
        self.class_index = 0 if m.conditional else None
        self.mix = MixSettings(rows=tuple(range(*layer_groups(self.info.num_ws)["fine"])) if style else ())
        self._shown = {}
        self._generation += 1
        generation = self._generation
        self._async = AsyncRenderer(renderer, lambda result: self._result_ready.emit((generation, result)))
        self.bundled_key = bundled_key
        self.opened.emit(self.info)
        self.directions_changed.emit(None)
        self.state_changed.emit()
        if directions is not None:
            self.set_directions(directions)  # renders
        else:
            self.render()
            self.compute_directions("sefa", 10)  # closed form: sliders are there at once

    def close(self) -> None:
        """Stop the render thread and any direction computation (joined); the model stays loaded in memory
        until another is opened."""
        if self._direction_task is not None:
            self._direction_task.stop()
            self._direction_task = None
            self.directions_busy.emit(False, "")
        if self._async is not None:
            self._async.close()
            self._async = None

    @property
    def is_open(self) -> bool:
        return self.renderer is not None and self._async is not None

    @property
    def can_fit_attributes(self) -> bool:
        """Face attributes can be fitted for unconditional colour models (the CelebA classifier reads them)."""
        return self.info is not None and not self.info.conditional and self.info.config.model.channels == 3

    # -- what the user chose -----------------------------------------------------------------------------

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed) % (MAX_SEED + 1)
        self._changed()

    def random_seed(self) -> int:
        self.set_seed(self._random.randrange(MAX_SEED))
        return self.seed

    def set_class(self, index: int | None) -> None:
        self.class_index = index
        self._changed()

    def set_class_blend(self, class_b: int | None, t: float) -> None:
        self.class_b, self.class_t = class_b, float(t)
        self._changed()

    def set_psi(self, psi: float) -> None:
        self.psi = float(psi)
        self._changed()

    def set_interpolation(self, seed_b: int | None, t: float | None = None, frames: int | None = None) -> None:
        """Interpolate the main image towards seed B by t; the frame strip shows `frames` steps."""
        self.seed_b = seed_b
        if t is not None:
            self.seed_t = float(t)
        if frames is not None:
            self.frames = max(2, int(frames))
        self._changed()

    def set_mix(self, **changes) -> None:
        """Change the style-mixing settings (seed_a, seed_b, rows, grid_a, grid_b)."""
        if "rows" in changes:
            changes["rows"] = tuple(sorted(set(int(r) for r in changes["rows"])))
        self.mix = replace(self.mix, **changes)
        self.state_changed.emit()
        self.render_mix()
        if "grid_a" in changes or "grid_b" in changes or "rows" in changes:
            self.render_grid()

    def _changed(self) -> None:
        self.state_changed.emit()
        self.render()

    # -- sliders -----------------------------------------------------------------------------------------

    def set_amount(self, index: int, amount: float) -> None:
        self.amounts[index] = float(amount)
        self.amounts_changed.emit()
        self.render()

    def reset_amount(self, index: int) -> None:
        self.set_amount(index, 0.0)

    def reset_all(self) -> None:
        self.amounts = [0.0] * len(self.amounts)
        self.amounts_changed.emit()
        self.render()

    def rename(self, index: int, name: str) -> None:
        name = name.strip()
        if self.directions is not None and name:
            self.directions.names[index] = name
            self.amounts_changed.emit()

    def set_layers(self, index: int, layers: tuple[int, int] | None) -> None:
        """The style rows [start, end) a StyleGAN slider moves (None: all of them)."""
        if self.directions is None:
            return
        if layers is not None:
            start, end = max(0, int(layers[0])), min(self.info.num_ws, int(layers[1]))
            layers = None if (start, end) == (0, self.info.num_ws) else (start, max(end, start + 1))
        self.directions.layers[index] = layers
        self.amounts_changed.emit()
        if self.amounts[index]:
            self.render()

    def set_directions(self, directions: Directions | None) -> None:
        """Put a direction set on the sliders (all at zero); raises when it belongs to another model."""
        if self.renderer is None:
            raise GanStudioError("open a checkpoint first")
        self.renderer.set_directions(directions)
        if directions is not None and len(directions.layers) != len(directions):
            directions.layers = [None] * len(directions)
        self.directions = directions
        self.amounts = [0.0] * (len(directions) if directions is not None else 0)
        self.directions_changed.emit(directions)
        self.render()

    def compute_directions(self, method: str, k: int, n_samples: int = 5000) -> None:
        """Find directions on a background task; the sliders follow when they are ready."""
        if self.G is None:
            return
        if self._direction_task is not None:
            self._direction_task.stop()
        G, config = copy.deepcopy(self.G), self.info.config  # the render thread keeps using the original

        def work(progress, cancelled):
            if method == "attributes":
                return attribute_directions(G, config, n_samples=ATTRIBUTE_SAMPLES,
                                            cancelled=cancelled).directions
            return compute_directions(G, config, method, k, n_samples=n_samples, cancelled=cancelled)

        task = Task(work, "computing directions", self)
        task.succeeded.connect(self._directions_ready)
        task.failed.connect(self.error)
        task.finished.connect(lambda: self._direction_finished(task))
        self._direction_task = task
        self.directions_busy.emit(True, f"computing {METHOD_LABELS.get(method, method)} directions…")
        task.start()

    @Slot(object)
    def _directions_ready(self, directions: Directions) -> None:
        if self.renderer is None:
            return
        self.set_directions(directions)
        self.message.emit(f"{len(directions)} {METHOD_LABELS[directions.method]} directions ready")

    def _direction_finished(self, task: Task) -> None:
        if self._direction_task is task:
            self._direction_task = None
            self.directions_busy.emit(False, "")

    @property
    def computing_directions(self) -> bool:
        return self._direction_task is not None

    def save_directions(self, path: str | Path) -> None:
        if self.directions is None:
            raise GanStudioError("there are no directions to save")
        self.directions.save(path)

    def load_directions(self, path: str | Path) -> Directions:
        """Put a saved direction set on the sliders; one made for another model is refused."""
        directions = Directions.load(path)
        self.set_directions(directions)
        made_for = directions.model.get("fingerprint")
        if made_for and made_for != model_info(self.G, self.info.config)["fingerprint"]:
            self.message.emit(f"loaded {Path(path).name}; it was made with other weights of this architecture "
                              "(another checkpoint?), so its directions may mean something else here")
        else:
            self.message.emit(f"loaded the direction set {Path(path).name}")
        return directions

    # -- requests and rendering --------------------------------------------------------------------------

    def edits(self) -> tuple[LatentEdit, ...]:
        if self.directions is None:
            return ()
        return tuple(LatentEdit(i, a, self.directions.layers[i] if self.directions.layers else None)
                     for i, a in enumerate(self.amounts) if a != 0.0)

    def request(self) -> RenderRequest:
        """The main image's request: everything the user has set."""
        return RenderRequest(seed=self.seed, class_index=self.class_index, psi=self.psi, edits=self.edits(),
                             seed_b=self.seed_b, seed_t=self.seed_t if self.seed_b is not None else 0.0,
                             class_b=self.class_b, class_t=self.class_t if self.class_b is not None else 0.0)

    def plain_request(self, seed: int) -> RenderRequest:
        """A seed with the current class and truncation, without edits."""
        return RenderRequest(seed=int(seed), class_index=self.class_index, psi=self.psi)

    def render(self) -> int | None:
        """Ask for the main image (and what depends on it); returns the stamp."""
        if not self.is_open:
            return None
        stamp = self._async.submit(self.request())
        if self.seed_b is not None:
            self.render_strip()
        if self.mix.seed_a is None or self.mix.seed_b is None:
            self.render_mix()
        return stamp

    def show_mixing(self, shown: bool) -> None:
        """The view tells whether the mixing images are on screen; they are rendered only then."""
        self.mixing_shown = shown
        if shown:
            self.render_mix()
            self.render_grid()

    def strip_requests(self) -> list[RenderRequest]:
        base = replace(self.request(), seed_b=self.seed_b, seed_t=0.0)
        return [replace(base, seed_t=float(i) / (self.frames - 1)) for i in range(self.frames)]

    def render_strip(self) -> None:
        """Render the interpolation frames, unless they are already shown (moving t does not change them)."""
        if self.is_open and self.seed_b is not None:
            requests = self.strip_requests()
            key = tuple(requests)
            if key != self._strip_key:
                self._strip_key = key
                self._async.submit(requests, CHANNEL_STRIP)

    def mix_requests(self) -> list[RenderRequest]:
        """Source A, source B and their mix (B's styles on the chosen rows)."""
        a = self.request() if self.mix.seed_a is None else self.plain_request(self.mix.seed_a)
        b = self.request() if self.mix.seed_b is None else self.plain_request(self.mix.seed_b)
        mix = StyleMix(self.mix.rows, source=b) if self.mix.rows else None
        return [a, b, replace(a, mix=mix)]

    def render_mix(self) -> None:
        if self.is_open and self.info.style_based and self.mixing_shown:
            self._async.submit(self.mix_requests(), CHANNEL_MIX)

    def grid_requests(self) -> list[RenderRequest]:
        """The mixing grid: A seeds, B seeds, then each A row mixed with each B column."""
        a = [self.plain_request(s) for s in self.mix.grid_a]
        b = [self.plain_request(s) for s in self.mix.grid_b]
        rows = self.mix.rows
        mixes = [replace(ra, mix=StyleMix(rows, seed=rb.seed) if rows else None) for ra in a for rb in b]
        return a + b + mixes

    def render_grid(self) -> None:
        if self.is_open and self.info.style_based and self.mixing_shown and self.mix.grid_a and self.mix.grid_b:
            self._async.submit(self.grid_requests(), CHANNEL_GRID)

    def idle(self) -> bool:
        """Nothing waiting or being rendered (used by tests and the benchmark)."""
        return self._async is None or self._async.idle()

    @Slot(object)
    def _deliver(self, item: tuple[int, RenderResult | BatchResult]) -> None:
        """On the GUI thread: pass on a result unless a newer one of its channel was already shown."""
        generation, result = item
        if (self._async is None or generation != self._generation
                or result.stamp <= self._shown.get(result.channel, 0)):
            return
        self._shown[result.channel] = result.stamp
        if result.error:
            self.error.emit(result.error)
        if isinstance(result, RenderResult):
            if not result.error:
                self.last_result = result
            self.rendered.emit(result)
        else:
            self.batch_rendered.emit(result)
