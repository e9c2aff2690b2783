"""Export what the explorer shows: the current image as a PNG at a chosen scale, grids (seeds, every class, the
style-mixing grid), and GIF or MP4 animations of an interpolation or a slider sweep. Long exports run on a
background task with a progress bar and Cancel."""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from ganstudio.core import export
from ganstudio.core.errors import GanStudioError, as_sentence
from ganstudio.core.latent.sampling import MAX_SEED
from ganstudio.core.render import RenderRequest
from ganstudio.gui.explorer.mixing_panel import parse_seeds
from ganstudio.gui.explorer.model import ExplorerModel
from ganstudio.gui.settings import default_exports_folder
from ganstudio.gui.threads import WorkerBase, create_worker
from ganstudio.gui.colours import secondary_css

log = logging.getLogger(__name__)

KINDS = {  # key: (label, animated)
    "image": ("Current image (PNG)", False),
    "seeds": ("Grid of seeds with the current settings (PNG)", False),
    "classes": ("Every class for a few seeds (PNG)", False),
    "mixing": ("Style-mixing grid (PNG)", False),
    "interpolation": ("Interpolation to seed B (GIF or MP4)", True),
    "class_interpolation": ("Interpolation to another class (GIF or MP4)", True),
    "sweep": ("Slider sweep (GIF or MP4)", True),
}


class ExportDialog(QDialog):
    """Choose what to export and where; the export runs in the background."""

    def __init__(self, model: ExplorerModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.task: WorkerBase | None = None
        self.written: Path | None = None
        info = model.info
        self.setWindowTitle("Export")
        self.kind = QComboBox()
        for key, (label, _) in KINDS.items():
            if key == "mixing" and not info.style_based:
                continue
            if key in ("classes", "class_interpolation") and not info.conditional:
                continue
            if key == "sweep" and model.state.directions is None:
                continue
            self.kind.addItem(label, key)
        self.scale = QSpinBox()
        self.scale.setRange(1, 32)
        self.scale.setValue(max(1, 256 // info.resolution))
        self.scale.setSuffix("×")
        self.size_label = QLabel()
        scale_row = QHBoxLayout()
        scale_row.addWidget(self.scale)
        scale_row.addWidget(self.size_label, 1)
        self.seeds = QLineEdit(f"{model.state.seed}-{model.state.seed + 15}")
        self.seeds.setToolTip("Seeds like 0-15 or 3, 7, 11")
        self.columns = QSpinBox()
        self.columns.setRange(1, 64)
        self.columns.setValue(8)
        self.seed_b = QSpinBox()
        self.seed_b.setRange(0, MAX_SEED)
        self.seed_b.setValue(model.state.seed_b if model.state.seed_b is not None else model.state.seed + 1)
        self.class_b = QComboBox()
        self.class_b.addItems(list(info.class_names))
        if info.conditional:
            self.class_b.setCurrentIndex(model.state.class_b if model.state.class_b is not None else
                                         (1 if (model.state.class_index or 0) == 0 else 0))
        self.slider = QComboBox()
        if model.state.directions is not None:
            self.slider.addItems(model.state.directions.names)
        self.sweep_range = QDoubleSpinBox()
        self.sweep_range.setRange(0.1, 20)
        self.sweep_range.setValue(3.0)
        self.sweep_range.setPrefix("± ")
        self.sweep_range.setSuffix(" σ")
        self.frames = QSpinBox()
        self.frames.setRange(2, 600)
        self.frames.setValue(max(24, model.state.frames))
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(24)
        self.bounce = QCheckBox("Go back to the start (seamless loop)")
        self.bounce.setChecked(True)
        self.format = QComboBox()
        self.format.addItem("GIF", ".gif")
        self.format.addItem("MP4 (H.264)", ".mp4")
        self.mp4_problem = export.mp4_support()
        if self.mp4_problem:
            self.format.model().item(1).setEnabled(False)
            self.format.setItemData(1, self.mp4_problem, Qt.ItemDataRole.ToolTipRole)
        self.format_note = QLabel(self.mp4_problem or "")
        self.format_note.setWordWrap(True)
        self.format_note.setStyleSheet(secondary_css())
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form = QFormLayout()
        self.form.addRow("Export", self.kind)
        self.form.addRow("Scale", scale_row)
        self.form.addRow("Seeds", self.seeds)
        self.form.addRow("Columns", self.columns)
        self.form.addRow("Seed B", self.seed_b)
        self.form.addRow("Class B", self.class_b)
        self.form.addRow("Slider", self.slider)
        self.form.addRow("Range", self.sweep_range)
        self.form.addRow("Frames", self.frames)
        self.form.addRow("Frames per second", self.fps)
        self.form.addRow("", self.bounce)
        self.form.addRow("Format", self.format)
        self.form.addRow("", self.format_note)
        self.form.addRow("Save as", path_row)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self._close_or_cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.kind.currentIndexChanged.connect(self._kind_chosen)
        self.format.currentIndexChanged.connect(self._suggest_path)
        self.scale.valueChanged.connect(self._show_size)
        self._kind_chosen()
        self.setMinimumWidth(560)

    # -- choices ------------------------------------------------------------------------------------

    def current_kind(self) -> str:
        return self.kind.currentData()

    def choose(self, kind: str) -> bool:
        """Select an export by key; False when this model does not offer it."""
        index = self.kind.findData(kind)
        if index >= 0:
            self.kind.setCurrentIndex(index)
        return index >= 0

    def _kind_chosen(self, *_) -> None:
        kind = self.current_kind()
        animated = KINDS[kind][1]
        visible = {
            self.seeds: kind in ("seeds", "classes"), self.columns: kind == "seeds",
            self.seed_b: kind == "interpolation", self.class_b: kind == "class_interpolation",
            self.slider: kind == "sweep", self.sweep_range: kind == "sweep", self.frames: animated,
            self.fps: animated, self.bounce: animated, self.format: animated,
            self.format_note: animated and bool(self.mp4_problem),
        }
        for widget, on in visible.items():
            self.form.setRowVisible(widget, on)
        if kind == "classes":
            self.seeds.setText(f"{self.model.state.seed}-{self.model.state.seed + 3}")
        elif kind == "seeds":
            self.seeds.setText(f"{self.model.state.seed}-{self.model.state.seed + 15}")
        self._suggest_path()
        self._show_size()
        self.adjustSize()

    def _show_size(self, *_) -> None:
        side = self.model.info.resolution * self.scale.value()
        self.size_label.setText(f"each image {side} × {side} pixels")

    def _suggest_path(self, *_) -> None:
        kind = self.current_kind()
        suffix = self.format.currentData() if KINDS[kind][1] else ".png"
        folder = self._folder()
        seed = self.model.state.seed
        stem = {"image": f"seed{seed}", "seeds": "seeds", "classes": "classes", "mixing": "style-mixing",
                "interpolation": f"seed{seed}-to-{self.seed_b.value()}",
                "class_interpolation": "class-interpolation", "sweep": "sweep"}[kind]
        current = self.path.text()
        if not current or Path(current).parent == folder:
            self.path.setText(str(folder / f"{stem}{suffix}"))
        else:
            self.path.setText(str(Path(current).with_suffix(suffix)))

    def _folder(self) -> Path:
        """A run's exports/ folder for a run's checkpoint; the user's exports folder for a bundled model (the
        installation may be read-only) and wherever the checkpoint's folder cannot be written."""
        info = self.model.info
        if info.path is not None and self.model.bundled_key is None:
            if info.path.is_dir():  # a run folder
                run = info.path
            else:
                run = info.path.parent.parent if info.path.parent.name == "checkpoints" else info.path.parent
            if os.access(run, os.W_OK):
                return run / "exports"
        return default_exports_folder()

    def _browse(self) -> None:
        suffix = Path(self.path.text()).suffix or ".png"
        kind = "Images (*.png)" if suffix == ".png" else f"Animations (*{suffix})"
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(), kind)
        if path:
            self.path.setText(path if path.endswith(suffix) else path + suffix)

    # -- running ------------------------------------------------------------------------------------

    def job(self):
        """The export the dialog describes, as fn(progress, cancelled) -> written path (checked up front)."""
        model, renderer = self.model, self.model.renderer
        kind, scale = self.current_kind(), self.scale.value()
        path = Path(self.path.text().strip()).expanduser()
        if not self.path.text().strip():
            raise GanStudioError("choose a file to save to")
        base = model.state.request()
        if kind == "image":
            image = model.last_result.image if model.last_result is not None else None
            return lambda progress, cancelled: _single(renderer, base, image, path, scale, progress)
        if kind in ("seeds", "classes", "mixing"):
            columns = self.columns.value()
            if kind == "mixing":
                requests = model.state.grid_requests()
            else:
                seeds = _seeds(self.seeds.text())
                if kind == "seeds":
                    requests = export.seed_grid_requests(base, seeds)
                else:
                    columns = len(model.info.class_names)
                    requests = [replace(base, seed=s, class_index=c, class_b=None)
                                for s in seeds for c in range(columns)]
            na, nb = len(model.state.mix.grid_a), len(model.state.mix.grid_b)

            def grid(progress, cancelled):
                images = export.render_frames(renderer, requests, progress, cancelled)
                if kind == "mixing":
                    mixes = [images[na + nb + i * nb: na + nb + (i + 1) * nb] for i in range(na)]
                    picture = export.mixing_grid_image(images[:na], images[na:na + nb], mixes, scale=scale)
                else:
                    picture = export.grid_image(images, columns, scale=scale)
                return export.save_png(picture, path)
            return grid
        frames, bounce = self.frames.value(), self.bounce.isChecked()
        if kind == "interpolation":
            requests = export.interpolation_requests(replace(base, seed_b=None, seed_t=0.0), frames,
                                                     seed_b=self.seed_b.value())
        elif kind == "class_interpolation":
            requests = export.interpolation_requests(replace(base, class_b=None, class_t=0.0), frames,
                                                     class_b=self.class_b.currentIndex())
        else:
            index = self.slider.currentIndex()
            amount = self.sweep_range.value()
            layers = model.state.directions.layers[index] if model.state.directions.layers else None
            requests = export.sweep_requests(base, index, -amount, amount, frames, layers, bounce=False)
        if bounce and len(requests) > 2:
            requests = requests + requests[-2:0:-1]
        if path.suffix.lower() not in export.ANIMATION_FORMATS:
            raise GanStudioError(f"animations are saved as .gif or .mp4, not {path.suffix or 'without a suffix'}")
        fps = self.fps.value()
        return lambda progress, cancelled: export.export_animation(renderer, requests, path, fps, scale, progress,
                                                                   cancelled)

    def start(self) -> None:
        """Check the choices and run the export in the background."""
        if self.task is not None:
            return
        try:
            fn = self.job()
        except GanStudioError as exc:
            self._show_error(str(exc))
            return
        self.status.setStyleSheet("")
        self.status.setText("Exporting…")
        self.progress.setRange(0, 0)
        self.export_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.task = create_worker(fn, _name="export", _doing="the export")
        self.task.progress.connect(self._progress)
        self.task.returned.connect(self._done)
        self.task.errored.connect(self._show_error)
        self.task.aborted.connect(lambda: self._show_error("Cancelled; nothing was written."))
        self.task.finished.connect(self._finished)
        self.task.start()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def _done(self, path: Path) -> None:
        self.written = Path(path)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setStyleSheet("color: #1b5e20;")
        self.status.setText(f"Saved {self.written}")
        log.info("exported %s from %s", self.written, self.model.info.path or self.model.info.title)
        self.model.message.emit(f"exported {self.written}")

    def _show_error(self, message: str) -> None:
        log.warning("export to %s not written: %s", self.path.text(), message)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setStyleSheet("color: #b00020;")
        self.status.setText(as_sentence(message))

    def _finished(self) -> None:
        self.task = None
        self.export_button.setEnabled(True)
        self.close_button.setText("Close")

    def _close_or_cancel(self) -> None:
        if self.task is not None:
            self.task.quit()
        else:
            self.reject()

    def stop(self) -> None:
        """Cancel a running export and wait for its thread (used when the dialog or the window closes)."""
        if self.task is not None:
            self.task.join()
            self.task = None

    def done(self, result: int) -> None:  # closing the dialog (Escape, Close) never leaves a thread behind
        self.stop()
        super().done(result)


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = parse_seeds(text, limit=1024)
    except ValueError as exc:
        raise GanStudioError(str(exc)) from None
    return seeds


def _single(renderer, request: RenderRequest, image, path: Path, scale: int, progress) -> Path:
    """The image on screen (rendered again when there is none yet)."""
    if image is None:
        result = renderer.render(request)
        if result.error:
            raise GanStudioError(result.error)
        image = result.image
    progress(1, 1)
    return export.save_png(image, path, scale)
