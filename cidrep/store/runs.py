"""Runs, per-source run results, feed cursors and items, sightings, and what is due."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

from cidrep.contract import Sighting
from cidrep.store.database import write
from cidrep.store.state import scope_sql


def start_run(db: Database, started_at: str, account: str | None, forced: bool) -> int:
    """Record a new run; first mark runs that never finished as abandoned.

    Only the holder of the run lock calls this, so an unfinished run is one that was
    killed (or crashed) and will never finish.
    """
    with write(db):
        db.execute("UPDATE runs SET status = 'abandoned' WHERE status = 'running'")
        cursor = db.execute(
            "INSERT INTO runs (started_at, account, forced, status) VALUES (?, ?, ?, 'running')",
            [started_at, account, int(forced)],
        )
    return int(cursor.lastrowid or 0)


def finish_run(
    db: Database,
    run_id: int,
    finished_at: str,
    totals: dict[str, int],
    code: int,
    status: str = "finished",
) -> None:
    with write(db):
        db.execute(
            """UPDATE runs SET finished_at = ?, checks = ?, flagged = ?, errors = ?,
               exit_code = ?, status = ? WHERE id = ?""",
            [
                finished_at,
                totals.get("checks", 0),
                totals.get("flagged", 0),
                totals.get("errors", 0),
                code,
                status,
                run_id,
            ],
        )


def record_source(db: Database, run_id: int, result: dict[str, Any]) -> None:
    with write(db):
        db.execute(
            """INSERT INTO run_sources (run_id, source, status, reason, checks, clean, flagged,
               unknown, errors, cost_units, message, stats) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
            [
                run_id,
                result["source"],
                result["status"],
                result.get("reason"),
                result["checks"],
                result["verdicts"]["clean"],
                result["verdicts"]["flagged"],
                result["verdicts"]["unknown"],
                result["errors"],
                result["cost_units"],
                "; ".join(result["messages"]) or None,
                json.dumps(result["stats"], sort_keys=True),
            ],
        )


def feed_state(db: Database, source: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM feeds WHERE source = ?", [source]))
    return rows[0] if rows else None


def feed_done(db: Database, source: str) -> frozenset[str]:
    """Items (e.g. FTC file dates) this feed has fully ingested."""
    return frozenset(
        r["item"] for r in db.query("SELECT item FROM feed_items WHERE source = ?", [source])
    )


def store_feed_chunk(
    db: Database,
    source: str,
    sightings: Sequence[Sighting],
    targets: dict[str, list[int]],
    cursor: str | None,
    done: str | None,
    run_id: int,
    now: str,
) -> int:
    """Store a chunk's sightings, cursor and done item in one transaction.

    Sightings of numbers removed since the pull started are dropped (the INSERT only
    matches numbers that still exist). Returns how many new rows were stored.
    """
    rows = [
        (number_id, source, s.key, s.occurred_at, json.dumps(s.detail, sort_keys=True), run_id)
        for s in sightings
        for number_id in targets.get(s.number, ())
    ]
    with write(db):
        before = db.conn.total_changes
        db.conn.executemany(
            """INSERT OR IGNORE INTO sightings (number_id, source, key, occurred_at, detail,
               run_id) SELECT n.id, ?, ?, ?, ?, ? FROM numbers n WHERE n.id = ?""",
            [(s, k, o, d, r, n) for n, s, k, o, d, r in rows],
        )
        added = db.conn.total_changes - before
        db.execute(
            """INSERT INTO feeds (source, cursor, updated_at) VALUES (?, ?, ?)
               ON CONFLICT (source) DO UPDATE SET cursor = coalesce(excluded.cursor, cursor),
               updated_at = excluded.updated_at""",
            [source, cursor, now],
        )
        if done is not None:
            db.execute(
                """INSERT INTO feed_items (source, item, done_at) VALUES (?, ?, ?)
                   ON CONFLICT (source, item) DO UPDATE SET done_at = excluded.done_at""",
                [source, done, now],
            )
    return added


def mark_feed(db: Database, source: str, now: str, error: str | None = None) -> None:
    """Record a feed pull's outcome: success (``error`` None) or failure with its message."""
    with write(db):
        if error is None:
            db.execute(
                """INSERT INTO feeds (source, last_success_at, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT (source) DO UPDATE SET last_success_at = excluded.last_success_at,
                   updated_at = excluded.updated_at""",
                [source, now, now],
            )
        else:
            db.execute(
                """INSERT INTO feeds (source, last_failure_at, last_error, updated_at)
                   VALUES (?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET
                   last_failure_at = excluded.last_failure_at, last_error = excluded.last_error,
                   updated_at = excluded.updated_at""",
                [source, now, error, now],
            )


def sightings_for(db: Database, source: str, number: str, number_id: int) -> list[Sighting]:
    """Every stored sighting of ``number`` (row ``number_id``) from ``source``, oldest first."""
    return [
        Sighting(
            number=number,
            key=r["key"],
            occurred_at=r["occurred_at"],
            detail=json.loads(r["detail"]),
        )
        for r in db.query(
            "SELECT key, occurred_at, detail FROM sightings WHERE source = ? AND number_id = ?"
            " ORDER BY occurred_at, id",
            [source, number_id],
        )
    ]


def active_targets(db: Database) -> dict[str, list[int]]:
    """Every active (unpaused) number across accounts: E.164 -> number row ids."""
    targets: dict[str, list[int]] = {}
    for row in db.query("SELECT id, e164 FROM numbers WHERE paused_at IS NULL ORDER BY id"):
        targets.setdefault(row["e164"], []).append(row["id"])
    return targets


def _due_sql(
    source: str, fresh_since: str | None, account_id: int | None, numbers: Sequence[str] | None
) -> tuple[str, list]:
    """WHERE clause (over ``numbers n``) selecting the due numbers; see ``iter_due``."""
    where, params = scope_sql(account_id, numbers)
    if fresh_since is not None:
        where += """ AND NOT EXISTS (SELECT 1 FROM source_state s WHERE s.number_id = n.id
                     AND s.source = ? AND s.last_success >= ?)"""
        params += [source, fresh_since]
    return where, params


def iter_due(
    db: Database,
    source: str,
    fresh_since: str | None,
    account_id: int | None = None,
    numbers: Sequence[str] | None = None,
    page: int = 500,
) -> Iterator[tuple[str, list[int]]]:
    """Stream (E.164, number ids) for active numbers in scope that are due.

    A number is due unless its current state for ``source`` has a last success at or
    after ``fresh_since`` (an indexed lookup, never a history scan); ``None`` means
    everything is due. Failed checks do not count as fresh, so they are retried on the
    next run. Keyset pagination keeps memory flat and holds no read cursor open
    across the caller's writes.
    """
    where, params = _due_sql(source, fresh_since, account_id, numbers)
    last = ""
    while True:
        rows = list(
            db.query(
                f"""SELECT n.e164, group_concat(n.id) AS ids FROM numbers n
                    WHERE {where} AND n.e164 > ?
                    GROUP BY n.e164 ORDER BY n.e164 LIMIT ?""",
                [*params, last, page],
            )
        )
        for row in rows:
            yield row["e164"], [int(i) for i in row["ids"].split(",")]
        if len(rows) < page:
            return
        last = rows[-1]["e164"]


def spent_since(db: Database, source: str, since: str) -> float:
    """Cost units a source spent in runs started at or after ``since``."""
    row = db.conn.execute(
        """SELECT coalesce(sum(rs.cost_units), 0) FROM run_sources rs
           JOIN runs r ON r.id = rs.run_id WHERE rs.source = ? AND r.started_at >= ?""",
        [source, since],
    ).fetchone()
    return float(row[0])


def count_due(
    db: Database,
    source: str,
    fresh_since: str | None,
    account_id: int | None,
    numbers: Sequence[str] | None,
) -> int:
    """How many distinct numbers ``iter_due`` would yield, in one query."""
    where, params = _due_sql(source, fresh_since, account_id, numbers)
    rows = db.query(f"SELECT count(DISTINCT n.e164) AS c FROM numbers n WHERE {where}", params)
    return int(next(iter(rows))["c"])


def has_unassessed(
    db: Database, source: str, account_id: int | None, numbers: Sequence[str] | None
) -> bool:
    """True when an active number in scope has never had a real verdict from ``source``."""
    scope, params = scope_sql(account_id, numbers)
    rows = db.query(
        f"""SELECT 1 FROM numbers n WHERE {scope} AND NOT EXISTS (
              SELECT 1 FROM source_state s WHERE s.number_id = n.id AND s.source = ?
              AND s.last_success IS NOT NULL) LIMIT 1""",
        [*params, source],
    )
    return bool(list(rows))
