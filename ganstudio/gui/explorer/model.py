"""The explorer's Qt adapter: opens the generator, owns the Renderer, the AsyncRenderer and the direction
worker, and turns the Qt-free ExplorerState's events (core/explorer.py: what the user chose, and the requests
built from it) into signals and renders.

Renders run on the AsyncRenderer's thread (the newest request of each channel wins); its callback is forwarded
to the GUI thread with a queued signal, and a result older than the last one shown is dropped. Directions are
computed on a background worker with a copy of the generator, so the sliders stay live meanwhile."""
from __future__ import annotations

import copy
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal, Slot
from torch import nn

from ganstudio.core.bundled import BundledModel
from ganstudio.core.checkpoints import Checkpoint, generator_from_checkpoint, load_checkpoint
from ganstudio.core.config import RunConfig
from ganstudio.core.device import device_name, resolve_device
from ganstudio.core.errors import GanStudioError
from ganstudio.core.explorer import (IMAGE, MIX_GRID, ExplorerState, LoadedModel, ModelInfo, load_model,
                                     model_from_checkpoint, session_record)
from ganstudio.core.latent.attributes import attribute_directions
from ganstudio.core.latent.directions import Directions, compute_directions, model_info
from ganstudio.core.latent.sampling import is_style_based
from ganstudio.core.render import AsyncRenderer, BatchResult, Renderer, RenderRequest, RenderResult
from ganstudio.gui.threads import WorkerBase, create_worker

METHOD_LABELS = {"axes": "Latent axes", "pca": "PCA (GANSpace)", "sefa": "SeFa (closed form)",
                 "attributes": "Face attributes (InterFaceGAN)"}
ATTRIBUTE_SAMPLES = 4000  # faces scored for attribute directions in the app (about a minute on a laptop CPU)
CHANNEL_STRIP, CHANNEL_MIX, CHANNEL_GRID = "strip", "mix", "grid"
log = logging.getLogger(__name__)
def preview_of(request: RenderRequest, renderer: Renderer) -> RenderRequest:
    """The cheaper request drawn while a slider is held: the model's fast preview size (a StyleGAN2 'skip'
    network stops at a lower block); the request itself when the model has no preview."""
    size = renderer.preview_size
    return replace(request, max_size=size) if size is not None else request


def full_size(image: np.ndarray, side: int) -> np.ndarray:
    """A preview enlarged (bilinear) to the model's side, so that the view keeps its size and zoom."""
    if image.shape[0] >= side:
        return image
    pil = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)
    out = np.asarray(pil.resize((side, side), Image.Resampling.BILINEAR))
    return out[..., None] if out.ndim == 2 else out


class ExplorerModel(QObject):
    """Owns the generator, the Renderer and the AsyncRenderer; `state` holds the user's choices; emits each new
    picture."""

    opened = Signal(object)  # ModelInfo
    open_failed = Signal(str)
    loading = Signal(bool, str)  # a file is being read and built on a worker thread?, what
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
        self.state = ExplorerState()
        self.state.events.changed.connect(self._on_changed)
        self.state.events.amounts.connect(self._on_amounts)
        self.state.events.directions.connect(self._on_directions)
        self.last_result: RenderResult | None = None
        self._async: AsyncRenderer | None = None
        self._direction_task: WorkerBase | None = None
        self._open_task: WorkerBase | None = None  # the newest model being opened on a worker thread
        self._open_tasks: set[WorkerBase] = set()  # every one still running (older ones quit, joined on close)
        self.slider_held = False  # a slider is being dragged: previews until it is released
        self._previewed = False  # a preview was asked for since the last full image
        self._shown: dict[str, int] = {}
        self._strip_key: tuple | None = None
        self._generation = 0  # results of a previously open model are ignored
        self._remembered: dict[str, dict] = {}  # each model's choices this session, by model_key()
        self._result_ready.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self.mixing_shown = False  # the mixing views are on screen (no mix renders otherwise)

    # -- opening ---------------------------------------------------------------------------------------

    def open_checkpoint(self, path: str | Path) -> bool:
        """Load a checkpoint (file or run folder, or an NVIDIA `.pkl` / rosinality `.pt`) here and now; a wrong
        or damaged file is reported by open_failed."""
        self._forget_opening()
        try:
            self.show_loaded(load_model(path, resolve_device(self.device_request)))
        except GanStudioError as exc:
            log.warning("could not explore %s: %s", path, exc)
            self.open_failed.emit(str(exc))
            return False
        return True

    def open_in_background(self, path: str | Path) -> None:
        """Read and build a model on a worker thread (an imported 1024-px pickle takes seconds): `loading` says
        so meanwhile, then the model opens, or open_failed says why not. The newest request wins."""
        self._forget_opening()
        device = resolve_device(self.device_request)
        task = create_worker(lambda progress, cancelled: load_model(path, device), _name="open-model",
                             _doing=f"opening {Path(path).name}")
        task.returned.connect(lambda loaded: self._opened_in_background(task, loaded))
        task.errored.connect(lambda message: self._open_failed_in_background(task, path, message))
        task.finished.connect(lambda: self._open_finished(task))
        self._open_task = task
        self._open_tasks.add(task)
        self.loading.emit(True, f"Opening {Path(path).name}…")
        task.start()

    def _opened_in_background(self, task: WorkerBase, loaded: LoadedModel) -> None:
        if task is not self._open_task:
            return
        try:
            self.show_loaded(loaded)
        except GanStudioError as exc:
            self._open_failed_in_background(task, loaded.path, str(exc))

    def _open_failed_in_background(self, task: WorkerBase, path, message: str) -> None:
        if task is self._open_task:
            log.warning("could not explore %s: %s", path, message)
            self.open_failed.emit(message)

    def _open_finished(self, task: WorkerBase) -> None:
        self._open_tasks.discard(task)
        if task is self._open_task:
            self._open_task = None
            self.loading.emit(False, "")

    def _forget_opening(self) -> None:
        """Another model is opened: the one being read in the background is dropped when it arrives."""
        if self._open_task is not None:
            self._open_task.quit()
            self._open_task = None
            self.loading.emit(False, "")

    @property
    def opening(self) -> bool:
        """A model is being read on a worker thread."""
        return self._open_task is not None

    def open_loaded(self, ckpt: Checkpoint, path: Path | None = None) -> None:
        """Explore an already loaded checkpoint (raises GanStudioError when it cannot be explored)."""
        self.show_loaded(model_from_checkpoint(ckpt, path, resolve_device(self.device_request)))

    def show_loaded(self, loaded: LoadedModel) -> None:
        """Explore a generator built by load_model (raises GanStudioError when it cannot be explored)."""
        self.set_generator(loaded.G, loaded.config, loaded.title, path=loaded.path, step=loaded.step,
                           card=loaded.card, kind=loaded.kind)

    def open_bundled(self, bundled: BundledModel) -> bool:
        """Open a model shipped with the app, with its named direction set on the sliders when it has one."""
        self._forget_opening()
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
            log.error("the bundled model %s (%s) cannot be opened: %s", bundled.key, bundled.file, exc)
            self.open_failed.emit(f"the bundled {bundled.title} model cannot be opened: {exc}")
            return False
        return True

    def set_generator(self, G: nn.Module, config: RunConfig, title: str, path: Path | None = None,
                      step: int | None = None, directions: Directions | None = None,
                      bundled_key: str | None = None, seed: int = 0, psi: float = 1.0, card: str = "",
                      kind: str = "") -> None:
        """Explore a generator, for example a copy (copy.deepcopy) of a running run's EMA generator: the explorer
        puts the module it gets in eval mode and renders with it from its own thread. Without `directions`,
        SeFa directions are computed for the sliders."""
        renderer = Renderer(G, config)  # raises for toy models before anything is replaced
        self._stop_rendering()
        key = self.model_key(self.info, self.bundled_key) if self.info is not None else None
        if key is not None:  # Digits, then Faces again: the face model comes back as it was left
            self._remembered[key] = self.state.remember()
        self.G, self.renderer = G, renderer
        m = config.model
        names = tuple(m.class_names) if m.class_names else tuple(str(i) for i in range(m.num_classes))
        style = is_style_based(G)
        self.info = ModelInfo(title, path, step, config, style, int(G.num_ws) if style else 0,
                              names if m.conditional else (), device_name(renderer.device),
                              renderer.has_input_transform, card, kind)
        self.state.reset(self.info.num_ws, m.conditional, seed, psi)
        saved = self._remembered.get(self.model_key(self.info, bundled_key) or "")
        if saved is not None:
            self.state.restore(saved)
            directions = self.state.directions
            try:
                if directions is not None:
                    directions.check_fits(G, config)
            except GanStudioError:  # sliders saved by an earlier launch for other weights: computed afresh
                self.state.directions, self.state.amounts, directions = None, [], None
                self.state.direction_sets = {}
        self.last_result = None
        self._strip_key = None
        self._shown = {}
        self._generation += 1
        generation = self._generation
        self._async = AsyncRenderer(renderer, lambda result: self._result_ready.emit((generation, result)))
        self.bundled_key = bundled_key
        log.info("explorer opened %s (%s)", path or title, self.info.describe())
        self.opened.emit(self.info)
        self.directions_changed.emit(None)
        self.state_changed.emit()
        if directions is not None:
            self.set_directions(directions, list(self.state.amounts) if saved is not None else None)  # renders
        else:
            self.render()
            self.compute_directions("sefa", 10)  # closed form: sliders are there at once

    @staticmethod
    def model_key(info: ModelInfo, bundled_key: str | None) -> str | None:
        """What identifies a model for the session's memory: a bundled model's key, or its file and step (None
        for a generator without a file, such as a live run's copy, whose weights change)."""
        if bundled_key:
            return f"bundled:{bundled_key}"
        return f"{info.path.resolve()}@{info.step}" if info.path is not None else None

    def remember_for_later(self, key: str, saved: dict) -> None:
        """Choices (ExplorerState.restore() data) to put back when the model with this key is opened."""
        self._remembered[key] = saved

    def session(self) -> dict | None:
        """The open model and the user's choices, as JSON-able data for the next launch (None: nothing to
        reopen, e.g. a live run's generator)."""
        if self.info is None:
            return None
        key = self.model_key(self.info, self.bundled_key)
        if key is None:
            return None
        model = {"key": key, **({"bundled": self.bundled_key} if self.bundled_key else {"path": str(self.info.path)})}
        return session_record(model, self.state.remember())

    def close(self) -> None:
        """Stop the render thread and any direction computation or model opening (joined); the model stays
        loaded in memory until another is opened."""
        self._forget_opening()
        for task in list(self._open_tasks):
            task.join()
        self._open_tasks.clear()
        self._stop_rendering()

    def _stop_rendering(self) -> None:
        if self._direction_task is not None:
            self._direction_task.join()
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

    # -- the state's events ------------------------------------------------------------------------------

    def _on_changed(self, what: str) -> None:
        self.state_changed.emit()
        if what == IMAGE:
            self.render()
        else:
            self.render_mix()
            if what == MIX_GRID:
                self.render_grid()

    def _on_amounts(self, render: bool) -> None:
        self.amounts_changed.emit()
        if render:
            self.render()

    def _on_directions(self, directions: Directions | None) -> None:
        self.directions_changed.emit(directions)
        self.render()

    # -- directions --------------------------------------------------------------------------------------

    def set_directions(self, directions: Directions | None, amounts: list[float] | None = None) -> None:
        """Put a direction set on the sliders (all at zero unless `amounts`); raises when it belongs to another
        model."""
        if self.renderer is None:
            raise GanStudioError("open a checkpoint first")
        self.renderer.set_directions(directions)
        self.state.set_directions(directions, amounts)

    def use_kept(self, method: str) -> bool:
        """Put back the set of `method` made earlier for this model, as it was left; False when there is none."""
        kept = self.state.kept_set(method)
        if kept is None or self.renderer is None:
            return False
        if kept[0] is not self.state.directions:
            self.set_directions(*kept)
        return True

    def compute_directions(self, method: str, k: int, n_samples: int = 5000) -> None:
        """Find directions on a background worker; the sliders follow when they are ready."""
        if self.G is None:
            return
        if self._direction_task is not None:
            self._direction_task.join()
        G, config = copy.deepcopy(self.G), self.info.config  # the render thread keeps using the original

        generation = self._generation  # a result that arrives after another model opened is dropped

        def work(progress, cancelled):
            if method == "attributes":
                return generation, attribute_directions(G, config, n_samples=ATTRIBUTE_SAMPLES,
                                                        cancelled=cancelled).directions
            return generation, compute_directions(G, config, method, k, n_samples=n_samples, cancelled=cancelled)

        task = create_worker(work, _name="directions", _doing="computing directions")
        task.returned.connect(self._directions_ready)
        task.errored.connect(self.error)
        task.finished.connect(lambda: self._direction_finished(task))
        self._direction_task = task
        self.directions_busy.emit(True, f"computing {METHOD_LABELS.get(method, method)} directions…")
        task.start()

    @Slot(object)
    def _directions_ready(self, result: tuple[int, Directions]) -> None:
        generation, directions = result
        if self.renderer is None or generation != self._generation:
            return
        self.set_directions(directions)
        self.message.emit(f"{len(directions)} {METHOD_LABELS[directions.method]} directions ready")

    def _direction_finished(self, task: WorkerBase) -> None:
        if self._direction_task is task:
            self._direction_task = None
            self.directions_busy.emit(False, "")

    @property
    def computing_directions(self) -> bool:
        return self._direction_task is not None

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

    # -- rendering ---------------------------------------------------------------------------------------

    def set_slider_held(self, held: bool) -> None:
        """A slider is pressed (previews while it moves) or released (the full image is drawn again)."""
        self.slider_held = bool(held)
        if not held and self._previewed:
            self.render()

    def render(self) -> int | None:
        """Ask for the main image (and what depends on it); returns the stamp. While a slider is held the
        main image is a preview, when the core has one."""
        if not self.is_open:
            return None
        request = self.state.request()
        self._previewed = self.slider_held and self.renderer.preview_size is not None
        stamp = self._async.submit(preview_of(request, self.renderer) if self._previewed else request)
        if self.state.seed_b is not None:
            self.render_strip()
        if self.state.mix.seed_a is None or self.state.mix.seed_b is None:
            self.render_mix()
        return stamp

    def show_mixing(self, shown: bool) -> None:
        """The view tells whether the mixing images are on screen; they are rendered only then."""
        self.mixing_shown = shown
        if shown:
            self.render_mix()
            self.render_grid()

    def render_strip(self) -> None:
        """Render the interpolation frames, unless they are already shown (moving t does not change them)."""
        if self.is_open and self.state.seed_b is not None:
            requests = self.state.strip_requests()
            key = tuple(requests)
            if key != self._strip_key:
                self._strip_key = key
                self._async.submit(requests, CHANNEL_STRIP)

    def render_mix(self) -> None:
        if self.is_open and self.info.style_based and self.mixing_shown:
            self._async.submit(self.state.mix_requests(), CHANNEL_MIX)

    def render_grid(self) -> None:
        mix = self.state.mix
        if self.is_open and self.info.style_based and self.mixing_shown and mix.grid_a and mix.grid_b:
            self._async.submit(self.state.grid_requests(), CHANNEL_GRID)

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
            if result.preview and result.image is not None:
                result.image = full_size(result.image, self.info.resolution)
            if not result.error:
                self.last_result = result
            self.rendered.emit(result)
        else:
            self.batch_rendered.emit(result)
