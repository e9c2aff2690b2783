"""The headless command line: `ganstudio train`, `sample` and `eval` (no subcommand opens the app)."""
from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from ganstudio import __version__
from ganstudio.config import ARCHITECTURES, DATA_SOURCES, LOSSES, TOY_NAMES, RunConfig
from ganstudio.errors import GanStudioError

DATA_HELP = ", ".join(DATA_SOURCES + tuple(f"toy:{t}" for t in TOY_NAMES) + ("folder:PATH",))
METRIC_HELP = {"fid": "Frechet distance", "kid": "kernel distance", "is": "Inception Score",
               "pr": "precision/recall", "dc": "density/coverage", "modes": "toy mode coverage",
               "classes": "class histogram and KL"}


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one clear line, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="ganstudio", description="Train GANs and explore what they learned. "
                           "With no command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"ganstudio {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser)

    train = sub.add_parser("train", help="train a GAN headless", description="Train a GAN without the GUI.")
    train.add_argument("--data", help=f"the training data: {DATA_HELP}")
    train.add_argument("--data-root", help="folder where datasets are looked for and downloaded (default ./data)")
    train.add_argument("--no-download", action="store_true", help="never download a missing dataset")
    train.add_argument("--model", choices=ARCHITECTURES_FOR_CLI(), help="the architecture")
    train.add_argument("--conditional", action="store_true", default=None, help="a class-conditional model")
    train.add_argument("--d-condition", choices=["projection", "concat"], help="how D sees the class")
    train.add_argument("--loss", choices=LOSSES, help="the adversarial loss")
    train.add_argument("--preset", help="start from a preset: dcgan, wgan-gp, sngan, lsgan, vanilla")
    train.add_argument("--config", help="a config JSON file (a run's config.json or a preset)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    train.add_argument("--resolution", type=int)
    train.add_argument("--channels", type=int, choices=[1, 3])
    train.add_argument("--center-crop", type=int, help="crop this square from the centre before resizing")
    train.add_argument("--capacity", type=int, help="base width of the networks (default 64)")
    train.add_argument("--z-dim", type=int, help="latent size")
    train.add_argument("--batch-size", type=int)
    when = train.add_mutually_exclusive_group()
    when.add_argument("--steps", type=int, help="generator steps to train")
    when.add_argument("--epochs", type=float, help="passes over the data")
    train.add_argument("--d-steps", type=int, help="discriminator steps per generator step")
    train.add_argument("--lr-g", type=float)
    train.add_argument("--lr-d", type=float)
    train.add_argument("--spectral-norm", action="store_true", default=None)
    train.add_argument("--label-smoothing", type=float)
    train.add_argument("--instance-noise", type=float)
    train.add_argument("--feature-matching", action="store_true", default=None)
    train.add_argument("--minibatch-std", action="store_true", default=None)
    train.add_argument("--minibatch-discrimination", action="store_true", default=None)
    train.add_argument("--r1", type=float, dest="r1_weight", help="R1 penalty weight")
    train.add_argument("--d-dropout", type=float)
    train.add_argument("--no-ema", action="store_true", help="sample from G itself, not its moving average")
    train.add_argument("--seed", type=int)
    train.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    train.add_argument("--sample-every", type=int, help="sample grid every N steps (and every epoch)")
    train.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps")
    train.add_argument("--eval-every", type=int, help="measure G every N steps (FID, modes ...) into evals.jsonl")
    train.add_argument("--eval-metrics", help="metrics to measure while training, e.g. fid,kid,pr (default: auto)")
    train.add_argument("--eval-samples", type=int, help="samples per evaluation (default 2000)")
    train.add_argument("--eval-extractor", help="feature extractor: auto, inception[:FILE], mnist, celeba, points")
    train.add_argument("--out", help="the run folder to create")
    train.add_argument("--name", help="the run's name (default: the folder's name)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    sample = sub.add_parser("sample", help="generate samples from a checkpoint",
                            description="Generate samples from a checkpoint (or a run folder's latest).")
    sample.add_argument("--checkpoint", required=True, help="a .safetensors checkpoint or a run folder")
    sample.add_argument("--n", type=int, default=64, help="how many samples")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--class", dest="klass", help="class index or name (conditional models)")
    sample.add_argument("--device", default="auto")
    sample.add_argument("--raw", action="store_true", help="sample from G, not its moving average")
    sample.add_argument("--out", required=True, help=".png for a grid, .npy for the raw samples")

    ev = sub.add_parser("eval", help="measure a checkpoint: FID, KID, IS, precision/recall, mode coverage",
                        description="Measure a generator against data: " + "; ".join(
                            f"{k}: {v}" for k, v in METRIC_HELP.items()) + ".")
    ev.add_argument("--checkpoint", required=True, help="a .safetensors checkpoint or a run folder")
    ev.add_argument("--data", help=f"the data to compare with (default: the run's own): {DATA_HELP}")
    ev.add_argument("--data-root", help="folder where datasets are looked for (default: the run's)")
    ev.add_argument("--no-download", action="store_true", help="never download a missing dataset")
    ev.add_argument("--center-crop", type=int, help="crop this square from the centre of real images first")
    ev.add_argument("--metrics", default="auto",
                    help=f"comma-separated: {','.join(METRIC_HELP)}; auto (default) or all")
    ev.add_argument("--n", type=int, default=10_000, help="generated and real samples (default 10000)")
    ev.add_argument("--extractor", default="auto",
                    help="feature space: inception, mnist, celeba, points; auto picks the one for the data")
    ev.add_argument("--inception-weights", metavar="FILE",
                    help="torchvision Inception-v3 weights (inception_v3_google-0cc3c7bd.pth or .safetensors)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the latent vectors and real samples")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--raw", action="store_true", help="measure G, not its moving average")
    ev.add_argument("--no-cache", action="store_true", help="recompute the real data's statistics")
    ev.add_argument("--out", help="write the results to this JSON file")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def ARCHITECTURES_FOR_CLI() -> tuple[str, ...]:
    from ganstudio.core.models.registry import architectures

    return architectures() or ARCHITECTURES


# -- train --------------------------------------------------------------------------------------------


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """defaults < preset < config file < flags."""
    from ganstudio.presets import apply_preset, data_defaults, load_config_file, merge

    cfg = RunConfig.from_dict(merge(RunConfig().to_dict(), data_defaults(args.data or "")))
    if args.preset:
        cfg = apply_preset(cfg, args.preset)
    if args.config:
        cfg = load_config_file(args.config, cfg)
    data = _flags(args, data="source", data_root="root", resolution="resolution", channels="channels",
                  center_crop="center_crop")
    if args.no_download:
        data["download"] = False
    model = _flags(args, model="arch", conditional="conditional", d_condition="d_condition",
                   capacity="capacity", z_dim="z_dim", spectral_norm="spectral_norm",
                   minibatch_std="minibatch_std", minibatch_discrimination="minibatch_discrimination",
                   d_dropout="d_dropout")
    loss = _flags(args, loss="name", label_smoothing="label_smoothing", instance_noise="instance_noise",
                  feature_matching="feature_matching", r1_weight="r1_weight")
    train = _flags(args, batch_size="batch_size", d_steps="d_steps", lr_g="lr_g", lr_d="lr_d", seed="seed",
                   device="device", sample_every="sample_every", checkpoint_every="checkpoint_every",
                   eval_every="eval_every", eval_samples="eval_samples", eval_extractor="eval_extractor")
    if args.eval_metrics is not None:
        train["eval_metrics"] = tuple(m.strip() for m in args.eval_metrics.split(",") if m.strip())
    if args.steps is not None:
        train.update(steps=args.steps, epochs=None)
    elif args.epochs is not None:
        train.update(epochs=args.epochs, steps=None)
    if args.no_ema:
        train["ema"] = False
    for section, changes in (("data", data), ("model", model), ("loss", loss), ("train", train)):
        if changes:
            cfg = cfg.with_updates(section, **changes)
    name = args.name or (Path(args.out).name if args.out else cfg.name)
    return cfg.with_updates(name=name).validate()


def _flags(args: argparse.Namespace, **mapping: str) -> dict:
    return {field: getattr(args, flag) for flag, field in mapping.items() if getattr(args, flag) is not None}


def cmd_train(args: argparse.Namespace) -> int:
    from ganstudio.core.training.control import TrainingControl
    from ganstudio.core.training.loop import Trainer

    control = TrainingControl()
    if args.resume:
        trainer = Trainer.resume(args.resume, control=control, steps=args.steps, device=args.device)
        where = Path(args.resume)
    else:
        if not args.out:
            raise GanStudioError("give the run folder to create with --out (or --resume RUN_DIR)")
        if not (args.data or args.config):
            raise GanStudioError("give the training data with --data (or a --config file)")
        trainer = Trainer(config_from_args(args), args.out, control=control)
        where = Path(args.out)
    _stop_on_interrupt(control)
    info = trainer.data.info
    cfg = trainer.config
    print(f"Training {cfg.model.arch}{' (conditional)' if cfg.model.conditional else ''} with {cfg.loss.name} "
          f"loss on {cfg.data.source} ({info.size:,} {'points' if info.is_toy else 'images'}) on "
          f"{_device_text(trainer)}; batch {cfg.train.batch_size}, {trainer.total_steps:,} steps -> {where}",
          file=sys.stderr)
    if info.skipped_report:
        print(info.skipped_report, file=sys.stderr)
    last = _run_with_progress(trainer, quiet=args.quiet)
    if control.stopped and trainer.step < trainer.total_steps:
        path = trainer.save_checkpoint()
        print(f"Stopped at step {trainer.step}; checkpoint saved to {path}. Continue with "
              f"ganstudio train --resume {where}", file=sys.stderr)
    elif last is not None:
        print(f"Done: {trainer.step} steps, D loss {_fmt(last.loss_d)}, G loss {_fmt(last.loss_g)}. "
              f"Checkpoint: {trainer.run.latest_checkpoint()}", file=sys.stderr)
    return 0


def _device_text(trainer) -> str:
    from ganstudio.core.device import device_name

    return device_name(trainer.device)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _run_with_progress(trainer, quiet: bool):
    from tqdm import tqdm

    last = None
    bar = tqdm(total=trainer.total_steps, initial=trainer.step, unit="step", disable=quiet,
               dynamic_ncols=True, file=sys.stderr)
    next_postfix = 0.0
    with bar:
        for report in trainer:
            last = report
            bar.update(1)
            now = time.monotonic()
            if now >= next_postfix:  # refreshing the text every step would cost more than small steps
                bar.set_postfix_str(f"ep {report.epoch:.2f} D {_fmt(report.loss_d)} G {_fmt(report.loss_g)} "
                                    f"D(x) {_fmt(report.d_real)} D(G(z)) {_fmt(report.d_fake)} "
                                    f"{report.images_per_sec:.0f} img/s", refresh=False)
                next_postfix = now + 0.5
    return last


def _stop_on_interrupt(control) -> None:
    """First Ctrl-C stops after the current step (and saves); a second one aborts."""
    def handler(signum, frame):
        if control.stopped:
            raise KeyboardInterrupt
        print("\nStopping after this step (Ctrl-C again to abort without saving)...", file=sys.stderr)
        control.stop()

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:
        pass  # not in the main thread


# -- sample -------------------------------------------------------------------------------------------


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.device import resolve_device
    from ganstudio.core.images import image_grid, save_image, scatter_image

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise GanStudioError(f"--out must end in .png (a grid) or .npy (raw samples), not {out.name!r}")
    if args.n < 1:
        raise GanStudioError("--n must be at least 1")
    device = resolve_device(args.device)
    G, cfg = load_generator(args.checkpoint, device, prefer_ema=not args.raw)
    gen = torch.Generator().manual_seed(args.seed)
    z = torch.randn(args.n, cfg.model.z_dim, generator=gen)
    labels = _labels(args.klass, cfg, args.n)
    with torch.no_grad():
        samples = G(z.to(device), labels.to(device) if labels is not None else None).float().cpu().numpy()
    if out.suffix.lower() == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, samples)
    else:
        save_image(scatter_image(samples) if cfg.model.toy else image_grid(samples), out)
    print(f"Wrote {args.n} samples to {out}", file=sys.stderr)
    return 0


def _labels(klass: str | None, cfg: RunConfig, n: int):
    import torch

    m = cfg.model
    if not m.conditional:
        if klass is not None:
            raise GanStudioError("--class needs a conditional model; this one is unconditional")
        return None
    if klass is None:
        return torch.arange(n) % m.num_classes
    if klass in m.class_names:
        index = m.class_names.index(klass)
    else:
        try:
            index = int(klass)
        except ValueError:
            raise GanStudioError(f"unknown class {klass!r}; classes: {', '.join(m.class_names)}") from None
    if not 0 <= index < m.num_classes:
        raise GanStudioError(f"class {index} is out of range 0-{m.num_classes - 1}")
    return torch.full((n,), index, dtype=torch.long)


# -- eval ---------------------------------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from ganstudio.core.checkpoints import load_checkpoint, load_generator
    from ganstudio.core.data import load_data
    from ganstudio.core.device import resolve_device
    from ganstudio.core.io import atomic_write_text
    from ganstudio.core.metrics.evaluate import Evaluator, parse_metrics

    parse_metrics(args.metrics)  # an unknown metric fails before anything is loaded
    if args.out and not args.out.lower().endswith(".json"):
        raise GanStudioError(f"--out must end in .json, not {Path(args.out).name!r}")
    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint)
    G, cfg = load_generator(args.checkpoint, device, prefer_ema=not args.raw)
    data_cfg = _eval_data_config(args, cfg)
    extractor = args.extractor
    if args.inception_weights:
        if extractor not in ("auto", "inception"):
            raise GanStudioError(f"--inception-weights goes with --extractor inception, not {extractor}")
        extractor = f"inception:{args.inception_weights}"
    if not args.quiet:
        print(f"Loading {data_cfg.source} ...", file=sys.stderr)
    data = load_data(data_cfg, device, seed=cfg.train.seed)
    bars: dict = {}
    evaluator = Evaluator(data, args.metrics, args.n, extractor, seed=args.seed, device=device,
                          use_cache=not args.no_cache, progress=None if args.quiet else _eval_progress(bars))
    try:
        record = evaluator.evaluate(G, step=ckpt.step)
    finally:
        for bar in bars.values():
            bar.close()
    record = {"checkpoint": str(Path(args.checkpoint)), "data": data_cfg.source, **record}
    print(_eval_table(record, evaluator))
    for note in record.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(record, indent=2) + "\n")
        print(f"Wrote {args.out}", file=sys.stderr)
    return 0


def _eval_data_config(args: argparse.Namespace, cfg: RunConfig):
    """The checkpoint's own data unless --data names other data, always shaped like the generator's output."""
    data = cfg.data
    if args.data and args.data != data.source:
        data = replace(data, source=args.data, center_crop=None)
    changes = {"download": not args.no_download}
    if args.data_root:
        changes["root"] = args.data_root
    if args.center_crop is not None:
        changes["center_crop"] = args.center_crop
    if not data.is_toy:
        changes.update(resolution=cfg.model.resolution, channels=cfg.model.channels)
    data = replace(data, **changes)
    if data.is_toy != cfg.model.toy:
        raise GanStudioError(f"this generator makes {'2D points' if cfg.model.toy else 'images'}, "
                             f"so it cannot be measured against {data.source}")
    return data


def _eval_progress(bars: dict):
    from tqdm import tqdm

    names = {"real": "real data features", "generated": "generated samples"}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            bars[stage] = tqdm(total=total, desc=names.get(stage, stage), unit="img", file=sys.stderr,
                               dynamic_ncols=True, leave=False)
        bars[stage].update(done - bars[stage].n)
    return progress


def _eval_table(record: dict, evaluator) -> str:
    """The results as an aligned plain-text table."""
    def num(key: str, spec: str = ".4f") -> str:
        value = record.get(key)
        return "undefined (non-finite samples)" if value is None else format(value, spec)

    rows = []
    for name in evaluator.metrics:
        if name == "fid":
            rows.append(("FID", num("fid", ".3f")))
        elif name == "kid":
            spread = f" +- {record['kid_std']:.5f}" if record.get("kid_std") is not None else ""
            rows.append(("KID", num("kid", ".5f") + spread))
        elif name == "is":
            rows.append(("IS" if record["extractor"] == "inception" else "IS (analogue)",
                         f"{num('is', '.3f')} +- {num('is_std', '.3f')}"))
        elif name == "pr":
            rows += [("precision", num("precision")), ("recall", num("recall"))]
        elif name == "dc":
            rows += [("density", num("density")), ("coverage", num("coverage"))]
        elif name == "modes":
            rows += [("modes covered", f"{record['modes_covered']} of {record['modes_total']}"),
                     ("high quality", f"{record['high_quality']:.1%}")]
        elif name == "classes":
            rows.append(("class KL", num("class_kl")))
            if "classes_covered" in record:
                rows.append(("classes covered", f"{record['classes_covered']} of {record['classes_total']}"))
            if "class_accuracy" in record:
                rows.append(("class accuracy", f"{record['class_accuracy']:.1%}"))
            if "class_histogram" in record and len(record["class_histogram"]) <= 20:
                rows.append(("class histogram", " ".join(f"{v:.2f}" for v in record["class_histogram"])))
    head = (f"{record['checkpoint']} (step {record.get('step', '?')}) against {record['data']}: "
            f"{record['n']:,} generated vs {record['n_real']:,} real samples, {record['extractor']} features, "
            f"{record['seconds']:.1f} s")
    width = max(len(r[0]) for r in rows) if rows else 0
    return "\n".join([head] + [f"  {label:<{width}}  {value}" for label, value in rows])


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval}


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand; errors are one line on stderr and a non-zero exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from ganstudio.gui.app import run_app

        return run_app()
    try:
        return COMMANDS[args.command](args)
    except GanStudioError as exc:
        print(f"ganstudio {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ganstudio {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"ganstudio {args.command}: error: out of memory; try a smaller batch size or model",
              file=sys.stderr)
        return 1
    except torch_oom_error() as exc:
        print(f"ganstudio {args.command}: error: the GPU ran out of memory ({str(exc).splitlines()[0][:100]}); "
              "try a smaller batch size or model", file=sys.stderr)
        return 1


def torch_oom_error() -> type[BaseException]:
    try:
        import torch

        return torch.OutOfMemoryError
    except (ImportError, AttributeError):
        return MemoryError
