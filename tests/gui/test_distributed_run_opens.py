"""A run trained by 2 processes under torchrun (Gloo, CPU) opens in the app like any other run: its curves, its
config, and its checkpoint in the explorer."""
import subprocess
import sys
from pathlib import Path

from ganstudio.gui.main_window import MainWindow
from ganstudio.gui.settings import Settings

WORKER = Path(__file__).resolve().parents[1] / "core" / "ddp_worker.py"


def test_a_torchrun_run_opens_in_the_app(qtbot, tmp_path):
    run_dir = tmp_path / "ddp"
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                             str(WORKER), str(run_dir), "4"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[:1500] + "\n...\n" + result.stderr[-2500:]
    window = MainWindow(Settings(), settings_file=tmp_path / "settings.json")
    qtbot.addWidget(window, before_close_func=lambda w: w.view and w.view.shutdown())
    window.show()
    view = window.open_run(run_dir)
    assert view is not None, "the run did not open"
    window.open_checkpoint(run_dir)
    model = window.explore.model
    qtbot.waitUntil(lambda: model.last_result is not None and model.last_result.image is not None, timeout=20000)
    assert model.last_result.image.shape[:2] == (16, 16)
    window.close()
