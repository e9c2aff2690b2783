"""A run is a folder: config.json, metrics.jsonl, samples/*.png and checkpoints/*.safetensors."""
from __future__ import annotations

import json
import re
from pathlib import Path

from ganstudio.core.config import RunConfig
from ganstudio.core.io import atomic_write_text
from ganstudio.core.errors import ConfigError, GanStudioError

CHECKPOINT_RE = re.compile(r"^step-(\d+)\.safetensors$")


class RunFolder:
    """Paths and small file operations of one run's folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()

    config_path = property(lambda self: self.path / "config.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    evals_path = property(lambda self: self.path / "evals.jsonl")  # one record per evaluation (FID, modes ...)
    samples_dir = property(lambda self: self.path / "samples")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> "RunFolder":
        """Make a new run folder; refuse to overwrite an existing run."""
        run = cls(path)
        if run.config_path.exists():
            raise ConfigError(f"{run.path} already holds a run; resume it with --resume or choose another --out")
        try:
            run.samples_dir.mkdir(parents=True, exist_ok=True)
            run.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GanStudioError(f"cannot create the run folder {run.path}: {exc.strerror or exc}") from None
        config.save(run.config_path)
        return run

    @classmethod
    def open(cls, path: str | Path) -> "RunFolder":
        run = cls(path)
        if not run.config_path.is_file():
            raise ConfigError(f"{run.path} is not a GAN Studio run (it has no config.json)")
        return run

    def config(self) -> RunConfig:
        return RunConfig.load(self.config_path)

    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first."""
        if not self.checkpoints_dir.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.checkpoints_dir.iterdir() if (m := CHECKPOINT_RE.match(p.name))]
        return [p for _, p in sorted(found)]

    def latest_checkpoint(self) -> Path | None:
        cps = self.checkpoints()
        return cps[-1] if cps else None

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"step-{step:07d}.safetensors"

    def prune_checkpoints(self, keep: int) -> None:
        for old in self.checkpoints()[:-keep]:
            old.unlink(missing_ok=True)

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
        return sorted(self.samples_dir.glob("*.png")) if self.samples_dir.is_dir() else []


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
