"""The headless CLI: train, resume, sample, and one-line errors with a non-zero exit."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ganstudio.cli import main
from ganstudio.core.runs import RunFolder


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganstudio", *args], capture_output=True, text=True, timeout=300)


def test_train_resume_and_sample_toy(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["train", "--data", "toy:ring8", "--steps", "30", "--batch-size", "64", "--out", str(out),
                 "--quiet", "--checkpoint-every", "10"]) == 0
    assert RunFolder(out).latest_checkpoint().name == "step-0000030.safetensors"
    assert main(["train", "--data", "toy:ring8", "--steps", "5", "--out", str(out), "--quiet"]) == 1
    assert f"already holds a run; resume it with --resume {out} or choose another --out" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--steps", "40", "--quiet"]) == 0
    assert len(RunFolder(out).read_metrics()) == 40
    assert main(["sample", "--checkpoint", str(out), "--n", "100", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (100, 2)
    assert main(["sample", "--checkpoint", str(out), "--n", "100", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 0


def test_train_on_mnist_with_a_preset_and_sample_a_class(shared_data, tmp_path):
    out = tmp_path / "mnist"
    assert main(["train", "--data", "mnist", "--data-root", str(shared_data), "--preset", "DCGAN (Radford 2015)",
                 "--conditional", "--capacity", "8", "--batch-size", "32", "--steps", "3", "--out", str(out),
                 "--quiet"]) == 0
    cfg = RunFolder(out).config()
    assert cfg.preset == "dcgan" and cfg.model.num_classes == 10 and cfg.loss.name == "bce"
    npy = tmp_path / "sevens.npy"
    assert main(["sample", "--checkpoint", str(out), "--n", "5", "--class", "7", "--out", str(npy)]) == 0
    x = np.load(npy)
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("args,message", [
    (["train", "--data", "toy:ring8", "--loss", "magic", "--out", "x"], "invalid choice: 'magic'"),
    (["train", "--data", "mnist", "--data-root", "/nonexistent/root", "--no-download", "--steps", "1",
      "--out", "{tmp}/r"], "/nonexistent/root"),
    (["train", "--data", "folder:/nonexistent/pics", "--steps", "1", "--out", "{tmp}/r"], "does not exist"),
    (["sample", "--checkpoint", "{tmp}/nothing.safetensors", "--out", "{tmp}/a.png"], "cannot read checkpoint"),
    (["train", "--data", "toy:ring8", "--model", "dcgan", "--out", "{tmp}/r"], "toy 2D data needs the mlp model"),
    (["train", "--data", "celeba", "--domains", "Black_Hair:blonde_hair", "--data-root", "{tmp}", "--out", "{tmp}/r"],
     "--domains: CelebA has no attribute 'blonde_hair' (close matches: Blond_Hair"),
])
def test_errors_are_one_line_without_traceback(tmp_path, args, message):
    result = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0] and "Traceback" not in result.stderr


def test_errors_are_logged_in_the_log_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSTUDIO_LOG_DIR", str(tmp_path / "logs"))
    result = run_cli("sample", "--checkpoint", str(tmp_path / "none.safetensors"), "--out", str(tmp_path / "a.png"))
    assert result.returncode == 1
    log = (tmp_path / "logs" / "ganstudio.log").read_text()
    assert "cannot read checkpoint" in log and "ganstudio 0." in log
