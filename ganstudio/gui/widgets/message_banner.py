"""A message across the top of a view: an error that stopped a run, or a note, with a close button."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

STYLES = {
    "error": "QFrame#banner { background: #fdecea; border: 1px solid #e0a39d; border-radius: 4px; }",
    "warning": "QFrame#banner { background: #fff6e0; border: 1px solid #e6c97a; border-radius: 4px; }",
    "info": "QFrame#banner { background: #e8f1fb; border: 1px solid #a9c6e8; border-radius: 4px; }",
}


class MessageBanner(QFrame):
    """Hidden until show_message(); the text can be selected and copied."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.kind = ""
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide this message")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.title, 0, Qt.AlignTop)
        layout.addWidget(self.text, 1)
        layout.addWidget(close, 0, Qt.AlignTop)
        self.hide()

    def show_message(self, text: str, kind: str = "error", title: str = "") -> None:
        self.kind = kind
        self.setStyleSheet(STYLES[kind])
        self.title.setText(title or {"error": "Error:", "warning": "Note:", "info": ""}[kind])
        self.title.setVisible(bool(self.title.text()))
        self.text.setText(text)
        self.show()
