"""Time to evaluate 10,000 generated samples on the CPU, per feature extractor, in one process.

    python benchmarks/eval_speed.py                      # mnist, celeba, inception (random weights, 500 samples)
    python benchmarks/eval_speed.py --inception-n 10000  # the full 10,000 through Inception-v3 (long on a CPU)
    python benchmarks/eval_speed.py --threads 1

For each extractor: generating the samples with a DCGAN of the data's shape (the baseline), extracting their
features, and the metrics on those features against a 10,000-sample reference (FID, KID, precision/recall,
density/coverage). Inception-v3 runs with randomly initialised weights (the speed does not depend on them);
when fewer samples are pushed through it than asked, its time for 10,000 is extrapolated and marked so.
The real-data reference is computed once per dataset and then read from the cache, so it is not timed here.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganstudio.core.config import RunConfig  # noqa: E402
from ganstudio.core.device import device_name  # noqa: E402
from ganstudio.core.metrics.extractors import INCEPTION_FILE, get_extractor  # noqa: E402
from ganstudio.core.metrics.fid import frechet_distance, gaussian_stats  # noqa: E402
from ganstudio.core.metrics.kid import kernel_inception_distance  # noqa: E402
from ganstudio.core.metrics.prdc import density_coverage, knn_radii, precision_recall  # noqa: E402
from ganstudio.core.models.registry import build_models  # noqa: E402

SHAPES = {"mnist": (1, 28), "celeba": (3, 64), "inception": (3, 64)}  # the data each extractor is timed on


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


def bench(name: str, n: int, extract_n: int, weights: Path | None) -> dict:
    channels, resolution = SHAPES[name]
    G = generator(channels, resolution)
    batches, t_gen = timed(lambda: generate(G, n))
    ex = get_extractor(f"inception:{weights}" if name == "inception" else name)
    images = torch.cat(batches)[:extract_n]
    feats, t_extract = timed(lambda: torch.cat([ex(images[i:i + ex.batch_size])[0]
                                                for i in range(0, len(images), ex.batch_size)]))
    extrapolated = extract_n < n
    t_extract *= n / extract_n
    fake = feats.repeat((n + len(feats) - 1) // len(feats), 1)[:n] + 0.01 * torch.randn(n, feats.shape[1])
    real = fake[torch.randperm(n)] + 0.1 * torch.randn(n, feats.shape[1])
    ref_stats, ref_radii = gaussian_stats(real), {k: knn_radii(real, k) for k in (3, 5)}  # cached in real use
    _, t_fid = timed(lambda: frechet_distance(ref_stats, gaussian_stats(fake)))
    _, t_kid = timed(lambda: kernel_inception_distance(real, fake))
    _, t_pr = timed(lambda: precision_recall(real, fake, 3, ref_radii[3]))
    _, t_dc = timed(lambda: density_coverage(real, fake, 5, ref_radii[5]))
    total = t_gen + t_extract + t_fid + t_kid + t_pr + t_dc
    return dict(name=name, dim=feats.shape[1], gen=t_gen, extract=t_extract, fid=t_fid, kid=t_kid, pr=t_pr,
                dc=t_dc, total=total, extrapolated=extrapolated, extract_n=extract_n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--inception-n", type=int, default=500, help="samples actually pushed through Inception")
    parser.add_argument("--extractors", default="mnist,celeba,inception")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"Evaluating {args.n:,} samples on {device_name(torch.device('cpu'))}; times in seconds. The baseline "
          "(x1.0) is generating the samples with a DCGAN (capacity 64) of the data's shape.")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = None
        if "inception" in args.extractors:
            from torchvision.models import inception_v3

            weights = Path(tmp) / INCEPTION_FILE
            torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), weights)
        for name in args.extractors.split(","):
            extract_n = min(args.n, args.inception_n) if name == "inception" else args.n
            rows.append(bench(name, args.n, extract_n, weights))
            r = rows[-1]
            mark = f" (extrapolated from {r['extract_n']:,})" if r["extrapolated"] else ""
            print(f"{name:>9} ({r['dim']} features, data {SHAPES[name][0]}x{SHAPES[name][1]}px): "
                  f"generate {r['gen']:.1f} | extract {r['extract']:.1f}{mark} (x{r['extract'] / r['gen']:.1f}) | "
                  f"FID {r['fid']:.2f} KID {r['kid']:.1f} PR {r['pr']:.1f} DC {r['dc']:.1f} | "
                  f"total {r['total']:.1f} s = {args.n / r['total']:.0f} samples/s", flush=True)


if __name__ == "__main__":
    main()
