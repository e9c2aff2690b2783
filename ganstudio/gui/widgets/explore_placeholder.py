"""The Explore area's place: the latent-space explorer arrives in a later release; opening a checkpoint works."""
from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ganstudio.core.checkpoints import Checkpoint
from ganstudio.gui.describe import describe_config


class ExplorePlaceholder(QWidget):
    """Says what is coming, and shows which checkpoint and configuration were opened."""

    open_checkpoint_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel("<h2>Explore</h2>")
        coming = QLabel("The latent-space explorer is coming in a next release: sliders along learned directions, "
                        "interpolation between samples and style mixing. For now you can open a checkpoint to "
                        "check what it holds.")
        coming.setWordWrap(True)
        self.coming = coming
        self.open_button = QPushButton("Open checkpoint…")
        self.open_button.setMinimumHeight(32)
        self.open_button.clicked.connect(self.open_checkpoint_requested)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addStretch(1)
        self.details = QLabel("No checkpoint open.")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.details.setStyleSheet("color: #444;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addWidget(title)
        layout.addWidget(coming)
        layout.addSpacing(12)
        layout.addLayout(row)
        layout.addSpacing(12)
        layout.addWidget(self.details, 1)
        self.path: Path | None = None

    def show_checkpoint(self, path: Path, ckpt: Checkpoint) -> None:
        """Show what a loaded checkpoint is: file, step, model, data, classes, version."""
        self.path = Path(path)
        cfg = ckpt.config
        m = cfg.model
        shape = "2D points" if m.toy else f"{m.channels} x {m.resolution} x {m.resolution} images"
        classes = ", ".join(m.class_names) if m.class_names else "unconditional"
        weights = ", ".join(sorted(ckpt.modules))
        rows = [("Checkpoint", str(self.path)), ("Run", cfg.name), ("Step", f"{ckpt.step:,}"),
                ("Model", describe_config(cfg)), ("Output", shape), ("Latent size", str(m.z_dim)),
                ("Classes", classes), ("Weights", weights), ("Saved by", f"GAN Studio {ckpt.version}")]
        self.details.setText("<table>" + "".join(
            f"<tr><td style='padding-right:14px; color:#666'>{k}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
            + "</table>")

    def show_error(self, message: str) -> None:
        self.path = None
        self.details.setText(f"<span style='color:#b00020'>{html.escape(message)}</span>")
