"""Small building blocks shared by the discriminators: one module per idea from the GAN literature."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class MinibatchStdDev(nn.Module):
    """Append the mean standard deviation over the batch as one extra feature map (Karras et al. 2018)."""

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        g = min(self.group_size, n)
        if n % g:
            g = 1 if n == 1 else next(s for s in range(g, 0, -1) if n % s == 0)
        rest = x.shape[1:]
        y = x.reshape(g, -1, *rest)  # [G, M, ...]
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # [M, ...]
        y = y.reshape(y.shape[0], -1).mean(dim=1)  # [M]
        y = y.repeat(g)  # one value per sample, matching the grouping above
        shape = (n, 1, *rest[1:]) if x.dim() > 2 else (n, 1)
        return torch.cat([x, y.reshape(-1, *([1] * (x.dim() - 1))).expand(shape)], dim=1)


class MinibatchDiscrimination(nn.Module):
    """Features telling D how close each sample is to the others in its batch (Salimans et al. 2016)."""

    def __init__(self, in_features: int, out_features: int = 32, kernel_dim: int = 8):
        super().__init__()
        self.out_features = out_features
        self.kernel_dim = kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, out_features * kernel_dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = (x @ self.T).view(-1, self.out_features, self.kernel_dim)  # [N, B, C]
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(dim=3)  # [N, N, B]
        o = torch.exp(-l1).sum(dim=0) - 1.0  # exclude each sample's distance to itself
        return torch.cat([x, o], dim=1)


def maybe_sn(module: nn.Module, enabled: bool) -> nn.Module:
    """Wrap a layer in spectral normalization when enabled (Miyato et al. 2018)."""
    return spectral_norm(module) if enabled else module


def norm_2d(kind: str, channels: int) -> nn.Module:
    """A discriminator normalization layer by name: batch, layer (one group) or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels, affine=True)
    return nn.Identity()


def resolve_d_norm(requested: str, spectral: bool, loss_name: str) -> str:
    """The "auto" rule: batch norm, except with spectral norm or a gradient penalty (both per-sample)."""
    if requested != "auto":
        return requested
    if loss_name == "wgan-gp":
        return "layer"
    if spectral:
        return "none"
    return "batch"


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights, as in Radford et al. 2015; batch-norm scales N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
        # class embeddings are initialized by class_embedding() and DiscriminatorHead.init_weights()


def class_embedding(num_classes: int) -> nn.Embedding:
    """A learnable one-hot code of the class (Mirza & Osindero 2014), concatenated with z or with D's input.
    Initialized to the identity: a wide N(0, 1) embedding (norm ~7) made the conditional DCGAN ignore z and
    draw one image per class; with unit-norm codes its within-class spread matches the data's."""
    embed = nn.Embedding(num_classes, num_classes)
    with torch.no_grad():
        embed.weight.copy_(torch.eye(num_classes))
    return embed


class DiscriminatorHead(nn.Module):
    """The last layer of every discriminator: optional minibatch features, a linear logit and the
    class projection (Miyato & Koyama 2018) for conditional models."""

    def __init__(self, features: int, num_classes: int, projection: bool, spectral: bool,
                 minibatch_discrimination: bool):
        super().__init__()
        self.mbd = MinibatchDiscrimination(features) if minibatch_discrimination else None
        out_features = features + (self.mbd.out_features if self.mbd else 0)
        self.linear = maybe_sn(nn.Linear(out_features, 1), spectral)
        self.embed = None
        if projection and num_classes > 0:
            self.embed = maybe_sn(nn.Embedding(num_classes, out_features), spectral)
        self.init_weights()

    def init_weights(self) -> None:
        """Xavier-initialize the class projection, as in the SNGAN projection code: a N(0, 1) embedding dotted
        with thousands of features makes the class term swamp the logit, and G then ignores z (mode collapse)."""
        if self.embed is not None:
            weight = self.embed.parametrizations.weight.original if hasattr(self.embed, "parametrizations") \
                else self.embed.weight
            nn.init.xavier_uniform_(weight)

    def forward(self, h: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        if self.mbd is not None:
            h = self.mbd(h)
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            if c is None:
                raise ValueError("this conditional discriminator needs class labels")
            out = out + (self.embed(c) * h).sum(dim=1)
        return out


def check_labels(c: torch.Tensor | None, n: int, num_classes: int, who: str) -> None:
    """Shape check at the module boundary: labels must be given exactly when the model is conditional."""
    if num_classes == 0:
        return
    if c is None:
        raise ValueError(f"the conditional {who} needs class labels")
    if c.shape != (n,):
        raise ValueError(f"{who} labels must have shape [{n}], got {list(c.shape)}")
