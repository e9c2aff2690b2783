"""Adversarial losses as small pure functions on D's raw outputs (logits or critic scores), chosen by name,
and the `Objective` that owns every loss-specific part of a training step.

Each discriminator loss takes (real_out, fake_out, real_target) where real_target is 1, or 1 - s with
one-sided label smoothing; each generator loss takes fake_out.

An Objective is built from a run's LossConfig (`build_objective`). It shows images to D through a
`DiscriminatorView` (core.training.discriminator_view) and computes its terms from the lists of outputs the view
returns (one per discriminator): the D loss with label smoothing, the penalties that are due (WGAN-GP's gradient
penalty, lazy R1), what follows D's update (WGAN's weight clipping), the G loss (adversarial or feature
matching), and D's output as reported to the user (a probability for the logistic losses).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, autograd

if TYPE_CHECKING:
    from ganstudio.core.config import LossConfig
    from ganstudio.core.training.discriminator_view import DiscriminatorView, Sight


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
    """One named loss: the D and G halves, whether D's output reads as a probability, and what its step adds."""

    name: str
    d_loss: Callable[..., Tensor]
    g_loss: Callable[[Tensor], Tensor]
    probability: bool  # report sigmoid(D) and draw the 0.5 equilibrium line
    gradient_penalty: bool = False  # WGAN-GP: a gradient penalty on interpolates in every D step
    clip_weights: bool = False  # WGAN: clip D's weights to [-clip_value, clip_value] after every D update

    def d_output(self, out: Tensor) -> Tensor:
        """D's output as reported to the user: a probability for logistic losses, else the raw score."""
        return torch.sigmoid(out) if self.probability else out


LOSSES: dict[str, AdversarialLoss] = {
    "minimax": AdversarialLoss("minimax", d_minimax, g_minimax, True),
    "bce": AdversarialLoss("bce", d_minimax, g_nonsaturating, True),
    "wgan": AdversarialLoss("wgan", d_wasserstein, g_wasserstein, False, clip_weights=True),
    "wgan-gp": AdversarialLoss("wgan-gp", d_wasserstein, g_wasserstein, False, gradient_penalty=True),
    "lsgan": AdversarialLoss("lsgan", d_least_squares, g_least_squares, False),
    "hinge": AdversarialLoss("hinge", d_hinge, g_wasserstein, False),
}


def get_loss(name: str) -> AdversarialLoss:
    """The named adversarial loss of the registry."""
    return LOSSES[name]


def gradient_penalty(D, real: Tensor, fake: Tensor, labels: Tensor | None) -> Tensor:
    """E[(||grad D(x_hat)|| - 1)^2] on random interpolates of real and fake (Gulrajani et al. 2017); D may
    return one output or a list of them (several discriminators: their penalties are averaged)."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    outs = D(x_hat, labels)
    penalties = []
    for out in outs if isinstance(outs, list) else [outs]:
        (grad,) = autograd.grad(out.sum(), x_hat, create_graph=True)
        penalties.append(((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean())
    return average(penalties)


def r1_penalty(real_out: Tensor, real: Tensor) -> Tensor:
    """0.5 E[||grad D(x)||^2] on real data (Mescheder et al. 2018); real must require grad."""
    (grad,) = autograd.grad(real_out.sum(), real, create_graph=True)
    return 0.5 * grad.pow(2).flatten(1).sum(dim=1).mean()


def feature_matching(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """||E f(x) - E f(G(z))||^2 on D's penultimate features (Salimans et al. 2016)."""
    return (real_features.detach().mean(dim=0) - fake_features.mean(dim=0)).pow(2).mean()


def average(terms: Sequence[Tensor]) -> Tensor:
    """The mean of one term per discriminator (the term itself when there is one D)."""
    return terms[0] if len(terms) == 1 else torch.stack(list(terms)).mean()


def softmax_combination(terms: Sequence[Tensor], lam: float) -> Tensor:
    """GMAN's soft-max combination of G's losses against several discriminators (Durugkar et al. 2017):
    sum_i w_i L_i with w = softmax(lam * L), so the D that G fools least weighs most (lam 0: the mean; large
    lam: the max). The weights are held constant in the gradient, as a weighting of the D's, not a term of G's."""
    if len(terms) == 1:
        return terms[0]
    stacked = torch.stack(list(terms))
    weights = torch.softmax(lam * stacked.detach(), dim=0)
    return (weights * stacked).sum()


# -- the loss-specific parts of a training step ------------------------------------------------------------


def _gp_term(view: "DiscriminatorView", real: "Sight", fake: "Sight", labels: Tensor | None) -> Tensor:
    return gradient_penalty(view.judge_seen, real.images.float(), fake.images.float(), labels)


def _r1_term(view: "DiscriminatorView", real: "Sight", fake: "Sight", labels: Tensor | None) -> Tensor:
    return average([r1_penalty(out.float(), real.images) for out in real.outputs])


@dataclass(frozen=True)
class Penalty:
    """A regularizer added to D's loss on the D steps it is due: weight * term, reported as extras[name].
    Penalties run in fp32 (outside autocast), since their inner gradients need the precision."""

    name: str
    term: Callable[["DiscriminatorView", "Sight", "Sight", Tensor | None], Tensor]
    weight: float  # already scaled (lazy R1 multiplies by its interval)
    interval: int = 1  # due on every interval-th D update
    needs_real_grad: bool = False  # the real batch as seen must require grad (R1)

    def due(self, d_update: int) -> bool:
        """Whether this D update (counted from 1 over the run) applies the penalty."""
        return d_update % self.interval == 0


@dataclass
class DTerms:
    """What the objective made of one D step: the loss to minimise and what the report and the G step use."""

    loss: Tensor
    real_outputs: list[Tensor]
    fake_outputs: list[Tensor]
    real_features: list[Tensor] | None
    extras: dict[str, float] = field(default_factory=dict)


@dataclass
class GTerms:
    """What the objective made of one G step."""

    loss: Tensor
    fake_outputs: list[Tensor]


class Objective:
    """A run's loss and tricks: everything loss-specific in the D and G steps, so the loop needs no branch."""

    def __init__(self, adversarial: AdversarialLoss, config: "LossConfig"):
        self.adversarial = adversarial
        self.real_target = 1.0 - config.label_smoothing  # one-sided label smoothing
        self.feature_matching = config.feature_matching
        lam = config.d_softmax_lambda
        # G's losses against several discriminators: their mean, or GMAN's soft-max
        self.combine_g = average if config.d_combine == "mean" else (lambda terms: softmax_combination(terms, lam))
        self.clip_value = config.clip_value if adversarial.clip_weights else None
        penalties = []
        if adversarial.gradient_penalty:
            penalties.append(Penalty("gp", _gp_term, config.gp_weight))
        if config.r1_weight > 0:  # lazy R1 (Karras 2020): every r1_interval-th D step, weighted by the interval
            penalties.append(Penalty("r1", _r1_term, config.r1_weight * config.r1_interval, config.r1_interval, True))
        self.penalties = tuple(penalties)

    @property
    def probability(self) -> bool:
        """Whether D's output reads as a probability (0.5 is equilibrium)."""
        return self.adversarial.probability

    def d_output(self, out: Tensor) -> Tensor:
        """D's output as reported to the user: a probability for logistic losses, else the raw score."""
        return self.adversarial.d_output(out)

    def reported(self, outputs: list[Tensor]) -> float:
        """The mean reported D output over a batch (and over the discriminators)."""
        with torch.no_grad():
            return average([self.d_output(o.detach().float()).mean() for o in outputs]).item()

    def d_terms(self, view: "DiscriminatorView", real: Tensor, fake: Tensor, labels: Tensor | None,
                d_update: int) -> DTerms:
        """D's loss on a real and a (detached) fake batch, with the penalties due at this D update."""
        due = [p for p in self.penalties if p.due(d_update)]
        real_seen, fake_seen = view.see([real, fake], labels, features=(True, False),
                                        differentiable=(any(p.needs_real_grad for p in due), False))
        loss = average([self.adversarial.d_loss(r.float(), f.float(), self.real_target)
                        for r, f in zip(real_seen.outputs, fake_seen.outputs)])
        extras = {}
        for p in due:
            value = p.term(view, real_seen, fake_seen, labels)
            loss = loss + p.weight * value
            extras[p.name] = value.item()
        return DTerms(loss, real_seen.outputs, fake_seen.outputs, real_seen.features, extras)

    @torch.no_grad()
    def after_d_update(self, d_params: list[Tensor]) -> None:
        """What follows D's optimizer step: WGAN's weight clipping."""
        if self.clip_value is not None:
            torch._foreach_clamp_min_(d_params, -self.clip_value)
            torch._foreach_clamp_max_(d_params, self.clip_value)

    def g_terms(self, view: "DiscriminatorView", fake: Tensor, labels: Tensor | None,
                real_features: Callable[[], list[Tensor]]) -> GTerms:
        """G's loss on a fake batch: adversarial, or the distance of D's mean features to those on real data
        (`real_features` gives them, from the D step or a fresh real batch)."""
        if self.feature_matching:
            real_f = real_features()
            (seen,) = view.see([fake], labels, features=(True,))
            loss = self.combine_g([feature_matching(r.float(), f.float()) for r, f in zip(real_f, seen.features)])
        else:
            (seen,) = view.see([fake], labels)
            loss = self.combine_g([self.adversarial.g_loss(o.float()) for o in seen.outputs])
        return GTerms(loss, seen.outputs)


def build_objective(config: "LossConfig") -> Objective:
    """The objective of a run's loss configuration."""
    return Objective(get_loss(config.name), config)
