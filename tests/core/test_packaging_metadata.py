"""pyproject.toml lists every package explicitly (resources/ is mapped to ganstudio.resources), so a new
subpackage that is not listed would be missing from wheels and frozen builds: this test catches that."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ganstudio").rglob("__init__.py")}
    found.add("ganstudio.resources")
    assert found - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert (ROOT / "resources" / "__init__.py").is_file()
