"""Do the metrics respond as they should? Real held-out images, then the same images degraded or mode-dropped,
measured as if a generator had made them, against the training set's reference statistics.

    python benchmarks/metric_sanity.py --data-root ../shared/data                 # MNIST, mnist extractor
    python benchmarks/metric_sanity.py --celeba-dir ../shared/data/celeba-10k     # CelebA faces, celeba extractor

Expected: held-out real images score near the floor (FID ~0, precision and recall ~1 less k-NN noise); noise and
blur raise FID and lower precision; keeping a few classes (mode dropping) lowers recall and coverage, raises the
class KL and lowers the IS analogue; one repeated image is total collapse.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganstudio.core.config import DataConfig  # noqa: E402
from ganstudio.core.data.sources import DatasetInfo, load_data  # noqa: E402
from ganstudio.core.metrics.evaluate import Evaluator  # noqa: E402


class Replay(torch.nn.Module):
    """A stand-in generator that returns given images (cycling), transformed."""

    z_dim = 1

    def __init__(self, images: torch.Tensor, transform=lambda x: x):
        super().__init__()
        self.images, self.transform, self.cursor = images, transform, 0

    def forward(self, z, c=None):
        idx = torch.arange(self.cursor, self.cursor + len(z)) % len(self.images)
        self.cursor += len(z)
        return self.transform(self.images[idx]).clamp(-1, 1)


def blur(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    k = (k[:, None] * k[None, :]) / 256
    weight = k.expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), weight, groups=x.shape[1])


def noise(sigma: float):
    gen = torch.Generator().manual_seed(1)
    return lambda x: x + sigma * torch.randn(x.shape, generator=gen)


def run_cases(evaluator: Evaluator, held_out: torch.Tensor, labels: torch.Tensor | None, keys: list[str]) -> None:
    cases = [("held-out real images", Replay(held_out)),
             ("+ noise sigma 0.1", Replay(held_out, noise(0.1))),
             ("+ noise sigma 0.3", Replay(held_out, noise(0.3))),
             ("blurred (5x5 binomial)", Replay(held_out, blur))]
    if labels is not None:
        cases.append(("only classes 0-4 (mode dropping)", Replay(held_out[labels < 5])))
        cases.append(("only class 1", Replay(held_out[labels == 1])))
    cases.append(("one image repeated (collapse)", Replay(held_out[:1])))
    widths = [max(10, len(k) + 2) for k in keys]
    print(f"{'case':<34}" + "".join(f"{k:>{w}}" for k, w in zip(keys, widths)))
    for name, G in cases:
        record = evaluator.evaluate(G)
        print(f"{name:<34}" + "".join(_cell(record.get(k), w) for k, w in zip(keys, widths)), flush=True)


def _cell(value, width: int) -> str:
    if value is None:
        return f"{'-':>{width}}"
    return f"{value:>{width}.4f}" if isinstance(value, float) else f"{value:>{width}}"


def mnist(args) -> None:
    from torchvision.datasets import MNIST

    data = load_data(DataConfig(source="mnist", root=args.data_root, download=False))
    test = MNIST(args.data_root, train=False, download=False)
    held_out = test.data.unsqueeze(1).float().div(127.5).sub(1)[: args.n]
    t0 = time.perf_counter()
    evaluator = Evaluator(data, "fid,kid,is,pr,dc,classes", args.n, "mnist", use_cache=False)
    evaluator.reference()
    print(f"MNIST: {args.n:,} test images against {args.n:,} training images, mnist extractor "
          f"(reference {time.perf_counter() - t0:.1f} s)")
    run_cases(evaluator, held_out, test.targets[: args.n],
              ["fid", "kid", "is", "precision", "recall", "density", "coverage", "class_kl", "classes_covered"])


def celeba(args) -> None:
    folder = Path(args.celeba_dir) / "img_align_celeba"
    with tempfile.TemporaryDirectory() as tmp:  # the training part and the held-out part as two folders
        for part, names in (("train", range(1, 9001)), ("test", range(9001, 10001))):
            (Path(tmp) / part).mkdir()
            for i in names:
                (Path(tmp) / part / f"{i:06d}.jpg").symlink_to(folder / f"{i:06d}.jpg")
        shape = dict(channels=3, resolution=64, center_crop=70)
        data = load_data(DataConfig(source=f"folder:{tmp}/train", **shape))
        test = load_data(DataConfig(source=f"folder:{tmp}/test", **shape))
    held_out = test.get(torch.arange(len(test)))[0]
    n = min(args.n, len(held_out))
    data.info = DatasetInfo("celeba-10k train", 3, 64, 0, (), len(data), False, True)
    t0 = time.perf_counter()
    evaluator = Evaluator(data, "fid,kid,pr,dc", n, "celeba", use_cache=False)
    evaluator.reference()
    print(f"CelebA: {n:,} held-out faces against {n:,} training faces, celeba extractor "
          f"(reference {time.perf_counter() - t0:.1f} s)")
    run_cases(evaluator, held_out[:n], None, ["fid", "kid", "precision", "recall", "density", "coverage"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", help="MNIST in torchvision's layout under this folder")
    parser.add_argument("--celeba-dir", help="the celeba-10k folder (img_align_celeba/ inside)")
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    if not (args.data_root or args.celeba_dir):
        parser.error("give --data-root (MNIST) and/or --celeba-dir (CelebA)")
    if args.data_root:
        mnist(args)
    if args.celeba_dir:
        celeba(args)


if __name__ == "__main__":
    main()
