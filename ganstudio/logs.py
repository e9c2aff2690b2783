"""Log files in the platform's log folder (Linux ~/.local/state/GANStudio/log, macOS ~/Library/Logs/GANStudio,
Windows %LOCALAPPDATA%\\GANStudio\\Logs), rotated, with uncaught exceptions recorded."""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "GANStudio"
LOG_FILE = "ganstudio.log"


def log_dir() -> Path:
    """Where GAN Studio writes its logs (GANSTUDIO_LOG_DIR overrides it, e.g. for tests)."""
    override = os.environ.get("GANSTUDIO_LOG_DIR")
    return Path(override) if override else Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send the 'ganstudio' loggers to a rotating file; returns its path (None if the folder is not writable)."""
    logger = logging.getLogger("ganstudio")
    logger.setLevel(level)
    path = log_dir() / LOG_FILE
    if any(isinstance(h, logging.handlers.RotatingFileHandler) for h in logger.handlers):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None  # logging must never stop the app
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    previous = sys.excepthook

    def log_uncaught(exc_type, exc, tb):
        logger.critical("uncaught exception", exc_info=(exc_type, exc, tb))
        previous(exc_type, exc, tb)

    sys.excepthook = log_uncaught
    return path
