"""Does channels_last make CPU training faster? The Trainer's images/s with channels_last on against off, for the
models people train on a CPU, in one process, rounds interleaved (on, off, on, off...) so that a change in the
machine's load hits both sides alike. The ratio on/off per round is printed with its median.

    python benchmarks/channels_last_cpu.py                 # DCGAN 28 (MNIST), DCGAN 64, StyleGAN 64 (faces preset)
    python benchmarks/channels_last_cpu.py --rounds 7 --threads 2

This is the measurement behind the default (channels_last unset: ganstudio.core.device.auto_channels_last).
On a 2-core x86-64 CPU (torch 2.15) channels_last was never slower: on/off 1.00 / 1.13 / 1.31 with 2 threads and
1.11 / 1.17 / 1.44 with 1 thread, for DCGAN-28 / DCGAN-64 / StyleGAN-64.
"""
from __future__ import annotations

import argparse
import statistics

import torch
from gpu_throughput import synthetic_data, trainer_images_per_sec

from ganstudio.core.config import RunConfig

CASES = {  # name -> (arch, resolution, channels, capacity, batch, extra model options)
    "dcgan-28": ("dcgan", 28, 1, 64, 128, {}),
    "dcgan-64": ("dcgan", 64, 3, 64, 64, {}),
    "stylegan-64": ("stylegan", 64, 3, 16, 32, {"z_dim": 128, "w_dim": 128, "mapping_layers": 4}),
}


def case_config(name: str, channels_last: bool) -> RunConfig:
    arch, res, ch, cap, batch, extra = CASES[name]
    return (RunConfig()
            .with_updates("data", source="folder:synthetic", resolution=res, channels=ch)
            .with_updates("model", arch=arch, capacity=cap, resolution=res, channels=ch, **extra)
            .with_updates("loss", name="bce", r1_weight=0.0)
            .with_updates("train", batch_size=batch, steps=10**9, epochs=None, ema=False, sample_every=0,
                          checkpoint_every=0, device="cpu", channels_last=channels_last))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"CPU, {args.threads} thread(s), torch {torch.__version__}; {args.rounds} interleaved rounds x "
          f"{args.steps} steps")
    for name in args.cases.split(","):
        _, res, ch, *_ = CASES[name]
        data = synthetic_data(512, ch, res, torch.device("cpu"))
        on, off = [], []
        for _ in range(args.rounds):
            torch.manual_seed(0)
            on.append(trainer_images_per_sec(case_config(name, True), data, args.steps, args.warmup))
            torch.manual_seed(0)
            off.append(trainer_images_per_sec(case_config(name, False), data, args.steps, args.warmup))
        ratios = [a / b for a, b in zip(on, off)]
        print(f"{name:12s} channels_last {statistics.median(on):7.1f} img/s, contiguous {statistics.median(off):7.1f}"
              f" img/s; on/off median {statistics.median(ratios):.3f} (rounds "
              + ", ".join(f"{r:.2f}" for r in ratios) + ")", flush=True)


if __name__ == "__main__":
    main()
