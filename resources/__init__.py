"""Files shipped with GAN Studio (bundled models, feature extractors, icons), installed as the package
`ganstudio.resources` and found with importlib.resources, so wheels and frozen builds find them too."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """The path of a shipped file, e.g. resource_path("models", "faces.safetensors")."""
    return Path(str(resources.files(__name__).joinpath(*parts)))
