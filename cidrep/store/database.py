"""Opening the database and writing to it safely.

- The file is created ``0600`` (SQLite gives its -wal and -shm files the database
  file's permissions): it holds a customer's numbers.
- WAL lets ``status`` read while a cron ``check`` writes; the busy timeout makes a
  short write collision wait instead of failing.
- A user who may only read the file can still run read commands: ``open_db(...,
  readonly=True)`` opens it read-only and runs no migrations.
- Every write transaction starts with ``BEGIN IMMEDIATE`` (``write``), taking the
  write lock before reading: in WAL a read-then-write upgrade fails outright when
  another process (``numbers remove``) committed in between.
- A write that fails for storage reasons (read-only file, full disk, I/O error)
  raises ``StorageError``: one line, its own exit code, and the transaction rolled
  back, so nothing is half-written.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

from cidrep.errors import CidrepError, ExitCode

BUSY_TIMEOUT_MS = 10_000


class StorageError(CidrepError):
    """The database cannot be written (read-only, disk full, I/O error)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.STORAGE)


def storage_error(path: Path | str, exc: BaseException, doing: str = "write to") -> StorageError:
    reason = str(exc) or type(exc).__name__
    return StorageError(f"cannot {doing} database {path}: {reason}; nothing partial was written")


def open_db(path: Path | str, migrate: bool = True, readonly: bool = False) -> Database:
    """Open (creating ``0600`` if needed) the cidrep database at ``path``."""
    path = Path(path)
    if readonly:
        return _open_readonly(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise CidrepError(f"cannot create database {path}: {exc.strerror or exc}") from None
    try:
        db = Database(path, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        if db.journal_mode != "wal":
            db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            from cidrep.store.migrations import migrations

            migrations.apply(db)
    except sqlite3.OperationalError as exc:
        raise storage_error(path, exc, "use") from None
    except sqlite3.DatabaseError as exc:
        raise CidrepError(f"cannot use database {path}: {exc}") from None
    return db


def _open_readonly(path: Path) -> Database:
    if not path.exists():
        raise CidrepError(f"no database at {path} yet; add numbers first (cidrep numbers add)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        db = Database(conn, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        from cidrep.store.migrations import migrations

        if migrations.pending(db):
            raise CidrepError(
                f"database {path} needs an upgrade that this read-only user cannot write; "
                "run any cidrep write command (e.g. cidrep check) as its owner once"
            )
    except sqlite3.DatabaseError as exc:
        raise CidrepError(f"cannot read database {path}: {exc}") from None
    return db


def writable(path: Path) -> bool:
    """True when this user may write the database (and the folder for its -wal)."""
    if not path.exists():
        return os.access(path.parent if path.parent.exists() else Path.cwd(), os.W_OK)
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


@contextlib.contextmanager
def write(db: Database) -> Iterator[Database]:
    """One write transaction that takes the write lock first (``BEGIN IMMEDIATE``).

    Storage failures become ``StorageError``; any failure rolls everything back.
    Nested use joins the outer transaction through a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise storage_error(_name(db), exc) from None
    try:
        yield db
        db.conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        _rollback(db)
        if _is_storage(exc):
            raise storage_error(_name(db), exc) from None
        raise
    except BaseException:
        _rollback(db)
        raise


def _rollback(db: Database) -> None:
    with contextlib.suppress(sqlite3.Error):
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")


STORAGE_MESSAGES = ("readonly", "read-only", "disk", "full", "i/o", "locked", "no such table")


def _is_storage(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return any(word in text for word in STORAGE_MESSAGES)


def _name(db: Database) -> str:
    for row in db.conn.execute("PRAGMA database_list"):
        if row[1] == "main":
            return row[2] or ":memory:"
    return "the database"
