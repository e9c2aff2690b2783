"""Two unpaired image domains for translation (CycleGAN): two folders, or CelebA split by its attributes.

A `DomainPair` shows the training loop the face of one data set: its length is the larger domain's (an epoch is
a pass over it, the smaller one is cycled in its own shuffled order), `epoch_order` gives rows of (index in A,
index in B) and `get` returns a batch of each domain.
"""
from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

import torch

from ganstudio.core.config import DataConfig
from ganstudio.core.data.folders import Progress, SkippedFile, decode_all
from ganstudio.core.data.sources import DatasetInfo, TrainingData, from_scan, load_data, native_resolution
from ganstudio.core.data.torchvision_sets import CELEBA_CROP
from ganstudio.core.errors import DatasetError

ATTRIBUTES_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGES_DIR = "img_align_celeba"
# CelebA's 40 attributes, in the order of its list_attr_celeba.txt (the choices for splitting it into two domains)
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips", "Big_Nose",
    "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses",
    "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache",
    "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks",
    "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
)


def unknown_attributes(names: list[str] | tuple[str, ...], known: tuple[str, ...] = CELEBA_ATTRIBUTES) -> str | None:
    """One sentence naming the first of `names` that is not a CelebA attribute, with its close matches (or all
    the attributes when none is close); None when every name is known."""
    unknown = [n for n in names if n not in known]
    if not unknown:
        return None
    name = unknown[0]
    lower = {k.lower(): k for k in known}  # case and near spellings: "blonde_hair" -> Blond_Hair
    close = [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.6)]
    listed = f"close matches: {', '.join(close)}" if close else f"the attributes are {', '.join(known)}"
    return f"CelebA has no attribute {name!r} ({listed})"


class DomainPair:
    """Domains A and B as one training source: rows of (A index, B index) and batches of both."""

    def __init__(self, a: TrainingData, b: TrainingData, info: DatasetInfo):
        self.a, self.b, self.info = a, b, info
        self.device = a.device

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    @property
    def stream_skipped(self) -> list[SkippedFile]:
        """Files of either domain that went bad while streaming."""
        return self.a.stream_skipped + self.b.stream_skipped

    def epoch_order(self, epoch: int, seed: int) -> torch.Tensor:
        """[len(self), 2] int64: each domain's shuffled order of this epoch, the smaller one repeated to length."""
        n = len(self)
        columns = []
        for k, domain in enumerate((self.a, self.b)):
            order = domain.epoch_order(epoch, seed + 7 * k)
            columns.append(order.repeat((n + len(order) - 1) // len(order))[:n])
        return torch.stack(columns, dim=1)

    def get(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Batches of A and B in [-1, 1] for rows of epoch_order."""
        return self.a.get(rows[:, 0])[0], self.b.get(rows[:, 1])[0]


def load_domains(cfg: DataConfig, device: torch.device | str = "cpu", seed: int = 0,
                 progress: Progress | None = None) -> DomainPair:
    """Domains A and B of a translation run; DatasetError with one sentence when either cannot be had."""
    if cfg.domains is not None:
        a, b, source = _celeba_domains(cfg, device, progress)
    else:
        one = replace(cfg, source_b=None, domains=None)
        a = _domain("A", one, device, seed, progress)
        b = _domain("B", replace(one, source=cfg.source_b or ""), device, seed, progress)
        source = f"{cfg.source} | {cfg.source_b}"
    if a.info.channels != b.info.channels:
        raise DatasetError("domains A and B must have the same number of channels")
    report = "; ".join(f"domain {k}: {r}" for k, r in (("A", a.info.skipped_report), ("B", b.info.skipped_report))
                       if r)
    info = DatasetInfo(source, a.info.channels, a.info.resolution, 0, (), len(a) + len(b), is_toy=False,
                       in_memory=a.info.in_memory and b.info.in_memory, skipped_report=report,
                       domain_sizes=(len(a), len(b)))
    return DomainPair(a, b, info)


def _domain(name: str, cfg: DataConfig, device, seed: int, progress: Progress | None) -> TrainingData:
    try:
        return load_data(cfg, device, seed=seed, progress=progress)
    except DatasetError as exc:
        raise DatasetError(f"domain {name}: {exc}") from None


def celeba_folder(root: str | Path) -> Path:
    """The folder holding CelebA's attribute list and image folder: ROOT/celeba (torchvision's layout) or ROOT."""
    root = Path(root).expanduser().absolute()
    for folder in (root / "celeba", root):
        if (folder / ATTRIBUTES_FILE).is_file() and (folder / IMAGES_DIR).is_dir():
            return folder
    raise DatasetError(f"CelebA's {ATTRIBUTES_FILE} and {IMAGES_DIR}/ are not in {root / 'celeba'} or {root}; "
                       "set the data folder to where they are")


def read_attributes(path: Path) -> tuple[tuple[str, ...], dict[str, list[int]]]:
    """CelebA's attribute list: the 40 names, and file name -> values (+1 / -1)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        names = tuple(lines[1].split())
        table = {parts[0]: [int(v) for v in parts[1:]] for line in lines[2:] if (parts := line.split())}
    except (OSError, IndexError, ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} is not a readable CelebA attribute list ({exc})") from None
    return names, table


def split_by_attributes(names: tuple[str, ...], table: dict[str, list[int]], domains: str,
                        files: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The files of domain A and B: "ATTR" is A without it, B with it; "X:Y" is A with X and not Y, B the
    reverse (Black_Hair:Blond_Hair)."""
    wanted = domains.split(":")
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise DatasetError(f"unknown CelebA attribute {unknown[0]!r}; use one of {', '.join(names)}")
    files = sorted(table) if files is None else files
    if len(wanted) == 1:
        i = names.index(wanted[0])
        return [f for f in files if table[f][i] < 0], [f for f in files if table[f][i] > 0]
    ia, ib = names.index(wanted[0]), names.index(wanted[1])
    return ([f for f in files if table[f][ia] > 0 and table[f][ib] < 0],
            [f for f in files if table[f][ib] > 0 and table[f][ia] < 0])


def _train_files(folder: Path, table: dict[str, list[int]]) -> list[str]:
    """The training split's files (partition 0) when CelebA's partition list is there, else every listed file."""
    path = folder / PARTITION_FILE
    if not path.is_file():
        return sorted(table)
    split = dict(line.split()[:2] for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return sorted(f for f in table if split.get(f) == "0")


def celeba_split(cfg: DataConfig) -> tuple[Path, list[Path], list[Path]]:
    """CelebA's folder and the image files of domains A and B (of the training split when CelebA's partition list
    is there)."""
    folder = celeba_folder(cfg.root)
    names, table = read_attributes(folder / ATTRIBUTES_FILE)
    files_a, files_b = split_by_attributes(names, table, cfg.domains or "", _train_files(folder, table))
    return folder, [folder / IMAGES_DIR / f for f in files_a], [folder / IMAGES_DIR / f for f in files_b]


def _celeba_domains(cfg: DataConfig, device, progress: Progress | None):
    folder, files_a, files_b = celeba_split(cfg)
    channels = cfg.channels or 3
    resolution = cfg.resolution or native_resolution("celeba")
    crop = cfg.center_crop or CELEBA_CROP
    domains = []
    for name, paths in (("A", files_a), ("B", files_b)):
        if not paths:
            raise DatasetError(f"domain {name} of CelebA split by {cfg.domains} has no images")
        scan = decode_all(folder / IMAGES_DIR, paths, None, (), channels, resolution, crop, cfg.memory_limit_mb / 2,
                          True, progress, [])
        if not scan.files:
            raise DatasetError(f"none of the {len(paths):,} CelebA images of domain {name} could be read "
                               f"({scan.skipped_list(3)})")
        domains.append(from_scan(cfg, scan, channels, resolution, torch.device(device), center_crop=crop))
    return domains[0], domains[1], f"celeba {cfg.domains}"
