"""Errors a user can act on: each carries one clear sentence, shown without a traceback."""


class GanStudioError(Exception):
    """Base class: the message is a complete sentence for the user."""


class ConfigError(GanStudioError):
    """A setting that cannot work."""


class RunExistsError(ConfigError):
    """A new run's folder already holds a run; `folder` lets the CLI and the app say how to resume it."""

    def __init__(self, folder: str):
        super().__init__(f"{folder} already holds a run; resume it or choose another folder")
        self.folder = folder


class DatasetError(GanStudioError):
    """Data that is missing, unreadable or unsuitable."""


class CheckpointError(GanStudioError):
    """A checkpoint that is wrong, damaged, hostile or cannot be written."""


class TrainingError(GanStudioError):
    """A run that had to stop (non-finite loss, out of memory)."""


class Cancelled(GanStudioError):
    """The user stopped a long computation (an export, a PCA); nothing was written or changed."""


# Words a core message may start with that read as the start of a sentence once capitalised; a message that
# starts with anything else (a file name, a model name) keeps its case.
_SENTENCE_STARTS = {"a", "an", "the", "this", "these", "there", "could", "cannot", "can't", "class", "rendering",
                    "style", "slider", "unknown", "choose", "write", "at", "images", "animations", "mp4", "frames",
                    "open", "saved", "loaded", "exported", "no", "not", "computing", "cancelled", "failed",
                    "unexpected", "give", "add", "use", "training", "loading", "saving"}


def as_sentence(message: str, *, capitalise: bool = False) -> str:
    """A core message ('could not ...') as a sentence for the screen: first word capitalised unless it is a name
    (always, with `capitalise`), and a final full stop."""
    message = " ".join(message.split())
    if not message:
        return message
    first = message.split(" ", 1)[0]
    if capitalise or first.lower() in _SENTENCE_STARTS or first[:1].isdigit():
        message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?", "…")) else message + "."


def user_message(exc: BaseException, doing: str = "") -> str:
    """One sentence for the user, whatever went wrong; `doing` ("rendering") names the work that failed."""
    if isinstance(exc, GanStudioError):
        return as_sentence(str(exc))
    first = str(exc).splitlines()[0][:200] if str(exc) else ""
    if type(exc).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError, without importing torch here
        return f"The GPU ran out of memory ({first[:100]}); try a smaller batch size or model."
    if isinstance(exc, MemoryError):
        return "The computer ran out of memory; try a smaller batch size, model or resolution."
    text = " ".join(str(exc).split())[:200] or "no details"
    what = f"{doing} failed" if doing else "Unexpected error"
    return as_sentence(f"{what} ({type(exc).__name__}: {text})")


class WriteError(GanStudioError):
    """A file that could not be written (a full disk, no permission); `folder` and `needed` (bytes or None)
    let a caller say what to free; the file it would have replaced is intact."""

    def __init__(self, message: str, folder: str = "", needed: int | None = None, disk_full: bool = False,
                 reason: str = ""):
        super().__init__(message)
        self.folder, self.needed, self.disk_full, self.reason = folder, needed, disk_full, reason

    @classmethod
    def from_os_error(cls, exc: OSError, path, needed: int | None = None) -> "WriteError":
        """The WriteError for an OSError met while writing `path`."""
        import errno
        import os

        folder = os.path.dirname(os.path.abspath(path))
        disk_full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
        reason = space_needed(folder, needed) if disk_full else (exc.strerror or str(exc))
        what = "the disk is full" if disk_full else "could not write"
        message = f"{what}: {os.path.basename(path)} could not be written to {folder} ({reason}); the previous file is intact"
        return cls(message, folder, needed, disk_full, reason)


def space_needed(folder, needed: int | None) -> str:
    """'it needs about 12.3 MB free, 0.4 MB is free' for a folder on a full disk."""
    import shutil

    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    need = f"it needs about {size_text(needed)} free" if needed else "it needs more free space"
    return need + (f", {size_text(free)} is free" if free is not None else "")


def size_text(n: int) -> str:
    """Bytes for people: '820 bytes', '400 KB', '12.3 MB', '1.2 GB'."""
    if n < 1000:
        return f"{n} bytes"
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)):
        if n < scale * 1000 or unit == "TB":
            value = n / scale
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    return f"{n} bytes"
