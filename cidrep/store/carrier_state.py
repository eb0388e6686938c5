"""The ``carrier_state`` table: current state per (number, source, carrier).

Written by ``store.history`` in the same transaction as the per-carrier history
rows; the rule for how a row changes is ``cidrep.history.advance``, the same as for
``source_state``. Reads are primary-key ranges: a number's carriers at a source are
adjacent in the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from cidrep.carriers import Lane
from cidrep.history import SourceState
from cidrep.store.state import COLUMNS

LaneKey = tuple[int, str]  # (number_id, carrier)


def upsert(db: Database, rows: Iterable[tuple[int, str, str, SourceState]]) -> None:
    """Write carrier states (inside the caller's transaction)."""
    cols = ", ".join(COLUMNS)
    marks = ",".join("?" * (len(COLUMNS) + 3))
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS)
    db.conn.executemany(
        f"""INSERT INTO carrier_state (number_id, source, carrier, {cols}) VALUES ({marks})
            ON CONFLICT (number_id, source, carrier) DO UPDATE SET {updates}""",
        [(n, s, c, *(st.__dict__[k] for k in COLUMNS)) for n, s, c, st in rows],
    )


def load(
    db: Database, source: str, number_ids: Iterable[int]
) -> dict[LaneKey, tuple[SourceState, Lane]]:
    """Every carrier's state at ``source`` for these numbers, with the label, score and
    category of the row holding each carrier's verdict."""
    ids = sorted(set(number_ids))
    found: dict[LaneKey, tuple[SourceState, Lane]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"""SELECT c.*, o.label, o.score, o.category FROM carrier_state c
                LEFT JOIN observations o ON o.id = c.verdict_obs_id
                WHERE c.source = ? AND c.number_id IN ({marks})""",
            [source, *chunk],
        ):
            state = SourceState.from_row(row)
            lane = Lane(row["carrier"], row["verdict"], row["label"], row["score"], row["category"])
            found[(row["number_id"], row["carrier"])] = (state, lane)
    return found


def carriers_for(
    db: Database, number_ids: Sequence[int]
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Per number, per source: each carrier's state row with its verdict row's label,
    score, category and evidence (JSON text), ordered by carrier."""
    found: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for start in range(0, len(number_ids), 500):
        chunk = list(number_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"""SELECT c.*, o.label, o.category, o.score, o.evidence, o.url
                FROM carrier_state c LEFT JOIN observations o ON o.id = c.verdict_obs_id
                WHERE c.number_id IN ({marks}) ORDER BY c.number_id, c.source, c.carrier""",
            chunk,
        ):
            found.setdefault(row["number_id"], {}).setdefault(row["source"], []).append(row)
    return found


def covered(db: Database, number_id: int, source: str, carrier: str, fp: str, at: str) -> bool:
    """Whether a history row of this carrier with the same content spans ``at``: a dated
    observation that is already known (re-importing a file changes nothing)."""
    row = db.execute(
        """SELECT 1 FROM observations WHERE number_id = ? AND source = ? AND carrier = ?
           AND fingerprint = ? AND first_seen <= ? AND last_seen >= ? LIMIT 1""",
        [number_id, source, carrier, fp, at, at],
    ).fetchone()
    return row is not None


def record_source(db: Database, source: str, kind: str, at: str) -> None:
    """Remember that ``source`` is recorded (manual or imported), not polled."""
    db.execute(
        "INSERT OR IGNORE INTO recorded_sources (source, kind, first_at) VALUES (?, ?, ?)",
        [source, kind, at],
    )


def recorded_sources(db: Database) -> dict[str, str]:
    """Recorded sources and their kind (manual or import)."""
    return {r["source"]: r["kind"] for r in db.query("SELECT * FROM recorded_sources")}
