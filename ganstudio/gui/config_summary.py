"""A run's configuration in words, showing only the settings that apply to it (no StyleGAN fields for a DCGAN
run), and the command that trains it again, quoted for the user's shell."""
from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from ganstudio.core.config import RunConfig
from ganstudio.gui.describe import AUGMENT_TITLES, LOSS_TITLES, arch_title, data_title

Rows = list[tuple[str, str]]


def shell_quote(arg: str, windows: bool | None = None) -> str:
    """One argument quoted for a pasted command line: POSIX shells (shlex), or Windows' rules (list2cmdline)."""
    windows = os.name == "nt" if windows is None else windows
    return subprocess.list2cmdline([arg]) if windows else shlex.quote(arg)


def train_command(config_path: str | Path, windows: bool | None = None) -> str:
    """The command that trains a run from its saved config, safe to paste (paths with spaces are quoted)."""
    return f"ganstudio train --config {shell_quote(str(config_path), windows)}"


def _on(value: bool) -> str:
    return "on" if value else "off"


def _num(value: float) -> str:
    return f"{value:g}"


def config_sections(cfg: RunConfig) -> list[tuple[str, Rows]]:
    """(section, [(setting, value)]) for the settings that apply to this run, in words."""
    d, m, lo, t = cfg.data, cfg.model, cfg.loss, cfg.train
    data: Rows = [("Source", d.source[7:] if d.is_folder else data_title(d.source))]
    if d.is_toy:
        data.append(("Points drawn", f"{d.toy_samples:,}"))
    else:
        data.append(("Resolution", f"{m.resolution} x {m.resolution} px" if m.resolution else "native"))
        data.append(("Colour", "grey" if m.channels == 1 else "colour"))
        if d.center_crop:
            data.append(("Centre crop", f"{d.center_crop} px"))
        if not d.is_folder:
            data.append(("Dataset folder", d.root))
            data.append(("Download when missing", _on(d.download)))
    model: Rows = [("Architecture", arch_title(m.arch)), ("Latent size (z)", str(m.z_dim)),
                   ("Capacity", str(m.capacity))]
    if m.conditional:
        names = ", ".join(m.class_names) if m.class_names else str(m.num_classes)
        model.append(("Classes", f"{m.num_classes}: {names}" if m.class_names else names))
        if m.arch != "stylegan":
            model.append(("Class condition in D", m.d_condition))
    else:
        model.append(("Classes", "none (unconditional)"))
    if m.arch == "stylegan":
        model += [("Style size (w)", str(m.w_dim)), ("Mapping layers", str(m.mapping_layers)),
                  ("Mapping learning-rate multiplier", _num(m.mapping_lr_mul)),
                  ("Modulation", "weight demodulation (StyleGAN2)" if m.modulation == "demod" else "AdaIN"),
                  ("Style mixing", f"{m.style_mixing_prob:.0%} of samples"),
                  ("Truncation ψ when sampling", _num(m.truncation_psi))]
        if m.truncation_cutoff is not None:
            model.append(("Truncation cutoff", f"rows below {m.truncation_cutoff}"))
        if m.progressive:
            model.append(("Progressive growing", f"over {m.progressive_share:.0%} of the steps"))
    else:
        model += [("Spectral norm in D", _on(m.spectral_norm)), ("Normalisation in D", m.d_norm)]
        if m.d_dropout:
            model.append(("Dropout in D", _num(m.d_dropout)))
        if m.minibatch_discrimination:
            model.append(("Minibatch discrimination", "on"))
    if m.minibatch_std:
        model.append(("Minibatch std-dev", "on"))
    loss: Rows = [("Loss", LOSS_TITLES.get(lo.name, lo.name))]
    if lo.name == "wgan-gp":
        loss.append(("Gradient penalty weight", _num(lo.gp_weight)))
    if lo.name == "wgan":
        loss.append(("Weight clipping", _num(lo.clip_value)))
    if lo.r1_weight:
        loss.append(("R1 penalty", f"{_num(lo.r1_weight)}, every {lo.r1_interval} D step(s)"))
    if lo.label_smoothing:
        loss.append(("Label smoothing", _num(lo.label_smoothing)))
    if lo.instance_noise:
        loss.append(("Instance noise", _num(lo.instance_noise)))
    if lo.feature_matching:
        loss.append(("Feature matching", "on"))
    if lo.augment == "ada":
        loss.append(("Augmentation", f"{AUGMENT_TITLES['ada']}, r_t target {_num(lo.ada_target)}"))
    elif lo.augment != "none":
        loss.append(("Augmentation", AUGMENT_TITLES.get(lo.augment, lo.augment)))
    if t.unroll:
        loss.append(("Unrolled D", f"{t.unroll} steps ahead"))
    if m.num_d > 1:
        loss.append(("Discriminators", f"{m.num_d}, G's losses combined by {lo.d_combine}"))
    train: Rows = [("Length", f"{t.steps:,} steps" if t.steps is not None else f"{_num(t.epochs)} epochs"),
                   ("Batch size", str(t.batch_size)), ("D steps per G step", str(t.d_steps)),
                   ("Optimizer", "Adam" if t.optimizer == "adam" else "RMSprop"),
                   ("Learning rate G / D", f"{_num(t.lr_g)} / {_num(t.lr_d)}")]
    if t.optimizer == "adam":
        train.append(("Adam betas G / D", f"{t.betas_g[0]:g}, {t.betas_g[1]:g} / {t.betas_d[0]:g}, "
                                          f"{t.betas_d[1]:g}"))
    train += [("EMA of G", f"decay {_num(t.ema_decay)}" if t.ema else "off"), ("Seed", str(t.seed)),
              ("Device", t.device), ("Precision", t.precision),
              ("Sample grid", f"every {t.sample_every:,} steps, {t.grid_size} samples" if t.sample_every else
               f"every epoch, {t.grid_size} samples"),
              ("Checkpoints", (f"every {t.checkpoint_every:,} steps" if t.checkpoint_every else "at the end")
               + f", keep {t.keep_checkpoints}")]
    if t.eval_every:
        metrics = ", ".join(t.eval_metrics) or "the ones that suit the data"
        train.append(("Quality metrics", f"every {t.eval_every:,} steps: {metrics} on {t.eval_samples:,} samples"))
    else:
        train.append(("Quality metrics", "off"))
    if t.tensorboard:
        train.append(("TensorBoard events", "on"))
    return [("Data", data), ("Model", model), ("Loss", loss), ("Training", train)]
