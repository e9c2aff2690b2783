"""Train the domain feature extractors that ship with GAN Studio, and write their model cards.

    python scripts/train_extractors.py mnist  --data-root ../shared/data
    python scripts/train_extractors.py celeba --celeba-dir ../shared/data/celeba-10k

Each command writes ganstudio/resources/extractors/<name>.safetensors (float16 weights) and <name>.md (the
model card, with the test accuracy measured on the weights as shipped). Runs on the CPU in a few minutes;
seeded, so a rerun on the same machine gives the same file.
"""
from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganstudio.core.metrics.networks import (  # noqa: E402
    CelebAAttributes, MNISTClassifier, load_network, parameter_count, save_network,
)

OUT = ROOT / "ganstudio" / "resources" / "extractors"
CELEBA_TEST = 1000  # the last 1,000 images of the 10k subset are held out
CELEBA_CROP = 70  # GAN Studio's CelebA framing (140 px of the 178 x 218 originals) at the subset's half size
SCALE_NOTE = ("The extractor multiplies the features by {scale} (stored with the weights), which gives them a mean "
              "square of 1 over\nthe training images, so that x.y / D in KID's kernel (x.y / D + 1)^3 is of order "
              "1, the range the kernel was\ndesigned for. FID scales with the square of that factor.")


# ---------------------------------------------------------------------------------------------------------------
# Augmentation


def random_affine(x: torch.Tensor, gen: torch.Generator, rotate_deg: float, scale: tuple[float, float],
                  shift: float, flip: bool, out_size: int | None = None) -> torch.Tensor:
    """Per-image random rotation, zoom, shift (fraction of the side) and horizontal flip, by grid sampling."""
    b = x.shape[0]
    angle = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(rotate_deg)
    zoom = scale[0] + torch.rand(b, generator=gen) * (scale[1] - scale[0])  # < 1 zooms in
    sx = zoom * torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0) if flip else zoom
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = sx * torch.cos(angle)
    theta[:, 0, 1] = -zoom * torch.sin(angle)
    theta[:, 1, 0] = sx * torch.sin(angle)
    theta[:, 1, 1] = zoom * torch.cos(angle)
    theta[:, :, 2] = (torch.rand(b, 2, generator=gen) * 2 - 1) * 2 * shift
    size = out_size or x.shape[-1]
    grid = F.affine_grid(theta, [b, x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 -> float in [-1, 1], the range of generator output."""
    return images.float().div(127.5).sub(1)


# ---------------------------------------------------------------------------------------------------------------
# Shared training loop


def train(net, train_x, train_y, loss_fn, augment, epochs: int, batch: int, lr: float, wd: float, seed: int,
          evaluate) -> list[str]:
    """AdamW with a one-cycle schedule; returns one log line per epoch."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
    steps = epochs * (len(train_x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    log = []
    for epoch in range(epochs):
        net.train()
        t0, total = time.perf_counter(), 0.0
        order = torch.randperm(len(train_x), generator=gen)
        for k in range(len(train_x) // batch):
            idx = order[k * batch:(k + 1) * batch]
            x = augment(to_unit(train_x[idx]), gen).contiguous(memory_format=torch.channels_last)
            loss = loss_fn(net(x), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        line = (f"epoch {epoch + 1}/{epochs}: loss {total / (k + 1):.4f}, test {evaluate(net):.4f}, "
                f"{time.perf_counter() - t0:.0f} s")
        print(line, flush=True)
        log.append(line)
    return log


@torch.no_grad()
def feature_scale(net, images: torch.Tensor, batch: int = 500) -> float:
    """The factor that gives the features unit mean square over these images (un-augmented, eval mode).

    At that scale x.y / D is of order 1, and KID's kernel (x.y / D + 1)^3 weighs its constant, linear and cubic
    terms as it was designed to (unscaled, these ReLU features give x.y / D of about 3 to 8).
    """
    net.eval()
    square = torch.cat([net.features_and_logits(to_unit(images[i:i + batch]))[0].square().mean(1)
                        for i in range(0, len(images), batch)]).mean()
    return round(float(square.rsqrt()), 6)


@torch.no_grad()
def predict(net, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Logits of uint8 images, in eval mode."""
    net.eval()
    return torch.cat([net(to_unit(images[i:i + batch])) for i in range(0, len(images), batch)])


# ---------------------------------------------------------------------------------------------------------------
# MNIST


def cmd_mnist(args) -> None:
    from torchvision.datasets import MNIST

    train_set = MNIST(args.data_root, train=True, download=False)
    test_set = MNIST(args.data_root, train=False, download=False)
    train_x, train_y = train_set.data.unsqueeze(1), train_set.targets
    test_x, test_y = test_set.data.unsqueeze(1), test_set.targets

    def augment(x, gen):
        return random_affine(x, gen, rotate_deg=10, scale=(0.9, 1.1), shift=0.08, flip=False)

    def accuracy(net):
        return (predict(net, test_x).argmax(1) == test_y).float().mean().item()

    net = MNISTClassifier()
    t0 = time.perf_counter()
    log = train(net, train_x, train_y, F.cross_entropy, augment, args.epochs, 128, 3e-3, 1e-4, args.seed, accuracy)
    minutes = (time.perf_counter() - t0) / 60
    path = OUT / "mnist-classifier.safetensors"
    meta = {"classes": [str(d) for d in range(10)], "input": "1x28x28 in [-1, 1]", "seed": args.seed,
            "feature_scale": feature_scale(net, train_x[:10_000])}
    save_network(path, net, meta)
    shipped, _ = load_network(path)
    logits = predict(shipped, test_x)
    acc = (logits.argmax(1) == test_y).float().mean().item()
    meta["test_accuracy"] = round(acc, 5)
    save_network(path, net, meta)
    per_class = [(logits.argmax(1)[test_y == d] == d).float().mean().item() for d in range(10)]
    write_mnist_card(shipped, acc, per_class, log, minutes, path, meta["feature_scale"])
    print(f"MNIST test accuracy (shipped float16 weights): {acc:.4f} -> {path}")


def write_mnist_card(net, acc, per_class, log, minutes, path, scale) -> None:
    rows = "\n".join(f"| {d} | {a:.4f} |" for d, a in enumerate(per_class))
    text = f"""# MNIST digit classifier (GAN Studio feature extractor `mnist`)

A small convolutional digit classifier that ships with GAN Studio so that generated digits can be measured
offline. Its 128 penultimate activations are the feature space of **MNIST-FID** (and KID, precision/recall,
density/coverage); its softmax gives an **Inception Score analogue** (at most 10) and the **class histogram**
of generated digits.

## Data
MNIST (LeCun, Cortes & Burges), 60,000 training and 10,000 test images of 28 x 28 handwritten digits.
License of the data: **CC BY-SA 3.0**. The training images used here were rebuilt from a PNG copy (pixel values
differ from the official files by at most 29/255); the test set is byte-identical to the official one.

## Architecture
`MNISTClassifier` in `ganstudio/core/metrics/networks.py`: three 3 x 3 convolutions (32, 64, 128 channels), each
with batch norm, ReLU and 2 x 2 max pooling; a fully connected layer to 128 features (ReLU; the extractor's
features) and a linear layer to 10 logits. {parameter_count(net):,} parameters, stored as float16
({path.stat().st_size / 1e6:.2f} MB). Input: 1 x 28 x 28 in [-1, 1], the range of generator output.
{SCALE_NOTE.format(scale=scale)}

## Training
`python scripts/train_extractors.py mnist --data-root ../shared/data --epochs {len(log)}`: AdamW
(lr 3e-3 one-cycle, weight decay 1e-4), batch 128, cross-entropy, random rotation (10 degrees), zoom (0.9-1.1)
and shift (2 px) of every training image, seed fixed. {minutes:.1f} minutes on one CPU thread ({platform.processor()
or platform.machine()}, shared machine).

```
{chr(10).join(log)}
```

## Test accuracy
**{acc * 100:.2f}%** on the official 10,000-image MNIST test set, measured on the float16 weights as shipped.

| digit | accuracy |
|---|---|
{rows}

## Limits
Features of a digit classifier measure how digit-like and how varied generated digits are; they say nothing
about images of other kinds (GAN Studio refuses this extractor for colour images). MNIST-FID values are only
comparable with MNIST-FID values computed with the same extractor and the same number of samples.
"""
    path.with_suffix(".md").write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------------
# CelebA


def read_attributes(path: Path) -> tuple[list[str], dict[str, list[int]]]:
    """CelebA's list_attr_celeba.txt: attribute names and file -> 40 values (+1 / -1)."""
    lines = path.read_text().splitlines()
    names = lines[1].split()
    table = {}
    for line in lines[2:]:
        parts = line.split()
        if parts:
            table[parts[0]] = [int(v) for v in parts[1:]]
    return names, table


def cmd_celeba(args) -> None:
    from ganstudio.core.data.folders import scan_folder

    folder = Path(args.celeba_dir) / "img_align_celeba"
    names, table = read_attributes(Path(args.celeba_dir) / "list_attr_celeba.txt")
    # Training crops come from a looser square (the full 89 px width at 82 px, the same pixel scale as the
    # canonical 70 -> 64), so random crops can zoom out as well as in; tests use the canonical framing.
    loose = scan_folder(folder, channels=3, resolution=82, center_crop=89)
    canonical = scan_folder(folder, channels=3, resolution=64, center_crop=CELEBA_CROP)
    assert [p.name for p in loose.files] == [p.name for p in canonical.files]
    labels = torch.tensor([[v > 0 for v in table[p.name]] for p in loose.files], dtype=torch.float32)
    n_train = len(labels) - CELEBA_TEST
    train_x, train_y = torch.from_numpy(loose.images[:n_train]), labels[:n_train]
    test_x, test_y = torch.from_numpy(canonical.images[n_train:]), labels[n_train:]

    def augment(x, gen):
        # zoom 0.87-1.13 of the canonical 64.5 px crop inside the 82 px image; +-3 px shifts; mirror
        base = 64.5 / 82
        return random_affine(x, gen, rotate_deg=5, scale=(base * 0.87, base * 1.13), shift=3 / 82, flip=True,
                             out_size=64)

    def mean_accuracy(net):
        return ((predict(net, test_x) > 0).float() == test_y).float().mean().item()

    net = CelebAAttributes()
    t0 = time.perf_counter()
    log = train(net, train_x, train_y, F.binary_cross_entropy_with_logits, augment, args.epochs, 64, 3e-3, 5e-4,
                args.seed, mean_accuracy)
    minutes = (time.perf_counter() - t0) / 60
    path = OUT / "celeba-attributes.safetensors"
    meta = {"classes": names, "input": "3x64x64 in [-1, 1], faces framed as CelebA 140 px crop", "seed": args.seed,
            "feature_scale": feature_scale(net, torch.from_numpy(canonical.images[:n_train]))}
    save_network(path, net, meta)
    shipped, _ = load_network(path)
    correct = ((predict(shipped, test_x) > 0).float() == test_y).float().mean(0)
    majority_train = (train_y.mean(0) >= 0.5).float()
    baseline = (test_y == majority_train).float().mean(0)
    meta["test_accuracy_mean"] = round(correct.mean().item(), 5)
    save_network(path, net, meta)
    write_celeba_card(shipped, names, correct.tolist(), baseline.tolist(), test_y.mean(0).tolist(), log, minutes,
                      n_train, path, meta["feature_scale"])
    print(f"CelebA mean attribute accuracy {correct.mean():.4f} (majority baseline {baseline.mean():.4f}) -> {path}")


def write_celeba_card(net, names, acc, baseline, positive, log, minutes, n_train, path, scale) -> None:
    rows = "\n".join(f"| {n} | {a * 100:.1f} | {b * 100:.1f} | {(a - b) * 100:+.1f} | {p * 100:.1f} |"
                     for n, a, b, p in zip(names, acc, baseline, positive))
    mean_a, mean_b = sum(acc) / len(acc), sum(baseline) / len(baseline)
    text = f"""# CelebA attribute classifier (GAN Studio feature extractor `celeba`)

A small convolutional network that predicts the 40 binary CelebA attributes of a 64 x 64 face. It ships with
GAN Studio so that generated faces can be measured offline: its 256 pooled activations are the feature space of
**CelebA-FID** (and KID, precision/recall, density/coverage). It is not a class predictor, so it gives no
Inception Score.

## Data
CelebA (Liu, Luo, Wang & Tang 2015), the first 10,000 aligned faces (at half size, 89 x 109) with their 40
attribute labels. The first {n_train:,} images train the network; the last {CELEBA_TEST:,} (009001.jpg-010000.jpg)
are held out as the test set. Terms of the data: **CelebA is available for non-commercial research purposes
only**; the weights here are derived from it and inherit that restriction.

## Architecture
`CelebAAttributes` in `ganstudio/core/metrics/networks.py`: six 3 x 3 convolutions with batch norm and ReLU
(32, 64, 64, 128, 128, 256 channels; four of them with stride 2), global average pooling to 256 features (the
extractor's features), dropout and a linear layer to 40 logits. {parameter_count(net):,} parameters, stored as
float16 ({path.stat().st_size / 1e6:.2f} MB). Input: 3 x 64 x 64 in [-1, 1]; faces framed as GAN Studio frames
CelebA (a centred 140 px square of the 178 x 218 originals, here 70 px of the half-size images), other sizes are
resized to 64.
{SCALE_NOTE.format(scale=scale)}

## Training
`python scripts/train_extractors.py celeba --celeba-dir ../shared/data/celeba-10k --epochs {len(log)}`: AdamW
(lr 3e-3 one-cycle, weight decay 5e-4), batch 64, binary cross-entropy over the 40 attributes; every training
image randomly zoomed (0.87-1.13), shifted (3 px), rotated (5 degrees) and mirrored; seed fixed.
{minutes:.1f} minutes on one CPU thread ({platform.processor() or platform.machine()}, shared machine).

```
{chr(10).join(log)}
```

## Test accuracy per attribute
Measured on the 1,000 held-out faces with the float16 weights as shipped. *Baseline* is the accuracy of always
answering the attribute's majority value in the training images; *gain* is the classifier's margin over it;
*positive* is the share of test faces that have the attribute. Mean accuracy **{mean_a * 100:.1f}%** against a
majority baseline of {mean_b * 100:.1f}%.

| attribute | accuracy % | baseline % | gain | positive % |
|---|---|---|---|---|
{rows}
| **mean** | **{mean_a * 100:.1f}** | {mean_b * 100:.1f} | {(mean_a - mean_b) * 100:+.1f} | |

## Limits
Trained on 9,000 faces, so it is much weaker than classifiers trained on all 202,599 CelebA images; rare or
subtle attributes (those with a small gain above) are barely learned, and their features carry little. Use
CelebA-FID to compare runs with each other, not with published FIDs (those use Inception-v3 features).
"""
    path.with_suffix(".md").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="which", required=True)
    m = sub.add_parser("mnist")
    m.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    m.add_argument("--epochs", type=int, default=6)
    c = sub.add_parser("celeba")
    c.add_argument("--celeba-dir", default=str(ROOT.parent / "shared" / "data" / "celeba-10k"))
    c.add_argument("--epochs", type=int, default=15)
    for p in (m, c):
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--threads", type=int, default=1, help="CPU threads (the machine may be shared)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # before the network is built: its initial weights come from this seed
    OUT.mkdir(parents=True, exist_ok=True)
    {"mnist": cmd_mnist, "celeba": cmd_celeba}[args.which](args)


if __name__ == "__main__":
    main()
