"""`ganstudio models list` and `ganstudio models get NAME`: the public pretrained StyleGAN releases, downloaded
(with progress and resume) into the models folder, checked, and imported without running any code from the file."""
from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """The models command, its list and get subcommands and their flags."""
    models = sub.add_parser("models", help="list and download the public pretrained StyleGAN2/StyleGAN3 models",
                            description="NVIDIA's StyleGAN2-ADA and StyleGAN3 releases (non-commercial licence). "
                                        "Downloads go to $GANSTUDIO_MODELS_DIR or the platform's data folder "
                                        "(--dir overrides both) and resume where an interrupted one stopped.")
    actions = models.add_subparsers(dest="models_command", metavar="list|get", required=True,
                                    parser_class=type(models))
    listing = actions.add_parser("list", help="the releases: name, resolution, size, licence, downloaded or not")
    listing.add_argument("--dir", help="the models folder (default: $GANSTUDIO_MODELS_DIR or the data folder)")
    get = actions.add_parser("get", help="download a release, check it and import it safely")
    get.add_argument("name", help="the release's name, as `ganstudio models list` shows it")
    get.add_argument("--dir", help="the models folder (default: $GANSTUDIO_MODELS_DIR or the data folder)")
    get.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """List the releases or get one."""
    return list_models(args) if args.models_command == "list" else get_model(args)


def list_models(args: argparse.Namespace) -> int:
    """Print the catalogue as a table, with what is in the models folder."""
    from ganstudio.core.errors import size_text
    from ganstudio.core.pretrained import catalogue, models_dir, status

    folder = models_dir(args.dir)
    rows = [("NAME", "MODEL", "RES", "SIZE", "LICENCE", "HERE")]
    licences = {}
    for m in catalogue():
        st = status(m, folder)
        licences.setdefault(m.licence.name, m.licence)
        rows.append((m.key, m.family + (f", {m.classes} classes" if m.classes else ""), str(m.resolution),
                     size_text(st.size) if st.size else "unpublished", "non-commercial"
                     if "non-commercial" in m.licence.summary else m.licence.summary, st.text()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print(f"\nModels folder: {folder}", file=sys.stderr)
    for lic in licences.values():
        print(f"Licence: {lic.text()}", file=sys.stderr)
    print("NVIDIA publishes no sizes or checksums: the first download's size and SHA-256 are recorded and later "
          "downloads checked against them. `ganstudio models get NAME` downloads one.", file=sys.stderr)
    return 0


def get_model(args: argparse.Namespace) -> int:
    """Download one release (resuming), check and import it, print its model card and where it is."""
    from tqdm import tqdm

    from ganstudio.core.pretrained import fetch, find_model, models_dir

    model = find_model(args.name)
    folder = models_dir(args.dir)
    print(f"{model.title} ({model.family}, {model.resolution} px) from {model.url}", file=sys.stderr)
    print(f"Licence: {model.licence.text()}", file=sys.stderr)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total or None, initial=done, unit="B", unit_scale=True, unit_divisor=1024,
                       desc=model.key, disable=args.quiet, dynamic_ncols=True, file=sys.stderr)
        bar.update(done - bar.n)

    try:
        got = fetch(model, folder, progress)
    except KeyboardInterrupt:
        print(f"ganstudio models: interrupted; `ganstudio models get {model.key}` resumes the download",
              file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    print(f"{'Downloaded' if got.downloaded else 'Already here'}: {got.path}", file=sys.stderr)
    print(got.summary(), file=sys.stderr)
    print(f"Open it with: ganstudio sample --checkpoint {got.path}  (or File > Open checkpoint in the app)",
          file=sys.stderr)
    print(got.path)
    return 0
