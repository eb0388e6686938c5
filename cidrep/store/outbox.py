"""The flips log and the delivery outbox.

A flip is appended with one ``deliveries`` row per channel in the same transaction
(``add_flip``), so a recorded change is never without its deliveries. Delivery is
claim → send → record:

- ``claim`` moves a due row (``pending``, ``next_try`` reached) to ``sending`` with a
  conditional UPDATE: only the process whose UPDATE changed the row sends it.
- ``record`` ends the attempt: ``delivered``, ``pending`` again with a later
  ``next_try``, ``failed`` (permanent) or ``expired``.
- A row still ``sending`` when a new run starts was claimed by a run that died
  between send and record: ``reclaim`` makes it pending again, so it is re-sent at
  most once more, with the same idempotency key (the flip's ``key``).

Statuses: pending, sending, delivered, failed, expired.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

from cidrep.store.database import write


def add_flip(
    db: Database,
    *,
    key: str,
    at: str,
    kind: str,
    run_id: int | None = None,
    number_id: int | None = None,
    source: str | None = None,
    old_state: str | None = None,
    new_state: str | None = None,
    held: str | None = None,
    alert: dict[str, Any] | None = None,
    channels: Sequence[str] = (),
) -> int:
    """Append a flip and its deliveries (inside the caller's transaction)."""
    cursor = db.conn.execute(
        """INSERT INTO flips (key, at, run_id, kind, number_id, source, old_state,
           new_state, held, alert) VALUES (?,?,?,?,?,?,?,?,?,?)""",
        [
            key,
            at,
            run_id,
            kind,
            number_id,
            source,
            old_state,
            new_state,
            held,
            json.dumps(alert, sort_keys=True) if alert is not None else None,
        ],
    )
    flip_id = int(cursor.lastrowid or 0)
    db.conn.executemany(
        """INSERT INTO deliveries (flip_id, channel, status, created_at, next_try)
           VALUES (?, ?, 'pending', ?, ?)""",
        [(flip_id, channel, at, at) for channel in dict.fromkeys(channels)],
    )
    return flip_id


def reclaim(db: Database, note: str) -> int:
    """Rows left ``sending`` by a run that died: pending again (sent at most once more)."""
    with write(db):
        cursor = db.execute(
            """UPDATE deliveries SET status = 'pending', claimed_at = NULL,
               last_error = ? WHERE status = 'sending'""",
            [note],
        )
    return cursor.rowcount


def due(db: Database, now: str, channels: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Pending deliveries whose next try has come, oldest flip first, with the flip."""
    sql = """SELECT d.*, f.key, f.kind, f.at, f.alert FROM deliveries d
             JOIN flips f ON f.id = d.flip_id
             WHERE d.status = 'pending' AND d.next_try <= ?"""
    params: list[Any] = [now]
    if channels is not None:
        sql += f" AND d.channel IN ({','.join('?' * len(channels))})"
        params.extend(channels)
    return list(db.query(sql + " ORDER BY d.flip_id, d.channel", params))


def claim(db: Database, delivery_id: int, now: str) -> bool:
    """Take a pending delivery for sending; False when another process has it."""
    with write(db):
        cursor = db.execute(
            """UPDATE deliveries SET status = 'sending', claimed_at = ?,
               attempts = attempts + 1 WHERE id = ? AND status = 'pending'""",
            [now, delivery_id],
        )
    return cursor.rowcount == 1


def record(
    db: Database,
    delivery_id: int,
    status: str,
    now: str,
    error: str | None = None,
    next_try: str | None = None,
) -> None:
    """End an attempt (only a row this process claimed: status 'sending').

    ``last_error`` keeps the latest problem even after a success (a delivery that
    needed retries, or was re-sent after a crash, says so)."""
    with write(db):
        db.execute(
            """UPDATE deliveries SET status = ?, last_error = coalesce(?, last_error),
               next_try = coalesce(?, next_try),
               delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
               WHERE id = ? AND status = 'sending'""",
            [status, error, next_try, status, now, delivery_id],
        )


def expire(db: Database, before: str, now: str) -> list[dict[str, Any]]:
    """Pending deliveries created before ``before``: expired. Returns them."""
    with write(db):
        rows = list(
            db.query(
                """SELECT d.id, d.channel, d.last_error, f.kind, f.key FROM deliveries d
                   JOIN flips f ON f.id = d.flip_id
                   WHERE d.status = 'pending' AND d.created_at < ?""",
                [before],
            )
        )
        db.conn.executemany(
            """UPDATE deliveries SET status = 'expired',
               last_error = coalesce(last_error, 'never delivered') || ' (expired ' || ? || ')'
               WHERE id = ?""",
            [(now, r["id"]) for r in rows],
        )
    return rows


def channel_result(
    db: Database, channel: str, now: str, error: str | None, permanent: bool = False
) -> None:
    """Record a channel's latest send: success clears its failure."""
    with write(db):
        _channel_result(db, channel, now, error, permanent)


def _channel_result(
    db: Database, channel: str, now: str, error: str | None, permanent: bool
) -> None:
    if error is None:
        db.execute(
            """INSERT INTO channel_state (channel, last_success, permanent) VALUES (?, ?, 0)
               ON CONFLICT (channel) DO UPDATE SET last_success = excluded.last_success,
               permanent = 0""",
            [channel, now],
        )
    else:
        db.execute(
            """INSERT INTO channel_state (channel, last_failure, last_error, permanent)
               VALUES (?, ?, ?, ?) ON CONFLICT (channel) DO UPDATE SET
               last_failure = excluded.last_failure, last_error = excluded.last_error,
               permanent = excluded.permanent""",
            [channel, now, error, int(permanent)],
        )


def channel_states(db: Database) -> dict[str, dict[str, Any]]:
    return {r["channel"]: r for r in db.query("SELECT * FROM channel_state")}


def pending_counts(db: Database) -> dict[str, int]:
    """Undelivered (pending or sending) deliveries per channel."""
    return {
        r["channel"]: r["n"]
        for r in db.query(
            """SELECT channel, count(*) AS n FROM deliveries
               WHERE status IN ('pending', 'sending') GROUP BY channel"""
        )
    }


def flips_since(db: Database, since: str, account_id: int | None = None) -> Iterator[dict]:
    """Flips at or after ``since`` (newest first) with their deliveries, for
    ``alerts list`` and the digest. Source-level flips have no number."""
    sql = """SELECT f.*, n.e164, a.name AS account FROM flips f
             LEFT JOIN numbers n ON n.id = f.number_id
             LEFT JOIN accounts a ON a.id = n.account_id
             WHERE f.at >= ?"""
    params: list[Any] = [since]
    if account_id is not None:
        sql += " AND (n.account_id = ? OR f.number_id IS NULL)"
        params.append(account_id)
    for row in db.query(sql + " ORDER BY f.at DESC, f.id DESC", params):
        row["deliveries"] = list(
            db.query(
                """SELECT channel, status, attempts, last_error, delivered_at, next_try
                   FROM deliveries WHERE flip_id = ? ORDER BY channel""",
                [row["id"]],
            )
        )
        yield row
