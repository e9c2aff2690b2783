"""Differentiable augmentation of every image D sees, for training on small data sets.

- `DiffAugment` (Zhao et al. 2020): colour (brightness, saturation, contrast), translation by up to 1/8 of the
  image with zero padding, and cutout of a square half the image's size, each drawn per image on every call.
- `AdaptiveAugment` (ADA, Karras et al. 2020): x-flip, 90° rotations, integer translation, isotropic scaling,
  arbitrary rotation, anisotropic scaling (one affine grid, reflection padding), then brightness, contrast, hue
  and saturation (one colour matrix), each applied to an image with probability p. p follows the overfitting
  heuristic r_t = E[sign(D(x_real))]: every `interval` D steps it moves by sign(r_t - target) times the images
  seen since, over `speed_images` (p can go from 0 to 1 in that many images; by default `fitted_ada_speed` of the
  run's length, since StyleGAN2-ADA's 500k images would leave p near 0 in a run of a few thousand steps). Unlike
  the reference it samples the grid bilinearly without the 2x-upsampled anti-aliasing filter (enough for
  28-128 px; the leaks ADA guards against come from p near 1, which the heuristic avoids).

Both work on image batches [B, C, H, W] of any channel count (hue and saturation need 3 channels), draw from the
default torch generator of the batch's device (checkpointed with the run, so a resumed run draws the same), and
stay differentiable, so G's gradients pass through them in the G step.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _per_image(x: Tensor, *shape: int) -> Tensor:
    """Uniform [0, 1) draws, one per image of x, broadcastable against it."""
    return torch.rand(x.shape[0], *shape, device=x.device, dtype=x.dtype)


def translate(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by whole pixels, up to ratio of its size each way, filling with zeros."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (b, 1, 1), device=x.device)
    ys = (torch.arange(h, device=x.device).view(1, h, 1) + dy + sy).expand(b, h, w)
    xs = (torch.arange(w, device=x.device).view(1, 1, w) + dx + sx).expand(b, h, w)
    padded = F.pad(x, [sx, sx, sy, sy])  # zeros around, so that a shifted-in border is empty
    batch = torch.arange(b, device=x.device).view(b, 1, 1).expand(b, h, w)
    return padded.permute(0, 2, 3, 1)[batch, ys, xs].permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a square of ratio times the image's size at a random place in each image (it may overhang the edge)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h, (b, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w, (b, 1, 1), device=x.device) - cw // 2
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: Tensor) -> Tensor:
    """DiffAugment's colour, translation and cutout policy on one batch."""
    x = x + (_per_image(x, 1, 1, 1) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_per_image(x, 1, 1, 1) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * (_per_image(x, 1, 1, 1) + 0.5) + mean  # contrast
    return cutout(translate(x, 0.125), 0.5)


class DiffAugment:
    """DiffAugment (Zhao et al. 2020) on every batch D sees, each batch with its own draws."""

    p = 1.0  # always on; read by the report like ADA's p

    def set_training_progress(self, step: int, total_steps: int) -> None:
        """DiffAugment does not change over the run."""

    def __call__(self, batches: list[Tensor]) -> list[Tensor]:
        return [diff_augment(x) if x.dim() == 4 else x for x in batches]


# -- ADA ----------------------------------------------------------------------------------------------------------


def _eye(b: int, n: int, like: Tensor) -> Tensor:
    return torch.eye(n, device=like.device, dtype=torch.float32).expand(b, n, n).clone()


def _chosen(p: float, b: int, like: Tensor) -> Tensor:
    """Which images of the batch get a transform: each with probability p, as a float mask [B]."""
    return (torch.rand(b, device=like.device) < p).float()


def _geometry(x: Tensor, p: float) -> Tensor:
    """One 3x3 affine matrix per image (output -> input coordinates in [-1, 1]) for ADA's geometric transforms."""
    b, _, h, w = x.shape
    m = _eye(b, 3, x)

    def then(a: Tensor) -> None:
        m.copy_(m @ a)

    # x-flip: half of the chosen images are mirrored
    flip = 1 - 2 * torch.floor(torch.rand(b, device=x.device) * 2) * _chosen(p, b, x)
    a = _eye(b, 3, x)
    a[:, 0, 0] = flip
    then(a)
    # 90° rotations
    k = torch.floor(torch.rand(b, device=x.device) * 4) * _chosen(p, b, x)
    then(_rotation(k * (math.pi / 2), x))
    # integer translation, up to 1/8 of the size, in whole pixels (2 / size per pixel with align_corners=False)
    on = _chosen(p, b, x)
    t = (torch.rand(b, 2, device=x.device) * 2 - 1) * 0.125
    a = _eye(b, 3, x)
    a[:, 0, 2] = torch.round(t[:, 0] * w) * 2 / w * on
    a[:, 1, 2] = torch.round(t[:, 1] * h) * 2 / h * on
    then(a)
    # isotropic scaling, lognormal (std 0.2 in log2)
    s = torch.exp2(torch.randn(b, device=x.device) * 0.2 * _chosen(p, b, x))
    a = _eye(b, 3, x)
    a[:, 0, 0], a[:, 1, 1] = s, s
    then(a)
    # arbitrary rotation
    then(_rotation((torch.rand(b, device=x.device) * 2 - 1) * math.pi * _chosen(p, b, x), x))
    # anisotropic scaling
    s = torch.exp2(torch.randn(b, device=x.device) * 0.2 * _chosen(p, b, x))
    a = _eye(b, 3, x)
    a[:, 0, 0], a[:, 1, 1] = s, 1 / s
    then(a)
    return m


def _rotation(angle: Tensor, like: Tensor) -> Tensor:
    b = angle.shape[0]
    a = _eye(b, 3, like)
    c, s = torch.cos(angle), torch.sin(angle)
    a[:, 0, 0], a[:, 0, 1], a[:, 1, 0], a[:, 1, 1] = c, -s, s, c
    return a


def _colour(x: Tensor, p: float) -> tuple[Tensor, Tensor]:
    """One colour matrix [B, C, C] and offset [B, C] per image for ADA's brightness, contrast, hue, saturation."""
    b, c = x.shape[:2]
    m = _eye(b, c, x)
    offset = torch.randn(b, device=x.device) * 0.2 * _chosen(p, b, x)  # brightness
    contrast = torch.exp2(torch.randn(b, device=x.device) * 0.5 * _chosen(p, b, x))
    m = m * contrast.view(b, 1, 1)
    offset = offset * contrast  # brightness first, then contrast scales it
    offset = offset.view(b, 1).expand(b, c).clone()
    if c == 3:
        v = torch.full((3, 1), 3 ** -0.5, device=x.device)  # the luma axis
        vv = (v @ v.T).expand(b, 3, 3)
        angle = (torch.rand(b, device=x.device) * 2 - 1) * math.pi * _chosen(p, b, x)  # hue: rotate about luma
        cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], device=x.device) * 3 ** -0.5
        cos, sin = torch.cos(angle).view(b, 1, 1), torch.sin(angle).view(b, 1, 1)
        hue = cos * torch.eye(3, device=x.device) + sin * cross + (1 - cos) * vv
        sat = torch.exp2(torch.randn(b, device=x.device) * 1.0 * _chosen(p, b, x)).view(b, 1, 1)
        saturation = vv + sat * (torch.eye(3, device=x.device) - vv)
        colour = saturation @ hue
        m = colour @ m
        offset = (colour @ offset.unsqueeze(2)).squeeze(2)
    return m, offset


def ada_augment(x: Tensor, p: float) -> Tensor:
    """ADA's geometric and colour transforms, each applied to an image with probability p."""
    if p <= 0 or x.dim() != 4:
        return x
    b, c, h, w = x.shape
    theta = _geometry(x, p)[:, :2, :].to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    m, offset = _colour(x, p)
    x = torch.einsum("bij,bjhw->bihw", m.to(x.dtype), x) + offset.to(x.dtype).view(b, c, 1, 1)
    return x


ADA_MAX_SPEED_IMAGES = 500_000  # StyleGAN2-ADA's pace, made for runs of millions of images


def fitted_ada_speed(planned_images: int, adjustment_images: int) -> int:
    """ADA's default pace for a run that shows D `planned_images` real images, `adjustment_images` between
    adjustments of p."""
    # p can cross 0..1 within a tenth of the run (it reacts within the run's first overfitting), never slower than
    # StyleGAN2-ADA's 500k images, and in at least 10 adjustments, so that one adjustment never jumps far
    return int(min(ADA_MAX_SPEED_IMAGES, max(planned_images // 10, 10 * adjustment_images)))


class AdaptiveAugment:
    """ADA: the augmentation pipeline at probability p, with p adapted from D's outputs on real images."""

    def __init__(self, target: float = 0.6, interval: int = 4, speed_images: int = ADA_MAX_SPEED_IMAGES,
                 batch_images: int = 64, p: float = 0.0):
        self.target = target
        self.interval = interval  # D steps between adjustments
        self.speed_images = speed_images  # images for p to go from 0 to 1
        self.batch_images = batch_images  # real images per D step over all processes
        self.p = p
        self.r_t = None  # the heuristic at the last adjustment
        self._sign_sum = 0.0
        self._count = 0.0
        self._steps = 0

    def set_training_progress(self, step: int, total_steps: int) -> None:
        """ADA follows D, not the schedule."""

    def __call__(self, batches: list[Tensor]) -> list[Tensor]:
        return [ada_augment(x, self.p) for x in batches]

    def observe(self, real_outputs: list[Tensor]) -> bool:
        """Accumulate sign(D(x_real)) of one D step (every discriminator's); True when an adjustment is due."""
        with torch.no_grad():
            signs = torch.cat([torch.sign(o.detach().float()).flatten() for o in real_outputs])
            self._sign_sum += signs.sum().item()
            self._count += signs.numel()
        self._steps += 1
        return self._steps >= self.interval

    def take_stats(self) -> tuple[float, float]:
        """The accumulated sum of signs and their count since the last adjustment, and start afresh."""
        stats = (self._sign_sum, self._count)
        self._sign_sum, self._count, self._steps = 0.0, 0.0, 0
        return stats

    def adjust(self, r_t: float, steps: int | None = None) -> None:
        """Move p towards keeping r_t at the target: by the images of `steps` D steps over speed_images."""
        self.r_t = r_t
        images = self.batch_images * (steps or self.interval)
        sign = (r_t > self.target) - (r_t < self.target)
        self.p = min(1.0, max(0.0, self.p + sign * images / self.speed_images))

    def state_dict(self) -> dict:
        """p and the heuristic's accumulators, for an exact resume."""
        return {"p": self.p, "r_t": self.r_t, "sign_sum": self._sign_sum, "count": self._count,
                "steps": self._steps}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict saved."""
        self.p = float(state["p"])
        self.r_t = state.get("r_t")
        self._sign_sum = float(state["sign_sum"])
        self._count = float(state["count"])
        self._steps = int(state["steps"])
