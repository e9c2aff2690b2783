"""CycleGAN on CelebA 64 px, black <-> blond hair: does the translation change the hair, and how little else?

    nice -n 10 python benchmarks/cyclegan.py --minutes 60 --out runs/cyclegan-hair --picture hair.png

Trains `--model cyclegan` on the training split of the shared CelebA subset (images 1-9000; A = Black_Hair
without Blond_Hair, B = Blond_Hair without Black_Hair, through `--domains Black_Hair:Blond_Hair`) for a time
budget on 2 CPU threads, then translates the held-out faces (9001-10000) both ways and scores them with the shipped
CelebA attribute classifier (core.latent.attributes):
- flipped: the share of translated faces the classifier reads with the target hair and without the source hair
  (goal >= 70%), over all held-out inputs and over those it read right before translation;
- L1 to the input (pixels in [0, 1]) and the cycle's L1 (F(G(a)) to a);
- the other 38 attributes: the mean change of their probabilities, and the share of decisions that flip.
The run's length in steps is fitted to the budget from the measured speed before the learning rates start to
decay (the recipe decays them over the second half of the steps).

CelebA's pictures are not ours to redistribute, so the README's picture is drawn from faces we made instead:

    python benchmarks/cyclegan.py --checkpoint runs/cyclegan-hair --picture-generated docs/images/cyclegan-hair.png

trains nothing; it generates faces with the bundled face model (resources/models, `faces`), keeps those the
classifier reads as black-haired (A) and as blond (B), translates them both ways with the run's newest checkpoint
(or the checkpoint file given), scores them as the held-out faces are scored, and draws the first few.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # 2 threads on a busy machine: no spinning

import torch  # noqa: E402

HAIR = ("Black_Hair", "Blond_Hair")
TRAIN_IMAGES = 9000  # 000001-009000 train, the rest is held out


def celeba_layout(celeba_dir: Path, into: Path) -> None:
    """CelebA's own layout over the shared subset, with a partition list holding out the last 1,000 images."""
    (into / "img_align_celeba").symlink_to(celeba_dir / "img_align_celeba")
    (into / "list_attr_celeba.txt").symlink_to(celeba_dir / "list_attr_celeba.txt")
    names = sorted(p.name for p in (celeba_dir / "img_align_celeba").glob("*.jpg"))
    (into / "list_eval_partition.txt").write_text(
        "".join(f"{n} {0 if i < TRAIN_IMAGES else 2}\n" for i, n in enumerate(names)))


def train(args, root: Path):
    from ganstudio.core.defaults import RunChoices, run_config
    from ganstudio.core.training.loop import Trainer

    cfg = run_config(RunChoices(source="celeba", arch="cyclegan", resolution=64),
                     {"data": {"root": str(root), "domains": ":".join(HAIR), "download": False},
                      "model": {"capacity": args.capacity, "residual_blocks": args.blocks},
                      "train": {"batch_size": args.batch_size, "steps": 100_000, "epochs": None, "device": "cpu",
                                "sample_every": 200, "checkpoint_every": 500, "seed": args.seed}}).validate()
    trainer = Trainer(cfg, args.out)
    info = trainer.dataset_info
    print(f"domains: {info.domain_sizes[0]} black-haired, {info.domain_sizes[1]} blond training faces", flush=True)
    budget = args.minutes * 60
    start = time.monotonic()
    marks = []
    for report in trainer:
        now = time.monotonic() - start
        marks.append(now)
        if trainer.step < trainer.total_steps / 2 and len(marks) > 10 and trainer.step % 10 == 0:
            recent = (marks[-1] - marks[-11]) / 10  # before the decay starts, fit the length to the budget
            trainer.total_steps = max(trainer.step + 2, trainer.step + int((budget - now) / recent))
        if trainer.step % 100 == 0:
            print(f"step {trainer.step}/{trainer.total_steps} {now / 60:.1f} min G {report.loss_g:.3f} "
                  f"D {report.loss_d:.3f} cycle {report.extras.get('cycle', 0):.3f}", flush=True)
        if now > budget * 1.1:
            trainer.control.stop()
    trainer.save_stopped() if trainer.step < trainer.total_steps else None
    return trainer, time.monotonic() - start


def held_out(celeba_dir: Path, n: int):
    """Held-out faces of each domain as [N, 3, 64, 64] in [-1, 1]."""
    from ganstudio.core.data.domains import read_attributes, split_by_attributes
    from ganstudio.core.data.torchvision_sets import CELEBA_CROP
    from ganstudio.core.data.decode import decode_image
    import numpy as np

    names, table = read_attributes(celeba_dir / "list_attr_celeba.txt")
    test = sorted(table)[TRAIN_IMAGES:]
    out = []
    for files in split_by_attributes(names, table, ":".join(HAIR), test):
        arrays = [decode_image(celeba_dir / "img_align_celeba" / f, 3, 64, CELEBA_CROP) for f in files[:n]]
        out.append(torch.from_numpy(np.stack(arrays)).float().div(127.5).sub(1))
    return out


def score(translator, a, b):
    from ganstudio.core.latent.attributes import AttributeClassifier

    clf = AttributeClassifier("cpu")
    names = list(clf.attributes)
    hair = [names.index(h) for h in HAIR]
    others = [i for i in range(len(names)) if i not in hair]
    results = {}
    for direction, x, (src, dst) in (("a2b", a, hair), ("b2a", b, hair[::-1])):
        y, back = translator.cycle(x, direction)
        before, after = clf.logits(x, names), clf.logits(y, names)
        flipped = (after[:, dst] > 0) & (after[:, src] < 0)
        right_before = (before[:, src] > 0) & (before[:, dst] < 0)
        p0, p1 = torch.sigmoid(before[:, others]), torch.sigmoid(after[:, others])
        results[direction] = {
            "images": len(x),
            "flipped": flipped.float().mean().item(),
            "flipped_of_read_right": flipped[right_before].float().mean().item() if right_before.any() else None,
            "input_read_right": right_before.float().mean().item(),
            "l1_to_input": ((y - x).abs().mean() / 2).item(),
            "cycle_l1": ((back - x).abs().mean() / 2).item(),
            "other_attributes_mean_abs_change": (p1 - p0).abs().mean().item(),
            "other_attributes_decisions_flipped": ((p1 > 0.5) != (p0 > 0.5)).float().mean().item(),
        }
    return results


@torch.no_grad()
def generated_faces(n: int, seed: int, psi: float, candidates: int, chunk: int = 100):
    """Faces of the bundled face model the classifier reads as black-haired (A) and as blond (B), up to n of each
    from at most `candidates` seeded latents, as [N, 3, 64, 64] in [-1, 1]; and how many were generated."""
    from ganstudio.core.bundled import bundled_model
    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.latent.attributes import AttributeClassifier

    G, cfg = load_generator(bundled_model("faces").file)
    clf = AttributeClassifier("cpu")
    gen = torch.Generator().manual_seed(seed)
    a, b, made = [], [], 0
    while made < candidates and min(sum(map(len, a)), sum(map(len, b))) < n:
        z = torch.randn(chunk, cfg.model.z_dim, generator=gen)
        images = G.synthesis(G.mapping(z, None, truncation_psi=psi), noise_mode="const").clamp(-1, 1)
        black, blond = clf.logits(images, HAIR).unbind(1)
        a.append(images[(black > 0) & (blond < 0)])
        b.append(images[(blond > 0) & (black < 0)])
        made += chunk
    return torch.cat(a)[:n], torch.cat(b)[:n], made


def picture(translator, a, b, path: Path, n: int = 5) -> None:
    """Rows: input, translated, cycled; A -> B on the left half, B -> A on the right."""
    from ganstudio.core.images import image_grid, save_image

    x = torch.cat([a[:n], b[:n]])
    y = torch.cat([translator.translate(a[:n], "a2b"), translator.translate(b[:n], "b2a")])
    back = torch.cat([translator.translate(y[:n], "b2a"), translator.translate(y[n:], "a2b")])
    save_image(image_grid(torch.cat([x, y, back]), nrow=2 * n), path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--celeba-dir", default=str(ROOT.parent / "shared" / "data" / "celeba-10k"))
    parser.add_argument("--minutes", type=float, default=60.0, help="training time budget")
    parser.add_argument("--capacity", type=int, default=16)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test", type=int, default=300, help="held-out faces per domain to translate")
    parser.add_argument("--out", default="runs/cyclegan-hair")
    parser.add_argument("--picture", help="write input | translated | cycled rows here (PNG)")
    parser.add_argument("--json", help="write the numbers here")
    parser.add_argument("--picture-generated", metavar="PATH", help="train nothing: translate faces of the bundled "
                        "face model with --checkpoint, score them and draw them here (PNG)")
    parser.add_argument("--checkpoint", metavar="RUN", help="a CycleGAN run folder (its newest checkpoint) or file")
    parser.add_argument("--psi", type=float, default=0.7, help="truncation of the generated faces (the explorer's)")
    parser.add_argument("--candidates", type=int, default=4000, help="generated faces to pick A and B from")
    parser.add_argument("--columns", type=int, default=5, help="pictures per direction in the picture")
    args = parser.parse_args()
    if args.picture_generated:
        return generated(args)
    celeba_dir = Path(args.celeba_dir)
    if not (celeba_dir / "list_attr_celeba.txt").is_file():
        print(f"skipped: the CelebA subset is not at {celeba_dir}", file=sys.stderr)
        return 0
    torch.set_num_threads(args.threads)
    from ganstudio.core.translate import load_translator

    with tempfile.TemporaryDirectory() as tmp:
        celeba_layout(celeba_dir.absolute(), Path(tmp))
        trainer, seconds = train(args, Path(tmp))
    translator = load_translator(args.out)
    a, b = held_out(celeba_dir, args.test)
    results = {"steps": trainer.step, "batch_size": args.batch_size, "images_per_domain_seen": trainer.step * args.batch_size,
               "train_minutes": round(seconds / 60, 1), "threads": args.threads, "capacity": args.capacity,
               "residual_blocks": args.blocks, "load_average": os.getloadavg(), **score(translator, a, b)}
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.picture:
        picture(translator, a, b, Path(args.picture))
        print(f"picture: {args.picture} ({Path(args.picture).stat().st_size // 1024} KB)")
    return 0


def generated(args) -> int:
    """The README's picture and its numbers, from generated faces (see the module's docstring)."""
    if not args.checkpoint:
        print("--picture-generated needs --checkpoint RUN (a CycleGAN run folder or checkpoint file)",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    from ganstudio.core.translate import load_translator

    translator = load_translator(args.checkpoint)
    a, b, made = generated_faces(args.test, args.seed, args.psi, args.candidates)
    results = {"checkpoint": str(args.checkpoint), "step": translator.step, "generated": made, "psi": args.psi,
               "seed": args.seed, **score(translator, a, b)}
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    picture(translator, a, b, Path(args.picture_generated), n=args.columns)
    print(f"picture: {args.picture_generated} ({Path(args.picture_generated).stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
