"""File > Get pretrained models: the public StyleGAN releases in a table (name, model, resolution, size, licence,
downloaded or not), their licence shown before anything is fetched, a download on a background worker with a
progress bar and Cancel (it resumes next time), and Open, which hands the file to the main window's
open-checkpoint path (read as data only: no code from the file runs)."""
from __future__ import annotations

import html
import logging
import time
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QProgressBar,
                               QTableView, QVBoxLayout, QWidget)

from ganstudio.core.errors import as_sentence, size_text
from ganstudio.core.pretrained import Fetched, PretrainedModel, Status, catalogue, fetch, models_dir, status
from ganstudio.gui.colours import secondary_css
from ganstudio.gui.threads import WorkerBase, create_worker

log = logging.getLogger(__name__)

COLUMNS = ("Name", "Model", "Resolution", "Size", "Licence", "On this computer")
ERROR_CSS = "color: #b00020;"
DONE_CSS = "color: #1b5e20;"
BY_HAND = "download {url} by hand and open it with File > Open checkpoint"  # the app's words, not the CLI's


class PretrainedTableModel(QAbstractTableModel):
    """The catalogue as table rows, with each release's status in a models folder."""

    def __init__(self, models: list[PretrainedModel], folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.models, self.folder = models, folder
        self.statuses: list[Status] = [status(m, folder) for m in models]

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802 (Qt naming)
        return 0 if parent is not None and parent.isValid() else len(self.models)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        m, st = self.models[index.row()], self.statuses[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (m.title, m.family + (f", {m.classes} classes" if m.classes else ""), f"{m.resolution} px",
                    size_text(st.size) if st.size else "unknown",
                    "non-commercial" if "non-commercial" in m.licence.summary else m.licence.summary,
                    st.text())[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{m.key}: {m.description}\n{m.licence.text()}"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def refresh(self, row: int | None = None) -> None:
        """Read the status of one release (or all) from the folder again."""
        rows = range(len(self.models)) if row is None else [row]
        for r in rows:
            self.statuses[r] = status(self.models[r], self.folder)
        if rows:
            self.dataChanged.emit(self.index(rows[0], 0), self.index(rows[-1], len(COLUMNS) - 1))


class PretrainedDialog(QDialog):
    """Choose a release, read its licence, download it in the background (progress, Cancel) and open it."""

    open_requested = Signal(str)  # the downloaded file, for the main window's open-checkpoint path

    def __init__(self, folder: str | Path | None = None, models: list[PretrainedModel] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Get pretrained models")
        self.folder = models_dir(folder)
        self.task: WorkerBase | None = None
        self.task_row: int | None = None
        self.fetched: Fetched | None = None
        self.table_model = PretrainedTableModel(catalogue() if models is None else models, self.folder, self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.details = QLabel()
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setWordWrap(True)
        self.details.setOpenExternalLinks(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.folder_label = QLabel(f"Models folder: {self.folder}")
        self.folder_label.setTextFormat(Qt.TextFormat.PlainText)
        self.folder_label.setStyleSheet(secondary_css())
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.hide()  # shown from the start of a download until it fails or is cancelled
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # messages carry URLs and '>'
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.download_button = self.buttons.addButton("Download", QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = self.buttons.addButton("Cancel download", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button = self.buttons.addButton("Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_selected)
        self.close_button.clicked.connect(self.reject)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.doubleClicked.connect(lambda _: self.open_selected() if self._selected_status().downloaded
                                         else self.start_download())
        layout = QVBoxLayout(self)
        intro = QLabel("NVIDIA's published StyleGAN2-ADA and StyleGAN3 networks. GAN Studio reads them as data only "
                       "(no code from the file runs) and renders them on this computer's CPU or GPU. Their licence "
                       "allows <b>non-commercial use only</b>.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.folder_label)
        layout.addWidget(self.buttons)
        self.resize(860, 560)
        if self.table_model.rowCount():
            self.table.selectRow(0)
        self._update_buttons()

    # -- selection ----------------------------------------------------------------------------------

    def selected_row(self) -> int | None:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else None

    def select(self, key: str) -> bool:
        """Select a release by key; False when the catalogue has none."""
        for row, m in enumerate(self.table_model.models):
            if m.key == key:
                self.table.selectRow(row)
                self.table.scrollTo(self.table_model.index(row, 0))
                return True
        return False

    def _selected_status(self) -> Status:
        row = self.selected_row()
        return self.table_model.statuses[row] if row is not None else Status(False)

    def _row_changed(self, *_) -> None:
        row = self.selected_row()
        if row is None:
            self.details.clear()
        else:
            m = self.table_model.models[row]
            lic = m.licence
            self.details.setText(
                f"<b>{html.escape(m.title)}</b> ({html.escape(m.family)}, {m.resolution}×{m.resolution}"
                f"{f', {m.classes} classes' if m.classes else ''}): {html.escape(m.description)}<br>"
                f"Licence: <a href='{html.escape(lic.url)}'>{html.escape(lic.name)}</a>: "
                f"<b>{html.escape(lic.summary)}</b>.<br>"
                f"<span style='{secondary_css()}'>From {html.escape(m.url)} as {html.escape(m.filename)}</span>")
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.task is not None
        st = self._selected_status()
        row = self.selected_row()
        self.download_button.setEnabled(not busy and row is not None and not st.downloaded)
        self.download_button.setText("Resume download" if st.partial and not busy else "Download")
        self.cancel_button.setEnabled(busy)
        self.open_button.setEnabled(row is not None and st.downloaded and not (busy and row == self.task_row))

    # -- downloading --------------------------------------------------------------------------------

    def start_download(self) -> None:
        """Download (or resume) the selected release on a background worker, then import it and show its card."""
        row = self.selected_row()
        if self.task is not None or row is None or self.table_model.statuses[row].downloaded:
            return
        model, folder = self.table_model.models[row], self.folder

        def job(progress, cancelled) -> Fetched:
            next_report = 0.0

            def report(done: int, total: int) -> None:
                nonlocal next_report
                now = time.monotonic()
                if now >= next_report or done == total:  # at most 10 updates a second reach the GUI
                    next_report = now + 0.1
                    progress(done >> 10, total >> 10)  # in KiB: the worker's progress signal carries C++ ints
            return fetch(model, folder, report, cancelled, by_hand=BY_HAND)

        self.task_row = row
        self.status.setStyleSheet("")
        self.status.setText(f"Connecting to get {model.title} ({model.family})…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.task = create_worker(job, _name="download", _doing=f"downloading {model.key}")
        self.task.progress.connect(self._progress)
        self.task.returned.connect(self._downloaded)
        self.task.errored.connect(self._failed)
        self.task.aborted.connect(self._cancelled)
        self.task.finished.connect(self._finished)
        self.task.start()
        log.info("downloading %s from %s into %s", model.key, model.url, folder)
        self._update_buttons()

    def _progress(self, done_kib: int, total_kib: int) -> None:
        if total_kib:
            self.progress.setRange(0, total_kib)
            self.progress.setValue(min(done_kib, total_kib))
        title = self.table_model.models[self.task_row].title if self.task_row is not None else ""
        of = f" of {size_text(total_kib << 10)}" if total_kib else ""
        self.status.setText(f"Downloading {title}: {size_text(done_kib << 10)}{of}…")

    def _downloaded(self, fetched: Fetched) -> None:
        self.fetched = fetched
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setStyleSheet(DONE_CSS)
        self.status.setText(f"{'Downloaded' if fetched.downloaded else 'Already here'} and checked: "
                            f"{fetched.summary()}")

    def _failed(self, message: str) -> None:
        self.progress.hide()
        self.status.setStyleSheet(ERROR_CSS)
        self.status.setText(as_sentence(message, capitalise=True))

    def _cancelled(self) -> None:
        self.progress.hide()
        self.status.setStyleSheet("")
        self.status.setText("Cancelled. What was downloaded so far is kept: Resume download continues from there.")

    def _finished(self) -> None:
        row, self.task, self.task_row = self.task_row, None, None
        if row is not None:
            self.table_model.refresh(row)
        self._update_buttons()

    def cancel(self) -> None:
        """Ask the running download to stop (it keeps the partial file for a resume)."""
        if self.task is not None:
            self.task.quit()

    def stop(self) -> None:
        """Cancel a running download and wait for its thread (when the dialog or the window closes)."""
        if self.task is not None:
            self.task.join()
            self.task = None

    # -- opening ------------------------------------------------------------------------------------

    def open_selected(self) -> None:
        """Hand the selected, downloaded release to the main window to explore, and close."""
        row = self.selected_row()
        if row is None or not self.table_model.statuses[row].downloaded:
            return
        path = self.table_model.models[row].path(self.folder)
        log.info("opening the pretrained model %s", path)
        self.open_requested.emit(str(path))
        self.accept()

    def done(self, result: int) -> None:  # closing the dialog (Escape, Close) never leaves a thread behind
        self.stop()
        super().done(result)
