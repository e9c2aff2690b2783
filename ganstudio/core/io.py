"""Atomic file writes: a temporary file in the same folder, fsync, then rename into place."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ganstudio.core.errors import WriteError


def atomic_write(path: Path, write: Callable[[Path], None], size: int | None = None) -> None:
    """Call write(tmp_path), fsync it and rename it to path; on failure path is untouched and the temporary file
    removed (a WriteError; `size`, the bytes it needs, goes into a full disk's message)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        _honour_umask(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WriteError.from_os_error(exc, path, size) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux's /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere reading the umask means setting it: put it back at once
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain new file gets under the process's umask (0o644 under the usual umask 022)."""
    return 0o666 & ~current_umask()


def _honour_umask(tmp: Path) -> None:
    """mkstemp makes files owner-only (0600); give the finished file the mode open() would have."""
    try:
        os.chmod(tmp, file_mode())
    except (OSError, NotImplementedError):
        pass  # a file system without modes (FAT, some network shares): keep what it gave


def atomic_write_text(path: Path, text: str) -> None:
    """Write text (UTF-8) atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not supported on this platform (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
