"""The new-run wizard, one page per module."""
