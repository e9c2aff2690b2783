"""Build the one-folder desktop app with PyInstaller, then run its self-test.

    python packaging/build.py            # -> dist/GANStudio/GANStudio (GANStudio.exe on Windows)
                                         #    and dist/GANStudio-<system>.zip to upload as a release

Prints the build time, the folder's size and the self-test's result; exits non-zero if either step fails (no
archive is made from a build whose self-test failed).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", default=str(ROOT / "dist"))
    parser.add_argument("--work", default=str(ROOT / "build"))
    parser.add_argument("--skip-self-test", action="store_true")
    parser.add_argument("--no-zip", action="store_true", help="do not make the release archive")
    args = parser.parse_args()
    dist = Path(args.dist)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    "--distpath", str(dist), "--workpath", args.work, str(ROOT / "packaging" / "ganstudio.spec")],
                   check=True, cwd=ROOT, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    app_dir = dist / "GANStudio"
    if sys.platform.startswith("linux"):
        shutil.copy(ROOT / "packaging" / "linux" / "ganstudio.desktop", app_dir / "ganstudio.desktop")
        shutil.copy(ROOT / "resources" / "icons" / "ganstudio.png", app_dir / "ganstudio.png")
    built = time.perf_counter() - start
    print(f"built {app_dir} in {built / 60:.1f} min; size {folder_size(app_dir) / 2**30:.2f} GiB")
    if not args.skip_self_test:
        exe = app_dir / ("GANStudio.exe" if sys.platform == "win32" else "GANStudio")
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        start = time.perf_counter()
        result = subprocess.run([str(exe), "--self-test"], env=env, timeout=600)
        print(f"self-test exit status {result.returncode} in {time.perf_counter() - start:.0f} s")
        if result.returncode != 0:
            return result.returncode
    if not args.no_zip:
        system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
        start = time.perf_counter()
        archive = shutil.make_archive(str(dist / f"GANStudio-{system}"), "zip", root_dir=dist, base_dir="GANStudio")
        print(f"archive {archive}: {Path(archive).stat().st_size / 2**30:.2f} GiB in "
              f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
