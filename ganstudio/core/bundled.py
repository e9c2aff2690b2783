"""The pretrained models shipped with GAN Studio, listed in `resources/models/models.json`: a slim generator file
(`ganstudio export`), an optional named direction set for its sliders and a model card for each."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ganstudio.core.errors import GanStudioError

MANIFEST = "models.json"
DEFAULT_MODEL = "faces"  # what the app opens on first launch


@dataclass(frozen=True)
class BundledModel:
    key: str  # "faces", "digits"
    title: str  # for buttons and menus
    description: str  # one sentence, for tooltips
    file: Path  # the generator (.safetensors)
    directions: Path | None  # a named direction set (.json) for the sliders, if any
    card: Path | None  # the model card (.md)
    preset: str  # the preset that trains it again
    start_seed: int = 0  # what the explorer shows first
    start_psi: float = 1.0

    @property
    def available(self) -> bool:
        return self.file.is_file()


def models_folder() -> Path:
    from ganstudio.resources import resource_path

    return resource_path("models")


def bundled_models(folder: Path | None = None) -> list[BundledModel]:
    """The models the manifest lists whose generator file is present, in the manifest's order."""
    folder = folder or models_folder()
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return []
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["models"]
        models = [BundledModel(e["key"], e["title"], e.get("description", ""), folder / e["file"],
                               folder / e["directions"] if e.get("directions") else None,
                               folder / e["card"] if e.get("card") else None, e.get("preset", ""),
                               int(e.get("start", {}).get("seed", 0)), float(e.get("start", {}).get("psi", 1.0)))
                  for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GanStudioError(f"the list of bundled models ({manifest}) is damaged: {exc}") from None
    return [m for m in models if m.available]


def bundled_model(key: str, folder: Path | None = None) -> BundledModel:
    """One bundled model by key; a clear error names the ones there are."""
    models = bundled_models(folder)
    for m in models:
        if m.key == key:
            return m
    known = ", ".join(m.key for m in models) or "none in this installation"
    raise GanStudioError(f"there is no bundled model {key!r} (bundled: {known})")


BUNDLED_PREFIX = "bundled:"


def resolve_model_path(spec: str | Path) -> Path:
    """A checkpoint path as the command line takes it: a path, or "bundled:KEY" for a shipped model."""
    text = str(spec)
    if text.startswith(BUNDLED_PREFIX):
        return bundled_model(text[len(BUNDLED_PREFIX):]).file
    return Path(text)
