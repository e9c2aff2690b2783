"""File ▸ Open latent… and Save latent… for the explorer, without widgets.

Open reads a latent file (core/latent/files.py: what `ganstudio project`, `ganstudio drag --latent-out` and Edit a
photo write) on a worker thread (gui/threads.py) and makes it the current image (`ExplorerState.adopt_latent`:
the sliders start at zero and edit it). A latent made for another model is refused in one sentence (the file
records its generator's fingerprint). A pivotally tuned photo's file has its tuned generator beside it: the
explorer then renders with that copy (gui/photo/tuned_swap.py) until another model is opened.

Save writes the current image's W+ (slider edits and interpolation included) in the same format, so that opening
the file again shows the same picture, and `ganstudio sample --latent` or `ganstudio drag --latent` take it."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from PySide6.QtCore import QObject, Signal
from torch import nn

from ganstudio.core.checkpoints import load_generator
from ganstudio.core.errors import GanStudioError
from ganstudio.core.latent.directions import model_info
from ganstudio.core.latent.files import LatentFile, load_latent, make_latent, save_latent
from ganstudio.gui.explorer.drag_controller import LABEL as DRAGGED
from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.photo.tuned_swap import TunedSwap
from ganstudio.gui.threads import WorkerBase, create_worker

log = logging.getLogger(__name__)
NEEDS_STYLEGAN = "open a StyleGAN model in the explorer first: a latent file holds a StyleGAN's W+ latent"


@dataclass
class OpenedLatent:
    """A latent file shown as the current image, remembered so that saving it again keeps where it came from."""

    values: tuple[float, ...]  # ExplorerState.latent while this file's latent is shown
    path: Path
    latent: LatentFile
    tuned: nn.Module | None  # the tuned generator read from beside the file, if any


class LatentFiles(QObject):
    """Opens latent files as the explorer's current image and saves the current image's latent."""

    busy = Signal(bool, str)  # a file is being read or written?, what
    done = Signal(str)  # what was opened or saved, in one sentence
    note = Signal(str)  # what was opened or saved with something missing (a tuned generator), in one sentence
    refused = Signal(str)  # a file that cannot be shown (damaged, another model's), in one sentence
    error = Signal(str)  # a latent that could not be saved, in one sentence

    def __init__(self, model: ExplorerModel, swap: TunedSwap, parent: QObject | None = None):
        super().__init__(parent)
        self.model, self.swap = model, swap
        self._opened: OpenedLatent | None = None
        self._open_task: WorkerBase | None = None  # the newest file being opened: an older one's result is dropped
        self._tasks: set[WorkerBase] = set()  # every read or write still running

    @property
    def available(self) -> bool:
        """A StyleGAN is open in the explorer (latent files hold W+ latents)."""
        info = self.model.info
        return self.model.is_open and info is not None and info.style_based

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def _original(self) -> nn.Module | None:
        """The generator latents are made for: the explorer's, or the one a shown tuned copy was tuned from."""
        return self.swap.original_generator or self.model.G

    # -- opening -------------------------------------------------------------------------------------

    def open(self, path: str | Path) -> bool:
        """Read a latent file on a worker, then show it; False (and `refused`) when no StyleGAN is open."""
        if not self.available:
            self.refused.emit(NEEDS_STYLEGAN)
            return False
        path = Path(path).expanduser()
        original, config = self._original(), self.model.info.config
        device = next(original.parameters()).device

        def work(progress, cancelled):
            latent = load_latent(path)
            latent.check_fits(original, config, path.name)
            tuned_path, tuned, missing = latent.tuned_path(path), None, ""
            if tuned_path is not None:
                if tuned_path.is_file():
                    tuned, _ = load_generator(tuned_path, device)
                else:
                    missing = tuned_path.name
            return latent, tuned, missing

        task = self._start(work, "open-latent", f"opening {path.name}", f"Opening {path.name}…")
        task.returned.connect(lambda result: self._read(task, path, original, *result))
        task.errored.connect(lambda message: self._refused(task, message))
        return True

    def _read(self, task: WorkerBase, path: Path, original: nn.Module, latent: LatentFile, tuned: nn.Module | None,
              missing: str) -> None:
        if task is not self._open_task:
            return
        if self._original() is not original or not self.available:
            self.refused.emit(f"the explorer shows another model now; open {path.name} again for it")
            return
        ws = latent.ws[0]
        try:
            if tuned is not None:
                self.swap.show(ws, path.name, tuned)  # a new generator: its sliders start at zero
            else:
                self.swap.restore()  # a tuned copy of another photo goes
                self.model.state.adopt_latent(ws, path.name)
        except GanStudioError as exc:
            self.refused.emit(str(exc))
            return
        self._opened = OpenedLatent(self.model.state.latent, path, latent, tuned)
        how = " with its tuned generator" if tuned is not None else ""
        self.done.emit(f"{path.name} is the current image{how}: the sliders edit it")
        if missing:
            self.note.emit(f"{path.name} was tuned, but its tuned generator {missing} is not beside it: the original "
                           "generator draws it, a little differently")

    def _refused(self, task: WorkerBase, message: str) -> None:
        if task is self._open_task:
            self.refused.emit(message)

    # -- saving --------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> bool:
        """Write the current image's latent (slider edits included) on a worker; False when there is none."""
        if not self.available:
            self.error.emit(NEEDS_STYLEGAN)
            return False
        path = Path(path).expanduser()
        if path.suffix.lower() != ".npz":
            path = path.with_suffix(".npz")
        m = self.model
        renderer, request, config = m.renderer, m.state.request(), m.info.config
        original, tuned = self._original(), (m.G if self.swap.tuned_shown else None)
        source, kept, note = self._provenance(path, tuned)

        def work(progress, cancelled):
            with renderer.lock, torch.no_grad():  # one computation at a time on this generator
                ws = renderer.latent(request)
            if tuned is not None:
                kept["tuned_model"] = model_info(tuned, config)
            save_latent(path, make_latent(ws, original, config, source, "w+", **kept))
            return path

        task = self._start(work, "save-latent", f"saving {path.name}", f"Saving {path.name}…")
        task.returned.connect(lambda saved: self._saved(saved, note))
        task.errored.connect(self.error)
        return True

    def _saved(self, path: Path, note: str) -> None:
        self.done.emit(f"saved the current image's latent to {path.name}")
        if note:
            self.note.emit(f"{path.name} is saved without its tuned generator: {note}")

    def _provenance(self, path: Path, tuned: nn.Module | None) -> tuple[str, dict, str]:
        """The new file's source, what it keeps of the latent it came from, and a note for the user."""
        state, opened = self.model.state, self._opened
        if state.latent is None:
            r = state.request()
            return "seed", {"info": {"seed": r.seed, "psi": r.psi, "sliders_moved": len(r.edits)}}, ""
        if opened is not None and state.latent == opened.values:
            before, kept = opened.latent, {"info": {"from_latent": opened.path.name}}
            kept.update(photo=before.photo, alignment=before.alignment)
            tuned_path = before.tuned_path(opened.path)
            if tuned is not None and tuned is opened.tuned and tuned_path is not None:
                kept["tuned_generator"] = os.path.relpath(tuned_path, path.parent)
            return before.source, kept, ""
        source = "drag" if state.latent_label == DRAGGED else "projection"
        note = "Edit a photo's Save latent saves the two together" if tuned is not None else ""
        return source, {"photo": state.latent_label} if source == "projection" else {}, note

    # -- the workers ---------------------------------------------------------------------------------

    def _start(self, work, name: str, doing: str, text: str) -> WorkerBase:
        task = create_worker(work, _name=name, _doing=doing)
        task.finished.connect(lambda: self._finished(task))
        if name == "open-latent":
            if self._open_task is not None:
                self._open_task.quit()  # the newest file wins
            self._open_task = task
        self._tasks.add(task)
        self.busy.emit(True, text)
        task.start()
        return task

    def _finished(self, task: WorkerBase) -> None:
        self._tasks.discard(task)
        if task is self._open_task:
            self._open_task = None
        if not self._tasks:
            self.busy.emit(False, "")

    def join(self) -> None:
        """Stop and wait for every read or write (the explorer closes)."""
        for task in list(self._tasks):
            task.join()
        self._tasks.clear()
        self._open_task = None
