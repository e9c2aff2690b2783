"""Drag to edit (DragGAN) on the bundled 64 x 64 face model, on the CPU: does the handle arrive, how fast, and how
much of the rest of the picture changes.

20 drags of 5 to 10 px (fixed seeds and points), each run twice: with a painted region (the box around handle and
target, 10 px wider; the mask) and without. Reported: the share of handles ending within 2 px of their targets
(goal >= 90%), optimisation steps and ms per step (goal <= 60 ms on 2 threads), the mean absolute change (0-255)
outside the painted region with and without the mask, and a content check independent of point tracking (the
picture around the target became more like the handle's surroundings before the drag). The baseline, timed in
the same process before and after the drags: one bare synthesis forward, and a forward + backward to the latent.

    python benchmarks/drag.py                        # 2 threads, writes nothing
    python benchmarks/drag.py --json drag.json --picture drag.png
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganstudio.core.bundled import bundled_model  # noqa: E402
from ganstudio.core.checkpoints import load_generator  # noqa: E402
from ganstudio.core.images import to_uint8  # noqa: E402
from ganstudio.core.latent.drag import DragResult, DragSettings, drag  # noqa: E402
from ganstudio.core.latent.sampling import z_for_seed  # noqa: E402

SEEDS = list(range(1000, 1020))  # one face per drag
POINTS_SEED = 0  # where the handles go and which way


def drag_cases(G: torch.nn.Module, count: int, psi: float) -> list[dict]:
    """Fixed drags: a handle on the face (16-48 px), a target 5-10 px away in a random direction."""
    rng = np.random.default_rng(POINTS_SEED)
    cases = []
    for seed in SEEDS[:count]:
        handle = rng.uniform(16, 48, size=2).round(1)
        angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(5, 10)
        target = np.clip(handle + length * np.array([np.cos(angle), np.sin(angle)]), 0, 63).round(1)
        ws = G.mapping(z_for_seed(seed, G.z_dim), truncation_psi=psi).detach()
        cases.append(dict(seed=seed, ws=ws, handle=handle, target=target))
    return cases


def painted_region(handle: np.ndarray, target: np.ndarray, size: int = 64, margin: int = 10) -> np.ndarray:
    """The box around handle and target, `margin` px wider: the region allowed to change."""
    yy, xx = np.mgrid[0:size, 0:size]
    lo, hi = np.minimum(handle, target) - margin, np.maximum(handle, target) + margin
    return ((xx >= lo[0]) & (xx <= hi[0]) & (yy >= lo[1]) & (yy <= hi[1])).astype(np.uint8)


def patch(image: np.ndarray, xy: np.ndarray, r: int = 3) -> np.ndarray:
    x, y = np.clip(np.round(xy).astype(int), r, image.shape[0] - 1 - r)
    return image[y - r:y + r + 1, x - r:x + r + 1].astype(np.float64)


def content_followed(before: np.ndarray, after: np.ndarray, handle: np.ndarray, target: np.ndarray) -> bool:
    """True when the picture around the target became more like the handle's surroundings before the drag (a
    check that does not rely on the drag's own point tracking; weak where the face is uniform, e.g. on skin)."""
    source = patch(before, handle)
    return np.abs(patch(after, target) - source).mean() < np.abs(patch(before, target) - source).mean()


def baseline_ms(G: torch.nn.Module, ws: torch.Tensor, n: int = 30) -> dict[str, float]:
    """Median ms of a bare synthesis forward, and of a forward + backward to the latent."""
    with torch.no_grad():
        for _ in range(5):
            G.synthesis(ws, noise_mode="const")
        forward = []
        for _ in range(n):
            t0 = time.perf_counter()
            G.synthesis(ws, noise_mode="const")
            forward.append((time.perf_counter() - t0) * 1000)
    both = []
    for _ in range(n):
        w = ws.clone().requires_grad_(True)
        t0 = time.perf_counter()
        torch.autograd.grad(G.synthesis(w, noise_mode="const").square().mean(), [w])
        both.append((time.perf_counter() - t0) * 1000)
    return {"forward_ms": statistics.median(forward), "forward_backward_ms": statistics.median(both)}


def run_case(G: torch.nn.Module, case: dict, settings: DragSettings, mask: np.ndarray | None) -> tuple[DragResult, float]:
    """One drag and its CPU time per step (all threads)."""
    c0 = time.process_time()
    result = drag(G, case["ws"], [case["handle"]], [case["target"]], mask=mask, settings=settings)
    return result, (time.process_time() - c0) * 1000 / max(result.steps, 1)


def save_picture(path: str, rows: list[tuple[np.ndarray, np.ndarray, dict, DragResult]], scale: int = 4) -> None:
    """Before (handle red, target blue) and after (final handle red) for a few drags, side by side."""
    from PIL import Image, ImageDraw

    tiles = []
    for before, after, case, result in rows:
        pair = Image.new("RGB", (2 * 64 * scale + 4, 64 * scale), "white")
        for i, (img, handle) in enumerate([(before, case["handle"]), (after, result.final_handles[0])]):
            tile = Image.fromarray(img).resize((64 * scale, 64 * scale), Image.NEAREST)
            draw = ImageDraw.Draw(tile)
            for xy, colour in [(case["target"], (40, 90, 255)), (handle, (255, 40, 40))]:
                cx, cy = (np.asarray(xy) + 0.5) * scale
                draw.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], outline=colour, width=2)
            if i == 0:
                hx, hy = (case["handle"] + 0.5) * scale
                tx, ty = (case["target"] + 0.5) * scale
                draw.line([hx, hy, tx, ty], fill=(255, 255, 0), width=1)
            pair.paste(tile, (i * (64 * scale + 4), 0))
        tiles.append(pair)
    sheet = Image.new("RGB", (tiles[0].width, len(tiles) * (tiles[0].height + 4) - 4), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile, (0, i * (tile.height + 4)))
    sheet.save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drags", type=int, default=20, help=f"how many drags (at most {len(SEEDS)})")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--psi", type=float, default=0.7, help="truncation of the faces (the explorer's start)")
    parser.add_argument("--lr", type=float, help="Adam's learning rate (default: DragSettings')")
    parser.add_argument("--steps", type=int, help="step limit (default: DragSettings')")
    parser.add_argument("--feature-size", type=int, help="feature map size (default: by resolution)")
    parser.add_argument("--rows", type=int, help="style rows optimised (default: DragSettings')")
    parser.add_argument("--no-unmasked", action="store_true", help="skip the runs without a mask")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--picture", help="write before/after pictures of the first four drags (PNG)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    G, _ = load_generator(bundled_model("faces").file, "cpu")
    G.eval().requires_grad_(False)
    settings = DragSettings()
    for name, value in [("lr", args.lr), ("max_steps", args.steps), ("feature_size", args.feature_size),
                        ("rows", args.rows)]:
        if value is not None:
            settings = replace(settings, **{name: value})
    cases = drag_cases(G, min(args.drags, len(SEEDS)), args.psi)
    base_before = baseline_ms(G, cases[0]["ws"])

    rows, pictures = [], []
    for i, case in enumerate(cases):
        region = painted_region(case["handle"], case["target"])
        with torch.no_grad():
            before = to_uint8(G.synthesis(case["ws"], noise_mode="const"))[0]
        masked, cpu_ms = run_case(G, case, settings, region * 255)
        row = dict(seed=case["seed"], handle=case["handle"].tolist(), target=case["target"].tolist(),
                   final=masked.final_handles[0].tolist(),
                   error_px=float(np.linalg.norm(masked.final_handles[0] - masked.targets[0])),
                   steps=masked.steps, ms_per_step=masked.ms_per_step, cpu_ms_per_step=cpu_ms,
                   outside_change=float(np.abs(masked.image.astype(float) - before)[region == 0].mean()),
                   content_followed=bool(content_followed(before, masked.image, case["handle"], case["target"])))
        if not args.no_unmasked:
            free, _ = run_case(G, case, settings, None)
            row.update(unmasked_error_px=float(np.linalg.norm(free.final_handles[0] - free.targets[0])),
                       unmasked_steps=free.steps,
                       unmasked_outside_change=float(np.abs(free.image.astype(float) - before)[region == 0].mean()))
        rows.append(row)
        if i < 4:
            pictures.append((before, masked.image, case, masked))
        print(f"drag {i + 1:2d} seed {case['seed']}: {row['error_px']:.1f} px off after {row['steps']} steps, "
              f"{row['ms_per_step']:.0f} ms/step, outside change {row['outside_change']:.2f}"
              + (f" (unmasked {row['unmasked_outside_change']:.2f})" if "unmasked_outside_change" in row else ""),
              flush=True)
    base_after = baseline_ms(G, cases[0]["ws"])

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    summary = {
        "drags": len(rows), "threads": args.threads, "settings": asdict(settings),
        "within_2px": float(np.mean([r["error_px"] <= 2.0 for r in rows])),
        "content_followed": float(np.mean([r["content_followed"] for r in rows])),
        "steps_mean": mean("steps"), "steps_max": max(r["steps"] for r in rows),
        "ms_per_step": mean("ms_per_step"), "cpu_ms_per_step": mean("cpu_ms_per_step"),
        "outside_change_masked": mean("outside_change"),
        "baseline_forward_ms": (base_before["forward_ms"] + base_after["forward_ms"]) / 2,
        "baseline_forward_backward_ms": (base_before["forward_backward_ms"] + base_after["forward_backward_ms"]) / 2,
    }
    if not args.no_unmasked:
        summary.update(within_2px_unmasked=float(np.mean([r["unmasked_error_px"] <= 2.0 for r in rows])),
                       steps_mean_unmasked=mean("unmasked_steps"),
                       outside_change_unmasked=mean("unmasked_outside_change"))
    print(f"\n{len(rows)} drags of 5-10 px on the bundled face model, {args.threads} thread(s)")
    print(f"within 2 px of the target: {summary['within_2px']:.0%} (goal >= 90%); content followed the handle: "
          f"{summary['content_followed']:.0%}")
    print(f"steps: mean {summary['steps_mean']:.1f}, max {summary['steps_max']}; ms per step: "
          f"{summary['ms_per_step']:.1f} wall (goal <= 60), {summary['cpu_ms_per_step']:.1f} CPU over all threads")
    print(f"baseline: synthesis forward {summary['baseline_forward_ms']:.1f} ms, forward + backward "
          f"{summary['baseline_forward_backward_ms']:.1f} ms (a drag step / forward+backward: "
          f"{summary['ms_per_step'] / summary['baseline_forward_backward_ms']:.2f}x)")
    print(f"mean absolute change outside the painted region (0-255): {summary['outside_change_masked']:.2f} "
          "with the mask" + (f", {summary['outside_change_unmasked']:.2f} without "
                             f"(within 2 px without the mask: {summary['within_2px_unmasked']:.0%}, "
                             f"{summary['steps_mean_unmasked']:.1f} steps)" if not args.no_unmasked else ""))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "drags": rows}, indent=2) + "\n",
                                   encoding="utf-8")
    if args.picture:
        save_picture(args.picture, pictures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
