"""Adversarial losses as small pure functions on D's raw outputs (logits or critic scores), chosen by name.

Each discriminator loss takes (real_out, fake_out, real_target) where real_target is 1, or 1 - s with
one-sided label smoothing; each generator loss takes fake_out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, autograd


def d_minimax(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """-log D(x) - log(1 - D(G(z))) (Goodfellow et al. 2014)."""
    return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_target))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def g_minimax(fake: Tensor) -> Tensor:
    """Minimise log(1 - D(G(z))): the saturating loss of the original minimax game."""
    return -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


def g_nonsaturating(fake: Tensor) -> Tensor:
    """-log D(G(z)): the non-saturating generator loss recommended in the same paper."""
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def d_wasserstein(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """The critic maximises E[D(x)] - E[D(G(z))] (Arjovsky et al. 2017)."""
    return fake.mean() - real.mean()


def g_wasserstein(fake: Tensor) -> Tensor:
    return -fake.mean()


def d_least_squares(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """0.5 (D(x) - 1)^2 + 0.5 D(G(z))^2 (Mao et al. 2017)."""
    return 0.5 * ((real - real_target) ** 2).mean() + 0.5 * (fake ** 2).mean()


def g_least_squares(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1.0) ** 2).mean()


def d_hinge(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """relu(1 - D(x)) + relu(1 + D(G(z))) (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


@dataclass(frozen=True)
class AdversarialLoss:
    """One named loss: the D and G halves and whether D's output reads as a probability."""

    name: str
    d_loss: Callable[..., Tensor]
    g_loss: Callable[[Tensor], Tensor]
    probability: bool  # report sigmoid(D) and draw the 0.5 equilibrium line

    def d_output(self, out: Tensor) -> Tensor:
        """D's output as reported to the user: a probability for logistic losses, else the raw score."""
        return torch.sigmoid(out) if self.probability else out


LOSSES: dict[str, AdversarialLoss] = {
    "minimax": AdversarialLoss("minimax", d_minimax, g_minimax, True),
    "bce": AdversarialLoss("bce", d_minimax, g_nonsaturating, True),
    "wgan": AdversarialLoss("wgan", d_wasserstein, g_wasserstein, False),
    "wgan-gp": AdversarialLoss("wgan-gp", d_wasserstein, g_wasserstein, False),
    "lsgan": AdversarialLoss("lsgan", d_least_squares, g_least_squares, False),
    "hinge": AdversarialLoss("hinge", d_hinge, g_wasserstein, False),
}


def get_loss(name: str) -> AdversarialLoss:
    return LOSSES[name]


def gradient_penalty(D, real: Tensor, fake: Tensor, labels: Tensor | None) -> Tensor:
    """E[(||grad D(x_hat)|| - 1)^2] on random interpolates of real and fake (Gulrajani et al. 2017)."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = D(x_hat, labels)
    (grad,) = autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def r1_penalty(real_out: Tensor, real: Tensor) -> Tensor:
    """0.5 E[||grad D(x)||^2] on real data (Mescheder et al. 2018); real must require grad."""
    (grad,) = autograd.grad(real_out.sum(), real, create_graph=True)
    return 0.5 * grad.pow(2).flatten(1).sum(dim=1).mean()


def feature_matching(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """||E f(x) - E f(G(z))||^2 on D's penultimate features (Salimans et al. 2016)."""
    return (real_features.detach().mean(dim=0) - fake_features.mean(dim=0)).pow(2).mean()
