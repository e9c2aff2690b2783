"""Feature extractors by name: the feature space in which generated and real samples are compared.

- `inception`: torchvision's Inception-v3 with ImageNet weights, 2048 pool features, images resized to 299;
  usable when its weights are on this computer (torch hub cache, or a file given by the user).
- `fid-inception`: the TF-Inception of FID papers as pytorch-fid runs it (fid_inception.py): the same weights file,
  resizing and pixel rounding, so its FID is pytorch-fid's; usable when its weights file is on this computer.
- `mnist`: the digit classifier that ships with GAN Studio (128 features, 10 classes).
- `celeba`: the face attribute classifier that ships with GAN Studio (256 features, 40 attributes).
- `points`: the 2D points of the toy distributions themselves.

An extractor takes generator output (images in [-1, 1], [B, C, H, W]) and returns float32 features [B, D] and,
for classifiers with exclusive classes, class probabilities [B, K]. `register_extractor` adds more by name.
"""
from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.core.data.sources import DatasetInfo
from ganstudio.core.errors import ConfigError

INCEPTION_FILE = "inception_v3_google-0cc3c7bd.pth"  # the name torchvision gives its ImageNet weights
INCEPTION_URL = f"https://download.pytorch.org/models/{INCEPTION_FILE}"
INCEPTION_ENV = "GANSTUDIO_INCEPTION_WEIGHTS"  # a weights file to use instead of the torch hub cache
FID_INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"  # pytorch-fid's port of the 2015-12-05 TF graph
FID_INCEPTION_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{FID_INCEPTION_FILE}"
SHIPPED = {"mnist": "mnist-classifier.safetensors", "celeba": "celeba-attributes.safetensors"}
SHIPPED_CHANNELS = {"mnist": 1, "celeba": 3}


@dataclass
class FeatureExtractor:
    """A network (or identity) that maps samples to features, with what it expects of its input."""

    name: str
    title: str  # for people: "MNIST digit classifier (128 features)"
    feature_dim: int
    fingerprint: str  # identifies the weights, for the reference-statistics cache
    forward: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]  # prepared input -> features, logits
    channels: int | None = None  # the channels it reads (None: any, converted); 0 for toy points
    resolution: int | None = None  # the side it reads; other sizes are resized
    class_names: tuple[str, ...] = ()  # exclusive classes its logits predict ("" for attribute classifiers)
    logit_names: tuple[str, ...] = ()  # what each logit predicts, exclusive or not (CelebA's 40 attributes)
    batch_size: int = 256
    module: nn.Module | None = field(default=None, repr=False)
    antialias: bool = True  # when shrinking to `resolution` (pytorch-fid's resize has none)
    eight_bit: bool = False  # round samples to 256 levels first, as the PNG files published FIDs read are
    memory_format: torch.memory_format = torch.contiguous_format  # of the prepared input: the module's own

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def check(self, info: DatasetInfo) -> str:
        """Raise ConfigError if this extractor cannot read the data's samples; else a note on any conversion."""
        if info.is_toy != (self.channels == 0):
            if info.is_toy:
                raise ConfigError(f"toy 2D data has no images for the {self.name} extractor; "
                                  "its metrics use the points themselves (extractor points)")
            raise ConfigError(f"the points extractor is for toy 2D data; {info.source} has images")
        if info.is_toy:
            return ""
        if self.channels is not None and info.channels != self.channels:
            want = "grayscale (1-channel)" if self.channels == 1 else "colour (3-channel)"
            raise ConfigError(f"the {self.title} reads {want} images and {info.source} has {info.channels}-channel "
                              f"images; choose another extractor (inception, {', '.join(sorted(SHIPPED))})")
        notes = []
        if self.channels is None and info.channels == 1:
            notes.append("grayscale repeated to 3 channels")
        if self.resolution and info.resolution != self.resolution:
            notes.append(f"{info.resolution}x{info.resolution} images resized to {self.resolution}x{self.resolution}")
        return f"{self.name} extractor: " + ", ".join(notes) if notes else ""

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Generator output -> this network's input: channels repeated, resized."""
        if self.channels == 0:
            return x.reshape(len(x), -1).float()
        x = x.float()
        if self.eight_bit:  # (x + 1) * 127.5 of real data is its uint8 value: they pass unchanged
            x = x.add(1).mul_(127.5).round_().clamp_(0, 255).div_(127.5).sub_(1)
        if self.channels is None and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if self.resolution and x.shape[-1] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False,
                              antialias=self.antialias and x.shape[-1] > self.resolution)
        return x.contiguous(memory_format=self.memory_format)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(features [B, D] float32, class probabilities [B, K] or None) of samples in [-1, 1]."""
        features, logits = self.forward(self.prepare(x))
        probabilities = logits.float().softmax(1) if logits is not None and self.class_names else None
        return features.float(), probabilities

    def to(self, device: torch.device | str) -> "FeatureExtractor":
        if self.module is not None:
            self.module.to(device)
        return self


# ---------------------------------------------------------------------------------------------------------------
# The registry

Factory = Callable[[str, str], FeatureExtractor]  # (argument after "name:", device) -> extractor
_FACTORIES: dict[str, Factory] = {}


def register_extractor(name: str) -> Callable[[Factory], Factory]:
    """Decorator adding an extractor factory under a name (a plug-in may add its own)."""
    def add(factory: Factory) -> Factory:
        _FACTORIES[name] = factory
        return factory
    return add


def extractor_names() -> tuple[str, ...]:
    return tuple(_FACTORIES)


def get_extractor(spec: str, device: torch.device | str = "cpu") -> FeatureExtractor:
    """An extractor by name, e.g. mnist, celeba, points, inception[:FILE] or fid-inception[:FILE]; ConfigError
    if unknown."""
    name, _, argument = spec.partition(":")
    name = name.strip().lower()
    if name not in _FACTORIES:
        raise ConfigError(f"unknown extractor {spec!r}; use one of {', '.join(extractor_names())}")
    return _FACTORIES[name](argument, str(torch.device(device)))


@register_extractor("inception")
def _inception_factory(argument: str, device: str) -> FeatureExtractor:
    return _inception(str(inception_weights(argument or None)), device)


@register_extractor("fid-inception")
def _fid_inception_factory(argument: str, device: str) -> FeatureExtractor:
    return _fid_inception(str(fid_inception_weights(argument or None)), device)


@register_extractor("mnist")
def _mnist_factory(argument: str, device: str) -> FeatureExtractor:
    _no_argument("mnist", argument)
    return _shipped("mnist", device)


@register_extractor("celeba")
def _celeba_factory(argument: str, device: str) -> FeatureExtractor:
    _no_argument("celeba", argument)
    return _shipped("celeba", device)


@register_extractor("points")
def _points_factory(argument: str, device: str) -> FeatureExtractor:
    _no_argument("points", argument)
    return FeatureExtractor("points", "2D points", 2, "points", lambda x: (x, None), channels=0, batch_size=65536)


def _no_argument(name: str, argument: str) -> None:
    if argument:
        raise ConfigError(f"the {name} extractor takes no file (only inception:FILE and fid-inception:FILE do)")


def default_extractor(info: DatasetInfo) -> tuple[str, str]:
    """(extractor name, note) that suits the data: its domain classifier, else Inception, else a fallback."""
    if info.is_toy:
        return "points", ""
    if SHIPPED_CHANNELS.get(info.source) == info.channels:  # MNIST digits, CelebA faces
        return info.source, ""
    if inception_weights_or_none() is not None:
        return "inception", ""
    fallback = "mnist" if info.channels == 1 else "celeba"
    return fallback, (f"Inception-v3 weights not found ({INCEPTION_FILE}), so the {fallback} classifier's features "
                      "are used; compare these numbers only with numbers from the same extractor")


# ---------------------------------------------------------------------------------------------------------------
# Shipped domain classifiers


def shipped_path(name: str) -> Path:
    """The weights file of a shipped extractor inside the installed package."""
    from ganstudio.resources import resource_path

    return resource_path("extractors", SHIPPED[name])


@functools.lru_cache(maxsize=8)
def _shipped(name: str, device: str) -> FeatureExtractor:
    from ganstudio.core.metrics.networks import load_network

    path = shipped_path(name)
    if not path.is_file():
        raise ConfigError(f"the {name} extractor's weights are missing from this installation ({path}); "
                          "reinstall GAN Studio")
    with torch.random.fork_rng(devices=[]):  # building the network must not move a training run's RNG
        net, meta = load_network(path)
    net.to(device)
    layout = _fastest_layout(net, device)
    classes = tuple(meta.get("classes", ())) if name == "mnist" else ()  # CelebA's 40 attributes are not exclusive
    title = {"mnist": "MNIST digit classifier", "celeba": "CelebA attribute classifier"}[name]
    scale = float(meta.get("feature_scale", 1.0))  # unit mean square on the training set: KID's kernel range

    def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, logits = net.features_and_logits(x)
        return features * scale, logits

    return FeatureExtractor(name, title, net.feature_dim, _file_hash(str(path)), forward,
                            channels=net.input_shape[0], resolution=net.input_shape[1], class_names=classes,
                            logit_names=tuple(meta.get("classes", ())),
                            batch_size=500 if name == "mnist" else 200, module=net, memory_format=layout)


# ---------------------------------------------------------------------------------------------------------------
# Inception-v3


def inception_weights_or_none(explicit: str | Path | None = None) -> Path | None:
    """The Inception-v3 weights file to use: the one given, $GANSTUDIO_INCEPTION_WEIGHTS, or the torch hub cache."""
    for candidate in (explicit, os.environ.get(INCEPTION_ENV)):
        if candidate:
            return Path(candidate).expanduser()
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    return cached if cached.is_file() else None


def inception_weights(explicit: str | Path | None = None) -> Path:
    """The Inception-v3 weights file, or a ConfigError saying how to get it."""
    path = inception_weights_or_none(explicit)
    if path is None:
        folder = Path(torch.hub.get_dir()) / "checkpoints"
        raise ConfigError(f"the Inception-v3 weights are not on this computer: download {INCEPTION_URL} into "
                          f"{folder} (keep the name {INCEPTION_FILE}), or give the file with --inception-weights "
                          "FILE; offline, use --extractor mnist or celeba")
    if not path.is_file():
        raise ConfigError(f"the Inception-v3 weights file {path} does not exist")
    return path


@functools.lru_cache(maxsize=2)
def _inception(path: str, device: str) -> FeatureExtractor:
    from torchvision.models import inception_v3

    state = _read_state_dict(Path(path))
    has_aux = any(k.startswith("AuxLogits.") for k in state)
    # transform_input=False: the Google weights expect [-1, 1], which is what generators produce
    with torch.random.fork_rng(devices=[]):  # building the network must not move a training run's RNG
        net = inception_v3(weights=None, aux_logits=has_aux, init_weights=False, transform_input=False)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise ConfigError(f"{Path(path).name} does not hold torchvision Inception-v3 weights ({detail[:120]})") from None
    net.eval().requires_grad_(False).to(device)
    layout = _fastest_layout(net, device)
    pooled: list[torch.Tensor] = []
    net.avgpool.register_forward_hook(lambda module, inputs, output: pooled.append(output.flatten(1)))

    def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled.clear()
        logits = net(x)
        return pooled.pop(), logits

    classes = tuple(str(i) for i in range(net.fc.out_features))
    return FeatureExtractor("inception", "Inception-v3 (ImageNet)", 2048, _file_hash(path), forward,
                            channels=None, resolution=299, class_names=classes, batch_size=32, module=net,
                            memory_format=layout)


def fid_inception_weights(explicit: str | Path | None = None) -> Path:
    """The FID Inception weights file (given, or in the torch hub cache), or a ConfigError saying how to get it."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"the FID Inception weights file {path} does not exist")
        return path
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    if not (folder / FID_INCEPTION_FILE).is_file():
        raise ConfigError(f"the FID Inception weights are not on this computer: put {FID_INCEPTION_FILE} "
                          f"(pytorch-fid's port of the 2015-12-05 TF-Inception, {FID_INCEPTION_URL}) into {folder}, "
                          "or name the file with --extractor fid-inception:FILE")
    return folder / FID_INCEPTION_FILE


@functools.lru_cache(maxsize=2)
def _fid_inception(path: str, device: str) -> FeatureExtractor:
    from ganstudio.core.metrics.fid_inception import NUM_CLASSES, load_fid_inception

    try:
        net = load_fid_inception(_read_state_dict(Path(path), "FID Inception"), path)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    net.to(device)
    layout = _fastest_layout(net, device)
    classes = tuple(str(i) for i in range(NUM_CLASSES))
    return FeatureExtractor("fid-inception", "TF-Inception v3 of FID (2015-12-05)", net.feature_dim,
                            _file_hash(path), net.features_and_logits, channels=None, resolution=net.resolution,
                            class_names=classes, batch_size=32, module=net, antialias=False, eight_bit=True,
                            memory_format=layout)


def _fastest_layout(net: nn.Module, device: str) -> torch.memory_format:
    """channels_last on the CPU, where these networks run 1.2-1.6x faster (benchmarks/eval_speed.py); the module
    is converted to it."""
    if torch.device(device).type != "cpu":
        return torch.contiguous_format
    net.to(memory_format=torch.channels_last)
    return torch.channels_last


def _read_state_dict(path: Path, title: str = "Inception-v3") -> dict[str, torch.Tensor]:
    """A state dict from safetensors, or from a torch file with the safe loader (weights_only); never pickle."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # damaged, hostile (weights_only refuses code) or another format
        raise ConfigError(f"cannot read {title} weights from {path.name} "
                          f"({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ConfigError(f"{path.name} is not a state dict of tensors")
    return state


@functools.lru_cache(maxsize=16)
def _file_hash(path: str) -> str:
    """The first 16 hex digits of a file's SHA-256."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
