"""The training loop: an iterator of StepReports that checks pause/stop requests between steps.

It knows nothing of its caller: the CLI shows the reports with a progress bar, the GUI worker forwards them
as signals, tests read them directly.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

from ganstudio.core.config import RunConfig
from ganstudio.core import distributed
from ganstudio.core.checkpoints import Checkpoint, load_checkpoint, load_module_state, save_checkpoint
from ganstudio.core.data import TrainingData, load_data
from ganstudio.core.device import auto_channels_last, resolve_device
from ganstudio.core.images import image_grid, save_image, scatter_image
from ganstudio.core.losses import feature_matching, get_loss, gradient_penalty, r1_penalty
from ganstudio.core.models.registry import build_models
from ganstudio.core.runs import RunFolder
from ganstudio.core.training.control import TrainingControl
from ganstudio.core.training.ema import EMA
from ganstudio.core.training.reports import StepReport
from ganstudio.core.errors import CheckpointError, ConfigError, TrainingError

FIXED_NOISE_SEED_OFFSET = 7919  # the fixed grid noise has its own stream, so it does not shift training's


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


def _grad_norm(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


@dataclass
class _StepState:
    """What one training step has gathered so far: the report's numbers and what the G step reuses."""

    sigma: float = 0.0
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
    real_features: torch.Tensor | None = None
    extras: dict[str, float] = field(default_factory=dict)


class Trainer:
    """Owns the models, optimizers, data cursor and run folder of one training run."""

    def __init__(self, config: RunConfig, run_dir: str | Path | None = None, *,
                 control: TrainingControl | None = None, data: TrainingData | None = None,
                 checkpoint: Checkpoint | None = None):
        config.validate()
        self.control = control or TrainingControl()
        self.dist, device_request = distributed.init(config.train.device)
        self.device = resolve_device(device_request)
        t = config.train
        if t.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("fp16 mixed precision needs a CUDA GPU; use bf16 or fp32 here")
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = t.tf32
            torch.backends.cudnn.allow_tf32 = t.tf32
        torch.manual_seed(t.seed)
        self.data = data or load_data(config.data, self.device, seed=t.seed)
        self.config = resolve_config(config, self.data) if checkpoint is None else checkpoint.config
        if self.config.train.channels_last is None:  # "auto": the faster layout here, recorded in the run
            m = self.config.model
            self.config = self.config.with_updates("train", channels_last=auto_channels_last(
                m.arch, m.toy, self.device, self.config.train.precision))
        t = self.config.train
        self.loss = get_loss(self.config.loss.name)
        self.G, self.D = build_models(self.config.model, self.config.loss)
        if self.dist.enabled and t.sync_batchnorm:
            if self.device.type != "cuda":
                raise ConfigError("synchronized batch norm works only on CUDA GPUs; turn it off for CPU runs")
            self.G = nn.SyncBatchNorm.convert_sync_batchnorm(self.G)
            self.D = nn.SyncBatchNorm.convert_sync_batchnorm(self.D)
        self.G.to(self.device)
        self.D.to(self.device)
        if t.channels_last and not self.config.model.toy:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        # The modules the step runs: DDP wrappers under torchrun (gradients averaged), else the models.
        self.G_train, self.D_train = self.G, self.D
        if self.dist.enabled:
            self.G_train, self.D_train = distributed.wrap(self.G, self.device), distributed.wrap(self.D, self.device)
        self._amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(t.precision)
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=t.precision == "fp16")
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=t.precision == "fp16")
        self.opt_G = self._optimizer(self.G, t.lr_g, t.betas_g)
        self.opt_D = self._optimizer(self.D, t.lr_d, t.betas_d)
        self.ema = EMA(self.G, t.ema_decay) if t.ema else None
        self._g_params = list(self.G.parameters())
        self._d_params = list(self.D.parameters())
        self.d_steps = t.d_steps
        self.step = 0
        self.d_updates = 0  # discriminator steps so far: lazy R1 runs on every r1_interval-th
        self.epoch = 0
        self.position = 0
        self._order = None
        gen = torch.Generator().manual_seed(t.seed + FIXED_NOISE_SEED_OFFSET)
        n = t.grid_size
        self.fixed_z = torch.randn(n, self.config.model.z_dim, generator=gen)
        self.fixed_c = (torch.arange(n) % self.config.model.num_classes
                        if self.config.model.conditional else None)
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
        # Under torchrun only rank 0 evaluates (and writes evals.jsonl); the others wait at the next all-reduce.
        self.evaluator = self._evaluator() if t.eval_every and self.dist.is_main else None

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
        per_epoch = max(1, len(self.data) // (t.batch_size * self.dist.world_size))
        return max(1, math.ceil(t.epochs * per_epoch / t.d_steps))

    def _restore(self, ckpt: Checkpoint) -> None:
        name = f"step {ckpt.step}"
        if "G" not in ckpt.modules or "D" not in ckpt.modules:
            raise CheckpointError(f"the checkpoint at {name} holds only a generator (an exported model); "
                                  "training can resume only from a run's own checkpoints")
        load_module_state(self.G, ckpt.modules["G"], "generator", name)
        load_module_state(self.D, ckpt.modules["D"], "discriminator", name)
        if self.ema is not None and "G_ema" in ckpt.modules:
            load_module_state(self.ema.model, ckpt.modules["G_ema"], "EMA generator", name)
            self.ema.updates = int(ckpt.extra.get("ema_updates", 0))
        try:
            self.opt_G.load_state_dict(ckpt.optimizers["G"])
            self.opt_D.load_state_dict(ckpt.optimizers["D"])
        except (KeyError, ValueError) as exc:
            raise CheckpointError(f"the optimizer state at {name} does not fit the model ({exc})") from None
        self.step = ckpt.step
        self.epoch = int(ckpt.extra.get("epoch", 0))
        self.position = int(ckpt.extra.get("position", 0))
        self.d_steps = int(ckpt.extra.get("d_steps", self.d_steps))
        self.d_updates = int(ckpt.extra.get("d_updates", self.step * self.d_steps))
        self.fixed_z = ckpt.extra_tensors["fixed_z"]
        self.fixed_c = ckpt.extra_tensors.get("fixed_c")
        rank = self.dist.rank
        cpu_state = ckpt.extra_tensors.get(f"rng_cpu_rank{rank}", ckpt.extra_tensors["rng_cpu"] if rank == 0 else None)
        if cpu_state is not None:
            torch.set_rng_state(cpu_state)
        else:  # more processes than when it was saved: a fresh stream for this rank
            torch.manual_seed(self.config.train.seed + rank + 7 * ckpt.step)
        cuda_state = ckpt.extra_tensors.get(f"rng_cuda_rank{rank}", ckpt.extra_tensors.get("rng_cuda"))
        if self.device.type == "cuda" and cuda_state is not None:
            torch.cuda.set_rng_state(cuda_state, self.device)

    # -- data -----------------------------------------------------------------------------------------

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        """The next real batch; the flag is true when this batch finished an epoch."""
        b = self.config.train.batch_size
        span = b * self.dist.world_size  # one global batch: every rank takes its own slice
        if self._order is None:
            self._order = self.data.epoch_order(self.epoch, self.config.train.seed)
        start = self.position + self.dist.rank * b
        idx = self._order[start:start + b]
        self.position += span
        epoch_end = self.position + span > len(self._order)
        if epoch_end:
            self.epoch += 1
            self.position = 0
            self._order = None
        x, c = self.data.get(idx)
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
        self.G.train()
        self.D.train()
        try:
            while self.step < self.total_steps:
                kind = self.control.wait_turn()
                if distributed.any_rank(self.dist, kind is None, self.device):
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
                self._metrics_file.close()
                self._metrics_file = None

    def _apply_changes(self) -> None:
        changes = self.control.take_changes()
        if changes is None:
            return
        if changes.lr_g is not None:
            for group in self.opt_G.param_groups:
                group["lr"] = changes.lr_g
        if changes.lr_d is not None:
            for group in self.opt_D.param_groups:
                group["lr"] = changes.lr_d
        if changes.d_steps is not None:
            self.d_steps = max(1, int(changes.d_steps))

    def _report_progress(self) -> None:
        """Tell models that change over the run (progressive growing) which step this is."""
        for module in (self.G, self.D):
            if hasattr(module, "set_training_progress"):
                module.set_training_progress(self.step, self.total_steps)

    def _noise_std(self) -> float:
        sigma = self.config.loss.instance_noise
        return sigma * max(0.0, 1.0 - self.step / self.total_steps) if sigma else 0.0

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
        return torch.autocast(self.device.type, dtype=self._amp_dtype)

    def _agreed_loss(self, loss: torch.Tensor, what: str) -> float:
        """The loss as a float, averaged over ranks under torchrun; a non-finite one stops the run."""
        (value,) = distributed.agree(self.dist, [loss.item()], self.device)
        self._check_finite(value, what)
        return value

    def _train_step(self, kind: str) -> StepReport:
        """One step: d_steps discriminator updates then one generator update (or one of them alone)."""
        b = self.config.train.batch_size
        s = _StepState(sigma=self._noise_std())
        if kind in ("both", "d"):
            for _ in range(self.d_steps):
                self._d_step(s, keep_fake=kind == "both" and self.d_steps == 1)
        if kind in ("both", "g"):
            self._g_step(s)
        self.step += 1
        return StepReport(
            step=self.step, total_steps=self.total_steps,
            epoch=self.epoch + self.position / max(1, len(self.data)),
            loss_d=s.loss_d, loss_g=s.loss_g, d_real=s.d_real, d_fake=s.d_fake,
            grad_norm_d=s.gn_d, grad_norm_g=s.gn_g, images_per_sec=float(s.images or b),
            lr_g=self.opt_G.param_groups[0]["lr"], lr_d=self.opt_D.param_groups[0]["lr"],
            extras=s.extras, epoch_end=s.epoch_end,
        )

    def _d_step(self, s: "_StepState", keep_fake: bool) -> None:
        cfg, lo = self.config, self.config.loss
        G, D, loss = self.G_train, self.D_train, self.loss
        real, s.labels, ended = self._next_batch()
        s.epoch_end |= ended
        s.images += real.shape[0]
        z = torch.randn(cfg.train.batch_size, cfg.model.z_dim, device=self.device)
        # With one D step, G's forward is shared with the G step, as in the DCGAN reference loop.
        with torch.set_grad_enabled(keep_fake), self._amp():
            fake = G(z, s.labels)
        fake_in = fake.detach()
        if s.sigma:
            real = real + s.sigma * torch.randn_like(real)
            fake_in = fake_in + s.sigma * torch.randn_like(fake_in)
        self.d_updates += 1
        # Lazy R1 (Karras 2020): every r1_interval-th D step, weighted by the interval.
        r1_now = lo.r1_weight > 0 and self.d_updates % lo.r1_interval == 0
        if r1_now:
            real.requires_grad_(True)
        with self._amp():
            real_out, s.real_features = D(real, s.labels, return_features=True)
            fake_out = D(fake_in, s.labels)
            loss_d = loss.d_loss(real_out.float(), fake_out.float(), 1.0 - lo.label_smoothing)
        if lo.name == "wgan-gp":  # penalties in fp32: their inner gradients need the precision
            gp = gradient_penalty(D, real.float(), fake_in.float(), s.labels)
            loss_d = loss_d + lo.gp_weight * gp
            s.extras["gp"] = gp.item()
        if r1_now:
            r1 = r1_penalty(real_out.float(), real)
            loss_d = loss_d + lo.r1_weight * lo.r1_interval * r1
            s.extras["r1"] = r1.item()
        s.loss_d = self._agreed_loss(loss_d, "discriminator")
        self.opt_D.zero_grad(set_to_none=True)
        self.scaler_d.scale(loss_d).backward()
        self.scaler_d.unscale_(self.opt_D)
        s.gn_d = _grad_norm(self._d_params).item()
        self.scaler_d.step(self.opt_D)
        self.scaler_d.update()
        if lo.name == "wgan":
            with torch.no_grad():
                torch._foreach_clamp_min_(self._d_params, -lo.clip_value)
                torch._foreach_clamp_max_(self._d_params, lo.clip_value)
        with torch.no_grad():
            s.d_real = loss.d_output(real_out.detach().float()).mean().item()
            s.d_fake = loss.d_output(fake_out.detach().float()).mean().item()
        s.fake = fake if keep_fake else None

    def _g_step(self, s: "_StepState") -> None:
        cfg, lo = self.config, self.config.loss
        G, D, loss = self.G_train, self.D_train, self.loss
        b = cfg.train.batch_size
        labels = s.labels
        with self._amp():
            fake = s.fake
            if fake is None:
                if labels is None and cfg.model.conditional:
                    labels = torch.randint(cfg.model.num_classes, (b,), device=self.device)
                fake = G(torch.randn(b, cfg.model.z_dim, device=self.device), labels)
            fake_in = fake + s.sigma * torch.randn_like(fake) if s.sigma else fake
            if lo.feature_matching:
                real_features = s.real_features
                if real_features is None:
                    real, real_labels, ended = self._next_batch()
                    s.epoch_end |= ended
                    with torch.no_grad():
                        _, real_features = D(real, real_labels, return_features=True)
                fake_out, fake_features = D(fake_in, labels, return_features=True)
                loss_g = feature_matching(real_features.float(), fake_features.float())
            else:
                fake_out = D(fake_in, labels)
                loss_g = loss.g_loss(fake_out.float())
        s.loss_g = self._agreed_loss(loss_g, "generator")
        self.opt_G.zero_grad(set_to_none=True)
        self.scaler_g.scale(loss_g).backward()
        self.scaler_g.unscale_(self.opt_G)
        s.gn_g = _grad_norm(self._g_params).item()
        self.scaler_g.step(self.opt_G)
        self.scaler_g.update()
        if self.ema is not None:
            self.ema.update()
        if s.d_fake is None:
            s.d_fake = loss.d_output(fake_out.detach().float()).mean().item()

    def _after_step(self, report: StepReport) -> None:
        t = self.config.train
        last = self.step >= self.total_steps
        if self._metrics_file is not None and (self.step % t.log_every == 0 or last):
            self._metrics_file.write(json.dumps(report.log_record()) + "\n")
            if last or report.epoch_end:
                self._metrics_file.flush()
        grid_step = report.epoch_end or last or (t.sample_every and self.step % t.sample_every == 0)
        if grid_step and self.dist.is_main:
            report.samples = self.sample_fixed()
            if self.run is not None:
                tag = f"epoch-{self.epoch:04d}" if report.epoch_end else f"step-{self.step:07d}"
                path = self.run.samples_dir / f"{tag}.png"
                save_image(self.render_samples(report.samples), path)
                report.grid_path = str(path)
        if self.evaluator is not None and (last or self.step % t.eval_every == 0):
            report.evaluation = self.evaluate()
        if self.run is not None and (last or (t.checkpoint_every and self.step % t.checkpoint_every == 0)):
            report.checkpoint_path = str(self.save_checkpoint())

    # -- evaluation -----------------------------------------------------------------------------------

    def _evaluator(self):
        """The run's Evaluator (extractor and metrics checked now; reference statistics at the first use)."""
        from ganstudio.core.metrics.evaluate import Evaluator

        t = self.config.train
        return Evaluator(self.data, t.eval_metrics or None, t.eval_samples, t.eval_extractor, seed=t.seed)

    def evaluate(self) -> dict:
        """Measure the sampling generator now (FID, modes ...); the record also goes to evals.jsonl."""
        if self.evaluator is None:
            self.evaluator = self._evaluator()
        record = self.evaluator.evaluate(self.sampling_generator, step=self.step)
        record["epoch"] = round(self.epoch + self.position / max(1, len(self.data)), 4)
        if self.run is not None:
            with open(self.run.evals_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        return record

    # -- sampling and checkpoints ---------------------------------------------------------------------

    @property
    def sampling_generator(self) -> nn.Module:
        return self.ema.model if self.ema is not None else self.G

    @torch.no_grad()
    def sample_fixed(self):
        """The fixed-noise samples (EMA generator when enabled) as a float32 numpy array."""
        G = self.sampling_generator
        was_training = G.training
        G.eval()
        c = self.fixed_c.to(self.device) if self.fixed_c is not None else None
        out = G(self.fixed_z.to(self.device), c).float().cpu().numpy()
        G.train(was_training)
        return out

    def render_samples(self, samples):
        """A PIL image of samples: a grid for images, a scatter over real points for toy data."""
        if self.config.model.toy:
            real = self.data.get(torch.arange(min(len(self.data), 1000)))[0].cpu().numpy()
            return scatter_image(samples, real)
        return image_grid(samples)

    def checkpoint(self) -> Checkpoint:
        """The complete state of the run, enough to continue on the same trajectory."""
        modules = {"G": self.G.state_dict(), "D": self.D.state_dict()}
        if self.ema is not None:
            modules["G_ema"] = self.ema.model.state_dict()
        extra_tensors = {"fixed_z": self.fixed_z}
        if self.fixed_c is not None:
            extra_tensors["fixed_c"] = self.fixed_c
        # Every rank's random state (a collective under torchrun), so that each rank resumes exactly.
        cpu_states = distributed.gather_rng_states(self.dist, torch.get_rng_state(), self.device)
        extra_tensors["rng_cpu"] = cpu_states[0]
        for rank, state in enumerate(cpu_states[1:], start=1):
            extra_tensors[f"rng_cpu_rank{rank}"] = state
        if self.device.type == "cuda":
            cuda_states = distributed.gather_rng_states(self.dist, torch.cuda.get_rng_state(self.device), self.device)
            extra_tensors["rng_cuda"] = cuda_states[0]
            for rank, state in enumerate(cuda_states[1:], start=1):
                extra_tensors[f"rng_cuda_rank{rank}"] = state
        cfg = self.config.with_updates("train", lr_g=self.opt_G.param_groups[0]["lr"],
                                       lr_d=self.opt_D.param_groups[0]["lr"])
        return Checkpoint(
            config=cfg, step=self.step, modules=modules,
            optimizers={"G": self.opt_G.state_dict(), "D": self.opt_D.state_dict()},
            extra_tensors=extra_tensors,
            extra={"epoch": self.epoch, "position": self.position, "d_steps": self.d_steps,
                   "d_updates": self.d_updates,
                   "ema_updates": self.ema.updates if self.ema else 0},
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
        save_checkpoint(path, ckpt)
        if self._metrics_file is not None:
            self._metrics_file.flush()
        self.run.prune_checkpoints(self.config.train.keep_checkpoints)
        return path
