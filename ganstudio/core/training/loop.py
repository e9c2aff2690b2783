"""The training loop: an iterator of StepReports that checks pause/stop requests between steps.

It knows nothing of its caller: the CLI shows the reports with a progress bar, the GUI worker forwards them
as signals, tests read them directly. Callers use the Trainer's public face (see its docstring); its models,
optimizers and data stay inside.

One step is `d_steps` D updates then one G update, and it has no branch on a loss or a trick:
- everything loss-specific lives in the run's `Objective` (core.losses): D's loss with label smoothing, the
  penalties that are due (WGAN-GP, lazy R1), what follows D's update (WGAN's clipping), G's loss (adversarial or
  feature matching) and D's output as reported (a probability for the logistic losses);
- D sees every image, real or fake, in D and G steps, only through the run's `DiscriminatorView`
  (core.training.discriminator_view), which augments the batches and returns one output per discriminator.

Extension points, so that later features need no new branch here:
- augmentation of every image D sees, real and fake, in D and G steps (DiffAugment, ADA: core.training.augment):
  an `Augment` chosen by `discriminator_view.augmentation(config)`; it gets the run's progress through
  `set_training_progress`, as instance noise does; ADA's overfitting heuristic reads D's outputs on reals from
  `DTerms.real_outputs` (`_adapt_augment`, r_t agreed over ranks), and its p is logged as `augment_p`;
- several discriminators (GMAN, `num_d`): more modules in the view, each with its own optimizer; the objective
  averages D's terms over the list of outputs and combines G's by `Objective.combine_g` (mean or soft-max);
- an unrolled D (`unroll`): the G step computes its terms after K D steps on the current batch, then restores
  D (`_unrolled_g_terms`, the surrogate without the second-order term);
- a family with another step (CycleGAN's two G/D pairs): a Trainer subclass named in FAMILY_TRAINERS, which
  `Trainer(config)` builds for that architecture. It overrides the family's parts only (`_build`, `_modules`,
  `_states`, `_restore_states`, `_train_step`, `sample_fixed`, `render_samples`); the data cursor, the run
  folder, metrics, grids, checkpoints, resume, live settings and torchrun stay here (core.training.cycle).
"""
from __future__ import annotations

import contextlib
import copy
import importlib
import io
import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core import distributed
from ganstudio.core.checkpoints import Checkpoint, load_checkpoint, load_module_state, save_checkpoint
from ganstudio.core.data import DatasetInfo, SkippedFile, TrainingData, load_data
from ganstudio.core.device import auto_channels_last, device_name, resolve_device
from ganstudio.core.images import image_grid, save_image, scatter_image
from ganstudio.core.losses import build_objective
from ganstudio.core.models.registry import build_models
from ganstudio.core.runs import RunFolder, checkpoint_step
from ganstudio.core.training.control import TrainingControl
from ganstudio.core.training.augment import fitted_ada_speed
from ganstudio.core.training.discriminator_view import DiscriminatorView, augmentation
from ganstudio.core.training.ema import EMA
from ganstudio.core.training.reports import StepReport, StopReport
from ganstudio.core.training.tensorboard import TENSORBOARD_MISSING, TensorBoardLog, tensorboard_available
from ganstudio.core.errors import CheckpointError, ConfigError, TrainingError, WriteError

# Architectures whose training step is not the one-G, one-D step of this module: "module:class", a Trainer subclass.
FAMILY_TRAINERS = {"cyclegan": "ganstudio.core.training.cycle:CycleTrainer"}
FIXED_NOISE_SEED_OFFSET = 7919  # the fixed grid noise has its own stream, so it does not shift training's
LOG_FLUSH_SECONDS = 1.0  # metrics.jsonl reaches the disk at least this often, so a crash keeps the curve


def resolve_config(config: RunConfig, data: TrainingData) -> RunConfig:
    """Fill the model's data-dependent fields (channels, resolution, classes) from the loaded data."""
    info = data.info
    if config.model.conditional and info.num_classes < 2:
        raise ConfigError(
            f"a conditional model needs labelled data, and {config.data.source} has no classes "
            "(for a folder, put each class in its own subfolder)"
        )
    model = replace(
        config.model,
        num_classes=info.num_classes if config.model.conditional else 0,
        class_names=tuple(info.class_names) if config.model.conditional else (),
        channels=info.channels or 1,
        resolution=info.resolution or 0,
        toy=info.is_toy,
    )
    return replace(config, model=model)


def _d_key(i: int) -> str:
    """The checkpoint's name of discriminator i: "D", then "D1", "D2" ... (GMAN)."""
    return "D" if i == 0 else f"D{i}"


def _grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


@dataclass
class _StepState:
    """What one training step has gathered so far: the report's numbers and what the G step reuses."""

    loss_d: float | None = None
    loss_g: float | None = None
    d_real: float | None = None
    d_fake: float | None = None
    gn_d: float | None = None
    gn_g: float | None = None
    images: int = 0
    epoch_end: bool = False
    labels: torch.Tensor | None = None
    fake: torch.Tensor | None = None
    real_features: list[torch.Tensor] | None = None
    real: torch.Tensor | None = None  # the D step's real batch (an unrolled D trains on it)
    extras: dict[str, float] = field(default_factory=dict)


class Trainer:
    """Owns the models, optimizers, data cursor and run folder of one training run.

    Its public face: iterate it (or `run_steps()`) for StepReports; `control` takes pause/stop/single-step
    requests and live settings between steps. For callers to read: `config`, `step`, `total_steps`, `d_steps`, `epoch`,
    `position`, `fixed_z`, `run`, `dist`, `device`, `device_name`, `learning_rates`, `dataset_info`,
    `data_size`, `skipped_files`, `generator`, `discriminator`, `ema_generator`, `sampling_generator`,
    `evaluator`, `discriminators`, `augmentation`, `augment_p`, `live_d_steps`. Methods: `real_sample`, `toy_frame`, `sample_fixed`, `render_samples`, `evaluate`,
    `checkpoint`, `save_checkpoint`, and `Trainer.resume`.
    """

    live_d_steps = True  # whether the D steps per G step can change while training (a live setting)

    def __new__(cls, config: RunConfig, *args, **kwargs):
        """A family with its own step gets its own trainer class (CycleGAN: core.training.cycle.CycleTrainer),
        so that every caller (the CLI, the training process, Trainer.resume) builds the right one."""
        if cls is Trainer and config.model.arch in FAMILY_TRAINERS:
            module, name = FAMILY_TRAINERS[config.model.arch].split(":")
            cls = getattr(importlib.import_module(module), name)
        return super().__new__(cls)

    def __init__(self, config: RunConfig, run_dir: str | Path | None = None, *,
                 control: TrainingControl | None = None, data: TrainingData | None = None,
                 checkpoint: Checkpoint | None = None):
        config.validate()
        if config.train.tensorboard and not tensorboard_available():  # before any data is loaded or folder made
            raise ConfigError(TENSORBOARD_MISSING)
        self.control = control or TrainingControl()
        self.dist, device_request = distributed.init(config.train.device)
        self._device = resolve_device(device_request)
        t = config.train
        if t.precision == "fp16" and self._device.type != "cuda":
            raise ConfigError("fp16 mixed precision needs a CUDA GPU; use bf16 or fp32 here")
        if self._device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = t.tf32
            torch.backends.cudnn.allow_tf32 = t.tf32
        torch.manual_seed(t.seed)
        stored_classes = checkpoint.config.model.class_names if checkpoint is not None else ()
        self._data = data or load_data(config.data, self._device, seed=t.seed, class_order=stored_classes)
        self.config = resolve_config(config, self._data) if checkpoint is None else checkpoint.config
        if self.config.train.channels_last is None:  # "auto": the faster layout here, recorded in the run
            m = self.config.model
            self.config = self.config.with_updates("train", channels_last=auto_channels_last(
                m.arch, m.toy, self._device, self.config.train.precision))
        t = self.config.train
        self._plan_d_steps = t.d_steps  # the D steps the run's length in epochs was planned with
        if self.config.loss.augment == "ada" and not self.config.loss.ada_speed_images:  # recorded in the run
            planned = self._total_steps() * t.d_steps * t.batch_size * self.dist.world_size
            self.config = self.config.with_updates("loss", ada_speed_images=fitted_ada_speed(
                planned, self.config.loss.ada_interval * t.batch_size * self.dist.world_size))
        self._build()
        self._toy_z: torch.Tensor | None = None  # the live GAN Lab view's noise, made at its first frame
        self.d_steps = t.d_steps
        self.step = 0
        self.d_updates = 0  # discriminator steps so far: lazy R1 runs on every r1_interval-th
        self.epoch = 0
        self.position = 0
        self._order = None
        if self.dist.enabled:  # each rank draws its own noise after the identical initialization
            torch.manual_seed(t.seed + self.dist.rank)
        if checkpoint is not None:
            self._restore(checkpoint)
        self.total_steps = self._total_steps()
        self.run = None
        if run_dir is not None:
            if checkpoint is not None:
                self.run = RunFolder.open(run_dir)
            elif self.dist.is_main:
                self.run = RunFolder.create(run_dir, self.config)
            distributed.barrier(self.dist)
            if self.run is None:
                self.run = RunFolder(run_dir)  # other ranks never write into it
        self._metrics_file = None
        self._tensorboard: TensorBoardLog | None = None  # open while run_steps runs, with --tensorboard
        self._next_log_flush = 0.0
        self._grid_step: int | None = None  # the step of the newest sample grid
        # Under torchrun only rank 0 evaluates (and writes evals.jsonl); the others wait at the next all-reduce.
        self.evaluator = self._evaluator() if t.eval_every and self.dist.is_main else None

    def _build(self) -> None:
        """The family's models, optimizers, D's view and fixed grid input (a family's trainer overrides this,
        with _modules, _states, _restore_states, _train_step and sample_fixed)."""
        t = self.config.train
        self._objective = build_objective(self.config.loss)
        self._G, self._D = build_models(self.config.model, self.config.loss)
        # GMAN: the other discriminators, independently initialised (the first one's stream is unchanged)
        self._Ds = [self._D] + [build_models(self.config.model, self.config.loss)[1]
                                for _ in range(self.config.model.num_d - 1)]
        if self.dist.enabled and t.sync_batchnorm:
            if self._device.type != "cuda":
                raise ConfigError("synchronized batch norm works only on CUDA GPUs; turn it off for CPU runs")
            self._G = nn.SyncBatchNorm.convert_sync_batchnorm(self._G)
            self._Ds = [nn.SyncBatchNorm.convert_sync_batchnorm(D) for D in self._Ds]
            self._D = self._Ds[0]
        self._G.to(self._device)
        for D in self._Ds:
            D.to(self._device)
        if t.channels_last and not self.config.model.toy:
            self._G.to(memory_format=torch.channels_last)
            for D in self._Ds:
                D.to(memory_format=torch.channels_last)
        # The modules the step runs: DDP wrappers under torchrun (gradients averaged), else the models.
        self._G_train, Ds_train = self._G, list(self._Ds)
        if self.dist.enabled:
            self._G_train = distributed.wrap(self._G, self._device)
            Ds_train = [distributed.wrap(D, self._device) for D in self._Ds]
        self._amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(t.precision)
        # D sees every image through this view (augmentation, autocast); the G step sees D through _g_view.
        batch_images = t.batch_size * self.dist.world_size
        self._view = DiscriminatorView(Ds_train, self._amp, augmentation(self.config.loss, batch_images))
        self._g_view = self._view
        self._scaler_g = torch.amp.GradScaler("cuda", enabled=t.precision == "fp16")
        self._scaler_d = torch.amp.GradScaler("cuda", enabled=t.precision == "fp16")
        self._opt_G = self._optimizer(self._G, t.lr_g, t.betas_g)
        self._opts_D = [self._optimizer(D, t.lr_d, t.betas_d) for D in self._Ds]
        self._opt_D = self._opts_D[0]
        self._ema = EMA(self._G, t.ema_decay) if t.ema else None
        self._g_params = list(self._G.parameters())
        self._d_params = [p for D in self._Ds for p in D.parameters()]
        gen = torch.Generator().manual_seed(t.seed + FIXED_NOISE_SEED_OFFSET)
        n = t.grid_size
        self.fixed_z = torch.randn(n, self.config.model.z_dim, generator=gen)
        self.fixed_c = (torch.arange(n) % self.config.model.num_classes
                        if self.config.model.conditional else None)

    def _modules(self) -> list[nn.Module]:
        """Every module being trained (for train mode and the run's progress)."""
        return [self._G, *self._Ds]

    # -- the public face ------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        """The device the models train on."""
        return self._device

    @property
    def device_name(self) -> str:
        """The device in words, for the user ("CPU (2 threads)", "NVIDIA H200" ...)."""
        return device_name(self._device)

    @property
    def learning_rates(self) -> tuple[float, float]:
        """The current learning rates of G and D (they change with live settings)."""
        return self._opt_G.param_groups[0]["lr"], self._opt_D.param_groups[0]["lr"]

    @property
    def dataset_info(self) -> DatasetInfo:
        """What the training data is: source, size, classes, channels, and the report of skipped files."""
        return self._data.info

    @property
    def data_size(self) -> int:
        """Examples (images or points) in the training data."""
        return len(self._data)

    @property
    def skipped_files(self) -> list[SkippedFile]:
        """Files of a streamed dataset that turned out unreadable during training, so far."""
        return self._data.stream_skipped

    @property
    def generator(self) -> nn.Module:
        """The generator being trained (not the EMA copy; see sampling_generator)."""
        return self._G

    @property
    def discriminator(self) -> nn.Module:
        """The discriminator being trained."""
        return self._D

    @property
    def discriminators(self) -> list[nn.Module]:
        """Every discriminator being trained (more than one with GMAN's --num-d)."""
        return list(self._Ds)

    @property
    def augmentation(self):
        """The augmentation D sees every image through (DiffAugment, ADA, instance noise), or None."""
        return self._view.augment

    @property
    def augment_p(self) -> float | None:
        """The probability (ADA, adapted) or strength (DiffAugment: 1) of D's augmentation; None when off."""
        aug = self._view.augment
        return getattr(aug, "p", None) if aug is not None else None

    @property
    def ema_generator(self) -> nn.Module | None:
        """The exponential moving average of G, or None when EMA is off."""
        return self._ema.model if self._ema is not None else None

    def real_sample(self, n: int = 1000) -> np.ndarray:
        """The first n training examples (all when fewer) as float32 numpy: the real points of a toy run."""
        return self._data.get(torch.arange(min(len(self._data), n)))[0].float().cpu().numpy()

    def toy_frame(self, real: np.ndarray, z: torch.Tensor | None = None, **kwargs):
        """The GAN Lab picture of a 2D run now (core.toy_view.ToyFrame), for its live noise or z; never changes
        the run's trajectory."""
        from ganstudio.core.toy_view import live_noise, toy_frame

        if z is None:
            if self._toy_z is None:
                t = self.config
                self._toy_z = live_noise(t.model.z_dim, seed=t.train.seed, device=self._device)
            z = self._toy_z
        lo = self._objective
        return toy_frame(self._G, self._D, z, lo.adversarial.g_loss, lo.d_output, real, self.step, lo.probability,
                         **kwargs)

    @classmethod
    def resume(cls, run_dir: str | Path, *, control: TrainingControl | None = None,
               steps: int | None = None, device: str | None = None,
               data: TrainingData | None = None) -> "Trainer":
        """Continue a run from its latest checkpoint, on the same trajectory."""
        run = RunFolder.open(run_dir)
        main_process = distributed.from_environment().is_main
        latest = run.latest_checkpoint()
        if latest is None:
            raise CheckpointError(f"{run.path} has no checkpoint to resume from")
        ckpt = load_checkpoint(latest)
        cfg = ckpt.config
        if steps is not None:
            cfg = cfg.with_updates("train", steps=steps, epochs=None)
        if device is not None:
            cfg = cfg.with_updates("train", device=device)
        ckpt.config = cfg
        if main_process:
            run.remove_leftovers()  # the runs of this folder have ended: their half-written files are garbage
            run.truncate_metrics(ckpt.step)
            run.truncate_evals(ckpt.step)
            cfg.save(run.config_path)
        trainer = cls(cfg, run.path, control=control, checkpoint=ckpt, data=data)
        if trainer.evaluator is not None:
            trainer.evaluator.watch.restore(run.read_evals())
        return trainer

    # -- set-up ---------------------------------------------------------------------------------------

    def _optimizer(self, module: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
        if self.config.train.optimizer == "rmsprop":
            return torch.optim.RMSprop(module.parameters(), lr=lr)
        return torch.optim.Adam(module.parameters(), lr=lr, betas=betas)

    def _total_steps(self) -> int:
        t = self.config.train
        if t.steps is not None:
            return t.steps
        per_epoch = max(1, len(self._data) // (t.batch_size * self.dist.world_size))
        return max(1, math.ceil(t.epochs * per_epoch / self._plan_d_steps))

    def _restore(self, ckpt: Checkpoint) -> None:
        """Continue from a checkpoint: the family's states, then the run's position and random streams."""
        self._restore_states(ckpt, f"step {ckpt.step}")
        self.step = ckpt.step
        self.epoch = int(ckpt.extra.get("epoch", 0))
        self.position = int(ckpt.extra.get("position", 0))
        self.d_steps = int(ckpt.extra.get("d_steps", self.d_steps))
        self._plan_d_steps = int(ckpt.extra.get("plan_d_steps", self._plan_d_steps))
        self.d_updates = int(ckpt.extra.get("d_updates", self.step * self.d_steps))
        rank = self.dist.rank
        cpu_state = ckpt.extra_tensors.get(f"rng_cpu_rank{rank}", ckpt.extra_tensors["rng_cpu"] if rank == 0 else None)
        if cpu_state is not None:
            torch.set_rng_state(cpu_state)
        else:  # more processes than when it was saved: a fresh stream for this rank
            torch.manual_seed(self.config.train.seed + rank + 7 * ckpt.step)
        cuda_state = ckpt.extra_tensors.get(f"rng_cuda_rank{rank}", ckpt.extra_tensors.get("rng_cuda"))
        if self._device.type == "cuda" and cuda_state is not None:
            torch.cuda.set_rng_state(cuda_state, self._device)

    def _restore_states(self, ckpt: Checkpoint, name: str) -> None:
        """Load the family's modules, optimizers and fixed grid input from a checkpoint (see _states)."""
        if "G" not in ckpt.modules or "D" not in ckpt.modules:
            raise CheckpointError(f"the checkpoint at {name} holds only a generator (an exported model); "
                                  "training can resume only from a run's own checkpoints")
        load_module_state(self._G, ckpt.modules["G"], "generator", name)
        for i, D in enumerate(self._Ds):
            key = _d_key(i)
            if key not in ckpt.modules:
                raise CheckpointError(f"the checkpoint at {name} has no discriminator {key}")
            load_module_state(D, ckpt.modules[key], "discriminator", name)
        if self._ema is not None and "G_ema" in ckpt.modules:
            load_module_state(self._ema.model, ckpt.modules["G_ema"], "EMA generator", name)
            self._ema.updates = int(ckpt.extra.get("ema_updates", 0))
        try:
            self._opt_G.load_state_dict(ckpt.optimizers["G"])
            for i, opt in enumerate(self._opts_D):
                opt.load_state_dict(ckpt.optimizers[_d_key(i)])
        except (KeyError, ValueError) as exc:
            raise CheckpointError(f"the optimizer state at {name} does not fit the model ({exc})") from None
        if "augment" in ckpt.extra and hasattr(self._view.augment, "load_state_dict"):
            self._view.augment.load_state_dict(ckpt.extra["augment"])
        self.fixed_z = ckpt.extra_tensors["fixed_z"]
        self.fixed_c = ckpt.extra_tensors.get("fixed_c")

    # -- data -----------------------------------------------------------------------------------------

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        """The next real batch; the flag is true when this batch finished an epoch."""
        b = self.config.train.batch_size
        span = b * self.dist.world_size  # one global batch: every rank takes its own slice
        if self._order is None:
            self._order = self._data.epoch_order(self.epoch, self.config.train.seed)
        start = self.position + self.dist.rank * b
        idx = self._order[start:start + b]
        self.position += span
        epoch_end = self.position + span > len(self._order)
        if epoch_end:
            self.epoch += 1
            self.position = 0
            self._order = None
        x, c = self._data.get(idx)
        if self.config.train.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, c, epoch_end

    # -- the loop -------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[StepReport]:
        return self.run_steps()

    def run_steps(self) -> Iterator[StepReport]:
        """Train until the configured number of steps or a stop request; yield a report per step."""
        if self.run is not None and self.dist.is_main:
            self._metrics_file = open(self.run.metrics_path, "a", encoding="utf-8")
            if self.config.train.tensorboard:
                self._tensorboard = TensorBoardLog(self.run.tensorboard_dir,
                                                   purge_step=self.step + 1 if self.step else None)
        for module in self._modules():
            module.train()
        try:
            while self.step < self.total_steps:
                kind = self.control.wait_turn()
                if distributed.any_rank(self.dist, kind is None, self._device):
                    break
                self._apply_changes()
                self._report_progress()
                t0 = time.perf_counter()
                report = self._train_step(kind)
                report.images_per_sec = report.images_per_sec / max(time.perf_counter() - t0, 1e-9)
                self._after_step(report)
                yield report
        finally:
            if self._metrics_file is not None:
                try:
                    self._metrics_file.close()
                except OSError:  # a full disk: the error that stopped the run was already raised
                    pass
                self._metrics_file = None
            if self._tensorboard is not None:
                self._tensorboard.close()
                self._tensorboard = None

    def _apply_changes(self) -> None:
        """Apply live settings; they become the run's own (config.json), so that a reopened run shows them."""
        changes = self.control.take_changes()
        if changes is None:
            return
        if changes.lr_g is not None:
            for group in self._opt_G.param_groups:
                group["lr"] = changes.lr_g
        if changes.lr_d is not None:
            for opt in self._opts_D:
                for group in opt.param_groups:
                    group["lr"] = changes.lr_d
        if changes.d_steps is not None and self.live_d_steps:
            self.d_steps = max(1, int(changes.d_steps))
        t = self.config.train  # the configured rates (a family's schedule may scale them per step)
        lr_g = t.lr_g if changes.lr_g is None else changes.lr_g
        lr_d = t.lr_d if changes.lr_d is None else changes.lr_d
        self.config = self.config.with_updates("train", lr_g=lr_g, lr_d=lr_d, d_steps=self.d_steps)
        if self.run is not None and self.dist.is_main:
            self.config.save(self.run.config_path)

    def _report_progress(self) -> None:
        """Tell what changes over the run (progressive growing, annealed instance noise) which step this is."""
        for part in (*self._modules(), self._view):
            if hasattr(part, "set_training_progress"):
                part.set_training_progress(self.step, self.total_steps)

    def _check_finite(self, value: float, what: str) -> None:
        if not math.isfinite(value):
            latest = self.run.latest_checkpoint() if self.run else None
            kept = f"; the last good checkpoint ({latest.name}) is intact" if latest else ""
            raise TrainingError(
                f"the {what} loss became {value} at step {self.step + 1}, so the run stopped{kept}. "
                "Try lower learning rates, another loss or spectral normalization"
            )

    def _amp(self):
        """Autocast for the forward passes when mixed precision is on."""
        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self._device.type, dtype=self._amp_dtype)

    def _agreed_loss(self, loss: torch.Tensor, what: str) -> float:
        """The loss as a float, averaged over ranks under torchrun; a non-finite one stops the run."""
        (value,) = distributed.agree(self.dist, [loss.item()], self._device)
        self._check_finite(value, what)
        return value

    def _train_step(self, kind: str) -> StepReport:
        """One step: d_steps discriminator updates then one generator update (or one of them alone)."""
        b = self.config.train.batch_size
        s = _StepState()
        if kind in ("both", "d"):
            for _ in range(self.d_steps):
                self._d_step(s, keep_fake=kind == "both" and self.d_steps == 1)
        if kind in ("both", "g"):
            self._g_step(s)
        self.step += 1
        return StepReport(
            step=self.step, total_steps=self.total_steps,
            epoch=self.epoch + self.position / max(1, len(self._data)),
            loss_d=s.loss_d, loss_g=s.loss_g, d_real=s.d_real, d_fake=s.d_fake,
            grad_norm_d=s.gn_d, grad_norm_g=s.gn_g, images_per_sec=float(s.images or b),
            lr_g=self._opt_G.param_groups[0]["lr"], lr_d=self._opt_D.param_groups[0]["lr"],
            extras=s.extras, epoch_end=s.epoch_end,
        )

    def _d_step(self, s: "_StepState", keep_fake: bool) -> None:
        cfg = self.config
        real, s.labels, ended = self._next_batch()
        s.epoch_end |= ended
        s.images += real.shape[0]
        z = torch.randn(cfg.train.batch_size, cfg.model.z_dim, device=self._device)
        # With one D step, G's forward is shared with the G step, as in the DCGAN reference loop.
        with torch.set_grad_enabled(keep_fake), self._amp():
            fake = self._G_train(z, s.labels)
        self.d_updates += 1
        terms = self._objective.d_terms(self._view, real, fake.detach(), s.labels, self.d_updates)
        s.real_features = terms.real_features
        s.extras.update(terms.extras)
        s.loss_d = self._agreed_loss(terms.loss, "discriminator")
        s.gn_d = self._update_d(terms.loss)
        self._adapt_augment(terms.real_outputs, s)
        s.d_real = self._objective.reported(terms.real_outputs)
        s.d_fake = self._objective.reported(terms.fake_outputs)
        s.fake = fake if keep_fake else None
        s.real = real

    def _update_d(self, loss: torch.Tensor) -> float:
        """One optimizer step of every discriminator on D's loss; returns the gradient norm."""
        for opt in self._opts_D:
            opt.zero_grad(set_to_none=True)
        self._scaler_d.scale(loss).backward()
        for opt in self._opts_D:
            self._scaler_d.unscale_(opt)
        norm = _grad_norm(self._d_params).item()
        for opt in self._opts_D:
            self._scaler_d.step(opt)
        self._scaler_d.update()
        self._objective.after_d_update(self._d_params)
        return norm

    def _adapt_augment(self, real_outputs: list[torch.Tensor], s: "_StepState") -> None:
        """ADA: feed it D's outputs on reals; when due, agree on r_t over all processes and adjust p."""
        aug = self._view.augment
        if aug is None or not hasattr(aug, "observe"):
            if aug is not None and hasattr(aug, "p"):
                s.extras["augment_p"] = aug.p
            return
        if aug.observe(real_outputs):
            total, count = distributed.agree(self.dist, list(aug.take_stats()), self._device)
            aug.adjust(total / max(count, 1.0))
        s.extras["augment_p"] = aug.p
        if aug.r_t is not None:
            s.extras["ada_rt"] = aug.r_t

    def _g_step(self, s: "_StepState") -> None:
        cfg = self.config
        b = cfg.train.batch_size
        if cfg.train.unroll and s.real is None:  # a G-only step: the real batch an unrolled D trains on
            s.real, s.labels, ended = self._next_batch()
            s.epoch_end |= ended
        labels = s.labels
        fake = s.fake
        if fake is None:
            if labels is None and cfg.model.conditional:
                labels = torch.randint(cfg.model.num_classes, (b,), device=self._device)
            with self._amp():
                fake = self._G_train(torch.randn(b, cfg.model.z_dim, device=self._device), labels)
        # Unrolled GAN: G answers D advanced K steps; D is restored once G's gradients are taken.
        restore_d = self._unroll_d(s, fake, labels) if cfg.train.unroll else None
        try:
            terms = self._objective.g_terms(self._g_view, fake, labels, lambda: self._real_features(s))
            s.loss_g = self._agreed_loss(terms.loss, "generator")
            self._opt_G.zero_grad(set_to_none=True)
            self._scaler_g.scale(terms.loss).backward()
        finally:
            if restore_d is not None:
                restore_d()
        self._scaler_g.unscale_(self._opt_G)
        s.gn_g = _grad_norm(self._g_params).item()
        self._scaler_g.step(self._opt_G)
        self._scaler_g.update()
        if self._ema is not None:
            self._ema.update()
        if s.d_fake is None:
            s.d_fake = self._objective.reported(terms.fake_outputs)

    def _unroll_d(self, s: "_StepState", fake: torch.Tensor, labels: torch.Tensor | None):
        """Advance D `unroll` steps on the current batch (Metz et al. 2017); return what restores it.

        This is the cheap surrogate, not the full unrolled gradient: D's (and its optimizers') state is copied,
        K D steps are taken on this step's real batch and (detached) fakes, G's loss is computed against the
        unrolled D, and D is restored after G's backward, with no gradient through the unrolling. The
        second-order term (through K optimizer steps of D) needs a differentiable optimizer and K graphs of D
        kept in memory, a double backward that several of our layers (batch-norm statistics, spectral norm's
        power iteration, Adam's state) make fragile, at several times the cost; the surrogate keeps what Metz et
        al. credit for the gain in mode coverage, G answering D's near-future reply, at K extra D steps.
        """
        snapshot = ([copy.deepcopy(D.state_dict()) for D in self._Ds],
                    [copy.deepcopy(opt.state_dict()) for opt in self._opts_D], self._scaler_d.state_dict())
        for k in range(self.config.train.unroll):
            terms = self._objective.d_terms(self._view, s.real, fake.detach(), labels, self.d_updates + k + 1)
            self._update_d(terms.loss)

        def restore() -> None:
            states, opt_states, scaler_state = snapshot
            with torch.no_grad():
                for D, state in zip(self._Ds, states):
                    D.load_state_dict(state)
            for opt, state in zip(self._opts_D, opt_states):
                opt.load_state_dict(state)
            self._scaler_d.load_state_dict(scaler_state)

        return restore

    def _real_features(self, s: "_StepState") -> list[torch.Tensor]:
        """D's features on real data for the G step: the D step's, or a fresh real batch's (a G-only step)."""
        if s.real_features is None:
            real, real_labels, ended = self._next_batch()
            s.epoch_end |= ended
            with torch.no_grad():
                (seen,) = self._g_view.see([real], real_labels, features=(True,))
            s.real_features = seen.features
        return s.real_features

    def _after_step(self, report: StepReport) -> None:
        t = self.config.train
        last = self.step >= self.total_steps
        if self._metrics_file is not None and (self.step % t.log_every == 0 or last):
            line = json.dumps(report.log_record()) + "\n"
            with self._saving("the metrics log", self.run.metrics_path, io.DEFAULT_BUFFER_SIZE):
                self._metrics_file.write(line)
                now = time.monotonic()
                if last or report.epoch_end or now >= self._next_log_flush:
                    self._metrics_file.flush()
                    self._next_log_flush = now + LOG_FLUSH_SECONDS
            if self._tensorboard is not None:
                self._tensorboard.step(report)
        grid_step = report.epoch_end or last or (t.sample_every and self.step % t.sample_every == 0)
        if grid_step and self.dist.is_main:
            report.samples, path = self._save_grid(self.epoch if report.epoch_end else None)
            report.grid_path = str(path) if path is not None else None
        if self.evaluator is not None and (last or self.step % t.eval_every == 0):
            report.evaluation = self.evaluate()
            if self._tensorboard is not None:
                self._tensorboard.evaluation(report.evaluation, self.step)
        if self.run is not None and (last or (t.checkpoint_every and self.step % t.checkpoint_every == 0)):
            report.checkpoint_path = str(self.save_checkpoint())

    def _save_grid(self, epoch: int | None = None) -> tuple[np.ndarray, Path | None]:
        """Sample the fixed noise and write the grid of this step into the run folder (when there is one)."""
        samples = self.sample_fixed()
        self._grid_step = self.step
        if self.run is None:
            return samples, None
        path = self.run.grid_path(self.step, epoch)
        picture = self.render_samples(samples)
        with self._saving("the sample grid", path):
            save_image(picture, path)
        if self._tensorboard is not None:
            self._tensorboard.grid(picture, self.step)
        return samples, path

    def save_stopped(self) -> StopReport:
        """What a stopped run leaves behind: a sample grid of this step (unless one was made) and a checkpoint
        (under torchrun every rank calls this; rank 0 writes)."""
        report = StopReport(self.step, self.epoch + self.position / max(1, len(self._data)))
        if self.step > 0 and self._grid_step != self.step and self.dist.is_main:
            report.samples, path = self._save_grid()
            report.grid_path = str(path) if path is not None else None
        if self.run is not None:
            report.checkpoint_path = str(self.save_checkpoint())
        return report

    # -- evaluation -----------------------------------------------------------------------------------

    def _evaluator(self):
        """The run's Evaluator (extractor and metrics checked now; reference statistics at the first use)."""
        from ganstudio.core.metrics.evaluate import Evaluator

        t = self.config.train
        return Evaluator(self._data, t.eval_metrics or None, t.eval_samples, t.eval_extractor, seed=t.seed)

    def evaluate(self) -> dict:
        """Measure the sampling generator now (FID, modes ...); the record also goes to evals.jsonl."""
        if self.evaluator is None:
            self.evaluator = self._evaluator()
        record = self.evaluator.evaluate(self.sampling_generator, step=self.step)
        record["epoch"] = round(self.epoch + self.position / max(1, len(self._data)), 4)
        if self.run is not None:
            line = json.dumps(record) + "\n"
            with self._saving("the evaluation", self.run.evals_path, len(line)):
                with open(self.run.evals_path, "a", encoding="utf-8") as fh:
                    fh.write(line)
        return record

    # -- sampling and checkpoints ---------------------------------------------------------------------

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator to sample from: the EMA copy when EMA is on, else G."""
        return self._ema.model if self._ema is not None else self._G

    @torch.no_grad()
    def sample_fixed(self):
        """The fixed-noise samples (EMA generator when enabled) as a float32 numpy array."""
        G = self.sampling_generator
        was_training = G.training
        G.eval()
        c = self.fixed_c.to(self._device) if self.fixed_c is not None else None
        out = G(self.fixed_z.to(self._device), c).float().cpu().numpy()
        G.train(was_training)
        return out

    def render_samples(self, samples):
        """A PIL image of samples: a grid for images, a scatter over real points for toy data."""
        if self.config.model.toy:
            return scatter_image(samples, self.real_sample(1000))
        return image_grid(samples)

    def _states(self) -> tuple[dict, dict, dict, dict]:
        """The family's part of a checkpoint: modules, optimizers, extra tensors and extra values."""
        modules = {"G": self._G.state_dict()}
        modules.update({_d_key(i): D.state_dict() for i, D in enumerate(self._Ds)})
        if self._ema is not None:
            modules["G_ema"] = self._ema.model.state_dict()
        extra_tensors = {"fixed_z": self.fixed_z}
        if self.fixed_c is not None:
            extra_tensors["fixed_c"] = self.fixed_c
        aug = self._view.augment
        augment = {"augment": aug.state_dict()} if hasattr(aug, "state_dict") else {}
        optimizers = {"G": self._opt_G.state_dict(),
                      **{_d_key(i): opt.state_dict() for i, opt in enumerate(self._opts_D)}}
        return modules, optimizers, extra_tensors, {"ema_updates": self._ema.updates if self._ema else 0, **augment}

    def checkpoint(self) -> Checkpoint:
        """The complete state of the run, enough to continue on the same trajectory."""
        modules, optimizers, extra_tensors, extra = self._states()
        # Every rank's random state (a collective under torchrun), so that each rank resumes exactly.
        cpu_states = distributed.gather_per_rank(self.dist, torch.get_rng_state(), self._device)
        extra_tensors["rng_cpu"] = cpu_states[0]
        for rank, state in enumerate(cpu_states[1:], start=1):
            extra_tensors[f"rng_cpu_rank{rank}"] = state
        if self._device.type == "cuda":
            cuda_states = distributed.gather_per_rank(self.dist, torch.cuda.get_rng_state(self._device),
                                                      self._device)
            extra_tensors["rng_cuda"] = cuda_states[0]
            for rank, state in enumerate(cuda_states[1:], start=1):
                extra_tensors[f"rng_cuda_rank{rank}"] = state
        lr_g, lr_d = self.learning_rates
        cfg = self.config.with_updates("train", lr_g=lr_g, lr_d=lr_d)
        return Checkpoint(
            config=cfg, step=self.step, modules=modules, optimizers=optimizers, extra_tensors=extra_tensors,
            extra={"epoch": self.epoch, "position": self.position, "d_steps": self.d_steps,
                   "plan_d_steps": self._plan_d_steps, "d_updates": self.d_updates, **extra},
        )

    def save_checkpoint(self) -> Path:
        """Write a checkpoint into the run folder and keep only the newest few (under torchrun every rank
        calls this at the same step; rank 0 writes)."""
        if self.run is None:
            raise CheckpointError("this trainer has no run folder to save into")
        path = self.run.checkpoint_path(self.step)
        ckpt = self.checkpoint()
        if not self.dist.is_main:
            return path
        with self._saving("the checkpoint", path):
            save_checkpoint(path, ckpt)
        if self._metrics_file is not None:
            with self._saving("the metrics log", self.run.metrics_path, io.DEFAULT_BUFFER_SIZE):
                self._metrics_file.flush()
        if self._tensorboard is not None:
            self._tensorboard.flush()
        self.run.prune_checkpoints(self.config.train.keep_checkpoints)
        return path

    @contextlib.contextmanager
    def _saving(self, what: str, path: Path, size: int | None = None):
        """Turn a failed write (a full disk, no permission) into one sentence that stops the run and names the
        folder, the space needed and the last good checkpoint."""
        try:
            yield
        except (WriteError, OSError) as exc:
            error = exc if isinstance(exc, WriteError) else WriteError.from_os_error(exc, path, size)
            latest = self.run.latest_checkpoint() if self.run is not None else None
            kept = (f"the last good checkpoint, step {checkpoint_step(latest):,}, is intact" if latest is not None
                    else "it has no checkpoint yet")
            head = "the disk is full: " if error.disk_full else ""
            raise TrainingError(f"{head}{what} of step {self.step:,} could not be saved in {error.folder} "
                                f"({error.reason}), so the run stopped; {kept}") from None
