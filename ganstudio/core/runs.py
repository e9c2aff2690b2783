"""A run is a folder: config.json, metrics.jsonl, evals.jsonl, samples/*.png, checkpoints/*.safetensors and, with
--tensorboard, tensorboard/ (TensorBoard's event files).

This module owns every name in a run folder: it writes them and parses them back; nothing else spells them.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganstudio.core.config import RunConfig
from ganstudio.core.io import atomic_write_text
from ganstudio.core.errors import ConfigError, GanStudioError, RunExistsError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
EVALS_FILE = "evals.jsonl"  # one record per evaluation (FID, modes ...)
SAMPLES_DIR = "samples"
CHECKPOINTS_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"  # TensorBoard's event files (core.training.tensorboard), beside metrics.jsonl
CHECKPOINT_RE = re.compile(r"^step-(\d+)\.safetensors$")
GRID_RE = re.compile(r"^(step|epoch)-(\d+)\.png$")
TEMP_RE = re.compile(r"^\..+\.tmp$")  # core.io.atomic_write's temporary files: ".step-0000300.safetensors.x1y2.tmp"


def checkpoint_name(step: int) -> str:
    """The file name of the checkpoint saved after `step` steps."""
    return f"step-{step:07d}.safetensors"


def checkpoint_step(path: str | Path) -> int | None:
    """The step a checkpoint file was saved at, from its name; None for another file."""
    match = CHECKPOINT_RE.match(Path(path).name)
    return int(match.group(1)) if match else None


def grid_name(step: int, epoch: int | None = None) -> str:
    """The file name of a sample grid: by the epoch it ended, or else by its step."""
    return f"epoch-{epoch:04d}.png" if epoch is not None else f"step-{step:07d}.png"


def grid_count(config: RunConfig) -> int:
    """Images in one of a run's sample grids: grid_size, or six rows of it for a CycleGAN (real A, G(A),
    F(G(A)), real B, F(B), G(F(B)); core.training.cycle.GRID_ROWS)."""
    return config.train.grid_size * (6 if config.model.arch == "cyclegan" else 1)


def parse_grid_name(name: str) -> tuple[str, int] | None:
    """("step", n) or ("epoch", n) from a grid's file name; None for another file."""
    match = GRID_RE.match(name)
    return (match.group(1), int(match.group(2))) if match else None


@dataclass
class GridEntry:
    """One fixed-noise sample grid: made at a step, stored as a PNG and/or held in memory."""

    step: int | None
    epoch: float | None
    path: str | None  # the PNG in the run folder
    image: np.ndarray | None = None  # uint8 [H, W] or [H, W, 3]; None for toy data (the scatter is in path)
    count: int = 0  # samples in the grid (0 when unknown: clicks do nothing)
    side: int = 0  # pixels per sample (0 for toy data)

    def label(self) -> str:
        """The grid in words: "step 1,200, epoch 2", or what is known of it."""
        parts = []
        if self.step is not None:
            parts.append(f"step {self.step:,}")
        if self.epoch is not None:
            parts.append(f"epoch {self.epoch:.2f}".rstrip("0").rstrip("."))
        return ", ".join(parts) or (self.path or "")


class RunFolder:
    """Paths and small file operations of one run's folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()

    config_path = property(lambda self: self.path / CONFIG_FILE)
    metrics_path = property(lambda self: self.path / METRICS_FILE)
    evals_path = property(lambda self: self.path / EVALS_FILE)
    samples_dir = property(lambda self: self.path / SAMPLES_DIR)
    checkpoints_dir = property(lambda self: self.path / CHECKPOINTS_DIR)
    tensorboard_dir = property(lambda self: self.path / TENSORBOARD_DIR)

    @staticmethod
    def is_run(path: str | Path) -> bool:
        """Whether a folder holds a run (its config.json)."""
        return (Path(path).expanduser() / CONFIG_FILE).is_file()

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> "RunFolder":
        """Make a new run folder; refuse to overwrite an existing run."""
        run = cls(path)
        if run.config_path.exists():
            raise RunExistsError(str(run.path))
        try:
            run.samples_dir.mkdir(parents=True, exist_ok=True)
            run.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GanStudioError(f"cannot create the run folder {run.path}: {exc.strerror or exc}") from None
        config.save(run.config_path)
        return run

    @classmethod
    def open(cls, path: str | Path) -> "RunFolder":
        """An existing run folder; ConfigError when it is not one."""
        run = cls(path)
        if not run.config_path.is_file():
            raise ConfigError(f"{run.path} is not a GAN Studio run (it has no config.json)")
        return run

    def config(self) -> RunConfig:
        """The run's configuration (config.json)."""
        return RunConfig.load(self.config_path)

    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first."""
        if not self.checkpoints_dir.is_dir():
            return []
        found = [(step, p) for p in self.checkpoints_dir.iterdir() if (step := checkpoint_step(p)) is not None]
        return [p for _, p in sorted(found)]

    def latest_checkpoint(self) -> Path | None:
        """The newest checkpoint file, or None."""
        cps = self.checkpoints()
        return cps[-1] if cps else None

    def checkpoint_path(self, step: int) -> Path:
        """Where the checkpoint of `step` goes."""
        return self.checkpoints_dir / checkpoint_name(step)

    def prune_checkpoints(self, keep: int) -> None:
        """Delete all but the newest `keep` checkpoints."""
        for old in self.checkpoints()[:-keep]:
            old.unlink(missing_ok=True)

    def leftover_temporary_files(self, older_than: float = 0.0) -> list[Path]:
        """Temporary files of writes a kill interrupted (as large as a checkpoint), untouched for `older_than`
        seconds."""
        now = time.time()
        found = []
        for folder in (self.path, self.checkpoints_dir, self.samples_dir):
            if not folder.is_dir():
                continue
            for p in folder.iterdir():
                try:
                    if TEMP_RE.match(p.name) and p.is_file() and now - p.stat().st_mtime >= older_than:
                        found.append(p)
                except OSError:
                    continue  # removed meanwhile
        return sorted(found)

    def remove_leftovers(self, older_than: float = 0.0) -> int:
        """Delete the temporary files interrupted writes left behind; returns how many went."""
        removed = 0
        for p in self.leftover_temporary_files(older_than):
            try:
                p.unlink()
                removed += 1
            except OSError:
                pass  # read-only folder or already gone: nothing to free
        return removed

    def read_metrics(self) -> list[dict]:
        """All logged steps; a line cut off by a crash is ignored."""
        return _read_jsonl(self.metrics_path)

    def truncate_metrics(self, step: int) -> None:
        """Drop records after `step`, so that a resumed run does not log those steps twice."""
        _truncate_jsonl(self.metrics_path, step)

    def read_evals(self) -> list[dict]:
        """All evaluation records (ganstudio.core.metrics), oldest first; a line cut off by a crash is ignored."""
        return _read_jsonl(self.evals_path)

    def truncate_evals(self, step: int) -> None:
        """Drop evaluations after `step`, so that a resumed run does not log them twice."""
        if self.evals_path.exists():
            _truncate_jsonl(self.evals_path, step)

    def sample_grids(self) -> list[Path]:
        """The PNG files in samples/, by name."""
        return sorted(self.samples_dir.glob("*.png")) if self.samples_dir.is_dir() else []

    def grid_path(self, step: int, epoch: int | None = None) -> Path:
        """Where the grid made at `step` goes (named by `epoch` when it ended one)."""
        return self.samples_dir / grid_name(step, epoch)

    def grid_entries(self, config: RunConfig, records: list[dict]) -> list[GridEntry]:
        """The run's saved grids in the order they were made, labelled with their step (an epoch grid's step
        comes from the epoch ends in `records`, the metrics log)."""
        epoch_steps = [int(r["step"]) for r in records if r.get("epoch_end")]
        count = 0 if config.model.toy else grid_count(config)
        side = 0 if config.model.toy else config.model.resolution
        entries = []
        for path in self.sample_grids():
            parsed = parse_grid_name(path.name)
            if parsed is None:
                continue
            kind, number = parsed
            if kind == "step":
                step, epoch = number, None
            else:
                step = epoch_steps[number - 1] if number <= len(epoch_steps) else None
                epoch = float(number)
            entries.append(GridEntry(step, epoch, str(path), None, count, side))
        entries.sort(key=lambda e: (e.step if e.step is not None else float("inf"), e.path))
        return entries


def _read_jsonl(path: Path) -> list[dict]:
    """The JSON objects of a log file, one per line; a line cut off by a crash is skipped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _truncate_jsonl(path: Path, step: int) -> None:
    """Rewrite a log file keeping only the records up to `step`."""
    kept = [r for r in _read_jsonl(path) if r.get("step", 0) <= step]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))
