"""CycleGAN's networks (Zhu et al. 2017, appendix 7.2), written from the paper.

The generator is c7s1-k, d2k, d4k, R4k x n, u2k, uk, c7s1-C (Johnson et al. 2016's ResNet with reflection
padding and instance norm); k is the capacity (64 in the paper), n the residual blocks (9 at 256 px, 6 at 128,
fewer at 64 and 32 px, see `residual_blocks`). The discriminator is the 70x70 PatchGAN C64-C128-C256-C512 with
leaky ReLU 0.2 and instance norm (none on the first layer), one score per overlapping patch.
"""
from __future__ import annotations

from torch import Tensor, nn

from ganstudio.core.config import ModelConfig

BLOCKS_BY_RESOLUTION = {32: 3, 64: 4, 128: 6, 256: 9}


def residual_blocks(model: ModelConfig) -> int:
    """The generator's residual blocks: the config's, or 9 at 256 px, 6 at 128, 4 at 64, 3 at 32."""
    if model.residual_blocks:
        return model.residual_blocks
    return BLOCKS_BY_RESOLUTION.get(model.resolution, 6 if model.resolution > 64 else 3)


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    """Two 3x3 reflection-padded convolutions with instance norm, added to the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """One translation direction: an image [B, C, H, W] in [-1, 1] to an image of the other domain."""

    def __init__(self, m: ModelConfig):
        super().__init__()
        c, k = m.channels, m.capacity
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(c, k, 7), _norm(k), nn.ReLU(inplace=True)]
        for mult in (1, 2):  # d2k, d4k: 3x3 stride-2 convolutions
            layers += [nn.Conv2d(k * mult, k * mult * 2, 3, stride=2, padding=1), _norm(k * mult * 2),
                       nn.ReLU(inplace=True)]
        layers += [ResidualBlock(4 * k) for _ in range(residual_blocks(m))]
        for mult in (4, 2):  # u2k, uk: fractionally strided convolutions
            layers += [nn.ConvTranspose2d(k * mult, k * mult // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(k * mult // 2), nn.ReLU(inplace=True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(k, c, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.channels, self.resolution = c, m.resolution
        self.apply(_init_weights)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"the generator takes [B, {self.channels}, H, W] images, not {list(x.shape)}")
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """The 70x70 PatchGAN: a map of real/fake scores, one per overlapping 70x70 patch (smaller at 32 px)."""

    def __init__(self, m: ModelConfig):
        super().__init__()
        k = m.capacity
        layers: list[nn.Module] = [nn.Conv2d(m.channels, k, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        width = k
        for stride in (2, 2, 1):  # C128, C256 stride 2; C512 stride 1
            layers += [nn.Conv2d(width, width * 2, 4, stride=stride, padding=1), _norm(width * 2),
                       nn.LeakyReLU(0.2, True)]
            width *= 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 4, stride=1, padding=1)
        self.apply(_init_weights)

    def forward(self, x: Tensor, labels: Tensor | None = None, return_features: bool = False):
        h = self.features(x)
        out = self.head(h)
        return (out, h.flatten(1)) if return_features else out


def _init_weights(module: nn.Module) -> None:
    """N(0, 0.02) weights and zero biases, as in the paper's code release."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)

