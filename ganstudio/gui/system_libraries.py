"""Before the first window on Linux: the system libraries Qt's X11 (xcb) plugin needs, and the one sentence with
the install command when some are missing (otherwise Qt aborts with a message about plugins)."""
from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

# soname -> (Debian/Ubuntu package, Fedora package); the xcb plugin's needs beyond the Qt libraries
PACKAGES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
# What the README lists: the libraries a minimal install lacks most often
README_APT = ("libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-randr0 "
              "libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1")


def needs_xcb(env: dict | None = None, platform: str = sys.platform) -> bool:
    """Whether Qt will use its X11 plugin here: Linux, a display, and the platform unset or xcb (a Wayland
    session without QT_QPA_PLATFORM uses Qt's Wayland plugin)."""
    env = os.environ if env is None else env
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if chosen:
        return chosen == "xcb" and bool(env.get("DISPLAY"))
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def xcb_plugin() -> Path | None:
    """The xcb platform plugin of the installed PySide6, or None."""
    try:
        import PySide6
    except ImportError:
        return None
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_libraries() -> list[str]:
    """Sonames the xcb plugin needs and the system lacks: from ldd of the plugin, else by ctypes' finder."""
    plugin = xcb_plugin()
    ldd = shutil.which("ldd")
    if plugin is not None and ldd is not None:
        try:
            out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = None
        if out is not None:
            missing = [line.split()[0] for line in out.splitlines() if "not found" in line]
            return list(dict.fromkeys(missing))
    return [name for name in PACKAGES if not _found(name)]


def _found(soname: str) -> bool:
    base = soname[3:].split(".so")[0]  # "libxcb-cursor.so.0" -> "xcb-cursor"
    return ctypes.util.find_library(base) is not None


def missing_message(missing: list[str]) -> str:
    """One sentence: what is missing and the exact install commands for Debian/Ubuntu and Fedora."""
    apt = [PACKAGES[m][0] for m in missing if m in PACKAGES]
    dnf = list(dict.fromkeys(PACKAGES[m][1] for m in missing if m in PACKAGES))
    unknown = [m for m in missing if m not in PACKAGES]
    install = (f"; install them with `sudo apt install {' '.join(apt)}` (Debian, Ubuntu) or "
               f"`sudo dnf install {' '.join(dnf)}` (Fedora)" if apt else "")
    other = f"{'; also find the package that provides ' if apt else '; find the packages that provide '}" \
            f"{', '.join(unknown)}" if unknown else ""
    return (f"GAN Studio cannot open its window: Qt's X11 plugin needs system libraries that are missing "
            f"({', '.join(missing)}){install}{other}; the command line (`ganstudio train`) works without them.")


def check_system_libraries(find: Callable[[], list[str]] = missing_libraries, env: dict | None = None,
                           platform: str = sys.platform) -> str | None:
    """The sentence to print before exiting when the window cannot open, or None when all is there."""
    if not needs_xcb(env, platform):
        return None
    missing = find()
    return missing_message(missing) if missing else None
