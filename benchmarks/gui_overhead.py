"""What the desktop app costs a training run, measured against the headless trainer in the same process.

For each configuration, in interleaved rounds (headless, GUI, headless, GUI ...: both see the same load):
  headless  Trainer(config, run_dir) iterated in the main thread, as `ganstudio train` does;
  thread    (--thread) the same in a plain Python thread: the GUI's threading without the GUI;
  GUI       the main window, shown, training the same config in its trainer process (spawned; the worker thread
            relays its messages) while plots, grids and the GAN Lab view update, and a 10 ms timer measures how
            late the event loop runs.
All use the same thread policy and write the same run folder contents. Reported, as median and range over the
rounds: the throughput ratio GUI / headless (target >= 0.9) and the trainer process's own steps/s (timed inside
it, so the app's start-up and shutdown messages are not counted), the GUI thread's busy share, the timer's
lateness p50/p99/max during training (target p99 <= 16 ms), next to the same timer's lateness in the same window
while it is idle (what the machine's own load costs any event loop), and the time from Start to the trainer's
first step, in parts (spawn: until the child runs its main function, or a spare has its job; imports; data;
models), and to the first plotted step. With --spare, a spare trainer process is started and warm before Start,
as when the new-run wizard opens. With --kill: the trainer process is killed (SIGKILL) mid-run, and the time
until the view says so and the timer's lateness meanwhile are reported. A shared machine makes absolute numbers
noisy: the load average is printed, and the ratios and the trainer's own speed are the numbers to compare.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_overhead.py [--configs images toy] [--repeats 3] [--kill]
        [--data-root /path/with/MNIST/raw] [--thread]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from ganstudio.core.config import RunConfig  # noqa: E402
from ganstudio.core.defaults import RunChoices, run_config  # noqa: E402


def make_image_folder(root: Path, n: int = 512, side: int = 28) -> Path:
    """A folder of random grey PNGs (the speed of a step does not depend on what the pixels show)."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8), "L").save(root / f"{i:04d}.png")
    return root


def configs(work: Path, steps_images: int, steps_toy: int, data_root: str | None) -> dict[str, RunConfig]:
    """The two workloads: a DCGAN on 28 px images (MNIST when available) and the 2D ring."""
    mnist = data_root and (Path(data_root) / "MNIST" / "raw").is_dir()
    source = "mnist" if mnist else f"folder:{make_image_folder(work / 'images')}"
    images = (RunConfig().with_updates("data", source=source, root=data_root or "data", download=False,
                                       resolution=28, channels=1)
              .with_updates("model", arch="dcgan", capacity=32)
              .with_updates("train", steps=steps_images, epochs=None, batch_size=64, sample_every=50,
                            checkpoint_every=0, device="cpu"))
    toy = (run_config(RunChoices(source="toy:ring8"))
           .with_updates("train", steps=steps_toy, epochs=None, sample_every=500, checkpoint_every=0,
                         device="cpu"))
    return {"images": images, "toy": toy}


def in_thread(config: RunConfig, run_dir: Path) -> float:
    """headless() in a plain Python thread."""
    import threading

    result: list[float] = []
    worker = threading.Thread(target=lambda: result.append(headless(config, run_dir)))
    worker.start()
    worker.join()
    return result[0]


def headless(config: RunConfig, run_dir: Path) -> float:
    """Steps per second of the plain trainer loop (data loading excluded, as in the GUI measurement)."""
    import torch

    from ganstudio.core.training.loop import Trainer
    from ganstudio.gui.workers import training_threads

    torch.set_num_threads(training_threads(config))
    trainer = Trainer(config, run_dir)
    start = time.perf_counter()
    for _ in trainer:
        pass
    return trainer.total_steps / (time.perf_counter() - start)


def idle_lateness(app, seconds: float) -> np.ndarray:
    """The 10 ms timer's lateness (seconds) in a shown, idle main window: the baseline of this machine."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from ganstudio.gui.main_window import MainWindow
    from ganstudio.gui.settings import Settings

    window = MainWindow(Settings())
    window.resize(1400, 900)
    window.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    window.close()
    window.deleteLater()
    app.processEvents()
    return np.clip(np.diff(np.array(ticks)) - 0.010, 0.0, None)


def _window_and_timer(run_dir: Path):
    """The app's main window, shown, and a 10 ms precise timer (not started) that records when it fires."""
    from PySide6.QtCore import Qt, QTimer

    from ganstudio.gui.main_window import MainWindow
    from ganstudio.gui.settings import Settings

    window = MainWindow(Settings(), settings_file=run_dir.parent / "settings.json")
    window.resize(1400, 900)
    window.show()
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    return window, timer, ticks


def in_gui(app, config: RunConfig, run_dir: Path, spare: bool = False) -> tuple[float, np.ndarray]:
    """Steps per second inside the app, and the 10 ms timer's lateness (seconds) during training; `spare`: a
    trainer process is started and warm before Start, as when the new-run wizard opens."""
    from PySide6.QtCore import QEventLoop

    if spare:
        from ganstudio.gui.workers import prestart_trainer, spare_ready

        prestart_trainer()
        while not spare_ready(0.1):
            app.processEvents()
    window, timer, ticks = _window_and_timer(run_dir)
    marks: dict[str, float] = {}
    loop = QEventLoop()
    timer.start()
    marks["clicked"] = time.perf_counter()
    clicked_wall = time.time()
    view = window.start_run(config, run_dir)
    view.session.started.connect(lambda started: (marks.setdefault("start", started.at),
                                                  marks.setdefault("gui_cpu0", time.thread_time()),
                                                  in_gui.__dict__.__setitem__("child_marks",
                                                                              getattr(started, "marks", {}))))
    view.session.progress.connect(lambda batch: marks.setdefault("first_step", time.perf_counter()))
    view.session.ended.connect(lambda ended: (marks.setdefault("end", ended.at),
                                              marks.setdefault("gui_cpu1", time.thread_time()),
                                              in_gui.__dict__.__setitem__("child_rate", getattr(
                                                  ended, "steps_done", 0) / max(getattr(ended, "train_seconds", 0),
                                                                                1e-9) or np.nan), loop.quit()))
    loop.exec()
    timer.stop()
    view.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    start, end = marks["start"], marks["end"]
    times = np.array([t for t in ticks if start <= t <= end])
    lateness = np.clip(np.diff(times) - 0.010, 0.0, None) if len(times) > 1 else np.array([np.nan])
    in_gui.gui_cpu_share = (marks["gui_cpu1"] - marks["gui_cpu0"]) / (end - start)  # the GUI thread's own work
    in_gui.to_start = start - marks["clicked"]  # Start -> the trainer's first step begins
    child = in_gui.child_marks  # the trainer's start-up in parts: spawn, imports, data, models
    names = ("entered", "imported", "data", "built")
    times = [clicked_wall] + [child.get(name, np.nan) for name in names]  # NaN: a trainer that does not say
    in_gui.parts = {part: b - a for part, a, b in zip(("spawn", "imports", "data", "models"), times, times[1:])}
    in_gui.to_first_step = marks.get("first_step", end) - marks["clicked"]  # Start -> the first step is plotted
    return config.train.steps / (end - start), lateness


def after_kill(app, config: RunConfig, run_dir: Path, steps_before: int = 50) -> tuple[float, np.ndarray]:
    """SIGKILL the trainer process mid-run: seconds until the view says so, and the timer's lateness meanwhile."""
    import signal

    from PySide6.QtCore import QEventLoop, QTimer

    window, timer, ticks = _window_and_timer(run_dir)
    marks: dict[str, float] = {}
    loop = QEventLoop()
    view = window.start_run(config.with_updates("train", steps=10**9), run_dir)

    def maybe_kill(batch) -> None:
        if batch.step >= steps_before and "killed" not in marks:
            marks["killed"] = time.perf_counter()
            os.kill(view.session.worker.pid, signal.SIGKILL)

    view.session.progress.connect(maybe_kill)
    view.session.ended.connect(lambda ended: QTimer.singleShot(0, lambda: (marks.setdefault(
        "shown", time.perf_counter()), QTimer.singleShot(500, loop.quit))))
    timer.start()
    loop.exec()
    timer.stop()
    assert view.banner.isVisible(), "the view shows what happened"
    view.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    times = np.array([t for t in ticks if t >= marks["killed"]])
    lateness = np.clip(np.diff(times) - 0.010, 0.0, None) if len(times) > 1 else np.array([np.nan])
    return marks["shown"] - marks["killed"], lateness


def spread(values: list[float]) -> str:
    """Median and range of a few measurements."""
    values = [v for v in values if v == v] or [np.nan]
    return f"{statistics.median(values):.3g} (range {min(values):.3g}-{max(values):.3g}, n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["images", "toy"], choices=["images", "toy"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps-images", type=int, default=300)
    parser.add_argument("--steps-toy", type=int, default=1500)
    parser.add_argument("--thread", action="store_true", help="also train headless in a plain Python thread")
    parser.add_argument("--kill", action="store_true", help="also measure a SIGKILL of the trainer process")
    parser.add_argument("--spare", action="store_true",
                        help="start a spare trainer process before each Start, as the new-run wizard does")
    parser.add_argument("--data-root", default=_data_root(), help="where MNIST/raw is (else random images)")
    args = parser.parse_args()

    from ganstudio.gui.app import create_app

    app = create_app([])
    print(f"load average at the start: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} "
          "cores (other processes share them: compare the ratios and the trainer's own speed)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["GANSTUDIO_SETTINGS"] = str(work / "settings.json")
        all_configs = configs(work, args.steps_images, args.steps_toy, args.data_root)
        for name in args.configs:
            config = all_configs[name]
            plain, threaded, gui, child, late, idle, gui_cpu, to_start, to_first = [], [], [], [], [], [], [], [], []
            parts: dict[str, list[float]] = {}
            for r in range(args.repeats):  # interleaved: headless and GUI rounds see the same load
                plain.append(headless(config, work / f"{name}-headless-{r}"))
                if args.thread:
                    threaded.append(in_thread(config, work / f"{name}-thread-{r}"))
                started = time.perf_counter()
                rate, lateness = in_gui(app, config, work / f"{name}-gui-{r}", args.spare)
                gui.append(rate)
                child.append(in_gui.child_rate)
                late.append(lateness)
                gui_cpu.append(in_gui.gui_cpu_share)
                to_start.append(in_gui.to_start)
                to_first.append(in_gui.to_first_step)
                for part, seconds in in_gui.parts.items():
                    parts.setdefault(part, []).append(seconds)
                idle.append(idle_lateness(app, min(10.0, time.perf_counter() - started)))
                print(f"  {name} round {r + 1}: headless {plain[-1]:.1f} steps/s, "
                      + (f"in a thread {threaded[-1]:.1f}, " if args.thread else "")
                      + f"GUI {gui[-1]:.1f} steps/s (the trainer process itself {child[-1]:.1f}; GUI thread busy "
                      f"{gui_cpu[-1]:.0%}), timer p99 late {np.nanpercentile(lateness, 99) * 1000:.1f} ms training, "
                      f"{np.nanpercentile(idle[-1], 99) * 1000:.1f} ms idle; Start -> first step "
                      f"{to_start[-1]:.2f} s (plotted {to_first[-1]:.2f} s; "
                      + ", ".join(f"{k} {v[-1]:.2f}" for k, v in parts.items()) + "); load "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
            lateness = np.concatenate(late)
            idle_all = np.concatenate(idle)
            print(f"{name}: source {config.data.source.split('/')[-1]}, {config.train.steps} steps x "
                  f"{args.repeats}, torch threads {sys.modules['torch'].get_num_threads()}"
                  f"{', a spare trainer process started ahead' if args.spare else ''}\n"
                  f"  throughput GUI/headless: {spread([g / p for g, p in zip(gui, plain)])} (target >= 0.9); "
                  f"the trainer process's own steps/s / headless: {spread([c / p for c, p in zip(child, plain)])}"
                  + (f"; GUI/headless in a thread: {spread([g / t for g, t in zip(gui, threaded)])}"
                     if args.thread else "") + "\n"
                  f"  steps/s: headless {spread(plain)}, GUI {spread(gui)}, trainer process {spread(child)}; "
                  f"the GUI thread was busy {spread(gui_cpu)} of the time\n"
                  f"  10 ms timer lateness during training: p50 {np.nanpercentile(lateness, 50) * 1000:.1f} ms, "
                  f"p99 {np.nanpercentile(lateness, 99) * 1000:.1f} ms (target <= 16), "
                  f"max {np.nanmax(lateness) * 1000:.1f} ms over {len(lateness)} ticks; the same window idle: "
                  f"p50 {np.nanpercentile(idle_all, 50) * 1000:.1f} ms, p99 {np.nanpercentile(idle_all, 99) * 1000:.1f} ms, "
                  f"max {np.nanmax(idle_all) * 1000:.1f} ms over {len(idle_all)} ticks\n"
                  f"  Start -> first step: {spread(to_start)} s (first plotted step {spread(to_first)} s); parts: "
                  + "; ".join(f"{k} {spread(v)} s" for k, v in parts.items()), flush=True)
            if args.kill:
                shown, kill_late = after_kill(app, config, work / f"{name}-kill")
                print(f"  SIGKILL of the trainer: the view said so after {shown * 1000:.0f} ms; 10 ms timer lateness "
                      f"meanwhile p99 {np.nanpercentile(kill_late, 99) * 1000:.1f} ms, "
                      f"max {np.nanmax(kill_late) * 1000:.1f} ms", flush=True)
    print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    return 0


def _data_root() -> str:
    """The shared data folder next to the checkout (or a worktree's main checkout)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "shared" / "data").is_dir():
            return str(parent / "shared" / "data")
    return "data"


if __name__ == "__main__":
    sys.exit(main())
