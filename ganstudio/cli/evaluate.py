"""`ganstudio eval`: measure a checkpoint against data (FID, KID, IS, precision/recall, density/coverage, modes,
classes) and print a table."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ganstudio.cli.tables import data_help, eval_progress, eval_table
from ganstudio.core.config import RunConfig
from ganstudio.core.errors import GanStudioError

METRIC_HELP = {"fid": "Frechet distance", "kid": "kernel distance", "is": "Inception Score",
               "pr": "precision/recall", "dc": "density/coverage", "modes": "toy mode coverage",
               "classes": "class histogram and KL"}


def add_parser(sub) -> None:
    """The eval command and its flags."""
    ev = sub.add_parser("eval", help="measure a checkpoint: FID, KID, IS, precision/recall, mode coverage",
                        description="Measure a generator against data: " + "; ".join(
                            f"{k}: {v}" for k, v in METRIC_HELP.items()) + ".")
    ev.add_argument("--checkpoint", required=True, help="a .safetensors checkpoint or a run folder, or bundled:faces / bundled:digits")
    ev.add_argument("--data", help=f"the data to compare with (default: the run's own): {data_help()}")
    ev.add_argument("--data-root", help="folder where datasets are looked for (default: the run's)")
    ev.add_argument("--no-download", action="store_true", help="never download a missing dataset")
    ev.add_argument("--center-crop", type=int, help="crop this square from the centre of real images first")
    ev.add_argument("--metrics", default="auto",
                    help=f"comma-separated: {','.join(METRIC_HELP)}; auto (default) or all")
    ev.add_argument("--n", type=int, default=10_000, help="generated and real samples (default 10000)")
    ev.add_argument("--extractor", default="auto",
                    help="feature space: inception, fid-inception (the FID papers report; needs "
                         "pt_inception-2015-12-05-6726825d.pth), mnist, celeba, points; auto picks the one for the data")
    ev.add_argument("--inception-weights", metavar="FILE",
                    help="Inception weights: torchvision's (inception_v3_google-0cc3c7bd.pth or .safetensors) for "
                         "--extractor inception, pt_inception-2015-12-05-6726825d.pth for fid-inception")
    ev.add_argument("--seed", type=int, default=0, help="seed of the latent vectors and real samples")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--raw", action="store_true", help="measure G, not its moving average")
    ev.add_argument("--no-cache", action="store_true", help="recompute the real data's statistics")
    ev.add_argument("--out", help="write the results to this JSON file")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Evaluate the checkpoint; print the table, optionally write the record as JSON."""
    import json

    from ganstudio.core.checkpoints import load_checkpoint, load_generator
    from ganstudio.core.data import load_data
    from ganstudio.core.device import resolve_device
    from ganstudio.core.io import atomic_write_text
    from ganstudio.core.metrics.evaluate import Evaluator, parse_metrics

    parse_metrics(args.metrics)  # an unknown metric fails before anything is loaded
    if args.out and not args.out.lower().endswith(".json"):
        raise GanStudioError(f"--out must end in .json, not {Path(args.out).name!r}")
    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint)
    G, cfg = load_generator(args.checkpoint, device, prefer_ema=not args.raw)
    data_cfg = _eval_data_config(args, cfg)
    extractor = args.extractor
    if args.inception_weights:
        if extractor not in ("auto", "inception", "fid-inception"):
            raise GanStudioError(f"--inception-weights goes with --extractor inception or fid-inception, "
                                 f"not {extractor}")
        extractor = f"{'inception' if extractor == 'auto' else extractor}:{args.inception_weights}"
    if not args.quiet:
        print(f"Loading {data_cfg.source} ...", file=sys.stderr)
    data = load_data(data_cfg, device, seed=cfg.train.seed, class_order=cfg.model.class_names)
    bars: dict = {}
    evaluator = Evaluator(data, args.metrics, args.n, extractor, seed=args.seed, device=device,
                          use_cache=not args.no_cache, progress=None if args.quiet else eval_progress(bars))
    try:
        record = evaluator.evaluate(G, step=ckpt.step)
    finally:
        for bar in bars.values():
            bar.close()
    record = {"checkpoint": str(Path(args.checkpoint)), "data": data_cfg.source, **record}
    print(eval_table(record, evaluator.metrics))
    for note in record.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(record, indent=2) + "\n")
        print(f"Wrote {args.out}", file=sys.stderr)
    return 0


def _eval_data_config(args: argparse.Namespace, cfg: RunConfig):
    """The checkpoint's own data unless --data names other data, always shaped like the generator's output."""
    data = cfg.data
    if args.data and args.data != data.source:
        data = replace(data, source=args.data, center_crop=None)
    changes = {"download": not args.no_download}
    if args.data_root:
        changes["root"] = args.data_root
    if args.center_crop is not None:
        changes["center_crop"] = args.center_crop
    if not data.is_toy:
        changes.update(resolution=cfg.model.resolution, channels=cfg.model.channels)
    data = replace(data, **changes)
    if data.is_toy != cfg.model.toy:
        raise GanStudioError(f"this generator makes {'2D points' if cfg.model.toy else 'images'}, "
                             f"so it cannot be measured against {data.source}")
    return data
