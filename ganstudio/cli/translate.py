"""`ganstudio translate`: turn an image (or a folder of them) into the other domain of a trained CycleGAN."""
from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """The translate command and its flags."""
    p = sub.add_parser("translate", help="translate images with a trained CycleGAN",
                       description="Translate an image or a folder of images with a CycleGAN checkpoint "
                                   "(or a run folder's latest).")
    p.add_argument("--checkpoint", required=True, help="a CycleGAN run folder or .safetensors checkpoint")
    p.add_argument("--direction", required=True, choices=["a2b", "b2a"],
                   help="a2b: domain A (--data) to B (--data-b, or with the attribute); b2a: back")
    p.add_argument("--input", required=True, help="an image file or a folder of images")
    p.add_argument("--out", required=True, help="a folder for the translated PNGs (or a .png for one image)")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch-size", type=int, default=16)


def run(args: argparse.Namespace) -> int:
    """Translate and write the images; report what was skipped."""
    from ganstudio.core.device import resolve_device
    from ganstudio.core.errors import GanStudioError
    from ganstudio.core.translate import translate

    if args.batch_size < 1:
        raise GanStudioError("--batch-size must be at least 1")
    result = translate(args.checkpoint, args.direction, args.input, args.out, resolve_device(args.device),
                       batch=args.batch_size)
    for skipped in result.skipped:
        print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)
    where = result.written[0] if len(result.written) == 1 else args.out
    print(f"Translated {len(result.written)} image{'s' * (len(result.written) != 1)} ({args.direction}) to {where}",
          file=sys.stderr)
    return 0
