"""What the user sets up for a drag in the explorer, without Qt: handle/target pairs placed by clicks, and the
painted region that may change (a mask). Coordinates are (x, y) output pixels, as in core/latent/drag.py.

A click places a handle, the next click its target, and so on; right-clicking near a point removes its pair.
The brush paints (or erases) discs into the mask. During a drag the handles follow the tracked positions."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ganstudio.core.latent.drag import DragStep

Point = tuple[float, float]


def pixel_at(x: float, y: float, width: int, height: int) -> tuple[int, int] | None:
    """The output pixel under a position in image coordinates (pixel i covers [i, i + 1)); None outside it."""
    if not (0 <= x < width and 0 <= y < height):
        return None
    return int(math.floor(x)), int(math.floor(y))


@dataclass
class DragStatus:
    """A step of a drag for the status line."""

    step: int
    farthest: float  # pixels between the farthest handle and its target
    ms: float = 0.0

    def describe(self, done_reason: str = "") -> str:
        """One line: the step, the remaining distance, the speed (and why it ended)."""
        text = f"step {self.step} · farthest handle {self.farthest:.1f} px from its target"
        if self.ms:
            text += f" · {self.ms:.0f} ms/step"
        if done_reason == "reached":
            text += " · every handle arrived"
        elif done_reason == "step limit":
            text += " · stopped at the step limit (Start again to go on)"
        elif done_reason:
            text += f" · {done_reason}"
        return text


class DragPlan:
    """Handle/target pairs and the painted mask of a drag on a `width` x `height` image."""

    def __init__(self, width: int, height: int):
        self.width, self.height = int(width), int(height)
        self.handles: list[Point] = []
        self.targets: list[Point] = []
        self.mask = np.zeros((self.height, self.width), dtype=bool)

    # -- points --------------------------------------------------------------------------------------

    @property
    def waiting_for_target(self) -> bool:
        """The last handle has no target yet."""
        return len(self.handles) > len(self.targets)

    def pairs(self) -> tuple[list[Point], list[Point]]:
        """The complete pairs: (handles, targets)."""
        n = len(self.targets)
        return list(self.handles[:n]), list(self.targets)

    @property
    def ready(self) -> bool:
        """At least one handle with its target."""
        return bool(self.targets)

    def click(self, x: float, y: float) -> str:
        """Place a handle, or the target of the last handle; returns "handle" or "target"."""
        point = (float(x), float(y))
        if self.waiting_for_target:
            self.targets.append(point)
            return "target"
        self.handles.append(point)
        return "handle"

    def remove_near(self, x: float, y: float, radius: float = 3.0) -> bool:
        """Remove the pair whose handle or target is nearest (x, y), within `radius` pixels; else the last point
        placed. False when there was nothing to remove."""
        best, best_d = None, radius
        for i, point in enumerate(self.handles + self.targets):
            d = math.hypot(point[0] - x, point[1] - y)
            if d <= best_d:
                best, best_d = i if i < len(self.handles) else i - len(self.handles), d
        if best is None:
            if not self.handles:
                return False
            if self.waiting_for_target:
                self.handles.pop()
            else:
                self.targets.pop()
            return True
        del self.handles[best]
        if best < len(self.targets):
            del self.targets[best]
        return True

    def clear_points(self) -> None:
        self.handles, self.targets = [], []

    def follow(self, step: DragStep) -> None:
        """Move the handles of the complete pairs to where a drag step tracked them."""
        for i, (x, y) in enumerate(np.asarray(step.handles, dtype=float).tolist()):
            if i < len(self.handles):
                self.handles[i] = (x, y)

    def farthest(self) -> float:
        """Pixels between the farthest handle of a complete pair and its target (0 without pairs)."""
        handles, targets = self.pairs()
        return max((math.hypot(t[0] - h[0], t[1] - h[1]) for h, t in zip(handles, targets)), default=0.0)

    # -- the mask ------------------------------------------------------------------------------------

    def paint(self, x: float, y: float, radius: float, erase: bool = False, since: Point | None = None) -> None:
        """Paint (or erase) a disc of `radius` pixels at (x, y), and along the line from `since` when given (a
        stroke)."""
        yy, xx = np.mgrid[0:self.height, 0:self.width]
        cx, cy = xx + 0.5, yy + 0.5  # pixel centres in image coordinates
        if since is None:
            inside = (cx - x) ** 2 + (cy - y) ** 2 <= radius ** 2
        else:  # the distance of each pixel to the segment since -> (x, y)
            ax, ay = since
            dx, dy = x - ax, y - ay
            length = dx * dx + dy * dy
            t = np.clip(((cx - ax) * dx + (cy - ay) * dy) / length, 0, 1) if length else 0.0
            inside = (cx - ax - t * dx) ** 2 + (cy - ay - t * dy) ** 2 <= radius ** 2
        self.mask[inside] = not erase

    def clear_mask(self) -> None:
        self.mask[:] = False

    @property
    def has_mask(self) -> bool:
        return bool(self.mask.any())

    def drag_mask(self) -> np.ndarray | None:
        """The mask for DragSession: 1 where the image may change; None when nothing is painted."""
        return self.mask.astype(np.float32) if self.has_mask else None
