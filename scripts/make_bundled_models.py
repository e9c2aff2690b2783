"""Make the pretrained models shipped in resources/models from finished training runs: a slim generator file, the
face model's named attribute directions, a model card with measured numbers for each, and the manifest the app
reads (models.json).

    ganstudio train --preset mnist-digits --data-root DATA --out runs/digits
    ganstudio train --preset celeba-faces --data folder:DATA/celeba-10k/img_align_celeba --out runs/faces
    python scripts/make_bundled_models.py --digits-run runs/digits --mnist-root DATA \\
        --faces-run runs/faces --celeba-dir DATA/celeba-10k/img_align_celeba     (either model alone is fine)

Every number in the cards is measured here, by the project's own metrics and attribute classifier.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from ganstudio import __version__
from ganstudio.core.config import DataConfig
from ganstudio.core.bundled import MANIFEST
from ganstudio.core.checkpoints import export_generator, load_generator
from ganstudio.core.data.sources import load_data
from ganstudio.core.latent.attributes import (DEFAULT_ATTRIBUTES, check_directions, directions_from_boundaries,
                                              display_name, fit_boundaries)
from ganstudio.core.metrics.evaluate import evaluate
from ganstudio.core.runs import RunFolder

OUT = Path(__file__).resolve().parents[1] / "resources" / "models"
FACES, DIGITS = "faces-stylegan-64", "digits-dcgan-28"
# InterFaceGAN's conditional manipulation: which other attributes each slider may keep fixed. Whether it helps is
# measured, not assumed (choose_conditions): projecting a correlated attribute out can also overshoot.
CONDITION_CANDIDATES = {"Smiling": [("Male",)], "Male": [("Smiling",)], "Eyeglasses": [("Male",), ("Male", "Young")],
                        "Blond_Hair": [("Male",)], "Young": [("Male",)], "Bangs": [("Male",), ("Male", "Young")]}
SELECTION_SEEDS = range(3000, 3032)  # for choosing conditions; the card reports other seeds
CHECK_SEEDS = range(1000, 1032)  # neither the fitting samples nor the selection seeds
KEEP_RISE = 0.8  # a condition is taken only if the slider keeps this share of its own effect


def choose_conditions(G, cfg, samples, fitted) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Per attribute, the candidate conditioning (none included) with the smallest total side effect on the
    other attributes among those that keep KEEP_RISE of the largest own effect; and the rows of a table."""
    chosen, rows = {}, []
    for attribute in DEFAULT_ATTRIBUTES:
        tried = []
        for others in [(), *CONDITION_CANDIDATES.get(attribute, [])]:
            fit = directions_from_boundaries(G, cfg, samples, fitted, [attribute], {attribute: others})
            c = check_directions(G, cfg, fit.directions, SELECTION_SEEDS)[0]
            rise = c.mean_probability[-1] - c.mean_probability[0]
            tried.append((others, rise, sum(abs(v) for v in c.side_effects.values())))
        best_rise = max(t[1] for t in tried)
        others = min((t for t in tried if t[1] >= KEEP_RISE * best_rise), key=lambda t: t[2])[0]
        chosen[attribute] = others
        for o, rise, side in tried:
            rows.append(f"| {display_name(attribute)} | {', '.join(display_name(a) for a in o) or 'none'} | "
                        f"{rise:+.2f} | {side:.2f} | {'**chosen**' if o == others else ''} |")
    return chosen, rows



def training_summary(run: Path) -> dict:
    """Steps, images seen and the training time summed from the run's log."""
    config = json.loads(RunFolder(run).config_path.read_text())
    batch = config["train"]["batch_size"]
    rows = [r for r in RunFolder.open(run).read_metrics() if "step" in r and r.get("images_per_sec")]
    seconds = sum(batch / r["images_per_sec"] for r in rows)
    return {"steps": rows[-1]["step"], "images": rows[-1]["step"] * batch, "hours": seconds / 3600,
            "config": config}


def metric_rows(record: dict) -> list[tuple[str, str]]:
    names = {"fid": "FID", "kid": "KID x 1000", "precision": "precision", "recall": "recall", "is": "IS",
             "class_accuracy": "class accuracy (sample classified as its requested class)",
             "classes_covered": "classes covered", "class_kl": "class-histogram KL"}
    rows = []
    for key, label in names.items():
        value = record.get(key)
        if value is None:
            continue
        if key == "kid":
            value *= 1000
        rows.append((label, f"{value:.4g}" if isinstance(value, float) else str(value)))
    return rows


def config_block(config: dict) -> str:
    return "```json\n" + json.dumps({k: config[k] for k in ("data", "model", "loss", "train")}, indent=1) + "\n```"


def faces(run: Path, celeba_dir: Path, samples: int, eval_n: int) -> dict:
    out = OUT / f"{FACES}.safetensors"
    export_generator(run, out, extra={"bundled": "faces"})
    G, cfg = load_generator(out, "cpu")
    start = time.perf_counter()
    needed = list(dict.fromkeys([*DEFAULT_ATTRIBUTES, *(a for c in CONDITION_CANDIDATES.values() for o in c
                                                         for a in o)]))
    scored, fitted = fit_boundaries(G, cfg, needed, n_samples=samples)
    fit_seconds = time.perf_counter() - start
    conditions, selection_rows = choose_conditions(G, cfg, scored, fitted)
    fit = directions_from_boundaries(G, cfg, scored, fitted, DEFAULT_ATTRIBUTES, conditions)
    directions_file = OUT / f"{FACES}.directions.json"
    fit.directions.save(directions_file)
    checks = check_directions(G, cfg, fit.directions, CHECK_SEEDS)
    only_glasses = directions_from_boundaries(G, cfg, scored, fitted, ["Eyeglasses"], conditions).directions
    glasses = check_directions(G, cfg, only_glasses, CHECK_SEEDS, amounts=(4.0, 8.0, 12.0))[0]  # typed values
    data = load_data(DataConfig(source=f"folder:{celeba_dir}", resolution=64, center_crop=70, channels=3), "cpu")
    record = evaluate(G, data, "fid,kid,pr", n=eval_n, extractor="celeba", use_cache=False)
    summary = training_summary(run)
    card = [
        "# Faces: StyleGAN 64 x 64 on CelebA (bundled model `faces`)", "",
        "The face model GAN Studio opens on first launch, with six named sliders. Trained by GAN Studio's own "
        "trainer; everything below was measured by `scripts/make_bundled_models.py`.", "",
        "## Data and license",
        "CelebA (Liu, Luo, Wang & Tang 2015), the first 10,000 aligned faces (000001-010000.jpg) at half size "
        "(89 x 109), centre crop 70 px resized to 64 x 64. **CelebA is available for non-commercial research "
        "purposes only**; these weights are derived from it and inherit that restriction. Generated faces are "
        "of no real person, but the model can reproduce biases of CelebA (mostly young, light-skinned "
        "celebrities).", "",
        "## Training",
        f"Preset `celeba-faces` (`ganstudio train --preset celeba-faces --data folder:PATH/img_align_celeba`): "
        f"{summary['steps']:,} steps of {summary['config']['train']['batch_size']} "
        f"({summary['images']:,} images, {summary['images'] / 10000:.1f} passes), "
        f"about {summary['hours']:.1f} hours summed from the log, on one or two CPU threads of a shared 2-core "
        f"{platform.machine()} machine (the run was stopped and resumed at steps 3,000, 7,000 and 7,289; "
        "resuming is exact). At step 7,000 the same measurement gave FID 15.4 and recall 0.31 (3,000 samples); "
        "the longer run is the one shipped. "
        f"The file holds the EMA generator only ({out.stat().st_size / 1e6:.1f} MB, float32); "
        f"GAN Studio {__version__}, torch {torch.__version__}.", "",
        config_block(summary["config"]), "",
        f"## Quality ({eval_n:,} samples against {eval_n:,} training faces, CelebA-attribute features)",
        "| metric | value |", "|---|---|", *[f"| {a} | {b} |" for a, b in metric_rows(record)], "",
        "The features are the shipped CelebA attribute classifier's (`--extractor celeba`), not Inception: "
        "these numbers compare GAN Studio models with each other, not with papers.", "",
        "## Named directions (InterFaceGAN)",
        f"{samples:,} faces were generated from seeded w (no truncation) and scored by the shipped CelebA "
        "attribute classifier; for each attribute a ridge regression of the classifier's logit on w gives a "
        "linear boundary, and its unit normal is the slider (`ganstudio.core.latent.attributes`). Slider units "
        f"are one standard deviation of w along the normal. Scoring and fitting took {fit_seconds:.0f} s. "
        "*r* is the held-out correlation between the boundary's linear score and the classifier's logit.", "",
        "A slider can be *conditioned* on other attributes by projecting their normals out (InterFaceGAN's "
        "conditional manipulation), so that, to first order, it leaves them alone. Whether that helps was "
        f"measured on {len(SELECTION_SEEDS)} other seeds ({SELECTION_SEEDS.start}-{SELECTION_SEEDS.stop - 1}): "
        "per slider, the choice with the smallest total side effect (the summed absolute change of the other "
        f"attributes' probabilities from -4 to +4) among those keeping {KEEP_RISE:.0%} of the largest own rise.",
        "", "| slider | conditioned on | own rise | side effects | |", "|---|---|---|---|---|", *selection_rows, "",
        "| slider | conditioned on | r (held out) |", "|---|---|---|",
        *[f"| {name} | {', '.join(display_name(c) for c in b.conditioned_on) or '-'} | {b.correlation:.2f} |"
          for name, b in zip(fit.directions.names, fit.boundaries)], "",
        "### Checked, not assumed",
        f"Each slider was moved from -4 to +4 on {len(CHECK_SEEDS)} seeds ({CHECK_SEEDS.start}-"
        f"{CHECK_SEEDS.stop - 1}) through the explorer's renderer, and the classifier scored every image. "
        "*Mean probability* is the classifier's probability of the attribute averaged over the seeds; "
        "*monotonic* is the share of seeds whose probability never falls by more than 0.02 as the slider rises; "
        "*rising* the share whose probability is higher at +4 than at -4; *rho* the mean Spearman rank "
        "correlation between slider and probability.", "",
        "| attribute | " + " | ".join(f"{a:+g}" for a in checks[0].amounts) + " | monotonic | rising | rho |",
        "|---|" + "---|" * (len(checks[0].amounts) + 3),
        *[f"| {display_name(c.attribute)} | " + " | ".join(f"{p:.2f}" for p in c.mean_probability)
          + f" | {c.monotonic_share:.0%} | {c.rising_share:.0%} | {c.spearman:.2f} |" for c in checks], "",
        "Side effects: the mean change of the other attributes' probabilities from -4 to +4.", "",
        "| slider | " + " | ".join(display_name(a) for a in DEFAULT_ATTRIBUTES) + " |",
        "|---|" + "---|" * len(DEFAULT_ATTRIBUTES),
        *[f"| {display_name(c.attribute)} | " + " | ".join(
            "-" if a == c.attribute else f"{c.side_effects.get(a, 0):+.2f}" for a in DEFAULT_ATTRIBUTES) + " |"
          for c in checks], "",
        "## Limitations",
        "64 x 64 pixels, 10,000 training faces and CPU-scale training: faces are recognisable but blurry, and "
        "backgrounds, hands and glasses are often malformed. The classifier that defines the sliders is itself "
        "89% accurate on real faces; on generated faces its errors shape the directions. The Eyeglasses slider is "
        "weak: the model rarely draws glasses (7% of the training faces wear them), so at +4 the classifier's "
        f"probability only reaches {glasses.mean_probability[0]:.2f}. Typing 8 or 12 in its field (the field goes "
        "to +-20) draws dark, glasses-like shapes over the eyes (classifier probability "
        f"{glasses.mean_probability[1]:.2f} and {glasses.mean_probability[2]:.2f} over the same seeds), at the cost "
        "of a degraded face.",
    ]
    (OUT / f"{FACES}.md").write_text("\n".join(card) + "\n")
    print("\n".join(card))
    return {"key": "faces", "title": "Faces", "file": out.name, "directions": directions_file.name,
            "card": f"{FACES}.md", "preset": "celeba-faces", "start": {"seed": 4, "psi": 0.7},
            "description": "StyleGAN, 64 x 64 faces trained on CelebA, with named sliders (Smiling, Male, "
                           "Eyeglasses, Blond hair, Young, Bangs)"}


@torch.no_grad()
def within_class_spread(G, data) -> tuple[list[float], list[float]]:
    """Per class: the mean per-pixel standard deviation of 100 generated and of 1,000 real images."""
    z = torch.randn(1000, G.z_dim, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(1000) % 10
    fake = G(z, labels)
    real, real_labels = data.get(torch.arange(10_000))
    return ([float(fake[labels == k].std(0).mean()) for k in range(10)],
            [float(real[real_labels == k][:1000].std(0).mean()) for k in range(10)])


def digits(run: Path, mnist_root: Path, eval_n: int) -> dict:
    out = OUT / f"{DIGITS}.safetensors"
    export_generator(run, out, extra={"bundled": "digits"})
    G, cfg = load_generator(out, "cpu")
    data = load_data(DataConfig(source="mnist", root=str(mnist_root), download=False, resolution=28, channels=1),
                     "cpu")
    record = evaluate(G, data, "fid,kid,pr,is,classes", n=eval_n, extractor="mnist", use_cache=False)
    spread_fake, spread_real = within_class_spread(G, data)
    summary = training_summary(run)
    card = [
        "# Digits: conditional DCGAN on MNIST (bundled model `digits`)", "",
        "A class-conditional DCGAN for the explorer's class picker: choose a digit, move through its styles. "
        "Trained by GAN Studio's own trainer; everything below was measured by `scripts/make_bundled_models.py`.",
        "",
        "## Data and license",
        "MNIST (LeCun, Cortes & Burges), the 60,000 training digits at 28 x 28, licensed CC BY-SA 3.0. The "
        "weights are derived from it.", "",
        "## Training",
        f"Preset `mnist-digits` (`ganstudio train --preset mnist-digits`): {summary['steps']:,} steps of "
        f"{summary['config']['train']['batch_size']} ({summary['images'] / 60000:.1f} epochs), about "
        f"{summary['hours'] * 60:.0f} minutes summed from the log on one CPU thread. The generator takes z "
        "and a one-hot class code; the discriminator is a projection discriminator (Miyato & Koyama 2018). "
        f"The file holds the EMA generator only ({out.stat().st_size / 1e6:.1f} MB, float32); "
        f"GAN Studio {__version__}, torch {torch.__version__}.", "",
        config_block(summary["config"]), "",
        f"## Quality ({eval_n:,} samples, {eval_n // 10:,} per class, against {eval_n:,} training digits, "
        "in the shipped MNIST classifier's feature space)",
        "| metric | value |", "|---|---|", *[f"| {a} | {b} |" for a, b in metric_rows(record)], "",
        "*Class accuracy* is the share of samples that the shipped MNIST classifier (99.5% on the MNIST test set) "
        "puts in the class they were asked for: how well the class picker is obeyed. The data's own FID in this "
        "feature space is about 0.2 (held-out real digits, `benchmarks/metric_sanity.py`).", "",
        "**Variety within a class** (mean per-pixel standard deviation of 100 samples of one digit, against 1,000 "
        "real ones): a conditional generator can ignore z and draw one image per class. This one does not:", "",
        "| digit | " + " | ".join(str(k) for k in range(10)) + " |", "|---|" + "---|" * 10,
        "| generated | " + " | ".join(f"{v:.2f}" for v in spread_fake) + " |",
        "| MNIST | " + " | ".join(f"{v:.2f}" for v in spread_real) + " |",
    ]
    (OUT / f"{DIGITS}.md").write_text("\n".join(card) + "\n")
    print("\n".join(card))
    return {"key": "digits", "title": "Digits", "file": out.name, "card": f"{DIGITS}.md", "preset": "mnist-digits",
            "description": "Conditional DCGAN, 28 x 28 MNIST digits: pick a digit in the class picker"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces-run", type=Path)
    parser.add_argument("--digits-run", type=Path)
    parser.add_argument("--celeba-dir", type=Path)
    parser.add_argument("--mnist-root", type=Path)
    parser.add_argument("--samples", type=int, default=20_000, help="faces scored for the attribute directions")
    parser.add_argument("--eval-n", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = OUT / MANIFEST
    entries = {e["key"]: e for e in json.loads(manifest.read_text())["models"]} if manifest.is_file() else {}
    if args.faces_run:  # a model left out keeps its files and its manifest entry
        if not args.celeba_dir:
            parser.error("--faces-run needs --celeba-dir")
        entries["faces"] = faces(args.faces_run, args.celeba_dir, args.samples, args.eval_n)
    if args.digits_run:
        if not args.mnist_root:
            parser.error("--digits-run needs --mnist-root")
        entries["digits"] = digits(args.digits_run, args.mnist_root, args.eval_n)
    order = [k for k in ("faces", "digits") if k in entries] + [k for k in entries if k not in ("faces", "digits")]
    manifest.write_text(json.dumps({"format": "ganstudio-bundled-models", "version": 1,
                                    "models": [entries[k] for k in order]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
