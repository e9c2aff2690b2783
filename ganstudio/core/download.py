"""Downloading a large file over HTTP(S) with the standard library: streamed into `NAME.part` beside the target,
resumed with an HTTP Range request when a `.part` is there (started over when the server ignores Range), checked
(size, SHA-256 when known), then fsynced and renamed into place. Progress is a callback, cancelling a flag polled
between chunks; every failure is a DownloadError with one sentence, never a traceback.

Two downloads of the same file at once (two threads, or the app and `ganstudio models get`) would write one
`.part` together: each holds `NAME.lock` (an OS lock, released even when its process dies) while it downloads,
and a second one waits for it, then reuses the file the first one finished (or resumes its `.part`)."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import logging
import os
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

import ganstudio
from ganstudio.core.errors import Cancelled, GanStudioError, WriteError, size_text

log = logging.getLogger(__name__)

CHUNK = 1 << 16
TIMEOUT_S = 30.0  # a silent server for this long is a failed connection (also bounds how long a cancel waits)
PART_SUFFIX = ".part"
LOCK_SUFFIX = ".lock"
LOCK_POLL_S = 0.1  # how often a download waiting for another one of the same file looks again (and for cancel)
Progress = Callable[[int, int], None]  # (bytes done, bytes in all; 0 when the server does not say)


class DownloadError(GanStudioError):
    """A download that could not finish: the network, the server, or a file that failed its integrity check."""


@dataclass(frozen=True)
class Downloaded:
    """A finished download: where it is, its size and SHA-256, and whether it continued a partial file."""

    path: Path
    size: int
    sha256: str
    resumed: bool
    reused: bool = False  # another download of the same file finished it while this one waited


def part_path(dest: Path) -> Path:
    """The partial file a download of `dest` grows in (kept after an interruption, for resuming)."""
    return dest.with_name(dest.name + PART_SUFFIX)


def lock_path(dest: Path) -> Path:
    """The lock file a download of `dest` holds while it runs (removed when it ends)."""
    return dest.with_name(dest.name + LOCK_SUFFIX)


def download(url: str, dest: str | Path, *, size: int | None = None, sha256: str | None = None,
             progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
             timeout: float = TIMEOUT_S, by_hand: str = "") -> Downloaded:
    """Fetch `url` into `dest` (resuming `dest.part`), check the expected size and SHA-256 when given, and rename
    it into place; `by_hand` ends the sentence of a network failure (what to do instead). Another download of
    `dest` in progress is waited for, and the file it finished is reused when it has the expected size and
    SHA-256."""
    dest = Path(dest).expanduser()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError.from_os_error(exc, dest, size) from None
    with _only_download_of(dest, size, progress, cancelled) as waited:
        if waited and dest.is_file():
            reused = _reuse(dest, size, sha256)
            if reused is not None:
                return reused
        return _download(url, dest, size, sha256, progress, cancelled, timeout, by_hand)


def _download(url: str, dest: Path, size: int | None, sha256: str | None, progress: Progress | None,
              cancelled: Callable[[], bool] | None, timeout: float, by_hand: str) -> Downloaded:
    """`download` while holding the file's lock."""
    part = part_path(dest)
    host = urlsplit(url).hostname or url
    hint = by_hand or f"download {url} by hand and put it at {dest}"
    digest = hashlib.sha256()
    have = _hash_existing(part, digest)
    if size is not None and have > size:  # not the file we expect: start over
        part.unlink(missing_ok=True)
        digest, have = hashlib.sha256(), 0
    resumed = restart = False
    try:
        with _open(url, have, timeout) as response:
            status = getattr(response, "status", 200)
            if have and status == 206 and _range_start(response) == have:
                resumed = True
                log.info("resuming %s at %d bytes", url, have)
            elif have and status == 206:  # a range other than the one asked for: ask for the whole file
                restart = True
            elif have:  # the server sent the whole file (no Range support): start over
                log.info("%s does not resume partial downloads; starting %s over", host, dest.name)
                digest, have = hashlib.sha256(), 0
            if not restart:
                total = _total(response, have)
                if size is not None and total and total != size:
                    raise DownloadError(f"{host} offers {dest.name} with {size_text(total)}, not the expected "
                                        f"{size_text(size)}; nothing was downloaded")
                total = total or (size or 0)
                done = _stream(response, part, have, digest, total, progress, cancelled, dest)
    except Cancelled:
        raise Cancelled(f"the download of {dest.name} was cancelled; the {size_text(_size(part))} downloaded so "
                        "far are kept, and the next download resumes from there") from None
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have and size is not None and have == size:
            done = have  # the partial file was already complete
        elif exc.code == 416 and have:  # the partial file is not a start of this file
            restart = True
        else:
            raise DownloadError(f"{host} answered {exc.code} {exc.reason} for {url}; {hint}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"could not reach {host}: {_reason(exc.reason)}; {hint}") from None
    except (http.client.HTTPException, OSError) as exc:
        got = _size(part)
        if not got:
            raise DownloadError(f"could not reach {host}: {_reason(exc)}; {hint}") from None
        raise DownloadError(f"the download of {dest.name} from {host} was interrupted after {size_text(got)} "
                            f"({_reason(exc)}); run it again to resume, or {hint}") from None
    if restart:  # without the partial file: no Range request, so this does not come back here
        log.info("%s did not continue %s at byte %d; starting it over", host, dest.name, have)
        part.unlink(missing_ok=True)
        return _download(url, dest, size, sha256, progress, cancelled, timeout, by_hand)
    return _finish(part, dest, done, digest.hexdigest(), size, sha256, resumed)


@contextlib.contextmanager
def _only_download_of(dest: Path, size: int | None, progress: Progress | None,
                      cancelled: Callable[[], bool] | None) -> Iterator[bool]:
    """Hold `dest`'s lock file while downloading it; yields whether another download had it first (this one
    waited, showing that one's progress, and may be cancelled meanwhile)."""
    path, waited = lock_path(dest), False
    while True:
        try:
            fh = open(path, "a+b")
        except OSError as exc:
            raise WriteError.from_os_error(exc, path) from None
        try:
            while not _try_lock(fh):
                if not waited:
                    log.info("waiting for another download of %s", dest.name)
                waited = True
                if cancelled is not None and cancelled():
                    raise Cancelled(f"the download of {dest.name} was cancelled while it waited for another "
                                    "download of the same file")
                if progress:
                    progress(_size(part_path(dest)), size or 0)
                time.sleep(LOCK_POLL_S)
            if _same_file(fh, path):  # not a lock file that was replaced while this one waited on it
                try:
                    yield waited
                finally:
                    # removed while still locked: a waiter that then gets the old file's lock sees it is gone
                    with contextlib.suppress(OSError):  # Windows keeps an open file: it stays, harmlessly
                        path.unlink()
                    _unlock(fh)
                return
            _unlock(fh)
        finally:
            fh.close()


def _try_lock(fh) -> bool:
    """Take the OS's exclusive lock on an open file without waiting; False when another holder has it."""
    try:
        if os.name == "nt":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # per open file: threads exclude each other too
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN, errno.EDEADLK, getattr(errno, "EWOULDBLOCK", errno.EAGAIN)):
            return False
        raise
    return True


def _unlock(fh) -> None:
    if os.name == "nt":
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _same_file(fh, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
    except OSError:
        return False


def _reuse(dest: Path, size: int | None, sha256: str | None) -> Downloaded | None:
    """The file another download just finished, when it is the one expected (None: download it again)."""
    digest, n = hashlib.sha256(), 0
    try:
        with open(dest, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                n += len(chunk)
    except OSError:
        return None
    got = digest.hexdigest()
    if (size is not None and n != size) or (sha256 and got != sha256.lower()):
        return None
    log.info("reused %s, which another download finished meanwhile", dest)
    return Downloaded(dest, n, got, resumed=False, reused=True)


def _open(url: str, have: int, timeout: float):
    headers = {"User-Agent": f"GAN Studio/{ganstudio.__version__}", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _range_start(response) -> int | None:
    """The first byte of a 206 answer, from its Content-Range ('bytes 100-199/200')."""
    value = response.headers.get("Content-Range", "")
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _total(response, have: int) -> int:
    """The whole file's size as the answer tells it (0 when it does not)."""
    crange = response.headers.get("Content-Range", "")
    if "/" in crange and crange.rsplit("/", 1)[1].strip().isdigit():
        return int(crange.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length", "")
    return have + int(length) if length.strip().isdigit() else 0


def _hash_existing(part: Path, digest) -> int:
    """Feed the bytes already in `part` to the digest; their count (0 when there is no partial file)."""
    try:
        with open(part, "rb") as fh:
            n = 0
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                n += len(chunk)
            return n
    except FileNotFoundError:
        return 0
    except OSError:
        part.unlink(missing_ok=True)
        return 0


def _stream(response, part: Path, have: int, digest, total: int, progress: Progress | None,
            cancelled: Callable[[], bool] | None, dest: Path) -> int:
    """Append the answer's body to `part`, reporting progress and checking for cancel between chunks."""
    done = have
    try:
        fh = open(part, "ab" if have else "wb")
    except OSError as exc:
        raise WriteError.from_os_error(exc, part, total or None) from None
    with fh:
        if progress:
            progress(done, total)
        while True:
            if cancelled is not None and cancelled():
                raise Cancelled("cancelled")
            chunk = response.read(CHUNK)
            if not chunk:
                break
            try:
                fh.write(chunk)
            except OSError as exc:
                raise WriteError.from_os_error(exc, dest, (total - done) or None) from None
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
        fh.flush()
        os.fsync(fh.fileno())
    if total and done < total:  # the server closed the connection early
        raise http.client.IncompleteRead(b"", total - done)
    return done


def _finish(part: Path, dest: Path, done: int, got_sha: str, size: int | None, sha256: str | None,
            resumed: bool) -> Downloaded:
    """Check the finished `.part` and rename it to `dest`; a file that fails the check is removed."""
    if size is not None and done != size:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{dest.name} arrived with {size_text(done)} instead of {size_text(size)}, so it was "
                            "removed; download it again")
    if sha256 and got_sha.lower() != sha256.lower():
        part.unlink(missing_ok=True)
        raise DownloadError(f"{dest.name} failed its integrity check (SHA-256 {got_sha[:12]}…, expected "
                            f"{sha256[:12]}…), so it was removed; download it again")
    try:
        os.replace(part, dest)
    except OSError as exc:
        raise WriteError.from_os_error(exc, dest, done) from None
    log.info("downloaded %s (%d bytes, SHA-256 %s%s)", dest, done, got_sha, ", resumed" if resumed else "")
    return Downloaded(dest, done, got_sha, resumed)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


_ERRNO_WORDS = {
    errno.ENETUNREACH: "the network is unreachable",
    errno.EHOSTUNREACH: "the host is unreachable",
    errno.ECONNREFUSED: "the connection was refused",
    errno.ECONNRESET: "the connection was reset",
    errno.ETIMEDOUT: "the connection timed out",
}


def _reason(reason) -> str:
    """A network failure in a few words ('the network is unreachable', 'the name was not found')."""
    if isinstance(reason, socket.gaierror):
        return "its name could not be looked up (no network, or no name server)"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "it did not answer in time"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"its certificate could not be verified ({reason.verify_message})"
    if isinstance(reason, ssl.SSLError):
        return f"the secure connection failed ({reason.reason or reason})"
    if isinstance(reason, http.client.IncompleteRead):
        return "the connection closed early"
    if isinstance(reason, OSError) and reason.errno in _ERRNO_WORDS:
        return _ERRNO_WORDS[reason.errno]
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror[:1].lower() + reason.strerror[1:]
    text = " ".join(str(reason).split())[:120]
    return text or type(reason).__name__
