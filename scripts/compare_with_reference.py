"""Compare GAN Studio's imported StyleGAN2 generators with the reference implementations, pixel by pixel.

Point it at checkouts you have yourself (nothing of theirs is in this repository):

    python scripts/compare_with_reference.py --stylegan2-ada ~/src/stylegan2-ada-pytorch \
        --stylegan3 ~/src/stylegan3 --rosinality ~/src/stylegan2-pytorch

For several configurations it builds the reference generator with random weights, serializes it in memory the way
the reference code saves it (pickle.dump for NVIDIA, torch.save for rosinality), imports that through GAN Studio's
safe reader, and renders the same z, c, psi and noise mode with both, in float32 on the CPU (the references fall
back to their pure-PyTorch ops there). It prints the largest absolute pixel difference per configuration and writes
no files. Exit status 1 when any difference exceeds --tolerance.
"""
from __future__ import annotations

import argparse
import io
import pickle
import sys
import types
from pathlib import Path

import torch

from ganstudio.core.fitting import build_fitted
from ganstudio.core.imported import build_generator, read_network_from
from ganstudio.core.imported.stylegan2 import build_discriminator

NVIDIA_PACKAGES = ("training", "torch_utils", "dnnlib", "model", "op")

# (name, init kwargs); the NVIDIA configurations mirror the released ones (cifar, paper256, stylegan2 1024, ...)
ADA_CONFIGS = [
    ("64px small, unconditional", dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=64, img_channels=3,
                                       mapping_kwargs=dict(num_layers=2),
                                       synthesis_kwargs=dict(channel_base=2048, channel_max=64))),
    ("32px cifar, c_dim 10, clamp", dict(z_dim=512, c_dim=10, w_dim=512, img_resolution=32, img_channels=3,
                                         mapping_kwargs=dict(num_layers=2),
                                         synthesis_kwargs=dict(channel_base=16384, channel_max=512,
                                                               num_fp16_res=4, conv_clamp=256))),
    ("128px resnet, grayscale, c_dim 3", dict(z_dim=128, c_dim=3, w_dim=128, img_resolution=128, img_channels=1,
                                              mapping_kwargs=dict(num_layers=4, embed_features=32),
                                              synthesis_kwargs=dict(channel_base=4096, channel_max=128,
                                                                    architecture="resnet", conv_clamp=256))),
    ("64px orig", dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=64, img_channels=3,
                       mapping_kwargs=dict(num_layers=3),
                       synthesis_kwargs=dict(channel_base=2048, channel_max=64, architecture="orig"))),
    ("256px paper256", dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=256, img_channels=3,
                            mapping_kwargs=dict(num_layers=8),
                            synthesis_kwargs=dict(channel_base=16384, channel_max=512, num_fp16_res=4,
                                                  conv_clamp=256))),
    ("1024px stylegan2 (FFHQ config)", dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3,
                                            mapping_kwargs=dict(num_layers=8),
                                            synthesis_kwargs=dict(channel_base=32768, channel_max=512,
                                                                  num_fp16_res=4, conv_clamp=256))),
]
SG3_CONFIGS = [
    ("64px, c_dim 5, default clamp", dict(z_dim=64, c_dim=5, w_dim=64, img_resolution=64, img_channels=3,
                                          mapping_kwargs=dict(num_layers=2), channel_base=2048, channel_max=64)),
    ("512px stylegan2 config", dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=512, img_channels=3,
                                    mapping_kwargs=dict(num_layers=2), channel_base=32768, channel_max=512,
                                    num_fp16_res=4, conv_clamp=256)),
]
ROSINALITY_CONFIGS = [  # size, style_dim, n_mlp, channel_multiplier
    ("64px, channel multiplier 1", (64, 128, 4, 1)),
    ("256px, channel multiplier 2", (256, 512, 8, 2)),
    ("128px, channel multiplier 4", (128, 256, 2, 4)),
]
CASES = [(1.0, None, "const"), (0.7, None, "const"), (0.5, 4, "none")]  # psi, truncation_cutoff, noise_mode


def use_reference(path: Path) -> None:
    """Import the reference code from `path` (and forget any other reference's modules of the same names)."""
    for name in list(sys.modules):
        if name.split(".")[0] in NVIDIA_PACKAGES:
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not p.startswith("/") or Path(p).resolve() != path.resolve()]
    sys.path.insert(0, str(path))
    sys.dont_write_bytecode = True  # leave the reference checkout as it is
    try:
        import requests  # noqa: F401  (dnnlib imports it for downloads this comparison never makes)
    except ImportError:
        sys.modules["requests"] = types.ModuleType("requests")
    try:
        import pkg_resources  # noqa: F401  (stylegan3's ops ask it for torch's version; gone with new setuptools)
    except ImportError:
        from packaging.version import parse

        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)


@torch.no_grad()
def randomize(module: torch.nn.Module, seed: int) -> None:
    """Random weights everywhere, biases and noise strengths included (they start at zero)."""
    gen = torch.Generator().manual_seed(seed)
    for name, t in list(module.named_parameters()) + list(module.named_buffers()):
        if "resample_filter" in name or "blur" in name or "kernel" in name:
            continue
        noise = torch.randn(t.shape, generator=gen)
        if name.endswith(("affine.bias", "modulation.bias")):
            t.copy_(1 + 0.2 * noise)
        elif name.endswith(("bias", "noise.weight")) or "noise_strength" in name:
            t.copy_(0.2 * noise)
        elif "w_avg" in name or "latent_avg" in name:
            t.copy_(0.5 * noise)
        else:
            t.copy_(noise * (t.float().std() if t.numel() > 1 and t.float().std() > 0 else 1.0))


def ours(net, name: str) -> torch.nn.Module:
    return build_fitted(lambda: build_generator(net.architecture, net.kwargs), net.state, "generator", name,
                        skip_init=True)


def inputs(z_dim: int, c_dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(2, z_dim, generator=gen)
    c = torch.nn.functional.one_hot(torch.randint(0, c_dim, (2,), generator=gen), c_dim).float() if c_dim else None
    return z, c


@torch.no_grad()
def compare_nvidia(root: Path, configs, repo: str) -> float:
    use_reference(root)
    import dnnlib
    module = __import__("training.networks" if repo == "ada" else "training.networks_stylegan2",
                        fromlist=["Generator"])
    worst = 0.0
    for i, (label, kwargs) in enumerate(configs):
        torch.manual_seed(i)
        ref = module.Generator(**kwargs).eval().requires_grad_(False)
        randomize(ref, i)
        flat = {**kwargs, **kwargs.get("synthesis_kwargs", {})}
        d_kwargs = {k: flat[k] for k in ("c_dim", "img_resolution", "img_channels", "channel_base", "channel_max",
                                         "num_fp16_res", "conv_clamp") if k in flat}
        d_kwargs["architecture"] = "skip" if "orig" in label else "resnet"
        ref_d = module.Discriminator(**d_kwargs, epilogue_kwargs=dnnlib.EasyDict(mbstd_group_size=2)).eval()
        randomize(ref_d.requires_grad_(False), i + 100)
        buffer = io.BytesIO()
        pickle.dump({"G_ema": ref, "D": ref_d,
                     "training_set_kwargs": dnnlib.EasyDict(resolution=kwargs["img_resolution"])}, buffer)
        net = read_network_from(io.BytesIO(buffer.getvalue()), label, "pickle")
        G = ours(net, label)
        diffs = []
        for j, (psi, cutoff, noise_mode) in enumerate(CASES):
            z, c = inputs(kwargs["z_dim"], kwargs["c_dim"], j)
            extra = {"force_fp32": True}
            a = ref(z, c if c is not None else torch.zeros(2, 0), truncation_psi=psi, truncation_cutoff=cutoff,
                    noise_mode=noise_mode, **extra)
            b = G(z, c, truncation_psi=psi, truncation_cutoff=cutoff, noise_mode=noise_mode)
            diffs.append((a - b).abs().max().item())
        if net.discriminator is None:
            raise SystemExit(f"{label}: the discriminator was not imported ({net.notes})")
        D = build_fitted(lambda net=net: build_discriminator(net.discriminator["architecture"], net.discriminator["kwargs"]),
                         net.d_state, "discriminator", label, skip_init=True)
        logits_ref = ref_d(b.repeat(2, 1, 1, 1), c.repeat(2, 1) if c is not None else None, force_fp32=True)
        d_diff = (logits_ref - D(b.repeat(2, 1, 1, 1), c.repeat(2, 1) if c is not None else None)).abs().max().item()
        worst = max(worst, *diffs, d_diff)
        print(f"{repo:>4} {net.architecture:<40} {label:<34} max |diff| " + "  ".join(f"{d:.2e}" for d in diffs)
              + f"   (pixel std {a.std().item():.2f});  D logits {d_diff:.2e} (std {logits_ref.std().item():.2f})",
              flush=True)
    return worst


@torch.no_grad()
def compare_rosinality(root: Path) -> float:
    use_reference(root)
    import torch.utils.cpp_extension as cpp

    cpp.load = lambda *args, **kwargs: None  # its ops compile CUDA code at import; on the CPU it never calls them
    from model import Generator

    worst = 0.0
    for i, (label, (size, style_dim, n_mlp, mult)) in enumerate(ROSINALITY_CONFIGS):
        torch.manual_seed(i)
        ref = Generator(size, style_dim, n_mlp, channel_multiplier=mult).eval().requires_grad_(False)
        randomize(ref, i)
        latent_avg = 0.5 * torch.randn(style_dim, generator=torch.Generator().manual_seed(i))
        buffer = io.BytesIO()
        torch.save({"g_ema": ref.state_dict(), "latent_avg": latent_avg,
                    "args": argparse.Namespace(size=size, n_mlp=n_mlp, channel_multiplier=mult, latent=style_dim)},
                   buffer)
        buffer.seek(0)
        net = read_network_from(buffer, label, "torch")
        G = ours(net, label)
        diffs = []
        for j, (psi, _, _) in enumerate(CASES):
            z, _ = inputs(style_dim, 0, j)
            a, _ = ref([z], truncation=psi, truncation_latent=latent_avg[None], randomize_noise=False)
            b = G(z, None, truncation_psi=psi, noise_mode="const")
            diffs.append((a - b).abs().max().item())
        worst = max(worst, *diffs)
        print(f"rosinality {label:<34} max |diff| " + "  ".join(f"{d:.2e}" for d in diffs)
              + f"   (pixel std {a.std().item():.2f})", flush=True)
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stylegan2-ada", type=Path, help="a checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--stylegan3", type=Path, help="a checkout of NVlabs/stylegan3 (its StyleGAN2 networks)")
    parser.add_argument("--rosinality", type=Path, help="a checkout of rosinality/stylegan2-pytorch")
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--quick", action="store_true", help="skip the configurations above 256 px")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    small = (lambda cfgs: [c for c in cfgs if c[1].get("img_resolution", 0) <= 256]) if args.quick else list
    worst = 0.0
    if args.stylegan2_ada:
        worst = max(worst, compare_nvidia(args.stylegan2_ada, small(ADA_CONFIGS), "ada"))
    if args.stylegan3:
        worst = max(worst, compare_nvidia(args.stylegan3, small(SG3_CONFIGS), "sg3"))
    if args.rosinality:
        worst = max(worst, compare_rosinality(args.rosinality))
    print(f"largest difference {worst:.2e} (tolerance {args.tolerance:g})")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
