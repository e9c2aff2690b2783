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

The face defaults (DCGAN capacity 8, batch 32, Adam 2e-4, 2,000 steps = 128 passes over 500 faces) are a setting
in which plain training visibly overfits within a CPU's budget: on 500 faces its FID was best near step 1,200
(113.7) and rose to 120.2 at 2,000 and 138.6 at 2,400 while D(x) climbed back from 0.75 to 0.82 (--fid-every 400
shows that curve). With 1 thread a plain run took 0.2-0.4 s a step on a busy 2-core machine, where 2 threads took
up to 5 s a step (OpenMP's threads wait for each other when the cores are oversubscribed): use --threads 1 there.

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
# Metz et al. 2017's ring (ours: radius 2, std 0.02, as theirs) with their 256-d latent, batch 512 and Adam with
# beta1 0.5, but at 1e-3 for G and D (their 1e-4 left our deeper MLPs, 3 layers of 128 in G and D where theirs
# has 2 in G and 1 in D, short of the ring for 9,000 steps), no EMA. After 3,000 steps the plain GAN sat on one
# mode in seeds 0 and 2 (high-quality share 1.00 and 0.85; seed 0 stayed there to step 4,000) and covered all 8
# in seeds 1, 3 and 4: it collapses in 2 of 5 seeds; --unroll 5 covered all 8 in all five; --num-d 3 (mean)
# covered 1, 7, 1, 4 and 5.
RING_SETTING = {"model": {"z_dim": 256}, "loss": {"name": "bce"},
                "train": {"lr_g": 1e-3, "lr_d": 1e-3, "betas_g": [0.5, 0.999], "betas_d": [0.5, 0.999],
                          "batch_size": 512, "ema": False}}
RING_VARIANTS = {"plain": {}, "unroll 5": {"train": {"unroll": 5}}, "num-d 3": {"model": {"num_d": 3}}}
AUGMENTS = ("none", "diffaug", "ada")


def train(config, data=None, every: int = 0, check=None) -> tuple[Trainer, float, float]:
    """Train a run to its end with no run folder; the trainer, the seconds it took (without the checks) and D's
    mean output on reals (D(x), a probability for bce) over the last tenth of the steps. With `every`, check(trainer,
    D(x) over the last 50 steps) runs every that many steps before the end (an FID curve)."""
    trainer = Trainer(config, data=data)
    d_real = []
    took = 0.0
    t0 = time.perf_counter()
    for report in trainer:
        d_real.append(report.d_real)
        if every and check and report.step % every == 0 and report.step < trainer.total_steps:
            took += time.perf_counter() - t0
            check(trainer, statistics.mean(d_real[-50:]))
            t0 = time.perf_counter()
    last = d_real[-max(1, len(d_real) // 10):]
    return trainer, took + time.perf_counter() - t0, statistics.mean(last)


def spread(values: list[float], digits: int = 1) -> str:
    """The median of a list and its range, as "median (min-max)"."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


# -- ring ------------------------------------------------------------------------------------------------------


def ring(args) -> list[dict]:
    """Modes covered on toy:ring8 over seeds, for the plain GAN, --unroll 5 and --num-d 3."""
    from ganstudio.core.data.toy import toy_distribution

    toy = toy_distribution("ring8", 100, 0)
    print(f"Ring of 8 Gaussians (std 0.02), {args.ring_steps:,} steps, setting {json.dumps(RING_SETTING)}; "
          f"modes covered by {args.ring_samples:,} samples of G", flush=True)
    variants = {name: RING_VARIANTS[name] for name in args.ring_variants}
    results = {name: {"covered": [], "quality": [], "seconds": 0.0} for name in variants}
    seeds = range(args.ring_first_seed, args.ring_first_seed + args.ring_seeds)
    for seed in seeds:  # seeds outermost: a run cut short still compares the variants
        for name, variant in variants.items():
            config = run_config(RunChoices(source="toy:ring8"), RING_SETTING, variant,
                                {"train": {"steps": args.ring_steps, "seed": seed, "device": "cpu",
                                           "sample_every": 0, "checkpoint_every": 0}})
            trainer, took, _ = train(config)
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
        row = {"part": "ring", "variant": name, "steps": args.ring_steps, "seeds": list(seeds),
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
            results = {augment: {"fid": [], "recall": [], "d_real": [], "p": [], "seconds": [], "curve": []}
                       for augment in args.augments}
            seeds = range(args.first_seed, args.first_seed + args.seeds)
            for seed in seeds:  # seeds outermost: a run cut short still compares the augmentations
                for augment in args.augments:
                    config = run_config(
                        RunChoices(source="folder:unused", arch="dcgan", resolution=64),
                        {"data": FACE_SHAPE, "model": {"capacity": args.capacity},
                         "loss": {"augment": augment},
                         "train": {"steps": args.steps, "epochs": None, "batch_size": args.batch_size,
                                   "lr_g": args.lr, "lr_d": args.lr,
                                   "seed": seed, "device": "cpu", "sample_every": 0, "checkpoint_every": 0}})
                    curve = []

                    def check(trainer, d_real, curve=curve):
                        fid = round(evaluator.evaluate(trainer.sampling_generator)["fid"], 2)
                        curve.append((trainer.step, fid, round(d_real, 3)))
                        print(f"      step {trainer.step:,}: FID {fid:.1f}, D(x) {d_real:.3f}", flush=True)

                    trainer, took, d_real = train(config, data, args.fid_every, check)
                    record = evaluator.evaluate(trainer.sampling_generator)
                    if args.grids:
                        Path(args.grids).mkdir(parents=True, exist_ok=True)
                        trainer.render_samples(trainer.sample_fixed()).save(
                            Path(args.grids) / f"faces{size}_{augment}_seed{seed}.png")
                    got = results[augment]
                    got["fid"].append(round(record["fid"], 2))
                    got["recall"].append(round(record["recall"], 3))
                    got["d_real"].append(round(d_real, 3))
                    p = trainer.augment_p
                    got["p"].append(p)
                    got["seconds"].append(round(took, 1))
                    got["curve"].append(curve)
                    print(f"    seed {seed} {augment:<8} FID {record['fid']:.1f}, recall {record['recall']:.3f}, "
                          f"precision {record['precision']:.3f}, D(x) {d_real:.3f} at the end"
                          f"{f', p {p:.3f}' if p is not None else ''}, {took:.0f} s", flush=True)
            for augment, got in results.items():
                row = {"part": "faces", "faces": size, "augment": augment, "steps": args.steps,
                       "batch_size": args.batch_size, "capacity": args.capacity, "lr": args.lr, "seeds": args.seeds,
                       "fid": got["fid"], "median_fid": statistics.median(got["fid"]), "recall": got["recall"],
                       "median_recall": statistics.median(got["recall"]), "d_real": got["d_real"], "p": got["p"],
                       "seconds": got["seconds"], "fid_curve": got["curve"]}
                rows.append(row)
                print(f"  {augment:<8} FID {spread(got['fid'])}, recall {spread(got['recall'], 3)}, "
                      f"D(x) {spread(got['d_real'], 3)}, {statistics.median(got['seconds']):.0f} s a run", flush=True)
            medians = {r["augment"]: r["median_fid"] for r in rows if r["faces"] == size}
            if "none" in medians and len(medians) > 1:
                best = min(v for k, v in medians.items() if k != "none")
                print(f"  best augmentation cuts the median FID by {100 * (1 - best / medians['none']):.0f}% "
                      f"(goal on 500 faces: at least 33%)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", nargs="*", choices=["ring", "faces"], default=["ring", "faces"])
    parser.add_argument("--ring-seeds", type=int, default=5)
    parser.add_argument("--ring-steps", type=int, default=3000)
    parser.add_argument("--ring-first-seed", type=int, default=0)
    parser.add_argument("--ring-variants", type=lambda s: s.split(","), default=list(RING_VARIANTS),
                        help="the variants to compare, of " + ",".join(RING_VARIANTS))
    parser.add_argument("--ring-samples", type=int, default=2000)
    parser.add_argument("--celeba-dir", default=str(SHARED / "celeba-10k"))
    parser.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[500, 2000])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="face runs: seeds from this one (to add seeds)")
    parser.add_argument("--steps", type=int, default=2000, help="training steps of every face run")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--capacity", type=int, default=8, help="DCGAN width (64: the full model)")
    parser.add_argument("--lr", type=float, default=2e-4, help="Adam's learning rate of G and D (DCGAN's)")
    parser.add_argument("--augments", type=lambda s: s.split(","), default=list(AUGMENTS),
                        help="the augmentations to compare, of " + ",".join(AUGMENTS))
    parser.add_argument("--grids", help="save each face run's sample grid in this folder (not in the repository: "
                                        "CelebA's faces are not ours to redistribute)")
    parser.add_argument("--fid-every", type=int, default=0,
                        help="also measure FID every this many steps of a face run (the curve shows overfitting)")
    parser.add_argument("--eval-samples", type=int, default=2000)
    parser.add_argument("--reference", type=int, default=2000, help="held-out faces (from the 10,000th down)")
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
