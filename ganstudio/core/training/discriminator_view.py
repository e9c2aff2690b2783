"""How the training step shows images to its discriminator(s): the one door every image D sees goes through.

A DiscriminatorView augments the batches (DiffAugment or ADA, core.training.augment; instance noise), runs every
discriminator on them under the step's autocast, and returns one `Sight` per batch with one output per
discriminator. The losses (`core.losses.Objective`) compute their terms from those lists, so the loop never
needs to know how many discriminators there are or what happens to the images on the way.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ContextManager, Protocol, Sequence

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from ganstudio.core.config import LossConfig


class Augment(Protocol):
    """Changes the batches D sees, all of them at once (so that random draws keep one order)."""

    def __call__(self, batches: list[Tensor]) -> list[Tensor]: ...

    def set_training_progress(self, step: int, total_steps: int) -> None: ...


class InstanceNoise:
    """Gaussian noise on every image D sees, its std annealed linearly from `std` to 0 over the run."""

    def __init__(self, std: float):
        self.std = std
        self.current = std  # the std for the step in progress

    def set_training_progress(self, step: int, total_steps: int) -> None:
        """Anneal: std * (1 - step / total_steps), never below 0."""
        self.current = self.std * max(0.0, 1.0 - step / total_steps)

    def __call__(self, batches: list[Tensor]) -> list[Tensor]:
        if not self.current:
            return batches
        return [x + self.current * torch.randn_like(x) for x in batches]


class Augmentations:
    """Several augmentations in turn (DiffAugment or ADA, then instance noise); reads as the first one."""

    def __init__(self, parts: list[Augment]):
        self.parts = parts

    def __getattr__(self, name: str):
        if name.startswith("__") or name == "parts":  # copying and pickling look these up before parts exists
            raise AttributeError(name)
        return getattr(self.parts[0], name)  # ADA's p, observe, adjust ...

    def set_training_progress(self, step: int, total_steps: int) -> None:
        """Tell every part the run's progress."""
        for part in self.parts:
            part.set_training_progress(step, total_steps)

    def __call__(self, batches: list[Tensor]) -> list[Tensor]:
        for part in self.parts:
            batches = part(batches)
        return batches


def augmentation(config: "LossConfig", batch_images: int = 64) -> Augment | None:
    """The augmentation a run's D sees its images through (DiffAugment or ADA, and instance noise), or None;
    batch_images is the real images of one D step over all processes (ADA's pace)."""
    from ganstudio.core.training.augment import ADA_MAX_SPEED_IMAGES, AdaptiveAugment, DiffAugment

    parts: list[Augment] = []
    if config.augment == "diffaug":
        parts.append(DiffAugment())
    elif config.augment == "ada":
        speed = config.ada_speed_images or ADA_MAX_SPEED_IMAGES  # a Trainer has fitted it to the run already
        parts.append(AdaptiveAugment(config.ada_target, config.ada_interval, speed, batch_images))
    if config.instance_noise:
        parts.append(InstanceNoise(config.instance_noise))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Augmentations(parts)


@dataclass
class Sight:
    """What the discriminators made of one batch."""

    images: Tensor  # the batch as D saw it (after augmentation)
    outputs: list[Tensor]  # D's raw output, one per discriminator
    features: list[Tensor] | None = None  # D's penultimate features, one per discriminator, when asked for


class DiscriminatorView:
    """The discriminators of a run as the training step sees them: augmentation, autocast, one output per D."""

    def __init__(self, discriminators: Sequence[nn.Module], amp: Callable[[], ContextManager] = contextlib.nullcontext,
                 augment: Augment | None = None):
        self.discriminators = list(discriminators)
        self.amp = amp
        self.augment = augment

    def set_training_progress(self, step: int, total_steps: int) -> None:
        """Pass the run's progress to an augmentation that changes over the run (instance noise anneals)."""
        if self.augment is not None:
            self.augment.set_training_progress(step, total_steps)

    def see(self, batches: Sequence[Tensor], labels: Tensor | None, *, features: Sequence[bool] = (),
            differentiable: Sequence[bool] = ()) -> list[Sight]:
        """Augment the batches, then run every discriminator on each; `features[i]` also returns D's features
        for batch i, `differentiable[i]` makes batch i as seen require grad (for R1)."""
        seen = self.augment(list(batches)) if self.augment is not None else list(batches)
        for x, grad in zip(seen, differentiable):
            if grad:
                x.requires_grad_(True)
        wants = list(features) + [False] * (len(seen) - len(features))
        sights = []
        with self.amp():
            for x, want in zip(seen, wants):
                if want:
                    pairs = [D(x, labels, return_features=True) for D in self.discriminators]
                    sights.append(Sight(x, [o for o, _ in pairs], [f for _, f in pairs]))
                else:
                    sights.append(Sight(x, [D(x, labels) for D in self.discriminators]))
        return sights

    def judge_seen(self, images: Tensor, labels: Tensor | None) -> list[Tensor]:
        """Every D's output on images already seen (not augmented again), in full precision: for penalties."""
        return [D(images, labels) for D in self.discriminators]
