"""What the dialog's worker runs: project the aligned face (then tune the generator when asked) and return plain
results. Qt-free; every step's report goes to a callback, which the dialog forwards to the GUI thread."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from torch import nn

from ganstudio.core.photo.loss import photo_loss
from ganstudio.core.photo.projection import (ProgressReport, ProjectionSettings, TuningSettings, picture_psnr,
                                             pivotal_tuning, project)
from ganstudio.gui.photo.projection_settings import PhotoSettings

PREVIEWS = 25  # live reconstructions per stage, at most


@dataclass
class PhotoProjection:
    """The latent found for a photo, its picture and, after pivotal tuning, the tuned generator (a copy)."""

    ws: np.ndarray  # float32 [1, num_ws, w_dim]
    space: str
    image: np.ndarray  # uint8 [R, R, C]: the latent drawn by the generator the explorer will use
    psnr: float
    loss_name: str
    steps: int
    seconds: float
    tuned: nn.Module | None = None  # on the CPU or the model's device; None without tuning
    untuned_psnr: float = 0.0


def run_projection(G: nn.Module, target: np.ndarray, settings: PhotoSettings,
                   report: Callable[[ProgressReport], None], cancelled: Callable[[], bool]) -> PhotoProjection:
    """Project `target` (uint8 [R, R, C], aligned) into G's W or W+, then tune a copy of G when settings.pti."""
    device = next(G.parameters()).device
    loss = photo_loss("auto", settings.vgg16, device)
    every = max(1, settings.steps // PREVIEWS)
    found = project(G, target, ProjectionSettings(space=settings.space, steps=settings.steps, preview_every=every),
                    loss, report, cancelled)
    quality = picture_psnr(found.image, target)
    ws = found.ws.detach().cpu().numpy().astype(np.float32)
    result = PhotoProjection(ws, settings.space, found.image, quality, found.loss_name, found.steps, found.seconds,
                             untuned_psnr=quality)
    if settings.pti:
        tuning = pivotal_tuning(G, found.ws, target,
                                TuningSettings(steps=settings.pti_steps, preview_every=max(1, settings.pti_steps //
                                                                                             PREVIEWS)),
                                loss, report, cancelled)
        result.tuned, result.image = tuning.G, tuning.image
        result.psnr = picture_psnr(tuning.image, target)
        result.seconds += tuning.seconds
    return result
