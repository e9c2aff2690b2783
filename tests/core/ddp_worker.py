"""Run by tests/core/test_distributed.py under torchrun: trains a few steps with DDP on the CPU and checks, after
every step, that all ranks hold bit-identical weights (G, D and the EMA generator). Mode "cyclegan-resume" checks
instead that a CycleGAN run stopped and resumed under torchrun ends where the same run trained at once ends."""
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ganstudio.core import distributed  # noqa: E402
from ganstudio.core.training.loop import Trainer  # noqa: E402
from tests.conftest import tiny_config, tiny_images  # noqa: E402


def flat(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()])


def main(run_dir: str, steps: int, mode: str = "") -> None:
    cfg = tiny_config("dcgan", "wgan-gp", steps=steps, spectral_norm=True, d_dropout=0.1)
    cfg = cfg.with_updates("loss", r1_weight=0.5).with_updates("train", ema=True, checkpoint_every=steps)
    if mode == "small-data":  # ADA at a fast pace, two discriminators and an unrolled D (issue 18)
        cfg = (tiny_config("dcgan", "bce", steps=steps, num_d=2)
               .with_updates("loss", augment="ada", ada_interval=1, ada_speed_images=400)
               .with_updates("train", ema=True, checkpoint_every=steps, unroll=1, lr_d=2e-3))
    data = tiny_images(n=64)
    if mode.startswith("cyclegan"):  # two generators and two discriminators, each wrapped by DDP (issue 20)
        from dataclasses import replace

        from ganstudio.core.data.domains import DomainPair

        cfg = (tiny_config("cyclegan", "lsgan", steps=steps)
               .with_updates("data", source_b="folder:unused-b", resolution=32)
               .with_updates("model", residual_blocks=1, capacity=4)
               .with_updates("train", ema=False, checkpoint_every=steps, batch_size=2, grid_size=2))
        a, b = tiny_images(n=16, resolution=32), tiny_images(n=12, resolution=32, seed=1)
        data = DomainPair(a, b, replace(a.info, size=28, domain_sizes=(16, 12)))
    if mode == "cyclegan-resume":
        return resume_check(cfg, data, Path(run_dir), steps)
    trainer = Trainer(cfg, run_dir, data=data)
    assert trainer.dist.world_size == 2, "run me with torchrun --nproc_per_node=2"
    mismatches, seen, ps = [], [], []
    for report in trainer:
        values = [("G", flat(trainer.generator))]
        values += [("G_ema", flat(trainer.ema_generator))] if trainer.ema_generator is not None else []
        values += [("F", flat(trainer.translator_b2a))] if mode == "cyclegan" else []
        values += [(f"D{i}", flat(D)) for i, D in enumerate(trainer.discriminators)]
        if trainer.augment_p is not None:
            values.append(("p", torch.tensor([trainer.augment_p], dtype=torch.float64)))
            ps.append(trainer.augment_p)
        for name, mine in values:
            gathered = [torch.empty_like(mine) for _ in range(2)]
            dist.all_gather(gathered, mine)
            if not torch.equal(gathered[0], gathered[1]):
                mismatches.append((report.step, name))
        seen.append(report.step)
    if trainer.dist.is_main:
        Path(run_dir, "ddp-check.json").write_text(json.dumps({
            "steps": seen, "mismatches": mismatches, "world_size": trainer.dist.world_size,
            "position": trainer.position, "p": ps,
        }))
    distributed.shutdown(trainer.dist)


def cycle_state(trainer) -> dict[str, torch.Tensor]:
    """A CycleGAN trainer's four networks and this rank's two fake pools."""
    nets = {"G": trainer.translator_a2b, "F": trainer.translator_b2a, "D_A": trainer.discriminators[0],
            "D_B": trainer.discriminators[1]}
    state = {name: flat(net) for name, net in nets.items()}
    state.update(pool_a=trainer._pool_a.state(), pool_b=trainer._pool_b.state())
    return state


def resume_check(cfg, data, run_dir: Path, steps: int) -> None:
    """Train `steps` at once, and the same run stopped at half, resumed from its checkpoint: compare the ends."""
    cfg = cfg.with_updates("loss", pool_size=3).with_updates("train", checkpoint_every=steps // 2)  # swaps early
    whole = Trainer(cfg, run_dir / "whole", data=data)
    losses = [(r.loss_g, r.loss_d) for r in whole]
    half = Trainer(cfg, run_dir / "half", data=data)
    pools_saved = None
    for report in half:
        if report.step == steps // 2:
            pools_saved = (half._pool_a.state(), half._pool_b.state())
            break
    dist.barrier()  # rank 0 has written the checkpoint (a new torchrun job would start after it)
    resumed = Trainer.resume(run_dir / "half", data=data)
    restored = torch.equal(resumed._pool_a.state(), pools_saved[0]) and torch.equal(
        resumed._pool_b.state(), pools_saved[1])
    tail = [(r.loss_g, r.loss_d) for r in resumed]
    ends = cycle_state(whole), cycle_state(resumed)
    mismatches = [name for name in ends[0] if not torch.equal(ends[0][name], ends[1][name])]
    pools = [torch.empty_like(ends[1]["pool_a"]) for _ in range(2)]
    dist.all_gather(pools, ends[1]["pool_a"])
    found = [None, None]
    dist.all_gather_object(found, {"mismatches": mismatches, "restored": restored})
    if whole.dist.is_main:
        Path(run_dir, "ddp-check.json").write_text(json.dumps({
            "losses_equal": tail == losses[steps // 2:], "ranks": found, "step": resumed.step,
            "pools_differ": not torch.equal(pools[0], pools[1]), "pool_size": len(pools[0]),
        }))
    distributed.shutdown(whole.dist)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:])
