"""`ganstudio drag`: move handle points of a StyleGAN image to target points (DragGAN), headless."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ganstudio.core.errors import GanStudioError


def add_parser(sub) -> None:
    """The drag command and its flags."""
    drag = sub.add_parser("drag", help="drag points of a generated face to new places (DragGAN)",
                          description="Optimise the first style rows of a StyleGAN image so that each --handle "
                                      "point moves to its --target (coordinates in output pixels, x,y).")
    drag.add_argument("--checkpoint", required=True, help="a checkpoint, run folder, bundled:faces, .pkl or .pt")
    drag.add_argument("--seed", type=int, default=0, help="the image to start from")
    drag.add_argument("--latent", metavar="LATENT.npz", help="start from this latent file (e.g. a projected photo, "
                      "ganstudio project) instead of --seed")
    drag.add_argument("--psi", type=float, default=None, help="truncation of the starting image (default: the "
                      "model's own)")
    drag.add_argument("--handle", action="append", required=True, metavar="X,Y", help="a point to move (repeat)")
    drag.add_argument("--target", action="append", required=True, metavar="X,Y",
                      help="where the handle of the same position goes (repeat)")
    drag.add_argument("--mask", metavar="PNG", help="a picture the size of the output: white where the image "
                      "may change")
    drag.add_argument("--steps", type=int, default=None, help="the most optimisation steps (default 100)")
    drag.add_argument("--out", required=True, help="the dragged image (.png)")
    drag.add_argument("--latent-out", metavar="NPZ", help="also write the dragged W+ latent (a latent file, .npz)")
    drag.add_argument("--report", metavar="JSON", help="write targets, final handles, the handles at every "
                      "step, steps and ms per step")
    drag.add_argument("--device", default="auto")


def _points(values: list[str], flag: str) -> list[tuple[float, float]]:
    points = []
    for value in values:
        try:
            x, y = (float(v) for v in value.split(","))
        except ValueError:
            raise GanStudioError(f"{flag} {value!r} must be X,Y in output pixels, e.g. 32,20") from None
        points.append((x, y))
    return points


def _mask(path: str | None, size: int):
    if path is None:
        return None
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(Path(path).expanduser()) as image:
            mask = np.asarray(image.convert("L").resize((size, size)))
    except (OSError, UnidentifiedImageError) as exc:
        raise GanStudioError(f"cannot read the mask {path}: {exc}") from None
    return (mask > 127).astype(np.float32)


def run(args: argparse.Namespace) -> int:
    """Drag the seed's image and write the picture (and, when asked, the latent and the report)."""
    from dataclasses import replace

    import numpy as np
    import torch

    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.device import resolve_device
    from ganstudio.core.images import save_image
    from ganstudio.core.latent.drag import DragSettings, drag
    from ganstudio.core.render import Renderer, RenderRequest

    handles, targets = _points(args.handle, "--handle"), _points(args.target, "--target")
    if len(handles) != len(targets):
        raise GanStudioError(f"give one --target per --handle ({len(handles)} handles, {len(targets)} targets)")
    G, cfg = load_generator(args.checkpoint, resolve_device(args.device))
    psi = cfg.model.truncation_psi if args.psi is None else args.psi
    start, original = None, G
    if args.latent:
        from ganstudio.core.latent.files import load_latent

        start = load_latent(args.latent)
        start.check_fits(G, cfg, Path(args.latent).name)
        tuned = start.tuned_path(args.latent)
        if tuned is not None and tuned.is_file():  # a pivotally tuned photo is dragged with its tuned generator
            G, cfg = load_generator(tuned, resolve_device(args.device))
        ws = start.tensor(next(G.parameters()).device)
    else:
        with torch.no_grad():
            ws = Renderer(G, cfg).latent(RenderRequest(seed=args.seed, psi=psi))
    settings = DragSettings() if args.steps is None else replace(DragSettings(), max_steps=args.steps)
    result = drag(G, ws, handles, targets, _mask(args.mask, cfg.model.resolution), settings)
    from PIL import Image

    save_image(Image.fromarray(result.image.squeeze(-1) if result.image.shape[-1] == 1 else result.image), args.out)
    if args.latent_out:
        from ganstudio.core.latent.files import make_latent, save_latent

        info = {"from_latent": Path(args.latent).name} if args.latent else {"seed": args.seed, "psi": psi}
        kept = {}
        if start is not None:
            tuned = start.tuned_path(args.latent)
            kept = {"tuned_model": start.tuned_model, "alignment": start.alignment, "photo": start.photo,
                    "tuned_generator": os.path.relpath(tuned, Path(args.latent_out).expanduser().parent) if tuned
                    else ""}
        save_latent(args.latent_out, make_latent(result.latent, original, cfg, "drag", "w+", info=info, **kept))
    if args.report:
        Path(args.report).write_text(json.dumps(result.report(), indent=2) + "\n", encoding="utf-8")
    far = np.linalg.norm(result.final_handles - result.targets, axis=1).max()
    print(f"{'Reached' if result.reached else 'Stopped at the step limit'} after {result.steps} steps "
          f"({result.ms_per_step:.0f} ms per step); the farthest handle is {far:.1f} px from its target. "
          f"Wrote {args.out}", file=sys.stderr)
    return 0
