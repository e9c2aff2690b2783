"""The Translate window of a CycleGAN: open an image or a folder, see it translated A -> B or B -> A beside the
original, and export the translation (one image, or the whole folder) on a worker with progress.

All the work is core.translate's (the CLI's `ganstudio translate` does the same); the translator is loaded once,
on a worker, and only workers use it; signals carry file paths and uint8 arrays.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea,
    QVBoxLayout, QWidget,
)

from ganstudio.core.errors import GanStudioError, as_sentence
from ganstudio.gui.images import to_pixmap
from ganstudio.gui.threads import WorkerBase, WorkerGroup

EMPTY_TEXT = "Open an image or a folder of images to translate."
EXPORT_TEXT = {None: "Export…", True: "Save translation…", False: "Translate whole folder…"}  # by source kind
SHOWN = 8  # images of a folder shown side by side with their translation
THUMB, SINGLE = 160, 320  # pixels of a folder's pairs, and of one image's


class _TranslatorHolder:
    """Loads a CycleGAN checkpoint's translator once, for the workers that use it (one at a time)."""

    def __init__(self, checkpoint: str):
        self.checkpoint = checkpoint
        self._translator = None
        self._lock = threading.Lock()

    def get(self):
        """The Translator (loaded on first use, on the calling worker's thread)."""
        from ganstudio.core.translate import load_translator

        with self._lock:
            if self._translator is None:
                self._translator = load_translator(self.checkpoint)
            return self._translator


class TranslateDialog(QDialog):
    """A CycleGAN checkpoint's translation of an image or a folder, shown beside the input and exported."""

    exported = Signal(str)  # the file or folder written

    def __init__(self, checkpoint: str | Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.checkpoint = str(checkpoint)
        self.holder = _TranslatorHolder(self.checkpoint)
        self.source: Path | None = None
        self.info: dict | None = None  # the translator's resolution, channels and step, once loaded
        self.pairs: list[tuple[str, np.ndarray, np.ndarray]] = []  # (file name, input, translation) shown
        self.tasks = WorkerGroup()
        self.preview_task: WorkerBase | None = None
        self.export_task: WorkerBase | None = None
        self.loading = False  # the translator is being read (on a worker)
        self.setWindowTitle(f"Translate with {Path(self.checkpoint).name}")

        self.model_label = QLabel(f"Loading {Path(self.checkpoint).name}…")
        self.model_label.setWordWrap(True)
        self.direction = QComboBox()
        self.direction.addItem("A → B", "a2b")
        self.direction.addItem("B → A", "b2a")
        self.direction.setToolTip("A → B turns pictures like the training's first set into the second (the "
                                  "generator G of the training view); B → A the other way (F)")
        self.open_image = QPushButton("Open image…")
        self.open_folder = QPushButton("Open folder…")
        self.export_button = QPushButton(EXPORT_TEXT[None])
        self.export_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel export")
        self.cancel_button.hide()
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Direction"))
        bar.addWidget(self.direction)
        bar.addSpacing(12)
        bar.addWidget(self.open_image)
        bar.addWidget(self.open_folder)
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        bar.addWidget(self.cancel_button)

        self.source_label = QLabel(EMPTY_TEXT)
        self.source_label.setWordWrap(True)
        self.source_label.setStyleSheet("color: #555;")
        self.pairs_widget = QWidget()
        self.pairs_grid = QGridLayout(self.pairs_widget)
        self.pairs_grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.pairs_widget)
        self.progress = QProgressBar()
        self.progress.hide()
        self.busy = QProgressBar()  # loading the translator or translating the shown images
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(12)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(self.model_label)
        layout.addLayout(bar)
        layout.addWidget(self.source_label)
        layout.addWidget(self.busy)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        self.resize(760, 620)

        self.direction.currentIndexChanged.connect(self._refresh_preview)
        self.open_image.clicked.connect(self._choose_image)
        self.open_folder.clicked.connect(self._choose_folder)
        self.export_button.clicked.connect(self._choose_export)
        self.cancel_button.clicked.connect(self.cancel_export)
        self._load()

    # -- public ---------------------------------------------------------------------------------------

    @property
    def direction_name(self) -> str:
        return self.direction.currentData()

    def set_direction(self, direction: str) -> None:
        """Translate "a2b" or "b2a"."""
        self.direction.setCurrentIndex(max(0, self.direction.findData(direction)))

    def set_source(self, path: str | Path) -> None:
        """Show an image file or a folder's images translated (on a worker)."""
        self.source = Path(path)
        self._refresh_preview()

    def export(self, out: str | Path) -> None:
        """Write the translation of the source (one image to `out`, a folder's into the folder `out`)."""
        if self.source is None or self.export_task is not None:
            return
        from ganstudio.core.translate import translate

        holder, direction, source, target = self.holder, self.direction_name, self.source, Path(out)

        def work(progress, cancelled):
            result = translate(holder.get(), direction, source, target, progress=progress)
            return [str(p) for p in result.written], [f"{Path(s.path).name}: {s.reason}" for s in result.skipped]

        self.progress.setRange(0, 0)
        self.progress.setFormat("Translating…")
        self.progress.show()
        self.export_button.setEnabled(False)
        self.cancel_button.show()
        task = self.tasks.create(work, "translate-export", "translating")
        task.progress.connect(self._on_export_progress)
        task.returned.connect(lambda result: self._on_exported(target, *result))
        task.errored.connect(self._on_error)
        task.aborted.connect(lambda: self._show_message("The export was cancelled; the files written so far "
                                                        "are kept.", error=False))
        task.finished.connect(self._on_export_finished)
        self.export_task = task.start()

    def cancel_export(self) -> None:
        """Stop the export at its next batch."""
        if self.export_task is not None:
            self.export_task.quit()

    def shutdown(self) -> None:
        """Stop the workers and wait for their threads."""
        self.tasks.join()
        self.preview_task = self.export_task = None

    def done(self, result: int) -> None:  # noqa: D401 (Qt override)
        """Closing stops the workers first (a QThread must not outlive its use)."""
        self.shutdown()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self.shutdown()
        super().closeEvent(event)

    # -- loading and previewing -----------------------------------------------------------------------

    def _load(self) -> None:
        holder = self.holder

        def work(progress, cancelled):
            t = holder.get()
            return {"resolution": t.resolution, "channels": t.channels, "step": t.step}

        task = self.tasks.create(work, "translate-load", "opening the translator")
        task.returned.connect(self._on_loaded)
        task.errored.connect(self._on_load_failed)
        task.finished.connect(self._on_load_finished)
        self.loading = True
        task.start()
        self._update_busy()

    def _on_load_finished(self) -> None:
        self.loading = False
        self._update_busy()

    def _on_loaded(self, info: dict) -> None:
        self.info = info
        colour = "colour" if info["channels"] == 3 else "grayscale"
        self.model_label.setText(f"<b>{Path(self.checkpoint).name}</b>: a CycleGAN at step {info['step']:,}, "
                                 f"{info['resolution']} px {colour}. Images are centre-cropped and resized to "
                                 f"{info['resolution']} px as in training.")

    def _on_load_failed(self, message: str) -> None:
        self.model_label.setText("This checkpoint cannot translate.")
        for w in (self.direction, self.open_image, self.open_folder, self.export_button):
            w.setEnabled(False)
        self._show_message(message)

    def _choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Image to translate", str(self.source or ""),
                                              "Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff)")
        if path:
            self.set_source(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of images to translate", str(self.source or ""))
        if path:
            self.set_source(path)

    def _refresh_preview(self) -> None:
        if self.source is None:
            return
        from ganstudio.core.images import to_uint8
        from ganstudio.core.translate import image_files, read_images

        holder, direction, source = self.holder, self.direction_name, self.source
        if self.preview_task is not None:
            self.preview_task.quit()

        def work(progress, cancelled):
            files = image_files(source)
            t = holder.get()
            images, used, skipped = read_images(files[:SHOWN], t.config)
            if not used:
                reason = skipped[0].reason if skipped else "it is not an image"
                raise GanStudioError(f"{Path(skipped[0].path).name if skipped else source.name} cannot be read: "
                                 f"{reason}")
            out = t.translate(images, direction)
            return len(files), [(p.name, a, b) for p, a, b in zip(used, to_uint8(images), to_uint8(out))]

        self.message.hide()
        self.source_label.setText(f"Translating {source}…")
        self.export_button.setEnabled(False)  # the pairs shown are not this source's until the preview is in
        self.export_button.setText(EXPORT_TEXT[source.is_file()])
        task = self.tasks.create(work, "translate-preview", "translating")
        task.returned.connect(lambda result, t=task: self._on_preview(t, *result))
        task.errored.connect(lambda message, t=task: t is self.preview_task and self._on_error(message))
        self.preview_task = task.start()
        self._update_busy()

    def _on_preview(self, task: WorkerBase, total: int, pairs: list) -> None:
        if task is not self.preview_task:
            return  # an older request's answer
        self.preview_task = None
        self._update_busy()
        self.pairs = pairs
        single = self.source.is_file()
        there = "A → B" if self.direction_name == "a2b" else "B → A"
        shown = "" if single or total <= len(pairs) else f"; the first {len(pairs)} are shown"
        what = self.source.name if single else f"{self.source} ({total:,} images{shown})"
        self.source_label.setText(f"{what}, translated {there}.")
        self._clear_pairs()
        size, per_row = (SINGLE, 1) if single else (THUMB, 2)  # a folder's pairs two by two
        for k in range(per_row):
            for col, title in enumerate(("Input", f"Translated {there}")):
                heading = QLabel(f"<b>{title}</b>")
                self.pairs_grid.addWidget(heading, 0, 3 * k + col, Qt.AlignmentFlag.AlignHCenter)
                heading.show()
        self.pairs_grid.setColumnMinimumWidth(2, 16)
        for i, (name, image, translated) in enumerate(pairs):
            row, k = 1 + i // per_row, i % per_row
            for col, pixels in enumerate((image, translated)):
                label = QLabel()
                pixmap = to_pixmap(pixels, size, smooth=True)
                label.setPixmap(pixmap)
                label.setFixedSize(pixmap.size())
                label.setToolTip(name)
                self.pairs_grid.addWidget(label, row, 3 * k + col)
                label.show()  # a child added to a shown widget is otherwise shown only by the next event loop
        self.export_button.setEnabled(self.export_task is None)

    # -- exporting ------------------------------------------------------------------------------------

    def _choose_export(self) -> None:
        if self.source is None:
            return
        if self.source.is_file():
            suggested = str(self.source.with_name(f"{self.source.stem}-{self.direction_name}.png"))
            out, _ = QFileDialog.getSaveFileName(self, "Save the translated image", suggested, "PNG image (*.png)")
        else:
            out = QFileDialog.getExistingDirectory(self, "Folder for the translated images",
                                                   str(self.source.parent))
        if out:
            self.export(out)

    def _on_export_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"Translating: {done:,} of {total:,} images")

    def _on_exported(self, target: Path, written: list[str], skipped: list[str]) -> None:
        where = written[0] if len(written) == 1 else f"{len(written):,} images in {target}"
        note = f" {len(skipped):,} files could not be read ({'; '.join(skipped[:2])})." if skipped else ""
        self._show_message(f"Wrote {where}.{note}", error=False)
        self.exported.emit(str(target))

    def _on_export_finished(self) -> None:
        self.export_task = None
        self.progress.hide()
        self.cancel_button.hide()
        self.export_button.setEnabled(self.source is not None and bool(self.pairs) and self.preview_task is None)

    def _on_error(self, message: str) -> None:
        """A source that cannot be translated: nothing of an older one stays shown or exportable."""
        self.preview_task = None
        self._update_busy()
        self.pairs = []
        self._clear_pairs()
        self.export_button.setEnabled(False)
        self.source_label.setText(EMPTY_TEXT)
        self._show_message(message)

    def _clear_pairs(self) -> None:
        while self.pairs_grid.count():
            item = self.pairs_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # at once: deleteLater waits for the event loop
                item.widget().deleteLater()

    def _update_busy(self) -> None:
        """The thin busy bar shows while the translator loads or the shown images are translated."""
        self.busy.setVisible(self.loading or self.preview_task is not None)

    def _show_message(self, text: str, error: bool = True) -> None:
        self.message.setText(as_sentence(text, capitalise=True))
        self.message.setStyleSheet("color: #b00020;" if error else "color: #2a6b2a;")
        self.message.show()
