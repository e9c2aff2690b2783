"""Smoke test of the frozen build: runs dist/GANStudio/GANStudio --self-test when a build exists
(python packaging/build.py makes one); skips with the reason when none does."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "dist" / "GANStudio" / ("GANStudio.exe" if sys.platform == "win32" else "GANStudio")


@pytest.mark.skipif(not APP.exists(), reason=f"no frozen build at {APP} (build one with python packaging/build.py)")
def test_frozen_app_self_test_passes():
    result = subprocess.run([str(APP), "--self-test"], capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout
