"""Words for people: names and one-line explanations of data sources, models, losses and tricks."""
from __future__ import annotations

from pathlib import Path

from ganstudio.core.config import RunConfig

DATA_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "celeba": "CelebA"}
DATA_BLURBS = {
    "mnist": "60,000 handwritten digits to train on, 28 x 28 grey, 10 classes. The classic first GAN.",
    "fashion-mnist": "60,000 clothing pictures to train on, 28 x 28 grey, 10 classes. Harder than digits.",
    "cifar10": "50,000 small photos to train on, 32 x 32 colour, 10 classes (planes, cats, ships...).",
    "celeba": "162,770 aligned celebrity faces in colour to train on; a large download, which needs the gdown "
              "package (install it with: pip install gdown).",
    "folder": "Your own pictures. One subfolder per class gives labels for a conditional model.",
    "translate": "Learn to turn one kind of picture into another (horses into zebras, dark hair into blond) "
                 "from two unpaired sets: a CycleGAN.",
    "toy": "Points in the plane. Trains in seconds and shows, live, how D and G play the game (as GAN Lab).",
}
TOY_NAMES = {"ring8": "Ring of 8 Gaussians", "grid25": "Grid of 25 Gaussians", "moons": "Two moons",
             "spiral": "Spiral"}

ARCH_TITLES = {"mlp": "MLP (fully connected)", "dcgan": "DCGAN (convolutional)", "stylegan": "StyleGAN",
               "cyclegan": "CycleGAN (translation)"}
ARCH_BLURBS = {
    "mlp": "Goodfellow et al. 2014: fully connected layers. Fast; the only choice for 2D toy data; "
           "blurry on images.",
    "dcgan": "Radford et al. 2015: transposed convolutions up, strided convolutions down, batch norm. "
             "The workhorse for 16-128 px images.",
    "stylegan": "Karras et al. 2019: a mapping network feeds styles to every layer of a convolutional "
                "generator. Best quality, slowest to train.",
    "cyclegan": "Zhu et al. 2017: two ResNet generators (A to B and B to A) and two PatchGAN discriminators; "
                "a cycle back to the input keeps each picture's content.",
}

CAPACITY_HINTS = {
    "mlp": "Width of the hidden layers: at 64 they have 256, 512 and 1,024 units for images, 128 each for 2D "
           "points. Twice the width is about four times the work.",
    "dcgan": "Feature maps of the layers at full size; each halving of the image doubles them, up to 8 times "
             "(ngf = ndf in the paper). Twice the width is about four times the work.",
    "cyclegan": "Feature maps of each generator's first layer (64 in the paper); the residual blocks work at 4 "
                "times that. Twice the width is about four times the work.",
    "stylegan": "Channels of the layers at full size; each halving of the image doubles them, up to 8 times. "
                "Twice the width is about four times the work.",
}
LOSS_TITLES = {"minimax": "Minimax (saturating)", "bce": "Non-saturating (BCE)", "wgan": "Wasserstein (clipping)",
               "wgan-gp": "Wasserstein + gradient penalty", "lsgan": "Least squares", "hinge": "Hinge"}
LOSS_BLURBS = {
    "minimax": "Goodfellow 2014 as written: G minimises log(1 - D(G(z))). Its gradient vanishes when D wins.",
    "bce": "G maximises log D(G(z)) instead: the same game with strong gradients early on. The usual default.",
    "wgan": "Arjovsky 2017: D is a critic estimating the Wasserstein distance; weights are clipped to keep it "
            "Lipschitz. Use RMSprop and several critic steps.",
    "wgan-gp": "Gulrajani 2017: a gradient penalty replaces clipping. Stable; five critic steps per G step.",
    "lsgan": "Mao 2017: squared error to targets 1 (real) and 0 (fake); penalises samples far from the "
             "boundary, so gradients do not vanish.",
    "hinge": "Lim & Ye 2017, Miyato 2018: D only cares about samples inside a margin. Pairs well with "
             "spectral normalization.",
}
TRICK_BLURBS = {
    "spectral_norm": "Divides each D layer by its largest singular value, so D cannot change too fast "
                     "(Miyato 2018).",
    "label_smoothing": "D's target for real images is 1 - s instead of 1, so D does not grow over-confident "
                       "(Salimans 2016).",
    "instance_noise": "Gaussian noise on D's inputs, fading to zero over the run; blurs the supports so they "
                      "overlap (Sønderby 2016).",
    "feature_matching": "G matches the mean of D's features on real data instead of fooling D directly "
                        "(Salimans 2016).",
    "minibatch_discrimination": "D sees how similar each sample is to the rest of its batch, which "
                                "discourages mode collapse (Salimans 2016).",
    "minibatch_std": "D sees the batch's standard deviation as an extra feature (Karras 2018); cheap help "
                     "against mode collapse.",
    "r1": "Penalises D's gradient on real data (Mescheder 2018); a gentle stabiliser for any loss.",
    "d_dropout": "Dropout in D's hidden layers: a noisier, weaker D.",
    "ema": "Samples come from a moving average of G's weights (Karras 2018): smoother, better images.",
    "unroll": "G plans ahead: it answers the D of a few steps later, so it stops hopping from one kind of "
              "sample to another (Metz 2017). Each step costs that many extra D steps.",
    "num_d": "Several discriminators judge every sample; G must fool them all, so it cannot settle on a few "
             "kinds of sample (Durugkar 2017). Each one costs another D.",
}
AUGMENT_TITLES = {"none": "None", "diffaug": "DiffAugment", "ada": "ADA (adaptive)"}
AUGMENT_BLURBS = {
    "none": "D sees the pictures as they are: right for tens of thousands of pictures.",
    "diffaug": "D sees every picture, real or made, with random colour shifts, moves and a blanked square, so it "
               "cannot learn a small set by heart (Zhao 2020).",
    "ada": "Flips, turns, zooms and colour changes, used only as often as needed to stop D learning the pictures "
           "by heart; the amount adjusts itself (Karras 2020).",
}


def data_title(source: str) -> str:
    """'MNIST', 'folder cats', 'toy: Ring of 8 Gaussians'."""
    if source.startswith("toy:"):
        return f"toy: {TOY_NAMES.get(source[4:], source[4:])}"
    if source.startswith("folder:"):
        return f"folder {Path(source[7:]).name or source[7:]}"
    return DATA_TITLES.get(source, source)


def domains_title(data) -> str:
    """A translation run's two domains: 'folder horses → folder zebras', 'CelebA without → with Blond hair'."""
    if data.domains is not None:
        names = [n.replace("_", " ") for n in data.domains.split(":")]
        return (f"CelebA without → with {names[0]}" if len(names) == 1 else
                f"CelebA {names[0]} → {names[1]}")
    return f"{data_title(data.source)} → {data_title(data.source_b or '')}"


def arch_title(arch: str) -> str:
    return ARCH_TITLES.get(arch, arch.upper() if len(arch) <= 5 else arch.capitalize())


def capacity_hint(arch: str) -> str:
    """What the capacity setting means for an architecture."""
    return CAPACITY_HINTS.get(arch, "Base width of both networks. Twice the width is about four times the work.")


def arch_blurb(arch: str) -> str:
    return ARCH_BLURBS.get(arch, "A model registered by a plug-in or a newer part of GAN Studio.")


def describe_config(cfg: RunConfig) -> str:
    """One line: model, loss, data, resolution and batch."""
    m, t = cfg.model, cfg.train
    parts = [arch_title(m.arch) + (" conditional" if m.conditional else ""),
             f"{LOSS_TITLES.get(cfg.loss.name, cfg.loss.name)} loss",
             domains_title(cfg.data) if cfg.data.is_translation else data_title(cfg.data.source)]
    if not cfg.data.is_toy:
        from ganstudio.core.data.sources import native_resolution

        parts.append(f"{cfg.data.resolution or native_resolution(cfg.data.source)} px")
    parts.append(f"batch {t.batch_size}")
    parts.append(f"{t.steps:,} steps" if t.steps is not None else f"{t.epochs:g} epochs")
    return " · ".join(parts)


def tricks_in_use(cfg: RunConfig) -> list[str]:
    """Short names of the stabilisation tricks switched on."""
    m, lo, t = cfg.model, cfg.loss, cfg.train
    used = []
    if m.spectral_norm:
        used.append("spectral norm")
    if lo.label_smoothing:
        used.append(f"label smoothing {lo.label_smoothing:g}")
    if lo.instance_noise:
        used.append(f"instance noise {lo.instance_noise:g}")
    if lo.feature_matching:
        used.append("feature matching")
    if m.minibatch_discrimination:
        used.append("minibatch discrimination")
    if m.minibatch_std:
        used.append("minibatch std")
    if lo.r1_weight:
        used.append(f"R1 {lo.r1_weight:g}")
    if m.d_dropout:
        used.append(f"D dropout {m.d_dropout:g}")
    if t.ema:
        used.append("EMA of G")
    if lo.augment != "none":
        used.append(AUGMENT_TITLES.get(lo.augment, lo.augment))
    if t.unroll:
        used.append(f"unrolled D ({t.unroll} steps)")
    if m.num_d > 1:
        used.append(f"{m.num_d} discriminators")
    return used
