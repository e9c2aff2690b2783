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
