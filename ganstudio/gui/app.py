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
    import logging

    from ganstudio.logs import setup_logging

    log_file = setup_logging()
    log = logging.getLogger("ganstudio.gui.app")
    from ganstudio.gui.system_libraries import check_system_libraries

    problem = check_system_libraries()
    if problem is not None:  # before the QApplication, which would abort with Qt's own message
        print(problem, file=sys.stderr)
        return 1
    app = create_app(argv)
    window = create_main_window()
    _log_versions(log, window.device_text, log_file)
    window.show()
    window.open_start_page()
    code = app.exec()
    window.shutdown()  # no thread may outlive the application
    log.info("GAN Studio closed (exit code %d)", code)
    return code


def _log_versions(log, device: str, log_file) -> None:
    """What a bug report needs first: the versions of everything, the device and where the settings are."""
    from ganstudio.gui.settings import settings_path
    from ganstudio.gui.widgets.about_dialog import version_lines

    try:
        versions = "; ".join(f"{what} {version}" for what, version in version_lines(device))
    except Exception as exc:  # a log line must never stop the app
        versions = f"versions unknown ({exc})"
    log.info("GAN Studio started: %s; settings %s; log %s", versions, settings_path(), log_file)
