"""The public pretrained StyleGAN releases GAN Studio can download (`pretrained_models.json` beside this module), the
models folder they go to, and `fetch`: download, check, import safely (no code from the file runs), model card.

The models folder is $GANSTUDIO_MODELS_DIR, else `models` in the platform's data folder (Linux
~/.local/share/GANStudio/models, macOS ~/Library/Application Support/GANStudio/models, Windows
%LOCALAPPDATA%\\GANStudio\\models). NVIDIA publishes no checksums, so the size and SHA-256 of the first complete
download are recorded in `checksums.json` there and every later download of the same model is checked against them.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import platformdirs

from ganstudio.core.download import Downloaded, Progress, download, part_path
from ganstudio.core.errors import CheckpointError, GanStudioError
from ganstudio.core.io import atomic_write_text

log = logging.getLogger(__name__)

APP_NAME = "GANStudio"  # the same folder name as the logs (ganstudio.logs)
MODELS_ENV = "GANSTUDIO_MODELS_DIR"
CATALOGUE = "pretrained_models.json"
CHECKSUMS = "checksums.json"
BY_HAND = "download {url} by hand and open it with File > Open checkpoint (or --checkpoint FILE)"


@dataclass(frozen=True)
class Licence:
    """The terms a release is published under."""

    name: str
    url: str
    summary: str  # "non-commercial use only (research or evaluation)"

    def text(self) -> str:
        """The licence in one line: name, terms, where to read it."""
        return f"{self.name}: {self.summary} ({self.url})"


@dataclass(frozen=True)
class PretrainedModel:
    """One downloadable release: where it is published and what it is."""

    key: str  # "stylegan3-t-ffhq-1024": the name `ganstudio models get` takes, and the local file's stem
    title: str
    family: str  # "StyleGAN2-ADA", "StyleGAN3-T", ...
    dataset: str
    resolution: int
    url: str
    licence: Licence
    description: str = ""
    classes: int = 0
    size: int | None = None  # bytes, when published
    sha256: str | None = None  # when published

    @property
    def filename(self) -> str:
        """The local file's name (NVIDIA's names repeat across releases: ffhq.pkl)."""
        return f"{self.key}.pkl"

    def path(self, folder: Path | None = None) -> Path:
        """Where this model is (or would be) downloaded."""
        return (folder or models_dir()) / self.filename


def models_dir(override: str | Path | None = None) -> Path:
    """The folder downloaded models go to: `override`, else $GANSTUDIO_MODELS_DIR, else the platform's data
    folder's `models`."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(MODELS_ENV):
        return Path(os.environ[MODELS_ENV]).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "models"


def catalogue_file() -> Path:
    """The shipped list of releases."""
    from importlib import resources

    return Path(str(resources.files("ganstudio.core").joinpath(CATALOGUE)))


def catalogue(path: Path | None = None) -> list[PretrainedModel]:
    """Every release the catalogue lists, in its order."""
    path = path or catalogue_file()
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        licences = {key: Licence(v["name"], v["url"], v["summary"]) for key, v in doc["licences"].items()}
        return [PretrainedModel(m["key"], m["title"], m["family"], m["dataset"], int(m["resolution"]), m["url"],
                                licences[m["licence"]], m.get("description", ""), int(m.get("classes", 0)),
                                m.get("size"), m.get("sha256")) for m in doc["models"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GanStudioError(f"the list of pretrained models ({path}) is damaged: {exc}") from None


def find_model(key: str, models: list[PretrainedModel] | None = None) -> PretrainedModel:
    """A release by its key; a clear error names a few there are."""
    models = catalogue() if models is None else models
    for m in models:
        if m.key == key:
            return m
    close = [m.key for m in models if key.lower() in m.key]
    known = ", ".join(close or [m.key for m in models][:6])
    raise GanStudioError(f"there is no pretrained model {key!r} (for example: {known}; `ganstudio models list` "
                         "shows them all)")


def recorded(folder: Path) -> dict[str, dict[str, Any]]:
    """The sizes and SHA-256s recorded at first downloads, by file name (empty when none or unreadable)."""
    try:
        data = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def expected(model: PretrainedModel, folder: Path) -> tuple[int | None, str | None]:
    """The size and SHA-256 a download must have: published ones, else those recorded at the first download."""
    rec = recorded(folder).get(model.filename, {})
    return model.size or rec.get("size"), model.sha256 or rec.get("sha256")


def _record(model: PretrainedModel, folder: Path, got: Downloaded) -> None:
    data = recorded(folder)
    data[model.filename] = {"size": got.size, "sha256": got.sha256, "url": model.url}
    try:
        atomic_write_text(folder / CHECKSUMS, json.dumps(data, indent=1, sort_keys=True) + "\n")
    except GanStudioError as exc:  # the model is there; only the later check is lost
        log.warning("could not record the checksum of %s: %s", model.filename, exc)


@dataclass(frozen=True)
class Status:
    """Whether a release is on this computer: downloaded, partly downloaded (bytes so far) or not."""

    downloaded: bool
    partial: int = 0
    size: int | None = None  # the known size (published, recorded or of the file there)

    def text(self) -> str:
        """'downloaded', 'partly (12.3 MB)' or 'not downloaded'."""
        from ganstudio.core.errors import size_text

        if self.downloaded:
            return "downloaded"
        return f"partly ({size_text(self.partial)})" if self.partial else "not downloaded"


def status(model: PretrainedModel, folder: Path | None = None) -> Status:
    """Whether `model` is downloaded into `folder` (the models folder by default)."""
    folder = folder or models_dir()
    size, _ = expected(model, folder)
    path = model.path(folder)
    if path.is_file():
        return Status(True, 0, size or path.stat().st_size)
    part = part_path(path)
    return Status(False, part.stat().st_size if part.is_file() else 0, size)


@dataclass(frozen=True)
class Fetched:
    """A downloaded and imported release: its file and the model card the safe importer made."""

    model: PretrainedModel
    path: Path
    card: dict[str, Any]
    downloaded: bool  # False when the file was there already

    def summary(self) -> str:
        """The model card in one line."""
        from ganstudio.core.imported import card_summary

        return card_summary(self.card)


def fetch(model: PretrainedModel, folder: Path | None = None, progress: Progress | None = None,
          cancelled: Callable[[], bool] | None = None, by_hand: str = BY_HAND) -> Fetched:
    """Download `model` into `folder` unless it is there (resuming a partial download), check its size and SHA-256,
    import it with the safe importer and return its model card; a file that is not the network it should be is
    removed. `by_hand` ({url} filled in) ends the sentence of a network failure: what to do instead."""
    from ganstudio.core.imported import import_checkpoint, sha256_of

    folder = models_dir(folder)
    path = model.path(folder)
    got = None
    size, sha = expected(model, folder)
    if not path.is_file():
        got = download(model.url, path, size=size, sha256=sha, progress=progress, cancelled=cancelled,
                       by_hand=by_hand.format(url=model.url))
    if got is None and sha:  # a download is checked as it arrives; a file found there is checked here
        found = sha256_of(path)
        if found != sha.lower():
            raise CheckpointError(f"{path.name} in {folder} is not the file that was downloaded (SHA-256 "
                                  f"{found[:12]}…, expected {sha[:12]}…); delete it and get it again")
    try:
        ckpt = import_checkpoint(path)  # reads the pickle as data only; refuses anything else
    except CheckpointError as exc:
        if got is not None:
            path.unlink(missing_ok=True)
            raise CheckpointError(f"the file downloaded from {model.url} is not the network it should be, so it "
                                  f"was removed ({exc})") from None
        raise
    card = ckpt.extra["imported"]["card"]
    if got is not None and not (model.sha256 and model.size):
        _record(model, folder, got)
    card["licence"] = model.licence.text()
    return Fetched(model, path, card, got is not None)
