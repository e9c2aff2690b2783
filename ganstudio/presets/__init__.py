"""Starting points from the GAN literature, shipped as JSON files in ganstudio/presets/.

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
    preset = find_preset(name)
    merged = merge(config.to_dict(), preset.config)
    merged["preset"] = preset.key
    return RunConfig.from_dict(merged)


def data_defaults(source: str) -> dict[str, Any]:
    """Partial config that suits a data source before any preset or flag: toy 2D data wants a small MLP
    with a 2D latent (as in GAN Lab), large batches and a short EMA, which learn the ring in ~3000 steps."""
    if source.startswith("toy:"):
        return {"model": {"arch": "mlp", "z_dim": 2},
                "train": {"batch_size": 256, "lr_g": 5e-4, "lr_d": 5e-4, "ema_decay": 0.99, "grid_size": 512}}
    return {}


def model_defaults(arch: str, resolution: int | None = None) -> dict[str, Any]:
    """Partial config that suits an architecture chosen with --model before any preset or flag.

    StyleGAN trains with the recipe of Karras et al. 2020: the non-saturating logistic loss with lazy R1
    (gamma grows with the image area: 0.0625 at 32 px, 0.25 at 64, 1 at 128), Adam at 0.002 with betas
    (0, 0.99), z and w of 512 and a full-width network (capacity 64)."""
    if arch != "stylegan":
        return {}
    side = resolution or 64
    return {"model": {"z_dim": 512, "w_dim": 512, "capacity": 64},
            "loss": {"name": "bce", "r1_weight": side * side / 16384, "r1_interval": 16},
            "train": {"lr_g": 0.002, "lr_d": 0.002, "betas_g": [0.0, 0.99], "betas_d": [0.0, 0.99],
                      "batch_size": 32}}


def load_config_file(path: str | Path, base: RunConfig | None = None) -> RunConfig:
    """A full or partial config JSON file (a run's config.json, or a preset file) over `base`."""
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
    return RunConfig.from_dict(merge((base or RunConfig()).to_dict(), data))
