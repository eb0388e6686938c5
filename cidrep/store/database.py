"""Opening the database: WAL, busy timeout, foreign keys, then pending migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from cidrep.errors import CidrepError

BUSY_TIMEOUT_MS = 10_000


def open_db(path: Path | str, migrate: bool = True) -> Database:
    """Open (creating if needed) the cidrep database at ``path``.

    WAL lets ``status`` read while a cron ``check`` writes; the busy timeout makes
    a short write collision wait instead of failing.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            from cidrep.store.migrations import migrations

            migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise CidrepError(f"cannot use database {path}: {exc}") from None
    except OSError as exc:
        raise CidrepError(f"cannot open database {path}: {exc.strerror or exc}") from None
    return db
