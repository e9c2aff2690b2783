"""Time to evaluate 10,000 generated samples on the CPU, per feature extractor, beside the bare network, in one process.

    python benchmarks/eval_speed.py                      # mnist, celeba, inception, fid-inception (random weights)
    python benchmarks/eval_speed.py --inception-n 10000  # the full 10,000 through each Inception (long on a CPU)
    python benchmarks/eval_speed.py --threads 2 --extractors inception,fid-inception

For each extractor: generating the samples with a DCGAN of the data's shape, extracting their features as
`ganstudio eval` does (FeatureExtractor: resizing, rounding, layout, softmax), the bare forward of the same network
on the same prepared batches in both memory layouts (contiguous and channels_last; the extractor's own layout is
marked *), and the metrics on those features against a 10,000-sample reference (FID, KID, precision/recall,
density/coverage). The line to read is extraction beside the bare forward in the extractor's layout: the
difference is what GAN Studio adds. The Inception networks run with random weights (the speed does not depend on
them); when fewer samples are pushed through a network than asked, its times for 10,000 are extrapolated and
marked so. The real data's reference is computed once per dataset and then read from the cache: not timed here.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganstudio.core.config import RunConfig  # noqa: E402
from ganstudio.core.device import device_name  # noqa: E402
from ganstudio.core.metrics.extractors import FID_INCEPTION_FILE, INCEPTION_FILE, get_extractor  # noqa: E402
from ganstudio.core.metrics.fid import frechet_distance, gaussian_stats  # noqa: E402
from ganstudio.core.metrics.kid import kernel_inception_distance  # noqa: E402
from ganstudio.core.metrics.prdc import density_coverage, knn_radii, precision_recall  # noqa: E402
from ganstudio.core.models.registry import build_models  # noqa: E402

SHAPES = {"mnist": (1, 28), "celeba": (3, 64), "inception": (3, 64), "fid-inception": (3, 64)}  # data timed on
LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def generator(channels: int, resolution: int):
    cfg = RunConfig().with_updates("model", arch="dcgan", channels=channels, resolution=resolution, capacity=64)
    return build_models(cfg.model, cfg.loss)[0].eval()


@torch.no_grad()
def generate(G, n: int, batch: int = 250) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [G(torch.randn(min(batch, n - i), G.z_dim, generator=gen)) for i in range(0, n, batch)]


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def random_weights(folder: Path) -> dict[str, Path]:
    """Weights files of both Inception networks with random values, as the extractors read them."""
    from torchvision.models import inception_v3

    from ganstudio.core.metrics.fid_inception import FIDInceptionV3

    files = {"inception": folder / INCEPTION_FILE, "fid-inception": folder / FID_INCEPTION_FILE}
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), files["inception"])
    torch.save(FIDInceptionV3().state_dict(), files["fid-inception"])
    return files


@torch.no_grad()
def bare_forward(ex, images: torch.Tensor, layout: torch.memory_format) -> float:
    """Seconds the network alone takes for these images (prepared outside the clock), in one memory layout."""
    ex.module.to(memory_format=layout)
    ex.module(ex.prepare(images[:2]).contiguous(memory_format=layout))  # warm-up: first-call allocations
    seconds = 0.0
    for i in range(0, len(images), ex.batch_size):
        x = ex.prepare(images[i:i + ex.batch_size]).contiguous(memory_format=layout)
        seconds += timed(lambda x=x: ex.module(x))[1]
    ex.module.to(memory_format=ex.memory_format)  # as the extractor left it
    return seconds


def bench(name: str, n: int, extract_n: int, weights: dict[str, Path]) -> dict:
    channels, resolution = SHAPES[name]
    G = generator(channels, resolution)
    batches, t_gen = timed(lambda: generate(G, n))
    ex = get_extractor(f"{name}:{weights[name]}" if name in weights else name)
    images = torch.cat(batches)[:extract_n]
    ex(images[:2])  # warm-up, as for the bare forward
    feats, t_extract = timed(lambda: torch.cat([ex(images[i:i + ex.batch_size])[0]
                                                for i in range(0, len(images), ex.batch_size)]))
    scale = n / extract_n
    bare = {label: bare_forward(ex, images, layout) * scale for label, layout in LAYOUTS.items()}
    own = next(label for label, layout in LAYOUTS.items() if layout == ex.memory_format)
    fake = feats.repeat(math.ceil(n / len(feats)), 1)[:n] + 0.01 * torch.randn(n, feats.shape[1])
    real = fake[torch.randperm(n)] + 0.1 * torch.randn(n, feats.shape[1])
    ref_stats, ref_radii = gaussian_stats(real), {k: knn_radii(real, k) for k in (3, 5)}  # cached in real use
    _, t_fid = timed(lambda: frechet_distance(ref_stats, gaussian_stats(fake)))
    _, t_kid = timed(lambda: kernel_inception_distance(real, fake))
    _, t_pr = timed(lambda: precision_recall(real, fake, 3, ref_radii[3]))
    _, t_dc = timed(lambda: density_coverage(real, fake, 5, ref_radii[5]))
    t_extract *= scale
    total = t_gen + t_extract + t_fid + t_kid + t_pr + t_dc
    return dict(name=name, dim=feats.shape[1], gen=t_gen, extract=t_extract, bare=bare, own=own, fid=t_fid,
                kid=t_kid, pr=t_pr, dc=t_dc, total=total, extract_n=extract_n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--inception-n", type=int, default=200, help="samples actually pushed through Inception")
    parser.add_argument("--extractors", default="mnist,celeba,inception,fid-inception")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"Evaluating {args.n:,} samples on {device_name(torch.device('cpu'))}; times in seconds. Extraction is "
          "beside the bare network's forward on the same batches (* the extractor's own layout).")
    with tempfile.TemporaryDirectory() as tmp:
        weights = random_weights(Path(tmp))
        for name in args.extractors.split(","):
            extract_n = min(args.n, args.inception_n) if "inception" in name else args.n
            r = bench(name, args.n, extract_n, weights)
            mark = f" (extrapolated from {r['extract_n']:,})" if r["extract_n"] < args.n else ""
            bare = ", ".join(f"{label}{'*' if label == r['own'] else ''} {seconds:.1f}"
                             for label, seconds in r["bare"].items())
            print(f"{name:>13} ({r['dim']} features, data {SHAPES[name][0]}x{SHAPES[name][1]}px): "
                  f"extract {r['extract']:.1f}{mark} = {1000 * r['extract'] / args.n:.1f} ms/sample, "
                  f"x{r['extract'] / r['bare'][r['own']]:.2f} the bare forward ({bare}) | "
                  f"generate {r['gen']:.1f} | FID {r['fid']:.2f} KID {r['kid']:.1f} PR {r['pr']:.1f} "
                  f"DC {r['dc']:.1f} | total {r['total']:.1f} s = {args.n / r['total']:.0f} samples/s", flush=True)


if __name__ == "__main__":
    main()
