"""Editing a real photo: alignment to the CelebA and FFHQ templates, EXIF rotation and photo formats, paste back,
W/W+ projection (PSNR against an exact target), cancel, pivotal tuning, the losses, latent files and the
`project` / `sample --latent` / `drag --latent` commands, on the bundled face model and tiny imported ones."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from ganstudio.core.bundled import bundled_model
from ganstudio.core.checkpoints import load_generator
from ganstudio.core.errors import Cancelled, GanStudioError
from ganstudio.core.images import to_uint8
from ganstudio.core.latent.files import load_latent, make_latent, save_latent
from ganstudio.core.latent.sampling import z_for_seed
from ganstudio.core.photo.align import (
    align_face, apply_transform, celeba_template, ffhq_template, frame_photo, load_photo, paste_back, template_for,
)
from ganstudio.core.photo.loss import LPIPSLoss, OfflineLoss, photo_loss, ssim
from ganstudio.core.photo.projection import (
    ProjectionSettings, TuningSettings, picture_psnr, pivotal_tuning, project, render, w_avg,
)

CELEBA = "celeba-10k/img_align_celeba"


@pytest.fixture(scope="module")
def faces():
    G, cfg = load_generator(bundled_model("faces").file, "cpu")
    return G.eval().requires_grad_(False), cfg


@pytest.fixture(scope="module")
def offline():
    return photo_loss("offline")


def generated(G, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    with torch.no_grad():
        ws = G.mapping(z_for_seed(seed, G.z_dim))
    return ws, to_uint8(render(G, ws))[0]


def similar_points(points, degrees: float, scale: float, shift) -> np.ndarray:
    """The template points moved by a rotation, a scale and a shift: a face as it might sit in a photo."""
    a = math.radians(degrees)
    rot = scale * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.asarray(points) @ rot.T + np.asarray(shift)


# ---------------------------------------------------------------------------------------------------------------
# Alignment


def test_the_three_points_land_on_the_celeba_template(faces):
    _, cfg = faces
    template = template_for(cfg)
    assert template.name == "celeba" and template.points == celeba_template(64, 70).points
    # measured on the mean face and carried through the model's framing (70 px centre square -> 64 px)
    np.testing.assert_allclose(template.points, [(22.4, 32.457), (40.686, 32.457), (31.543, 51.657)], atol=1e-3)
    clicked = similar_points(template.points, 17.0, 9.0, (300.0, 120.0))
    matrix = template.transform(clicked)
    assert np.abs(apply_transform(matrix, clicked) - np.asarray(template.points)).max() < 0.5

    # the warped picture agrees: dark dots at the clicked points come out on the template
    h, w = 900, 800
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    photo = np.full((h, w), 255.0)
    for x, y in clicked:
        photo -= 200 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 14.0 ** 2))
    photo = np.repeat(np.clip(photo, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    face = align_face(photo, clicked, template)
    assert face.image.shape == (64, 64, 3) and face.template == "celeba"
    dark = 255.0 - face.image[:, :, 0].astype(np.float64)
    gy, gx = np.mgrid[0:64, 0:64] + 0.5
    for tx, ty in template.points:
        near = ((gx - tx) ** 2 + (gy - ty) ** 2) < 5 ** 2
        cx, cy = (gx * dark * near).sum() / (dark * near).sum(), (gy * dark * near).sum() / (dark * near).sum()
        assert math.hypot(cx - tx, cy - ty) < 0.5, f"a dot came out at ({cx:.2f}, {cy:.2f}), not ({tx:.2f}, {ty:.2f})"


def test_ffhq_alignment_follows_the_datasets_rule():
    template = ffhq_template(1024)
    clicked = [(400.0, 500.0), (600.0, 500.0), (500.0, 720.0)]
    # worked by hand from the rule: side 2 * max(2 * 200, 1.8 * 220) = 800 px around (500, 522), scaled by 1.28
    expected = [(384.0, 483.84), (640.0, 483.84), (512.0, 765.44)]
    np.testing.assert_allclose(apply_transform(template.transform(clicked), clicked), expected, atol=1e-6)
    turned = similar_points(clicked, -30.0, 0.5, (50.0, 400.0))
    np.testing.assert_allclose(apply_transform(template.transform(turned), turned), expected, atol=0.5)
    assert ffhq_template(256).transform(clicked)[0, 0] == pytest.approx(1.28 / 4)


def test_bad_points_are_refused_in_one_sentence(faces):
    template = template_for(faces[1])
    for points in ([(10, 10), (10, 10), (10, 30)], [(40, 10), (10, 10), (25, 40)], [(1, 2), (3, 4)]):
        with pytest.raises(GanStudioError) as info:
            template.transform(points)
        assert "\n" not in str(info.value)


def test_an_aligned_celeba_face_is_framed_as_the_model_was_trained(faces, shared_data):
    from ganstudio.core.data.decode import decode_image

    path = shared_data / CELEBA / "009990.jpg"
    framed = frame_photo(load_photo(path), 64, 70)
    trained = decode_image(path, 3, 64, 70).transpose(1, 2, 0)
    assert picture_psnr(framed.image, trained) > 30.0
    # and the template, applied to that image's own framing, is the identity on the template points
    template = template_for(faces[1])
    clicked = apply_transform(np.linalg.inv(np.vstack([framed.matrix, [0, 0, 1]]))[:2], template.points)
    aligned = align_face(load_photo(path), clicked, template)
    assert np.abs(aligned.matrix - framed.matrix).max() < 1e-6


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_photo_formats_and_exif_rotation(tmp_path, fmt):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)  # the left half of the stored pixels is red
    image = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / f"photo.{fmt.lower()}"
    image.save(path, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    photo = load_photo(path)
    assert photo.shape == (40, 20, 3)  # upright: the stored left half is now the top half
    assert photo[:15, :, 0].mean() > 200 and photo[25:, :, 0].mean() < 60


def test_a_corrupt_photo_is_one_sentence(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    truncated = tmp_path / "truncated.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:60])
    for path in (bad, truncated, tmp_path / "missing.jpg"):
        with pytest.raises(GanStudioError) as info:
            load_photo(path)
        message = str(info.value)
        assert path.name in message and "\n" not in message and "Traceback" not in message


def test_paste_back_puts_the_face_where_it_was_and_leaves_the_rest(faces):
    template = template_for(faces[1])
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (300, 260, 3)).astype(np.uint8)
    photo = np.asarray(Image.fromarray(photo).filter(ImageFilter.GaussianBlur(6)))
    clicked = similar_points(template.points, 10.0, 3.0, (60.0, 50.0))
    face = align_face(photo, clicked, template)
    same = paste_back(photo, face.image, face.matrix)
    assert np.abs(same.astype(int) - photo.astype(int)).mean() < 2.0  # pasting the unedited face changes little
    grey = np.full_like(face.image, 128)
    pasted = paste_back(photo, grey, face.matrix)
    centre = apply_transform(np.linalg.inv(np.vstack([face.matrix, [0, 0, 1]]))[:2], [(32, 40)])[0]
    cx, cy = int(centre[0]), int(centre[1])
    assert np.abs(pasted[cy - 3:cy + 3, cx - 3:cx + 3].astype(int) - 128).max() <= 1  # the face's middle is the edit
    assert np.array_equal(pasted[:5, :5], photo[:5, :5]) and np.array_equal(pasted[-5:, -5:], photo[-5:, -5:])


# ---------------------------------------------------------------------------------------------------------------
# Projection and tuning


def test_w_plus_projection_reaches_a_fit_that_w_avg_does_not(faces, offline, one_thread):
    G, _ = faces
    ws, target = generated(G, 11)
    start = picture_psnr(to_uint8(render(G, w_avg(G).expand(1, G.num_ws, -1)))[0], target)
    reports = []
    result = project(G, target, ProjectionSettings(steps=40, preview_every=20), offline, reports.append)
    fit = picture_psnr(result.image, target)
    assert start < 15.0 and fit > 20.0, f"w_avg {start:.1f} dB, projected {fit:.1f} dB"
    assert result.ws.shape == ws.shape and result.space == "w+" and result.loss_name == "offline"
    assert [r.step for r in reports] == list(range(1, 41)) and reports[-1].loss < reports[0].loss
    assert [r.step for r in reports if r.preview is not None] == [20, 40]
    assert reports[-1].preview.shape == (64, 64, 3)
    assert G.synthesis.conv.noise.const.requires_grad is False  # the caller's generator is untouched

    w_only = project(G, target, ProjectionSettings(space="w", steps=10), offline)
    assert torch.equal(w_only.ws[:, :1].expand_as(w_only.ws), w_only.ws)  # W: one w for every row


def test_cancel_stops_between_steps(faces, offline):
    G, _ = faces
    _, target = generated(G, 12)
    seen = []
    with pytest.raises(Cancelled):
        project(G, target, ProjectionSettings(steps=50), offline, seen.append, cancelled=lambda: len(seen) >= 3)
    assert len(seen) == 3
    with pytest.raises(Cancelled):
        pivotal_tuning(G, w_avg(G).expand(1, G.num_ws, -1), target, TuningSettings(steps=50), offline,
                       seen.append, cancelled=lambda: len(seen) >= 5)


def test_pivotal_tuning_improves_the_fit_and_leaves_the_original(faces, offline, shared_data, one_thread):
    G, cfg = faces
    target = frame_photo(load_photo(shared_data / CELEBA / "009995.jpg"), 64, 70).image
    found = project(G, target, ProjectionSettings(space="w", steps=15), offline)
    before = picture_psnr(found.image, target)
    weights = G.synthesis.torgb.conv.weight.clone()
    tuned = pivotal_tuning(G, found.ws, target, TuningSettings(steps=12, lr=1e-3, locality_every=3), offline)
    after = picture_psnr(tuned.image, target)
    assert after > before + 0.5, f"tuning went from {before:.2f} to {after:.2f} dB"
    assert torch.equal(G.synthesis.torgb.conv.weight, weights) and tuned.G is not G


def test_imported_stylegan2_and_stylegan3_project(offline):
    from ganstudio.core.imported import stylegan2
    from ganstudio.core.imported.stylegan3 import build_stylegan3
    from tests.imported_fixtures import TINY, random_generator

    sg2 = random_generator(stylegan2.ADA, TINY)
    torch.manual_seed(0)
    sg3 = build_stylegan3(dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=16, img_channels=3, channel_base=256,
                               channel_max=16, num_layers=4, num_critical=2, mapping_kwargs=dict(num_layers=2))).eval()
    for G in (sg2, sg3):
        G.requires_grad_(False)
        _, target = generated(G, 3)
        result = project(G, target, ProjectionSettings(steps=12), offline)
        assert result.image.shape == target.shape and np.isfinite(result.loss)
        tuned = pivotal_tuning(G, result.ws, target, TuningSettings(steps=2), offline)
        assert tuned.image.shape == target.shape


def test_projection_refuses_what_it_cannot_do(faces, offline):
    G, _ = faces
    with pytest.raises(GanStudioError, match="draws"):
        project(G, np.zeros((32, 32, 3), np.uint8), ProjectionSettings(steps=1), offline)
    with pytest.raises(GanStudioError, match="space"):
        project(G, np.zeros((64, 64, 3), np.uint8), ProjectionSettings(space="z"), offline)
    with pytest.raises(GanStudioError, match="StyleGAN"):
        project(torch.nn.Linear(2, 2), np.zeros((64, 64, 3), np.uint8), ProjectionSettings(steps=1), offline)


# ---------------------------------------------------------------------------------------------------------------
# Losses


def test_offline_loss_is_zero_for_the_same_picture_and_grows_with_difference(offline):
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    assert float(offline(x, x)) == pytest.approx(0.0, abs=1e-6) and float(ssim(x, x)) == pytest.approx(1.0)
    near, far = x + 0.05 * torch.randn_like(x), torch.rand_like(x) * 2 - 1
    assert 0 < float(offline(near, x)) < float(offline(far, x))
    assert isinstance(photo_loss("offline"), OfflineLoss)


def test_lpips_wiring_with_local_vgg16_weights(tmp_path, monkeypatch):
    """LPIPS with a VGG16 whose weights are random but read from a local file: only the wiring is checked (no
    real VGG16 weights can be downloaded here)."""
    from torchvision.models.vgg import cfgs, make_layers

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-cache"))
    assert isinstance(photo_loss("auto"), OfflineLoss)  # no weights in the cache: the offline loss, nothing fetched
    with pytest.raises(GanStudioError, match="VGG16"):
        photo_loss("lpips")
    torch.manual_seed(0)
    weights = tmp_path / "vgg16-random.pth"
    torch.save({f"features.{k}": v for k, v in make_layers(cfgs["D"]).state_dict().items()}, weights)
    loss = photo_loss("auto", weights)
    assert isinstance(loss, LPIPSLoss) and loss.name == "lpips-vgg16"
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    y = (x + 0.3 * torch.randn_like(x)).requires_grad_(True)
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    value = loss(y, x).sum()
    value.backward()
    assert float(value.detach()) > 0 and y.grad is not None and y.grad.abs().sum() > 0
    cached = tmp_path / "cache" / "checkpoints"
    cached.mkdir(parents=True)
    (cached / "vgg16-397923af.pth").write_bytes(weights.read_bytes())
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "cache"))
    assert isinstance(photo_loss("auto"), LPIPSLoss)  # torchvision's file in torch's cache is found
    (tmp_path / "not-vgg.pth").write_bytes(b"garbage")
    with pytest.raises(GanStudioError):
        photo_loss("lpips", tmp_path / "not-vgg.pth")


# ---------------------------------------------------------------------------------------------------------------
# Latent files


def test_latent_file_round_trip_and_refusal_for_another_model(faces, tmp_path):
    G, cfg = faces
    ws, _ = generated(G, 5)
    path = save_latent(tmp_path / "me.npz", make_latent(ws, G, cfg, "projection", "w+", photo="me.jpg",
                                                        alignment=np.eye(2, 3), info={"steps": 3}))
    back = load_latent(path)
    assert torch.equal(back.tensor(), ws) and back.space == "w+" and back.source == "projection"
    assert back.photo == "me.jpg" and back.info == {"steps": 3} and np.array_equal(back.alignment, np.eye(2, 3))
    back.check_fits(G, cfg)
    other = load_generator(bundled_model("faces").file, "cpu")[0]
    with torch.no_grad():
        next(other.parameters()).add_(0.01)  # same shape, other weights
    with pytest.raises(GanStudioError, match="another model") as info:
        back.check_fits(other, cfg)
    assert "\n" not in str(info.value)
    from ganstudio.core.imported import stylegan2, run_config
    from tests.imported_fixtures import TINY, random_generator

    tiny = random_generator(stylegan2.ADA, TINY)
    tiny_cfg = run_config(type("Net", (), {"kwargs": TINY})(), "tiny")
    with pytest.raises(GanStudioError, match="another model"):
        back.check_fits(tiny, tiny_cfg)


def test_damaged_and_pickled_latent_files_are_refused(tmp_path):
    np.savez(tmp_path / "objects.npz", ws=np.array([{"a": 1}], dtype=object))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    np.savez(tmp_path / "nows.npz", x=np.zeros(3))
    for name in ("objects.npz", "junk.npz", "nows.npz", "missing.npz"):
        with pytest.raises(GanStudioError) as info:
            load_latent(tmp_path / name)
        assert "\n" not in str(info.value)
    np.savez(tmp_path / "old.npz", ws=np.zeros((1, 10, 128), np.float32), seed=3, psi=0.7)  # drag's old files
    assert load_latent(tmp_path / "old.npz").space == "w+"


# ---------------------------------------------------------------------------------------------------------------
# Command line


def test_cli_project_sample_and_drag_with_a_latent(faces, shared_data, tmp_path, capsys):
    from ganstudio.cli import main

    photo = shared_data / CELEBA / "009993.jpg"
    _, cfg = faces
    template = template_for(cfg)
    # the eyes and mouth of an aligned CelebA face, in its own pixels (the template before the model's framing)
    points = apply_transform(np.linalg.inv(np.vstack([frame_photo(load_photo(photo), 64, 70).matrix, [0, 0, 1]]))[:2],
                             template.points)
    out = tmp_path / "me.npz"
    align = ",".join(f"{v:.2f}" for v in points.reshape(-1))
    assert main(["project", "--checkpoint", "bundled:faces", "--image", str(photo), "--align", align, "--steps", "3",
                 "--pti", "--pti-steps", "2", "--out", str(out)]) == 0
    for name in ("me.npz", "me-aligned.png", "me-projected.png", "me-tuned.png", "me-pti.safetensors"):
        assert (tmp_path / name).is_file(), name
    latent = load_latent(out)
    assert latent.source == "projection" and latent.tuned_generator == "me-pti.safetensors"
    assert "PSNR" in capsys.readouterr().err

    directions = bundled_model("faces").directions
    picture = tmp_path / "smile.png"
    assert main(["sample", "--checkpoint", "bundled:faces", "--latent", str(out), "--direction",
                 f"{directions}:0=3", "--out", str(picture)]) == 0
    assert Image.open(picture).size == (64, 64)
    plain = tmp_path / "plain.png"
    assert main(["sample", "--checkpoint", "bundled:faces", "--latent", str(out), "--out", str(plain)]) == 0
    assert np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(tmp_path / "me-tuned.png")))
    assert not np.array_equal(np.asarray(Image.open(plain)), np.asarray(Image.open(picture)))

    dragged, dragged_latent = tmp_path / "drag.png", tmp_path / "sub" / "drag.npz"
    assert main(["drag", "--checkpoint", "bundled:faces", "--latent", str(out), "--handle", "30,40", "--target",
                 "32,40", "--steps", "2", "--out", str(dragged), "--latent-out", str(dragged_latent)]) == 0
    again = load_latent(dragged_latent)
    assert again.source == "drag" and again.tuned_path(dragged_latent).resolve() == (tmp_path / "me-pti.safetensors")
    assert main(["sample", "--checkpoint", "bundled:faces", "--latent", str(dragged_latent), "--out",
                 str(tmp_path / "d2.png")]) == 0


def test_cli_refuses_a_latent_of_another_model_and_a_corrupt_photo(tmp_path, capsys):
    from ganstudio.cli import main
    from ganstudio.core.imported import stylegan2
    from tests.imported_fixtures import TINY, random_generator, write_nvidia_pickle

    net = write_nvidia_pickle(tmp_path / "net.pkl", random_generator(stylegan2.ADA, TINY), TINY)
    G, cfg = load_generator(bundled_model("faces").file, "cpu")
    save_latent(tmp_path / "faces.npz", make_latent(generated(G, 1)[0], G, cfg, "seed"))
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(net), "--latent", str(tmp_path / "faces.npz"), "--out",
                 str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err.strip()
    assert "another model" in err and len(err.splitlines()) == 1
    assert main(["drag", "--checkpoint", str(net), "--latent", str(tmp_path / "faces.npz"), "--handle", "3,3",
                 "--target", "4,4", "--out", str(tmp_path / "y.png")]) == 1
    assert "another model" in capsys.readouterr().err
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 broken")
    assert main(["project", "--checkpoint", "bundled:faces", "--image", str(bad), "--out",
                 str(tmp_path / "p.npz")]) == 1
    err = capsys.readouterr().err.strip()
    assert "bad.jpg" in err and len(err.splitlines()) == 1
