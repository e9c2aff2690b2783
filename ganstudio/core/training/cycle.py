"""CycleGAN's training step (Zhu et al. 2017): two generators, G: A -> B and F: B -> A, two PatchGAN
discriminators, D_B (real B or G(a)?) and D_A (real A or F(b)?), trained with the least-squares loss, the cycle
consistency loss ||F(G(a)) - a||_1 + ||G(F(b)) - b||_1 weighted by lambda, and the identity loss
||G(b) - b||_1 + ||F(a) - a||_1 weighted by `identity_weight` * lambda. D learns from a pool of earlier fakes
(under torchrun each rank pools the fakes of its own slice of the batch; a checkpoint keeps every rank's pool).

`CycleTrainer` is the Trainer of the "cyclegan" architecture (Trainer(config) builds it): it overrides only the
family's parts (models, step, checkpoint states, grid), so the data cursor, run folder, metrics.jsonl, grids,
checkpoints, exact resume, live settings, the training process and torchrun are the loop's.

What it adds to the public face: `translator_a2b` (G) and `translator_b2a` (F), `fixed_a` and `fixed_b` (the grid's
real images); `learning_rates` are the base rates (the step's rates fall linearly over the last
`lr_decay_share` of the run; StepReport.lr_g / lr_d are the step's own). A step's extras (metrics.jsonl) are
CYCLE_METRICS. Its grid (`sample_fixed`) has six rows of `grid_size` images: real A, G(A), F(G(A)), real B,
F(B), G(F(B)).
"""
from __future__ import annotations

import torch
import torch.nn.functional as nnf
from torch import Tensor, nn

from ganstudio.core import distributed
from ganstudio.core.checkpoints import Checkpoint, load_module_state
from ganstudio.core.errors import CheckpointError
from ganstudio.core.images import image_grid
from ganstudio.core.losses import d_least_squares
from ganstudio.core.models.registry import build_models
from ganstudio.core.training.discriminator_view import DiscriminatorView
from ganstudio.core.training.loop import FIXED_NOISE_SEED_OFFSET, Trainer, _grad_norm
# CYCLE_METRICS lives with the reports (the trainer process sends them without importing torch); named here too
from ganstudio.core.training.reports import CYCLE_METRICS, StepReport  # noqa: F401
GRID_ROWS = ("real A", "G(A)", "F(G(A))", "real B", "F(B)", "G(F(B))")


def lr_factor(step: int, total_steps: int, decay_share: float) -> float:
    """The learning-rate multiplier at `step` (0-based): 1, then linearly towards 0 over the last share."""
    decay_steps = round(total_steps * decay_share)
    start = total_steps - decay_steps
    if decay_steps <= 0 or step < start:
        return 1.0
    return 1.0 - (step - start) / (decay_steps + 1)


def cycle_consistency(real: Tensor, reconstructed: Tensor) -> Tensor:
    """||F(G(x)) - x||_1 averaged over pixels (Zhu 2017, eq. 2)."""
    return nnf.l1_loss(reconstructed.float(), real.float())


def g_least_squares_full(fake_out: Tensor) -> Tensor:
    """(D(G(x)) - 1)^2: the generator's LSGAN term as CycleGAN weighs it against lambda (no factor 1/2)."""
    return ((fake_out.float() - 1.0) ** 2).mean()


class FakePool:
    """The last `size` fakes shown to D (Shrivastava 2017): each new fake is returned as is, or, with
    probability 1/2 once the pool is full, swapped for a stored one (drawn from torch's RNG: resumes exactly)."""

    def __init__(self, size: int):
        self.size = size
        self.images: Tensor | None = None  # [count, C, H, W]

    def query(self, batch: Tensor) -> Tensor:
        """The batch D learns from this step."""
        if self.size == 0:
            return batch
        batch = batch.detach()
        if self.images is None or len(self.images) < self.size:
            room = self.size - (0 if self.images is None else len(self.images))
            kept = batch[:room]
            self.images = kept.clone() if self.images is None else torch.cat([self.images, kept])
            rest = batch[room:]
            return batch if not len(rest) else torch.cat([kept, self._swap(rest)])
        return self._swap(batch)

    def _swap(self, batch: Tensor) -> Tensor:
        out = batch.clone()
        coins = torch.rand(len(batch))
        slots = torch.randint(self.size, (len(batch),))
        for i in range(len(batch)):
            if coins[i] < 0.5:
                j = int(slots[i])
                out[i] = self.images[j]
                self.images[j] = batch[i]
        return out

    def state(self) -> Tensor:
        """The stored fakes (an empty tensor before the first step)."""
        return self.images.cpu() if self.images is not None else torch.zeros(0)

    def load(self, images: Tensor, device: torch.device) -> None:
        """Restore what state() returned."""
        self.images = images.to(device) if images.numel() else None


class CycleTrainer(Trainer):
    """The Trainer of unpaired translation (CycleGAN); see the module's docstring."""

    live_d_steps = False  # one D update per step: the recipe's

    def _build(self) -> None:
        m, lo, t = self.config.model, self.config.loss, self.config.train
        self._G, self._D_B = build_models(m, lo)  # A -> B, and its judge on domain B
        self._F, self._D_A = build_models(m, lo)  # B -> A, and its judge on domain A
        modules = (self._G, self._F, self._D_A, self._D_B)
        for module in modules:
            module.to(self._device)
            if t.channels_last:
                module.to(memory_format=torch.channels_last)
        self._G_train, self._F_train, self._D_A_train, self._D_B_train = (
            [distributed.wrap(x, self._device) for x in modules] if self.dist.enabled else modules)
        self._amp_dtype = {"bf16": torch.bfloat16}.get(t.precision)
        self._D, self._Ds = self._D_B, [self._D_A, self._D_B]
        self._view = DiscriminatorView(self._Ds, self._amp)  # for the Trainer's face: no augmentation here
        self._g_view = self._view
        self._opt_G = torch.optim.Adam([*self._G.parameters(), *self._F.parameters()], lr=t.lr_g, betas=t.betas_g)
        self._opt_D = torch.optim.Adam([*self._D_A.parameters(), *self._D_B.parameters()], lr=t.lr_d,
                                       betas=t.betas_d)
        self._opts_D = [self._opt_D]
        self._ema = None  # CycleGAN translates with the trained generators themselves
        self._g_params = [*self._G.parameters(), *self._F.parameters()]
        self._d_params = [*self._D_A.parameters(), *self._D_B.parameters()]
        self._pool_a, self._pool_b = FakePool(lo.pool_size), FakePool(lo.pool_size)
        gen = torch.Generator().manual_seed(t.seed + FIXED_NOISE_SEED_OFFSET)
        n = t.grid_size
        data = self._data
        self.fixed_a = data.a.get(torch.randperm(len(data.a), generator=gen)[:n])[0].cpu()
        self.fixed_b = data.b.get(torch.randperm(len(data.b), generator=gen)[:n])[0].cpu()
        self.fixed_z, self.fixed_c = torch.zeros(0), None

    def _modules(self) -> list[nn.Module]:
        return [self._G, self._F, self._D_A, self._D_B]

    @property
    def translator_a2b(self) -> nn.Module:
        """G: domain A to domain B."""
        return self._G

    @property
    def translator_b2a(self) -> nn.Module:
        """F: domain B to domain A."""
        return self._F

    @property
    def learning_rates(self) -> tuple[float, float]:
        """The base learning rates of the generators and discriminators (before the linear decay)."""
        return self.config.train.lr_g, self.config.train.lr_d

    # -- checkpoints ----------------------------------------------------------------------------------

    def _states(self) -> tuple[dict, dict, dict, dict]:
        modules = {"G": self._G.state_dict(), "F": self._F.state_dict(), "D_A": self._D_A.state_dict(),
                   "D_B": self._D_B.state_dict()}
        optimizers = {"G": self._opt_G.state_dict(), "D": self._opt_D.state_dict()}
        tensors = {"fixed_a": self.fixed_a, "fixed_b": self.fixed_b}
        for key, pool in (("pool_a", self._pool_a), ("pool_b", self._pool_b)):
            # Under torchrun each rank pools its own fakes (a collective: every rank saves at the same step).
            pools = distributed.gather_per_rank(self.dist, pool.state(), self._device)
            tensors[key] = pools[0]
            tensors.update({f"{key}_rank{rank}": images for rank, images in enumerate(pools[1:], start=1)})
        return modules, optimizers, tensors, {}

    def _restore_states(self, ckpt: Checkpoint, name: str) -> None:
        missing = [k for k in ("G", "F", "D_A", "D_B") if k not in ckpt.modules]
        if missing:
            raise CheckpointError(f"the checkpoint at {name} has no {missing[0]} network; training can resume "
                                  "only from a CycleGAN run's own checkpoints")
        for key, module in (("G", self._G), ("F", self._F), ("D_A", self._D_A), ("D_B", self._D_B)):
            load_module_state(module, ckpt.modules[key], f"{key} network", name)
        try:
            self._opt_G.load_state_dict(ckpt.optimizers["G"])
            self._opt_D.load_state_dict(ckpt.optimizers["D"])
        except (KeyError, ValueError) as exc:
            raise CheckpointError(f"the optimizer state at {name} does not fit the model ({exc})") from None
        self.fixed_a, self.fixed_b = ckpt.extra_tensors["fixed_a"], ckpt.extra_tensors["fixed_b"]
        for key, pool in (("pool_a", self._pool_a), ("pool_b", self._pool_b)):
            # this rank's own pool; rank 0's for a rank the saving job did not have
            images = ckpt.extra_tensors.get(f"{key}_rank{self.dist.rank}", ckpt.extra_tensors.get(key))
            pool.load(torch.zeros(0) if images is None else images, self._device)

    # -- the step -------------------------------------------------------------------------------------

    def _next_pair(self) -> tuple[Tensor, Tensor, bool]:
        """The next batches of A and B (a DomainPair fills the loop's image and label slots with them)."""
        a, b, ended = self._next_batch()
        if self.config.train.channels_last:
            b = b.contiguous(memory_format=torch.channels_last)
        return a, b, ended

    def _set_rates(self) -> tuple[float, float]:
        """This step's learning rates: the base rates times the linear decay's factor."""
        t = self.config.train
        factor = lr_factor(self.step, self.total_steps, t.lr_decay_share)
        for opt, base in ((self._opt_G, t.lr_g), (self._opt_D, t.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * factor
        return t.lr_g * factor, t.lr_d * factor

    def _train_step(self, kind: str) -> StepReport:
        """G and F's update on one batch of each domain, then D_A's and D_B's on pooled fakes (or one alone)."""
        lo = self.config.loss
        a, b, epoch_end = self._next_pair()
        lr_g, lr_d = self._set_rates()
        train_g = kind in ("both", "g")
        extras: dict[str, float] = {}
        loss_g = loss_d = gn_g = gn_d = d_real = d_fake = None
        with torch.set_grad_enabled(train_g), self._amp():
            fake_b = self._G_train(a)
            fake_a = self._F_train(b)
        if train_g:
            with self._amp():
                adv_g = g_least_squares_full(self._D_B_train(fake_b))
                adv_f = g_least_squares_full(self._D_A_train(fake_a))
                cycle = cycle_consistency(a, self._F_train(fake_b)) + cycle_consistency(b, self._G_train(fake_a))
                total = adv_g + adv_f + lo.cycle_weight * cycle
                identity = None
                if lo.identity_weight > 0:
                    identity = cycle_consistency(b, self._G_train(b)) + cycle_consistency(a, self._F_train(a))
                    total = total + lo.cycle_weight * lo.identity_weight * identity
            terms = {"adv_g": adv_g, "adv_f": adv_f, "cycle": cycle}
            if identity is not None:
                terms["identity"] = identity
            loss_g = self._agreed_loss(total, "generator")
            extras.update(zip(terms, distributed.agree(self.dist, [v.item() for v in terms.values()],
                                                       self._device)))
            self._opt_G.zero_grad(set_to_none=True)
            total.backward()
            gn_g = _grad_norm(self._g_params).item()
            self._opt_G.step()
        if kind in ("both", "d"):
            with self._amp():
                real_a_out, real_b_out = self._D_A_train(a), self._D_B_train(b)
                fake_a_out = self._D_A_train(self._pool_a.query(fake_a))
                fake_b_out = self._D_B_train(self._pool_b.query(fake_b))
                d_a = d_least_squares(real_a_out.float(), fake_a_out.float())
                d_b = d_least_squares(real_b_out.float(), fake_b_out.float())
                total_d = d_a + d_b
            loss_d = self._agreed_loss(total_d, "discriminator")
            extras.update(zip(("loss_d_a", "loss_d_b"), distributed.agree(self.dist, [d_a.item(), d_b.item()],
                                                                          self._device)))
            self._opt_D.zero_grad(set_to_none=True)
            total_d.backward()
            gn_d = _grad_norm(self._d_params).item()
            self._opt_D.step()
            with torch.no_grad():
                d_real = ((real_a_out.float().mean() + real_b_out.float().mean()) / 2).item()
                d_fake = ((fake_a_out.float().mean() + fake_b_out.float().mean()) / 2).item()
        self.step += 1
        return StepReport(
            step=self.step, total_steps=self.total_steps,
            epoch=self.epoch + self.position / max(1, len(self._data)),
            loss_d=loss_d, loss_g=loss_g, d_real=d_real, d_fake=d_fake, grad_norm_d=gn_d, grad_norm_g=gn_g,
            images_per_sec=float(a.shape[0] + b.shape[0]), lr_g=lr_g, lr_d=lr_d, extras=extras, epoch_end=epoch_end,
        )

    # -- the grid -------------------------------------------------------------------------------------

    @torch.no_grad()
    def sample_fixed(self):
        """Six rows of the fixed real images (see GRID_ROWS) as float32 numpy [6 * grid_size, C, H, W]."""
        for G in (self._G, self._F):
            G.eval()
        a, b = self.fixed_a.to(self._device), self.fixed_b.to(self._device)
        with self._amp():
            fake_b, fake_a = self._G(a), self._F(b)
            rows = [a, fake_b, self._F(fake_b), b, fake_a, self._G(fake_a)]
        for G in (self._G, self._F):
            G.train()
        return torch.cat([r.float() for r in rows]).cpu().numpy()

    def render_samples(self, samples):
        """The grid picture: one row per GRID_ROWS entry."""
        return image_grid(samples, nrow=len(self.fixed_a))
