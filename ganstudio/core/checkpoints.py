"""Checkpoints: one safetensors file holding G, D, EMA G, both optimizers, the step, the RNG state, the
fixed noise, the config and the package version. Written atomically; never unpickled."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

import ganstudio
from ganstudio.core.config import RunConfig
from ganstudio.core.io import atomic_write
from ganstudio.core.errors import CheckpointError, ConfigError

FORMAT = "ganstudio-checkpoint"
FORMAT_VERSION = 1
PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # a raw pickle protocol 2+, or torch.save's zip archive
log = logging.getLogger(__name__)


@dataclass
class Checkpoint:
    """The contents of one checkpoint file, as CPU tensors and plain values."""

    config: RunConfig
    step: int
    modules: dict[str, dict[str, torch.Tensor]]  # "G", "D", "G_ema" -> state dict
    optimizers: dict[str, dict[str, Any]] = field(default_factory=dict)  # "G", "D" -> optimizer state dict
    extra_tensors: dict[str, torch.Tensor] = field(default_factory=dict)  # rng, fixed noise
    extra: dict[str, Any] = field(default_factory=dict)  # epoch, position, ema updates ...
    version: str = ganstudio.__version__


def save_checkpoint(path: Path, ckpt: Checkpoint) -> None:
    """Write the checkpoint to a temporary file in the same folder, fsync, then rename into place."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, str] = {
        "format": FORMAT, "format_version": str(FORMAT_VERSION), "ganstudio_version": ckpt.version,
        "config": ckpt.config.to_json(), "step": str(ckpt.step), "extra": json.dumps(ckpt.extra),
    }
    for name, state in ckpt.modules.items():
        for key, value in state.items():
            tensors[f"{name}.{key}"] = value
    for name, opt_state in ckpt.optimizers.items():
        scalars: dict[str, dict[str, Any]] = {}
        for idx, param_state in opt_state["state"].items():
            for key, value in param_state.items():
                if torch.is_tensor(value):
                    tensors[f"opt_{name}.{idx}.{key}"] = value
                else:
                    scalars.setdefault(str(idx), {})[key] = value
        meta[f"opt_{name}"] = json.dumps({"param_groups": opt_state["param_groups"], "scalars": scalars})
    for key, value in ckpt.extra_tensors.items():
        tensors[f"extra.{key}"] = value
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    size = sum(t.numel() * t.element_size() for t in tensors.values()) + sum(len(v) for v in meta.values())
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=meta), size)
    log.info("saved checkpoint %s (step %d)", path, ckpt.step)


def _is_safetensors(head: bytes, size: int) -> bool:
    """A safetensors file: an 8-byte little-endian header length that fits the file, then the JSON header's "{".
    (Its first byte can be 0x80, a pickle's first byte, for one header length in 256.)"""
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") + 8 <= size


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint; any wrong, truncated or hostile file is a CheckpointError with one sentence."""
    path = Path(path).expanduser()
    if path.is_dir():
        from ganstudio.core.runs import RunFolder

        latest = RunFolder(path).latest_checkpoint()
        if latest is None:
            raise CheckpointError(f"{path} has no checkpoints")
        path = latest
    try:
        with open(path, "rb") as fh:
            head = fh.read(9)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    if head.startswith(PICKLE_MAGIC) and not _is_safetensors(head, size) and \
            path.suffix.lower() in (".pkl", ".pt", ".pth"):
        from ganstudio.core.imported import import_checkpoint  # read as data only, never unpickled naively

        return import_checkpoint(path)
    if head.startswith(PICKLE_MAGIC) and not _is_safetensors(head, size):
        log.warning("refused %s: a Python pickle (never unpickled)", path)
        raise CheckpointError(
            f"{path.name} is a Python pickle (a torch.save file), not a GAN Studio checkpoint; "
            "pickles can run code when loaded, so GAN Studio never opens them"
        )
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                log.warning("refused %s: safetensors with format %r, not %r", path, meta.get("format"), FORMAT)
                raise CheckpointError(f"{path.name} is a safetensors file but not a GAN Studio checkpoint")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except CheckpointError:
        raise
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        # the library's words ("header too large") help a bug report, not the user: they go to the log
        log.warning("refused %s (%d bytes): %s: %s", path, _size(path), type(exc).__name__,
                    str(exc).splitlines()[0][:300] if str(exc) else "")
        raise CheckpointError(
            f"{path.name} is not a GAN Studio checkpoint (it is damaged or another kind of file)"
        ) from None
    ckpt = _unpack(path, meta, tensors)
    log.info("loaded checkpoint %s (step %d, %s, written by GAN Studio %s)", path, ckpt.step,
             ckpt.config.model.arch, ckpt.version)
    return ckpt


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _unpack(path: Path, meta: dict[str, str], tensors: dict[str, torch.Tensor]) -> Checkpoint:
    try:
        version = int(meta["format_version"])
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"{path.name} was written by a newer GAN Studio ({meta.get('ganstudio_version')}); "
                "update GAN Studio to open it"
            )
        config = RunConfig.from_json(meta["config"])
        step = int(meta["step"])
        extra = json.loads(meta.get("extra", "{}"))
        modules: dict[str, dict[str, torch.Tensor]] = {}
        optim_tensors: dict[str, dict[int, dict[str, torch.Tensor]]] = {}
        extra_tensors: dict[str, torch.Tensor] = {}
        for key, value in tensors.items():
            head, _, rest = key.partition(".")
            if head.startswith("opt_"):
                idx, _, name = rest.partition(".")
                optim_tensors.setdefault(head[4:], {}).setdefault(int(idx), {})[name] = value
            elif head == "extra":
                extra_tensors[rest] = value
            else:
                modules.setdefault(head, {})[rest] = value
        optimizers = {}
        for name in sorted(key[4:] for key in meta if key.startswith("opt_")):  # G, D, and D1 ... with GMAN
            info = json.loads(meta[f"opt_{name}"])
            state = optim_tensors.get(name, {})
            for idx, scalars in info["scalars"].items():
                state.setdefault(int(idx), {}).update(scalars)
            optimizers[name] = {"state": state, "param_groups": info["param_groups"]}
    except CheckpointError:
        raise
    except (KeyError, ValueError, TypeError, ConfigError) as exc:
        log.warning("refused %s: damaged metadata: %s", path, exc)
        raise CheckpointError(f"{path.name} is a damaged GAN Studio checkpoint ({exc})") from None
    return Checkpoint(config=config, step=step, modules=modules, optimizers=optimizers,
                      extra_tensors=extra_tensors, extra=extra, version=meta.get("ganstudio_version", "?"))


def load_module_state(module: nn.Module, state: dict[str, torch.Tensor], what: str, path: str = "") -> None:
    """Load a state dict strictly; a mismatch means the file does not fit this architecture."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise CheckpointError(
            f"the {what} weights{' in ' + path if path else ''} do not match the architecture in its config ({detail[:160]})"
        ) from None


def load_generator(path: str | Path, device: torch.device | str = "cpu", prefer_ema: bool = True):
    """The generator of a checkpoint, ready for sampling (EMA weights when present), and its config."""
    ckpt = load_checkpoint(path)
    return generator_from_checkpoint(ckpt, device, prefer_ema, Path(path).name), ckpt.config


def generator_from_checkpoint(ckpt: Checkpoint, device: torch.device | str = "cpu", prefer_ema: bool = True,
                              name: str = "the checkpoint") -> nn.Module:
    """The generator of a loaded checkpoint (EMA weights when present), in eval mode on `device`."""
    from ganstudio.core.fitting import build_fitted
    from ganstudio.core.models.registry import build_models, translation_architectures

    if "imported" in ckpt.extra:
        from ganstudio.core.imported import imported_generator

        return imported_generator(ckpt, device, name)
    if ckpt.config.model.arch in translation_architectures():
        raise CheckpointError(f"{name} is a {ckpt.config.model.arch} translator: it turns pictures into pictures "
                              "and has no noise to sample from; use ganstudio translate (core.translate)")
    key = "G_ema" if prefer_ema and "G_ema" in ckpt.modules else "G"
    if key not in ckpt.modules:
        raise CheckpointError(f"{name} has no generator weights")
    # checked on the meta device first: a config that lies about the size must not allocate it
    return build_fitted(lambda: build_models(ckpt.config.model, ckpt.config.loss)[0], ckpt.modules[key],
                        "generator", name, device)


def export_generator(source: str | Path, out: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write a slim model file holding only the sampling generator (EMA weights when present) and the config:
    what the app ships and shares. It opens in the explorer and `ganstudio sample`, not for resuming training."""
    ckpt = load_checkpoint(source)
    key = "G_ema" if "G_ema" in ckpt.modules else "G"
    kept = {"imported": ckpt.extra["imported"]} if "imported" in ckpt.extra else {}
    modules = {"G_ema": ckpt.modules[key]}
    if "F" in ckpt.modules:  # a CycleGAN translates both ways: both generators go
        modules = {"G": ckpt.modules["G"], "F": ckpt.modules["F"]}
    slim = Checkpoint(config=ckpt.config, step=ckpt.step, modules=modules,
                      extra={**kept, "exported_from_step": ckpt.step, **(extra or {})})
    save_checkpoint(Path(out), slim)
    log.info("exported the generator of %s to %s", source, out)
    return Path(out)
