"""Named attribute directions (InterFaceGAN, Shen et al. 2020): sample latents, score the generated faces with the
shipped CelebA attribute classifier, fit a linear boundary per attribute in the latent space and use its unit
normal as a slider (the direction set's scores hold each boundary's held-out correlation). A boundary can be *conditioned* on other attributes by projecting their normals out, so that
moving along "Blond hair" does not also change "Male". `check_directions` measures what a user would see: the
classifier's score of rendered images as a slider moves, per seed."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core.latent.directions import Directions, model_info
from ganstudio.core.latent.sampling import is_style_based
from ganstudio.core.metrics.extractors import get_extractor
from ganstudio.core.errors import Cancelled, GanStudioError

DEFAULT_ATTRIBUTES = ("Smiling", "Male", "Eyeglasses", "Blond_Hair", "Young", "Bangs")
DEFAULT_AMOUNTS = (-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0)  # the slider's range, in standard deviations


def display_name(attribute: str) -> str:
    """A CelebA attribute name as a slider label: "Blond_Hair" -> "Blond hair"."""
    return attribute.replace("_", " ").capitalize()


class AttributeClassifier:
    """The shipped CelebA attribute network (the `celeba` feature extractor), returning logits for chosen
    attributes of images in [-1, 1]."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.extractor = get_extractor("celeba", device)  # loaded once per device and kept
        self.device = torch.device(device)
        self.attributes: tuple[str, ...] = self.extractor.logit_names

    def indices(self, attributes: Sequence[str]) -> list[int]:
        unknown = [a for a in attributes if a not in self.attributes]
        if unknown:
            raise GanStudioError(f"unknown CelebA attribute(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(self.attributes)}")
        return [self.attributes.index(a) for a in attributes]

    @torch.no_grad()
    def logits(self, images: torch.Tensor, attributes: Sequence[str]) -> torch.Tensor:
        """[N, len(attributes)] logits (float32, CPU) for images [N, 3, H, W] in [-1, 1]."""
        if images.shape[1] != 3:
            raise GanStudioError("attribute directions need a colour face model (3-channel images)")
        _, logits = self.extractor.forward(self.extractor.prepare(images.to(self.device)))
        return logits[:, self.indices(attributes)].float().cpu()


@dataclass
class ScoredSamples:
    """Latents (w for a StyleGAN, else z) and the classifier's logits of the images they generate."""

    latents: torch.Tensor  # [N, D]
    logits: torch.Tensor  # [N, A]
    attributes: tuple[str, ...]


@torch.no_grad()
def score_samples(G: nn.Module, config: RunConfig, classifier: AttributeClassifier, attributes: Sequence[str],
                  n: int, seed: int = 0, batch: int = 100, progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> ScoredSamples:
    """Generate n images from seeded latents (constant noise, no truncation) and score them."""
    if config.model.conditional:
        raise GanStudioError("attribute directions are for unconditional face models")
    G = G.eval()
    device = next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    latents, logits = [], []
    for start in range(0, n, batch):
        if cancelled is not None and cancelled():
            raise Cancelled("scoring samples was cancelled")
        z = torch.randn(min(batch, n - start), config.model.z_dim, generator=gen).to(device)
        if is_style_based(G):
            ws = G.mapping(z)
            images = G.synthesis(ws, noise_mode="const")
            latents.append(ws[:, 0].float().cpu())
        else:
            images = G(z)
            latents.append(z.float().cpu())
        logits.append(classifier.logits(images, attributes))
        if progress is not None:
            progress(start + len(z), n)
    return ScoredSamples(torch.cat(latents), torch.cat(logits), tuple(attributes))


@dataclass
class Boundary:
    """A fitted linear boundary: its unit normal (pointing to "more of the attribute") and how well the linear
    score it defines follows the classifier's."""

    attribute: str
    normal: torch.Tensor  # [D], unit
    correlation: float  # held-out Pearson r between the linear score and the classifier's logit
    train_correlation: float
    conditioned_on: tuple[str, ...] = ()


def fit_boundary(latents: torch.Tensor, scores: torch.Tensor, attribute: str, l2: float = 1.0,
                 holdout: float = 0.2, seed: int = 0) -> Boundary:
    """The linear boundary of an attribute in latent space: a ridge regression of the classifier's logit on the
    centred latents, whose level sets are parallel hyperplanes; the unit normal is the slider. InterFaceGAN fits
    an SVM on the most extreme samples instead; regressing the logit uses every sample, and it makes
    conditioning exact to first order (moving orthogonally to another attribute's normal leaves that
    attribute's linear score unchanged). Measured on this project's face model, it also gave more monotonic
    sliders with smaller side effects."""
    n = len(latents)
    if n < 50:
        raise GanStudioError(f"too few samples to fit a boundary for {attribute} ({n}); use more samples")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_test = int(n * holdout)
    test, train = perm[:n_test], perm[n_test:]
    x, y = latents.double(), scores.double()
    mean_x, mean_y = x[train].mean(0), y[train].mean()
    xc = x[train] - mean_x
    weight = torch.linalg.solve(xc.T @ xc + l2 * torch.eye(x.shape[1], dtype=x.dtype), xc.T @ (y[train] - mean_y))
    norm = weight.norm()
    if not torch.isfinite(norm) or norm == 0:
        raise GanStudioError(f"could not fit a boundary for {attribute}: the classifier's scores do not depend "
                             "on the latent")

    def r(index: torch.Tensor) -> float:
        predicted = (x[index] - mean_x) @ weight
        return float(torch.corrcoef(torch.stack([predicted, y[index]]))[0, 1]) if len(index) > 2 else float("nan")

    return Boundary(attribute, (weight / norm).float(), r(test), r(train))


def condition(boundary: Boundary, others: Sequence[Boundary]) -> Boundary:
    """InterFaceGAN's conditional manipulation: remove from the normal its components along the other
    attributes' normals (an orthogonal projection onto their complement), so that moving along it keeps
    those attributes' linear scores fixed."""
    if not others:
        return boundary
    basis, _ = torch.linalg.qr(torch.stack([o.normal for o in others], dim=1).double())  # [D, m]
    n = boundary.normal.double()
    projected = n - basis @ (basis.T @ n)
    norm = projected.norm()
    if norm < 1e-3:
        raise GanStudioError(f"{boundary.attribute} cannot be separated from "
                             f"{', '.join(o.attribute for o in others)}: their boundaries coincide")
    return Boundary(boundary.attribute, (projected / norm).float(), boundary.correlation,
                    boundary.train_correlation, tuple(o.attribute for o in others))


@dataclass
class AttributeFit:
    """What fitting produced: the direction set for the sliders and the boundaries behind it."""

    directions: Directions
    boundaries: list[Boundary]
    cosines: np.ndarray  # [A, A] cosine between the unconditioned normals


def parse_conditions(specs: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """["Blond_Hair:Male", "Eyeglasses:Male,Young"] -> {"Blond_Hair": ("Male",), "Eyeglasses": ("Male", "Young")}."""
    out: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        target, sep, rest = spec.partition(":")
        others = tuple(a.strip() for a in rest.split(",") if a.strip())
        if not sep or not target.strip() or not others:
            raise GanStudioError(f"a condition is ATTRIBUTE:OTHER[,OTHER...], e.g. Blond_Hair:Male (got {spec!r})")
        out[target.strip()] = others
    return out


def attribute_directions(G: nn.Module, config: RunConfig, attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
                         n_samples: int = 10_000, seed: int = 0, conditions: dict[str, tuple[str, ...]] | None = None,
                         device: torch.device | str | None = None,
                         progress: Callable[[int, int], None] | None = None,
                         cancelled: Callable[[], bool] | None = None) -> AttributeFit:
    """Fit one boundary per attribute on n_samples scored samples; directions are the (conditioned) normals,
    with slider units of one standard deviation of the latent along each."""
    conditions = dict(conditions or {})
    stray = [a for a in conditions if a not in attributes]
    if stray:
        raise GanStudioError(f"conditions name attributes that are not fitted: {', '.join(stray)}")
    needed = list(dict.fromkeys([*attributes, *(a for others in conditions.values() for a in others)]))
    samples, fitted = fit_boundaries(G, config, needed, n_samples, seed, device, progress, cancelled)
    return directions_from_boundaries(G, config, samples, fitted, attributes, conditions)


def fit_boundaries(G: nn.Module, config: RunConfig, attributes: Sequence[str], n_samples: int = 10_000,
                   seed: int = 0, device: torch.device | str | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> tuple[ScoredSamples, dict[str, Boundary]]:
    """Score n_samples generated images and fit every attribute's unconditioned boundary."""
    classifier = AttributeClassifier(device or next(G.parameters()).device)
    classifier.indices(attributes)  # unknown names fail before any sampling
    samples = score_samples(G, config, classifier, attributes, n_samples, seed, progress=progress,
                            cancelled=cancelled)
    return samples, {a: fit_boundary(samples.latents, samples.logits[:, i], a, seed=seed)
                     for i, a in enumerate(attributes)}


def directions_from_boundaries(G: nn.Module, config: RunConfig, samples: ScoredSamples,
                               fitted: dict[str, Boundary], attributes: Sequence[str],
                               conditions: dict[str, tuple[str, ...]] | None = None) -> AttributeFit:
    """The slider set for fitted boundaries, each conditioned on the attributes `conditions` names for it."""
    conditions = conditions or {}
    boundaries = [condition(fitted[a], [fitted[o] for o in conditions.get(a, ()) if o != a]) for a in attributes]
    vectors = torch.stack([b.normal for b in boundaries])
    scales = (samples.latents @ vectors.T).std(dim=0)
    raw = torch.stack([fitted[a].normal for a in attributes])
    names = [display_name(b.attribute) for b in boundaries]
    directions = Directions("attributes", "w" if is_style_based(G) else "z", vectors.numpy(), scales.numpy(),
                            np.array([b.correlation for b in boundaries], np.float32), names,
                            model_info(G, config), [None] * len(boundaries))
    directions.model["attributes"] = [b.attribute for b in boundaries]
    directions.model["conditioned_on"] = [list(b.conditioned_on) for b in boundaries]
    return AttributeFit(directions, boundaries, (raw @ raw.T).numpy())


@dataclass
class DirectionCheck:
    """How the classifier's probability of an attribute responds to its slider, over several seeds."""

    attribute: str
    amounts: tuple[float, ...]
    mean_probability: list[float]  # per amount, averaged over seeds
    monotonic_share: float  # seeds whose probability never falls by more than `tolerance` as the slider rises
    rising_share: float  # seeds whose probability at the highest amount exceeds that at the lowest
    spearman: float  # mean rank correlation between amount and probability, over seeds
    side_effects: dict[str, float] = field(default_factory=dict)  # other attributes: mean change end to end

    @property
    def mean_is_monotonic(self) -> bool:
        return all(b >= a for a, b in zip(self.mean_probability, self.mean_probability[1:]))


def _spearman(values: np.ndarray, amounts: np.ndarray) -> float:
    ranks = np.argsort(np.argsort(values)).astype(np.float64)
    ref = np.argsort(np.argsort(amounts)).astype(np.float64)
    if ranks.std() == 0:
        return 0.0
    return float(np.corrcoef(ranks, ref)[0, 1])


@torch.no_grad()
def check_directions(G: nn.Module, config: RunConfig, directions: Directions, seeds: Sequence[int],
                     amounts: Sequence[float] = DEFAULT_AMOUNTS, tolerance: float = 0.02,
                     side_attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
                     device: torch.device | str | None = None) -> list[DirectionCheck]:
    """Render every seed at every slider amount through the explorer's renderer and score the images: the
    numbers a model card reports for each named direction."""
    from ganstudio.core.render import LatentEdit, Renderer, RenderRequest

    attributes = directions.model.get("attributes")
    if not attributes or len(attributes) != len(directions):
        raise GanStudioError("this direction set has no attribute names to check against the classifier")
    classifier = AttributeClassifier(device or next(G.parameters()).device)
    scored = list(dict.fromkeys([*attributes, *side_attributes]))
    renderer = Renderer(G, config, directions)
    amounts_arr = np.asarray(amounts, np.float64)
    checks = []
    for index, attribute in enumerate(attributes):
        requests = [RenderRequest(seed=s, edits=(LatentEdit(index, float(a)),)) for s in seeds for a in amounts]
        batch = renderer.render_batch(requests)
        if batch.error:
            raise GanStudioError(f"rendering for the {attribute} check failed: {batch.error}")
        images = torch.from_numpy(np.stack([r.image for r in batch.results])).float()
        images = images.permute(0, 3, 1, 2) / 127.5 - 1.0  # uint8 HWC -> [-1, 1] CHW
        probs = classifier.logits(images, scored).sigmoid().numpy().reshape(len(seeds), len(amounts), len(scored))
        own = probs[:, :, scored.index(attribute)]
        steps = np.diff(own, axis=1)
        checks.append(DirectionCheck(
            attribute, tuple(float(a) for a in amounts), own.mean(0).round(4).tolist(),
            float((steps >= -tolerance).all(axis=1).mean()), float((own[:, -1] > own[:, 0]).mean()),
            float(np.mean([_spearman(row, amounts_arr) for row in own])),
            {other: float((probs[:, -1, j] - probs[:, 0, j]).mean()) for j, other in enumerate(scored)
             if other != attribute}))
    return checks
