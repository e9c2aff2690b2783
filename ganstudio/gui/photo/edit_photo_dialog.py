"""File > Edit a photo: open a photo, click both eyes and the mouth, check the aligned crop, project it into the
explorer's StyleGAN (W or W+, optionally with pivotal tuning) on a worker with a live reconstruction, then open
the latent in the explorer, save it, and paste the edited face back into the photo."""
from __future__ import annotations

import copy
import io
import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QCheckBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from ganstudio.core.errors import GanStudioError, as_sentence
from ganstudio.core.io import atomic_write
from ganstudio.core.latent.directions import model_info
from ganstudio.core.latent.files import make_latent, save_latent
from ganstudio.core.photo.align import (POINT_NAMES, AlignedFace, align_face, load_photo, paste_back,
                                        template_for)
from ganstudio.core.photo.projection import ProgressReport, picture_psnr, save_tuned_generator
from ganstudio.gui.colours import secondary_css
from ganstudio.gui.explorer.explorer_view import ExplorerView
from ganstudio.gui.photo.face_picture import FacePicture
from ganstudio.gui.photo.point_picker import PointPicker
from ganstudio.gui.photo.projection_job import PhotoProjection, run_projection
from ganstudio.gui.photo.projection_settings import LOSS_WORDS, ProjectionSettingsPanel, likeness
from ganstudio.gui.threads import WorkerBase, WorkerGroup, create_worker

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.tif *.tiff);;All files (*)"
REPORT_INTERVAL = 0.05  # seconds: step reports without a picture reach the GUI at 20 Hz at most
ALIGN_DELAY_MS = 120  # the aligned crop follows a dragged marker after this pause
log = logging.getLogger(__name__)


def photo_action_problem(explorer: ExplorerView) -> str | None:
    """Why File > Edit a photo is unavailable for the explorer's model (None: it is available)."""
    info = explorer.model.info
    if info is None:
        return "Open a StyleGAN model in the explorer first (the bundled Faces model, for example)"
    if not info.style_based:
        return "Photo editing needs a StyleGAN (it projects into w space); this model is a " \
               f"{info.config.model.arch.upper()}"
    if info.conditional:
        return "Photo editing needs an unconditional StyleGAN; this one is class-conditional"
    return None


class EditPhotoDialog(QDialog):
    """Align, project and edit a photo with the explorer's StyleGAN; non-modal, so the explorer stays usable."""

    latent_shown = Signal()  # the projected photo is the explorer's current image
    _report = Signal(object)  # ProgressReport, from the worker's thread

    def __init__(self, explorer: ExplorerView, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Edit a photo")
        self.explorer = explorer
        m = explorer.model
        problem = photo_action_problem(explorer)
        if problem:
            raise GanStudioError(problem)
        swap = getattr(explorer, "tuned_swap", None)
        self.G = (swap.original_generator if swap is not None else None) or m.G  # never a tuned copy
        self.config, self.model_title, self.model_path = m.info.config, m.info.title, m.info.path
        self.photo: np.ndarray | None = None
        self.photo_path: Path | None = None
        self.face: AlignedFace | None = None
        self.result: PhotoProjection | None = None
        self.task: WorkerBase | None = None  # the projection
        self.tasks = WorkerGroup()  # opening the photo and aligning the face (a big photo takes a moment)
        self._loading: WorkerBase | None = None
        self._aligning: WorkerBase | None = None
        self._align_again = False
        self._last_report = 0.0
        self._stage_offset = 0
        self._report.connect(self._on_report, Qt.ConnectionType.QueuedConnection)
        self._align_timer = QTimer(self)
        self._align_timer.setSingleShot(True)
        self._align_timer.setInterval(ALIGN_DELAY_MS)
        self._align_timer.timeout.connect(self.align)

        self.instruction = QLabel()
        self.open_button = QPushButton("Open photo…")
        self.open_button.clicked.connect(self.choose_photo)
        self.reset_button = QPushButton("Reset points")
        self.reset_button.setToolTip("Remove the three points and click them again")
        top = QHBoxLayout()
        top.addWidget(self.instruction, 1)
        top.addWidget(self.open_button)
        top.addWidget(self.reset_button)
        self.picker = PointPicker()
        self.picker.points_changed.connect(self._points_changed)
        self.reset_button.clicked.connect(self.picker.reset)
        self.target_view = FacePicture("Aligned photo", "The face, cut out and aligned, appears here")
        self.reconstruction_view = FacePicture("Reconstruction", "What the model draws appears here")
        self.smooth = QCheckBox("Smooth enlargement")
        self.smooth.setToolTip("Off: see the model's real pixels")
        for view in (self.target_view, self.reconstruction_view):
            self.smooth.toggled.connect(view.set_smooth)
        faces = QVBoxLayout()
        pair = QHBoxLayout()
        pair.addWidget(self.target_view)
        pair.addWidget(self.reconstruction_view)
        faces.addLayout(pair)
        faces.addWidget(self.smooth)
        faces.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.picker, 1)
        middle.addLayout(faces)
        self.settings = ProjectionSettingsPanel()
        self.settings.set_template(template_for(self.config).name)
        self.settings.template_changed.connect(lambda _: self.align())
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # file names are shown as they are
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.project_button = QPushButton("Project")
        self.project_button.setDefault(True)
        self.project_button.clicked.connect(self.start_projection)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        run_row = QHBoxLayout()
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.project_button)
        run_row.addWidget(self.cancel_button)
        self.explorer_button = QPushButton("Open in explorer")
        self.explorer_button.setToolTip("Make the projected photo the explorer's image: sliders, mixing, "
                                        "interpolation and export apply to it")
        self.explorer_button.clicked.connect(self.open_in_explorer)
        self.save_button = QPushButton("Save latent…")
        self.save_button.clicked.connect(self.choose_latent_file)
        self.original_button = QPushButton("Back to the original model")
        self.original_button.setToolTip("The explorer renders the generator tuned for this photo; use the "
                                        "original one again")
        self.original_button.clicked.connect(self.restore_original)
        self.paste_button = QPushButton("Paste back…")
        self.paste_button.setToolTip("Put the explorer's edited face back into the photo and save it")
        self.paste_button.clicked.connect(self.choose_paste_file)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        for b in (self.explorer_button, self.save_button, self.original_button, self.paste_button):
            bottom.addWidget(b)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addWidget(self.settings)
        layout.addLayout(run_row)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.resize(980, 720)
        self._update()

    # -- the photo and its points ------------------------------------------------------------------------

    def choose_photo(self) -> None:
        """Ask for a photo and open it."""
        folder = QSettings().value("photo/folder", "", str)
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo", folder, PHOTO_FILTER)
        if path:
            QSettings().setValue("photo/folder", str(Path(path).parent))
            self.open_photo(path)

    def open_photo(self, path: str | Path) -> bool:
        """Read a photo on a worker, then show it (upright by its EXIF orientation); a file that cannot be read
        gets one sentence. False when a projection runs."""
        if self.running:
            return False
        if self._loading is not None:
            self._loading.quit()
        path, channels = Path(path), self.config.model.channels
        task = self.tasks.create(lambda progress, cancelled: (path, load_photo(path, channels)), "photo",
                                 f"opening {path.name}")
        task.returned.connect(self._photo_loaded)
        task.errored.connect(self.show_error)
        self._loading = task
        self.show_message(f"Opening {path.name}…")
        task.start()
        return True

    @Slot(object)
    def _photo_loaded(self, loaded: tuple[Path, np.ndarray]) -> None:
        path, photo = loaded
        if self.running:
            return
        self._loading = None
        self.photo, self.photo_path = photo, path
        self.face, self.result = None, None
        self.picker.set_photo(photo)
        self.target_view.set_image(None)
        self.reconstruction_view.set_image(None)
        self.progress.reset()
        self.show_message(f"Opened {self.photo_path.name} ({photo.shape[1]} x {photo.shape[0]} pixels)")
        return True

    def _points_changed(self, points: list) -> None:
        self.result = None
        self.face = None  # stale until the new crop arrives
        if len(points) == len(POINT_NAMES):
            self._align_timer.start()
        else:
            self.target_view.set_image(None)
        self._update()

    def _align_key(self) -> tuple:
        return tuple(self.picker.points()), self.settings.template_name(), id(self.photo)

    @Slot()
    def align(self) -> None:
        """Cut the face out of the photo at the model's resolution on a worker, then show it (the newest points
        win: a request made while one runs is done after it)."""
        self._align_timer.stop()
        points = self.picker.points()
        if self.photo is None or len(points) != len(POINT_NAMES):
            return
        if self._aligning is not None:
            self._align_again = True
            return
        self.face = None
        self._update()
        try:
            template = template_for(self.config, name=self.settings.template_name())
        except GanStudioError as exc:
            self.show_error(str(exc))
            return
        photo, key = self.photo, self._align_key()
        task = self.tasks.create(lambda progress, cancelled: (key, align_face(photo, points, template)), "align",
                                 "aligning the face")
        task.returned.connect(self._aligned)
        task.errored.connect(self._align_failed)
        task.finished.connect(self._align_finished)
        self._aligning = task
        task.start()

    @Slot(object)
    def _aligned(self, done: tuple[tuple, AlignedFace]) -> None:
        key, face = done
        if key != self._align_key() or self.running:
            return  # the points moved meanwhile: the next alignment follows
        self.face = face
        r = face.image.shape[0]
        self.target_view.set_image(face.image, f"{r} x {r}, what the model will see")
        self.reconstruction_view.set_image(None)
        self.show_message("Check the aligned face, then Project")
        self._update()

    @Slot(str)
    def _align_failed(self, message: str) -> None:
        self.target_view.set_image(None)
        self.show_error(message)

    @Slot()
    def _align_finished(self) -> None:
        self._aligning = None
        if self._align_again:
            self._align_again = False
            self.align()
        self._update()

    # -- projecting --------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None

    def start_projection(self) -> bool:
        """Project the aligned face on a worker (progress, live reconstruction, Cancel between steps)."""
        if self.face is None or self.running:
            return False
        settings = self.settings.settings()
        G, target = copy.deepcopy(self.G), self.face.image  # the explorer keeps rendering with the original
        self.result = None
        self._last_report = 0.0
        self._stage_offset = 0
        self.progress.setRange(0, settings.steps + (settings.pti_steps if settings.pti else 0))
        self.progress.setValue(0)

        def work(progress, cancelled):
            return run_projection(G, target, settings, self._forward, cancelled)

        self.task = create_worker(work, _name="projection", _doing="the projection")
        self.task.returned.connect(self._projected)
        self.task.errored.connect(self.show_error)
        self.task.aborted.connect(self._cancelled)
        self.task.finished.connect(self._task_finished)
        self.show_message(f"Looking for the photo in the model ({settings.space.upper()}), comparing by "
                          f"{LOSS_WORDS[self.settings.loss_name()]}…")
        self.task.start()
        self._update()
        return True

    def _forward(self, report: ProgressReport) -> None:
        """On the worker's thread: pass a report on (every picture; the rest at most every REPORT_INTERVAL)."""
        now = time.monotonic()
        if report.preview is not None or report.step == report.steps or now - self._last_report >= REPORT_INTERVAL:
            self._last_report = now
            self._report.emit(report)

    @Slot(object)
    def _on_report(self, report: ProgressReport) -> None:
        if self.task is None:
            return
        if report.stage == "tuning":
            self._stage_offset = self.settings.settings().steps
        self.progress.setValue(self._stage_offset + report.step)
        what = "Projecting" if report.stage == "projection" else "Tuning the generator"
        text = f"{what}: step {report.step} of {report.steps} · loss {report.loss:.4f} · {report.seconds:.0f} s"
        if report.preview is not None and self.face is not None:
            quality = picture_psnr(report.preview, self.face.image)
            self.reconstruction_view.set_image(report.preview, f"step {report.step} · {likeness(quality)}")
        self.show_message(text)

    @Slot(object)
    def _projected(self, result: PhotoProjection) -> None:
        self.result = result
        caption = likeness(result.psnr)
        if result.tuned is not None:
            caption += f" (before tuning {result.untuned_psnr:.1f})"
        self.reconstruction_view.set_image(result.image, caption)
        self.progress.setValue(self.progress.maximum())
        self.show_message(f"Done in {result.seconds:.0f} s: {caption}, comparing by "
                          f"{LOSS_WORDS.get(result.loss_name, result.loss_name)}. Open it in the explorer to edit it")

    @Slot()
    def _cancelled(self) -> None:
        self.show_message("Cancelled")

    @Slot()
    def _task_finished(self) -> None:
        if self.task is not None and not self.task.is_running:
            self.task = None
        self._update()

    def cancel(self) -> None:
        """Stop the projection at its next step."""
        if self.task is not None:
            self.task.quit()
            self.show_message("Cancelling…")

    def stop(self) -> None:
        """Cancel the projection and wait for its thread (the dialog is closing)."""
        self._align_timer.stop()
        self.tasks.join()
        self._loading = self._aligning = None
        if self.task is not None:
            self.task.join()
            self.task = None

    # -- after projecting --------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """The latent's name in the explorer: the photo's file name."""
        return self.photo_path.name if self.photo_path else "photo"

    def fits_explorer(self) -> bool:
        """The explorer still shows the model this dialog projects into (or the copy tuned from it)."""
        m = self.explorer.model
        swap = getattr(self.explorer, "tuned_swap", None)
        return m.G is self.G or (swap is not None and swap.original_generator is self.G)

    def open_in_explorer(self) -> bool:
        """Make the projected photo the explorer's current image (with the tuned generator after PTI)."""
        if self.result is None:
            return False
        if not self.fits_explorer():
            self.show_error(f"The explorer shows another model now; open {self.model_title} again to use this photo")
            return False
        try:
            self.explorer.show_latent(self.result.ws[0], self.label, tuned_generator=self.result.tuned)
        except GanStudioError as exc:
            self.show_error(str(exc))
            return False
        self.show_message(f"{self.label} is the explorer's image: move the sliders, then Paste back")
        self.latent_shown.emit()
        self._update()
        return True

    def restore_original(self) -> None:
        """The explorer renders the original generator again."""
        swap = getattr(self.explorer, "tuned_swap", None)
        if swap is not None and swap.restore():
            self.show_message(f"The explorer renders the original {self.model_title} again")
        self._update()

    def choose_latent_file(self) -> None:
        """Ask where to save the latent, then save it."""
        if self.result is None:
            return
        start = str(self.photo_path.with_suffix(".npz")) if self.photo_path else "photo.npz"
        path, _ = QFileDialog.getSaveFileName(self, "Save the latent", start, "Latent files (*.npz)")
        if path:
            self.save_latent_file(path)

    def save_latent_file(self, path: str | Path) -> Path | None:
        """Write the latent file (and, after PTI, the tuned generator beside it as NAME-pti.safetensors)."""
        if self.result is None or self.face is None:
            return None
        path = Path(path)
        if path.suffix.lower() != ".npz":
            path = path.with_suffix(".npz")
        r, note = self.result, ""
        tuned_name, tuned_model = "", {}
        try:
            if r.tuned is not None:
                if self.model_path is None or not self.model_path.is_file():
                    note = "; the tuned generator was not saved (this model has no checkpoint file to start from)"
                else:
                    tuned_path = path.with_name(f"{path.stem}-pti.safetensors")
                    save_tuned_generator(r.tuned, self.model_path, tuned_path)
                    tuned_name, tuned_model = tuned_path.name, model_info(r.tuned, self.config)
                    note = f" and the tuned generator {tuned_name}"
            latent = make_latent(r.ws, self.G, self.config, "projection", r.space, tuned_generator=tuned_name,
                                 tuned_model=tuned_model, alignment=self.face.matrix, photo=self.label,
                                 info={"steps": r.steps, "loss": r.loss_name, "psnr": round(r.psnr, 2),
                                       "template": self.face.template})
            save_latent(path, latent)
        except GanStudioError as exc:
            self.show_error(str(exc))
            return None
        self.show_message(f"Saved {path.name}{note}")
        return path

    def edited_face(self) -> np.ndarray | None:
        """The explorer's current picture while it shows this photo's latent (None otherwise)."""
        m = self.explorer.model
        if m.state.latent is None or m.state.latent_label != self.label or m.last_result is None:
            return None
        if m.last_result.request.ws is None:
            return None
        return m.last_result.image

    def choose_paste_file(self) -> None:
        """Ask where to save the photo with the edited face pasted back, then write it."""
        if self.edited_face() is None:
            self.show_error("Open the projected photo in the explorer first, and edit it there")
            return
        stem = self.photo_path.stem if self.photo_path else "photo"
        folder = self.photo_path.parent if self.photo_path else Path()
        path, _ = QFileDialog.getSaveFileName(self, "Save the edited photo", str(folder / f"{stem}-edited.png"),
                                              "PNG (*.png);;JPEG (*.jpg *.jpeg)")
        if path:
            self.paste_back_to(path)

    def paste_back_to(self, path: str | Path) -> Path | None:
        """Warp the explorer's edited face into the original photo (feathered mask) and save it (PNG or JPEG)."""
        face = self.edited_face()
        if face is None or self.photo is None or self.face is None:
            self.show_error("Open the projected photo in the explorer first, and edit it there")
            return None
        path = Path(path)
        kind = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
        if kind == "PNG" and path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        pasted = paste_back(self.photo, face, self.face.matrix)
        try:
            data = _encode(pasted, kind)
            atomic_write(path, lambda tmp: tmp.write_bytes(data), len(data))
        except (GanStudioError, OSError) as exc:
            self.show_error(f"Could not save {path.name}: {as_sentence(str(exc))}")
            return None
        self.show_message(f"Saved {path.name} ({pasted.shape[1]} x {pasted.shape[0]} pixels)")
        return path

    # -- showing -----------------------------------------------------------------------------------------

    def _update(self) -> None:
        running = self.running
        have_photo = self.photo is not None
        next_name = self.picker.next_point_name()
        if not have_photo:
            text = "Open a photo with a face (JPEG, PNG, WebP or TIFF)"
        elif next_name is not None:
            n = len(self.picker.points()) + 1
            where = {"left eye": "the eye on the left of the picture", "right eye": "the eye on the right",
                     "mouth": "the centre of the mouth"}[next_name]
            text = f"Click {where} ({n} of 3)"
        else:
            text = "Drag a marker to adjust it, or Reset; then Project"
        self.instruction.setText(text)
        self.open_button.setEnabled(not running)
        self.reset_button.setEnabled(have_photo and not running)
        self.picker.setEnabled(not running)
        self.settings.set_enabled(not running)
        self.project_button.setEnabled(self.face is not None and not running)
        self.cancel_button.setEnabled(running)
        done = self.result is not None and not running
        self.explorer_button.setEnabled(done)
        self.save_button.setEnabled(done)
        swap = getattr(self.explorer, "tuned_swap", None)
        self.original_button.setVisible(swap is not None and swap.tuned_shown)
        self.paste_button.setEnabled(done and self.face is not None)

    def show_message(self, text: str) -> None:
        """A sentence in the status line."""
        self.status.setStyleSheet(secondary_css())
        self.status.setText(as_sentence(text))

    def show_error(self, text: str) -> None:
        """A problem, in one sentence."""
        self.status.setStyleSheet("color: #b00020;")
        self.status.setText(as_sentence(text))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.stop()
        super().closeEvent(event)

    def done(self, result: int) -> None:
        self.stop()
        super().done(result)


def _encode(image: np.ndarray, kind: str) -> bytes:
    from PIL import Image

    picture = Image.fromarray(image[:, :, 0] if image.shape[-1] == 1 else image)
    buffer = io.BytesIO()
    picture.save(buffer, format=kind, **({"quality": 95} if kind == "JPEG" else {}))
    return buffer.getvalue()
