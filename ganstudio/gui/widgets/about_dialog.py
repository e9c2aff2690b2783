"""Help > About: the versions of the app, PyTorch, Qt and the device in use, and where the logs are."""
from __future__ import annotations

import platform

from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QMessageBox, QVBoxLayout, QWidget


def version_lines(device: str) -> list[tuple[str, str]]:
    """(what, version) pairs shown in the About box and useful in bug reports."""
    import PySide6
    import pyqtgraph
    import torch

    import ganstudio
    from ganstudio.logs import log_dir

    cuda = torch.version.cuda or "none"
    return [
        ("GAN Studio", ganstudio.__version__),
        ("PyTorch", f"{torch.__version__} (CUDA {cuda})"),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("pyqtgraph", pyqtgraph.__version__),
        ("Python", f"{platform.python_version()} on {platform.system()} {platform.machine()}"),
        ("Device", device),
        ("Logs", str(log_dir())),
    ]


class AboutDialog(QDialog):
    """What GAN Studio is, and the versions of everything it runs on."""

    def __init__(self, device: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("About GAN Studio")
        title = QLabel("<h2>GAN Studio</h2>")
        blurb = QLabel("Train generative adversarial networks, watch them learn, and explore what they learned.")
        blurb.setWordWrap(True)
        rows = "".join(f"<tr><td style='padding-right:14px; color:#555'>{k}</td><td>{v}</td></tr>"
                       for k, v in version_lines(device))
        self.versions = QLabel(f"<table>{rows}</table>")
        self.versions.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        self.logs_button = buttons.addButton("Open log folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.logs_button.setToolTip("The app's log files, to attach to a bug report")
        self.logs_button.clicked.connect(self._open_logs)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(blurb)
        layout.addSpacing(8)
        layout.addWidget(self.versions)
        self.logs_note = QLabel()
        self.logs_note.setWordWrap(True)
        self.logs_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.logs_note.hide()
        layout.addWidget(self.logs_note)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def _open_logs(self) -> QMessageBox | None:
        """Open the log folder in the file manager; the path is copied and shown, since a desktop without a file
        manager answers nothing; a message box says where it is when nothing could be asked to open it."""
        from ganstudio.logs import LOG_FILE, log_dir

        folder = log_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the message below names the folder all the same
        QGuiApplication.clipboard().setText(str(folder))
        self.logs_note.setText(f"The log folder is {folder} (copied to the clipboard); attach {LOG_FILE} "
                               "to a bug report.")
        self.logs_note.show()
        self.adjustSize()  # room for the note, without squeezing the versions
        if self.open_url(QUrl.fromLocalFile(str(folder))):
            return None
        box = QMessageBox(QMessageBox.Icon.Information, "Log folder",
                          f"No file manager could be opened. The logs are in:\n\n{folder}\n\n"
                          f"(the path is on the clipboard; the current log is {LOG_FILE})",
                          QMessageBox.StandardButton.Ok, self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    @staticmethod
    def open_url(url: QUrl) -> bool:
        """Ask the desktop to open a URL (a seam for tests)."""
        return QDesktopServices.openUrl(url)
