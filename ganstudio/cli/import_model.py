"""`ganstudio import`: a StyleGAN2/3 network pickle or a rosinality checkpoint as a GAN Studio model file, read
without running any code from the file."""
from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """The import command and its flags."""
    imp = sub.add_parser("import", help="convert an NVIDIA .pkl or rosinality .pt generator to a model file",
                         description="Read NVIDIA's StyleGAN2-ADA / StyleGAN3 network pickles and rosinality "
                                     "stylegan2-pytorch checkpoints as data only (no code from the file runs), "
                                     "check them, and write a .safetensors model file with a model card. "
                                     "--checkpoint also takes such files directly.")
    imp.add_argument("file", help="the .pkl or .pt file")
    imp.add_argument("--out", required=True, help="the .safetensors file to write")


def run(args: argparse.Namespace) -> int:
    """Convert --file to --out and say what it holds."""
    from ganstudio.core.checkpoints import load_checkpoint
    from ganstudio.core.imported import card_summary, convert

    out = convert(args.file, args.out)
    print(f"Wrote {out} ({out.stat().st_size / 2**20:.1f} MB): "
          f"{card_summary(load_checkpoint(out).extra['imported']['card'])}", file=sys.stderr)
    return 0
