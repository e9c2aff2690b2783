"""`ganstudio train`: build the run's configuration (core.defaults, as the wizard does) and run the Trainer with a
progress bar; Ctrl-C stops after the current step and saves."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ganstudio.cli.tables import data_help, fmt, run_with_progress
from ganstudio.core.config import RunConfig
from ganstudio.core.errors import GanStudioError, RunExistsError


def add_parser(sub) -> None:
    """The train command and its flags."""
    from ganstudio.core.losses import LOSSES
    from ganstudio.core.models.registry import all_architectures

    train = sub.add_parser("train", help="train a GAN headless", description="Train a GAN without the GUI.")
    train.add_argument("--data", help=f"the training data: {data_help()}")
    train.add_argument("--data-b", help="cyclegan: domain B's images, folder:PATH (--data is then domain A's)")
    train.add_argument("--domains", help="cyclegan on --data celeba: ATTRIBUTE (A without it, B with it) or "
                       "ATTR_A:ATTR_B (e.g. Black_Hair:Blond_Hair)")
    train.add_argument("--data-root", help="folder where datasets are looked for and downloaded (default ./data)")
    train.add_argument("--no-download", action="store_true", help="never download a missing dataset")
    train.add_argument("--model", choices=all_architectures(), help="the architecture (cyclegan: translation "
                       "between two image sets, see --data-b and --domains)")
    train.add_argument("--conditional", action="store_true", default=None, help="a class-conditional model")
    train.add_argument("--d-condition", choices=["projection", "concat"], help="how D sees the class")
    train.add_argument("--loss", choices=tuple(LOSSES), help="the adversarial loss")
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
    cycle = train.add_argument_group("CycleGAN")
    cycle.add_argument("--residual-blocks", type=int, help="residual blocks per generator (default: 3 at 32 px, "
                       "4 at 64, 6 at 128, 9 at 256)")
    cycle.add_argument("--cycle-weight", type=float, help="cycle-consistency weight lambda (default 10)")
    cycle.add_argument("--identity-weight", type=float, help="identity loss weight, a share of lambda (default 0.5)")
    cycle.add_argument("--pool-size", type=int, help="earlier fakes D learns from (default 50)")
    cycle.add_argument("--lr-decay-share", type=float,
                       help="the learning rates fall linearly to 0 over this last share of the run (default 0.5)")
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
    train.add_argument("--augment", choices=["none", "diffaug", "ada"],
                       help="augment every image D sees: DiffAugment (Zhao 2020) or adaptive ADA (Karras 2020); "
                            "for small data sets (a few thousand images or fewer)")
    train.add_argument("--ada-target", type=float, help="ADA: target of r_t = E[sign(D(x_real))] (default 0.6)")
    train.add_argument("--ada-interval", type=int, help="ADA: D steps between adjustments of p (default 4)")
    train.add_argument("--ada-speed", type=int, dest="ada_speed_images",
                       help="ADA: images for p to go from 0 to 1 (default 0: fitted to the run, a tenth of the "
                            "real images D will see, at most StyleGAN2-ADA's 500000)")
    train.add_argument("--unroll", type=int, metavar="K",
                       help="unrolled GAN (Metz 2017): G's update against D advanced K steps (default 0: off)")
    train.add_argument("--num-d", type=int, metavar="N", help="several discriminators (GMAN, Durugkar 2017)")
    train.add_argument("--num-d-combine", choices=["mean", "softmax"],
                       help="GMAN: combine G's losses against the discriminators by mean or soft-max")
    train.add_argument("--num-d-lambda", type=float, help="GMAN soft-max lambda (default 1; 0 is the mean)")
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
    train.add_argument("--tensorboard", action="store_true", default=None,
                       help="also write TensorBoard events (losses, D outputs, gradient norms, ADA's p, evaluations, "
                            "sample grids) into the run folder; needs: pip install tensorboard")
    train.add_argument("--eval-metrics", help="metrics to measure while training, e.g. fid,kid,pr (default: auto)")
    train.add_argument("--eval-samples", type=int, help="samples per evaluation (default 2000)")
    train.add_argument("--eval-extractor", help="feature extractor: auto, inception[:FILE], mnist, celeba, points")
    train.add_argument("--out", help="the run folder to create")
    train.add_argument("--name", help="the run's name (default: the folder's name)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """defaults < preset < config file < flags, built by core.defaults.run_config as in the wizard."""
    from ganstudio.core.defaults import RunChoices, run_config
    from ganstudio.core.presets import read_config_file

    data_side = None
    if args.data and args.data.startswith("folder:") and args.resolution is None:
        from ganstudio.core.data.folders import folder_side

        data_side = folder_side(args.data[len("folder:"):])  # the default resolution follows the images
    translation = args.data_b is not None or args.domains is not None
    choices = RunChoices(source=args.data, arch=args.model or ("cyclegan" if translation else None), conditional=args.conditional,
                         resolution=args.resolution, preset=args.preset, data_side=data_side)
    files = [read_config_file(args.config)] if args.config else []
    cfg = run_config(choices, *files, _flag_overrides(args))
    name = args.name or (Path(args.out).name if args.out else cfg.name)
    return cfg.with_updates(name=name).validate()


def _flag_overrides(args: argparse.Namespace) -> dict:
    """The flags other than the choices, as a partial config dict."""
    data = _flags(args, data_root="root", channels="channels", center_crop="center_crop", data_b="source_b",
                  domains="domains")
    if args.no_download:
        data["download"] = False
    model = _flags(args, d_condition="d_condition",
                   capacity="capacity", z_dim="z_dim", w_dim="w_dim", mapping_layers="mapping_layers",
                   modulation="modulation", style_mixing_prob="style_mixing_prob", progressive="progressive",
                   spectral_norm="spectral_norm",
                   minibatch_std="minibatch_std", minibatch_discrimination="minibatch_discrimination",
                   d_dropout="d_dropout", num_d="num_d", residual_blocks="residual_blocks")
    loss = _flags(args, loss="name", label_smoothing="label_smoothing", instance_noise="instance_noise",
                  feature_matching="feature_matching", r1_weight="r1_weight", r1_interval="r1_interval",
                  augment="augment", ada_target="ada_target", ada_interval="ada_interval",
                  ada_speed_images="ada_speed_images", num_d_combine="d_combine", num_d_lambda="d_softmax_lambda",
                  cycle_weight="cycle_weight", identity_weight="identity_weight", pool_size="pool_size")
    train = _flags(args, batch_size="batch_size", d_steps="d_steps", lr_g="lr_g", lr_d="lr_d", seed="seed",
                   device="device", sample_every="sample_every", checkpoint_every="checkpoint_every",
                   precision="precision", tf32="tf32", channels_last="channels_last",
                   sync_batchnorm="sync_batchnorm", eval_every="eval_every", eval_samples="eval_samples",
                   eval_extractor="eval_extractor", unroll="unroll", lr_decay_share="lr_decay_share",
                   tensorboard="tensorboard")
    if args.eval_metrics is not None:
        train["eval_metrics"] = [m.strip() for m in args.eval_metrics.split(",") if m.strip()]
    if args.steps is not None:
        train.update(steps=args.steps, epochs=None)
    elif args.epochs is not None:
        train.update(epochs=args.epochs, steps=None)
    if args.no_ema:
        train["ema"] = False
    return {"data": data, "model": model, "loss": loss, "train": train}


def _flags(args: argparse.Namespace, **mapping: str) -> dict:
    return {field: getattr(args, flag) for flag, field in mapping.items() if getattr(args, flag) is not None}


def run(args: argparse.Namespace) -> int:
    """Train a new run, or resume one, until done or stopped."""
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
        try:
            trainer = Trainer(config, args.out, control=control)
        except RunExistsError as exc:  # the CLI's way to resume is a flag
            raise GanStudioError(f"{exc.folder} already holds a run; resume it with --resume {exc.folder} or "
                                 "choose another --out") from None
        where = Path(args.out)
    _stop_on_interrupt(control)
    main_rank = trainer.dist.is_main
    say = (lambda text: print(text, file=sys.stderr)) if main_rank else (lambda text: None)
    info = trainer.dataset_info
    cfg = trainer.config
    say(f"Training {cfg.model.arch}{' (conditional)' if cfg.model.conditional else ''} with {cfg.loss.name} "
        f"loss on {info.source} ({_size_text(info)}) on "
        f"{_device_text(trainer)}; {_batch_text(trainer)}, {trainer.total_steps:,} steps -> {where}")
    if info.skipped_report:
        say(info.skipped_report)
    ended = False  # whether this rank got to the end without an error (then it waits for the others to get there)
    try:
        last = run_with_progress(trainer, quiet=args.quiet or not main_rank)
        if trainer.step < trainer.total_steps:  # stopped by Ctrl-C (on any rank)
            path = trainer.save_stopped().checkpoint_path  # and a sample grid of this step
            say(f"Stopped at step {trainer.step}; checkpoint saved to {path}. Continue with "
                f"ganstudio train --resume {where}")
        elif last is not None:
            say(f"Done: {trainer.step} steps, D loss {fmt(last.loss_d)}, G loss {fmt(last.loss_g)}. "
                f"Checkpoint: {trainer.run.latest_checkpoint()}")
        ended = True
    finally:
        from ganstudio.core import distributed

        distributed.shutdown(trainer.dist, wait_for_all=ended)
    return 0


def _size_text(info) -> str:
    if info.domain_sizes:
        return f"{info.domain_sizes[0]:,} images in domain A, {info.domain_sizes[1]:,} in B"
    return f"{info.size:,} {'points' if info.is_toy else 'images'}"


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


