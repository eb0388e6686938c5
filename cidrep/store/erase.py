"""Deleting a scope's rows, and making the deleted bytes unrecoverable.

``count`` and ``delete`` cover the same rows (the temp tables of
``cidrep.store.scope``), so the confirmation and the receipt say exactly what goes:

- numbers, and with them (foreign-key cascade) their history, sightings, current
  state, alert state, flips and those flips' deliveries;
- for an account scope, the account, its routing and the runs scoped to it;
- fleet messages that quote a number in scope (digests), found by the caller, which
  reads their text (``notice_texts``) and passes their ids.

``wipe`` then runs with ``secure_delete`` on, a ``VACUUM`` (no free page keeps old
content) and a ``wal_checkpoint(TRUNCATE)`` (the WAL, which holds earlier versions
of the pages, is emptied), so none of the deleted text is left in the database
file, its WAL or its shared-memory file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

from cidrep.errors import CidrepError

NUMBERS = "number_id IN (SELECT id FROM temp.scope_numbers)"
ACCOUNT_RUNS = """account IN (SELECT name FROM accounts
                   WHERE id IN (SELECT id FROM temp.scope_accounts))"""

# kind -> count query, in the order a receipt lists them
COUNTS: dict[str, str] = {
    "numbers": "SELECT count(*) FROM temp.scope_numbers",
    "observations": f"SELECT count(*) FROM observations WHERE {NUMBERS}",
    "sightings": f"SELECT count(*) FROM sightings WHERE {NUMBERS}",
    "current_state": f"""SELECT (SELECT count(*) FROM source_state WHERE {NUMBERS})
                              + (SELECT count(*) FROM carrier_state WHERE {NUMBERS})""",
    "alert_state": f"""SELECT (SELECT count(*) FROM alert_numbers WHERE {NUMBERS})
                            + (SELECT count(*) FROM alert_sources WHERE {NUMBERS})""",
    "flips": f"SELECT count(*) FROM flips WHERE {NUMBERS}",
    "deliveries": f"""SELECT count(*) FROM deliveries
                      WHERE flip_id IN (SELECT id FROM flips WHERE {NUMBERS})""",
}
ACCOUNT_COUNTS: dict[str, str] = {
    "accounts": "SELECT count(*) FROM temp.scope_accounts",
    "routes": """SELECT count(*) FROM account_channels
                 WHERE account_id IN (SELECT id FROM temp.scope_accounts)""",
    "runs": f"SELECT count(*) FROM runs WHERE {ACCOUNT_RUNS}",
}


def count(db: Database, whole_accounts: bool, notice_ids: Sequence[int] = ()) -> dict[str, int]:
    """What ``delete`` would remove, by kind."""
    queries = {**(ACCOUNT_COUNTS if whole_accounts else {}), **COUNTS}
    found = {kind: db.conn.execute(sql).fetchone()[0] for kind, sql in queries.items()}
    if notice_ids:
        found["digests"] = len(notice_ids)
        marks = ",".join("?" * len(notice_ids))
        found["deliveries"] += db.conn.execute(
            f"SELECT count(*) FROM deliveries WHERE flip_id IN ({marks})", list(notice_ids)
        ).fetchone()[0]
    return found


def notice_texts(db: Database) -> Iterator[tuple[int, str]]:
    """(flip id, stored message) of every flip about no number (digests and notices)."""
    for row in db.conn.execute(
        "SELECT id, alert FROM flips WHERE number_id IS NULL AND alert IS NOT NULL"
    ):
        yield row[0], row[1]


def channel_errors(db: Database) -> Iterator[tuple[str, str]]:
    for row in db.conn.execute(
        "SELECT channel, last_error FROM channel_state WHERE last_error IS NOT NULL"
    ):
        yield row[0], row[1]


def delete(
    db: Database,
    whole_accounts: bool,
    notice_ids: Sequence[int] = (),
    scrub_channels: Sequence[str] = (),
) -> None:
    """Delete the scope (inside the caller's transaction)."""
    conn = db.conn
    if notice_ids:
        conn.execute(
            f"DELETE FROM flips WHERE id IN ({','.join('?' * len(notice_ids))})", list(notice_ids)
        )
    if scrub_channels:
        conn.execute(
            f"""UPDATE channel_state SET last_error = 'error text removed with deleted data'
                WHERE channel IN ({",".join("?" * len(scrub_channels))})""",
            list(scrub_channels),
        )
    conn.execute("DELETE FROM numbers WHERE id IN (SELECT id FROM temp.scope_numbers)")
    if whole_accounts:
        conn.execute(f"DELETE FROM runs WHERE {ACCOUNT_RUNS}")
        conn.execute("DELETE FROM accounts WHERE id IN (SELECT id FROM temp.scope_accounts)")


def secure_delete_on(db: Database) -> None:
    """Freed content is overwritten with zeros from now on (this connection)."""
    db.conn.execute("PRAGMA secure_delete = ON")


def wipe(db: Database) -> dict[str, Any]:
    """VACUUM, then checkpoint and truncate the WAL. Returns what the checkpoint said.

    A reader holding an old snapshot (a ``status`` running now) keeps the WAL from
    being emptied; the checkpoint is then ``busy`` and the caller says so.
    """
    conn = db.conn
    try:
        conn.execute("VACUUM")
        busy, log, done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as exc:
        raise CidrepError(f"rows deleted, but the file could not be compacted: {exc}") from None
    return {"busy": bool(busy), "wal_frames": log, "checkpointed": done}
