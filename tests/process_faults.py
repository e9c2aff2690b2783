"""Faults the trainer process injects into itself (the child cannot see a test's monkeypatches): each is a hook
"tests.process_faults:NAME" that TrainingSession(hook=...) makes the child call with its trainer."""
from __future__ import annotations

import errno
import os
import signal


def _at_step(trainer, step: int, action) -> None:
    real = trainer._train_step

    def train_step(kind):
        if trainer.step == step:
            action()
        return real(kind)

    trainer._train_step = train_step


def cuda_oom_at_step_3(trainer) -> None:
    import torch

    def oom():
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    _at_step(trainer, 2, oom)


def exception_at_step_3(trainer) -> None:
    def fail():
        raise ValueError("odd\n  value")

    _at_step(trainer, 2, fail)


def segfault_at_step_12(trainer) -> None:
    _at_step(trainer, 11, lambda: os.kill(os.getpid(), signal.SIGSEGV))


def full_disk_after_step_7(trainer) -> None:
    import ganstudio.core.io as gs_io

    real = gs_io.os.fsync

    def fsync(fd):
        if trainer.step > 7:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    gs_io.os.fsync = fsync


def deaf_to_stop(trainer) -> None:
    """A child that never answers Stop (a step that hangs)."""
    trainer.control.stop = lambda: None
