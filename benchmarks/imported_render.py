"""Render speed of imported NVIDIA StyleGAN2 / StyleGAN3 generators (our own networks in NVIDIA's layout, random
weights) on the CPU: the explorer's render path beside a bare forward of the same network, the slider preview's
latency, and optionally the same network built from an older revision of GAN Studio (before/after).

Every round runs each measurement once, in the same process, one after the other, so that other work on the
machine slows them alike: the per-round ratios (render path / bare forward, new / old) are the figures to trust on
a busy machine; the milliseconds say how busy it was (the load average is printed with them).

    python benchmarks/imported_render.py                               # StyleGAN2 256 px, 2 threads, 7 rounds
    python benchmarks/imported_render.py --sizes 256 512 1024 --models sg2 sg3 --rounds 5
    python benchmarks/imported_render.py --before 08d2e35              # also the networks of that revision
    python benchmarks/imported_render.py --json out.json

Goals (issue 14): the render path costs at most 1.2x the bare forward; on 2 threads a 256-px model's
slider -> preview p95 <= 100 ms.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganstudio.core.imported import STYLEGAN3, ImportedNetwork, build_generator, run_config, stylegan2  # noqa: E402
from ganstudio.core.render import AsyncRenderer, Renderer, RenderRequest  # noqa: E402

PSI = 0.7


def nvidia_kwargs(model: str, resolution: int, channel_base: int | None = None) -> tuple[str, dict]:
    """(architecture, init kwargs) of NVIDIA's released configurations: StyleGAN2 FFHQ (paper256 below 512 px)
    and StyleGAN3-T."""
    if model == "sg2":
        base = channel_base or (16384 if resolution <= 256 else 32768)
        return stylegan2.ADA, dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3,
                                   mapping_kwargs=dict(num_layers=8),
                                   synthesis_kwargs=dict(channel_base=base, channel_max=512, num_fp16_res=4,
                                                         conv_clamp=256))
    return STYLEGAN3, dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3,
                           channel_base=channel_base or 32768, channel_max=512, magnitude_ema_beta=0.999,
                           mapping_kwargs=dict(num_layers=2))


def old_modules(rev: str) -> dict[str, object]:
    """GAN Studio's stylegan2 and stylegan3 modules as they were at `rev` (git show), imported under other names."""
    folder = Path(tempfile.mkdtemp(prefix="ganstudio-before-"))
    modules = {}
    for name in ("stylegan2", "stylegan3"):
        source = subprocess.run(["git", "show", f"{rev}:ganstudio/core/imported/{name}.py"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout
        path = folder / f"before_{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(f"before_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        modules[name] = module
    return modules


def build(arch: str, kwargs: dict, before: dict | None = None) -> torch.nn.Module:
    """A generator with random weights (NVIDIA's initialization: N(0, 1) weights, designed filters); with
    `before`, the same architecture from the old modules."""
    if before is None:
        G = build_generator(arch, kwargs)
    elif arch == STYLEGAN3:
        G = before["stylegan3"].build_stylegan3(kwargs)
    else:
        G = before["stylegan2"].build_stylegan2(arch, kwargs)
    return G.eval().requires_grad_(False)


def timed(fn: Callable[..., object], *args: object) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def slider_to_pixels(renderer: AsyncRenderer, done: threading.Event, request: RenderRequest) -> float:
    """Seconds from submitting a request to the render thread until its pixels arrive."""
    done.clear()
    start = time.perf_counter()
    renderer.submit(request)
    if not done.wait(600):
        raise RuntimeError("the render thread gave no result within 10 minutes")
    return time.perf_counter() - start


def stats(seconds: list[float]) -> dict:
    """p50, p95, min and max in milliseconds."""
    ms = sorted(s * 1e3 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1), "min_ms": round(ms[0], 1),
            "max_ms": round(ms[-1], 1), "n": len(ms)}


def ratio(a: list[float], b: list[float]) -> dict:
    """Median and range of the per-round ratios a / b."""
    r = sorted(x / y for x, y in zip(a, b))
    return {"median": round(statistics.median(r), 3), "min": round(r[0], 3), "max": round(r[-1], 3)}


@torch.no_grad()
def measure(model: str, resolution: int, rounds: int, preview_sizes: list[int] | None, before: dict | None,
            channel_base: int | None) -> dict:
    """One configuration: bare forward, render path, previews (slider -> pixels), old network; interleaved."""
    arch, kwargs = nvidia_kwargs(model, resolution, channel_base)
    torch.manual_seed(0)
    G = build(arch, kwargs)
    config = run_config(ImportedNetwork(arch, kwargs, {}, "random weights"), f"{model}-{resolution}")
    renderer = Renderer(G, config)
    sizes = preview_sizes if preview_sizes is not None else [renderer.preview_size]
    sizes = [s for s in sizes if s is not None and renderer.preview_sizes]
    old = None
    if before is not None:
        old = build(arch, kwargs, before)
        old.load_state_dict(G.state_dict())
    results: list = []
    done = threading.Event()
    async_renderer = AsyncRenderer(renderer, lambda result: (results.append(result), done.set()))

    def bare(seed: int) -> torch.Tensor:
        z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(seed))
        return G.synthesis(G.mapping(z, None, truncation_psi=PSI), noise_mode="const")

    def bare_old(seed: int) -> torch.Tensor:
        z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(seed))
        return old.synthesis(old.mapping(z, None, truncation_psi=PSI), noise_mode="const")

    times: dict[str, list[float]] = {"bare": [], "render": []}
    times.update({f"preview_{s}": [] for s in sizes})
    if old is not None:
        times["before"] = []
    try:
        for seed in range(rounds + 1):  # round 0 warms up (allocations, oneDNN kernels)
            row = {"bare": timed(bare, seed), "render": timed(renderer.render, RenderRequest(seed=seed, psi=PSI))}
            for s in sizes:
                row[f"preview_{s}"] = slider_to_pixels(async_renderer, done,
                                                       RenderRequest(seed=seed, psi=PSI, max_size=s))
            if old is not None:
                row["before"] = timed(bare_old, seed)
            if seed:
                for key, value in row.items():
                    times[key].append(value)
    finally:
        async_renderer.close()
    preview_shapes = {s: renderer.render(RenderRequest(seed=0, psi=PSI, max_size=s)).image.shape[0] for s in sizes}
    out = {"model": model, "resolution": resolution, "kwargs": kwargs,
           "parameters": sum(p.numel() for p in G.parameters()),
           "times": {key: stats(value) for key, value in times.items()},
           "render_over_bare": ratio(times["render"], times["bare"]),
           "preview_pixels": {str(s): preview_shapes[s] for s in sizes}}
    for s in sizes:
        out[f"preview_{s}_over_bare"] = ratio(times[f"preview_{s}"], times["bare"])
    if old is not None:
        out["after_over_before"] = ratio(times["bare"], times["before"])
    return out


def main() -> int:
    """Run the configurations asked for and print one line each (and the JSON report)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["sg2"], choices=["sg2", "sg3"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[256])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the explorer's render thread)")
    parser.add_argument("--preview", nargs="*", type=int, default=None,
                        help="preview max sizes to time (default: the renderer's suggested preview_size)")
    parser.add_argument("--before", metavar="REV", help="also time the networks of this git revision")
    parser.add_argument("--channel-base", type=int, default=None, help="override NVIDIA's channel_base")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    before = old_modules(args.before) if args.before else None
    report = {"threads": args.threads, "cpu_count": os.cpu_count(), "before": args.before, "configurations": []}
    print(f"{args.threads} torch threads on {os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.1f}")
    for model in args.models:
        for res in args.sizes:
            r = measure(model, res, args.rounds, args.preview, before, args.channel_base)
            report["configurations"].append(r)
            t = r["times"]
            line = (f"{model} {res}px: bare p50 {t['bare']['p50_ms']} ms, render p50 {t['render']['p50_ms']} ms "
                    f"(render/bare {r['render_over_bare']['median']} [{r['render_over_bare']['min']}-"
                    f"{r['render_over_bare']['max']}])")
            for key, value in t.items():
                if key.startswith("preview_"):
                    size = key.split("_")[1]
                    line += (f"; preview max_size {size} ({r['preview_pixels'][size]} px) slider->pixels "
                             f"p50 {value['p50_ms']} / p95 {value['p95_ms']} ms")
            if "after_over_before" in r:
                a = r["after_over_before"]
                line += f"; new/old {a['median']} [{a['min']}-{a['max']}] (old p50 {t['before']['p50_ms']} ms)"
            print(line, flush=True)
    report["load_average_after"] = os.getloadavg()[0]
    print(f"load average after: {report['load_average_after']:.1f} (a busy machine inflates the milliseconds; "
          "the same-round ratios are what to compare)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
