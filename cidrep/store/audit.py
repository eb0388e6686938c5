"""The audit log: one row per export, restore, deletion and prune.

A row names its scope by opaque refs (``accounts.ref``, ``numbers.ref``), never by a
name or a number, and has no foreign key, so it survives the deletion it records and
identifies no one once the rows it named are gone. Rows are written inside the
caller's transaction, so an action and its record commit together.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

ACTIONS = ("export", "restore", "delete", "prune")
SCOPES = ("all", "account", "numbers", "retention")


def new_ref() -> str:
    return secrets.token_hex(8)


def record(
    db: Database,
    *,
    at: str,
    os_user: str,
    action: str,
    scope: str,
    refs: Sequence[str] = (),
    counts: dict[str, int] | None = None,
    detail: dict[str, Any] | None = None,
    ref: str | None = None,
) -> str:
    """Append one entry (inside the caller's transaction); returns its ref."""
    ref = ref or new_ref()
    db.conn.execute(
        """INSERT INTO audit (ref, at, os_user, action, scope, refs, counts, detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            ref,
            at,
            os_user,
            action,
            scope,
            json.dumps(list(refs)),
            json.dumps(counts or {}, sort_keys=True),
            json.dumps(detail or {}, sort_keys=True),
        ],
    )
    return ref


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "ref": row["ref"],
        "at": row["at"],
        "os_user": row["os_user"],
        "action": row["action"],
        "scope": row["scope"],
        "refs": json.loads(row["refs"]),
        "counts": json.loads(row["counts"]),
        "detail": json.loads(row["detail"]),
    }


def entries(db: Database, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """All entries, oldest first (the last ``limit`` when given)."""
    if limit is None:
        rows = db.query("SELECT * FROM audit ORDER BY id")
    else:
        rows = db.query(
            "SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id", [limit]
        )
    for row in rows:
        yield _decode(row)


def entries_about(db: Database, refs_table: str) -> Iterator[dict[str, Any]]:
    """Entries whose scope names a ref in the temp table ``refs_table`` (column
    ``ref``), or covers every account ("all"), oldest first."""
    sql = f"""SELECT * FROM audit a WHERE a.scope = 'all' OR EXISTS (
                  SELECT 1 FROM json_each(a.refs) j JOIN {refs_table} s ON s.ref = j.value)
              ORDER BY a.id"""
    for row in db.query(sql):
        yield _decode(row)


def last(db: Database, action: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM audit WHERE action = ? ORDER BY id DESC LIMIT 1", [action]))
    return _decode(rows[0]) if rows else None


def load(db: Database, entry: dict[str, Any]) -> bool:
    """Insert an exported entry as it was (restore); False when its ref is present."""
    cursor = db.conn.execute(
        """INSERT OR IGNORE INTO audit (ref, at, os_user, action, scope, refs, counts, detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            entry["ref"],
            entry["at"],
            entry["os_user"],
            entry["action"],
            entry["scope"],
            json.dumps(list(entry.get("refs", []))),
            json.dumps(entry.get("counts", {}), sort_keys=True),
            json.dumps(entry.get("detail", {}), sort_keys=True),
        ],
    )
    return bool(cursor.rowcount)
