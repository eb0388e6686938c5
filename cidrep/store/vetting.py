"""What ``cidrep vet`` reads and writes: local state of known numbers, and spend.

Vetting asks about numbers that are not monitored, so nothing here ever stores a
number. Two things touch the database:

- ``local_states`` reads the current state (``source_state``) that sources keep for
  numbers that *are* monitored somewhere, so a feed source (which only has data for
  monitored numbers) can answer from it;
- ``start_vet_run``/``add_cost``/``save_source``/``finish_vet_run`` record a run row and
  one ``run_sources`` row per source with counts and ``cost_units`` only: the spend
  guard (``runs.spent_since``) sums ``run_sources.cost_units`` of today's runs, so a
  paid lookup made by ``vet`` counts against today's ``daily_budget`` like any check.
  The cost is added after every batch, so a vet that is killed still counts what it
  spent. No message, label or number goes into these rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from cidrep.store.database import write

CHUNK = 400  # numbers per IN (...) list, well under SQLite's parameter limit


def local_states(
    db: Database,
    e164s: Sequence[str],
    sources: Sequence[str],
    account_id: int | None = None,
) -> list[dict[str, Any]]:
    """Current-state rows of ``sources`` for these numbers wherever they are monitored
    (or only in ``account_id``), with the verdict row's label, category, score and url.

    Keys: ``e164``, ``number_id``, ``account_id``, ``paused_at``, every ``source_state``
    column, and label, category, score, evidence (JSON text) and url. A per-carrier
    source's row is its summed-up verdict (the carriers are in its evidence). Indexed
    lookups by E.164, never a history scan.
    """
    if not e164s or not sources:
        return []
    found: list[dict[str, Any]] = []
    source_marks = ",".join("?" * len(sources))
    for start in range(0, len(e164s), CHUNK):
        chunk = list(e164s[start : start + CHUNK])
        marks = ",".join("?" * len(chunk))
        where = f"n.e164 IN ({marks}) AND s.source IN ({source_marks})"
        params: list[Any] = [*chunk, *sources]
        if account_id is not None:
            where += " AND n.account_id = ?"
            params.append(account_id)
        found.extend(
            db.query(
                f"""SELECT s.*, n.e164, n.account_id, n.paused_at,
                      o.label, o.category, o.score, o.evidence, o.url
                    FROM numbers n JOIN source_state s ON s.number_id = n.id
                    LEFT JOIN observations o ON o.id = s.verdict_obs_id
                    WHERE {where} ORDER BY n.e164, s.source, n.id""",
                params,
            )
        )
    return found


def start_vet_run(db: Database, started_at: str, account: str | None) -> int:
    """A run row for one vet (status ``running`` until ``finish_vet_run``).

    The caller holds the run lock, as ``check`` does; a vet killed before it finishes
    stays ``running`` and the next check marks it abandoned (its cost still counts).
    """
    with write(db):
        cursor = db.execute(
            "INSERT INTO runs (started_at, account, forced, status) VALUES (?, ?, 0, 'running')",
            [started_at, account],
        )
    return int(cursor.lastrowid or 0)


def add_cost(db: Database, run_id: int, source: str, cost_units: float) -> None:
    """Add what one batch cost to the source's row of this run (created if needed)."""
    with write(db):
        db.execute(
            """INSERT INTO run_sources (run_id, source, status, cost_units, stats)
               VALUES (?, ?, 'ran', ?, '{"vet": 1}')
               ON CONFLICT (run_id, source) DO UPDATE SET
                 cost_units = run_sources.cost_units + excluded.cost_units""",
            [run_id, source, cost_units],
        )


def save_source(db: Database, run_id: int, source: dict[str, Any]) -> None:
    """The source's final counts for this run. ``cost_units`` is the total, so it
    replaces what ``add_cost`` accumulated. ``message`` is never stored: a source's
    error text may quote the number asked about."""
    counts = source["verdicts"]
    with write(db):
        db.execute(
            """INSERT INTO run_sources (run_id, source, status, reason, checks, clean, flagged,
                 unknown, errors, cost_units, message, stats)
               VALUES (?,?,?,?,?,?,?,?,?,?,NULL,?)
               ON CONFLICT (run_id, source) DO UPDATE SET status = excluded.status,
                 reason = excluded.reason, checks = excluded.checks, clean = excluded.clean,
                 flagged = excluded.flagged, unknown = excluded.unknown,
                 errors = excluded.errors, cost_units = excluded.cost_units,
                 stats = excluded.stats""",
            [
                run_id,
                source["source"],
                source["status"],
                source.get("reason"),
                source["checks"],
                counts.get("clean", 0),
                counts.get("flagged", 0),
                counts.get("unknown", 0),
                counts.get("error", 0),
                source["cost_units"],
                json.dumps({"vet": 1, **source.get("stats", {})}, sort_keys=True),
            ],
        )


def finish_vet_run(
    db: Database, run_id: int, finished_at: str, totals: dict[str, int], code: int
) -> None:
    with write(db):
        db.execute(
            """UPDATE runs SET finished_at = ?, checks = ?, flagged = ?, errors = ?,
               exit_code = ?, status = 'finished' WHERE id = ?""",
            [
                finished_at,
                totals.get("checks", 0),
                totals.get("flagged", 0),
                totals.get("errors", 0),
                code,
                run_id,
            ],
        )
