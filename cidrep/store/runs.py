"""Runs, per-source run results, feed cursors, sightings, and what is due."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

from cidrep.contract import Sighting


def start_run(db: Database, started_at: str, account: str | None, forced: bool) -> int:
    cursor = db.execute(
        "INSERT INTO runs (started_at, account, forced) VALUES (?, ?, ?)",
        [started_at, account, int(forced)],
    )
    return int(cursor.lastrowid or 0)


def finish_run(
    db: Database, run_id: int, finished_at: str, checks: int, flagged: int, errors: int, code: int
) -> None:
    db.execute(
        """UPDATE runs SET finished_at = ?, checks = ?, flagged = ?, errors = ?, exit_code = ?
           WHERE id = ?""",
        [finished_at, checks, flagged, errors, code, run_id],
    )


def record_source(db: Database, run_id: int, result: dict[str, Any]) -> None:
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


def store_feed_chunk(
    db: Database,
    source: str,
    sightings: Sequence[Sighting],
    targets: dict[str, list[int]],
    cursor: str | None,
    run_id: int,
    now: str,
) -> int:
    """Store a chunk's sightings and its cursor in one transaction; returns new rows."""
    rows = [
        (number_id, source, s.key, s.occurred_at, json.dumps(s.detail, sort_keys=True), run_id)
        for s in sightings
        for number_id in targets.get(s.number, ())
    ]
    with db.atomic():
        before = db.conn.total_changes
        db.conn.executemany(
            """INSERT OR IGNORE INTO sightings (number_id, source, key, occurred_at, detail,
               run_id) VALUES (?,?,?,?,?,?)""",
            rows,
        )
        added = db.conn.total_changes - before
        db.execute(
            """INSERT INTO feeds (source, cursor, updated_at) VALUES (?, ?, ?)
               ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor,
               updated_at = excluded.updated_at""",
            [source, cursor, now],
        )
    return added


def mark_feed_success(db: Database, source: str, now: str) -> None:
    db.execute(
        """INSERT INTO feeds (source, last_success_at, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (source) DO UPDATE SET last_success_at = excluded.last_success_at,
           updated_at = excluded.updated_at""",
        [source, now, now],
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


def _scope_sql(account_id: int | None, numbers: Sequence[str] | None) -> tuple[str, list]:
    sql, params = "n.paused_at IS NULL", []
    if account_id is not None:
        sql += " AND n.account_id = ?"
        params.append(account_id)
    if numbers:
        sql += f" AND n.e164 IN ({','.join('?' * len(numbers))})"
        params.extend(numbers)
    return sql, params


def _due_sql(
    source: str, fresh_since: str | None, account_id: int | None, numbers: Sequence[str] | None
) -> tuple[str, list]:
    """WHERE clause (over ``numbers n``) selecting the due numbers; see ``iter_due``."""
    where, params = _scope_sql(account_id, numbers)
    if fresh_since is not None:
        where += """ AND NOT EXISTS (SELECT 1 FROM observations o WHERE o.number_id = n.id
                     AND o.source = ? AND o.verdict != 'error' AND o.last_seen >= ?)"""
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

    A number is due unless it has a real (non-error) observation from ``source``
    seen at or after ``fresh_since``; ``None`` means everything is due. Failed checks do
    not count as fresh, so they are retried on the next run. Keyset pagination keeps
    memory flat and holds no read cursor open across the caller's writes.
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
    scope, params = _scope_sql(account_id, numbers)
    rows = db.query(
        f"""SELECT 1 FROM numbers n WHERE {scope} AND NOT EXISTS (
              SELECT 1 FROM observations o WHERE o.number_id = n.id AND o.source = ?
              AND o.verdict != 'error') LIMIT 1""",
        [*params, source],
    )
    return bool(list(rows))
