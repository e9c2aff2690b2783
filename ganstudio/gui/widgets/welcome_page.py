"""The Train area before a run is open: start a new run, open one, or pick a recent one."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QMessageBox, QPushButton, QVBoxLayout, QWidget,
)

from ganstudio.core.runs import RunFolder
from ganstudio.core.errors import GanStudioError
from ganstudio.gui.describe import describe_config


def _describe(path: str) -> str:
    """A recent run in a few words: its model and data, or why it cannot be opened."""
    try:
        return describe_config(RunFolder(path).config())
    except GanStudioError:
        return "missing or unreadable"


class WelcomePage(QWidget):
    """Big buttons and the recent runs list."""

    new_run_requested = Signal()
    open_run_requested = Signal()
    recent_run_chosen = Signal(str)
    explore_run_requested = Signal(str)  # a recent run's newest checkpoint file, for the explorer
    remove_run_requested = Signal(str)  # take a run off the list (its folder stays)
    current_run_requested = Signal()  # back to the run on show

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel("<h2>Train a GAN</h2>")
        blurb = QLabel("Start a run from the wizard — choose data, a model, a loss and a schedule — and watch it "
                       "learn. Runs are folders: reopen one to see its curves and samples, or to resume it.")
        blurb.setWordWrap(True)
        self.new_button = QPushButton("New run…")
        self.open_button = QPushButton("Open run…")
        for button in (self.new_button, self.open_button):
            button.setMinimumHeight(36)
            button.setMinimumWidth(140)
        self.current_button = QPushButton()
        self.current_button.setMinimumHeight(36)
        self.current_button.hide()
        self.current_button.clicked.connect(self.current_run_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.current_button)
        buttons.addStretch(1)
        self.recent_label = QLabel("<b>Recent runs</b>")
        self.recent = QListWidget()
        self.recent.setMaximumWidth(900)
        self.recent.itemActivated.connect(lambda item: self.recent_run_chosen.emit(item.data(Qt.UserRole)))
        self.recent.itemClicked.connect(lambda item: self.recent_run_chosen.emit(item.data(Qt.UserRole)))
        self.recent.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.recent.customContextMenuRequested.connect(self._context_menu)
        self.recent.setToolTip("Click a run to open it; right-click for more")
        self.empty = QLabel("No runs yet. Tip: a 2D toy distribution trains in seconds and shows the game live.")
        self.empty.setStyleSheet("color: #777;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addWidget(title)
        layout.addWidget(blurb)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addSpacing(20)
        layout.addWidget(self.recent_label)
        layout.addWidget(self.recent)
        layout.addWidget(self.empty)
        layout.addStretch(1)
        self.new_button.clicked.connect(self.new_run_requested)
        self.open_button.clicked.connect(self.open_run_requested)

    def set_recent(self, paths: list[str]) -> None:
        """Show these run folders, newest first; a missing one is greyed out (it can still be removed)."""
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).name}   ·   {_describe(path)}\n{path}")
            item.setData(Qt.UserRole, path)
            if not RunFolder.is_run(path):
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent.addItem(item)
        rows = sum(self.recent.sizeHintForRow(i) for i in range(self.recent.count()))
        self.recent.setFixedHeight(min(rows, 12 * max(1, self.recent.sizeHintForRow(0))) + 6)
        self.recent.setVisible(bool(paths))
        self.recent_label.setVisible(bool(paths))
        self.empty.setVisible(not paths)

    def set_current(self, name: str, training: bool = False) -> None:
        """Offer a way back to the run on show ("" hides it)."""
        self.current_button.setText(f"Back to {name}{' (training)' if training else ''} ›")
        self.current_button.setVisible(bool(name))

    def menu_for(self, path: str) -> QMenu:
        """The context menu of one recent run: open, explore, show its folder, remove it from the list."""
        from ganstudio.core.runs import RunFolder

        menu = QMenu(self)
        here = (Path(path) / "config.json").is_file()
        open_action = menu.addAction("Open", lambda: self.recent_run_chosen.emit(path))
        open_action.setEnabled(here)
        latest = RunFolder(path).latest_checkpoint() if here else None
        explore = menu.addAction("Explore the newest checkpoint",
                                 lambda: self.explore_run_requested.emit(str(latest)))
        explore.setEnabled(latest is not None)
        menu.addAction("Show folder", lambda: self.show_folder(path)).setEnabled(Path(path).is_dir())
        menu.addSeparator()
        menu.addAction("Remove from this list", lambda: self.remove_run_requested.emit(path)).setToolTip(
            "The run's folder is kept")
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        item = self.recent.itemAt(pos)
        if item is not None:
            menu = self.menu_for(item.data(Qt.UserRole))
            menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            menu.popup(self.recent.viewport().mapToGlobal(pos))

    def show_folder(self, path: str) -> None:
        """Open a run folder in the file manager, or say where it is when none answers."""
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            QMessageBox.information(self, "Run folder", f"No file manager could be opened. The run is in:\n\n{path}")
