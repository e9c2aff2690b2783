"""What projection minimises: how far a generated image is from the photo.

Two losses, chosen by `photo_loss()`:
- **LPIPS (VGG16)** (Zhang et al. 2018) when VGG16's ImageNet weights are on this machine: torchvision's file in
  torch's cache (`vgg16-397923af.pth`, left there by any earlier torchvision download) or a file the user names.
  Nothing is ever downloaded. The per-channel weights of LPIPS's linear layers come from the `lpips` package
  when it is installed (`pip install ganstudio[lpips]`; they ship inside its wheel); without it every channel
  weighs the same (LPIPS's uncalibrated "baseline" variant). Plus the pixel term below.
- **Offline** (the default on a fresh install, and what the tests and benchmark measure): multi-scale pixels
  (mean squared error at full, half and quarter size) + (1 - SSIM) + the distance between the unit-normalised
  activations of four layers (32, 16, 8, 4 px) of the CelebA attribute classifier that ships with GAN Studio
  (`resources/extractors/celeba-attributes.safetensors`), computed on the image resized to 64 px. The classifier
  was trained on faces, so its features suit face models; on other pictures they still act as generic edges and
  textures.

Images are [N, C, H, W] in [-1, 1]; a loss returns one number per image.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.core.errors import GanStudioError

VGG16_FILE = "vgg16-397923af.pth"  # torchvision's name for VGG16's ImageNet weights
VGG16_LAYERS = (3, 8, 15, 22, 29)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in vgg16().features
VGG16_CHANNELS = (64, 128, 256, 512, 512)
CLASSIFIER_LAYERS = (2, 8, 14, 17)  # the ReLUs of the CelebA classifier at 32, 16, 8 and 4 px
LOSS_NAMES = ("auto", "offline", "lpips")


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / (x.square().sum(dim=1, keepdim=True) + 1e-10).sqrt()


def pixel_distance(image: torch.Tensor, target: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """Mean squared error averaged over `scales` sizes (full, half, quarter ...), per image."""
    total = image.new_zeros(image.shape[0])
    for k in range(scales):
        if k:
            image, target = F.avg_pool2d(image, 2), F.avg_pool2d(target, 2)
        total = total + (image - target).square().mean(dim=(1, 2, 3))
        if image.shape[-1] < 8:
            return total / (k + 1)
    return total / scales


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-x.square() / (2 * sigma ** 2))
    return g / g.sum()


def ssim(image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004, 11-tap Gaussian window of sigma 1.5, on [0, 1] values), per image."""
    x, y = (image + 1) / 2, (target + 1) / 2
    channels = x.shape[1]
    size = min(11, x.shape[-1] - (1 - x.shape[-1] % 2))
    g = _gaussian_window(size).to(x)
    wx = g.reshape(1, 1, 1, -1).expand(channels, 1, 1, size)
    wy = g.reshape(1, 1, -1, 1).expand(channels, 1, size, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, wx, groups=channels), wy, groups=channels)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return s.mean(dim=(1, 2, 3))


def psnr(image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of images in [-1, 1] (peak 2), per image."""
    mse = (image.float() - target.float()).square().mean(dim=(1, 2, 3)).clamp(min=1e-12)
    return 10 * torch.log10(4.0 / mse)


class PhotoLoss(nn.Module):
    """pixel_weight * multi-scale pixels + perceptual terms; `perceptual(image, target)` alone is the distance
    the benchmark reports."""

    name = "base"

    def __init__(self, pixel_weight: float = 1.0):
        super().__init__()
        self.pixel_weight = pixel_weight

    def perceptual(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.pixel_weight * pixel_distance(image, target) + self.perceptual(image, target)


class OfflineLoss(PhotoLoss):
    """Multi-scale pixels + (1 - SSIM) + CelebA-classifier features: works offline, out of the box."""

    name = "offline"

    def __init__(self, pixel_weight: float = 1.0, ssim_weight: float = 0.1, feature_weight: float = 0.1,
                 device: torch.device | str = "cpu"):
        super().__init__(pixel_weight)
        from ganstudio.core.metrics.extractors import shipped_path
        from ganstudio.core.metrics.networks import load_network

        path = shipped_path("celeba")
        if not path.is_file():
            raise GanStudioError(f"the CelebA classifier's weights are missing from this installation ({path}); "
                                 "reinstall GAN Studio")
        with torch.random.fork_rng(devices=[]):
            net, _ = load_network(path)
        last = max(CLASSIFIER_LAYERS)
        self.body = nn.Sequential(*list(net.body)[:last + 1]).to(device).eval().requires_grad_(False)
        for m in self.body:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self.ssim_weight, self.feature_weight = ssim_weight, feature_weight

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised classifier activations of images resized to 64 px."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-1] != 64:
            x = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False, antialias=x.shape[-1] > 64)
        out = []
        for i, layer in enumerate(self.body):
            x = layer(x)
            if i in CLASSIFIER_LAYERS:
                out.append(_unit(x))
        return out

    def feature_distance(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean squared distance of the unit-normalised features, summed over the layers, per image."""
        total = image.new_zeros(image.shape[0])
        for a, b in zip(self.features(image), self.features(target)):
            total = total + (a - b).square().sum(dim=1).mean(dim=(1, 2))
        return total

    def perceptual(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.ssim_weight * (1 - ssim(image, target)) + self.feature_weight * self.feature_distance(image, target)


class LPIPSLoss(PhotoLoss):
    """LPIPS with VGG16 features (weights read from a local file, never downloaded) + the pixel term."""

    name = "lpips-vgg16"

    def __init__(self, vgg_weights: str | Path, pixel_weight: float = 1.0, device: torch.device | str = "cpu"):
        super().__init__(pixel_weight)
        from torchvision.models.vgg import cfgs, make_layers

        state = _read_weights(Path(vgg_weights))
        features = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        if not features:
            features = state  # a file holding vgg16().features' own state dict
        with torch.random.fork_rng(devices=[]):
            net = make_layers(cfgs["D"])[:max(VGG16_LAYERS) + 1]  # vgg16().features, without the classifier
        try:
            net.load_state_dict(features, strict=True)
        except RuntimeError:
            raise GanStudioError(f"{Path(vgg_weights).name} does not hold VGG16's weights") from None
        for m in net:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self.net = net.to(device).eval().requires_grad_(False)
        self.lin = nn.ParameterList([nn.Parameter(w.to(device), requires_grad=False) for w in _lpips_linear_weights()])
        # LPIPS's input scaling: ImageNet's mean and std, re-expressed for images in [-1, 1]
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188], device=device).reshape(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450], device=device).reshape(1, 3, 1, 1))
        self.calibrated = _lpips_package_weights() is not None

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-1] > 256:  # as the StyleGAN2 projector: LPIPS at 256 px at most
            x = F.interpolate(x, size=(256, 256), mode="area")
        x = (x - self.shift) / self.scale
        out = []
        for i, layer in enumerate(self.net):
            x = layer(x)
            if i in VGG16_LAYERS:
                out.append(_unit(x))
        return out

    def perceptual(self, image: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = image.new_zeros(image.shape[0])
        for w, a, b in zip(self.lin, self.features(image), self.features(target)):
            total = total + ((a - b).square() * w.reshape(1, -1, 1, 1)).sum(dim=1).mean(dim=(1, 2))
        return total


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from .safetensors or a torch file read with weights_only (never unpickled)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise GanStudioError(f"there is no VGG16 weight file {path}") from None
    except Exception:
        raise GanStudioError(f"{path.name} is not a weight file GAN Studio can read safely") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise GanStudioError(f"{path.name} does not hold a state dict of tensors")
    return state


def _lpips_package_weights() -> Path | None:
    """The VGG linear-layer weights inside an installed `lpips` package, if any."""
    try:
        from importlib.resources import files

        path = Path(str(files("lpips") / "weights" / "v0.1" / "vgg.pth"))
    except (ImportError, ModuleNotFoundError, TypeError):
        return None
    return path if path.is_file() else None


def _lpips_linear_weights() -> list[torch.Tensor]:
    """LPIPS's per-channel weights for the five VGG layers: the lpips package's, else uniform (1 / channels)."""
    path = _lpips_package_weights()
    if path is not None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            return [state[f"lin{i}.model.1.weight"].reshape(-1).float() for i in range(len(VGG16_CHANNELS))]
        except Exception:  # a damaged or changed package file: fall back to the uncalibrated variant
            pass
    return [torch.full((c,), 1.0 / c) for c in VGG16_CHANNELS]


def vgg16_weights(explicit: str | Path | None = None) -> Path | None:
    """VGG16's weights: the file named, else torchvision's file in torch's cache, else None (never downloaded)."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise GanStudioError(f"there is no VGG16 weight file {path}")
        return path
    cached = Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE
    return cached if cached.is_file() else None


def photo_loss(kind: str = "auto", vgg_weights: str | Path | None = None,
               device: torch.device | str = "cpu") -> PhotoLoss:
    """The projection loss: "lpips" (needs VGG16's weights), "offline", or "auto" (LPIPS when the weights are
    here, else offline)."""
    if kind not in LOSS_NAMES:
        raise GanStudioError(f"unknown projection loss {kind!r}; use {', '.join(LOSS_NAMES)}")
    path = vgg16_weights(vgg_weights) if kind != "offline" else None
    if kind == "lpips" and path is None:
        raise GanStudioError(f"LPIPS needs VGG16's weights: name the file, or put torchvision's {VGG16_FILE} in "
                             f"{Path(torch.hub.get_dir()) / 'checkpoints'}")
    if path is not None:
        return LPIPSLoss(path, device=device)
    return OfflineLoss(device=device)
