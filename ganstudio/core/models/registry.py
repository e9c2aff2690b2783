"""Architectures by name: each builder turns a ModelConfig into a (generator, discriminator) pair (for CycleGAN,
one direction's pair: its trainer builds two)."""
from __future__ import annotations

from typing import Callable

from torch import nn

from ganstudio.core.config import LossConfig, ModelConfig

Builder = Callable[[ModelConfig, LossConfig], tuple[nn.Module, nn.Module]]
_BUILDERS: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator adding an architecture builder under a name."""
    def add(fn: Builder) -> Builder:
        _BUILDERS[name] = fn
        return fn
    return add


def architectures() -> tuple[str, ...]:
    _load_builtin()
    return tuple(_BUILDERS)


def build_models(model: ModelConfig, loss: LossConfig) -> tuple[nn.Module, nn.Module]:
    """A fresh generator and discriminator for this configuration."""
    _load_builtin()
    return _BUILDERS[model.arch](model, loss)


def _load_builtin() -> None:
    if _BUILDERS:
        return
    from ganstudio.core.models.cyclegan import PatchDiscriminator, ResnetGenerator
    from ganstudio.core.models.dcgan import DCGANDiscriminator, DCGANGenerator
    from ganstudio.core.models.layers import resolve_d_norm
    from ganstudio.core.models.mlp import MLPDiscriminator, MLPGenerator
    from ganstudio.core.models.stylegan import StyleGANDiscriminator, StyleGANGenerator

    @register("mlp")
    def _mlp(m: ModelConfig, lo: LossConfig):
        norm = resolve_d_norm(m.d_norm, m.spectral_norm, lo.name)
        return MLPGenerator(m), MLPDiscriminator(m, norm="layer" if norm == "layer" else "none")

    @register("dcgan")
    def _dcgan(m: ModelConfig, lo: LossConfig):
        return DCGANGenerator(m), DCGANDiscriminator(m, norm=resolve_d_norm(m.d_norm, m.spectral_norm, lo.name))


    @register("stylegan")
    def _stylegan(m: ModelConfig, lo: LossConfig):
        return StyleGANGenerator(m), StyleGANDiscriminator(m)

    @register("cyclegan")
    def _cyclegan(m: ModelConfig, lo: LossConfig):
        """One translation direction's pair (CycleGAN trains two: A->B with D_B, B->A with D_A)."""
        return ResnetGenerator(m), PatchDiscriminator(m)
