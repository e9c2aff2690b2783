"""Training images/s on one device (a GPU when there is one, else the CPU at a smaller size): ganstudio's
Trainer in fp32 and bf16 next to a minimal hand-written loop of the same model and precision, in one process.

    python benchmarks/gpu_throughput.py                       # 64x64 DCGAN (and StyleGAN when available) on CUDA
    python benchmarks/gpu_throughput.py --device cpu          # the same at 32x32 with smaller widths
    python benchmarks/gpu_throughput.py --models dcgan,stylegan --precisions fp32,bf16 --channels-last

Data is synthetic (random images held on the device), so the numbers measure the training step, not a loader.
The hand-written loop uses the non-saturating loss with no penalties; the Trainer is configured the same way.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from handwritten import handwritten_images_per_sec

from ganstudio.core.config import RunConfig
from ganstudio.core.data.sources import DatasetInfo, TrainingData
from ganstudio.core.device import device_name, resolve_device
from ganstudio.core.models.registry import architectures, build_models
from ganstudio.core.training.loop import Trainer

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def synthetic_data(n: int, channels: int, resolution: int, device: torch.device) -> TrainingData:
    images = torch.randint(0, 256, (n, channels, resolution, resolution), dtype=torch.uint8)
    info = DatasetInfo("synthetic", channels, resolution, 0, (), n, is_toy=False, in_memory=True)
    return TrainingData(info, device, images)


def bench_config(arch: str, resolution: int, capacity: int, batch: int, precision: str, device: str,
                 channels_last: bool) -> RunConfig:
    return (RunConfig()
            .with_updates("data", source="folder:synthetic", resolution=resolution, channels=3)
            .with_updates("model", arch=arch, capacity=capacity)
            .with_updates("loss", name="bce", r1_weight=0.0)
            .with_updates("train", batch_size=batch, steps=10**9, epochs=None, ema=False, sample_every=0,
                          checkpoint_every=0, device=device, precision=precision, channels_last=channels_last))


def trainer_images_per_sec(cfg: RunConfig, data: TrainingData, steps: int, warmup: int) -> float:
    trainer = Trainer(cfg, data=data)
    it = iter(trainer)
    for _ in range(warmup):
        next(it)
    _sync(trainer.device)
    start = time.perf_counter()
    for _ in range(steps):
        next(it)
    _sync(trainer.device)
    return steps * cfg.train.batch_size / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--models", default=",".join(a for a in ("dcgan", "stylegan") if a in architectures()))
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--resolution", type=int, help="default: 64 on a GPU, 32 on the CPU")
    parser.add_argument("--capacity", type=int, help="default: 64 on a GPU, 16 on the CPU")
    parser.add_argument("--batch", type=int, help="default: 128 on a GPU, 32 on the CPU")
    parser.add_argument("--steps", type=int, help="timed steps per round (default 50 GPU, 10 CPU)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--tf32", action="store_true")
    args = parser.parse_args()
    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    res = args.resolution or (64 if gpu else 32)
    cap = args.capacity or (64 if gpu else 16)
    batch = args.batch or (128 if gpu else 32)
    steps = args.steps or (50 if gpu else 10)
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = True
    print(f"{device_name(device)}, torch {torch.__version__}; {res}x{res}, capacity {cap}, batch {batch}, "
          f"channels_last {args.channels_last}, tf32 {args.tf32}; median of {args.rounds} rounds x {steps} steps")
    data = synthetic_data(2048 if gpu else 512, 3, res, device)
    for arch in args.models.split(","):
        for precision in args.precisions.split(","):
            cfg = bench_config(arch, res, cap, batch, precision, str(device), args.channels_last)
            cfg = Trainer(cfg, data=data).config  # resolved by the data
            hand, ours = [], []
            for _ in range(args.rounds):
                torch.manual_seed(0)
                G, D = build_models(cfg.model, cfg.loss)
                hand.append(handwritten_images_per_sec(
                    G, D, data, batch=batch, z_dim=cfg.model.z_dim, steps=steps, warmup=args.warmup,
                    device=device, amp_dtype=DTYPES[precision], channels_last=args.channels_last))
                ours.append(trainer_images_per_sec(cfg, data, steps, args.warmup))
            ratio = statistics.median(o / h for o, h in zip(ours, hand))
            print(f"{arch:9s} {precision}: hand-written {statistics.median(hand):8.1f} img/s, "
                  f"trainer {statistics.median(ours):8.1f} img/s, ratio {ratio:.3f}", flush=True)


if __name__ == "__main__":
    main()
