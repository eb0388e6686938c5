"""Rows older than the retention cutoff: counting and deleting them.

``before`` is a UTC day (``YYYY-MM-DD``): a row goes when its time is on an earlier
day. Comparing the stored ISO text with the bare day is exact for both dates and
timestamps (``'2025-10-18T23:59:59Z' < '2025-10-19'``, ``'2025-10-19' <
'2025-10-19'`` is false) and uses each time column's index.

What goes, by its time column:

- history (``observations.last_seen``), except a row the current state points at:
  the current state of each number and source is kept, with the row it describes;
- sightings (``occurred_at``);
- flips (``at``), with their deliveries;
- runs (``started_at``), with their per-source rows.

Accounts, numbers, current state, alert state and the audit log are not aged out.
"""

from __future__ import annotations

from sqlite_utils import Database

KEPT_ROWS = """id NOT IN (SELECT obs_id FROM source_state WHERE obs_id IS NOT NULL)
               AND id NOT IN (SELECT verdict_obs_id FROM source_state
                              WHERE verdict_obs_id IS NOT NULL)
               AND id NOT IN (SELECT obs_id FROM carrier_state WHERE obs_id IS NOT NULL)
               AND id NOT IN (SELECT verdict_obs_id FROM carrier_state
                              WHERE verdict_obs_id IS NOT NULL)"""

WHERE: dict[str, tuple[str, str]] = {
    "observations": ("observations", f"last_seen < :before AND {KEPT_ROWS}"),
    "sightings": ("sightings", "occurred_at < :before"),
    "flips": ("flips", "at < :before"),
    "runs": ("runs", "started_at < :before"),
}


def expired(db: Database, before: str) -> dict[str, int]:
    """How many rows of each kind are older than ``before`` (deliveries with their flip)."""
    found = {
        kind: db.conn.execute(
            f"SELECT count(*) FROM {table} WHERE {where}", {"before": before}
        ).fetchone()[0]
        for kind, (table, where) in WHERE.items()
    }
    found["deliveries"] = db.conn.execute(
        "SELECT count(*) FROM deliveries WHERE flip_id IN (SELECT id FROM flips WHERE at < ?)",
        [before],
    ).fetchone()[0]
    return found


def delete_expired(db: Database, before: str) -> None:
    """Delete what ``expired`` counts (inside the caller's transaction)."""
    for table, where in WHERE.values():
        db.conn.execute(f"DELETE FROM {table} WHERE {where}", {"before": before})


def last_prune(db: Database) -> str | None:
    row = db.conn.execute("SELECT value FROM privacy_marks WHERE name = 'last_prune'").fetchone()
    return row[0] if row else None


def set_last_prune(db: Database, at: str) -> None:
    db.conn.execute(
        """INSERT INTO privacy_marks (name, value) VALUES ('last_prune', ?)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value""",
        [at],
    )
