"""What the training loop tells its caller after each step: plain floats and numpy arrays only."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

# A CycleGAN step's own terms in StepReport.extras (core.training.cycle), besides their sums loss_g and loss_d
CYCLE_METRICS = ("adv_g", "adv_f", "cycle", "identity", "loss_d_a", "loss_d_b")


@dataclass
class StepReport:
    """One training step: losses, D's outputs, gradient norms and speed."""

    step: int  # steps done so far (1 after the first)
    total_steps: int
    epoch: float  # epochs done, fractional
    loss_d: float | None
    loss_g: float | None
    d_real: float | None  # mean D(x): a probability for minimax/bce, else the raw score
    d_fake: float | None  # mean D(G(z))
    grad_norm_d: float | None
    grad_norm_g: float | None
    images_per_sec: float
    lr_g: float
    lr_d: float
    extras: dict[str, float] = field(default_factory=dict)  # penalties: gp, r1, feature_matching
    samples: np.ndarray | None = None  # fixed-noise samples when a grid was made this step
    grid_path: str | None = None
    checkpoint_path: str | None = None
    epoch_end: bool = False
    # An evaluation record when one was made this step (see ganstudio.core.metrics.evaluate): fid, kid,
    # precision, recall, modes_covered, mode_collapse_warning ... also appended to the run's evals.jsonl.
    evaluation: dict | None = None

    def log_record(self) -> dict:
        """The JSON object written to metrics.jsonl for this step."""
        record = {k: v for k, v in asdict(self).items() if k not in ("samples", "extras", "total_steps",
                                                                       "evaluation")}
        record.update(self.extras)
        return {k: v for k, v in record.items() if v is not None and v is not False}


@dataclass
class StopReport:
    """What a stopped run saved: the sample grid of its last step (if it had none yet) and its checkpoint."""

    step: int
    epoch: float
    samples: np.ndarray | None = None
    grid_path: str | None = None
    checkpoint_path: str | None = None
