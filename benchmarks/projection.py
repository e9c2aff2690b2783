"""Photo projection on the bundled 64 x 64 face model, on the CPU: how close W, W+ and pivotal tuning get, and how
long they take.

Two sets of targets:
- *generated*: faces the model draws from seeds 5000, 5001, ... (no truncation), an exact target that W+ can
  reach in principle;
- *real*: CelebA's aligned faces 009001.jpg onwards from ../shared/data, framed as the model's training data (70 px
  centre square, 64 px). These are NOT held out from the generator: it was trained on all 10,000 faces in that
  folder (000001-010000) and no other CelebA faces are available here. They are held out from the CelebA
  attribute classifier (its test split), whose features the offline loss uses.

Methods: W and W+ projection with `ProjectionSettings`' defaults, and PTI (`TuningSettings`' defaults) around the
W pivot, as Roich et al. do. Reported per set and method: PSNR (dB), SSIM, the perceptual distance (LPIPS when
VGG16's weights are on this machine, else the offline loss's CelebA-classifier feature distance, which is what
the projection minimised and so flatters it), steps, wall seconds and CPU seconds per face. Floor: W+ on
generated faces >= 27 dB within 15 s on 2 CPU threads.

    python benchmarks/projection.py                          # 100 + 100 faces, 2 threads
    nice python benchmarks/projection.py --generated 10 --real 5 --threads 1 --json projection.json \
        --picture projection.png
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganstudio.core.bundled import bundled_model  # noqa: E402
from ganstudio.core.checkpoints import load_generator  # noqa: E402
from ganstudio.core.images import to_uint8  # noqa: E402
from ganstudio.core.latent.sampling import z_for_seed  # noqa: E402
from ganstudio.core.photo.align import frame_photo, load_photo  # noqa: E402
from ganstudio.core.photo.loss import LPIPSLoss, OfflineLoss, photo_loss, psnr, ssim, vgg16_weights  # noqa: E402
from ganstudio.core.photo.projection import (  # noqa: E402
    ProjectionSettings, TuningSettings, pivotal_tuning, project, render, target_tensor,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba-10k" / "img_align_celeba"
FIRST_SEED = 5000
FIRST_REAL = 9001  # the CelebA classifier's held-out faces (the generator saw them all)


def targets(G, generated: int, real: int) -> list[tuple[str, str, np.ndarray]]:
    """(set, name, uint8 picture) of every target."""
    out = []
    for i in range(generated):
        with torch.no_grad():
            ws = G.mapping(z_for_seed(FIRST_SEED + i, G.z_dim))
        out.append(("generated", f"seed {FIRST_SEED + i}", to_uint8(render(G, ws))[0]))
    if real and not SHARED.is_dir():
        print(f"CelebA not found at {SHARED}: real faces skipped", file=sys.stderr)
        real = 0
    for i in range(real):
        path = SHARED / f"{FIRST_REAL + i:06d}.jpg"
        out.append(("real", path.name, frame_photo(load_photo(path), 64, 70).image))
    return out


def measure(image: np.ndarray, target: np.ndarray, distance) -> dict:
    a, b = target_tensor(image), target_tensor(target)
    with torch.no_grad():
        return {"psnr": float(psnr(a, b)[0]), "ssim": float(ssim(a, b)[0]), "perceptual": float(distance(a, b)[0])}


def summary(rows: list[dict]) -> dict:
    keys = ("psnr", "ssim", "perceptual", "steps", "seconds", "cpu_seconds")
    out = {k: statistics.fmean(r[k] for r in rows) for k in keys}
    out["psnr_min"] = min(r["psnr"] for r in rows)
    out["n"] = len(rows)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=100, help="generated faces (exact targets)")
    parser.add_argument("--real", type=int, default=100, help="real CelebA faces")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--methods", default="w,w+,pti", help="comma-separated: w, w+, pti")
    parser.add_argument("--steps", type=int, help="projection steps (default: ProjectionSettings')")
    parser.add_argument("--pti-steps", type=int, help="tuning steps (default: TuningSettings')")
    parser.add_argument("--loss", default="auto", choices=["auto", "offline", "lpips"])
    parser.add_argument("--json", help="write every measurement and the summary here")
    parser.add_argument("--picture", help="a PNG: target, W, W+, PTI for the first faces of each set")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    G, _ = load_generator(bundled_model("faces").file, "cpu")
    G.eval().requires_grad_(False)
    loss = photo_loss(args.loss)
    metric = LPIPSLoss(vgg16_weights()) if vgg16_weights() else None
    distance_name = "LPIPS (VGG16)" if metric else "CelebA-classifier feature distance (offline loss)"
    features = metric.perceptual if metric else (loss if isinstance(loss, OfflineLoss) else OfflineLoss()).feature_distance
    projection = ProjectionSettings() if args.steps is None else ProjectionSettings(steps=args.steps)
    tuning = TuningSettings() if args.pti_steps is None else TuningSettings(steps=args.pti_steps)
    rows, pictures = [], {}
    for group, name, target in targets(G, args.generated, args.real):
        pivots = {}  # method -> (result, wall seconds, CPU seconds)
        for method in methods:
            wall, cpu = time.perf_counter(), time.process_time()
            if method in ("w", "w+"):
                result = project(G, target, ProjectionSettings(**{**asdict(projection), "space": method}), loss)
                image, steps = result.image, result.steps
                pivots[method] = (result, time.perf_counter() - wall, time.process_time() - cpu)
                extra_wall = extra_cpu = 0.0
            else:  # PTI around the W pivot; its time includes finding the pivot
                if "w" not in pivots:
                    result = project(G, target, ProjectionSettings(**{**asdict(projection), "space": "w"}), loss)
                    pivots["w"] = (result, 0.0, 0.0)  # timed inside this row
                pivot, extra_wall, extra_cpu = pivots["w"]
                tuned = pivotal_tuning(G, pivot.ws, target, tuning, loss)
                image, steps = tuned.image, pivot.steps + tuning.steps
            row = {"set": group, "face": name, "method": method, "steps": steps,
                   "seconds": time.perf_counter() - wall + extra_wall,
                   "cpu_seconds": time.process_time() - cpu + extra_cpu, **measure(image, target, features)}
            rows.append(row)
            pictures.setdefault(group, []).append((name, method, image, target))
            print(f"{group:9s} {name:12s} {method:4s} PSNR {row['psnr']:5.2f} dB  SSIM {row['ssim']:.3f}  "
                  f"perceptual {row['perceptual']:.4f}  {row['seconds']:5.1f} s ({row['cpu_seconds']:.1f} s CPU)",
                  flush=True)
    results = {}
    for group in ("generated", "real"):
        for method in methods:
            chosen = [r for r in rows if r["set"] == group and r["method"] == method]
            if chosen:
                results[f"{group} {method}"] = summary(chosen)
    print(f"\nloss: {loss.name}; perceptual distance: {distance_name}; {args.threads} thread(s)")
    print(f"{'set / method':16s} {'n':>3s} {'PSNR':>6s} {'min':>6s} {'SSIM':>6s} {'percept.':>9s} {'steps':>6s} "
          f"{'s/face':>7s} {'CPU s':>6s}")
    for key, s in results.items():
        print(f"{key:16s} {s['n']:3d} {s['psnr']:6.2f} {s['psnr_min']:6.2f} {s['ssim']:6.3f} {s['perceptual']:9.4f} "
              f"{s['steps']:6.0f} {s['seconds']:7.1f} {s['cpu_seconds']:6.1f}")
    floor = results.get("generated w+")
    if floor:
        ok = floor["psnr"] >= 27.0 and floor["seconds"] <= 15.0
        print(f"floor (W+ on generated faces >= 27 dB within 15 s): {'met' if ok else 'NOT met'} "
              f"({floor['psnr']:.2f} dB, {floor['seconds']:.1f} s wall, {floor['cpu_seconds']:.1f} s CPU)")
    if args.json:
        Path(args.json).write_text(json.dumps({"loss": loss.name, "perceptual": distance_name,
                                               "threads": args.threads, "projection": asdict(projection),
                                               "tuning": asdict(tuning), "summary": results, "rows": rows},
                                              indent=1) + "\n", encoding="utf-8")
    if args.picture:
        save_picture(pictures, methods, Path(args.picture))
    return 0


def save_picture(pictures: dict, methods: list[str], path: Path, faces: int = 4) -> None:
    """Rows of target then each method's picture, for the first faces of each set."""
    from PIL import Image

    rows = []
    for items in pictures.values():
        names = list(dict.fromkeys(name for name, *_ in items))[:faces]
        for name in names:
            mine = [i for i in items if i[0] == name]
            rows.append(np.concatenate([mine[0][3]] + [i[2] for i in mine], axis=1))
    if rows:
        Image.fromarray(np.concatenate(rows, axis=0)).resize((rows[0].shape[1] * 2, len(rows) * 128),
                                                             Image.NEAREST).save(path)


if __name__ == "__main__":
    sys.exit(main())
