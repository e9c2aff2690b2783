"""Thread-safe requests to a running training loop: pause, resume, stop, single steps, live settings."""
from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class LiveSettings:
    """Settings the user may change while training; None leaves a value as it is."""

    lr_g: float | None = None
    lr_d: float | None = None
    d_steps: int | None = None


class TrainingControl:
    """Shared between the caller (GUI thread, signal handler) and the loop; checked between steps."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._stop = False
        self._paused = False
        self._single: list[str] = []  # queued single steps: "both", "d" or "g"
        self._pending = LiveSettings()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def single_step(self, kind: str = "both") -> None:
        """While paused, run one step: both networks, D only ("d") or G only ("g")."""
        if kind not in ("both", "d", "g"):
            raise ValueError(f"unknown step kind {kind!r}")
        with self._cond:
            self._single.append(kind)
            self._cond.notify_all()

    def change(self, settings: LiveSettings) -> None:
        with self._cond:
            self._pending = LiveSettings(
                lr_g=settings.lr_g if settings.lr_g is not None else self._pending.lr_g,
                lr_d=settings.lr_d if settings.lr_d is not None else self._pending.lr_d,
                d_steps=settings.d_steps if settings.d_steps is not None else self._pending.d_steps,
            )

    @property
    def stopped(self) -> bool:
        return self._stop

    @property
    def paused(self) -> bool:
        return self._paused

    def take_changes(self) -> LiveSettings | None:
        """The settings changed since the last call, or None."""
        with self._cond:
            pending, self._pending = self._pending, LiveSettings()
        return None if pending == LiveSettings() else pending

    def wait_turn(self) -> str | None:
        """Block while paused; return the kind of the next step, or None when the run must stop."""
        with self._cond:
            while True:
                if self._stop:
                    return None
                if self._single:
                    return self._single.pop(0)
                if not self._paused:
                    return "both"
                self._cond.wait()
