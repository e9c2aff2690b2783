"""The headless command line: `ganstudio train`, `sample` and `eval` (no subcommand opens the app)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from ganstudio import __version__
from ganstudio.core.config import ARCHITECTURES, DATA_SOURCES, LOSSES, TOY_NAMES, RunConfig
from ganstudio.core.errors import GanStudioError

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
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation offscreen (window, bundled models, training) and exit")
    sub = parser.add_subparsers(dest="command", parser_class=OneLineParser)

    train = sub.add_parser("train", help="train a GAN headless", description="Train a GAN without the GUI.")
    train.add_argument("--data", help=f"the training data: {DATA_HELP}")
    train.add_argument("--data-root", help="folder where datasets are looked for and downloaded (default ./data)")
    train.add_argument("--no-download", action="store_true", help="never download a missing dataset")
    train.add_argument("--model", choices=ARCHITECTURES_FOR_CLI(), help="the architecture")
    train.add_argument("--conditional", action="store_true", default=None, help="a class-conditional model")
    train.add_argument("--d-condition", choices=["projection", "concat"], help="how D sees the class")
    train.add_argument("--loss", choices=LOSSES, help="the adversarial loss")
    train.add_argument("--preset", help="start from a preset: dcgan, wgan-gp, sngan, lsgan, vanilla, "
                       "stylegan-faces-cpu, stylegan-faces-gpu, and the bundled models' mnist-digits and "
                       "celeba-faces (a wrong name lists them all)")
    train.add_argument("--config", help="a config JSON file (a run's config.json or a preset)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    train.add_argument("--resolution", type=int)
    train.add_argument("--channels", type=int, choices=[1, 3])
    train.add_argument("--center-crop", type=int, help="crop this square from the centre before resizing")
    train.add_argument("--capacity", type=int, help="base width of the networks (default 64)")
    train.add_argument("--z-dim", type=int, help="latent size")
    train.add_argument("--w-dim", type=int, help="StyleGAN: size of the intermediate latent w")
    train.add_argument("--mapping-layers", type=int, help="StyleGAN: layers of the mapping network (default 8)")
    train.add_argument("--modulation", choices=["demod", "adain"],
                       help="StyleGAN: weight demodulation (StyleGAN2) or AdaIN (StyleGAN)")
    train.add_argument("--style-mixing", type=float, dest="style_mixing_prob",
                       help="StyleGAN: style-mixing regularization probability (default 0.9)")
    train.add_argument("--progressive", action="store_true", default=None,
                       help="StyleGAN: grow from 4x4 with fade-in (Karras 2018)")
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
    train.add_argument("--r1", type=float, dest="r1_weight", help="R1 penalty weight (StyleGAN's gamma)")
    train.add_argument("--r1-interval", type=int, help="lazy R1: apply it every N discriminator steps")
    train.add_argument("--d-dropout", type=float)
    train.add_argument("--no-ema", action="store_true", help="sample from G itself, not its moving average")
    train.add_argument("--seed", type=int)
    train.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
    train.add_argument("--precision", choices=["fp32", "bf16", "fp16"], help="mixed precision (CUDA)")
    train.add_argument("--tf32", action="store_true", default=None, help="TF32 matrix math on CUDA")
    train.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                       help="channels_last memory format (default: on where it is faster: CUDA with bf16/fp16, "
                            "and the CPU models measured faster with it)")
    train.add_argument("--sync-batchnorm", action="store_true", default=None,
                       help="under torchrun on GPUs: batch-norm statistics over all processes")
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
    sample.add_argument("--checkpoint", required=True, help="a .safetensors checkpoint or a run folder, or bundled:faces / bundled:digits")
    sample.add_argument("--n", type=int, default=64, help="how many samples")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--class", dest="klass", help="class index or name (conditional models)")
    sample.add_argument("--device", default="auto")
    sample.add_argument("--raw", action="store_true", help="sample from G, not its moving average")
    style = sample.add_argument_group("StyleGAN")
    style.add_argument("--psi", type=float, help="truncation: 1 = none, 0 = the average face (default: the "
                       "model's, usually 1)")
    style.add_argument("--truncation-cutoff", type=int, help="truncate only the style rows below this one")
    style.add_argument("--mix-seed", type=int, help="take some style rows from the latent of this seed")
    style.add_argument("--mix-layers", help="the style rows A-B (inclusive) that --mix-seed replaces "
                       "(default: the second half, the fine styles)")
    style.add_argument("--noise-mode", choices=["random", "const", "none"],
                       help="per-pixel noise: fresh, fixed (the default, deterministic) or off")
    explore = sample.add_argument_group("directions and interpolation")
    explore.add_argument("--direction", action="append", metavar="FILE.json:INDEX=AMOUNT",
                         help="move every sample along direction INDEX of a direction set (ganstudio directions) "
                              "by AMOUNT standard deviations; repeatable")
    explore.add_argument("--interpolate", nargs=2, type=int, metavar=("SEED_A", "SEED_B"),
                         help="write an animation from seed A to seed B (slerp in z, lerp in w) to --out .gif/.mp4")
    explore.add_argument("--frames", type=int, default=48, help="frames of --interpolate (default 48)")
    explore.add_argument("--fps", type=float, default=24.0)
    sample.add_argument("--out", required=True, help=".png for a grid, .npy for the raw samples "
                        "(.gif or .mp4 with --interpolate)")
    directions = sub.add_parser("directions", help="find latent directions for sliders (PCA, SeFa or named "
                                                   "face attributes)",
                                description="Compute latent directions of a model and save them as a "
                                            "direction set (JSON) for the explorer and ganstudio sample.")
    directions.add_argument("--checkpoint", required=True, help="a checkpoint, model file or run folder, or bundled:faces / bundled:digits")
    directions.add_argument("--method", choices=["pca", "sefa", "axes", "attributes"], default="sefa",
                            help="pca: GANSpace PCA of sampled latents/features; sefa: closed-form "
                                 "factorization of the first layer / style weights; axes: the raw latent axes; "
                                 "attributes: named face attributes (InterFaceGAN, scored by the shipped CelebA "
                                 "classifier)")
    directions.add_argument("--n", type=int, default=10, help="how many directions (default 10)")
    directions.add_argument("--samples", type=int, default=5000,
                            help="latents sampled for PCA or attributes (attributes: 10000 or more is better)")
    directions.add_argument("--attributes", help="attributes: the CelebA attributes to fit, comma-separated "
                            "(default Smiling,Male,Eyeglasses,Blond_Hair,Young,Bangs)")
    directions.add_argument("--condition", action="append", default=[], metavar="ATTR:OTHER[,OTHER]",
                            help="attributes: keep OTHER fixed while ATTR moves (project its boundary out); "
                                 "repeatable, e.g. --condition Blond_Hair:Male")
    directions.add_argument("--check-seeds", type=int, default=0, metavar="N",
                            help="attributes: render N seeds along every slider and report how the classifier's "
                                 "score responds")
    directions.add_argument("--device", default="auto")
    directions.add_argument("--out", required=True, help="the .json direction set to write")

    export = sub.add_parser("export", help="write a slim model file (generator only) to share or bundle",
                            description="Write only the sampling generator and its config: a few MB, for "
                                        "exploring and sampling (it cannot resume training).")
    export.add_argument("--checkpoint", required=True, help="a checkpoint or a run folder")
    export.add_argument("--out", required=True, help="the .safetensors file to write")

    ev = sub.add_parser("eval", help="measure a checkpoint: FID, KID, IS, precision/recall, mode coverage",
                        description="Measure a generator against data: " + "; ".join(
                            f"{k}: {v}" for k, v in METRIC_HELP.items()) + ".")
    ev.add_argument("--checkpoint", required=True, help="a .safetensors checkpoint or a run folder, or bundled:faces / bundled:digits")
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
    from ganstudio.presets import apply_preset, data_defaults, load_config_file, merge, model_defaults

    base = merge(RunConfig().to_dict(), data_defaults(args.data or ""))
    if args.model:
        base = merge(base, model_defaults(args.model, args.resolution or _native_resolution(args.data)))
    cfg = RunConfig.from_dict(base)
    if args.preset:
        cfg = apply_preset(cfg, args.preset)
    if args.config:
        cfg = load_config_file(args.config, cfg)
    data = _flags(args, data="source", data_root="root", resolution="resolution", channels="channels",
                  center_crop="center_crop")
    if args.no_download:
        data["download"] = False
    model = _flags(args, model="arch", conditional="conditional", d_condition="d_condition",
                   capacity="capacity", z_dim="z_dim", w_dim="w_dim", mapping_layers="mapping_layers",
                   modulation="modulation", style_mixing_prob="style_mixing_prob", progressive="progressive",
                   spectral_norm="spectral_norm",
                   minibatch_std="minibatch_std", minibatch_discrimination="minibatch_discrimination",
                   d_dropout="d_dropout")
    loss = _flags(args, loss="name", label_smoothing="label_smoothing", instance_noise="instance_noise",
                  feature_matching="feature_matching", r1_weight="r1_weight", r1_interval="r1_interval")
    train = _flags(args, batch_size="batch_size", d_steps="d_steps", lr_g="lr_g", lr_d="lr_d", seed="seed",
                   device="device", sample_every="sample_every", checkpoint_every="checkpoint_every",
                   precision="precision", tf32="tf32", channels_last="channels_last",
                   sync_batchnorm="sync_batchnorm", eval_every="eval_every", eval_samples="eval_samples",
                   eval_extractor="eval_extractor")
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


def _native_resolution(source: str | None) -> int | None:
    """The side a data source is used at by default, or None when unknown (checked later)."""
    from ganstudio.core.data import native_resolution

    try:
        return native_resolution(source) if source else None
    except GanStudioError:
        return None


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
        config = config_from_args(args)
        if not (args.data or args.config or (args.preset and config.data != RunConfig().data)):
            raise GanStudioError("give the training data with --data (or a --config file)")
        trainer = Trainer(config, args.out, control=control)
        where = Path(args.out)
    _stop_on_interrupt(control)
    main_rank = trainer.dist.is_main
    say = (lambda text: print(text, file=sys.stderr)) if main_rank else (lambda text: None)
    info = trainer.dataset_info
    cfg = trainer.config
    say(f"Training {cfg.model.arch}{' (conditional)' if cfg.model.conditional else ''} with {cfg.loss.name} "
        f"loss on {cfg.data.source} ({info.size:,} {'points' if info.is_toy else 'images'}) on "
        f"{_device_text(trainer)}; {_batch_text(trainer)}, {trainer.total_steps:,} steps -> {where}")
    if info.skipped_report:
        say(info.skipped_report)
    try:
        last = _run_with_progress(trainer, quiet=args.quiet or not main_rank)
        if trainer.step < trainer.total_steps:  # stopped by Ctrl-C (on any rank)
            path = trainer.save_checkpoint()
            say(f"Stopped at step {trainer.step}; checkpoint saved to {path}. Continue with "
                f"ganstudio train --resume {where}")
        elif last is not None:
            say(f"Done: {trainer.step} steps, D loss {_fmt(last.loss_d)}, G loss {_fmt(last.loss_g)}. "
                f"Checkpoint: {trainer.run.latest_checkpoint()}")
    finally:
        from ganstudio.core import distributed

        distributed.shutdown(trainer.dist)
    return 0


def _batch_text(trainer) -> str:
    t, world = trainer.config.train, trainer.dist.world_size
    lr = "lr G {:g} / D {:g}".format(*trainer.learning_rates)
    precision = f", {t.precision}" if t.precision != "fp32" else ""
    if world == 1:
        return f"batch {t.batch_size}, {lr}{precision}"
    return (f"batch {t.batch_size} per process x {world} processes = {t.batch_size * world} effective "
            f"({trainer.dist.backend}), {lr} (not scaled with the batch){precision}")


def _device_text(trainer) -> str:
    return trainer.device_name


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
    if args.interpolate:
        return _sample_interpolation(args, out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise GanStudioError(f"--out must end in .png (a grid) or .npy (raw samples), not {out.name!r}")
    if args.n < 1:
        raise GanStudioError("--n must be at least 1")
    device = resolve_device(args.device)
    G, cfg = load_generator(args.checkpoint, device, prefer_ema=not args.raw)
    style = _style_options(args, cfg, G)
    shift = _direction_shift(args.direction, G, cfg, device)
    gen = torch.Generator().manual_seed(args.seed)
    z = torch.randn(args.n, cfg.model.z_dim, generator=gen).to(device)
    labels = _labels(args.klass, cfg, args.n)
    c = labels.to(device) if labels is not None else None
    with torch.no_grad():
        if shift is not None and shift[0] == "z":
            z = z + shift[1]
        if style is None:
            samples = G(z, c)
        else:
            samples = _style_samples(G, z, c, device, w_shift=shift[1] if shift else None, **style)
        samples = samples.float().cpu().numpy()
    if out.suffix.lower() == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, samples)
    else:
        save_image(scatter_image(samples) if cfg.model.toy else image_grid(samples), out)
    print(f"Wrote {args.n} samples to {out}", file=sys.stderr)
    return 0


STYLE_FLAGS = ("psi", "truncation_cutoff", "mix_seed", "mix_layers", "noise_mode")


def _style_options(args: argparse.Namespace, cfg: RunConfig, G) -> dict | None:
    """The StyleGAN sampling options, checked; None for other models (which must not get them)."""
    given = [f"--{name.replace('_', '-')}" for name in STYLE_FLAGS if getattr(args, name) is not None]
    if cfg.model.arch != "stylegan":
        if given:
            raise GanStudioError(f"{given[0]} needs a StyleGAN checkpoint; this one is a {cfg.model.arch} model")
        return None
    psi = cfg.model.truncation_psi if args.psi is None else args.psi
    cutoff = cfg.model.truncation_cutoff if args.truncation_cutoff is None else args.truncation_cutoff
    if cutoff is not None and not 0 <= cutoff <= G.num_ws:
        raise GanStudioError(f"--truncation-cutoff must be between 0 and {G.num_ws} (this model has "
                             f"{G.num_ws} style rows)")
    if args.mix_layers is not None and args.mix_seed is None:
        raise GanStudioError("--mix-layers needs --mix-seed, the seed of the latent to take those rows from")
    rows = None
    if args.mix_seed is not None:
        rows = _parse_rows(args.mix_layers, G.num_ws)
    return {"psi": psi, "cutoff": cutoff, "mix_seed": args.mix_seed, "rows": rows,
            "noise_mode": args.noise_mode or "const"}


def _parse_rows(text: str | None, num_ws: int) -> range:
    """'A-B' (inclusive) or 'A' as a range of style rows; default: the second half (the fine styles)."""
    if text is None:
        return range(num_ws // 2, num_ws)
    try:
        first, _, last = text.partition("-")
        a, b = int(first), int(last) if last else int(first)
    except ValueError:
        raise GanStudioError(f"--mix-layers must look like 4-9 (rows A to B), not {text!r}") from None
    if not 0 <= a <= b < num_ws:
        raise GanStudioError(f"--mix-layers {text} is outside this model's style rows 0-{num_ws - 1}")
    return range(a, b + 1)


def _style_samples(G, z, c, device, psi: float, cutoff: int | None, mix_seed: int | None, rows: range | None,
                   noise_mode: str, w_shift=None):
    """StyleGAN samples with truncation, direction edits in w, optional style mixing from one second latent,
    and a noise mode."""
    import torch

    from ganstudio.core.models.stylegan import mix_styles

    ws = G.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
    if w_shift is not None:
        ws = ws + w_shift
    if mix_seed is not None:
        z_mix = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(mix_seed)).to(device)
        ws_mix = G.mapping(z_mix.expand(z.shape[0], -1), c, truncation_psi=psi, truncation_cutoff=cutoff)
        ws = mix_styles(ws, ws_mix, rows)
    return G.synthesis(ws, noise_mode=noise_mode)


def _direction_shift(specs: list[str] | None, G, cfg: RunConfig, device):
    """The latent offset of --direction FILE.json:INDEX=AMOUNT flags, as ("z" | "w", tensor), or None."""
    if not specs:
        return None
    import torch

    from ganstudio.core.latent.directions import Directions

    space, total, loaded = None, None, {}
    for spec in specs:
        path, _, edit = spec.rpartition(":")
        index, _, amount = edit.partition("=")
        try:
            index_i, amount_f = int(index), float(amount)
        except ValueError:
            raise GanStudioError(f"--direction {spec!r} must look like FILE.json:INDEX=AMOUNT, "
                                 "e.g. smile.json:0=2.5") from None
        if not path:
            raise GanStudioError(f"--direction {spec!r} names no direction file")
        if path not in loaded:
            loaded[path] = Directions.load(path)
            loaded[path].check_fits(G, cfg)
        d = loaded[path]
        if not 0 <= index_i < len(d):
            raise GanStudioError(f"{Path(path).name} has directions 0-{len(d) - 1}, not {index_i}")
        if space not in (None, d.space):
            raise GanStudioError("--direction sets mix z-space and w-space directions")
        space = d.space
        step = amount_f * float(d.scales[index_i]) * torch.as_tensor(d.vectors[index_i], device=device)
        total = step if total is None else total + step
    return space, total


def _sample_interpolation(args: argparse.Namespace, out: Path) -> int:
    """--interpolate SEED_A SEED_B: an animation through the explorer's renderer (GIF or MP4)."""
    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.device import resolve_device
    from ganstudio.core.export import export_animation, interpolation_requests
    from ganstudio.core.render import Renderer, RenderRequest

    if out.suffix.lower() not in (".gif", ".mp4"):
        raise GanStudioError(f"--interpolate writes an animation: --out must end in .gif or .mp4, not {out.name!r}")
    G, cfg = load_generator(args.checkpoint, resolve_device(args.device), prefer_ema=not args.raw)
    if args.direction:
        raise GanStudioError("--interpolate does not take --direction; use the explorer's slider sweep export")
    klass = _labels(args.klass, cfg, 1)
    base = RenderRequest(seed=args.interpolate[0], psi=1.0 if args.psi is None else args.psi,
                         class_index=int(klass[0]) if klass is not None and args.klass is not None else None,
                         noise_mode=args.noise_mode or "const")
    requests = interpolation_requests(base, args.frames, seed_b=args.interpolate[1])
    path = export_animation(Renderer(G, cfg), requests, out, fps=args.fps)
    print(f"Wrote {args.frames} frames from seed {args.interpolate[0]} to {args.interpolate[1]} to {path}",
          file=sys.stderr)
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


def cmd_directions(args: argparse.Namespace) -> int:
    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.device import resolve_device
    from ganstudio.core.latent.directions import compute_directions

    if args.n < 1:
        raise GanStudioError("--n must be at least 1")
    G, cfg = load_generator(args.checkpoint, resolve_device(args.device))
    if args.method == "attributes":
        return _attribute_directions(args, G, cfg)
    found = compute_directions(G, cfg, args.method, k=args.n, n_samples=args.samples)
    found.save(args.out)
    scores = ", ".join(f"{s:.3g}" for s in found.scores[:5])
    print(f"Wrote {len(found)} {args.method} directions in {found.space} space to {args.out} "
          f"(top scores {scores})", file=sys.stderr)
    return 0


def _attribute_directions(args: argparse.Namespace, G, cfg) -> int:
    from tqdm import tqdm

    from ganstudio.core.latent.attributes import (DEFAULT_ATTRIBUTES, attribute_directions, check_directions,
                                                  parse_conditions)

    attributes = [a.strip() for a in (args.attributes or ",".join(DEFAULT_ATTRIBUTES)).split(",") if a.strip()]
    with tqdm(total=args.samples, desc="scoring samples", unit="img", disable=None) as bar:
        fit = attribute_directions(G, cfg, attributes, n_samples=args.samples,
                                   conditions=parse_conditions(args.condition),
                                   progress=lambda done, total: bar.update(done - bar.n))
    fit.directions.save(args.out)
    print(f"Wrote {len(fit.directions)} attribute directions in {fit.directions.space} space to {args.out}",
          file=sys.stderr)
    for b, name in zip(fit.boundaries, fit.directions.names):
        print(f"  {name:<32} held-out correlation with the classifier r = {b.correlation:.2f}", file=sys.stderr)
    if args.check_seeds > 0:
        print(format_direction_checks(check_directions(G, cfg, fit.directions, range(args.check_seeds))))
    return 0


def format_direction_checks(checks) -> str:
    """A plain-text table of check_directions() results."""
    head = "attribute      " + " ".join(f"{a:>+6.0f}" for a in checks[0].amounts) + "  monotonic  rising  rho"
    rows = [f"{c.attribute:<14} " + " ".join(f"{p:6.3f}" for p in c.mean_probability)
            + f"  {c.monotonic_share:9.0%}  {c.rising_share:6.0%}  {c.spearman:.2f}" for c in checks]
    return "\n".join([head, *rows])


def cmd_export(args: argparse.Namespace) -> int:
    from ganstudio.core.checkpoints import export_generator

    out = export_generator(args.checkpoint, args.out)
    print(f"Wrote {out} ({out.stat().st_size / 2**20:.1f} MB)", file=sys.stderr)
    return 0


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


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "directions": cmd_directions,
            "export": cmd_export}


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand; errors are one line on stderr and a non-zero exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from ganstudio.logs import setup_logging

    setup_logging()
    log = logging.getLogger("ganstudio.cli")
    log.info("ganstudio %s %s", __version__, " ".join(argv if argv is not None else sys.argv[1:]))
    if args.self_test:
        from ganstudio.selftest import run_self_test

        return run_self_test()
    if args.command is None:
        from ganstudio.gui.app import run_app

        return run_app()
    try:
        if getattr(args, "checkpoint", None):
            from ganstudio.core.bundled import resolve_model_path

            args.checkpoint = str(resolve_model_path(args.checkpoint))
        return COMMANDS[args.command](args)
    except GanStudioError as exc:
        log.error("%s: %s", args.command, exc)
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
