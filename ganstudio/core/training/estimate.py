"""How long a run will take, measured from a few warm-up steps of the real model on stand-in data."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import torch

from ganstudio.core.config import RunConfig
from ganstudio.core.data import DatasetInfo, TrainingData, native_channels, native_resolution
from ganstudio.core.data import toy_distribution


@dataclass(frozen=True)
class TimeEstimate:
    """Seconds per generator step and what that means for an epoch and for the whole run."""

    seconds_per_step: float
    steps_per_epoch: float
    total_steps: int
    device: str

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds_per_step * self.steps_per_epoch

    @property
    def total_seconds(self) -> float:
        return self.seconds_per_step * self.total_steps


def stand_in_data(config: RunConfig, size: int, num_classes: int = 0) -> TrainingData:  # or a DomainPair
    """Random data shaped like the run's (only the shape matters for speed), small whatever `size` says."""
    d = config.data
    n = max(2, min(size, config.train.batch_size * config.train.d_steps * 2))
    if d.is_translation:  # two domains (CycleGAN): the same stand-in for both
        from ganstudio.core.data.domains import DomainPair

        one = stand_in_data(replace(config, data=replace(d, source_b=None, domains=None)), size, 0)
        return DomainPair(one, one, replace(one.info, size=2 * len(one), domain_sizes=(len(one), len(one))))
    if d.is_toy:
        points = torch.from_numpy(toy_distribution(d.source[4:], n, 0).points)
        info = DatasetInfo(d.source, 0, None, 0, (), n, is_toy=True, in_memory=True)
        return TrainingData(info, "cpu", points)
    channels = d.channels or native_channels(d.source)
    resolution = d.resolution or native_resolution(d.source)
    images = torch.randint(0, 256, (n, channels, resolution, resolution), dtype=torch.uint8)
    labels = torch.arange(n) % num_classes if num_classes else None
    info = DatasetInfo(d.source, channels, resolution, num_classes, tuple(map(str, range(num_classes))), n,
                       is_toy=False, in_memory=True)
    return TrainingData(info, "cpu", images, labels)


def estimate_time(config: RunConfig, dataset_size: int, num_classes: int = 0, warmup: int = 2, steps: int = 5,
                  should_stop: Callable[[], bool] = lambda: False) -> TimeEstimate | None:
    """Time `steps` training steps after `warmup` ones on stand-in data; None when stopped early."""
    from ganstudio.core.training.loop import Trainer

    t = config.train
    probe = (config.with_updates("train", steps=warmup + steps + 1, epochs=None, sample_every=0,
                                 checkpoint_every=0, grid_size=1, log_every=10**9))
    trainer = Trainer(probe, data=stand_in_data(config, dataset_size, num_classes))
    times = []
    for report in trainer:
        times.append(time.perf_counter())
        if should_stop():
            return None
        if report.step >= warmup + steps:  # the last step also draws the fixed-noise grid: not timed
            break
    per_step = (times[-1] - times[warmup - 1]) / steps if warmup else (times[-1] - times[0]) / (steps - 1)
    per_epoch = max(1, dataset_size // t.batch_size) / t.d_steps
    total = t.steps if t.steps is not None else max(1, math.ceil((t.epochs or 1.0) * per_epoch))
    return TimeEstimate(per_step, per_epoch, total, trainer.device_name)
