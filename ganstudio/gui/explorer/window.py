"""A small window around the explorer, with File > Open checkpoint and a recent list (the main window embeds
ExplorerView the same way)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QWidget

from ganstudio.gui.explorer.explorer_view import ExplorerView
from ganstudio.gui.explorer.model import ExplorerModel

MAX_RECENT = 8


class ExplorerWindow(QMainWindow):
    """ExplorerView in a window; recent checkpoints are kept in QSettings (or the given ini file)."""

    def __init__(self, model: ExplorerModel | None = None, settings_file: str | Path | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("GAN Studio — Explore")
        self.settings = (QSettings(str(settings_file), QSettings.Format.IniFormat) if settings_file
                         else QSettings("GAN Studio", "GAN Studio"))
        self.view = ExplorerView(model)
        self.setCentralWidget(self.view)
        menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open checkpoint…", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.choose_checkpoint)
        menu.addAction(self.open_action)
        self.recent_menu = menu.addMenu("Open &recent")
        self.export_action = QAction("&Export…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.view.show_export)
        menu.addAction(self.export_action)
        menu.addSeparator()
        close = QAction("&Close", self)
        close.setShortcut(QKeySequence.StandardKey.Close)
        close.triggered.connect(self.close)
        menu.addAction(close)
        self.view.open_checkpoint_requested.connect(self.choose_checkpoint)
        self.view.checkpoint_opened.connect(self._remember)
        self._fill_recent()
        self.resize(1180, 760)

    def recent(self) -> list[str]:
        value = self.settings.value("explorer/recent_checkpoints", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def choose_checkpoint(self) -> None:
        recent = self.recent()
        start = str(Path(recent[0]).parent) if recent else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a checkpoint", start,
                                              "GAN Studio checkpoints (*.safetensors);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def open_checkpoint(self, path: str | Path) -> bool:
        return self.view.open_checkpoint(path)

    def _remember(self, path: str) -> None:
        path = str(Path(path).expanduser().resolve())
        recent = [path] + [p for p in self.recent() if p != path]
        self.settings.setValue("explorer/recent_checkpoints", recent[:MAX_RECENT])
        self.settings.sync()
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_checkpoint(p))
        self.recent_menu.setEnabled(bool(recent))

    def closeEvent(self, event) -> None:
        self.view.shutdown()
        super().closeEvent(event)
