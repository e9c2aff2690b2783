"""`ganstudio project`: align a face photo to a StyleGAN's template, project it into W or W+ (optionally with
pivotal tuning) and write the latent file, the aligned photo and the reconstruction."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ganstudio.core.errors import GanStudioError


def add_parser(sub) -> None:
    """The project command and its flags."""
    project = sub.add_parser("project", help="project a face photo into a StyleGAN's latent space",
                             description="Align a photo's face to the model's template (--align: the left eye, the "
                                         "right eye and the mouth centre in photo pixels; without it the photo is "
                                         "taken as already aligned, framed as the model's training data), find the "
                                         "latent that draws it, and write it with the aligned photo "
                                         "(OUT-aligned.png) and the reconstruction (OUT-projected.png).")
    project.add_argument("--checkpoint", required=True, help="a StyleGAN checkpoint, bundled:faces, .pkl or .pt")
    project.add_argument("--image", required=True, help="the photo (JPEG, PNG, WebP or TIFF)")
    project.add_argument("--align", metavar="X1,Y1,X2,Y2,X3,Y3",
                         help="left eye, right eye and mouth centre in photo pixels")
    project.add_argument("--template", choices=["celeba", "ffhq"],
                         help="the face alignment (default: FFHQ's for imported models, else CelebA's)")
    project.add_argument("--space", choices=["w", "w+"], default="w+",
                         help="one w for all style rows, or one per row (default, closer)")
    project.add_argument("--steps", type=int, default=None, help="optimisation steps (default 150)")
    project.add_argument("--pti", action="store_true", help="then tune a copy of the generator around the latent "
                         "(pivotal tuning); it is saved beside the latent as OUT-pti.safetensors")
    project.add_argument("--pti-steps", type=int, default=None, help="pivotal tuning steps (default 60)")
    project.add_argument("--loss", choices=["auto", "offline", "lpips"], default="auto",
                         help="LPIPS (VGG16) when its weights are on this machine, else the offline loss (default)")
    project.add_argument("--vgg16", metavar="FILE", help="VGG16's ImageNet weights for LPIPS (torchvision's "
                         "vgg16-397923af.pth); never downloaded")
    project.add_argument("--seed", type=int, default=0, help="seed of the projector's noise")
    project.add_argument("--device", default="auto")
    project.add_argument("--out", required=True, help="the latent file (.npz)")


def _progress_bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, disable=None)


def run(args: argparse.Namespace) -> int:
    """Align, project (and tune), then write the latent and the pictures."""
    from dataclasses import replace

    from PIL import Image

    from ganstudio.core.checkpoints import generator_from_checkpoint, load_checkpoint
    from ganstudio.core.device import resolve_device
    from ganstudio.core.images import save_image
    from ganstudio.core.latent.files import make_latent, save_latent
    from ganstudio.core.photo.align import align_face, frame_photo, load_photo, parse_points, template_for
    from ganstudio.core.photo.loss import photo_loss
    from ganstudio.core.photo.projection import (
        ProjectionSettings, TuningSettings, picture_psnr, pivotal_tuning, project, save_tuned_generator,
    )

    out = Path(args.out).expanduser()
    if out.suffix.lower() != ".npz":
        raise GanStudioError(f"--out must end in .npz (a latent file), not {out.name!r}")
    for flag, value in (("--steps", args.steps), ("--pti-steps", args.pti_steps)):
        if value is not None and value < 1:
            raise GanStudioError(f"{flag} must be at least 1")
    device = resolve_device(args.device)
    ckpt = load_checkpoint(args.checkpoint)
    G = generator_from_checkpoint(ckpt, device, name=Path(args.checkpoint).name)
    cfg = ckpt.config
    photo = load_photo(args.image, cfg.model.channels)
    imported = "imported" in ckpt.extra
    if args.align:
        face = align_face(photo, parse_points(args.align), template_for(cfg, imported, args.template))
    else:
        face = frame_photo(photo, cfg.model.resolution, None if imported else cfg.data.center_crop)
    loss = photo_loss(args.loss, args.vgg16, device)
    settings = ProjectionSettings(space=args.space, seed=args.seed)
    if args.steps is not None:
        settings = replace(settings, steps=args.steps)
    stem = out.with_suffix("")
    save_image(Image.fromarray(_rgb_or_gray(face.image)), Path(f"{stem}-aligned.png"))
    with _progress_bar(settings.steps, f"projecting into {args.space.upper()}") as bar:
        def progress(report):
            bar.update(1)
            bar.set_postfix(loss=f"{report.loss:.4f}", refresh=False)

        result = project(G, face.image, settings, loss, progress)
    save_image(Image.fromarray(_rgb_or_gray(result.image)), Path(f"{stem}-projected.png"))
    tuned_name, tuned_model, quality = "", {}, picture_psnr(result.image, face.image)
    message = f"PSNR {quality:.1f} dB after {result.steps} steps ({result.seconds:.0f} s, {result.loss_name} loss)"
    if args.pti:
        from ganstudio.core.latent.directions import model_info

        tuning = TuningSettings(seed=args.seed)
        if args.pti_steps is not None:
            tuning = replace(tuning, steps=args.pti_steps)
        with _progress_bar(tuning.steps, "pivotal tuning") as bar:
            def tuning_progress(report):
                bar.update(1)
                bar.set_postfix(loss=f"{report.loss:.4f}", refresh=False)

            tuned = pivotal_tuning(G, result.ws, face.image, tuning, loss, tuning_progress)
        tuned_path = Path(f"{stem}-pti.safetensors")
        save_tuned_generator(tuned.G, args.checkpoint, tuned_path)
        save_image(Image.fromarray(_rgb_or_gray(tuned.image)), Path(f"{stem}-tuned.png"))
        tuned_name, tuned_model = tuned_path.name, model_info(tuned.G, cfg)
        message += f"; tuned: PSNR {picture_psnr(tuned.image, face.image):.1f} dB ({tuned.seconds:.0f} s)"
    latent = make_latent(result.ws, G, cfg, "projection", args.space, tuned_generator=tuned_name,
                         tuned_model=tuned_model, alignment=face.matrix, photo=Path(args.image).name,
                         info={"steps": result.steps, "loss": result.loss_name, "psnr": round(quality, 2),
                               "template": face.template})
    save_latent(out, latent)
    print(f"{message}. Wrote {out}, {stem.name}-aligned.png and {stem.name}-projected.png", file=sys.stderr)
    return 0


def _rgb_or_gray(image):
    return image[:, :, 0] if image.shape[-1] == 1 else image
