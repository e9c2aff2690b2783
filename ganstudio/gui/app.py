"""Starting the desktop app: the QApplication, the main window and the event loop."""
from __future__ import annotations

import sys


def create_app(argv: list[str] | None = None):
    """The QApplication (created once), named and styled for GAN Studio."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    import ganstudio
    from ganstudio.resources import resource_path

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("GAN Studio")
    app.setApplicationVersion(ganstudio.__version__)
    app.setStyle("Fusion")  # the same look on Linux, Windows and macOS
    app.setWindowIcon(QIcon(str(resource_path("icons", "ganstudio.png"))))
    return app


def create_main_window():
    """The application's main window (not yet shown)."""
    from ganstudio.gui.main_window import MainWindow

    return MainWindow()


def run_app(argv: list[str] | None = None) -> int:
    """Show the main window and run the event loop until it closes."""
    from ganstudio.logs import setup_logging

    setup_logging()
    from ganstudio.gui.system_libraries import check_system_libraries

    problem = check_system_libraries()
    if problem is not None:  # before the QApplication, which would abort with Qt's own message
        print(problem, file=sys.stderr)
        return 1
    app = create_app(argv)
    window = create_main_window()
    window.show()
    window.open_start_page()
    code = app.exec()
    window.shutdown()  # no thread may outlive the application
    return code
