"""Starting the desktop app: the QApplication, the main window and the event loop."""
from __future__ import annotations

import sys


def create_app(argv: list[str] | None = None):
    """The QApplication (created once), named and styled for GAN Studio."""
    from PySide6.QtWidgets import QApplication

    import ganstudio

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("GAN Studio")
    app.setApplicationVersion(ganstudio.__version__)
    app.setStyle("Fusion")  # the same look on Linux, Windows and macOS
    return app


def run_app(argv: list[str] | None = None) -> int:
    """Show the main window and run the event loop until it closes."""
    app = create_app(argv)
    from ganstudio.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    code = app.exec()
    window.shutdown()  # no thread may outlive the application
    return code
