"""Face alignment for projection: from the three points a user clicks on a photo (both eye centres and the mouth
centre) a similarity transform to the model's template, the photo warped to the model's resolution, and the edited
face pasted back into the photo with a feathered mask.

Coordinates are continuous pixels: (0, 0) is the top-left corner of the image and pixel (i, j) covers
[i, i + 1] x [j, j + 1], so its centre is (i + 0.5, j + 0.5). Points are (x, y) in this order: the eye on the
left of the picture, the eye on the right, the mouth centre.

Templates:
- **CelebA** (GAN Studio's face model and models trained on CelebA's aligned faces). CelebA's aligned images
  already put the eyes and mouth at nearly fixed places, but the data here has no landmark file, so the template
  was measured on the mean of the 10,000 half-size faces (89 x 109) in ../shared/data/celeba-10k: the darkest
  point of each eye (a luminance minimum, refined by a darkness-weighted centroid in a 5 x 5 window) lies at
  (34.5, 55.5) and (54.5, 55.5), the dark line between the lips (a parabola through the darkest row of the
  mouth) at y = 76.5 on the face's symmetry axis x = 44.5. Doubled, these agree within a pixel with the means of
  CelebA's published landmarks for the 178 x 218 images (eyes near (69, 111) and (108, 111), mouth corners at
  y = 152). The model's own crop (centre square, then resize) carries them into its pixels.
- **FFHQ** (imported StyleGAN2/3 face models): the rule with which FFHQ was cut from its photos (Karras et al.
  2019, the dataset's alignment script): with e the mid-point of the eyes, x the eye-to-eye vector and m the
  eye-to-mouth vector, the square's centre is e + 0.1 m, its side is 2 max(2 |x|, 1.8 |m|) and it is turned so
  that its horizontal axis follows x - rot90(m). Our mouth centre stands for the mid-point of the mouth corners.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ganstudio.core.errors import GanStudioError

POINT_NAMES = ("left eye", "right eye", "mouth")
CELEBA_HALF_SIZE = (89, 109)  # the half-size CelebA images GAN Studio's face model was trained on
CELEBA_HALF_POINTS = ((34.5, 55.5), (54.5, 55.5), (44.5, 76.5))  # measured on their mean face (see above)
TEMPLATES = ("celeba", "ffhq")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class FaceTemplate:
    """Where a model wants the eyes and mouth: "celeba" (fixed points in model pixels, fitted by least squares)
    or "ffhq" (FFHQ's alignment rule), at the model's resolution."""

    name: str
    resolution: int
    points: tuple[tuple[float, float], ...] = ()  # celeba: left eye, right eye, mouth in model pixels

    def transform(self, points: Sequence[Sequence[float]]) -> np.ndarray:
        """The 2x3 matrix taking photo pixels to model pixels for the three clicked points."""
        src = _three_points(points)
        if self.name == "ffhq":
            return _ffhq_transform(src, self.resolution)
        return similarity_transform(src, np.asarray(self.points, np.float64))


def celeba_template(resolution: int, center_crop: int | None = 70,
                    source_size: tuple[int, int] = CELEBA_HALF_SIZE) -> FaceTemplate:
    """The CelebA template in the pixels of a model trained on CelebA's aligned faces of `source_size` (w, h),
    framed as GAN Studio frames data: an optional centre square of `center_crop`, the shorter side resized to
    `resolution`, the central square."""
    w, h = source_size
    scale = source_size[0] / CELEBA_HALF_SIZE[0]
    pts = np.asarray(CELEBA_HALF_POINTS, np.float64) * scale
    if center_crop:
        side = min(center_crop, w, h)
        pts -= (int(round((w - side) / 2.0)), int(round((h - side) / 2.0)))  # torchvision's centre crop offsets
        w = h = side
    short = min(w, h)
    new_w, new_h = (resolution, int(resolution * h / w)) if w <= h else (int(resolution * w / h), resolution)
    pts *= resolution / short
    pts -= (int(round((new_w - resolution) / 2.0)), int(round((new_h - resolution) / 2.0)))
    return FaceTemplate("celeba", resolution, tuple((float(x), float(y)) for x, y in pts))


def ffhq_template(resolution: int) -> FaceTemplate:
    """FFHQ's alignment rule at the model's resolution."""
    return FaceTemplate("ffhq", resolution)


def template_for(config, imported: bool = False, name: str | None = None) -> FaceTemplate:
    """The template of a model: FFHQ's for imported models and 256 px or more, else CelebA's as the model's data
    was framed (`name` forces "celeba" or "ffhq")."""
    resolution = int(config.model.resolution)
    if name is None:
        name = "ffhq" if imported or resolution >= 256 else "celeba"
    if name not in TEMPLATES:
        raise GanStudioError(f"unknown face template {name!r}; use {' or '.join(TEMPLATES)}")
    if name == "ffhq":
        return ffhq_template(resolution)
    crop = config.data.center_crop
    full = config.data.source == "celeba" or (crop or 0) > CELEBA_HALF_SIZE[0]  # torchvision's 178 x 218 images
    size = (2 * CELEBA_HALF_SIZE[0], 2 * CELEBA_HALF_SIZE[1]) if full else CELEBA_HALF_SIZE
    return celeba_template(resolution, crop, size)


def _three_points(points: Sequence[Sequence[float]]) -> np.ndarray:
    try:
        src = np.asarray(points, np.float64).reshape(3, 2)
    except ValueError:
        raise GanStudioError("alignment needs three points: the left eye, the right eye and the mouth centre, "
                             "as x,y pixels") from None
    if not np.isfinite(src).all():
        raise GanStudioError("the alignment points must be finite numbers")
    eyes = np.linalg.norm(src[1] - src[0])
    mouth = np.linalg.norm(src[2] - (src[0] + src[1]) / 2)
    if eyes < 2.0 or mouth < 2.0:
        raise GanStudioError("the eyes and the mouth must be at least 2 pixels apart to align a face")
    (ax, ay), (bx, by) = src[1] - src[0], src[2] - src[0]
    if ax * by - ay * bx <= 0:  # y points down: the mouth must lie below the eyes' line
        raise GanStudioError("the alignment points are in the wrong order or in a line: click the eye on the "
                             "left of the picture, then the one on the right, then the mouth")
    return src


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The least-squares rotation, uniform scale and shift taking src points [K, 2] to dst (Umeyama 1991), 2x3."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, 1.0 if np.linalg.det(u @ vt) > 0 else -1.0])
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / ((s ** 2).sum() / len(src))
    a = scale * rot
    return np.hstack([a, (mu_d - a @ mu_s)[:, None]])


def _ffhq_transform(src: np.ndarray, resolution: int) -> np.ndarray:
    eye_mid = (src[0] + src[1]) / 2
    eye_to_eye = src[1] - src[0]
    eye_to_mouth = src[2] - eye_mid
    axis = eye_to_eye + np.array([eye_to_mouth[1], -eye_to_mouth[0]])  # x - rot90(m), y pointing down
    axis /= np.linalg.norm(axis)
    half = max(2.0 * np.linalg.norm(eye_to_eye), 1.8 * np.linalg.norm(eye_to_mouth))
    centre = eye_mid + 0.1 * eye_to_mouth
    down = np.array([-axis[1], axis[0]])
    corner = centre - half * axis - half * down
    k = resolution / (2.0 * half)
    a = k * np.stack([axis, down])
    return np.hstack([a, (-a @ corner)[:, None]])


def apply_transform(matrix: np.ndarray, points: Sequence[Sequence[float]]) -> np.ndarray:
    """Points [K, 2] mapped by a 2x3 matrix."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    return p @ matrix[:, :2].T + matrix[:, 2]


def invert_transform(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine matrix."""
    a_inv = np.linalg.inv(matrix[:, :2])
    return np.hstack([a_inv, (-a_inv @ matrix[:, 2])[:, None]])


# ---------------------------------------------------------------------------------------------------------------
# Photos


def load_photo(path: str | Path, channels: int = 3) -> np.ndarray:
    """A photo as uint8 [H, W, C] (JPEG, PNG, WebP, TIFF ...), turned upright by its EXIF orientation; a file
    that cannot be read is a GanStudioError of one sentence."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from ganstudio.core.data.decode import _check_pixels, _to_mode, bombs_as_errors, short_reason

    path = Path(path).expanduser()
    try:
        with bombs_as_errors(), Image.open(path) as im:
            _check_pixels(im.size)
            im.load()
            image = _to_mode(ImageOps.exif_transpose(im), channels)
    except FileNotFoundError:
        raise GanStudioError(f"there is no photo {path}") from None
    except UnidentifiedImageError:
        raise GanStudioError(f"{path.name} is not an image GAN Studio can read (JPEG, PNG, WebP or TIFF)") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise GanStudioError(f"{path.name} has too many pixels to open safely") from None
    except GanStudioError as exc:
        raise GanStudioError(f"cannot read the photo {path.name}: {exc}") from None
    except Exception as exc:  # Pillow raises many types on damaged files
        raise GanStudioError(f"cannot read the photo {path.name}: it is damaged ({short_reason(exc, 80)})") from None
    array = np.asarray(image, dtype=np.uint8)
    return array[:, :, None] if array.ndim == 2 else array


def warp(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], padding: str = "reflection") -> np.ndarray:
    """Resample image [H, W, C] (uint8 or float) into an output of size (w, h) whose pixel p shows the input at
    matrix^-1 p, where `matrix` takes input pixels to output pixels; float32 [h, w, C] in the input's range.
    A strong reduction first shrinks the input by an integer factor (box filter) so that nothing aliases."""
    src = torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1)[None]
    m = np.asarray(matrix, np.float64)
    zoom = math.sqrt(abs(np.linalg.det(m[:, :2])))  # output pixels per input pixel
    factor = int(1.0 / zoom) if zoom < 0.5 else 1
    if factor > 1:
        src = F.avg_pool2d(src, factor, ceil_mode=True, count_include_pad=False)
        m = np.hstack([m[:, :2] * factor, m[:, 2:]])  # the shrunk pixel p is the input pixel factor * p
    h_in, w_in = src.shape[-2:]
    w, h = size
    inv = invert_transform(m)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64) + 0.5, torch.arange(w, dtype=torch.float64) + 0.5,
                            indexing="ij")
    inv_t = torch.as_tensor(inv)
    sx = inv_t[0, 0] * xs + inv_t[0, 1] * ys + inv_t[0, 2]
    sy = inv_t[1, 0] * xs + inv_t[1, 1] * ys + inv_t[1, 2]
    grid = torch.stack([sx / w_in * 2 - 1, sy / h_in * 2 - 1], dim=-1)[None].float()
    out = F.grid_sample(src, grid, mode="bicubic", padding_mode=padding, align_corners=False)
    lo, hi = float(src.min()), float(src.max())
    return out[0].clamp(lo, hi).permute(1, 2, 0).numpy()


@dataclass(frozen=True)
class AlignedFace:
    """A photo's face at the model's resolution and how it got there."""

    image: np.ndarray  # uint8 [R, R, C]
    matrix: np.ndarray  # 2x3: photo pixels -> model pixels
    template: str
    photo_size: tuple[int, int]  # (w, h) of the upright photo

    def to_model(self, points: Sequence[Sequence[float]]) -> np.ndarray:
        """Photo points in model pixels."""
        return apply_transform(self.matrix, points)


def align_face(photo: np.ndarray, points: Sequence[Sequence[float]], template: FaceTemplate) -> AlignedFace:
    """Crop and warp the photo [H, W, C] so that its eyes and mouth fall on the template (outside the photo the
    picture is mirrored, as FFHQ pads)."""
    matrix = template.transform(points)
    r = template.resolution
    face = warp(photo, matrix, (r, r))
    image = np.clip(np.rint(face), 0, 255).astype(np.uint8)
    return AlignedFace(image, matrix, template.name, (photo.shape[1], photo.shape[0]))


def feather_mask(resolution: int, feather: float = 0.12) -> np.ndarray:
    """float32 [R, R]: 1 inside, falling smoothly to 0 over the outer `feather` of the square on each side."""
    t = (np.arange(resolution, dtype=np.float64) + 0.5) / resolution
    edge = np.clip(np.minimum(t, 1.0 - t) / max(feather, 1e-6), 0.0, 1.0)
    ramp = edge * edge * (3.0 - 2.0 * edge)  # smoothstep
    return np.outer(ramp, ramp).astype(np.float32)


def paste_back(photo: np.ndarray, face: np.ndarray, matrix: np.ndarray, feather: float = 0.12) -> np.ndarray:
    """The photo [H, W, C] uint8 with an edited face [R, R, C] (uint8) warped back where it was cut out, blended
    through a feathered mask."""
    h, w = photo.shape[:2]
    r = face.shape[0]
    inv = invert_transform(np.asarray(matrix, np.float64))
    corners = apply_transform(inv, [(0, 0), (r, 0), (0, r), (r, r)])
    x0, y0 = np.floor(corners.min(0)).astype(int)
    x1, y1 = np.ceil(corners.max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    out = photo.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    box = np.hstack([matrix[:, :2], (matrix[:, :2] @ np.array([x0, y0]) + matrix[:, 2])[:, None]])  # box -> model
    layers = np.concatenate([face.astype(np.float32), feather_mask(r, feather)[:, :, None]], axis=2)
    warped = warp(layers, invert_transform(box), (x1 - x0, y1 - y0), padding="zeros")
    alpha = np.clip(warped[:, :, -1:], 0.0, 1.0)
    region = out[y0:y1, x0:x1].astype(np.float32)
    blended = region * (1.0 - alpha) + warped[:, :, :-1] * alpha
    out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


def parse_points(text: str) -> list[tuple[float, float]]:
    """"X1,Y1,X2,Y2,X3,Y3" (left eye, right eye, mouth centre, in photo pixels) as three points."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 6:
        raise GanStudioError(f"--align {text!r} must be six numbers X1,Y1,X2,Y2,X3,Y3: the left eye, the right eye "
                             "and the mouth centre in photo pixels")
    return [(values[0], values[1]), (values[2], values[3]), (values[4], values[5])]


def frame_photo(photo: np.ndarray, resolution: int, center_crop: int | None = None) -> AlignedFace:
    """A photo that is already aligned (e.g. one of CelebA's aligned faces), framed as training data is: an
    optional centre square of `center_crop`, the shorter side resized to `resolution`, the central square."""
    h, w = photo.shape[:2]
    ox = oy = 0
    if center_crop:
        side = min(center_crop, w, h)
        ox, oy = int(round((w - side) / 2.0)), int(round((h - side) / 2.0))
        w = h = side
    s = resolution / min(w, h)
    new_w, new_h = (resolution, int(resolution * h / w)) if w <= h else (int(resolution * w / h), resolution)
    cx, cy = int(round((new_w - resolution) / 2.0)), int(round((new_h - resolution) / 2.0))
    matrix = np.array([[s, 0.0, -s * ox - cx], [0.0, s, -s * oy - cy]])
    face = warp(photo, matrix, (resolution, resolution))
    image = np.clip(np.rint(face), 0, 255).astype(np.uint8)
    return AlignedFace(image, matrix, "framed", (photo.shape[1], photo.shape[0]))
