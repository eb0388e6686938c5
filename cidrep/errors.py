"""Exit codes and the user-facing error type.

Every failure a user can cause or fix (bad number, bad config, missing file) is a
``CidrepError``: the CLI prints its one-line message and exits with its code, never
a traceback. Exit codes are part of the public contract for cron and scripts.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (README "Exit codes")."""

    OK = 0  # nothing flagged in scope, every source in scope current
    FLAGGED = 1  # a number in scope is currently flagged
    USAGE = 2  # bad usage, bad config or bad input; nothing was written
    SOURCE_ERRORS = 3  # a source in scope is failing or stale, nothing flagged
    FLAGGED_AND_ERRORS = 4  # flagged, and a source in scope is failing or stale
    INTERNAL = 70  # an unexpected internal error, a bug (EX_SOFTWARE); never "flagged"
    STORAGE = 74  # the database cannot be written: read-only, disk full (EX_IOERR)
    LOCKED = 75  # another `cidrep check` holds the lock (EX_TEMPFAIL): try later


def outcome_code(flagged: bool, errors: bool) -> ExitCode:
    """Map the state of a check's scope after the run to its exit code (pure).

    ``flagged``: some active number in scope currently has a flagged verdict from a
    source in scope; ``errors``: some source in scope is failing or stale for some
    number in scope (or failed as a whole this run). So ``cidrep check && curl
    <heartbeat>`` does not flap with what happened to be due.
    """
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
