"""The small domain classifiers that ship with GAN Studio: their penultimate layer is a feature space for FID.

Both take generator output as it is: images in [-1, 1], MNIST as 1 x 28 x 28, CelebA faces as 3 x 64 x 64.
`scripts/train_extractors.py` trains them; `extractors.py` loads the shipped weights.
"""
from __future__ import annotations

import torch
from torch import nn


def _conv(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class MNISTClassifier(nn.Module):
    """A three-convolution digit classifier; `features` are its 128 penultimate activations."""

    feature_dim = 128
    num_classes = 10
    input_shape = (1, 28, 28)

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv(1, 32), nn.MaxPool2d(2),  # 14 x 14
            *_conv(32, 64), nn.MaxPool2d(2),  # 7 x 7
            *_conv(64, 128), nn.MaxPool2d(2),  # 3 x 3
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(128 * 3 * 3, self.feature_dim), nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(self.feature_dim, self.num_classes))

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Penultimate features [B, 128] and class logits [B, 10] of images [B, 1, 28, 28] in [-1, 1]."""
        features = self.body(x)
        return features, self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]


class CelebAAttributes(nn.Module):
    """A small CNN predicting CelebA's 40 binary attributes; `features` are its 256 pooled activations."""

    feature_dim = 256
    num_classes = 40
    input_shape = (3, 64, 64)

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv(3, 32, 2),  # 32 x 32
            *_conv(32, 64, 2), *_conv(64, 64),  # 16 x 16
            *_conv(64, 128, 2), *_conv(128, 128),  # 8 x 8
            *_conv(128, 256, 2),  # 4 x 4
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(self.feature_dim, self.num_classes))

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled features [B, 256] and attribute logits [B, 40] of faces [B, 3, 64, 64] in [-1, 1]."""
        features = self.body(x)
        return features, self.head(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]


def parameter_count(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters())


NETWORKS = {"MNISTClassifier": MNISTClassifier, "CelebAAttributes": CelebAAttributes}
FORMAT = "ganstudio-extractor"


def save_network(path, net: nn.Module, meta: dict) -> None:
    """Write a network's weights (as float16, which halves the file) and its description to safetensors."""
    import json
    from pathlib import Path

    from safetensors.torch import save_file

    from ganstudio.core.io import atomic_write

    tensors = {k: (v.half() if v.is_floating_point() else v).detach().cpu().contiguous().clone()
               for k, v in net.state_dict().items()}
    header = {"format": FORMAT, "architecture": type(net).__name__, "meta": json.dumps(meta)}
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=header))


def load_network(path) -> tuple[nn.Module, dict]:
    """A shipped network in eval mode (float32) and its description; safetensors only, never pickle."""
    import json

    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device="cpu") as f:
        header = f.metadata() or {}
        if header.get("format") != FORMAT or header.get("architecture") not in NETWORKS:
            raise ValueError(f"{path} is not a GAN Studio feature extractor")
        state = {k: f.get_tensor(k) for k in f.keys()}
    net = NETWORKS[header["architecture"]]()
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    return net.eval().requires_grad_(False), json.loads(header.get("meta", "{}"))
