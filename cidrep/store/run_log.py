"""Reading the run log (``runs`` and ``run_sources``) for ``cidrep runs``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database


def recent_runs(db: Database, limit: int, account: str | None = None) -> list[dict[str, Any]]:
    """The ``limit`` most recent runs, newest first (index ``runs_started``).

    With ``account``, the runs scoped to it and the runs over every account (which
    checked its numbers too).
    """
    where, params = "1=1", []
    if account is not None:
        where, params = "(account = ? OR account IS NULL)", [account]
    return list(
        db.query(
            f"""SELECT id, started_at, finished_at, status, account, forced, checks, flagged,
                       errors, exit_code
                FROM runs WHERE {where} ORDER BY started_at DESC, id DESC LIMIT ?""",
            [*params, limit],
        )
    )


def sources_of(db: Database, run_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each run's per-source rows, by source name."""
    found: dict[int, list[dict[str, Any]]] = {}
    if not run_ids:
        return found
    marks = ",".join("?" * len(run_ids))
    for row in db.query(
        f"""SELECT run_id, source, status, reason, checks, clean, flagged, unknown, errors,
                   cost_units, message, stats
            FROM run_sources WHERE run_id IN ({marks}) ORDER BY run_id, source""",
        list(run_ids),
    ):
        found.setdefault(row["run_id"], []).append(row)
    return found
