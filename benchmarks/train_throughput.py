"""Training throughput: ganstudio's Trainer against a minimal hand-written PyTorch loop of the same model,
loss and batch, run side by side (interleaved rounds) in one process.

    python benchmarks/train_throughput.py --data-root ../shared/data            # MNIST DCGAN, batch 64 and 128

Prints images/s for both and their ratio (trainer / hand-written); the median over rounds is the number to quote.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from handwritten import handwritten_images_per_sec

from ganstudio.core.config import RunConfig
from ganstudio.core.data.sources import load_data
from ganstudio.core.models.registry import build_models
from ganstudio.core.training.loop import Trainer
from ganstudio.core.presets import apply_preset


def mnist_config(root: str, batch: int, ema: bool, channels_last: bool) -> RunConfig:
    cfg = apply_preset(RunConfig(), "dcgan")
    return (cfg.with_updates("data", source="mnist", root=root, download=False)
            .with_updates("train", batch_size=batch, steps=10**9, epochs=None, ema=ema, sample_every=0,
                          checkpoint_every=0, device="cpu", channels_last=channels_last))


def handwritten_loop(cfg: RunConfig, data, steps: int, warmup: int) -> float:
    torch.manual_seed(cfg.train.seed)
    G, D = build_models(cfg.model, cfg.loss)
    t = cfg.train
    return handwritten_images_per_sec(G, D, data, batch=t.batch_size, z_dim=cfg.model.z_dim, steps=steps,
                                      warmup=warmup, lr=t.lr_g, betas=t.betas_g, channels_last=t.channels_last)


def trainer_loop(cfg: RunConfig, data, steps: int, warmup: int) -> float:
    trainer = Trainer(cfg, data=data)
    it = iter(trainer)
    for _ in range(warmup):
        next(it)
    start = time.perf_counter()
    for _ in range(steps):
        next(it)
    return steps * cfg.train.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--batches", default="64,128")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    parser.add_argument("--ema", action="store_true", help="keep the trainer's EMA generator on (extra work)")
    parser.add_argument("--channels-last", action="store_true", help="both loops use channels_last")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; MNIST DCGAN 28x28, "
          f"trainer EMA {'on' if args.ema else 'off'}, channels_last {args.channels_last}")
    for batch in (int(b) for b in args.batches.split(",")):
        cfg = mnist_config(args.data_root, batch, args.ema, args.channels_last)
        data = load_data(cfg.data, "cpu")
        cfg = Trainer(cfg, data=data).config  # resolved: channels, resolution
        hand, ours = [], []
        for _ in range(args.rounds):
            hand.append(handwritten_loop(cfg, data, args.steps, args.warmup))
            ours.append(trainer_loop(cfg, data, args.steps, args.warmup))
        ratios = [o / h for o, h in zip(ours, hand)]
        print(f"batch {batch:4d}: hand-written {statistics.median(hand):7.1f} img/s, trainer "
              f"{statistics.median(ours):7.1f} img/s, ratio median {statistics.median(ratios):.3f} "
              f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)})", flush=True)


if __name__ == "__main__":
    main()
