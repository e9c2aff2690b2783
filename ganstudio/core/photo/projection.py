"""Projection of an aligned photo into a StyleGAN's latent space, and pivotal tuning.

`project` optimises a latent in W (one w for every style row) or W+ (one w per row) from w_avg, as the StyleGAN2
projector does (Karras et al. 2020, appendix): Adam with a learning rate ramped up over the first 5% of the steps
and down (cosine) over the last 25%; Gaussian noise added to w, from 5% of w's spread down to nothing at 75% of
the steps, which keeps the search from settling early; and the per-layer noise maps optimised too, held to white
noise by a regulariser that penalises their autocorrelation at every scale of a pyramid (and renormalised after
each step), so that they cannot paint the picture. The result is rendered with the model's own constant noise,
as the explorer renders it, and that is what the latent file reproduces.

`pivotal_tuning` (PTI, Roich et al. 2021) then fine-tunes a copy of the synthesis network so that the found latent
(the pivot) reproduces the photo better, with a locality regulariser: at random latents a fixed distance from the
pivot the tuned copy must keep drawing what the original drew, so that edits around the pivot keep working.

Both report progress through a callback (step, loss, a preview every few steps) and check `cancelled()` between
steps (raising Cancelled). They work with GAN Studio's StyleGANs and imported StyleGAN2/3 generators.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.core.errors import Cancelled, GanStudioError
from ganstudio.core.images import to_uint8
from ganstudio.core.latent.sampling import is_style_based
from ganstudio.core.photo.loss import PhotoLoss, photo_loss, psnr

SPACES = ("w", "w+")


@dataclass(frozen=True)
class ProjectionSettings:
    """How to project: the space, the steps and the StyleGAN2 projector's schedule."""

    space: str = "w+"
    steps: int = 150
    lr: float = 0.05
    lr_rampup: float = 0.05  # share of the steps over which the learning rate rises
    lr_rampdown: float = 0.25  # share of the steps over which it falls (cosine) to zero
    w_noise: float = 0.05  # noise added to w at the start, in units of w's spread
    w_noise_ramp: float = 0.75  # share of the steps after which no noise is added
    noise_reg: float = 1e5  # weight of the noise maps' autocorrelation penalty
    optimize_noise: bool = True
    preview_every: int = 10  # steps between previews in the progress callback (0: none)
    seed: int = 0


@dataclass(frozen=True)
class TuningSettings:
    """Pivotal tuning: steps, learning rate and the locality regulariser."""

    steps: int = 60
    lr: float = 3e-4
    locality_weight: float = 0.1
    locality_every: int = 4  # steps between locality checks (each costs two more renders)
    locality_radius: float = 1.0  # distance of the probes from the pivot, in units of w's spread
    preview_every: int = 10
    seed: int = 0


@dataclass(frozen=True)
class ProgressReport:
    """One step of a projection or tuning: plain data for a progress bar or a GUI."""

    stage: str  # "projection" or "tuning"
    step: int  # 1-based
    steps: int
    loss: float
    seconds: float
    preview: np.ndarray | None = None  # uint8 [H, W, C], every few steps and at the last


Progress = Callable[[ProgressReport], None]


@dataclass
class Projection:
    """The found latent and its picture."""

    ws: torch.Tensor  # [1, num_ws, w_dim] (in W all rows are equal)
    space: str
    image: np.ndarray  # uint8 [H, W, C], rendered with the model's constant noise
    loss: float
    steps: int
    seconds: float
    loss_name: str


@dataclass
class Tuning:
    """A generator tuned around a pivot (a copy; the original is untouched) and its picture of the pivot."""

    G: nn.Module
    image: np.ndarray
    loss: float
    steps: int
    seconds: float


def target_tensor(image: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """A uint8 [H, W, C] picture (or a [1, C, H, W] tensor in [-1, 1]) as [1, C, H, W] float in [-1, 1]."""
    if torch.is_tensor(image):
        return image.to(device=device, dtype=torch.float32)
    x = torch.from_numpy(np.array(image, dtype=np.float32))
    if x.dim() == 2:
        x = x[:, :, None]
    return (x.permute(2, 0, 1)[None] / 127.5 - 1.0).to(device)


def _check(G: nn.Module, target: torch.Tensor) -> None:
    if not is_style_based(G):
        raise GanStudioError("only StyleGAN models can be projected into (they have a w space)")
    if getattr(G.mapping, "c_dim", 0):
        raise GanStudioError("photo projection needs an unconditional StyleGAN; this one is class-conditional")
    probe = render(G, w_avg(G).to(target.device).expand(1, G.num_ws, -1))
    if tuple(probe.shape[1:]) != tuple(target.shape[1:]):
        raise GanStudioError(f"the aligned photo is {tuple(target.shape[1:])} but the model draws "
                             f"{tuple(probe.shape[1:])} pictures (channels, height, width)")


def w_avg(G: nn.Module) -> torch.Tensor:
    """The generator's average w [1, 1, w_dim]."""
    return G.mapping.w_avg.detach().float().reshape(1, 1, -1)


@torch.no_grad()
def w_spread(G: nn.Module, samples: int = 4096, seed: int = 0) -> float:
    """The root mean squared distance of w from w_avg over seeded samples (the projector's noise unit)."""
    device = next(G.parameters()).device
    z = torch.randn(samples, G.mapping.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    w = G.mapping(z, None)[:, 0].float()
    return float((w - w_avg(G)[0]).square().sum(dim=1).mean().sqrt())


@torch.no_grad()
def render(G: nn.Module, ws: torch.Tensor) -> torch.Tensor:
    """G's picture of ws [N, num_ws, w_dim] with its constant noise, in [-1, 1]."""
    return G.synthesis(ws, noise_mode="const").float().clamp(-1, 1)


def _noise_buffers(G: nn.Module) -> list[tuple[nn.Module, str]]:
    """(module, buffer name) of every constant noise map of the synthesis network (ours: NoiseInput.const;
    NVIDIA's layout: noise_const); StyleGAN3 has none."""
    from ganstudio.core.models.style_layers import NoiseInput

    found = []
    for m in G.synthesis.modules():
        if isinstance(m, NoiseInput):
            found.append((m, "const"))
        elif isinstance(getattr(m, "noise_const", None), torch.Tensor) and getattr(m, "use_noise", True):
            found.append((m, "noise_const"))
    return found


def _noise_regularisation(maps: list[torch.Tensor]) -> torch.Tensor:
    """The squared autocorrelation of each noise map at a shift of one pixel, over a pyramid down to 8x8."""
    total = maps[0].new_zeros(())
    for n in maps:
        n = n.reshape(1, 1, n.shape[-2], n.shape[-1])
        while True:
            total = total + (n * n.roll(1, dims=3)).mean().square() + (n * n.roll(1, dims=2)).mean().square()
            if n.shape[-1] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return total


def _learning_rate(settings_lr: float, t: float, rampup: float, rampdown: float) -> float:
    ramp = min(1.0, (1.0 - t) / rampdown) if rampdown > 0 else 1.0
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    return settings_lr * ramp * (min(1.0, t / rampup) if rampup > 0 else 1.0)


def _preview_due(step: int, steps: int, every: int) -> bool:
    return step == steps or (every > 0 and step % every == 0)


def project(G: nn.Module, target: np.ndarray | torch.Tensor, settings: ProjectionSettings = ProjectionSettings(),
            loss: PhotoLoss | None = None, progress: Progress | None = None,
            cancelled: Callable[[], bool] | None = None) -> Projection:
    """Find the latent whose picture is closest to the aligned photo `target` (uint8 [R, R, C])."""
    if settings.space not in SPACES:
        raise GanStudioError(f"unknown latent space {settings.space!r}; use w or w+")
    if settings.steps < 1:
        raise GanStudioError("projection needs at least one step")
    start = time.perf_counter()
    device = next(G.parameters()).device
    target_t = target_tensor(target, device)
    _check(G, target_t)
    loss = loss if loss is not None else photo_loss("auto", device=device)
    source = G  # pictures are drawn with its own constant noise
    # a private copy: its noise maps are optimised in place, and the caller may be rendering with G meanwhile
    G = copy.deepcopy(G).eval().requires_grad_(False)
    gen = torch.Generator().manual_seed(settings.seed)
    spread = w_spread(G, seed=settings.seed)
    rows = G.num_ws if settings.space == "w+" else 1
    w = w_avg(G).to(device).repeat(1, rows, 1).requires_grad_(True)
    buffers = _noise_buffers(G) if settings.optimize_noise else []
    maps = []
    for module, name in buffers:
        n = torch.randn(getattr(module, name).shape, generator=gen).to(device).requires_grad_(True)
        setattr(module, name, n)
        maps.append(n)
    optimizer = torch.optim.Adam([w] + maps, lr=settings.lr, betas=(0.9, 0.999))
    value = float("nan")
    for step in range(settings.steps):
        if cancelled is not None and cancelled():
            raise Cancelled("the projection was cancelled")
        t = step / settings.steps
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(settings.lr, t, settings.lr_rampup, settings.lr_rampdown)
        noise_scale = spread * settings.w_noise * max(0.0, 1.0 - t / settings.w_noise_ramp) ** 2
        ws = w + torch.randn(w.shape, generator=gen).to(device) * noise_scale
        image = G.synthesis(ws.expand(1, G.num_ws, -1), noise_mode="const")
        distance = loss(image.float(), target_t).sum()
        total = distance + settings.noise_reg * _noise_regularisation(maps) if maps else distance
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        with torch.no_grad():
            for n in maps:
                n.sub_(n.mean()).div_(n.square().mean().sqrt() + 1e-8)
        value = float(distance.detach())
        if progress is not None:
            preview = None
            if _preview_due(step + 1, settings.steps, settings.preview_every):
                preview = _picture(source, w.detach().expand(1, G.num_ws, -1))
            progress(ProgressReport("projection", step + 1, settings.steps, value, time.perf_counter() - start,
                                    preview))
    ws_final = w.detach().expand(1, G.num_ws, -1).clone()
    return Projection(ws_final, settings.space, _picture(source, ws_final), value, settings.steps,
                      time.perf_counter() - start, loss.name)


def _picture(G: nn.Module, ws: torch.Tensor) -> np.ndarray:
    return to_uint8(render(G, ws))[0]


def pivotal_tuning(G: nn.Module, ws: torch.Tensor, target: np.ndarray | torch.Tensor,
                   settings: TuningSettings = TuningSettings(), loss: PhotoLoss | None = None,
                   progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> Tuning:
    """A copy of G whose synthesis network is tuned so that the pivot `ws` draws `target` (PTI)."""
    start = time.perf_counter()
    device = next(G.parameters()).device
    target_t = target_tensor(target, device)
    _check(G, target_t)
    loss = loss if loss is not None else photo_loss("auto", device=device)
    original = copy.deepcopy(G).eval().requires_grad_(False)
    tuned = copy.deepcopy(G).eval().requires_grad_(False)
    tuned.synthesis.requires_grad_(True)
    params = [p for p in tuned.synthesis.parameters() if p.is_floating_point()]
    optimizer = torch.optim.Adam(params, lr=settings.lr, betas=(0.9, 0.999))
    gen = torch.Generator().manual_seed(settings.seed)
    radius = settings.locality_radius * w_spread(G, seed=settings.seed)
    pivot = ws.detach().to(device)
    value = float("nan")
    for step in range(settings.steps):
        if cancelled is not None and cancelled():
            raise Cancelled("the tuning was cancelled")
        image = tuned.synthesis(pivot, noise_mode="const").float()
        distance = loss(image, target_t).sum()
        total = distance
        if settings.locality_weight > 0 and settings.locality_every > 0 and step % settings.locality_every == 0:
            z = torch.randn(1, G.mapping.z_dim, generator=gen).to(device)
            with torch.no_grad():
                w_random = original.mapping(z, None)
                towards = w_random - pivot
                probe = pivot + radius * towards / towards.norm(dim=2, keepdim=True).clamp(min=1e-8)
                reference = original.synthesis(probe, noise_mode="const").float()
            total = total + settings.locality_weight * loss(tuned.synthesis(probe, noise_mode="const").float(),
                                                            reference).sum()
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        value = float(distance.detach())
        if progress is not None:
            preview = _picture(tuned, pivot) if _preview_due(step + 1, settings.steps, settings.preview_every) else None
            progress(ProgressReport("tuning", step + 1, settings.steps, value, time.perf_counter() - start, preview))
    tuned.requires_grad_(False)
    return Tuning(tuned, _picture(tuned, pivot), value, settings.steps, time.perf_counter() - start)


def picture_psnr(image: np.ndarray, target: np.ndarray) -> float:
    """PSNR in dB between two uint8 pictures."""
    return float(psnr(target_tensor(image), target_tensor(target))[0])


def save_tuned_generator(tuned: nn.Module, source: str | Path, out: str | Path) -> Path:
    """Write a PTI-tuned generator as a slim GAN Studio model file (as `ganstudio export` writes), with the
    config (and an imported model's card) of the checkpoint it was tuned from; it opens wherever a checkpoint
    does."""
    from ganstudio.core.checkpoints import Checkpoint, load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(source)
    kept = {"imported": ckpt.extra["imported"]} if "imported" in ckpt.extra else {}
    state = {k: v.detach().cpu() for k, v in tuned.state_dict().items()}
    slim = Checkpoint(config=ckpt.config, step=ckpt.step, modules={"G_ema": state},
                      extra={**kept, "pivotal_tuning_of": Path(source).name})
    save_checkpoint(Path(out), slim)
    return Path(out)
