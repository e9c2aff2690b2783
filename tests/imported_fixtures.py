"""Files in the layouts of NVIDIA's network pickles and rosinality's checkpoints, written by our own code with our
own random weights (no reference code or weights): a pickle whose globals and structure are those NVIDIA's
`torch_utils.persistence` writes, and a torch.save dict with rosinality's `g_ema` names."""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import pickle
import sys
import types
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from ganstudio.core.imported import stylegan2

TINY = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=16, img_channels=3,
            mapping_kwargs=dict(num_layers=2), synthesis_kwargs=dict(channel_base=256, channel_max=32))
TINY_CONDITIONAL = dict(TINY, c_dim=4, synthesis_kwargs=dict(channel_base=256, channel_max=32, conv_clamp=256))
MODULE_SRC = "# the networks module would be here; GAN Studio never runs it\n"


@torch.no_grad()
def random_generator(arch: str = stylegan2.ADA, kwargs: dict | None = None, seed: int = 0) -> stylegan2.Generator:
    """Our Generator with random weights everywhere (biases, noise strengths and w_avg too)."""
    torch.manual_seed(seed)
    G = stylegan2.build_stylegan2(arch, kwargs or TINY)
    for name, t in list(G.named_parameters()) + list(G.named_buffers()):
        if "resample_filter" not in name:
            t.copy_(torch.randn_like(t) * (0.2 if "bias" in name or "noise_strength" in name else 1.0)
                    + (1.0 if name.endswith("affine.bias") else 0.0))
    return G.eval()


TINY_D = dict(c_dim=0, img_resolution=16, img_channels=3, channel_base=256, channel_max=32,
              epilogue_kwargs=dict(mbstd_group_size=2))


@torch.no_grad()
def random_discriminator(kwargs: dict | None = None, seed: int = 0) -> stylegan2.Discriminator:
    """Our Discriminator with random weights (biases included)."""
    torch.manual_seed(seed)
    D = stylegan2.build_discriminator(stylegan2.D_ADA, kwargs or TINY_D)
    for name, t in D.named_parameters():
        t.copy_(torch.randn_like(t) * (0.2 if "bias" in name else 1.0))
    return D.eval()


@contextlib.contextmanager
def nvidia_globals() -> Iterator[types.SimpleNamespace]:
    """Stand-ins for `torch_utils.persistence._reconstruct_persistent_obj` and `dnnlib.util.EasyDict`, installed
    in sys.modules while pickling so that the file names the same globals NVIDIA's pickles name."""
    def _reconstruct_persistent_obj(meta):  # never called: these files are only read by GAN Studio
        raise AssertionError("a test fixture was unpickled naively")

    class EasyDict(dict):
        pass

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    mods = {name: types.ModuleType(name) for name in ("torch_utils", "torch_utils.persistence", "dnnlib",
                                                       "dnnlib.util")}
    mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    mods["dnnlib.util"].EasyDict = EasyDict
    saved = {name: sys.modules.get(name) for name in mods}
    sys.modules.update(mods)
    try:
        yield types.SimpleNamespace(reconstruct=_reconstruct_persistent_obj, EasyDict=EasyDict)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def write_nvidia_pickle(path: Path, G: nn.Module, init_kwargs: dict, module_src: str = MODULE_SRC,
                        extra: dict | None = None, rename: dict[str, str] | None = None,
                        D: nn.Module | None = None, d_kwargs: dict | None = None) -> Path:
    """Pickle G as NVIDIA's persistent classes are pickled: every module reduces to
    `_reconstruct_persistent_obj(meta)` with its class name, module source and __dict__ state."""
    with nvidia_globals() as g:
        class Writer(pickle.Pickler):
            def reducer_override(self, obj: Any):
                if not isinstance(obj, nn.Module):
                    return NotImplemented
                # NVIDIA's modules keep plain attributes: our dataclasses (StyleGAN3's LayerSpec) go as dicts
                state = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
                         for k, v in obj.__dict__.items()}
                if obj is G:
                    state["_init_args"], state["_init_kwargs"] = (), g.EasyDict(init_kwargs)
                if obj is D:
                    state["_init_args"], state["_init_kwargs"] = (), g.EasyDict(d_kwargs)
                if "weight_gain" in state:  # NVIDIA computes these with numpy: numpy scalars in the pickle
                    state["weight_gain"] = np.float64(state["weight_gain"])
                name = type(obj).__name__
                meta = dict(type="class", version=6, module_src=module_src,
                            class_name=(rename or {}).get(name, name), state=state)
                return g.reconstruct, (meta,)

        with open(path, "wb") as fh:
            Writer(fh, protocol=pickle.DEFAULT_PROTOCOL).dump({
                "G": G, "D": D, "G_ema": G, "augment_pipe": None,
                "training_set_kwargs": g.EasyDict(resolution=init_kwargs.get("img_resolution"), use_labels=True),
                **(extra or {})})
    return path


def rosinality_g_ema(G: stylegan2.Generator) -> dict[str, torch.Tensor]:
    """G's weights under rosinality's `g_ema` names and shapes (the inverse of stylegan2.rosinality_state)."""
    sd = G.state_dict()
    out = {}
    for i in range(G.mapping.num_layers):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]

    def styled(dst: str, src: str, noise: str) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = sd[f"{src}.bias"]
        out[noise] = sd[f"{src}.noise_const"][None, None]

    def to_rgb(dst: str, src: str) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(1, -1, 1, 1)

    styled("conv1", "synthesis.b4.conv1", "noises.noise_0")
    to_rgb("to_rgb1", "synthesis.b4.torgb")
    for j, res in enumerate(G.synthesis.block_resolutions[1:]):
        styled(f"convs.{2 * j}", f"synthesis.b{res}.conv0", f"noises.noise_{2 * j + 1}")
        styled(f"convs.{2 * j + 1}", f"synthesis.b{res}.conv1", f"noises.noise_{2 * j + 2}")
        to_rgb(f"to_rgbs.{j}", f"synthesis.b{res}.torgb")
        out[f"convs.{2 * j}.conv.blur.kernel"] = sd["synthesis.b4.resample_filter"] * 4
        out[f"to_rgbs.{j}.upsample.kernel"] = sd["synthesis.b4.resample_filter"] * 4
    return {k: v.clone() for k, v in out.items()}


def write_rosinality(path: Path, G: stylegan2.Generator, with_latent_avg: bool = True, args: bool = True) -> Path:
    """A rosinality train.py checkpoint: g_ema (and g, d, their optimizers would be here), latent_avg, args."""
    data: dict[str, Any] = {"g_ema": rosinality_g_ema(G)}
    if with_latent_avg:
        data["latent_avg"] = G.mapping.w_avg.clone()
    if args:
        data["args"] = argparse.Namespace(size=G.img_resolution, n_mlp=G.mapping.num_layers, latent=G.w_dim,
                                          channel_multiplier=2, lr=0.002, path="/data/lmdb")
    torch.save(data, path)
    return path


class RunsCode:
    """A pickle payload whose naive loading creates a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def marker_source(marker: Path) -> str:
    """Module source that, if it were ever executed (as NVIDIA's unpickler does), would create the marker."""
    return f"open({str(marker)!r}, 'w').write('ran')\nclass Generator: pass\n"


SG3_TINY = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3, channel_base=256, channel_max=8,
                num_layers=4, num_critical=2, magnitude_ema_beta=0.999, mapping_kwargs=dict(num_layers=2))
SG3_NAMES = {"StyleGAN3Generator": "Generator", "StyleGAN3Mapping": "MappingNetwork",
             "StyleGAN3Synthesis": "SynthesisNetwork", "FourierInput": "SynthesisInput",
             "AliasFreeLayer": "SynthesisLayer", "ScaledLinear": "FullyConnectedLayer"}


@torch.no_grad()
def write_stylegan3_pickle(path: Path, kwargs: dict | None = None, seed: int = 0) -> Path:
    """A StyleGAN3 network pickle in NVIDIA's layout: our own StyleGAN3 with random weights, under NVIDIA's
    class names."""
    from ganstudio.core.imported.stylegan3 import build_stylegan3

    kwargs = kwargs or SG3_TINY
    torch.manual_seed(seed)
    G = build_stylegan3(kwargs).eval()
    G.synthesis.input.affine.weight.normal_(0.0, 0.5)  # so that each w turns and moves the input differently
    return write_nvidia_pickle(path, G, kwargs, module_src="class SynthesisInput: pass  # never run\n",
                               rename=SG3_NAMES)
