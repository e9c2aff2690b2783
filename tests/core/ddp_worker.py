"""Run by tests/core/test_distributed.py under torchrun: trains a few steps with DDP on the CPU and checks, after
every step, that all ranks hold bit-identical weights (G, D and the EMA generator)."""
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
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
    trainer = Trainer(cfg, run_dir, data=tiny_images(n=64))
    assert trainer.dist.world_size == 2, "run me with torchrun --nproc_per_node=2"
    mismatches, seen, ps = [], [], []
    for report in trainer:
        values = [("G", flat(trainer.generator)), ("G_ema", flat(trainer.ema_generator))]
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
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:])
