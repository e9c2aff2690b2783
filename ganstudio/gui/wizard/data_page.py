"""Wizard page 1: the data. A torchvision dataset, an image folder (previewed and checked), or a 2D toy set."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
    QLineEdit, QProgressBar, QPushButton, QRadioButton, QSpinBox, QStackedWidget, QVBoxLayout, QWidget,
)

from ganstudio.core.config import DATA_SOURCES, TOY_NAMES
from ganstudio.core.data.domains import CELEBA_ATTRIBUTES
from ganstudio.core.data_preview import DataPreview, preview_data
from ganstudio.gui.describe import DATA_BLURBS, DATA_TITLES, TOY_NAMES as TOY_TITLES
from ganstudio.gui.images import to_pixmap
from ganstudio.gui.threads import WorkerBase, WorkerGroup
from ganstudio.gui.widgets.toy_view import REAL
from ganstudio.gui.wizard.common import WizardPage, blank, hint

KINDS = (*DATA_SOURCES, "folder", "translate", "toy")
THUMB = 56  # eight in a row keep the page within an 820 px wide window
EXAMPLES = 16  # two rows of eight
DEFAULT_ATTRIBUTE = "Blond_Hair"  # the CelebA split offered first
PREVIEW_DELAY_MS = 400  # wait for the user to stop typing a path


def source_kind(source: str) -> str:
    return source.split(":", 1)[0] if ":" in source else source


def preview_pair(cfg, progress=None) -> DataPreview:
    """The data's preview; with two domains (a second folder, or CelebA split), A's examples on the first row and
    B's on the second, and the larger domain's size as the count (an epoch is a pass over it)."""
    from dataclasses import replace

    if cfg.domains is not None:  # CelebA split by attributes is not downloaded: it must be there already
        from ganstudio.core.data_preview import preview_celeba_domains

        return preview_celeba_domains(cfg, EXAMPLES)
    if cfg.source_b is None:
        return preview_data(cfg, progress, EXAMPLES)

    half = EXAMPLES // 2
    a = preview_data(replace(cfg, source_b=None), progress, half)
    b = preview_data(replace(cfg, source=cfg.source_b, source_b=None), progress, half)
    blank = [np.zeros_like(a.examples[0])] if a.examples else []
    examples = (a.examples + blank * half)[:half] + b.examples[:half]
    return replace(a, count=max(a.count, b.count), examples=examples, skipped=a.skipped + b.skipped,
                   skipped_report="\n".join(r for r in (a.skipped_report, b.skipped_report) if r),
                   note=f"Domain A (top row): {a.count:,} images. Domain B (bottom row): {b.count:,} images.")


class DataPage(WizardPage):
    """Choose the data and see it: examples, count, classes, skipped files."""

    def __init__(self):
        super().__init__("Data", "Which pictures should the GAN learn from?")
        self.preview: DataPreview | None = None
        self.preview_error: str | None = None
        self.task: WorkerBase | None = None
        self.tasks = WorkerGroup()
        self._wanted = None  # the DataConfig the current preview is for

        self.kind_buttons = QButtonGroup(self)
        choices = QVBoxLayout()
        titles = {**DATA_TITLES, "folder": "Image folder", "translate": "Translate between two image sets",
                  "toy": "2D toy distribution"}
        for i, kind in enumerate(KINDS):
            button = QRadioButton(titles[kind])
            button.setProperty("kind", kind)
            self.kind_buttons.addButton(button, i)
            choices.addWidget(button)
            choices.addWidget(hint(DATA_BLURBS[kind]))
        choices.addStretch(1)
        choice_box = QGroupBox("Source")
        choice_box.setLayout(choices)
        choice_box.setMaximumWidth(330)

        # options of each kind
        self.root = QLineEdit()
        self.root_browse = QPushButton("Browse…")
        self.download = QCheckBox("Download it there if it is missing")
        root_row = QHBoxLayout()
        root_row.addWidget(self.root, 1)
        root_row.addWidget(self.root_browse)
        tv = QFormLayout()
        tv.addRow("Dataset folder", root_row)
        tv.addRow(blank(), self.download)
        tv_widget = QWidget()
        tv_widget.setLayout(tv)

        self.folder = QComboBox()
        self.folder.setEditable(True)
        self.folder.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.folder.lineEdit().setPlaceholderText("a folder of images (subfolders are searched)")
        self.folder_browse = QPushButton("Browse…")
        self.colour = QComboBox()
        self.colour.addItem("Colour (RGB)", 3)
        self.colour.addItem("Grayscale", 1)
        self.crop = QSpinBox()
        self.crop.setRange(0, 4096)
        self.crop.setSpecialValueText("off")
        self.crop.setSuffix(" px")
        self.crop.setToolTip("Cut this square from the centre of each image before resizing (useful for faces)")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.folder_browse)
        fo = QFormLayout()
        fo.addRow("Folder", folder_row)
        fo.addRow("Colours", self.colour)
        fo.addRow("Centre crop", self.crop)
        folder_widget = QWidget()
        folder_widget.setLayout(fo)

        # two domains (CycleGAN): two folders, or CelebA split by an attribute
        self.pair_folders = QRadioButton("Two folders")
        self.pair_celeba = QRadioButton("CelebA split by an attribute")
        self.pair_mode = QButtonGroup(self)
        self.pair_mode.addButton(self.pair_folders, 0)
        self.pair_mode.addButton(self.pair_celeba, 1)
        mode_row = QHBoxLayout()
        mode_row.addWidget(self.pair_folders)
        mode_row.addWidget(self.pair_celeba)
        mode_row.addStretch(1)
        self.folder_a, self.folder_b = QLineEdit(), QLineEdit()
        self.folder_a.setPlaceholderText("domain A: a folder of images (e.g. horses)")
        self.folder_b.setPlaceholderText("domain B: a folder of images (e.g. zebras)")
        self.browse_a, self.browse_b = QPushButton("Browse…"), QPushButton("Browse…")
        rows = []
        for edit, browse in ((self.folder_a, self.browse_a), (self.folder_b, self.browse_b)):
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            row.addWidget(browse)
            rows.append(row)
        self.attribute = QComboBox()
        for name in CELEBA_ATTRIBUTES:
            self.attribute.addItem(name.replace("_", " "), name)
        self.pair_root = QLineEdit()
        self.pair_root.setToolTip("The folder holding celeba/ (img_align_celeba/ and list_attr_celeba.txt)")
        self.pair_root_browse = QPushButton("Browse…")
        pair_root_row = QHBoxLayout()
        pair_root_row.addWidget(self.pair_root, 1)
        pair_root_row.addWidget(self.pair_root_browse)
        self.celeba_hint = hint("A is the faces without the attribute, B those with it. CelebA is not downloaded "
                                "for this: the dataset folder must hold img_align_celeba/ and list_attr_celeba.txt "
                                "(or a celeba/ folder with them).")
        tr = QFormLayout()
        tr.addRow(blank(), mode_row)
        tr.addRow("Folder A", rows[0])
        tr.addRow("Folder B", rows[1])
        tr.addRow("Attribute", self.attribute)
        tr.addRow("Dataset folder", pair_root_row)
        tr.addRow(blank(), self.celeba_hint)
        tr.addRow(blank(), hint("The GAN learns to turn A into B and B into A from pictures that need not match one "
                           "to one. Choose the resolution (32 to 256 px) on the next page."))
        self.pair_form, self.pair_rows, self.pair_root_row = tr, rows, pair_root_row
        translate_widget = QWidget()
        translate_widget.setLayout(tr)

        self.toy_name = QComboBox()
        for name in TOY_NAMES:
            self.toy_name.addItem(TOY_TITLES[name], f"toy:{name}")
        self.toy_points = QSpinBox()
        self.toy_points.setRange(100, 1_000_000)
        self.toy_points.setSingleStep(1000)
        to = QFormLayout()
        to.addRow("Distribution", self.toy_name)
        to.addRow("Points", self.toy_points)
        toy_widget = QWidget()
        toy_widget.setLayout(to)

        self.options = QStackedWidget()
        for w in (tv_widget, folder_widget, translate_widget, toy_widget):
            self.options.addWidget(w)
        self.tv_widget, self.folder_widget, self.toy_widget = tv_widget, folder_widget, toy_widget
        self.translate_widget = translate_widget
        self.options.setSizePolicy(self.options.sizePolicy().horizontalPolicy(),
                                   self.options.sizePolicy().Policy.Maximum)

        # the preview
        self.busy_bar = QProgressBar()
        self.busy_bar.setTextVisible(True)
        self.busy_bar.hide()
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.skipped = QLabel("")
        self.skipped.setWordWrap(True)
        self.skipped.setStyleSheet("color: #8a5a00;")
        self.skipped.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.thumbs = QGridLayout()
        self.thumbs.setSpacing(2)
        self.thumb_labels = []
        for i in range(EXAMPLES):
            label = QLabel()
            label.setFixedSize(THUMB, THUMB)
            label.setAlignment(Qt.AlignCenter)
            self.thumbs.addWidget(label, i // 8, i % 8)
            self.thumb_labels.append(label)
        thumbs_widget = QWidget()
        thumbs_widget.setLayout(self.thumbs)
        self.scatter = pg.PlotWidget(background="w")
        self.scatter.setFixedHeight(220)
        self.scatter.getPlotItem().setAspectLocked(True)
        self.scatter.getPlotItem().hideAxis("left")
        self.scatter.getPlotItem().hideAxis("bottom")
        self.scatter.setMouseEnabled(False, False)
        self.scatter_points = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(*REAL, 160))
        self.scatter.addItem(self.scatter_points)
        self.scatter.hide()
        preview_box = QGroupBox("Preview")
        pv = QVBoxLayout(preview_box)
        pv.addWidget(self.busy_bar)
        pv.addWidget(thumbs_widget)
        pv.addWidget(self.scatter)
        pv.addWidget(self.info)
        pv.addWidget(self.skipped)
        pv.addStretch(1)

        right = QVBoxLayout()
        right.addWidget(self.options)
        right.addWidget(preview_box, 1)
        right.addWidget(self.problem_label)
        right.addWidget(self.warning_label)
        layout = QHBoxLayout(self)
        layout.addWidget(choice_box)
        layout.addLayout(right, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.start_preview)
        self.kind_buttons.idToggled.connect(self._on_kind)
        self.root.textEdited.connect(lambda text: self._set_data(root=text.strip()))
        self.download.toggled.connect(lambda on: self._set_data(download=on))
        self.root_browse.clicked.connect(self._browse_root)
        self.folder.editTextChanged.connect(self._on_folder_text)
        self.folder_browse.clicked.connect(self._browse_folder)
        self.colour.currentIndexChanged.connect(lambda: self._set_data(channels=self.colour.currentData()))
        self.crop.valueChanged.connect(lambda v: self._set_data(center_crop=v or None))
        self.toy_name.currentIndexChanged.connect(lambda: self._set_source(self.toy_name.currentData()))
        self.pair_mode.idToggled.connect(lambda i, on: on and self._set_pair())
        self.folder_a.textEdited.connect(lambda: self._set_pair())
        self.folder_b.textEdited.connect(lambda: self._set_pair())
        self.attribute.currentIndexChanged.connect(lambda: self._set_pair())
        self.pair_root.textEdited.connect(lambda text: self._set_data(root=text.strip()))
        self.pair_root_browse.clicked.connect(self._browse_pair_root)
        self.browse_a.clicked.connect(lambda: self._browse_pair(self.folder_a, "Folder of domain A's images"))
        self.browse_b.clicked.connect(lambda: self._browse_pair(self.folder_b, "Folder of domain B's images"))
        self.toy_points.valueChanged.connect(lambda v: self._set_data(toy_samples=v))

    # -- filling from the config ----------------------------------------------------------------------

    def load(self) -> None:
        d = self.config.data
        kind = "translate" if d.is_translation else source_kind(d.source)
        self.kind_buttons.button(KINDS.index(kind)).setChecked(True)
        self._show_options(kind)
        self.root.setText(d.root)
        self.download.setChecked(d.download)
        settings = self.wizard().settings
        self.folder.clear()
        self.folder.addItems(settings.recent_data_folders)
        self.folder.setEditText(d.source[len("folder:"):] if kind == "folder" else "")
        celeba = d.domains is not None
        (self.pair_celeba if celeba else self.pair_folders).setChecked(True)
        if d.source_b is not None:
            self.folder_a.setText(d.source[len("folder:"):])
            self.folder_b.setText(d.source_b[len("folder:"):])
        if celeba:
            self.attribute.setCurrentIndex(max(0, self.attribute.findData(d.domains)))
        else:  # the first attribute (5 o'clock shadow) is a poor first example; hair colour shows the idea
            self.attribute.setCurrentIndex(max(0, self.attribute.findData(DEFAULT_ATTRIBUTE)))
        self.pair_root.setText(d.root)
        self._show_pair_rows(celeba)
        self.colour.setCurrentIndex(self.colour.findData(d.channels or 3))
        self.crop.setValue(d.center_crop or 0)
        toy_index = self.toy_name.findData(d.source)
        self.toy_name.setCurrentIndex(max(0, toy_index))
        self.toy_points.setValue(d.toy_samples)
        if self._wanted != d:
            self.start_preview()

    # -- reacting to the user ------------------------------------------------------------------------

    def _on_kind(self, index: int, checked: bool) -> None:
        if not checked or self._loading:
            return
        kind = KINDS[index]
        self._show_options(kind)
        if kind == "translate":
            self._set_pair()
            return
        if kind == "folder":
            source = f"folder:{self.folder.currentText().strip()}"
        elif kind == "toy":
            source = self.toy_name.currentData()
        else:
            source = kind
        self._set_source(source)

    def _show_options(self, kind: str) -> None:
        widget = {"folder": self.folder_widget, "toy": self.toy_widget,
                  "translate": self.translate_widget}.get(kind, self.tv_widget)
        self.options.setCurrentWidget(widget)

    def _set_source(self, source: str) -> None:
        if self._loading:
            return
        self.wizard().set_source(source)
        self._schedule_preview(immediate=not source.startswith("folder:"))

    def _set_pair(self) -> None:
        """Two domains from the translate options: folders A and B, or CelebA without / with an attribute."""
        if self._loading:
            return
        celeba = self.pair_celeba.isChecked()
        self._show_pair_rows(celeba)
        if celeba:
            self.wizard().set_source("celeba", domains=self.attribute.currentData())
        else:
            self.wizard().set_source(f"folder:{self.folder_a.text().strip()}",
                                     source_b=f"folder:{self.folder_b.text().strip()}")
        self._schedule_preview(immediate=celeba)

    def _show_pair_rows(self, celeba: bool) -> None:
        for widget, shown in ((self.pair_rows[0], not celeba), (self.pair_rows[1], not celeba),
                              (self.attribute, celeba), (self.pair_root_row, celeba), (self.celeba_hint, celeba)):
            self.pair_form.setRowVisible(widget, shown)

    def _browse_pair(self, edit: QLineEdit, title: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, title, edit.text())
        if folder:
            edit.setText(folder)
            self._set_pair()

    def _browse_pair_root(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder holding CelebA", self.pair_root.text())
        if folder:
            self.pair_root.setText(folder)
            self._set_data(root=folder)

    def _set_data(self, **changes) -> None:
        if self._loading:
            return
        self.update_config("data", **changes)
        self._schedule_preview(immediate="toy_samples" not in changes and "root" not in changes)

    def _on_folder_text(self, text: str) -> None:
        if self._loading or source_kind(self.config.data.source) != "folder" or self.config.data.is_translation:
            return
        self._set_source(f"folder:{text.strip()}")

    def _browse_root(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for datasets", self.root.text())
        if folder:
            self.root.setText(folder)
            self._set_data(root=folder)

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of images", self.folder.currentText())
        if folder:
            self.folder.setEditText(folder)

    # -- the preview ---------------------------------------------------------------------------------

    def _schedule_preview(self, immediate: bool) -> None:
        self._cancel_task()
        self.preview = None
        self.preview_error = None
        self.wizard().preview = None
        self.refresh()
        if immediate:
            self.start_preview()
        else:
            self._timer.start()

    def start_preview(self) -> None:
        """Inspect the chosen data in a background thread."""
        self._timer.stop()
        self._cancel_task()
        cfg = self.config.data
        self._wanted = cfg
        self.preview = None
        self.preview_error = None
        self.wizard().preview = None
        if cfg.is_folder and not cfg.source[len("folder:"):]:
            self.preview_error = "Choose a folder of images" + (" for domain A" if cfg.is_translation else "")
            self._show_preview()
            return
        if cfg.source_b is not None and not cfg.source_b[len("folder:"):]:
            self.preview_error = "Choose a folder of images for domain B"
            self._show_preview()
            return
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setFormat("Looking at the data…")
        self.busy_bar.show()
        task = self.tasks.create(lambda progress, cancelled: preview_pair(cfg, progress), "preview")
        task.progress.connect(self._on_preview_progress)
        task.returned.connect(lambda preview, t=task: t is self.task and self._on_preview(preview))
        task.errored.connect(lambda message, t=task: t is self.task and self._on_preview_failed(message))
        self.task = task.start()
        self.refresh()

    def _on_preview_progress(self, done: int, total: int) -> None:
        self.busy_bar.setRange(0, total)
        self.busy_bar.setValue(done)
        self.busy_bar.setFormat(f"Checking images: {done:,} of {total:,}")

    def _on_preview(self, preview: DataPreview) -> None:
        self.preview = preview
        self.wizard().preview = preview
        self.wizard().choose(data_side=preview.typical_side())  # the default resolution follows the images
        if self.config.data.is_folder:
            self.wizard().settings.remember("recent_data_folders", self.config.data.source[len("folder:"):])
        self._show_preview()

    def _on_preview_failed(self, message: str) -> None:
        self.preview_error = message
        self._show_preview()

    def _show_preview(self) -> None:
        self.busy_bar.hide()
        self.task = None
        p = self.preview
        for label in self.thumb_labels:
            label.clear()
        self.scatter.setVisible(p is not None and p.is_toy)
        if p is None:
            self.info.setText("")
            self.skipped.setText("")
        else:
            for label, image in zip(self.thumb_labels, p.examples):
                label.setPixmap(to_pixmap(image, THUMB))
            if p.is_toy:
                self.scatter_points.setData(pos=p.points.astype(np.float64))
                self.scatter.getPlotItem().autoRange()
            self.info.setText(p.note)
            self.skipped.setText(p.skipped_report)
        self.refresh()

    def _cancel_task(self) -> None:
        if self.task is not None:
            self.task.quit()
            self.task = None
            self.busy_bar.hide()

    def cancel(self) -> None:
        """Stop looking at the data (the wizard is closing)."""
        self._timer.stop()
        self._cancel_task()
        self.tasks.quit_all()

    def shutdown(self) -> None:
        """Cancel a running preview and wait for its thread."""
        self.cancel()
        self.tasks.join()

    # -- validation ---------------------------------------------------------------------------------

    def busy(self) -> bool:
        return self.task is not None or self._timer.isActive()

    def problems(self) -> list[str]:
        if self.preview_error:
            return [self.preview_error]
        return []

    def warnings(self) -> list[str]:
        if self.preview is not None and self.preview.skipped:
            return [f"{len(self.preview.skipped):,} files will be skipped (listed above); the others are used"]
        return []

