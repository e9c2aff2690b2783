"""The one place that builds a run's configuration from the user's choices, for the wizard and the command line.

The layers, each over the one before:
  RunConfig's field defaults < the data family's (toy points or images) < the architecture's (StyleGAN brings the
  StyleGAN2 recipe) < the preset < explicit overrides (a config file, flags, the wizard's own edits) < the choices.
A choice left as None falls to the preset, then to the defaults. The result is not validated: the command line
validates it, the wizard shows its problems page by page.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ganstudio.core.config import CYCLEGAN_RESOLUTIONS, STYLEGAN_RESOLUTIONS, RunConfig
from ganstudio.core.errors import GanStudioError
from ganstudio.core.presets import find_preset, merge

DEFAULT_SOURCE = "mnist"
SMALL_DATA_IMAGES = 5000  # below about this many images D learns them by heart unless they are augmented


@dataclass(frozen=True)
class RunChoices:
    """What the user picked; None leaves a choice to the preset, then to the defaults."""

    source: str | None = None  # a torchvision set, "toy:NAME" or "folder:PATH"
    arch: str | None = None
    conditional: bool | None = None
    resolution: int | None = None
    preset: str | None = None
    data_side: int | None = None  # the shorter side nine images in ten have (a folder's preview): caps the default


DCGAN_RESOLUTIONS = (16, 28, 32, 64, 128)


def run_config(choices: RunChoices, *overrides: dict[str, Any]) -> RunConfig:
    """The run configuration for these choices, with partial config dicts (earlier ones lose) over the defaults."""
    preset = find_preset(choices.preset) if choices.preset else None
    preset_config = preset.config if preset else {}
    source = choices.source or preset_config.get("data", {}).get("source") or DEFAULT_SOURCE
    arch = choices.arch or preset_config.get("model", {}).get("arch") or family_arch(source)
    side = choices.resolution or preset_config.get("data", {}).get("resolution")
    if side is None:
        side = fitted_resolution(arch, stylegan_resolution(arch, source) or _native(source), choices.data_side)
    config = merge(RunConfig().to_dict(), family_defaults(source))
    config = merge(config, architecture_defaults(arch, side))
    if preset:
        config = merge(merge(config, preset_config), {"preset": preset.key})
    for override in overrides:
        config = merge(config, override)
    chosen = {"data": {"source": choices.source, "resolution": choices.resolution},
              "model": {"arch": choices.arch, "conditional": choices.conditional}}
    chosen = {section: {k: v for k, v in values.items() if v is not None} for section, values in chosen.items()}
    cfg = RunConfig.from_dict(merge(config, chosen))
    if cfg.data.resolution is None and not cfg.data.is_toy:  # StyleGAN on 28 px MNIST: 32; small images: less
        native = _native(cfg.data.source)
        picked = fitted_resolution(cfg.model.arch, stylegan_resolution(cfg.model.arch, cfg.data.source) or native,
                                   choices.data_side)
        if picked is not None and picked != native:
            cfg = cfg.with_updates("data", resolution=picked)
    return cfg


def augmentation_advice(images: int | None, config: RunConfig) -> str | None:
    """A sentence suggesting augmentation when an image set is small and the run does not augment; else None (also
    for toy points and for a CycleGAN, whose step has no augmentation)."""
    if (images is None or config.data.is_toy or config.data.is_translation or config.loss.augment != "none"
            or images >= SMALL_DATA_IMAGES):
        return None
    return (f"{images:,} images is a small set (fewer than about {SMALL_DATA_IMAGES:,}): without augmentation D "
            "soon learns them by heart and G stops improving. ADA is the usual choice.")


def supported_resolutions(arch: str) -> tuple[int, ...]:
    """The image sides an architecture can make."""
    return {"stylegan": STYLEGAN_RESOLUTIONS, "cyclegan": CYCLEGAN_RESOLUTIONS}.get(arch, DCGAN_RESOLUTIONS)


def fitted_resolution(arch: str, side: int | None, data_side: int | None) -> int | None:
    """The default side kept within what the images allow: the largest the architecture makes, not above `side`,
    at which images of `data_side` px are used (see core.data.decode.min_side); `side` when the data is unknown
    or too small for any."""
    if side is None or data_side is None:
        return side
    from ganstudio.core.data.decode import min_side

    fitting = [r for r in supported_resolutions(arch) if r <= side and min_side(r) <= data_side]
    return fitting[-1] if fitting else side


def data_family(source: str | None) -> str:
    """"toy" for 2D points, "images" for everything else."""
    return "toy" if (source or DEFAULT_SOURCE).startswith("toy:") else "images"


def family_arch(source: str) -> str:
    """The architecture a data family starts with: the MLP for 2D points, DCGAN for images."""
    return "mlp" if source.startswith("toy:") else "dcgan"


def family_defaults(source: str) -> dict[str, Any]:
    """The model and schedule a data family starts from. Toy 2D data wants a small MLP with a 2D latent (as in
    GAN Lab), large batches and a short EMA, which learn the ring in ~3000 steps; images train 5 epochs."""
    if source.startswith("toy:"):
        return {"model": {"arch": "mlp", "z_dim": 2},
                "train": {"batch_size": 256, "lr_g": 5e-4, "lr_d": 5e-4, "ema_decay": 0.99, "steps": 3000,
                          "epochs": None, "sample_every": 250, "grid_size": 512}}
    return {"model": {"arch": "dcgan"}, "train": {"steps": None, "epochs": 5.0}}


def architecture_defaults(arch: str, resolution: int | None = None) -> dict[str, Any]:
    """What an architecture brings over its data family's defaults.

    StyleGAN trains with the recipe of Karras et al. 2020: the non-saturating logistic loss with lazy R1
    (gamma grows with the image area: 0.0625 at 32 px, 0.25 at 64, 1 at 128), Adam at 0.002 with betas
    (0, 0.99), z and w of 512 and a full-width network (capacity 64). Its steps take seconds on a CPU, so its
    length is in steps that suit the machine (see stylegan_steps), not five epochs.

    CycleGAN trains with the recipe of Zhu et al. 2017: the least-squares loss, batch 1, Adam at 2e-4 with betas
    (0.5, 0.999) decaying linearly to 0 over the second half, no EMA; its grid shows 6 images of each domain."""
    if arch == "cyclegan":
        return {"loss": {"name": "lsgan"},
                "train": {"batch_size": 1, "lr_g": 2e-4, "lr_d": 2e-4, "betas_g": [0.5, 0.999],
                          "betas_d": [0.5, 0.999], "ema": False, "grid_size": 6, "lr_decay_share": 0.5}}
    if arch != "stylegan":
        return {}
    side = resolution or 64
    steps, sample_every = stylegan_steps()
    return {"model": {"z_dim": 512, "w_dim": 512, "capacity": 64},
            "loss": {"name": "bce", "r1_weight": side * side / 16384, "r1_interval": 16},
            "train": {"lr_g": 0.002, "lr_d": 0.002, "betas_g": [0.0, 0.99], "betas_d": [0.0, 0.99],
                      "batch_size": 32, "steps": steps, "epochs": None, "sample_every": sample_every}}


def stylegan_steps() -> tuple[int, int]:
    """A first StyleGAN run's length and grid interval on this machine: 1,000 steps (about 25 minutes of a
    full-width 32 px model on 2 CPU cores) with a grid every 100, or 25,000 with a GPU, a grid every 500."""
    from ganstudio.core.device import resolve_device

    if resolve_device("auto").type == "cpu":
        return 1000, 100
    return 25_000, 500


def stylegan_resolution(arch: str, source: str) -> int | None:
    """The side a StyleGAN uses for data whose own side it cannot make (28 px MNIST: 32); None when the data's
    own side works, or for another architecture."""
    native = _native(source)
    if arch != "stylegan" or native is None or native in STYLEGAN_RESOLUTIONS:
        return None
    return next((r for r in STYLEGAN_RESOLUTIONS if r >= native), STYLEGAN_RESOLUTIONS[-1])


def choices_of(config: RunConfig) -> RunChoices:
    """The choices a configuration was made from, as far as it tells: a resolution or class condition that the
    defaults and the preset give by themselves is left to them."""
    choices = RunChoices(config.data.source, config.model.arch, config.model.conditional, config.data.resolution,
                         config.preset)  # the data's side is not in a config: the wizard learns it from a preview
    try:
        built = run_config(replace(choices, resolution=None, conditional=None))
    except GanStudioError:
        return choices  # an unknown preset: keep everything as given
    if built.data.resolution == config.data.resolution:
        choices = replace(choices, resolution=None)
    if built.model.conditional == config.model.conditional:
        choices = replace(choices, conditional=None)
    return choices


def config_edits(config: RunConfig, base: RunConfig) -> dict[str, Any]:
    """The settings of `config` that differ from `base`, as a partial config dict."""
    return _diff(config.to_dict(), base.to_dict())


def _diff(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(old.get(key), dict):
            inner = _diff(value, old[key])
            if inner:
                out[key] = inner
        elif old.get(key, object()) != value:
            out[key] = value
    return out


def _native(source: str) -> int | None:
    from ganstudio.core.data import native_resolution

    try:
        return native_resolution(source)
    except GanStudioError:
        return None  # an unknown source: validation names it
