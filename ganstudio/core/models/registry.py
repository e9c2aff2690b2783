"""Architectures by name: each builder turns a ModelConfig into a (generator, discriminator) pair (for CycleGAN,
one direction's pair: its trainer builds two)."""
from __future__ import annotations

from typing import Callable

from torch import nn

from ganstudio.core.config import LossConfig, ModelConfig

Builder = Callable[[ModelConfig, LossConfig], tuple[nn.Module, nn.Module]]
_BUILDERS: dict[str, Builder] = {}


_TRANSLATORS: set[str] = set()  # image-to-image models (CycleGAN): no noise to sample, two domains to train on


def register(name: str, translation: bool = False) -> Callable[[Builder], Builder]:
    """Decorator adding an architecture builder under a name; `translation` for image-to-image models."""
    def add(fn: Builder) -> Builder:
        _BUILDERS[name] = fn
        if translation:
            _TRANSLATORS.add(name)
        return fn
    return add


def architectures() -> tuple[str, ...]:
    """The models that generate from noise (what the wizard's model page, sampling and the explorer offer)."""
    _load_builtin()
    return tuple(n for n in _BUILDERS if n not in _TRANSLATORS)


def translation_architectures() -> tuple[str, ...]:
    """The image-to-image models, trained on two domains (CycleGAN)."""
    _load_builtin()
    return tuple(n for n in _BUILDERS if n in _TRANSLATORS)


def all_architectures() -> tuple[str, ...]:
    """Every registered architecture: what a run's configuration may name."""
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

    @register("cyclegan", translation=True)
    def _cyclegan(m: ModelConfig, lo: LossConfig):
        """One translation direction's pair (CycleGAN trains two: A->B with D_B, B->A with D_A)."""
        return ResnetGenerator(m), PatchDiscriminator(m)
