"""TensorBoard events beside metrics.jsonl (`ganstudio train --tensorboard`): where headless users look.

The run's losses, D's outputs, gradient norms, learning rates, speed, ADA's p and the penalties of every logged
step, each evaluation's numbers and every sample grid, written by torch.utils.tensorboard's SummaryWriter into
the run folder's TensorBoard folder (named by core.runs). The tensorboard package is an optional extra
(`pip install 'ganstudio[tensorboard]'`); without it a run that asks for events stops before its first step
with one sentence saying what to install.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ganstudio.core.errors import ConfigError
from ganstudio.core.training.reports import StepReport

TENSORBOARD_MISSING = ("TensorBoard logging needs the tensorboard package; install it with: pip install tensorboard "
                       "(or pip install 'ganstudio[tensorboard]')")
FLUSH_SECONDS = 10  # events reach the disk at least this often (TensorBoard's default is two minutes)
# StepReport fields and their TensorBoard tags; extras (penalties, ADA) go under their own names below
STEP_TAGS = {"loss_d": "loss/D", "loss_g": "loss/G", "d_real": "D_output/real", "d_fake": "D_output/fake",
             "grad_norm_d": "grad_norm/D", "grad_norm_g": "grad_norm/G", "lr_g": "learning_rate/G",
             "lr_d": "learning_rate/D", "images_per_sec": "speed/images_per_sec"}
EXTRA_TAGS = {"augment_p": "augment/p", "ada_rt": "augment/r_t"}


def tensorboard_available() -> bool:
    """Whether the tensorboard package (which torch.utils.tensorboard needs) is installed."""
    return importlib.util.find_spec("tensorboard") is not None


class TensorBoardLog:
    """Writes a run's steps, evaluations and sample grids as TensorBoard events into one folder."""

    def __init__(self, folder: str | Path, purge_step: int | None = None):
        if not tensorboard_available():
            raise ConfigError(TENSORBOARD_MISSING)
        from torch.utils.tensorboard import SummaryWriter

        # purge_step: a resumed run hides the events after its checkpoint, as metrics.jsonl drops them
        self._writer = SummaryWriter(str(folder), purge_step=purge_step, flush_secs=FLUSH_SECONDS)

    def step(self, report: StepReport) -> None:
        """The numbers of one training step."""
        for field, tag in STEP_TAGS.items():
            self._scalar(tag, getattr(report, field), report.step)
        for name, value in report.extras.items():
            self._scalar(EXTRA_TAGS.get(name, f"penalty/{name}"), value, report.step)

    def evaluation(self, record: dict, step: int) -> None:
        """The numbers of one evaluation record (FID, KID, precision, recall, modes ...)."""
        for name, value in record.items():
            if name not in ("step", "epoch", "n", "n_real", "seconds", "reference_seconds"):
                self._scalar(f"eval/{name}", value, step)

    def grid(self, image, step: int) -> None:
        """A sample grid as rendered into the run folder (a PIL image)."""
        pixels = np.asarray(image)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        self._writer.add_image("samples", pixels, step, dataformats="HWC")

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    def _scalar(self, tag: str, value, step: int) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            return  # not a number (a note, a histogram, a warning flag) or undefined this step
        self._writer.add_scalar(tag, float(value), step)
