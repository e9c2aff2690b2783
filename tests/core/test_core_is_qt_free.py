"""The core and the CLI never import Qt: they must work on servers without a display."""
import subprocess
import sys


def test_core_and_cli_import_no_qt():
    code = (
        "import sys, ganstudio.cli, ganstudio.core.training.loop, ganstudio.core.checkpoints, ganstudio.core.data;"
        "import ganstudio.core.toy_view, ganstudio.core.data_preview, ganstudio.core.training.estimate;"
        "import ganstudio.core.latent.drag;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'ganstudio.gui')"
        " or m.startswith('ganstudio.gui')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
