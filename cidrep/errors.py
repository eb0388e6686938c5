"""Exit codes and the user-facing error type.

Every failure a user can cause or fix (bad number, bad config, missing file) is a
``CidrepError``: the CLI prints its one-line message and exits with its code, never
a traceback. Exit codes are part of the public contract for cron and scripts.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (README "Exit codes")."""

    OK = 0  # ran; nothing flagged, no source errors
    FLAGGED = 1  # at least one number came back flagged
    USAGE = 2  # bad usage, bad config or bad input; nothing was written
    SOURCE_ERRORS = 3  # some checks failed (source errors), nothing flagged
    FLAGGED_AND_ERRORS = 4  # something flagged and some checks failed
    LOCKED = 75  # another `cidrep check` holds the lock (EX_TEMPFAIL): try later


def outcome_code(flagged: bool, errors: bool) -> ExitCode:
    """Map what a check run found to its exit code (pure, so every branch is testable)."""
    if flagged and errors:
        return ExitCode.FLAGGED_AND_ERRORS
    if flagged:
        return ExitCode.FLAGGED
    if errors:
        return ExitCode.SOURCE_ERRORS
    return ExitCode.OK


class CidrepError(Exception):
    """A user-facing error: one readable line, an exit code, no traceback."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ConfigError(CidrepError):
    """The configuration file or environment is invalid."""
