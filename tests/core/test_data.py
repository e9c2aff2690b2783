"""Tests for ganstudio.core.data: torchvision sets, image folders, streaming, toy distributions."""
from __future__ import annotations

import io
from pathlib import Path
from urllib.error import URLError

import numpy as np
import PIL.Image
import pytest
import torch
import torchvision.datasets
from PIL import Image

from ganstudio.core.config import DataConfig
from ganstudio.core.data import (
    DatasetInfo,
    load_data,
    native_channels,
    native_resolution,
    scan_folder,
    toy_distribution,
)
from ganstudio.core.errors import DatasetError

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CELEBA_DIR = SHARED_DATA / "celeba-10k" / "img_align_celeba"


# ---------------------------------------------------------------------------------------------------------------
# Torchvision datasets


@pytest.fixture(scope="module")
def mnist_root() -> Path:
    if not (SHARED_DATA / "MNIST" / "raw").is_dir():
        pytest.skip(f"the shared MNIST copy is not at {SHARED_DATA / 'MNIST' / 'raw'}")
    return SHARED_DATA


def test_mnist_loads_whole_train_split_in_memory(mnist_root):
    data = load_data(DataConfig(source="mnist", root=str(mnist_root)))
    assert len(data) == 60_000
    assert data.info.num_classes == 10 and data.info.class_names == tuple("0123456789")
    assert (data.info.channels, data.info.resolution, data.info.in_memory) == (1, 28, True)
    x, y = data.get(data.epoch_order(0, seed=1)[:16])
    assert x.shape == (16, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and x.min() == -1
    assert y.dtype == torch.int64 and y.shape == (16,) and 0 <= int(y.min()) and int(y.max()) <= 9


def test_mnist_resized_and_streamed_match(mnist_root):
    cfg = DataConfig(source="mnist", root=str(mnist_root), resolution=32, channels=3)
    in_memory = load_data(cfg)
    streamed = load_data(DataConfig(source="mnist", root=str(mnist_root), resolution=32, channels=3,
                                    memory_limit_mb=0))
    assert in_memory.info.in_memory and not streamed.info.in_memory
    idx = torch.tensor([0, 5, 59_999])
    (xa, ya), (xb, yb) = in_memory.get(idx), streamed.get(idx)
    assert xa.shape == (3, 3, 32, 32)
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert torch.equal(xa[:, 0], xa[:, 2])  # grayscale repeated into three channels


@pytest.mark.parametrize("source", ["mnist", "fashion-mnist", "cifar10", "celeba"])
def test_missing_torchvision_dataset_without_download_names_root(tmp_path, source):
    root = tmp_path / "nowhere"
    with pytest.raises(DatasetError) as info:
        load_data(DataConfig(source=source, root=str(root), download=False))
    assert str(root) in str(info.value) and "download" in str(info.value)


@pytest.mark.parametrize("source, cls", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST"),
                                         ("cifar10", "CIFAR10"), ("celeba", "CelebA")])
def test_missing_torchvision_dataset_offline_names_root(tmp_path, monkeypatch, source, cls):
    def offline(self):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(getattr(torchvision.datasets, cls), "download", offline)
    monkeypatch.setattr("ganstudio.core.data.torchvision_sets._has_gdown", lambda: True)  # offline, not missing a package
    root = tmp_path / "data"
    with pytest.raises(DatasetError) as info:
        load_data(DataConfig(source=source, root=str(root), download=True))
    message = str(info.value)
    assert str(root) in message and "no network" in message and "\n" not in message


def test_celeba_without_gdown_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr("ganstudio.core.data.torchvision_sets._has_gdown", lambda: False)
    with pytest.raises(DatasetError) as info:
        load_data(DataConfig(source="celeba", root=str(tmp_path / "data"), download=True))
    assert "pip install gdown" in str(info.value) and str(tmp_path / "data") in str(info.value)


def test_native_sizes():
    assert [native_resolution(s) for s in ("mnist", "fashion-mnist", "cifar10", "celeba", "folder:x", "toy:ring8")] \
        == [28, 28, 32, 64, 64, None]
    assert [native_channels(s) for s in ("mnist", "fashion-mnist", "cifar10", "celeba", "folder:x", "toy:moons")] \
        == [1, 1, 3, 3, 3, 0]


# ---------------------------------------------------------------------------------------------------------------
# Image folders


def _noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)


def _jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


GOOD = {  # relative path: label
    "cats/a_rgb.png": 0, "cats/b_photo.jpg": 0, "cats/c_rgba.png": 0, "cats/deep/c2_gray16.png": 0,
    "dogs/d_palette.gif": 1, "dogs/e_gray.png": 1, "dogs/f_cmyk.tif": 1,
}
BAD = {
    "cats/trunc.jpg": "truncated", "cats/text.png": "not an image", "dogs/empty.png": "empty file",
    "dogs/tiny.png": "too small (4x4, needs at least 16 px)", "dogs/bomb.png": "decompression bomb (22,500 pixels)",
    "dogs/bomb_x3.png": "decompression bomb (62,500 pixels)",
    "loose.png": "not in a class subfolder",
}


@pytest.fixture
def image_folder(tmp_path, monkeypatch) -> Path:
    """Two class folders of good images in many modes, plus one of each kind of bad file."""
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 20_000)  # a 150x150 image becomes a "bomb"
    root = tmp_path / "pictures"
    for sub in ("cats/deep", "dogs", ".hidden"):
        (root / sub).mkdir(parents=True)
    _noise((40, 40), seed=1).save(root / "cats/a_rgb.png")
    (root / "cats/b_photo.jpg").write_bytes(_jpeg_bytes(_noise((48, 36), seed=2)))
    _noise((40, 40), "RGBA", seed=3).save(root / "cats/c_rgba.png")
    Image.fromarray((np.arange(40 * 40, dtype=np.uint16) * 40).reshape(40, 40)).save(root / "cats/deep/c2_gray16.png")
    _noise((40, 40), seed=4).convert("P", palette=Image.Palette.ADAPTIVE).save(root / "dogs/d_palette.gif")
    _noise((40, 30), "L", seed=5).save(root / "dogs/e_gray.png")
    _noise((40, 40), seed=6).convert("CMYK").save(root / "dogs/f_cmyk.tif")
    jpeg = _jpeg_bytes(_noise((64, 64), seed=7))
    (root / "cats/trunc.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (root / "cats/text.png").write_text("this is not a picture\n")
    (root / "dogs/empty.png").write_bytes(b"")
    _noise((4, 4), seed=8).save(root / "dogs/tiny.png")
    _noise((150, 150), seed=9).save(root / "dogs/bomb.png")  # Pillow warns: the scan makes that an error
    _noise((250, 250), seed=9).save(root / "dogs/bomb_x3.png")  # over twice the limit: Pillow raises
    _noise((40, 40), seed=10).save(root / "loose.png")
    _noise((40, 40), seed=11).save(root / ".hidden/ignored.png")
    _noise((40, 40), seed=12).save(root / "cats/.ignored.png")
    (root / "cats/notes.txt").write_text("not an image extension")
    return root


@pytest.mark.parametrize("channels", [1, 3])
def test_scan_keeps_good_images_and_reports_bad_ones(image_folder, channels):
    calls = []
    scan = scan_folder(image_folder, channels=channels, resolution=32, progress=lambda d, t: calls.append((d, t)))
    assert [p.relative_to(image_folder).as_posix() for p in scan.files] == sorted(GOOD)
    assert scan.labels == [GOOD[k] for k in sorted(GOOD)]
    assert scan.class_names == ("cats", "dogs")
    assert scan.images.shape == (len(GOOD), channels, 32, 32) and scan.images.dtype == np.uint8
    assert {Path(s.path).relative_to(image_folder).as_posix(): s.reason for s in scan.skipped} == BAD
    report = scan.report(first=10)
    assert report.startswith(f"Skipped {len(BAD)} of {len(GOOD) + len(BAD)} files: ")
    assert all(f"{name} ({reason})" in report for name, reason in BAD.items())
    assert scan.report(first=2).endswith(f", and {len(BAD) - 2} more. 1 file of a type GAN Studio does not read: .txt")
    assert calls[-1] == (len(GOOD) + len(BAD) - 1, len(GOOD) + len(BAD) - 1)  # loose.png is never decoded


def test_scan_composites_transparency_on_white(tmp_path):
    (tmp_path / "flat").mkdir()
    Image.new("RGBA", (32, 32), (255, 0, 0, 0)).save(tmp_path / "flat/clear.png")
    scan = scan_folder(tmp_path / "flat", channels=3, resolution=16)
    assert (scan.images == 255).all() and scan.labels is None and scan.class_names == ()


def test_folder_streaming_matches_memory_and_survives_later_corruption(image_folder):
    source = f"folder:{image_folder}"
    in_memory = load_data(DataConfig(source=source, resolution=32, channels=3))
    streamed = load_data(DataConfig(source=source, resolution=32, channels=3, memory_limit_mb=0))
    assert isinstance(in_memory.info, DatasetInfo) and in_memory.info.in_memory and not streamed.info.in_memory
    assert in_memory.info.num_classes == 2 and "trunc.jpg (truncated)" in in_memory.info.skipped_report
    everything = torch.arange(len(in_memory))
    (xa, ya), (xb, yb) = in_memory.get(everything), streamed.get(everything)
    assert xa.shape == (len(GOOD), 3, 32, 32) and torch.equal(xa, xb) and torch.equal(ya, yb)

    (image_folder / "cats/a_rgb.png").write_bytes(b"overwritten after the scan")
    x, y = streamed.get(everything)
    assert x.shape == xa.shape and torch.equal(x[0], xa[1]) and int(y[0]) == int(ya[1])  # next file stands in
    assert [(Path(s.path).name, s.reason) for s in streamed.stream_skipped] == [("a_rgb.png", "not an image")]
    streamed.get(everything)
    assert len(streamed.stream_skipped) == 1  # recorded once


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_data(DataConfig(source=f"folder:{tmp_path / 'absent'}"))
    with pytest.raises(DatasetError, match="has no images"):
        scan_folder(tmp_path)
    (tmp_path / "bad.png").write_text("nope")
    with pytest.raises(DatasetError) as info:
        scan_folder(tmp_path)
    assert str(tmp_path) in str(info.value) and "all 1 files were skipped" in str(info.value)


def test_sixteen_bit_gray_is_scaled_not_clipped(image_folder):
    scan = scan_folder(image_folder / "cats" / "deep", channels=1, resolution=32)
    assert scan.images.min() < 20 and 100 < np.median(scan.images) < 160  # a full-range gradient


def test_celeba_torchvision_layout(tmp_path, monkeypatch):
    """The torchvision CelebA path: train split only, centre crop, unlabelled (files made from the subset)."""
    if not CELEBA_DIR.is_dir():
        pytest.skip(f"the shared CelebA subset is not at {CELEBA_DIR}")
    monkeypatch.setattr(torchvision.datasets.CelebA, "_check_integrity", lambda self: True)  # no md5 of the full set
    folder = tmp_path / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, 21)]
    for name in names:
        (folder / "img_align_celeba" / name).symlink_to(CELEBA_DIR / name)
    rows = lambda values: "".join(f"{n} {values}\n" for n in names)  # noqa: E731
    (folder / "list_eval_partition.txt").write_text("".join(f"{n} {0 if i < 15 else 1}\n" for i, n in enumerate(names)))
    (folder / "identity_CelebA.txt").write_text(rows("1"))
    (folder / "list_bbox_celeba.txt").write_text(f"20\nimage_id x_1 y_1 width height\n{rows('0 0 1 1')}")
    (folder / "list_landmarks_align_celeba.txt").write_text(f"20\nabcdefghij\n{rows(' '.join(['1'] * 10))}")
    (folder / "list_attr_celeba.txt").write_text(f"20\nSmiling\n{rows('1')}")
    data = load_data(DataConfig(source="celeba", root=str(tmp_path), resolution=32, center_crop=70))
    assert len(data) == 15 and data.info.num_classes == 0 and data.info.channels == 3
    x, y = data.get(torch.arange(15))
    assert x.shape == (15, 3, 32, 32) and y is None


def test_celeba_folder_subset(tmp_path):
    if not CELEBA_DIR.is_dir():
        pytest.skip(f"the shared CelebA subset is not at {CELEBA_DIR}")
    for path in sorted(CELEBA_DIR.glob("*.jpg"))[:200]:
        (tmp_path / path.name).symlink_to(path)
    scan = scan_folder(tmp_path, resolution=32, center_crop=70)
    assert len(scan.files) == 200 and scan.skipped == [] and scan.report() == ""
    assert scan.images.shape == (200, 3, 32, 32) and scan.labels is None


# ---------------------------------------------------------------------------------------------------------------
# Toy distributions and the training set


@pytest.mark.parametrize("name, modes", [("ring8", 8), ("grid25", 25), ("moons", None), ("spiral", None)])
def test_toy_shapes_and_determinism(name, modes):
    toy = toy_distribution(name, 500, seed=3)
    assert toy.points.shape == (500, 2) and toy.points.dtype == np.float32
    assert np.array_equal(toy.points, toy_distribution(name, 500, seed=3).points)
    assert not np.array_equal(toy.points, toy_distribution(name, 500, seed=4).points)
    assert (toy.modes is None) == (modes is None) and (modes is None or toy.modes.shape == (modes, 2))
    assert np.abs(toy.points).max() < 5.5


def test_toy_training_data():
    data = load_data(DataConfig(source="toy:ring8", toy_samples=1000), seed=5)
    assert len(data) == 1000 and data.info.is_toy and data.info.resolution is None
    assert data.info.modes.shape == (8, 2) and data.info.mode_std == 0.02
    x, y = data.get(torch.tensor([0, 1, 2]))
    assert x.shape == (3, 2) and x.dtype == torch.float32 and y is None
    assert torch.equal(x, torch.from_numpy(toy_distribution("ring8", 1000, seed=5).points[:3]))


def test_epoch_order_is_a_deterministic_permutation():
    data = load_data(DataConfig(source="toy:moons", toy_samples=300))
    order = data.epoch_order(2, seed=7)
    assert order.dtype == torch.int64 and order.device.type == "cpu"
    assert torch.equal(order.sort().values, torch.arange(300))
    assert torch.equal(order, data.epoch_order(2, seed=7))
    assert not torch.equal(order, data.epoch_order(3, seed=7))
    assert not torch.equal(order, data.epoch_order(2, seed=8))


def test_folder_reads_pillow_formats_and_counts_the_rest(tmp_path):
    """PGM, PPM and GIF faces are read (the 400-face folder of issue 18); files of an unknown type are counted and
    named by extension, never silently ignored."""
    from PIL import Image as PILImage

    rng = np.random.default_rng(0)
    for person in ("s1", "s2"):
        (tmp_path / person).mkdir()
        for k, ext in enumerate((".pgm", ".ppm", ".gif")):
            mode = "L" if ext == ".pgm" else ("P" if ext == ".gif" else "RGB")
            shape = (16, 12) if mode in ("L", "P") else (16, 12, 3)
            PILImage.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), "L" if mode == "P" else mode) \
                .convert(mode).save(tmp_path / person / f"{k}{ext}")
        for k in range(200):
            (tmp_path / person / f"{k}.xyz").write_text("not an image")
    (tmp_path / "README").write_text("faces")
    scan = scan_folder(tmp_path, channels=1, resolution=8)
    assert len(scan.files) == 6 and scan.class_names == ("s1", "s2") and scan.skipped == []
    assert {p.suffix for p in scan.files} == {".pgm", ".ppm", ".gif"}
    assert scan.unread == {".xyz": 400, "(no extension)": 1}
    assert scan.report() == "401 files of a type GAN Studio does not read: .xyz (400), (no extension) (1)"
    for path in tmp_path.rglob("*.xyz"):
        if path.parent.name == "s2":
            path.unlink()
    (tmp_path / "README").unlink()
    assert scan_folder(tmp_path, channels=1, resolution=8).report() == \
        "200 files of a type GAN Studio does not read: .xyz"
    info = load_data(DataConfig(source=f"folder:{tmp_path}", resolution=8, channels=1)).info
    assert "200 files of a type GAN Studio does not read: .xyz" in info.skipped_report
    for path in tmp_path.rglob("*.*"):
        if path.suffix != ".xyz":
            path.unlink()
    with pytest.raises(DatasetError, match=r"has no images .*200 files of a type GAN Studio does not read: \.xyz"):
        scan_folder(tmp_path)


def _class_folders(root: Path, names: list[str]) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
        Image.new("RGB", (16, 16), (len(name) * 20, 0, 0)).save(root / name / "a.png")
    return root


def test_class_names_sort_numbers_by_value_and_a_trained_runs_order_is_kept(tmp_path):
    root = _class_folders(tmp_path / "faces", ["s10", "s2", "s1", "S3", "s11", "b"])
    assert scan_folder(root, 3, 16).class_names == ("b", "s1", "s2", "S3", "s10", "s11")
    # a run trained when classes sorted as text keeps its label numbers; a class added since comes last
    stored = ("b", "s1", "s10", "s11", "s2")
    scan = scan_folder(root, 3, 16, class_order=stored)
    assert scan.class_names == (*stored, "S3")
    assert [scan.class_names[y] for y in scan.labels] == [p.parent.name for p in scan.files]
    data = load_data(DataConfig(source=f"folder:{root}", resolution=16), class_order=stored)
    assert data.info.class_names == (*stored, "S3")
