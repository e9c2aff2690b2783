"""Typed run configuration: frozen dataclasses saved as JSON next to every run and checkpoint."""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ganstudio.core.errors import ConfigError

# Architectures are named by core.models.registry and losses by core.losses: validate() asks them.
AUGMENTS = ("none", "diffaug", "ada")
D_COMBINES = ("mean", "softmax")
DATA_SOURCES = ("mnist", "fashion-mnist", "cifar10", "celeba")
TOY_NAMES = ("ring8", "grid25", "moons", "spiral")
STYLEGAN_RESOLUTIONS = (32, 64, 128)
CYCLEGAN_RESOLUTIONS = (32, 64, 128, 256)
MODULATIONS = ("demod", "adain")  # StyleGAN2 weight demodulation, or the first StyleGAN's AdaIN


@dataclass(frozen=True)
class DataConfig:
    """Where the training data comes from and how it is shaped for the model."""

    source: str = "mnist"  # one of DATA_SOURCES, "toy:NAME" or "folder:PATH"
    root: str = "data"  # where torchvision datasets are looked for and downloaded to
    download: bool = True
    resolution: int | None = None  # None: the dataset's native size (28 for MNIST, 32 for CIFAR-10, 64 else)
    channels: int | None = None  # None: the dataset's own (1 for MNIST, 3 for colour)
    center_crop: int | None = None  # crop this square from the centre before resizing (faces)
    toy_samples: int = 20000  # points drawn once per run from a toy distribution
    memory_limit_mb: int = 4096  # larger datasets stream from disk instead of living in memory
    # Unpaired translation (CycleGAN): domain B from a second folder, or CelebA split by attributes.
    source_b: str | None = None  # "folder:PATH" of domain B (source is then domain A's folder)
    domains: str | None = None  # CelebA: "ATTR" (A without it, B with it) or "ATTR_A:ATTR_B"

    @property
    def is_toy(self) -> bool:
        return self.source.startswith("toy:")

    @property
    def is_folder(self) -> bool:
        return self.source.startswith("folder:")

    @property
    def is_translation(self) -> bool:
        """Two image domains (a second folder, or CelebA split by attributes) rather than one set."""
        return self.source_b is not None or self.domains is not None


@dataclass(frozen=True)
class ModelConfig:
    """Which generator / discriminator pair, and the architectural switches of D."""

    arch: str = "dcgan"  # a name in core.models.registry.all_architectures()
    conditional: bool = False
    z_dim: int = 100
    capacity: int = 64  # base width: DCGAN feature maps (ngf = ndf), MLP scales 256-512-1024 by capacity/64
    d_condition: str = "projection"  # conditional D: "projection" (Miyato 2018) or "concat"
    spectral_norm: bool = False  # spectral normalization on every D layer
    d_norm: str = "auto"  # "auto", "batch", "layer" or "none"; auto drops batch norm for SN and WGAN-GP
    d_dropout: float = 0.0  # dropout in D (the MLP discriminator uses 0.3 when this is 0 and arch is mlp)
    minibatch_std: bool = False  # Karras 2018 minibatch standard-deviation feature
    minibatch_discrimination: bool = False  # Salimans 2016 minibatch discrimination layer
    num_d: int = 1  # independently initialised discriminators, each with its own optimizer (GMAN, Durugkar 2017)
    # StyleGAN (arch "stylegan"; Karras 2019, 2020). capacity is the width at the output size, doubling per halving.
    w_dim: int = 512  # size of the intermediate latent w (the styles)
    mapping_layers: int = 8  # fully connected layers of the mapping network z -> w
    mapping_lr_mul: float = 0.01  # learning-rate multiplier of the mapping network
    modulation: str = "demod"  # "demod" (StyleGAN2 weight demodulation) or "adain" (StyleGAN AdaIN)
    style_mixing_prob: float = 0.9  # style-mixing regularization: share of training samples with two latents
    truncation_psi: float = 1.0  # default truncation when sampling (ganstudio sample, explorer); grids use 1
    truncation_cutoff: int | None = None  # truncate only style rows below this (None: all rows)
    progressive: bool = False  # grow G and D from 4x4 with fade-in (Karras 2018)
    progressive_share: float = 0.5  # share of the training steps spent growing to full size
    # CycleGAN (arch "cyclegan"; Zhu 2017): residual blocks of each ResNet generator (0: by resolution)
    residual_blocks: int = 0
    # Filled in from the data when a run starts; part of the checkpoint's architecture.
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    channels: int = 1
    resolution: int = 28
    toy: bool = False


@dataclass(frozen=True)
class LossConfig:
    """The adversarial loss and the stabilization tricks applied to it."""

    name: str = "bce"  # a name in core.losses.LOSSES
    gp_weight: float = 10.0  # WGAN-GP gradient penalty
    r1_weight: float = 0.0  # R1 penalty on real data (0 = off); StyleGAN's gamma
    r1_interval: int = 1  # lazy R1 (StyleGAN2): apply it every N discriminator steps, scaled by N
    clip_value: float = 0.01  # WGAN weight clipping
    label_smoothing: float = 0.0  # one-sided: real target 1 - s (minimax, bce, lsgan)
    instance_noise: float = 0.0  # std of Gaussian noise on D's inputs, annealed to 0 over the run
    feature_matching: bool = False  # G matches D's mean features on real data (Salimans 2016)
    augment: str = "none"  # every image D sees: "none", "diffaug" (Zhao 2020) or "ada" (Karras 2020)
    ada_target: float = 0.6  # ADA: the target of r_t = E[sign(D(x_real))]
    ada_interval: int = 4  # ADA: D steps between adjustments of p
    ada_speed_images: int = 0  # ADA: images for p to go from 0 to 1; 0: fitted to the run's length (see augment)
    d_combine: str = "mean"  # several discriminators: G's losses combined by "mean" or "softmax" (GMAN)
    d_softmax_lambda: float = 1.0  # GMAN's lambda: softmax weights exp(lambda * loss_i); 0 is the mean
    # CycleGAN (Zhu 2017): cycle consistency weight (lambda), identity weight as a share of it, fake-image pool
    cycle_weight: float = 10.0
    identity_weight: float = 0.5
    pool_size: int = 50


@dataclass(frozen=True)
class TrainConfig:
    """The schedule and the optimizers."""

    batch_size: int = 64
    steps: int | None = None  # generator steps; exactly one of steps / epochs
    epochs: float | None = 1.0
    d_steps: int = 1  # discriminator steps per generator step
    optimizer: str = "adam"  # "adam" or "rmsprop" (WGAN with clipping)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas_g: tuple[float, float] = (0.5, 0.999)
    betas_d: tuple[float, float] = (0.5, 0.999)
    ema: bool = True
    ema_decay: float = 0.999
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", "mps"
    channels_last: bool | None = None  # None: the faster layout for the device, chosen when the run starts
    precision: str = "fp32"  # "fp32", "bf16" (autocast) or "fp16" (autocast + gradient scaling, CUDA only)
    tf32: bool = False  # TF32 matrix math on CUDA (Ampere and newer)
    sync_batchnorm: bool = False  # under torchrun: batch-norm statistics over all processes' batches
    unroll: int = 0  # unrolled GAN (Metz 2017): G's update against D advanced this many steps (0 = off)
    log_every: int = 1  # write metrics.jsonl every N steps
    tensorboard: bool = False  # also write TensorBoard events into the run folder (needs the tensorboard package)
    sample_every: int = 500  # sample grid every N steps (and at every epoch end); 0 = epochs only
    checkpoint_every: int = 1000  # 0 = only at the end
    keep_checkpoints: int = 3
    grid_size: int = 64  # samples in the fixed-noise grid
    eval_every: int = 0  # evaluate G every N steps and at the end, into evals.jsonl (0 = off)
    eval_metrics: tuple[str, ...] = ()  # e.g. ("fid", "kid", "pr"); empty: the metrics that suit the data
    eval_samples: int = 2000  # generated (and real) samples per evaluation
    eval_extractor: str = "auto"  # feature extractor: auto, inception[:FILE], mnist, celeba, points
    lr_decay_share: float = 0.0  # CycleGAN: the learning rates fall linearly to 0 over this last share of steps


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run."""

    name: str = "run"
    preset: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(dataclasses.asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        return _from_dict(cls, data, "config")

    @classmethod
    def from_json(cls, text: str) -> "RunConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"the configuration is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise ConfigError("the configuration must be a JSON object")
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read configuration {path}: {exc.strerror or exc}") from None
        return cls.from_json(text)

    def save(self, path: str | Path) -> None:
        from ganstudio.core.io import atomic_write_text

        atomic_write_text(Path(path), self.to_json() + "\n")

    def validate(self) -> "RunConfig":
        """Check values that cannot work together; return self for chaining."""
        validate(self)
        return self

    def with_updates(self, section: str | None = None, **changes: Any) -> "RunConfig":
        """A copy with fields of one section (or of the run itself) replaced."""
        if section is None:
            return replace(self, **changes)
        return replace(self, **{section: replace(getattr(self, section), **changes)})


def validate(cfg: RunConfig) -> None:
    """Raise ConfigError with one clear sentence for the first impossible setting."""
    d, m, lo, t = cfg.data, cfg.model, cfg.loss, cfg.train
    if not (d.source in DATA_SOURCES or d.is_folder or d.is_toy):
        raise ConfigError(
            f"unknown data source {d.source!r}; use one of {', '.join(DATA_SOURCES)}, "
            f"toy:{{{','.join(TOY_NAMES)}}} or folder:PATH"
        )
    if d.is_toy and d.source[4:] not in TOY_NAMES:
        raise ConfigError(f"unknown toy distribution {d.source[4:]!r}; use one of {', '.join(TOY_NAMES)}")
    if d.is_folder and not d.source[7:]:
        raise ConfigError("folder: needs a path, e.g. folder:~/pictures/cats")
    from ganstudio.core.models.registry import all_architectures

    if m.arch not in all_architectures():
        raise ConfigError(f"unknown model {m.arch!r}; use one of {', '.join(all_architectures())}")
    if d.is_toy and m.arch != "mlp":
        raise ConfigError(f"toy 2D data needs the mlp model, not {m.arch}")
    if d.resolution is not None and m.arch == "dcgan" and not _dcgan_resolution_ok(d.resolution):
        raise ConfigError(
            f"DCGAN resolution {d.resolution} is not supported; use 28 or a power of two from 16 to 128"
        )
    if m.arch == "stylegan":
        _validate_stylegan(cfg)
    if m.arch == "cyclegan" or d.is_translation:
        _validate_cyclegan(cfg)
    if d.channels not in (None, 1, 3):
        raise ConfigError(f"channels must be 1 (grayscale) or 3 (colour), not {d.channels}")
    from ganstudio.core.losses import LOSSES

    if lo.name not in LOSSES:
        raise ConfigError(f"unknown loss {lo.name!r}; use one of {', '.join(LOSSES)}")
    if m.d_condition not in ("projection", "concat"):
        raise ConfigError(f"d_condition must be 'projection' or 'concat', not {m.d_condition!r}")
    if m.d_norm not in ("auto", "batch", "layer", "none"):
        raise ConfigError(f"d_norm must be auto, batch, layer or none, not {m.d_norm!r}")
    if not 0.0 <= m.d_dropout < 1.0:
        raise ConfigError(f"d_dropout must be in [0, 1), not {m.d_dropout}")
    if not 0.0 <= lo.label_smoothing < 0.5:
        raise ConfigError(f"label smoothing must be in [0, 0.5), not {lo.label_smoothing}")
    if lo.label_smoothing and lo.name not in ("minimax", "bce", "lsgan"):
        raise ConfigError(f"label smoothing applies to minimax, bce and lsgan losses, not {lo.name}")
    if lo.instance_noise < 0 or lo.gp_weight < 0 or lo.r1_weight < 0 or lo.clip_value <= 0:
        raise ConfigError("noise, penalty weights and clip value must not be negative")
    if (t.steps is None) == (t.epochs is None):
        raise ConfigError("give exactly one of steps or epochs")
    if t.steps is not None and t.steps < 1 or t.epochs is not None and t.epochs <= 0:
        raise ConfigError("steps and epochs must be positive")
    if t.batch_size < (1 if m.arch == "cyclegan" else 2):  # CycleGAN's instance norm works on single images
        raise ConfigError("batch size must be at least 2 (batch norm and minibatch features need a batch)")
    if t.d_steps < 1:
        raise ConfigError("D steps per G step must be at least 1")
    if t.lr_g <= 0 or t.lr_d <= 0:
        raise ConfigError("learning rates must be positive")
    if t.optimizer not in ("adam", "rmsprop"):
        raise ConfigError(f"optimizer must be adam or rmsprop, not {t.optimizer!r}")
    if not 0.0 < t.ema_decay < 1.0:
        raise ConfigError(f"EMA decay must be between 0 and 1, not {t.ema_decay}")
    if t.precision not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"precision must be fp32, bf16 or fp16, not {t.precision!r}")
    if t.lr_decay_share and m.arch != "cyclegan":
        raise ConfigError("the linear learning-rate decay (lr_decay_share) is part of the cyclegan recipe only")
    if t.keep_checkpoints < 1:
        raise ConfigError("keep at least one checkpoint")
    if lo.r1_interval < 1:
        raise ConfigError(f"the R1 interval must be at least 1 discriminator step, not {lo.r1_interval}")
    _validate_small_data(cfg)
    if t.eval_every < 0 or t.eval_samples < 10:
        raise ConfigError("eval_every must not be negative and eval_samples must be at least 10")
    if t.eval_metrics:
        from ganstudio.core.metrics.evaluate import parse_metrics

        parse_metrics(t.eval_metrics)


def _validate_small_data(cfg: RunConfig) -> None:
    """Augmentation, unrolling and several discriminators."""
    d, m, lo, t = cfg.data, cfg.model, cfg.loss, cfg.train
    if lo.augment not in AUGMENTS:
        raise ConfigError(f"augment must be {', '.join(AUGMENTS)}, not {lo.augment!r}")
    if lo.augment != "none" and (d.is_toy or m.toy):
        raise ConfigError(f"{lo.augment} augments images; toy 2D points have none to augment")
    if not 0.0 < lo.ada_target < 1.0:
        raise ConfigError(f"the ADA target must be between 0 and 1, not {lo.ada_target}")
    if lo.ada_interval < 1 or lo.ada_speed_images < 0:
        raise ConfigError("the ADA interval must be at least 1, and its speed at least 1 image (0: fitted to the run)")
    if not 0 <= t.unroll <= 100:
        raise ConfigError(f"unroll takes 0 (off) to 100 D steps, not {t.unroll}")
    if not 1 <= m.num_d <= 16:
        raise ConfigError(f"the number of discriminators must be 1 to 16, not {m.num_d}")
    if lo.d_combine not in D_COMBINES:
        raise ConfigError(f"d_combine must be {' or '.join(D_COMBINES)}, not {lo.d_combine!r}")
    if lo.d_softmax_lambda < 0:
        raise ConfigError(f"the soft-max lambda must not be negative, not {lo.d_softmax_lambda}")


def _validate_stylegan(cfg: RunConfig) -> None:
    """The StyleGAN settings, and the other models' switches its discriminator does not have."""
    d, m = cfg.data, cfg.model
    if d.resolution is not None and d.resolution not in STYLEGAN_RESOLUTIONS:
        raise ConfigError(f"StyleGAN resolution {d.resolution} is not supported; use 32, 64 or 128")
    if d.resolution is None:
        from ganstudio.core.data.sources import native_resolution

        native = native_resolution(d.source)
        if native not in STYLEGAN_RESOLUTIONS:
            raise ConfigError(f"StyleGAN needs a resolution of 32, 64 or 128 px, and {d.source} is "
                              f"{native}x{native}; set the resolution to 32")
    if m.w_dim < 1 or m.z_dim < 1 or m.capacity < 1:
        raise ConfigError("w_dim, z_dim and capacity must be positive")
    if not 1 <= m.mapping_layers <= 16:
        raise ConfigError(f"the mapping network needs 1 to 16 layers, not {m.mapping_layers}")
    if m.mapping_lr_mul <= 0:
        raise ConfigError("the mapping network's learning-rate multiplier must be positive")
    if m.modulation not in MODULATIONS:
        raise ConfigError(f"modulation must be {' or '.join(MODULATIONS)}, not {m.modulation!r}")
    if not 0.0 <= m.style_mixing_prob <= 1.0:
        raise ConfigError(f"the style-mixing probability must be in [0, 1], not {m.style_mixing_prob}")
    if m.truncation_cutoff is not None and m.truncation_cutoff < 0:
        raise ConfigError("the truncation cutoff must not be negative")
    if not 0.0 <= m.progressive_share <= 1.0:
        raise ConfigError(f"progressive_share must be in [0, 1], not {m.progressive_share}")
    unsupported = [name for name, on in (("spectral norm", m.spectral_norm),
                                         ("minibatch discrimination", m.minibatch_discrimination),
                                         ("D dropout", m.d_dropout > 0),
                                         ("batch/layer norm in D", m.d_norm in ("batch", "layer")),
                                         ("the concat class condition", m.conditional and m.d_condition == "concat"))
                   if on]
    if unsupported:
        raise ConfigError(f"StyleGAN's residual discriminator does not use {unsupported[0]} (it has equalized "
                          "learning rate, minibatch std-dev and a projection class condition built in)")


def _validate_cyclegan(cfg: RunConfig) -> None:
    """Unpaired translation: two domains, the CycleGAN model, and the switches its step does not have."""
    d, m, lo, t = cfg.data, cfg.model, cfg.loss, cfg.train
    if m.arch != "cyclegan":
        raise ConfigError(f"two image domains (--data-b, --domains) are for the cyclegan model, not {m.arch}")
    if not d.is_translation:
        raise ConfigError("cyclegan translates between two image sets: give --data folder:A --data-b folder:B, "
                          "or --data celeba --domains ATTRIBUTE")
    if d.source_b is not None and d.domains is not None:
        raise ConfigError("give either a second folder (--data-b) or CelebA attributes (--domains), not both")
    if d.source_b is not None and not (d.is_folder and d.source_b.startswith("folder:") and d.source_b[7:]):
        raise ConfigError("unpaired folders are given as --data folder:PATH_A --data-b folder:PATH_B")
    if d.domains is not None and d.source != "celeba":
        raise ConfigError(f"--domains splits CelebA by its attributes; it does not apply to {d.source}")
    if d.domains is not None and (not all(d.domains.split(":")) or d.domains.count(":") > 1):
        raise ConfigError(f"--domains takes ATTRIBUTE or ATTRIBUTE_A:ATTRIBUTE_B, not {d.domains!r}")
    if d.domains is not None:
        from ganstudio.core.data.domains import unknown_attributes  # the data layer imports this module

        problem = unknown_attributes(d.domains.split(":"))
        if problem:
            raise ConfigError(f"--domains: {problem}")
    if d.resolution is not None and d.resolution not in CYCLEGAN_RESOLUTIONS:
        raise ConfigError(f"CycleGAN resolution {d.resolution} is not supported; use 32, 64, 128 or 256")
    if not 0 <= m.residual_blocks <= 32 or m.capacity < 1:
        raise ConfigError("the residual blocks must be 0 (by resolution) to 32, and the capacity positive")
    if lo.name != "lsgan":
        raise ConfigError(f"CycleGAN trains with the least-squares loss (lsgan), not {lo.name}")
    if lo.cycle_weight < 0 or lo.identity_weight < 0 or not 0 <= lo.pool_size <= 1000:
        raise ConfigError("the cycle and identity weights must not be negative, and the pool holds 0 to 1000 fakes")
    if not 0.0 <= t.lr_decay_share <= 1.0:
        raise ConfigError(f"lr_decay_share must be in [0, 1], not {t.lr_decay_share}")
    unsupported = [name for name, on in (("a class condition", m.conditional), ("several discriminators", m.num_d > 1),
                                         ("an unrolled D", t.unroll > 0), ("augmentation", lo.augment != "none"),
                                         ("feature matching", lo.feature_matching), ("spectral norm", m.spectral_norm),
                                         ("several D steps per G step", t.d_steps != 1),
                                         ("evaluation while training", t.eval_every > 0),
                                         ("fp16 (use bf16)", t.precision == "fp16"),
                                         ("RMSprop", t.optimizer != "adam")) if on]
    if unsupported:
        raise ConfigError(f"CycleGAN's training step does not use {unsupported[0]}")


def _dcgan_resolution_ok(res: int) -> bool:
    return res == 28 or (16 <= res <= 128 and res & (res - 1) == 0)


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    return value


def _from_dict(cls: type, data: Any, where: str) -> Any:
    """Build a dataclass from JSON data, checking types; unknown keys are an error with their path."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a JSON object")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown setting {where}.{unknown[0]}; known settings: {', '.join(sorted(known))}")
    kwargs = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value, where)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, where)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where} must be a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, where) for v in value)
        if len(value) != len(args):
            raise ConfigError(f"{where} must have {len(args)} values")
        return tuple(_coerce(a, v, where) for a, v in zip(args, value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, not {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, not {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {value!r}")
        return value
    if hint is Any:
        return value
    raise ConfigError(f"{where}: unsupported type {hint}")
