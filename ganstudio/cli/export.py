"""`ganstudio export`: a slim model file holding only the sampling generator and its config."""
from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """The export command and its flags."""
    export = sub.add_parser("export", help="write a slim model file (generator only) to share or bundle",
                            description="Write only the sampling generator and its config: a few MB, for "
                                        "exploring and sampling (it cannot resume training).")
    export.add_argument("--checkpoint", required=True, help="a checkpoint or a run folder")
    export.add_argument("--out", required=True, help="the .safetensors file to write")


def run(args: argparse.Namespace) -> int:
    """Write the generator of a checkpoint to --out."""
    from ganstudio.core.checkpoints import export_generator

    out = export_generator(args.checkpoint, args.out)
    print(f"Wrote {out} ({out.stat().st_size / 2**20:.1f} MB)", file=sys.stderr)
    return 0


