"""The explorer's Drag mode without its widgets: the DragPlan (points and mask, core/latent/drag_plan.py), the
drag itself on a generator worker (gui/threads.py; Stop is checked between steps), and Undo.

A drag starts from the current image's W+ (`Renderer.latent(state.request())`, so an explicit latent such as a
projected photo can be dragged too). Every step's picture and tracked handles come back as `stepped`; when the
drag ends (arrived, step limit, or Stop) the latent of the last picture becomes the current image
(`ExplorerState.adopt_latent`), so sliders, mixing and export apply to it. Undo puts back the image before."""
from __future__ import annotations

import logging
from dataclasses import replace

import torch
from PySide6.QtCore import QObject, Signal

from ganstudio.core.explorer import LatentUndo, ModelInfo
from ganstudio.core.latent.drag import DragSession, DragSettings, DragStep
from ganstudio.core.latent.drag_plan import DragPlan, DragStatus
from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.threads import WorkerBase, create_worker

log = logging.getLogger(__name__)
LABEL = "dragged"


class DragController(QObject):
    """Points, mask, the running drag and its undo, for one ExplorerModel."""

    plan_changed = Signal()  # points or mask changed (the overlay repaints)
    running_changed = Signal(bool)
    stepped = Signal(object)  # DragStep with its picture, on the GUI thread
    status = Signal(str)  # the step, the remaining distance
    error = Signal(str)  # a failed drag, in one sentence
    undo_changed = Signal(bool)  # whether Undo can do something

    def __init__(self, model: ExplorerModel, parent: QObject | None = None):
        super().__init__(parent)
        self.model = model
        self.plan: DragPlan | None = None
        self.settings = DragSettings()
        self._worker: WorkerBase | None = None
        self._last: DragStep | None = None
        self._handles_before: list = []
        self._undo: list[tuple[LatentUndo, list, tuple[float, ...] | None]] = []  # (state, handles, adopted)
        model.opened.connect(self._opened)
        model.state_changed.connect(self._state_changed)

    # -- the plan ------------------------------------------------------------------------------------

    def _opened(self, info: ModelInfo) -> None:
        running = self.running
        self.join()
        self._worker, self._last = None, None  # what the old drag still sends is dropped
        self.plan = DragPlan(info.resolution, info.resolution) if info.style_based else None
        self._undo = []
        self.plan_changed.emit()
        if running:
            self.running_changed.emit(False)
        self.undo_changed.emit(False)

    @property
    def available(self) -> bool:
        """A style-based model is open."""
        return self.plan is not None

    def edited(self) -> None:
        """The overlay changed the plan."""
        self.plan_changed.emit()

    def clear_points(self) -> None:
        if self.plan is not None and not self.running:
            self.plan.clear_points()
            self.plan_changed.emit()

    def clear_mask(self) -> None:
        if self.plan is not None and not self.running:
            self.plan.clear_mask()
            self.plan_changed.emit()

    # -- running -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self, max_steps: int | None = None) -> bool:
        """Drag the current image's handles to their targets on a worker; False when there is nothing to drag."""
        m = self.model
        if self.running or self.plan is None or not self.plan.ready or not m.is_open:
            return False
        settings = self.settings if max_steps is None else replace(self.settings, max_steps=int(max_steps))
        handles, targets = self.plan.pairs()
        mask, request, renderer = self.plan.drag_mask(), m.state.request(), m.renderer
        self._handles_before = list(self.plan.handles)
        self._last = None

        def work():
            with renderer.lock, torch.no_grad():
                ws = renderer.latent(request)
            session = DragSession(renderer.G, ws, handles, targets, mask, settings)
            while not session.done:
                with renderer.lock:  # one computation at a time on this generator (the explorer renders too)
                    step = session.step(with_image=True)
                yield step
            return step.reason

        worker = create_worker(work, _name="drag", _doing="dragging")

        def mine(slot):  # only while this is the current drag: another model opened meanwhile drops the rest
            return lambda *args: slot(*args) if self._worker is worker else None

        worker.yielded.connect(mine(self._stepped))
        worker.returned.connect(mine(self._ended))
        worker.aborted.connect(mine(lambda: self._ended("stopped")))
        worker.errored.connect(mine(self._failed))
        worker.finished.connect(lambda: self._finished(worker))
        self._worker = worker
        self.running_changed.emit(True)
        self.undo_changed.emit(False)
        self.status.emit("starting the drag…")
        worker.start()
        return True

    def stop(self) -> None:
        """Stop after the step in progress; the image as it is then stays."""
        if self._worker is not None:
            self._worker.quit()

    def join(self) -> None:
        """Stop and wait for the drag's thread (the explorer closes, or another model opens)."""
        if self._worker is not None:
            self._worker.join()

    def _stepped(self, step: DragStep) -> None:
        if self.plan is None:
            return
        self._last = step
        self.plan.follow(step)
        self.plan_changed.emit()
        self.stepped.emit(step)
        self.status.emit(DragStatus(step.step, self.plan.farthest(), step.ms).describe(step.reason))

    def _ended(self, reason: str) -> None:
        step = self._last
        if step is None or step.latent is None or self.plan is None:
            return
        if step.step == 0:  # nothing was updated: the image is the one before
            self.status.emit(DragStatus(0, self.plan.farthest()).describe(reason))
            return
        undo = self.model.state.adopt_latent(step.latent, LABEL)
        self._undo.append((undo, self._handles_before, self.model.state.latent))
        self.status.emit(DragStatus(step.step, self.plan.farthest(), step.ms).describe(reason))

    def _failed(self, sentence: str) -> None:
        log.warning("the drag failed: %s", sentence)
        self.error.emit(sentence)
        self.model.render()  # the image before the drag again

    def _finished(self, worker: WorkerBase) -> None:
        if self._worker is worker:
            self._worker = None
            self.running_changed.emit(False)
            self.undo_changed.emit(self.can_undo)

    # -- undo ----------------------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        """A drag made the current image (nothing else replaced it since)."""
        return bool(self._undo) and not self.running and self.model.state.latent == self._undo[-1][2]

    def undo(self) -> bool:
        """Return to the image before the last drag, and its handles to where they were."""
        if not self.can_undo:
            return False
        undo, handles, _ = self._undo.pop()
        if self.plan is not None:
            self.plan.handles = handles[:len(self.plan.handles)] + self.plan.handles[len(handles):]
            self.plan_changed.emit()
        self.model.state.put_back(undo)
        self.status.emit("undone: the image before the drag")
        self.undo_changed.emit(self.can_undo)
        return True

    def _state_changed(self) -> None:
        self.undo_changed.emit(self.can_undo)
