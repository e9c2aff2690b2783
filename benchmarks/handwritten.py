"""The baseline every training benchmark compares against: the PyTorch DCGAN example's loop, written out by
hand (one G forward shared by the D and G steps, non-saturating BCE, Adam), for any G/D pair."""
from __future__ import annotations

import contextlib
import time

import torch
import torch.nn.functional as F


def handwritten_images_per_sec(G, D, data, *, batch: int, z_dim: int, steps: int, warmup: int,
                               lr: float = 2e-4, betas=(0.5, 0.999), device="cpu",
                               amp_dtype: torch.dtype | None = None, channels_last: bool = False) -> float:
    """Train G and D for warmup + steps steps on `data` (a TrainingData); return timed images/s."""
    device = torch.device(device)
    G, D = G.to(device), D.to(device)
    if channels_last:
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    amp = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if amp_dtype else contextlib.nullcontext
    n = len(data)
    order, pos, start = torch.randperm(n), 0, 0.0
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            start = time.perf_counter()
        if pos + batch > n:
            order, pos = torch.randperm(n), 0
        real, _ = data.get(order[pos:pos + batch])
        pos += batch
        if channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        with amp():
            fake = G(torch.randn(batch, z_dim, device=device))
            out_real, out_fake = D(real).float(), D(fake.detach()).float()
            loss_d = (F.binary_cross_entropy_with_logits(out_real, torch.ones_like(out_real))
                      + F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        with amp():
            out = D(fake).float()
            loss_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        _ = (loss_d.item(), loss_g.item(), torch.sigmoid(out_real).mean().item())  # what the example logs
    _sync(device)
    return steps * batch / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
