"""Alert state tables: confirmed verdicts, per-number alert state, source health,
account routing and the evaluation mark.

The rules live in ``cidrep.alerts.rules``, which this module does not import (the
store sits below every capability): it reads and writes plain rows, inside the
caller's transaction. ``alert_numbers.flips`` is JSON text here and a list outside.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlite_utils import Database

from cidrep.store.state import FAILING_SQL, STALE_SQL

NUMBER_COLUMNS = (
    "state",
    "since",
    "notified",
    "notified_at",
    "flips",
    "flapping_since",
    "muted_until",
    "reminded_at",
    "flagged_at",
)


def changed_candidates(db: Database, since: str | None) -> Iterator[dict[str, Any]]:
    """Source states checked at or after ``since`` whose real verdict differs from the
    confirmed one: the only rows that can confirm a change (everything else would
    evaluate to "no change"). Indexed by ``source_state.last_checked``."""
    where = "s.last_checked >= ?" if since else "1"
    params = [since] if since else []
    yield from db.query(
        f"""SELECT s.*, a.state AS confirmed, a.since AS confirmed_since
            FROM source_state s
            JOIN numbers n ON n.id = s.number_id
            LEFT JOIN alert_sources a ON a.number_id = s.number_id AND a.source = s.source
            WHERE {where} AND s.verdict IN ('flagged', 'clean')
              AND (a.state IS NULL OR a.state != s.verdict)""",
        params,
    )


# The watched-evidence read (``changed_evidence``): the latest history row of each
# (number, source) checked since the mark that is new in the run window, and the
# evidence of the real row just before it. The step back is one descent of the
# (number_id, source, [carrier,] id) index, never a walk over the number's history
# (only error rows between the two are passed over). ``+s.source`` keeps the planner
# on ``source_state_checked``: the rows checked since the mark, not all the source's.
# tests/test_no_history_scans.py
# allows exactly this statement; tests/test_cnam_alerts.py checks its query plan.
CHANGED_EVIDENCE_SQL = """SELECT s.number_id, s.source, o.id AS obs_id,
       o.evidence AS new_evidence,
       (SELECT p.evidence FROM observations p
        WHERE p.number_id = s.number_id AND p.source = s.source AND p.carrier IS NULL
          AND p.id < o.id AND p.verdict != 'error'
        ORDER BY p.id DESC LIMIT 1) AS old_evidence
    FROM source_state s JOIN observations o ON o.id = s.obs_id
    WHERE +s.source = ? AND s.last_checked >= ?
      AND o.first_run_id > ? AND o.first_run_id <= ?
      AND o.carrier IS NULL AND o.verdict != 'error'"""


def changed_evidence(
    db: Database, source: str, since: str | None, after_run: int, run_id: int
) -> Iterator[dict[str, Any]]:
    """(number_id, source, obs_id, new, old) for ``source``'s numbers checked at or
    after ``since`` whose latest row is real and first seen in a run in
    (``after_run``, ``run_id``]; ``new``/``old`` are decoded evidence, ``old`` None when
    no real row came before."""
    for row in db.query(CHANGED_EVIDENCE_SQL, [source, since or "", after_run, run_id]):
        old = row.pop("old_evidence")
        row["new"] = json.loads(row.pop("new_evidence") or "{}")
        row["old"] = json.loads(old) if old is not None else None
        yield row


def save_confirmed(db: Database, rows: Iterable[tuple[int, str, str | None, str | None]]) -> None:
    """Write (number_id, source, state, since) rows."""
    db.conn.executemany(
        """INSERT INTO alert_sources (number_id, source, state, since) VALUES (?,?,?,?)
           ON CONFLICT (number_id, source) DO UPDATE SET
             state = excluded.state, since = excluded.since""",
        list(rows),
    )


def confirmed_for(db: Database, number_ids: Sequence[int]) -> dict[int, dict[str, str | None]]:
    """Every source's confirmed state for these numbers."""
    found: dict[int, dict[str, str | None]] = {}
    for chunk in _chunks(number_ids):
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"SELECT number_id, source, state FROM alert_sources WHERE number_id IN ({marks})",
            chunk,
        ):
            found.setdefault(row["number_id"], {})[row["source"]] = row["state"]
    return found


def load_numbers(db: Database, number_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """``alert_numbers`` rows by number id (``flips`` decoded to a list)."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(number_ids):
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT * FROM alert_numbers WHERE number_id IN ({marks})", chunk):
            values = {c: row[c] for c in NUMBER_COLUMNS}
            values["flips"] = json.loads(row["flips"] or "[]")
            found[row["number_id"]] = values
    return found


def save_numbers(db: Database, rows: Iterable[tuple[int, dict[str, Any]]]) -> None:
    """Write (number_id, values) rows; ``values`` has every ``NUMBER_COLUMNS`` key."""
    cols = ", ".join(NUMBER_COLUMNS)
    marks = ",".join("?" * (len(NUMBER_COLUMNS) + 1))
    updates = ", ".join(f"{c} = excluded.{c}" for c in NUMBER_COLUMNS)
    db.conn.executemany(
        f"""INSERT INTO alert_numbers (number_id, {cols}) VALUES ({marks})
            ON CONFLICT (number_id) DO UPDATE SET {updates}""",
        [
            (n, *(json.dumps(list(v[c])) if c == "flips" else v[c] for c in NUMBER_COLUMNS))
            for n, v in rows
        ],
    )


def sweep_ids(db: Database, renotify_before: str | None) -> list[int]:
    """Numbers that need a decision even with nothing new: flapping or muted (their
    hold may end), and, with reminders on, flagged ones last told before the cutoff."""
    sql = """SELECT number_id FROM alert_numbers WHERE flapping_since IS NOT NULL
             UNION SELECT number_id FROM alert_numbers WHERE muted_until IS NOT NULL"""
    params: list[Any] = []
    if renotify_before is not None:
        sql += """ UNION SELECT number_id FROM alert_numbers WHERE state = 'flagged'
                   AND notified_at < ?"""
        params.append(renotify_before)
    return [r[0] for r in db.conn.execute(sql, params)]


def number_info(db: Database, number_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """E.164, label, tags and account of these numbers."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(number_ids):
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"""SELECT n.id, n.e164, n.label, n.tags, n.account_id, n.paused_at,
                       a.name AS account
                FROM numbers n JOIN accounts a ON a.id = n.account_id
                WHERE n.id IN ({marks})""",
            chunk,
        ):
            row["tags"] = json.loads(row["tags"] or "[]")
            found[row["id"]] = row
    return found


# -- source health ------------------------------------------------------------------


def fleet_health(db: Database, source: str, stale_before: str) -> tuple[int, int, int, str | None]:
    """(worst error streak, numbers failing, numbers stale, latest error) for a source
    over active numbers."""
    row = next(
        iter(
            db.query(
                f"""SELECT max(s.error_streak) AS worst,
                      sum({FAILING_SQL}) AS failing,
                      sum({STALE_SQL}) AS stale
                   FROM source_state s JOIN numbers n ON n.id = s.number_id
                   WHERE s.source = ? AND n.paused_at IS NULL""",
                [stale_before, source],
            )
        )
    )
    error = next(
        iter(
            db.query(
                """SELECT last_error FROM source_state WHERE source = ?
                   AND last_failure IS NOT NULL ORDER BY last_failure DESC LIMIT 1""",
                [source],
            )
        ),
        {"last_error": None},
    )
    return (row["worst"] or 0, row["failing"] or 0, row["stale"] or 0, error["last_error"])


def source_failing(db: Database) -> dict[str, dict[str, Any]]:
    return {r["source"]: r for r in db.query("SELECT * FROM alert_sources_health")}


def save_source_failing(
    db: Database, source: str, failing: bool, since: str, error: str | None
) -> None:
    db.execute(
        """INSERT INTO alert_sources_health (source, failing, since, last_error)
           VALUES (?,?,?,?) ON CONFLICT (source) DO UPDATE SET failing = excluded.failing,
           since = excluded.since, last_error = excluded.last_error""",
        [source, int(failing), since, error],
    )


# -- marks and routing -----------------------------------------------------------------


def mark(db: Database, name: str) -> str | None:
    row = db.conn.execute("SELECT value FROM alert_marks WHERE name = ?", [name]).fetchone()
    return row[0] if row else None


def set_mark(db: Database, name: str, value: str) -> None:
    db.execute(
        """INSERT INTO alert_marks (name, value) VALUES (?, ?)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value""",
        [name, value],
    )


def routes(db: Database) -> dict[int, list[str]]:
    """Channels routed per account id (accounts with none are absent)."""
    found: dict[int, list[str]] = {}
    for row in db.query("SELECT account_id, channel FROM account_channels ORDER BY channel"):
        found.setdefault(row["account_id"], []).append(row["channel"])
    return found


def set_routes(db: Database, account_id: int, channels: Sequence[str]) -> None:
    with db.atomic():
        db.execute("DELETE FROM account_channels WHERE account_id = ?", [account_id])
        db.conn.executemany(
            "INSERT INTO account_channels (account_id, channel) VALUES (?, ?)",
            [(account_id, c) for c in dict.fromkeys(channels)],
        )


def _chunks(ids: Sequence[int], size: int = 500) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]
