"""Choosing the device a run uses: auto (CUDA, then Apple MPS, then CPU) or explicit."""
from __future__ import annotations

import torch

from ganstudio.core.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for a name; a device that is not present is a ConfigError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("CUDA was asked for but no CUDA GPU is available; set the device to cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"there is no GPU {device.index}; this machine has {torch.cuda.device_count()}")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("Apple MPS was asked for but is not available; set the device to cpu or auto")
    return device


def device_name(device: torch.device) -> str:
    """A human name for the device, e.g. 'NVIDIA H100 (cuda:0)' or 'CPU (2 threads)'."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"{torch.cuda.get_device_name(index)} (cuda:{index})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'' if threads == 1 else 's'})"


# Which CPU models train faster in the channels_last memory format, measured with benchmarks/channels_last_cpu.py
# (torch 2.15, oneDNN, 2-core x86-64, quiet machine; Trainer images/s, channels_last / contiguous, median of
# interleaved rounds). 2 threads: DCGAN-28 1.00, DCGAN-64 1.13, StyleGAN-64 1.31; 1 thread: 1.11, 1.17, 1.44.
CPU_CHANNELS_LAST = {"dcgan": True, "stylegan": True}


def auto_channels_last(arch: str, toy: bool, device: torch.device, precision: str) -> bool:
    """The memory format a run uses when its config leaves channels_last unset: on CUDA with mixed precision
    (tensor-core convolutions read NHWC), on the CPU for the architectures measured faster with it."""
    if toy or arch == "mlp":
        return False
    if device.type == "cuda":
        return precision in ("bf16", "fp16")
    if device.type == "cpu":
        return CPU_CHANNELS_LAST.get(arch, False)
    return False
