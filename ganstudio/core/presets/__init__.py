"""Starting points from the GAN literature, shipped as JSON files in ganstudio/core/presets/.

A preset is a partial configuration: it sets the model, loss and optimizer choices of a paper and leaves
the data and schedule to the user.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ganstudio.core.config import RunConfig
from ganstudio.core.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    """One preset file: its key (the file name), title, description and partial config."""

    key: str
    title: str
    description: str
    config: dict[str, Any]  # a partial RunConfig dict


def presets() -> dict[str, Preset]:
    """All presets shipped with the app, by key."""
    found = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            key = entry.name[:-5]
            found[key] = Preset(key, data["title"], data.get("description", ""), data["config"])
    return found


def find_preset(name: str) -> Preset:
    """A preset by key ("dcgan") or title ("DCGAN (Radford 2015)"), case-insensitively."""
    all_presets = presets()
    wanted = name.strip().lower()
    for p in all_presets.values():
        if wanted in (p.key.lower(), p.title.lower()):
            return p
    raise ConfigError(f"unknown preset {name!r}; choose one of: " + ", ".join(
        f"{p.key} ({p.title})" for p in all_presets.values()))


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge a partial config dict into another (update wins)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def apply_preset(config: RunConfig, name: str) -> RunConfig:
    """The config with a preset merged over it, named as its preset."""
    preset = find_preset(name)
    merged = merge(config.to_dict(), preset.config)
    merged["preset"] = preset.key
    return RunConfig.from_dict(merged)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The partial config dict of a JSON file (a run's config.json, or a preset file)."""
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict) and "config" in data and "title" in data:
        data = data["config"]  # a preset file
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return data

