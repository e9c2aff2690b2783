"""Colours taken from the palette, so that secondary text and plots stay readable in light and dark themes."""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def palette() -> QPalette:
    """The application's palette (a default one before the QApplication exists)."""
    app = QApplication.instance()
    return app.palette() if app is not None else QPalette()


def secondary_text() -> QColor:
    """Text that steps back but stays readable: 75% of the way from the window colour to the text colour."""
    p = palette()
    text, window = p.color(QPalette.ColorRole.WindowText), p.color(QPalette.ColorRole.Window)
    return QColor(*(round(w + 0.75 * (t - w)) for t, w in zip(text.getRgb()[:3], window.getRgb()[:3])))


def secondary_css() -> str:
    """A style sheet for secondary text (status lines, hints)."""
    return f"color: {secondary_text().name()};"


def plot_colours() -> tuple[QColor, QColor]:
    """(background, foreground) for plots: the palette's base and text colours."""
    p = palette()
    return p.color(QPalette.ColorRole.Base), p.color(QPalette.ColorRole.Text)
