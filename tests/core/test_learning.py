"""A learning test that can fail: a short CPU run on the ring of 8 Gaussians must find most modes."""
import numpy as np
import torch

from ganstudio.config import RunConfig
from ganstudio.core.data import mode_coverage
from ganstudio.core.training.loop import Trainer
from ganstudio.presets import data_defaults, merge


def test_ring_of_8_gaussians_is_covered():
    base = RunConfig.from_dict(merge(RunConfig().to_dict(), data_defaults("toy:ring8")))
    cfg = (base.with_updates("data", source="toy:ring8")
           .with_updates("train", steps=3000, epochs=None, seed=0, sample_every=0, device="cpu"))
    trainer = Trainer(cfg)
    for _ in trainer:
        pass
    G = trainer.sampling_generator.eval()
    with torch.no_grad():
        samples = G(torch.randn(2000, cfg.model.z_dim, generator=torch.Generator().manual_seed(1))).numpy()
    info = trainer.data.info
    modes, share = mode_coverage(samples, info.modes, info.mode_std)  # within 3 std of a mode
    assert modes >= 6, f"only {modes} of 8 modes covered"
    assert share > 0.5, f"only {share:.0%} of samples lie within 3 std of a mode"
    # and the untrained generator does not pass the same test, so the test measures learning
    untrained = Trainer(cfg).G.eval()
    with torch.no_grad():
        before = untrained(torch.randn(2000, cfg.model.z_dim)).numpy()
    assert mode_coverage(before, info.modes, info.mode_std)[1] < 0.2
