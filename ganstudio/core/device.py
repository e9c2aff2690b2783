"""Choosing the device a run uses: auto (CUDA, then Apple MPS, then CPU) or explicit."""
from __future__ import annotations

import torch

from ganstudio.errors import ConfigError


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
            raise ConfigError("CUDA was asked for but no CUDA GPU is available; use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"there is no GPU {device.index}; this machine has {torch.cuda.device_count()}")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("Apple MPS was asked for but is not available; use --device cpu or auto")
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
