"""The core and the CLI never import Qt: they must work on servers without a display.

Every module under ganstudio.core is imported (found by walking the package, so a new module is covered too),
in a fresh interpreter, and no Qt or GUI module may be loaded afterwards. pyproject's import-linter contracts
check the same statically; this test catches an import made at run time (importlib, a plugin)."""
import subprocess
import sys

CODE = """
import importlib, pkgutil, sys
names = []
for root in ("ganstudio.core", "ganstudio.cli"):  # the CLI may be a module or a package of commands
    package = importlib.import_module(root)
    names.append(root)
    names += [m.name for m in pkgutil.walk_packages(getattr(package, "__path__", []), root + ".")]
for name in names:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules
             if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph", "superqt") or m.startswith("ganstudio.gui"))
print(len(names), bad)
sys.exit(1 if bad or len(names) < 40 else 0)
"""


def test_every_core_module_and_the_cli_import_no_qt():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
