"""`ganstudio sample`: samples of a checkpoint as a grid or raw arrays, or an interpolation animation, all rendered
by core.render.Renderer (seed i of the grid is the explorer's seed --seed + i)."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ganstudio.core.config import RunConfig
from ganstudio.core.errors import GanStudioError

STYLE_FLAGS = ("truncation_cutoff", "mix_seed", "mix_layers", "noise_mode")  # --psi suits every model


def add_parser(sub) -> None:
    """The sample command and its flags."""
    sample = sub.add_parser("sample", help="generate samples from a checkpoint",
                            description="Generate samples from a checkpoint (or a run folder's latest).")
    sample.add_argument("--checkpoint", required=True, help="a .safetensors checkpoint or a run folder, or bundled:faces / bundled:digits")
    sample.add_argument("--n", type=int, default=64, help="how many samples")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--class", dest="klass", help="class index or name (conditional models)")
    sample.add_argument("--device", default="auto")
    sample.add_argument("--raw", action="store_true", help="sample from G, not its moving average")
    sample.add_argument("--psi", type=float, help="truncation: 1 = none, 0 = the average (StyleGAN: "
                        "in w; other models: a truncated normal z); default: the model's, usually 1")
    style = sample.add_argument_group("StyleGAN")
    style.add_argument("--truncation-cutoff", type=int, help="truncate only the style rows below this one")
    style.add_argument("--mix-seed", type=int, help="take some style rows from the latent of this seed")
    style.add_argument("--mix-layers", help="the style rows A-B (inclusive) that --mix-seed replaces "
                       "(default: the second half, the fine styles)")
    style.add_argument("--noise-mode", choices=["random", "const", "none"],
                       help="per-pixel noise: fresh, fixed (the default, deterministic) or off")
    explore = sample.add_argument_group("directions and interpolation")
    explore.add_argument("--direction", action="append", metavar="FILE.json:INDEX=AMOUNT",
                         help="move every sample along direction INDEX of a direction set (ganstudio directions) "
                              "by AMOUNT standard deviations; repeatable")
    explore.add_argument("--latent", metavar="LATENT.npz",
                         help="render this latent file (ganstudio project or drag) instead of seeds: one picture, "
                              "--direction edits applied; a pivotally tuned latent uses its tuned generator")
    explore.add_argument("--interpolate", nargs=2, type=int, metavar=("SEED_A", "SEED_B"),
                         help="write an animation from seed A to seed B (slerp in z, lerp in w) to --out .gif/.mp4")
    explore.add_argument("--frames", type=int, default=48, help="frames of --interpolate (default 48)")
    explore.add_argument("--fps", type=float, default=24.0)
    sample.add_argument("--out", required=True, help=".png for a grid, .npy for the raw samples "
                        "(.gif or .mp4 with --interpolate)")


def run(args: argparse.Namespace) -> int:
    """Write --n samples (a .png grid or .npy arrays), or an animation with --interpolate."""
    import numpy as np

    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.device import resolve_device
    from ganstudio.core.images import image_grid, save_image, scatter_image
    from ganstudio.core.render import Renderer

    out = Path(args.out)
    if args.interpolate:
        return _interpolation(args, out)
    if args.latent:
        return _latent(args, out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise GanStudioError(f"--out must end in .png (a grid) or .npy (raw samples), not {out.name!r}")
    if args.n < 1:
        raise GanStudioError("--n must be at least 1")
    G, cfg = load_generator(args.checkpoint, resolve_device(args.device), prefer_ema=not args.raw)
    directions, edits = _directions(args.direction, G, cfg)
    renderer = Renderer(G, cfg, directions=directions, points=True)
    samples = renderer.generate(_requests(args, cfg, renderer.num_ws, edits)).numpy()
    if out.suffix.lower() == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, samples)
    else:
        save_image(scatter_image(samples) if cfg.model.toy else image_grid(samples), out)
    print(f"Wrote {args.n} samples to {out}", file=sys.stderr)
    return 0


def _requests(args: argparse.Namespace, cfg: RunConfig, num_ws: int, edits: tuple) -> list:
    """One render request per sample: seeds --seed, --seed + 1, ...; the classes in turn unless --class."""
    from ganstudio.core.render import RenderRequest, StyleMix

    given = [f"--{name.replace('_', '-')}" for name in STYLE_FLAGS if getattr(args, name) is not None]
    if cfg.model.arch != "stylegan" and given:
        raise GanStudioError(f"{given[0]} needs a StyleGAN checkpoint; this one is a {cfg.model.arch} model")
    cutoff = cfg.model.truncation_cutoff if args.truncation_cutoff is None else args.truncation_cutoff
    if cfg.model.arch != "stylegan":
        cutoff = None
    elif cutoff is not None and not 0 <= cutoff <= num_ws:
        raise GanStudioError(f"--truncation-cutoff must be between 0 and {num_ws} (this model has "
                             f"{num_ws} style rows)")
    if args.mix_layers is not None and args.mix_seed is None:
        raise GanStudioError("--mix-layers needs --mix-seed, the seed of the latent to take those rows from")
    mix = None
    if args.mix_seed is not None:
        mix = StyleMix(rows=tuple(_parse_rows(args.mix_layers, num_ws)), seed=args.mix_seed)
    base = RenderRequest(psi=cfg.model.truncation_psi if args.psi is None else args.psi, edits=edits, mix=mix,
                         noise_mode=args.noise_mode or "const", truncation_cutoff=cutoff)
    classes = _classes(args.klass, cfg, args.n)
    return [replace(base, seed=args.seed + i, class_index=classes[i]) for i in range(args.n)]


def _parse_rows(text: str | None, num_ws: int) -> range:
    """'A-B' (inclusive) or 'A' as a range of style rows; default: the second half (the fine styles)."""
    if text is None:
        return range(num_ws // 2, num_ws)
    try:
        first, _, last = text.partition("-")
        a, b = int(first), int(last) if last else int(first)
    except ValueError:
        raise GanStudioError(f"--mix-layers must look like 4-9 (rows A to B), not {text!r}") from None
    if not 0 <= a <= b < num_ws:
        raise GanStudioError(f"--mix-layers {text} is outside this model's style rows 0-{num_ws - 1}")
    return range(a, b + 1)


def _parse_direction(spec: str) -> tuple[str, int, float]:
    """FILE.json:INDEX=AMOUNT as (file, index, amount)."""
    path, _, edit = spec.rpartition(":")
    index, _, amount = edit.partition("=")
    try:
        index_i, amount_f = int(index), float(amount)
    except ValueError:
        raise GanStudioError(f"--direction {spec!r} must look like FILE.json:INDEX=AMOUNT, "
                             "e.g. smile.json:0=2.5") from None
    if not path:
        raise GanStudioError(f"--direction {spec!r} names no direction file")
    return path, index_i, amount_f


def _directions(specs: list[str] | None, G, cfg: RunConfig):
    """The direction sets the --direction flags name, checked and joined into one (None without the flag), and
    the flags' edits as indices into it."""
    if not specs:
        return None, ()
    import numpy as np

    from ganstudio.core.latent.directions import Directions
    from ganstudio.core.render import LatentEdit

    loaded: dict[str, Directions] = {}
    offsets: dict[str, int] = {}
    edits = []
    for spec in specs:
        path, index, amount = _parse_direction(spec)
        if path not in loaded:
            loaded[path] = Directions.load(path)
            loaded[path].check_fits(G, cfg)
            offsets[path] = sum(len(d) for d in loaded.values()) - len(loaded[path])
        d = loaded[path]
        if not 0 <= index < len(d):
            raise GanStudioError(f"{Path(path).name} has directions 0-{len(d) - 1}, not {index}")
        edits.append(LatentEdit(offsets[path] + index, amount))
    sets = list(loaded.values())
    if len({d.space for d in sets}) > 1:
        raise GanStudioError("--direction sets mix z-space and w-space directions")
    joined = Directions("joined", sets[0].space, np.concatenate([d.vectors for d in sets]),
                        np.concatenate([d.scales for d in sets]), np.concatenate([d.scores for d in sets]),
                        [n for d in sets for n in d.names], sets[0].model)
    return joined, tuple(edits)


def _classes(klass: str | None, cfg: RunConfig, n: int) -> list[int | None]:
    """The class of each sample: --class (an index or a name) for all, else the classes in turn."""
    m = cfg.model
    if not m.conditional:
        if klass is not None:
            raise GanStudioError("--class needs a conditional model; this one is unconditional")
        return [None] * n
    if klass is None:
        return [i % m.num_classes for i in range(n)]
    if klass in m.class_names:
        index = m.class_names.index(klass)
    else:
        try:
            index = int(klass)
        except ValueError:
            raise GanStudioError(f"unknown class {klass!r}; classes: {', '.join(m.class_names)}") from None
    if not 0 <= index < m.num_classes:
        raise GanStudioError(f"class {index} is out of range 0-{m.num_classes - 1}")
    return [index] * n


def _interpolation(args: argparse.Namespace, out: Path) -> int:
    """--interpolate SEED_A SEED_B: an animation through the explorer's renderer (GIF or MP4)."""
    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.device import resolve_device
    from ganstudio.core.export import export_animation, interpolation_requests
    from ganstudio.core.render import Renderer, RenderRequest

    if out.suffix.lower() not in (".gif", ".mp4"):
        raise GanStudioError(f"--interpolate writes an animation: --out must end in .gif or .mp4, not {out.name!r}")
    G, cfg = load_generator(args.checkpoint, resolve_device(args.device), prefer_ema=not args.raw)
    if args.direction:
        raise GanStudioError("--interpolate does not take --direction; use the explorer's slider sweep export")
    klass = _classes(args.klass, cfg, 1)[0] if args.klass is not None else None
    base = RenderRequest(seed=args.interpolate[0], psi=1.0 if args.psi is None else args.psi, class_index=klass,
                         noise_mode=args.noise_mode or "const")
    requests = interpolation_requests(base, args.frames, seed_b=args.interpolate[1])
    path = export_animation(Renderer(G, cfg), requests, out, fps=args.fps)
    print(f"Wrote {args.frames} frames from seed {args.interpolate[0]} to {args.interpolate[1]} to {path}",
          file=sys.stderr)
    return 0


def _latent(args: argparse.Namespace, out: Path) -> int:
    """--latent FILE: one picture of a saved latent, with the --direction edits."""
    from PIL import Image

    from ganstudio.core.checkpoints import load_generator
    from ganstudio.core.device import resolve_device
    from ganstudio.core.images import save_image
    from ganstudio.core.latent.files import load_latent, render_latent

    if out.suffix.lower() != ".png":
        raise GanStudioError(f"--latent draws one picture: --out must end in .png, not {out.name!r}")
    device = resolve_device(args.device)
    G, cfg = load_generator(args.checkpoint, device, prefer_ema=not args.raw)
    latent = load_latent(args.latent)
    latent.check_fits(G, cfg, Path(args.latent).name)
    tuned = latent.tuned_path(args.latent)
    if tuned is not None:
        if not tuned.is_file():
            raise GanStudioError(f"{Path(args.latent).name} was tuned, but its tuned generator {tuned.name} is not "
                                 "beside it")
        G, cfg = load_generator(tuned, device)
    directions, edits = _directions(args.direction, G, cfg)
    image = render_latent(G, cfg, latent.tensor(device), directions, edits, args.noise_mode or "const")
    save_image(Image.fromarray(image[:, :, 0] if image.shape[-1] == 1 else image), out)
    print(f"Wrote the latent of {Path(args.latent).name}{' (tuned generator)' if tuned else ''} to {out}",
          file=sys.stderr)
    return 0
