"""A non-blocking, process-wide lock so overlapping cron runs never both check.

The OS releases the lock when the holder exits, even on a crash or kill -9, so a
stale lock file never blocks future runs. The file holds the holder's PID for humans
and is created ``0600``. Callers pass the lock path derived from the database path
with symlinks resolved, so two names for one database share one lock. A lock that
cannot be created (read-only or missing folder) is one clear error, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from cidrep.errors import CidrepError, ExitCode


class LockHeld(CidrepError):
    def __init__(self, path: Path, holder: str) -> None:
        who = f" (pid {holder})" if holder else ""
        super().__init__(
            f"another cidrep check is already running{who}; lock {path}", ExitCode.LOCKED
        )


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CidrepError(
                f"cannot create lock file {self.path}: {exc.strerror or exc} "
                "(is the database folder writable?)"
            ) from None
        if not _try_lock(fd):
            os.lseek(fd, 0, os.SEEK_SET)
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise LockHeld(self.path, holder)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
