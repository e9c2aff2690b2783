"""Check GAN Studio's StyleGAN3 against NVIDIA's reference implementation on random weights, on the CPU.

Usage: python scripts/compare_stylegan3_reference.py PATH/TO/stylegan3-checkout [--sizes 64,256] [--quick]

The reference code is imported from the given checkout (never part of this repository) and runs its
pure-PyTorch reference ops. For each configuration the script builds both networks from the same init kwargs,
perturbs the reference's weights and buffers so that every path matters (learned input transform, w_avg,
magnitude EMAs, biases), copies its state dict into ours by name, and prints the largest absolute pixel
difference for several z, c, psi and input transforms, plus the largest difference between the filters we
design and the reference's.
"""
from __future__ import annotations

import argparse
import sys
import time
import types

import numpy as np
import torch

from ganstudio.core.imported.stylegan3 import build_stylegan3, input_transform_matrix

T_CONFIG = dict(conv_kernel=3, use_radial_filters=False)
R_CONFIG = dict(conv_kernel=1, use_radial_filters=True)


def configurations(sizes: list[int], wide: bool = False, extras: bool = True) -> list[tuple[str, dict]]:
    """Named init kwargs: -T and -R at each resolution; with `extras`, also other channel widths, c_dim,
    clamping and depth at the first; with `wide`, the released networks' widths at the first."""
    out = []
    for res in sizes:
        small = dict(channel_base=1024 if res <= 64 else 2048, channel_max=64 if res <= 256 else 32)
        out.append((f"T {res}px", dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=res, img_channels=3,
                                        magnitude_ema_beta=0.999, mapping_kwargs=dict(num_layers=2),
                                        **small, **T_CONFIG)))
        out.append((f"R {res}px c_dim=5", dict(z_dim=32, c_dim=5, w_dim=48, img_resolution=res, img_channels=3,
                                                mapping_kwargs=dict(num_layers=3), **small, **R_CONFIG)))
    res = sizes[0]
    if not extras:
        return out
    out.append((f"T {res}px wide, clamp 0.5", dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=res,
                                                    img_channels=3, channel_base=4096, channel_max=128,
                                                    conv_clamp=0.5, **T_CONFIG)))
    out.append((f"R {res}px 1 channel, 8 layers", dict(z_dim=16, c_dim=3, w_dim=16, img_resolution=res,
                                                        img_channels=1, channel_base=1024, channel_max=48,
                                                        num_layers=8, num_critical=2, **R_CONFIG)))
    if wide:  # the released networks' widths (StyleGAN3-T and -R defaults)
        out.append((f"T {res}px 32768/512", dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=res,
                                                  img_channels=3, channel_base=32768, channel_max=512, **T_CONFIG)))
        out.append((f"R {res}px 65536/1024 c_dim=10", dict(z_dim=512, c_dim=10, w_dim=512, img_resolution=res,
                                                            img_channels=3, channel_base=65536, channel_max=1024,
                                                            **R_CONFIG)))
    return out


def perturb(G: torch.nn.Module, gen: torch.Generator) -> None:
    """Give every parameter and buffer a random value of its usual scale, keeping the designed filters."""
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("input.affine.weight"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
            elif name.endswith(".bias"):
                p.add_(torch.randn(p.shape, generator=gen) * 0.1)
        for name, b in G.named_buffers():
            if name.endswith("magnitude_ema"):
                b.copy_(torch.rand([], generator=gen) * 2 + 0.2)
            elif name.endswith("w_avg"):
                b.copy_(torch.randn(b.shape, generator=gen))


def compare(reference_networks, name: str, kwargs: dict, seed: int) -> float:
    """Largest pixel difference over a few inputs for one configuration (printed with details)."""
    torch.manual_seed(seed)
    theirs = reference_networks.Generator(**kwargs).eval()
    perturb(theirs, torch.Generator().manual_seed(seed))
    ours = build_stylegan3(kwargs).eval()
    ours_state = ours.state_dict()
    their_state = theirs.state_dict()
    if set(ours_state) != set(their_state):
        raise SystemExit(f"{name}: state dict names differ: {sorted(set(ours_state) ^ set(their_state))[:8]}")
    shapes = [k for k in ours_state if ours_state[k].shape != their_state[k].shape]
    if shapes:
        raise SystemExit(f"{name}: shapes differ for {shapes[:8]}")
    filters = max([(ours_state[k] - their_state[k]).abs().max().item() for k in ours_state
                   if k.endswith("_filter")] or [0.0])
    ours.load_state_dict(their_state)
    gen = torch.Generator().manual_seed(seed + 1)
    worst = 0.0
    cases = [(1.0, None, (0.0, 0.0, 0.0)), (0.7, None, (0.1, -0.05, 0.0)), (0.5, 4, (0.0, 0.0, 30.0)),
             (1.0, None, (-0.2, 0.13, -75.0))]
    batch = 2
    if kwargs["img_resolution"] > 256:  # a large image costs seconds and gigabytes on the CPU: fewer, smaller runs
        cases, batch = cases[1:3], 1
    seconds = 0.0
    for psi, cutoff, (x, y, degrees) in cases:
        z = torch.randn(batch, kwargs["z_dim"], generator=gen)
        c = None
        if kwargs["c_dim"]:
            c = torch.nn.functional.one_hot(torch.randint(kwargs["c_dim"], (batch,), generator=gen),
                                            kwargs["c_dim"]).float()
        m = input_transform_matrix(x, y, degrees)
        angle = degrees / 360 * 2 * np.pi  # the visualizer's own construction, for comparison
        visual = np.array([[np.cos(angle), np.sin(angle), x], [-np.sin(angle), np.cos(angle), y], [0, 0, 1]])
        assert np.allclose(m.numpy(), np.linalg.inv(visual), atol=1e-6)
        with torch.no_grad():
            theirs.synthesis.input.transform.copy_(m)
            ours.synthesis.input.transform.copy_(m)
            a = theirs(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
            start = time.perf_counter()
            b = ours(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
            seconds = max(seconds, time.perf_counter() - start)
        worst = max(worst, (a - b).abs().max().item())
        scale = a.abs().max().item()
    print(f"{name:32s} max |diff| {worst:.3g} (pixel range ~{scale:.3g}), designed filters differ by "
          f"{filters:.3g}, ours {seconds:.2f} s per batch of {batch}", flush=True)
    return worst


def _stand_ins_for_missing_modules() -> None:
    """The reference imports `requests` (for downloads, never made here) and `pkg_resources.parse_version`."""
    try:
        import requests  # noqa: F401
    except ImportError:
        sys.modules["requests"] = types.ModuleType("requests")
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        from packaging.version import parse
        stand_in = types.ModuleType("pkg_resources")
        stand_in.parse_version = parse
        sys.modules["pkg_resources"] = stand_in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", help="path of a checkout of github.com/NVlabs/stylegan3")
    parser.add_argument("--sizes", default="64,128", help="resolutions, comma separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--wide", action="store_true", help="also the released networks' channel widths")
    parser.add_argument("--no-extras", action="store_true", help="only the -T and -R networks per resolution")
    args = parser.parse_args()
    sys.path.insert(0, args.reference)
    _stand_ins_for_missing_modules()
    from training import networks_stylegan3  # the reference checkout, now on the path
    sizes = [int(s) for s in args.sizes.split(",")]
    results = [compare(networks_stylegan3, name, kwargs, args.seed + i)
               for i, (name, kwargs) in enumerate(configurations(sizes, args.wide, not args.no_extras))]
    print(f"largest difference over all configurations: {max(results):.3g}")
    sys.exit(0 if max(results) < 1e-3 else 1)


if __name__ == "__main__":
    main()
