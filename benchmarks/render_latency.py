"""Batch-1 render latency of the 64x64 face StyleGAN (mapping + synthesis) on the CPU, next to the 64x64 DCGAN's.

The explorer renders on every slider move, so one picture must take well under the frame budget (target: a median
under 15 ms on 2 CPU cores). The two models are timed alternately in the same process, so that other work on the
machine slows both alike and the ratio stays meaningful.

    python benchmarks/render_latency.py                          # the face preset's size, freshly initialised
    python benchmarks/render_latency.py --capacity 8 12 16       # which size meets the target
    python benchmarks/render_latency.py --checkpoint runs/faces  # a trained StyleGAN (run folder or file)
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganstudio.core.config import LossConfig, ModelConfig, RunConfig  # noqa: E402
from ganstudio.core.models.registry import build_models  # noqa: E402
from ganstudio.core.presets import find_preset, merge  # noqa: E402

Render = Callable[[], torch.Tensor]


@dataclass
class Latency:
    """Render times of one model in milliseconds."""

    name: str
    parameters: int
    median_ms: float
    p95_ms: float
    renders: int


def preset_model(preset: str = "stylegan-faces-cpu", capacity: int | None = None) -> ModelConfig:
    """The model configuration of a preset at 64x64 RGB (the size a face run resolves to)."""
    cfg = RunConfig.from_dict(merge(RunConfig().to_dict(), find_preset(preset).config))
    model = replace(cfg.model, channels=3, resolution=cfg.data.resolution or 64)
    return replace(model, capacity=capacity) if capacity else model


def fresh_generator(model: ModelConfig) -> torch.nn.Module:
    """A randomly initialised generator of this configuration, ready to render."""
    torch.manual_seed(0)
    G, _ = build_models(model, LossConfig())
    return G.eval().requires_grad_(False)


def stylegan_render(G: torch.nn.Module, psi: float = 0.7, seed: int = 0) -> Render:
    """One explorer-style render: z -> mapping (with truncation) -> synthesis with constant noise."""
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(seed))

    def render() -> torch.Tensor:
        ws = G.mapping(z, truncation_psi=psi)
        return G.synthesis(ws, noise_mode="const")

    return render


def plain_render(G: torch.nn.Module, seed: int = 0) -> Render:
    """One render of a generator that maps z straight to an image (DCGAN)."""
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(seed))
    return lambda: G(z)


def time_alternately(renders: dict[str, Render], n: int, warmup: int = 20) -> dict[str, list[float]]:
    """Milliseconds per render for each model, timed in turn so that background load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in renders}
    with torch.inference_mode():
        for _ in range(warmup):
            for render in renders.values():
                render()
        for _ in range(n):
            for name, render in renders.items():
                t0 = time.perf_counter()
                render()
                times[name].append((time.perf_counter() - t0) * 1000.0)
    return times


def summarize(name: str, G: torch.nn.Module, times: list[float]) -> Latency:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return Latency(name, sum(p.numel() for p in G.parameters()), statistics.median(times), p95, len(times))


def load_stylegan(path: str) -> tuple[str, torch.nn.Module]:
    """A trained StyleGAN generator (EMA weights) from a checkpoint file or run folder."""
    from ganstudio.core.checkpoints import load_generator

    G, cfg = load_generator(path, "cpu")
    if cfg.model.arch != "stylegan":
        raise SystemExit(f"{path} holds a {cfg.model.arch} model, not a StyleGAN")
    return f"stylegan {cfg.model.resolution}px cap {cfg.model.capacity} (checkpoint)", G


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="time a trained StyleGAN (run folder or .safetensors) instead")
    parser.add_argument("--preset", default="stylegan-faces-cpu", help="the preset whose model size is timed")
    parser.add_argument("--capacity", type=int, nargs="*", help="time these StyleGAN widths instead of the "
                        "preset's (e.g. 8 12 16)")
    parser.add_argument("--renders", type=int, default=300, help="timed renders per model")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--psi", type=float, default=0.7)
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    models: dict[str, torch.nn.Module] = {}
    dcgan = fresh_generator(ModelConfig(arch="dcgan", capacity=64, z_dim=100, channels=3, resolution=64))
    models["dcgan 64px cap 64 (baseline)"] = dcgan
    if args.checkpoint:
        name, G = load_stylegan(args.checkpoint)
        models[name] = G
    else:
        for capacity in args.capacity or [None]:
            model = preset_model(args.preset, capacity)
            models[f"stylegan {model.resolution}px cap {model.capacity} w {model.w_dim} "
                   f"map {model.mapping_layers}"] = fresh_generator(model)
    renders = {name: (stylegan_render(G, args.psi) if hasattr(G, "mapping") else plain_render(G))
               for name, G in models.items()}
    times = time_alternately(renders, args.renders)
    results = [summarize(name, models[name], t) for name, t in times.items()]
    base = results[0].median_ms
    print(f"batch-1 render on the CPU, {args.threads} thread(s), {args.renders} renders each, timed alternately")
    print(f"{'model':44s} {'params':>9s} {'median ms':>10s} {'p95 ms':>8s} {'x DCGAN':>8s}")
    for r in results:
        print(f"{r.name:44s} {r.parameters:9,d} {r.median_ms:10.2f} {r.p95_ms:8.2f} {r.median_ms / base:8.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
