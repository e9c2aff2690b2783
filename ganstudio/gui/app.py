"""Starting the desktop app (the full window is built by the app issue; this opens the main window)."""
from __future__ import annotations

import sys


def create_main_window():
    """The application's main window (not yet shown)."""
    from PySide6.QtWidgets import QLabel, QMainWindow

    window = QMainWindow()
    window.setWindowTitle("GAN Studio")
    label = QLabel("GAN Studio: training and exploring arrive in the next releases.\n"
                   "Meanwhile, train from a terminal: ganstudio train --help")
    label.setMargin(24)
    window.setCentralWidget(label)
    window.resize(900, 600)
    return window


def run_app(argv: list[str] | None = None) -> int:
    """Create the QApplication, show the main window and run the event loop."""
    from PySide6.QtWidgets import QApplication

    import ganstudio

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("GAN Studio")
    app.setApplicationVersion(ganstudio.__version__)
    window = create_main_window()
    window.show()
    return app.exec()
