"""Multi-process training under torchrun: process group set-up, rank-aware helpers and agreement between ranks.

`ganstudio train` needs no flag for it: torchrun sets WORLD_SIZE/RANK/LOCAL_RANK and the Trainer picks them up.
NCCL is used on CUDA, Gloo on the CPU. Each process trains on its own slice of every global batch; gradients are
averaged by DistributedDataParallel, so every rank holds the same weights after every step.
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ganstudio.core.errors import ConfigError


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a (possibly single-process) job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> DistContext:
    """The job described by torchrun's environment variables (a single process when they are absent)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    return DistContext(rank=int(os.environ.get("RANK", "0")), world_size=world,
                       local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def init(device_request: str) -> tuple[DistContext, str]:
    """Join the process group if torchrun started us; return the context and the device this rank uses."""
    ctx = from_environment()
    if not ctx.enabled:
        return ctx, device_request
    cuda = device_request in ("auto", "cuda") and torch.cuda.is_available() or device_request.startswith("cuda")
    backend = "nccl" if cuda else "gloo"
    if cuda:
        if ctx.local_rank >= torch.cuda.device_count():
            raise ConfigError(f"rank {ctx.rank} needs GPU {ctx.local_rank} but this machine has "
                              f"{torch.cuda.device_count()}; start fewer processes per node")
        torch.cuda.set_device(ctx.local_rank)
        device = f"cuda:{ctx.local_rank}"
    else:
        device = "cpu"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistContext(ctx.rank, ctx.world_size, ctx.local_rank, backend), device


def wrap(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel without per-forward buffer broadcasts: batch-norm statistics stay per rank
    (or are synchronized by SyncBatchNorm), spectral-norm vectors evolve identically on every rank."""
    ids = [device.index] if device.type == "cuda" else None
    params = inspect.signature(torch.nn.parallel.DistributedDataParallel.__init__).parameters
    no_sync = {"forward_sync_buffers": False} if "forward_sync_buffers" in params else {"broadcast_buffers": False}
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids, **no_sync)


def agree(ctx: DistContext, values: list[float], device: torch.device) -> list[float]:
    """The mean of each value over all ranks, so that every rank takes the same decisions (stop, NaN)."""
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return (t / ctx.world_size).tolist()


def any_rank(ctx: DistContext, flag: bool, device: torch.device) -> bool:
    """True on every rank when the flag is true on any rank."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t)
    return bool(t.item() > 0)


def gather_per_rank(ctx: DistContext, state: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
    """Every rank's own copy of a state of the same shape on all ranks (an RNG state, CycleGAN's fake pool), in
    rank order on the CPU, so that a checkpoint can resume each rank exactly."""
    if not ctx.enabled:
        return [state]
    local = state.to(device)
    out = [torch.empty_like(local) for _ in range(ctx.world_size)]
    dist.all_gather(out, local)
    return [t.cpu() for t in out]


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def shutdown(ctx: DistContext, wait_for_all: bool = True) -> None:
    """End the process group, after every rank has reached its end (`wait_for_all`; not on an error's way out,
    where the other ranks may never get there)."""
    if ctx.enabled and dist.is_initialized():
        if wait_for_all:  # a rank that leaves while another still talks makes Gloo abort that one (SIGABRT)
            dist.barrier()
        dist.destroy_process_group()
