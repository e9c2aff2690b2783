"""A run's configuration: the settings that apply to it in words, the raw JSON behind a toggle, and the command
that trains it again, quoted so that it survives being pasted."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QStackedWidget, QTextBrowser, QVBoxLayout, QWidget)

from ganstudio.core.config import RunConfig
from ganstudio.gui.config_summary import config_sections, train_command


class ConfigDialog(QDialog):
    """Read-only view of a RunConfig; the command and the JSON can be copied."""

    def __init__(self, config: RunConfig, where: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"Configuration of {config.name}")
        note = QLabel(f"Saved as {html.escape(where)}. Train it again from a terminal with:")
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command = QLineEdit(train_command(where))
        self.command.setReadOnly(True)
        self.command.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.command.setCursorPosition(0)
        copy = QPushButton("Copy")
        copy.setToolTip("Copy the command to the clipboard")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.command.text()))
        command_row = QHBoxLayout()
        command_row.addWidget(self.command, 1)
        command_row.addWidget(copy)
        self.summary = QTextBrowser()
        self.summary.setHtml(summary_html(config))
        self.summary.setOpenLinks(False)
        self.text = QPlainTextEdit(config.to_json())
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.pages = QStackedWidget()
        self.pages.addWidget(self.summary)
        self.pages.addWidget(self.text)
        self.raw = QCheckBox("Show the raw JSON (every setting, as saved)")
        self.raw.toggled.connect(lambda on: self.pages.setCurrentIndex(1 if on else 0))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(command_row)
        layout.addWidget(self.pages, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.raw, 1)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)
        self.resize(600, 640)


def summary_html(config: RunConfig) -> str:
    """The sections of config_sections as HTML tables, with the palette's own colours."""
    parts = [f"<h3>{html.escape(config.name)}</h3><table cellspacing='0'>"]
    for section, rows in config_sections(config):  # one table, so that the values line up across sections
        parts.append(f"<tr><td colspan='2' style='padding:10px 0 2px 0'><b>{section}</b></td></tr>")
        parts += [f"<tr><td style='padding:1px 18px 1px 8px'>{html.escape(k)}</td>"
                  f"<td style='padding:1px 0'>{html.escape(v)}</td></tr>" for k, v in rows]
    parts.append("</table>")
    return "".join(parts)
