"""Errors a user can act on: each carries one clear sentence, shown without a traceback."""


class GanStudioError(Exception):
    """Base class: the message is a complete sentence for the user."""


class ConfigError(GanStudioError):
    """A setting that cannot work."""


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
