"""Pretrained generators from other projects, opened safely: NVIDIA's StyleGAN2-ADA / StyleGAN3 network pickles
(`.pkl`) and rosinality stylegan2-pytorch checkpoints (`.pt`).

The file is read as data only (`unpickle`), its recorded settings are checked against its tensors on the meta
device (`ganstudio.core.fitting`), and the generator is rebuilt from GAN Studio's own plain-PyTorch networks
(`stylegan2`, `stylegan3`). An imported file becomes a `Checkpoint` whose `extra["imported"]` names the
architecture, its settings and the model card, so `load_checkpoint`, `--checkpoint` and the explorer open it
like one of ours, and `convert` saves it as a GAN Studio safetensors file.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

import ganstudio
from ganstudio.core.config import DataConfig, ModelConfig, RunConfig
from ganstudio.core.errors import CheckpointError
from ganstudio.core.imported import stylegan2
from ganstudio.core.imported.unpickle import (PersistentObject, plain, read_network_pickle, read_torch_checkpoint)

STYLEGAN3 = "training.networks_stylegan3.Generator"
IMPORT_SUFFIXES = (".pkl", ".pt", ".pth")
ZIP_MAGIC = b"PK\x03\x04"
NVIDIA_LICENCE = ("NVIDIA Source Code License-NC: NVIDIA's StyleGAN weights may be used non-commercially only "
                  "(research and evaluation)")
ROSINALITY_LICENCE = ("rosinality's code is MIT-licensed; the weights carry the licence of whoever trained them "
                      "(ports of NVIDIA's weights: NVIDIA's non-commercial licence)")
W_AVG_SAMPLES = 4096  # z samples averaged for w_avg when a rosinality file has no latent_avg
_POSITIONAL = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")


@dataclass
class ImportedNetwork:
    """A foreign generator as data: the recorded class, its init kwargs (JSON-able) and its G_ema tensors."""

    architecture: str
    kwargs: dict[str, Any]
    state: dict[str, torch.Tensor] = field(repr=False)
    source_format: str
    notes: list[str] = field(default_factory=list)
    discriminator: dict[str, Any] | None = None  # {"architecture", "kwargs"} when the file has a usable D
    d_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)


def read_network(path: str | Path) -> ImportedNetwork:
    """Read a `.pkl` network pickle or a rosinality `.pt` checkpoint as data (nothing built, nothing run)."""
    path = Path(path).expanduser()
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    kind = "torch" if head.startswith(ZIP_MAGIC) or path.suffix.lower() in (".pt", ".pth") else "pickle"
    return read_network_from(path, path.name, kind)


def read_network_from(source: Path | BinaryIO, name: str, kind: str) -> ImportedNetwork:
    """`read_network` for an open file or buffer: kind "pickle" (NVIDIA) or "torch" (rosinality)."""
    return _read_rosinality(source, name) if kind == "torch" else _read_nvidia(source, name)


def _read_nvidia(source: Path | BinaryIO, name: str) -> ImportedNetwork:
    data = read_network_pickle(source, name)
    G = data.get("G_ema") if isinstance(data, dict) else None
    if not isinstance(G, PersistentObject):
        raise CheckpointError(f"{name} has no G_ema network, so it is not a StyleGAN network pickle")
    kwargs = dict(zip(_POSITIONAL, G.init_args))
    kwargs.update(G.init_kwargs)
    kwargs = plain(kwargs)
    synthesis = G.child("synthesis")
    if G.class_name != "Generator" or synthesis is None:
        raise CheckpointError(f"{name} holds a {G.class_name} as G_ema, not a StyleGAN generator")
    if synthesis.child("input") is not None or "class SynthesisInput" in G.module_src:
        arch = STYLEGAN3
    elif "synthesis_kwargs" in kwargs or "fused_modconv_default" not in G.module_src:
        arch = stylegan2.ADA
    else:
        arch = stylegan2.SG3_STYLEGAN2
    net = ImportedNetwork(arch, kwargs, G.state_dict(), "NVIDIA network pickle")
    _add_discriminator(net, data.get("D"), name)
    return net


def _add_discriminator(net: ImportedNetwork, D: Any, name: str) -> None:
    """Keep the file's discriminator when its settings fit its tensors; otherwise say why in the notes."""
    from ganstudio.core.fitting import check_fits

    if not isinstance(D, PersistentObject):
        net.notes.append("the file has no discriminator")
        return
    arch = stylegan2.D_ADA if net.architecture == stylegan2.ADA else stylegan2.D_SG3_STYLEGAN2
    try:
        kwargs = plain({**dict(zip(("c_dim", "img_resolution", "img_channels"), D.init_args)), **D.init_kwargs})
        state = D.state_dict()
        with torch.device("meta"):
            meta = stylegan2.build_discriminator(arch, kwargs)
        check_fits(meta, state, "discriminator", name)
    except (CheckpointError, RuntimeError, ValueError, TypeError, KeyError) as exc:
        net.notes.append(f"the discriminator was left out ({str(exc)[:160]})")
        return
    net.discriminator, net.d_state = {"architecture": arch, "kwargs": kwargs}, state


def _read_rosinality(source: Path | BinaryIO, name: str) -> ImportedNetwork:
    data = read_torch_checkpoint(source, name)
    g_ema = data.get("g_ema")
    if not isinstance(g_ema, dict) or not all(isinstance(v, torch.Tensor) for v in g_ema.values()):
        raise CheckpointError(f"{name} has no g_ema weights, so it is not a rosinality StyleGAN2 checkpoint")
    args = data.get("args") if isinstance(data.get("args"), dict) else {}
    settings = stylegan2.rosinality_settings(g_ema, args)
    latent_avg = data.get("latent_avg")
    latent_avg = latent_avg if isinstance(latent_avg, torch.Tensor) else None
    state = stylegan2.rosinality_state(g_ema, latent_avg, settings)
    net = ImportedNetwork(stylegan2.ROSINALITY, plain(settings), state, "rosinality stylegan2-pytorch checkpoint")
    if latent_avg is None:
        G = _generator(net, "cpu", name)
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            z = torch.randn(W_AVG_SAMPLES, G.z_dim, generator=gen)
            state["mapping.w_avg"] = G.mapping(z)[:, 0].mean(dim=0)
        net.notes.append(f"w_avg estimated from {W_AVG_SAMPLES} samples (the file has no latent_avg)")
    return net


def build_generator(architecture: str, kwargs: dict[str, Any]) -> nn.Module:
    """A fresh generator for a recorded class and its init kwargs (on the current default device)."""
    if architecture == STYLEGAN3:
        try:
            from ganstudio.core.imported.stylegan3 import build_stylegan3
        except ImportError:
            raise CheckpointError("this GAN Studio cannot rebuild StyleGAN3 generators yet") from None
        return build_stylegan3(kwargs)
    if architecture in stylegan2.ARCHITECTURES:
        return stylegan2.build_stylegan2(architecture, kwargs)
    raise CheckpointError(f"GAN Studio cannot rebuild a {architecture}")


def _generator(net: ImportedNetwork, device: torch.device | str, name: str) -> nn.Module:
    from ganstudio.core.fitting import build_fitted

    return build_fitted(lambda: build_generator(net.architecture, net.kwargs), net.state, "generator", name,
                        device, skip_init=True)


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_card(path: Path, net: ImportedNetwork) -> dict[str, Any]:
    """Where the weights came from and under which terms: source file and SHA-256, architecture, settings,
    licence note."""
    return {
        "source_file": path.name, "source_sha256": sha256_of(path), "source_format": net.source_format,
        "architecture": net.architecture, "kwargs": net.kwargs,
        "licence": ROSINALITY_LICENCE if net.architecture == stylegan2.ROSINALITY else NVIDIA_LICENCE,
        "imported_by": f"GAN Studio {ganstudio.__version__}", "notes": list(net.notes),
    }


def run_config(net: ImportedNetwork, name: str) -> RunConfig:
    """The RunConfig the explorer and the CLI read from a checkpoint, describing the imported generator."""
    kw, mapping = net.kwargs, net.kwargs.get("mapping_kwargs") or {}
    res, channels, c_dim = int(kw["img_resolution"]), int(kw["img_channels"]), int(kw["c_dim"])
    model = ModelConfig(arch="stylegan", conditional=c_dim > 0, num_classes=c_dim, z_dim=int(kw["z_dim"]),
                        w_dim=int(kw["w_dim"]), mapping_layers=int(mapping.get("num_layers", 8)),
                        mapping_lr_mul=float(mapping.get("lr_multiplier", 0.01)), channels=channels, resolution=res)
    # no data source: evaluating an imported model needs --data
    return RunConfig(name=name, data=DataConfig(source="folder:", resolution=res, channels=channels, download=False),
                     model=model)


def import_checkpoint(path: str | Path):
    """An imported network as a Checkpoint (G_ema weights, config, `extra["imported"]`), nothing built."""
    from ganstudio.core.checkpoints import Checkpoint

    path = Path(path).expanduser()
    net = read_network(path)
    card = model_card(path, net)
    info = {"architecture": net.architecture, "kwargs": net.kwargs, "card": card}
    modules = {"G_ema": net.state}
    if net.discriminator is not None:
        info["discriminator"], modules["D"] = net.discriminator, net.d_state
    return Checkpoint(config=run_config(net, path.stem), step=0, modules=modules, extra={"imported": info})


def imported_generator(ckpt, device: torch.device | str = "cpu", name: str = "the checkpoint") -> nn.Module:
    """The generator of a Checkpoint made by `import_checkpoint` (or its converted safetensors file)."""
    info = ckpt.extra.get("imported") or {}
    if "architecture" not in info or not isinstance(info.get("kwargs"), dict):
        raise CheckpointError(f"{name} is an imported model without its architecture")
    state = ckpt.modules.get("G_ema")
    if state is None:
        raise CheckpointError(f"{name} has no generator weights")
    net = ImportedNetwork(info["architecture"], info["kwargs"], state, info.get("card", {}).get("source_format", ""))
    return _generator(net, device, name)


def imported_discriminator(ckpt, device: torch.device | str = "cpu", name: str = "the checkpoint") -> nn.Module:
    """The StyleGAN2 discriminator of an imported Checkpoint (a CheckpointError when the file had none)."""
    from ganstudio.core.fitting import build_fitted

    info = (ckpt.extra.get("imported") or {}).get("discriminator")
    if not info or "D" not in ckpt.modules:
        raise CheckpointError(f"{name} has no discriminator GAN Studio can rebuild")
    return build_fitted(lambda: stylegan2.build_discriminator(info["architecture"], info["kwargs"]), ckpt.modules["D"],
                        "discriminator", name, device, skip_init=True)


def import_network(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, RunConfig, dict]:
    """Open a `.pkl` / `.pt` generator safely: (G in eval mode on `device`, its RunConfig, its model card)."""
    ckpt = import_checkpoint(path)
    G = imported_generator(ckpt, device, Path(path).name)
    return G, ckpt.config, ckpt.extra["imported"]["card"]


def imported_kind(card: dict[str, Any]) -> str:
    """What an imported model is, in words: "StyleGAN3-T (NVIDIA pickle)", "StyleGAN2 (rosinality)"."""
    arch, kw = card.get("architecture"), card.get("kwargs") or {}
    if arch == STYLEGAN3:  # NVIDIA's StyleGAN3-R config: 1x1 convolutions and radially symmetric filters
        name = "StyleGAN3-R" if kw.get("use_radial_filters") or kw.get("conv_kernel") == 1 else "StyleGAN3-T"
    else:
        name = {stylegan2.ADA: "StyleGAN2-ADA", stylegan2.SG3_STYLEGAN2: "StyleGAN2",
                stylegan2.ROSINALITY: "StyleGAN2"}.get(arch, "StyleGAN")
    return f"{name} ({'rosinality' if arch == stylegan2.ROSINALITY else 'NVIDIA pickle'})"


def imported_title(card: dict[str, Any]) -> str:
    """An imported model in a few words: "StyleGAN3-T (NVIDIA pickle), 256 px" (and its classes, if any)."""
    kw = card.get("kwargs") or {}
    cond = f", {kw['c_dim']} classes" if kw.get("c_dim") else ""
    return f"{imported_kind(card)}, {kw.get('img_resolution')} px{cond}"


def card_summary(card: dict[str, Any]) -> str:
    """One line about an imported model: what it is, its size, source and its SHA-256, licence."""
    return (f"{imported_title(card)} from {card.get('source_file')} "
            f"(SHA-256 {str(card.get('source_sha256'))[:16]}...); licence: {card.get('licence')}")


def convert(path: str | Path, out: str | Path) -> Path:
    """Write a foreign generator as a GAN Studio safetensors model file carrying its model card (after checking
    that it builds); what `ganstudio import FILE --out OUT` runs."""
    from ganstudio.core.checkpoints import save_checkpoint

    ckpt = import_checkpoint(path)
    imported_generator(ckpt, "cpu", Path(path).name)  # refuse before writing anything that would not open
    out = Path(out).expanduser()
    save_checkpoint(out, ckpt)
    return out
