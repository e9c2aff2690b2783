"""Explorer latency: from a slider's value change to the new pixels painted on screen, with the Qt event loop
running (offscreen), for the 64x64 DCGAN (and the 64x64 StyleGAN when the registry has one) on the CPU.

Two measurements per model, each against a baseline taken in the same process (the model-only render of the
same request, Renderer.render without Qt):
  step: one slider move, then wait for its picture to be painted (median and p95 over --steps moves);
  drag: the slider moves every 16 ms (a 60 Hz mouse) for --drag-seconds; each painted frame's latency is measured
        from the value change it shows; stale values are skipped (newest request wins), never queued.

    python benchmarks/explorer_latency.py [--steps 60] [--drag-seconds 3] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ganstudio.core.config import LossConfig, ModelConfig, RunConfig  # noqa: E402
from ganstudio.core.models.registry import build_models  # noqa: E402
from ganstudio.core.render import LatentEdit, Renderer  # noqa: E402
from ganstudio.core.errors import GanStudioError  # noqa: E402
from ganstudio.gui.explorer.explorer_view import ExplorerView  # noqa: E402
from ganstudio.gui.explorer.model import ExplorerModel  # noqa: E402


def models() -> list[tuple[str, ModelConfig]]:
    out = [("DCGAN 64x64", ModelConfig(arch="dcgan", resolution=64, channels=3, capacity=64, z_dim=100))]
    try:
        # the model of the stylegan-faces-cpu preset (fields this build does not know are left out)
        wanted = dict(arch="stylegan", resolution=64, channels=3, capacity=16, z_dim=128, w_dim=128,
                      mapping_layers=4)
        m = ModelConfig(**{k: v for k, v in wanted.items() if k in {f.name for f in fields(ModelConfig)}})
        build_models(m, LossConfig())
        out.append(("StyleGAN 64x64", m))
    except (GanStudioError, KeyError, TypeError, ValueError) as exc:
        print(f"(no StyleGAN in this build's registry: {type(exc).__name__}; measuring the DCGAN only)")
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


class Probe:
    """Records when each stamp is painted by the explorer's image view; waits in a real Qt event loop (the GUI
    thread sleeps until an event arrives, as in the app, instead of spinning and stealing a core)."""

    def __init__(self, app: QApplication, view: ExplorerView):
        self.app, self.view = app, view
        self.painted: dict[int, float] = {}
        self._loop: QEventLoop | None = None
        self._waiting_for = -1
        view.image_view.painted.connect(self._on_painted)

    def _on_painted(self, stamp: int) -> None:
        self.painted.setdefault(stamp, time.perf_counter())
        if self._loop is not None and stamp >= self._waiting_for:
            self._loop.quit()

    def wait_for(self, stamp: int, timeout: float = 10.0) -> float:
        if stamp not in self.painted:
            self._loop, self._waiting_for = QEventLoop(), stamp
            QTimer.singleShot(int(timeout * 1000), self._loop.quit)
            self._loop.exec()
            self._loop = None
        if stamp not in self.painted:
            raise RuntimeError(f"stamp {stamp} was never painted")
        return self.painted[stamp]

    def pump(self, seconds: float) -> None:
        """Run the event loop for a while (sleeping between events)."""
        if seconds <= 0:
            self.app.processEvents()
            return
        loop = QEventLoop()
        QTimer.singleShot(max(1, int(seconds * 1000)), loop.quit)
        loop.exec()


def measure(app: QApplication, name: str, m: ModelConfig, steps: int, drag_seconds: float) -> None:
    torch.manual_seed(0)
    G, _ = build_models(m, LossConfig())
    cfg = RunConfig(model=m)
    model = ExplorerModel(device="cpu")
    view = ExplorerView(model)
    view.resize(1100, 700)
    view.show()
    probe = Probe(app, view)
    try:
        model.set_generator(G.eval(), cfg, name)
        while model.state.directions is None or not model.idle():
            probe.pump(0.05)
        probe.pump(0.3)
        slider = view.sliders.rows[0].slider
        renderer = Renderer(G, cfg, model.state.directions)

        # interleaved, so that the load of a shared machine weighs on both alike
        baseline, step = [], []
        for i in range(steps):
            value = ((i % 40) - 20) * 10 + (5 if i % 2 else 0)
            if slider.value() == value:
                value += 1
            request = replace(model.state.request(), edits=(LatentEdit(0, value / 100),))
            t = time.perf_counter()
            renderer.render(request)  # baseline: the model-only render of the same request
            baseline.append(time.perf_counter() - t)
            t = time.perf_counter()
            slider.setValue(value)
            stamp = model._async._stamp
            step.append(probe.wait_for(stamp) - t)
        probe.pump(0.2)

        submitted: dict[int, float] = {}
        t_end = time.perf_counter() + drag_seconds
        value, direction = 0, 7
        while time.perf_counter() < t_end:
            value += direction
            if abs(value) > 350:
                direction = -direction
            t = time.perf_counter()
            slider.setValue(value)
            submitted[model._async._stamp] = t
            probe.pump(0.016 - (time.perf_counter() - t))
        last = max(submitted)
        probe.wait_for(last)
        drag = [probe.painted[s] - t for s, t in submitted.items() if s in probe.painted]
        shown = len(drag) / len(submitted)

        b_med, s_med = statistics.median(baseline), statistics.median(step)
        print(f"{name}  ({model.info.device}, torch threads {torch.get_num_threads()})")
        print(f"  model-only render          median {b_med * 1e3:6.2f} ms   p95 {percentile(baseline, 95) * 1e3:6.2f} ms")
        print(f"  slider step -> painted     median {s_med * 1e3:6.2f} ms   p95 {percentile(step, 95) * 1e3:6.2f} ms"
              f"   ratio to model-only {s_med / b_med:4.2f}x  (GUI overhead {1e3 * (s_med - b_med):.2f} ms)")
        print(f"  60 Hz drag -> painted      median {statistics.median(drag) * 1e3:6.2f} ms   "
              f"p95 {percentile(drag, 95) * 1e3:6.2f} ms   {len(submitted)} moves, {shown:.0%} painted "
              f"(the rest were superseded before rendering)")
    finally:
        view.shutdown()
        view.close()
        view.deleteLater()
        probe.pump(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--drag-seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: PyTorch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    app = QApplication.instance() or QApplication([])
    for name, m in models():
        measure(app, name, m, args.steps, args.drag_seconds)


if __name__ == "__main__":
    main()
