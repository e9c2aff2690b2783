"""Small data and mode collapse (issue 18): does augmentation help on a few hundred faces, and do an unrolled D
and several D's keep the ring of 8 Gaussians from collapsing?

    python benchmarks/small_data.py ring                        # 5 seeds: plain, --unroll 5, --num-d 3
    python benchmarks/small_data.py faces --sizes 500,2000      # 3 seeds: none, diffaug, ada; FID and recall

Faces: the first N CelebA faces (../shared/data/celeba-10k, 64 px, the 70 px centre crop of the half-size
images) train a DCGAN for the same number of steps with each augmentation; FID and recall (celeba extractor)
are measured with the EMA generator against held-out faces (the last --reference of the 10,000), so that a
generator that memorised its few hundred faces gets no credit for it. Ring: the MLP on toy:ring8 with the
settings under which the plain GAN collapses (see RING_SETTING); modes covered (core.metrics.modes, within 3
std of a mode) of 2,000 samples of G at the end.

Every size is a flag, so that the same script runs a quick check on a busy CPU and the full measurement on a
free machine. Results go to stdout as a table and, with --out, as JSON lines.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganstudio.core.config import DataConfig  # noqa: E402
from ganstudio.core.data.sources import DatasetInfo, load_data  # noqa: E402
from ganstudio.core.defaults import RunChoices, run_config  # noqa: E402
from ganstudio.core.metrics.evaluate import Evaluator  # noqa: E402
from ganstudio.core.metrics.modes import toy_modes  # noqa: E402
from ganstudio.core.training.loop import Trainer  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FACE_SHAPE = dict(channels=3, resolution=64, center_crop=70)
# The plain GAN fails on the ring when G learns ten times faster than D (Adam at 1e-3 for G, 1e-4 for D), with a
# 64-d latent and no EMA: on a busy 2-core machine it covered 0 or 1 of the 8 modes after 1,000 to 3,000 steps
# (the default toy settings, 5e-4 for both and a 2-d latent, cover 7-8). Whether G sits on one mode (collapse) or
# on none shows in the high-quality share; more steps (--ring-steps) tell the two apart.
RING_SETTING = {"model": {"z_dim": 64}, "loss": {"name": "bce"},
                "train": {"lr_g": 1e-3, "lr_d": 1e-4, "ema": False}}
RING_VARIANTS = {"plain": {}, "unroll 5": {"train": {"unroll": 5}}, "num-d 3": {"model": {"num_d": 3}}}
AUGMENTS = ("none", "diffaug", "ada")


def train(config, data=None) -> tuple[Trainer, float]:
    """Train a run to its end with no run folder; the trainer and the seconds it took."""
    trainer = Trainer(config, data=data)
    t0 = time.perf_counter()
    for _ in trainer:
        pass
    return trainer, time.perf_counter() - t0


# -- ring ------------------------------------------------------------------------------------------------------


def ring(args) -> list[dict]:
    """Modes covered on toy:ring8 over seeds, for the plain GAN, --unroll 5 and --num-d 3."""
    from ganstudio.core.data.toy import toy_distribution

    toy = toy_distribution("ring8", 100, 0)
    print(f"Ring of 8 Gaussians (std 0.02), {args.ring_steps:,} steps, setting {json.dumps(RING_SETTING)}; "
          f"modes covered by {args.ring_samples:,} samples of G", flush=True)
    results = {name: {"covered": [], "quality": [], "seconds": 0.0} for name in RING_VARIANTS}
    for seed in range(args.ring_seeds):  # seeds outermost: a run cut short still compares the variants
        for name, variant in RING_VARIANTS.items():
            config = run_config(RunChoices(source="toy:ring8"), RING_SETTING, variant,
                                {"train": {"steps": args.ring_steps, "seed": seed, "device": "cpu",
                                           "sample_every": 0, "checkpoint_every": 0}})
            trainer, took = train(config)
            G = trainer.sampling_generator.eval()
            with torch.no_grad():
                z = torch.randn(args.ring_samples, config.model.z_dim, generator=torch.Generator().manual_seed(seed))
                points = G(z).numpy()
            result = toy_modes(points, toy.modes, toy.mode_std)
            got = results[name]
            got["covered"].append(result["modes_covered"])
            got["quality"].append(result["high_quality"])
            got["seconds"] += took
            print(f"    seed {seed} {name:<9} modes covered {result['modes_covered']}, high-quality share "
                  f"{result['high_quality']:.3f}, {took:.0f} s", flush=True)
    rows = []
    for name, got in results.items():
        row = {"part": "ring", "variant": name, "steps": args.ring_steps, "seeds": args.ring_seeds,
               "modes_covered": got["covered"], "mean_modes": statistics.mean(got["covered"]),
               "high_quality": round(statistics.mean(got["quality"]), 3), "seconds": round(got["seconds"], 1)}
        rows.append(row)
        print(f"  {name:<10} modes covered {got['covered']} (mean {row['mean_modes']:.1f} of 8), "
              f"high-quality share {row['high_quality']:.2f}, {got['seconds']:.0f} s", flush=True)
    return rows


# -- faces -----------------------------------------------------------------------------------------------------


def face_folder(tmp: Path, name: str, numbers: range, source: Path) -> str:
    """A folder of links to some of the CelebA faces, as a folder: source."""
    folder = tmp / name
    folder.mkdir()
    for i in numbers:
        (folder / f"{i:06d}.jpg").symlink_to(source / f"{i:06d}.jpg")
    return f"folder:{folder}"


def faces(args) -> list[dict]:
    """FID and recall of DCGANs trained on the first N faces without and with augmentation, over seeds."""
    source = Path(args.celeba_dir) / "img_align_celeba"
    if not source.is_dir():
        sys.exit(f"no CelebA faces at {source}; give --celeba-dir")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        reference = load_data(DataConfig(source=face_folder(Path(tmp), "reference",
                                                              range(10001 - args.reference, 10001), source),
                                         **FACE_SHAPE))
        reference.info = DatasetInfo("celeba held-out", 3, 64, 0, (), len(reference), False, True)
        evaluator = Evaluator(reference, "fid,pr", args.eval_samples, "celeba", use_cache=False)
        evaluator.reference()
        for size in args.sizes:
            data = load_data(DataConfig(source=face_folder(Path(tmp), f"train{size}", range(1, size + 1), source),
                                        **FACE_SHAPE))
            print(f"{size:,} faces, {args.steps:,} steps of {args.batch_size} ({args.steps * args.batch_size / size:.0f} "
                  f"passes), DCGAN capacity {args.capacity}; FID and recall of {args.eval_samples:,} samples against "
                  f"{args.reference:,} held-out faces", flush=True)
            results = {augment: {"fid": [], "recall": [], "seconds": 0.0} for augment in AUGMENTS}
            for seed in range(args.seeds):  # seeds outermost: a run cut short still compares the augmentations
                for augment in AUGMENTS:
                    config = run_config(
                        RunChoices(source="folder:unused", arch="dcgan", resolution=64),
                        {"data": FACE_SHAPE, "model": {"capacity": args.capacity},
                         "loss": {"augment": augment},
                         "train": {"steps": args.steps, "epochs": None, "batch_size": args.batch_size,
                                   "seed": seed, "device": "cpu", "sample_every": 0, "checkpoint_every": 0}})
                    trainer, took = train(config, data)
                    record = evaluator.evaluate(trainer.sampling_generator)
                    got = results[augment]
                    got["fid"].append(round(record["fid"], 2))
                    got["recall"].append(round(record["recall"], 3))
                    got["seconds"] += took
                    p = trainer.augment_p
                    print(f"    seed {seed} {augment:<8} FID {record['fid']:.1f}, recall {record['recall']:.3f}"
                          f"{f', p {p:.3f}' if p is not None else ''}, {took:.0f} s", flush=True)
            for augment, got in results.items():
                row = {"part": "faces", "faces": size, "augment": augment, "steps": args.steps,
                       "batch_size": args.batch_size, "capacity": args.capacity, "seeds": args.seeds,
                       "fid": got["fid"], "mean_fid": round(statistics.mean(got["fid"]), 2), "recall": got["recall"],
                       "mean_recall": round(statistics.mean(got["recall"]), 3), "seconds": round(got["seconds"], 1)}
                rows.append(row)
                print(f"  {augment:<8} FID {row['mean_fid']:.1f} {got['fid']}, recall {row['mean_recall']:.3f}, "
                      f"{got['seconds']:.0f} s", flush=True)
            plain = next(r["mean_fid"] for r in rows if r["faces"] == size and r["augment"] == "none")
            best = min(r["mean_fid"] for r in rows if r["faces"] == size and r["augment"] != "none")
            print(f"  best augmentation cuts FID by {100 * (1 - best / plain):.0f}% "
                  f"(goal on 500 faces: at least 33%)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", nargs="*", choices=["ring", "faces"], default=["ring", "faces"])
    parser.add_argument("--ring-seeds", type=int, default=5)
    parser.add_argument("--ring-steps", type=int, default=3000)
    parser.add_argument("--ring-samples", type=int, default=2000)
    parser.add_argument("--celeba-dir", default=str(SHARED / "celeba-10k"))
    parser.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[500, 2000])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5000, help="training steps of every face run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--capacity", type=int, default=64, help="DCGAN width (64: the full model)")
    parser.add_argument("--eval-samples", type=int, default=5000)
    parser.add_argument("--reference", type=int, default=5000, help="held-out faces (from the 10,000th down)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--out", help="append the results to this JSON-lines file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    rows = []
    if "ring" in args.part:
        rows += ring(args)
    if "faces" in args.part:
        rows += faces(args)
    print(f"total {time.perf_counter() - t0:.0f} s", flush=True)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
