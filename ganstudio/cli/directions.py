"""`ganstudio directions`: latent directions (PCA, SeFa, axes or named face attributes) saved as a direction set."""
from __future__ import annotations

import argparse
import sys

from ganstudio.cli.tables import format_direction_checks
from ganstudio.core.errors import GanStudioError


def add_parser(sub) -> None:
    """The directions command and its flags."""
    directions = sub.add_parser("directions", help="find latent directions for sliders (PCA, SeFa or named "
                                                   "face attributes)",
                                description="Compute latent directions of a model and save them as a "
                                            "direction set (JSON) for the explorer and ganstudio sample.")
    directions.add_argument("--checkpoint", required=True, help="a checkpoint, model file or run folder, or bundled:faces / bundled:digits")
    directions.add_argument("--method", choices=["pca", "sefa", "axes", "attributes"], default="sefa",
                            help="pca: GANSpace PCA of sampled latents/features; sefa: closed-form "
                                 "factorization of the first layer / style weights; axes: the raw latent axes; "
                                 "attributes: named face attributes (InterFaceGAN, scored by the shipped CelebA "
                                 "classifier)")
    directions.add_argument("--n", type=int, default=10, help="how many directions (default 10)")
    directions.add_argument("--samples", type=int, default=5000,
                            help="latents sampled for PCA or attributes (attributes: 10000 or more is better)")
    directions.add_argument("--attributes", help="attributes: the CelebA attributes to fit, comma-separated "
                            "(default Smiling,Male,Eyeglasses,Blond_Hair,Young,Bangs)")
    directions.add_argument("--condition", action="append", default=[], metavar="ATTR:OTHER[,OTHER]",
                            help="attributes: keep OTHER fixed while ATTR moves (project its boundary out); "
                                 "repeatable, e.g. --condition Blond_Hair:Male")
    directions.add_argument("--check-seeds", type=int, default=0, metavar="N",
                            help="attributes: render N seeds along every slider and report how the classifier's "
                                 "score responds")
    directions.add_argument("--device", default="auto")
    directions.add_argument("--out", required=True, help="the .json direction set to write")


def run(args: argparse.Namespace) -> int:
    """Compute the directions and write them to --out."""
    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.device import resolve_device
    from ganstudio.core.latent.directions import compute_directions

    if args.n < 1:
        raise GanStudioError("--n must be at least 1")
    G, cfg = load_generator(args.checkpoint, resolve_device(args.device))
    if args.method == "attributes":
        return _attribute_directions(args, G, cfg)
    found = compute_directions(G, cfg, args.method, k=args.n, n_samples=args.samples)
    found.save(args.out)
    scores = ", ".join(f"{s:.3g}" for s in found.scores[:5])
    print(f"Wrote {len(found)} {args.method} directions in {found.space} space to {args.out} "
          f"(top scores {scores})", file=sys.stderr)
    return 0


def _attribute_directions(args: argparse.Namespace, G, cfg) -> int:
    from tqdm import tqdm

    from ganstudio.core.latent.attributes import (DEFAULT_ATTRIBUTES, attribute_directions, check_directions,
                                                  parse_conditions)

    attributes = [a.strip() for a in (args.attributes or ",".join(DEFAULT_ATTRIBUTES)).split(",") if a.strip()]
    with tqdm(total=args.samples, desc="scoring samples", unit="img", disable=None) as bar:
        fit = attribute_directions(G, cfg, attributes, n_samples=args.samples,
                                   conditions=parse_conditions(args.condition),
                                   progress=lambda done, total: bar.update(done - bar.n))
    fit.directions.save(args.out)
    print(f"Wrote {len(fit.directions)} attribute directions in {fit.directions.space} space to {args.out}",
          file=sys.stderr)
    for b, name in zip(fit.boundaries, fit.directions.names):
        print(f"  {name:<32} held-out correlation with the classifier r = {b.correlation:.2f}", file=sys.stderr)
    if args.check_seeds > 0:
        print(format_direction_checks(check_directions(G, cfg, fit.directions, range(args.check_seeds))))
    return 0

