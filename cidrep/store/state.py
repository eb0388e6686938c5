"""The ``source_state`` table: one current-state row per (number, source).

Written with the history, in the same transaction (``store.history``), read by
indexed lookups. The rules for how a row changes live in ``cidrep.history.advance``;
``fail_scope`` is the same rule for an error, written as one set-based statement
for a feed that failed for every number at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlite_utils import Database

from cidrep.history import SourceState

COLUMNS: tuple[str, ...] = tuple(SourceState.__dataclass_fields__)

# ``cidrep.health.health`` over ``source_state s`` in SQL: failing (the latest attempt
# failed) and stale (no success since the stale-before time bound to the ``?``).
FAILING_SQL = (
    "(s.last_failure IS NOT NULL AND (s.last_success IS NULL OR s.last_failure >= s.last_success))"
)
STALE_SQL = "(s.last_success IS NOT NULL AND s.last_success < ?)"


def upsert_sql() -> str:
    cols = ", ".join(COLUMNS)
    marks = ",".join("?" * (len(COLUMNS) + 2))
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS)
    return (
        f"INSERT INTO source_state (number_id, source, {cols}) VALUES ({marks}) "
        f"ON CONFLICT (number_id, source) DO UPDATE SET {updates}"
    )


def upsert(db: Database, rows: Iterable[tuple[int, str, SourceState]]) -> None:
    """Write states (inside the caller's transaction)."""
    db.conn.executemany(
        upsert_sql(), [(n, s, *(state.__dict__[c] for c in COLUMNS)) for n, s, state in rows]
    )


def load(db: Database, source: str, number_ids: Iterable[int]) -> dict[int, SourceState]:
    """States of ``source`` for these numbers (primary-key lookups)."""
    ids = sorted(set(number_ids))
    found: dict[int, SourceState] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"SELECT * FROM source_state WHERE source = ? AND number_id IN ({marks})",
            [source, *chunk],
        ):
            found[row["number_id"]] = SourceState.from_row(row)
    return found


def scope_sql(account_id: int | None, numbers: Sequence[str] | None) -> tuple[str, list[Any]]:
    """WHERE clause over ``numbers n``: active numbers in the account / number scope."""
    sql, params = "n.paused_at IS NULL", []
    if account_id is not None:
        sql += " AND n.account_id = ?"
        params.append(account_id)
    if numbers:
        sql += f" AND n.e164 IN ({','.join('?' * len(numbers))})"
        params.extend(numbers)
    return sql, params


def fail_scope(
    db: Database,
    source: str,
    message: str,
    now: str,
    account_id: int | None,
    numbers: Sequence[str] | None,
    fresh_since: str | None = None,
) -> int:
    """Record a failed check of ``source`` for every active number in scope.

    The set-based form of ``advance(prev, "error", now, message)``: verdicts and
    history are untouched, last_failure/last_error/error_streak/checks move. With
    ``fresh_since``, numbers that succeeded at or after it were not due and are left
    alone. Returns how many numbers were marked.
    """
    where, params = scope_sql(account_id, numbers)
    if fresh_since is not None:
        where += """ AND NOT EXISTS (SELECT 1 FROM source_state f WHERE f.number_id = n.id
                     AND f.source = ? AND f.last_success >= ?)"""
        params += [source, fresh_since]
    with db.atomic():
        cursor = db.execute(
            f"""INSERT INTO source_state (number_id, source, last_checked, last_failure,
                    last_error, error_streak, checks)
                SELECT n.id, ?, ?, ?, ?, 1, 1 FROM numbers n WHERE {where}
                ON CONFLICT (number_id, source) DO UPDATE SET
                    last_checked = excluded.last_checked,
                    last_failure = excluded.last_failure,
                    last_error = excluded.last_error,
                    error_streak = source_state.error_streak + 1,
                    checks = source_state.checks + 1""",
            [source, now, now, message, *params],
        )
    return cursor.rowcount


def scope_findings(
    db: Database,
    sources: dict[str, str],
    account_id: int | None,
    numbers: Sequence[str] | None,
) -> tuple[bool, set[str]]:
    """(anything flagged, sources failing or stale) over active numbers in scope.

    ``sources`` maps each source in scope to its stale-before time (ISO). This is
    what ``check`` exits by: the state after the run, not what happened to be due.
    """
    flagged, bad = False, set()
    where, params = scope_sql(account_id, numbers)
    for source, stale_before in sources.items():
        row = next(
            iter(
                db.query(
                    f"""SELECT
                          max(s.verdict = 'flagged') AS flagged,
                          max({FAILING_SQL}) AS failing,
                          max({STALE_SQL}) AS stale
                        FROM numbers n JOIN source_state s
                          ON s.number_id = n.id AND s.source = ?
                        WHERE {where}""",
                    [stale_before, source, *params],
                )
            )
        )
        flagged = flagged or bool(row["flagged"])
        if row["failing"] or row["stale"]:
            bad.add(source)
    return flagged, bad


def states_for(db: Database, number_ids: Sequence[int]) -> dict[int, dict[str, dict[str, Any]]]:
    """Every source's state row for these numbers, with the verdict row's details.

    Keys per row: the ``SourceState`` fields plus label, category, score, evidence
    (JSON text) and url of the row holding the current verdict.
    """
    found: dict[int, dict[str, dict[str, Any]]] = {}
    for start in range(0, len(number_ids), 500):
        chunk = list(number_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"""SELECT s.*, o.label, o.category, o.score, o.evidence, o.url
                FROM source_state s LEFT JOIN observations o ON o.id = s.verdict_obs_id
                WHERE s.number_id IN ({marks}) ORDER BY s.number_id, s.source""",
            chunk,
        ):
            found.setdefault(row["number_id"], {})[row["source"]] = row
    return found


def iter_numbers(
    db: Database, account_id: int | None = None, tag: str | None = None, page: int = 1000
) -> Iterator[list[dict[str, Any]]]:
    """Monitored numbers in pages (keyset by account name and E.164), for streaming."""
    from cidrep.store.numbers import number_filter

    where, params = number_filter(account_id, tag)
    last: tuple[str, str] = ("", "")
    while True:
        rows = list(
            db.query(
                f"""SELECT n.*, a.name AS account FROM numbers n
                    JOIN accounts a ON a.id = n.account_id
                    WHERE {where} AND (a.name, n.e164) > (?, ?)
                    ORDER BY a.name, n.e164 LIMIT ?""",
                [*params, *last, page],
            )
        )
        if rows:
            yield rows
        if len(rows) < page:
            return
        last = (rows[-1]["account"], rows[-1]["e164"])
