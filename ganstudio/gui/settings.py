"""The app's settings: a versioned JSON file under the platform's config folder (unknown keys are ignored).

GANSTUDIO_SETTINGS names another file (the tests point it at a temporary folder).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths

from ganstudio.core.io import atomic_write_text
from ganstudio.core.errors import GanStudioError

SETTINGS_VERSION = 1
SETTINGS_ENV = "GANSTUDIO_SETTINGS"
RECENT_LIMIT = 10


def settings_path() -> Path:
    """$GANSTUDIO_SETTINGS, or settings.json in the platform's config folder for GAN Studio."""
    if os.environ.get(SETTINGS_ENV):
        return Path(os.environ[SETTINGS_ENV])
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppConfigLocation)
    return Path(base or Path.home() / ".config" / "ganstudio") / "settings.json"


def session_path(settings_file: Path | None = None) -> Path:
    """explorer.json beside the settings file: the explorer's model and choices when the app last closed."""
    return (settings_file or settings_path()).with_name("explorer.json")


def load_session(settings_file: Path | None = None) -> dict | None:
    """The explorer as it was left (core.explorer.session_record's data), or None when there is none."""
    try:
        data = json.loads(session_path(settings_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def save_session(record: dict, settings_file: Path | None = None) -> str:
    """Write the explorer's session atomically; returns "" or a sentence saying why it could not be saved."""
    try:
        atomic_write_text(session_path(settings_file), json.dumps(record) + "\n")
    except GanStudioError as exc:
        return str(exc)
    return ""


def default_runs_folder() -> str:
    """Where new runs go unless the user chose another folder: Documents/GAN Studio runs."""
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return str(Path(docs or Path.home()) / "GAN Studio runs")


def default_exports_folder() -> Path:
    """Where exports go unless a run folder is at hand: Documents/GAN Studio exports (made on the first export)."""
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(docs or Path.home()) / "GAN Studio exports"


def default_data_root() -> str:
    """Where torchvision datasets are looked for and downloaded: the app's data folder."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return str(Path(base or Path.home() / ".local" / "share" / "ganstudio") / "datasets")


@dataclass
class Settings:
    """Everything the app remembers between sessions."""

    window_geometry: str = ""  # QMainWindow.saveGeometry() as base64
    window_state: str = ""  # QMainWindow.saveState() as base64
    recent_runs: list[str] = field(default_factory=list)  # newest first
    recent_checkpoints: list[str] = field(default_factory=list)
    recent_data_folders: list[str] = field(default_factory=list)
    runs_folder: str = ""  # parent folder of new runs ("" = default_runs_folder())
    data_root: str = ""  # torchvision datasets ("" = default_data_root())
    wizard: dict[str, Any] = field(default_factory=dict)  # the last run configuration the wizard made
    x_axis: str = "step"  # "step" or "epoch"
    smoothing: int = 50  # trailing mean window of the smoothed curves, in logged steps
    cpu_threads: int = 0  # threads for training on the CPU; 0 = automatic (see gui.workers.training_threads)
    opened_before: bool = False  # False until the first launch has shown the pretrained face model
    last_tab: str = "train"  # the area shown when the app last closed: "train" or "explore"

    def remember(self, kind: str, path: str | Path) -> None:
        """Put a path first in one of the recent lists (recent_runs, recent_checkpoints, recent_data_folders)."""
        items = getattr(self, kind)
        text = str(Path(path).expanduser().absolute())
        items[:] = [text] + [p for p in items if p != text][: RECENT_LIMIT - 1]


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings; a missing, damaged or newer file gives defaults for what cannot be read."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
        return Settings()
    settings = Settings()
    defaults = asdict(settings)
    for f in fields(Settings):
        value = data["values"].get(f.name)
        if value is not None and isinstance(value, type(defaults[f.name])):
            setattr(settings, f.name, value)
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> str:
    """Write the settings atomically; returns "" or a sentence saying why they could not be saved."""
    path = path or settings_path()
    text = json.dumps({"version": SETTINGS_VERSION, "values": asdict(settings)}, indent=2)
    try:
        atomic_write_text(path, text + "\n")
    except GanStudioError as exc:
        return str(exc)
    return ""
