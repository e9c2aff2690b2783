"""Latent files: a StyleGAN latent (W or W+) saved as a numpy .npz with the model it belongs to, where it came from
(a projected photo, a drag, a seed) and, after pivotal tuning, the tuned generator's file beside it. A file is
refused, in one sentence, for a model it was not made with. Read without pickle (`allow_pickle=False`): every
field is a number array or a string.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core.errors import GanStudioError
from ganstudio.core.io import atomic_write
from ganstudio.core.latent.directions import model_info

FORMAT = "ganstudio-latent"
VERSION = 1
SOURCES = ("projection", "drag", "seed")


@dataclass
class LatentFile:
    """ws [1, num_ws, w_dim]; `space` "w" (all rows equal) or "w+"; `model` is `model_info` of its generator."""

    ws: np.ndarray
    space: str
    model: dict
    source: str
    tuned_generator: str = ""  # PTI: the tuned generator's file name, beside the latent file
    tuned_model: dict = field(default_factory=dict)  # model_info of the tuned generator
    alignment: np.ndarray | None = None  # 2x3 photo -> model pixels, for pasting back
    photo: str = ""  # the photo's file name
    info: dict = field(default_factory=dict)  # seed, psi, steps, loss ... as JSON

    def tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """ws as a float32 tensor [1, num_ws, w_dim]."""
        return torch.as_tensor(self.ws, dtype=torch.float32, device=device)

    def tuned_path(self, latent_path: str | Path) -> Path | None:
        """Where the tuned generator is (beside the latent file), if there is one."""
        return Path(latent_path).expanduser().parent / self.tuned_generator if self.tuned_generator else None

    def check_fits(self, G: nn.Module, config: RunConfig, name: str = "this latent") -> None:
        """Raise a one-sentence error when the latent was made for another model (the original generator or, after
        pivotal tuning, the tuned one both fit)."""
        mine = model_info(G, config)
        num_ws, w_dim = int(getattr(G, "num_ws", 0)), mine["space_dim"]
        if tuple(self.ws.shape[1:]) != (num_ws, w_dim):
            raise GanStudioError(f"{name} belongs to another model: it has {self.ws.shape[1]} style rows of "
                                 f"{self.ws.shape[2]} numbers, this model {num_ws} of {w_dim}")
        prints = {self.model.get("fingerprint"), self.tuned_model.get("fingerprint")} - {None}
        if prints and mine["fingerprint"] not in prints:
            raise GanStudioError(f"{name} belongs to another model (its weights' fingerprint is "
                                 f"{self.model.get('fingerprint')}, this model's {mine['fingerprint']})")


def make_latent(ws: torch.Tensor | np.ndarray, G: nn.Module, config: RunConfig, source: str,
                space: str = "w+", **kwargs) -> LatentFile:
    """A LatentFile for ws of generator G."""
    if source not in SOURCES:
        raise GanStudioError(f"unknown latent source {source!r}")
    ws = ws.detach().float().cpu().numpy() if torch.is_tensor(ws) else np.asarray(ws, np.float32)
    return LatentFile(ws.reshape(1, *ws.shape[-2:]).astype(np.float32), space, model_info(G, config), source,
                      **kwargs)


def save_latent(path: str | Path, latent: LatentFile) -> Path:
    """Write the .npz atomically."""
    path = Path(path).expanduser()
    if path.suffix.lower() != ".npz":
        raise GanStudioError(f"a latent file ends in .npz, not {path.name!r}")
    arrays = {
        "format": np.array(FORMAT), "version": np.array(VERSION, np.int64), "ws": latent.ws.astype(np.float32),
        "space": np.array(latent.space), "model": np.array(json.dumps(latent.model)),
        "source": np.array(latent.source), "tuned_generator": np.array(latent.tuned_generator),
        "tuned_model": np.array(json.dumps(latent.tuned_model)), "photo": np.array(latent.photo),
        "info": np.array(json.dumps(latent.info)),
    }
    if latent.alignment is not None:
        arrays["alignment"] = np.asarray(latent.alignment, np.float64).reshape(2, 3)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    atomic_write(path, lambda tmp: tmp.write_bytes(data), len(data))
    return path


def _text(data, key: str, default: str = "") -> str:
    return str(data[key][()]) if key in data.files else default


def load_latent(path: str | Path) -> LatentFile:
    """Read a latent file (never unpickled); a wrong or damaged file is a GanStudioError of one sentence. An
    .npz with only `ws` (what `ganstudio drag --latent-out` wrote before) reads as a W+ latent of unknown model."""
    path = Path(path).expanduser()
    try:
        with np.load(path, allow_pickle=False) as data:
            if "ws" not in data.files:
                raise ValueError("no ws")
            ws = np.asarray(data["ws"], np.float32)
            if ws.ndim == 2:
                ws = ws[None]
            if ws.ndim != 3 or ws.shape[0] != 1 or not np.isfinite(ws).all():
                raise ValueError("bad ws")
            if "format" in data.files and _text(data, "format") != FORMAT:
                raise ValueError("another format")
            if int(data["version"]) > VERSION if "version" in data.files else False:
                raise GanStudioError(f"{path.name} was written by a newer GAN Studio; update GAN Studio to open it")
            alignment = np.asarray(data["alignment"], np.float64).reshape(2, 3) if "alignment" in data.files else None
            return LatentFile(ws, _text(data, "space", "w+"), json.loads(_text(data, "model", "{}")),
                              _text(data, "source", "drag"), _text(data, "tuned_generator"),
                              json.loads(_text(data, "tuned_model", "{}")), alignment, _text(data, "photo"),
                              json.loads(_text(data, "info", "{}")))
    except GanStudioError:
        raise
    except FileNotFoundError:
        raise GanStudioError(f"there is no latent file {path}") from None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        raise GanStudioError(f"{path.name} is not a GAN Studio latent file (it is damaged or another kind of "
                             "file)") from None


@torch.no_grad()
def render_latent(G: nn.Module, config: RunConfig, ws: torch.Tensor, directions=None, edits: tuple = (),
                  noise_mode: str = "const") -> np.ndarray:
    """uint8 [H, W, C] of explicit ws [1, num_ws, w_dim] with slider edits (core.render.LatentEdit) applied, as
    the explorer renders it (RenderRequest.ws)."""
    from ganstudio.core.images import to_uint8
    from ganstudio.core.render import Renderer, RenderRequest

    values = tuple(ws.detach().float().cpu().reshape(-1).tolist())
    request = RenderRequest(ws=values, edits=tuple(edits), noise_mode=noise_mode)
    return to_uint8(Renderer(G, config, directions).generate([request]))[0]
