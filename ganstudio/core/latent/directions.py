"""Latent directions to put on sliders: the raw latent axes, GANSpace PCA directions (Härkönen et al. 2020) and
closed-form SeFa directions (Shen & Zhou 2021). Slider units are standard deviations of the latent along each
direction; a named direction set remembers which model it belongs to."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core.io import atomic_write_text
from ganstudio.core.latent.sampling import is_style_based
from ganstudio.core.errors import Cancelled, GanStudioError

METHODS = ("axes", "pca", "sefa")


@dataclass
class Directions:
    """K unit vectors in z or w space, each with the latent's standard deviation along it."""

    method: str
    space: str  # "z" or "w"
    vectors: np.ndarray  # float32 [K, D], unit rows
    scales: np.ndarray  # float32 [K]: one standard deviation of the latent along each vector
    scores: np.ndarray  # float32 [K]: eigenvalue or explained variance, descending
    names: list[str] = field(default_factory=list)
    model: dict = field(default_factory=dict)  # arch, dims and a weight fingerprint of the generator
    layers: list[tuple[int, int] | None] = field(default_factory=list)  # StyleGAN: each slider's style rows

    def __len__(self) -> int:
        return len(self.vectors)

    def to_json(self) -> str:
        return json.dumps({
            "format": "ganstudio-directions", "version": 1, "method": self.method, "space": self.space,
            "names": self.names, "model": self.model, "scores": self.scores.tolist(),
            "scales": self.scales.tolist(), "vectors": self.vectors.tolist(),
            "layers": [list(r) if r else None for r in self.layers],
        })

    @classmethod
    def from_json(cls, text: str, source: str = "directions") -> "Directions":
        try:
            data = json.loads(text)
            if data.get("format") != "ganstudio-directions":
                raise ValueError("not a direction set")
            vectors = np.asarray(data["vectors"], dtype=np.float32)
            k = len(vectors)
            out = cls(data["method"], data["space"], vectors, np.asarray(data["scales"], np.float32).reshape(k),
                      np.asarray(data["scores"], np.float32).reshape(k), list(data.get("names") or []),
                      dict(data.get("model") or {}),
                      [tuple(int(v) for v in r) if r else None for r in data.get("layers") or []])
        except (ValueError, KeyError, TypeError) as exc:
            raise GanStudioError(f"{source} is not a GAN Studio direction set ({exc})") from None
        if vectors.ndim != 2 or len(out.names) not in (0, k) or len(out.layers) not in (0, k):
            raise GanStudioError(f"{source} is a damaged direction set")
        if not out.names:
            out.names = [f"{out.method.upper()} {i + 1}" for i in range(k)]
        return out

    def save(self, path: str | Path) -> None:
        atomic_write_text(Path(path), self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> "Directions":
        path = Path(path).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise GanStudioError(f"cannot read direction set {path}: {exc.strerror or exc}") from None
        return cls.from_json(text, path.name)

    def check_fits(self, G: nn.Module, config: RunConfig) -> None:
        """Raise a clear error when this set was made for another model."""
        mine = model_info(G, config)
        for key in ("arch", "space_dim"):
            if self.model.get(key) not in (None, mine[key]):
                raise GanStudioError(
                    f"these directions belong to a {self.model.get('arch')} model with a "
                    f"{self.model.get('space_dim')}-d {self.space} space, not this {mine['arch']} "
                    f"({mine['space_dim']}-d)")


def model_info(G: nn.Module, config: RunConfig) -> dict:
    """What a direction set records of its model, including a fingerprint of the generator's weights."""
    digest = hashlib.sha1()
    for p in list(G.parameters())[:4]:
        digest.update(p.detach().float().cpu().numpy().tobytes()[:4096])
    space_dim = G.mapping.w_dim if is_style_based(G) else config.model.z_dim
    return {"arch": config.model.arch, "space_dim": int(space_dim), "fingerprint": digest.hexdigest()[:16]}


def compute_directions(G: nn.Module, config: RunConfig, method: str, k: int = 10, n_samples: int = 5000,
                       seed: int = 0, cancelled: Callable[[], bool] | None = None) -> Directions:
    """Directions by method name; K is capped by the latent's size. `cancelled()` returning True stops a PCA
    between batches (raising Cancelled)."""
    if method not in METHODS:
        raise GanStudioError(f"unknown direction method {method!r}; use one of {', '.join(METHODS)}")
    G = G.eval()
    with torch.no_grad():
        if method == "axes":
            d = _axes(G, config, k)
        elif method == "pca":
            d = _pca(G, config, k, n_samples, seed, cancelled or (lambda: False))
        else:
            d = _sefa(G, config, k)
    d.model = model_info(G, config)
    return d


def _device(G: nn.Module) -> torch.device:
    return next(G.parameters()).device


def _sample_labels(config: RunConfig, n: int, gen: torch.Generator, device) -> torch.Tensor | None:
    m = config.model
    return torch.randint(m.num_classes, (n,), generator=gen).to(device) if m.conditional else None


def _sample_w(G: nn.Module, config: RunConfig, n: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    dev = _device(G)
    z = torch.randn(n, config.model.z_dim, generator=gen).to(dev)
    return G.mapping(z, _sample_labels(config, n, gen, dev))[:, 0].float().cpu()


def _scales_along(vectors: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
    return (samples @ vectors.T).std(dim=0)


def _axes(G: nn.Module, config: RunConfig, k: int) -> Directions:
    space = "w" if is_style_based(G) else "z"
    dim = G.mapping.w_dim if space == "w" else config.model.z_dim
    k = min(k, dim)
    vectors = torch.eye(dim)[:k]
    scales = _scales_along(vectors, _sample_w(G, config, 2000, 0)) if space == "w" else torch.ones(k)
    return Directions("axes", space, vectors.numpy(), scales.numpy(), np.ones(k, np.float32),
                      [f"{space}[{i}]" for i in range(k)])


FEATURE_BUDGET = 32_000_000  # floats of sampled features kept for PCA (128 MB): fewer samples for wide layers


def _pca(G: nn.Module, config: RunConfig, k: int, n: int, seed: int, cancelled: Callable[[], bool]) -> Directions:
    """GANSpace: PCA of w for a StyleGAN; for other models, PCA of an early feature layer regressed back to z."""
    if is_style_based(G):
        w = _sample_w(G, config, n, seed)
        mean = w.mean(0)
        _, s, vt = torch.linalg.svd(w - mean, full_matrices=False)
        k = min(k, vt.shape[0])
        variance = s[:k] ** 2 / (n - 1)
        return Directions("pca", "w", vt[:k].numpy(), variance.sqrt().numpy(), variance.numpy(),
                          [f"PC {i + 1}" for i in range(k)])
    gen = torch.Generator().manual_seed(seed)
    dev = _device(G)
    z = torch.randn(n, config.model.z_dim, generator=gen)
    c = _sample_labels(config, n, gen, dev)
    feats = _early_features(G, z.to(dev), c, cancelled)
    z = z[:len(feats)]
    n = len(feats)
    k = min(k, config.model.z_dim, n - 1)
    # randomized PCA (Halko et al.): the top components of a wide feature matrix in a fraction of a full SVD
    _, s, v = torch.pca_lowrank(feats, q=min(k + 10, n, feats.shape[1]), center=True, niter=4)
    coords = (feats - feats.mean(0)) @ v[:, :k]  # [n, k] principal coordinates
    # Regress z on the principal coordinates: column i says how z moves along principal component i.
    beta = torch.linalg.lstsq(coords, z).solution  # [k, z_dim]
    vectors = beta / beta.norm(dim=1, keepdim=True)
    variance = s[:k] ** 2 / (n - 1)
    return Directions("pca", "z", vectors.numpy(), np.ones(k, np.float32), variance.numpy(),
                      [f"PC {i + 1}" for i in range(k)])


class _FeaturesCaught(Exception):
    """Raised by the feature hook to skip the rest of the generator (only the first layer is needed)."""


def _early_features(G: nn.Module, z: torch.Tensor, c: torch.Tensor | None,
                    cancelled: Callable[[], bool] = lambda: False) -> torch.Tensor:
    """The output of the generator's first activation layer, flattened (captured with a forward hook), for as
    many of the latents as FEATURE_BUDGET allows."""
    first = next((m for m in G.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))), None)
    if first is None:
        raise GanStudioError("this generator has no activation layer to take features from")
    captured: list[torch.Tensor] = []

    def hook(module, inputs, output):
        captured.append(output.flatten(1).float().cpu())
        raise _FeaturesCaught

    handle = first.register_forward_hook(hook)
    n = len(z)
    try:
        start = 0
        while start < n:
            if cancelled():
                raise Cancelled("computing directions was cancelled")
            try:
                G(z[start:start + 256], None if c is None else c[start:start + 256])
            except _FeaturesCaught:
                pass
            start += 256
            n = min(n, max(256, FEATURE_BUDGET // captured[0].shape[1]))
    finally:
        handle.remove()
    return torch.cat(captured)[:n]


def _sefa(G: nn.Module, config: RunConfig, k: int) -> Directions:
    """Eigenvectors of A^T A, where A maps the latent into the first layer (z models) or into the styles of
    every synthesis layer (StyleGAN): the directions that change the generator's first response the most."""
    if is_style_based(G):
        weights = [m.weight.detach().float().cpu() for name, m in G.synthesis.named_modules()
                   if name.endswith("affine") and getattr(m, "weight", None) is not None]
        if not weights:
            raise GanStudioError("this StyleGAN has no style-affine layers for SeFa")
        A, space = torch.cat(weights, dim=0), "w"  # [sum of channels, w_dim]
    else:
        z_dim = config.model.z_dim
        first = next(m for m in G.modules() if isinstance(m, (nn.ConvTranspose2d, nn.Linear)))
        w = first.weight.detach().float().cpu()
        A = w[:z_dim].reshape(z_dim, -1).T if isinstance(first, nn.ConvTranspose2d) else w[:, :z_dim]
        space = "z"
    eigenvalues, eigenvectors = torch.linalg.eigh(A.T @ A)  # ascending
    order = torch.argsort(eigenvalues, descending=True)
    k = min(k, len(order))
    vectors = eigenvectors[:, order[:k]].T.contiguous()
    scales = _scales_along(vectors, _sample_w(G, config, 2000, 0)) if space == "w" else torch.ones(k)
    return Directions("sefa", space, vectors.numpy(), scales.numpy(), eigenvalues[order[:k]].numpy(),
                      [f"SeFa {i + 1}" for i in range(k)])
