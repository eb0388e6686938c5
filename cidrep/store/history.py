"""Observation history in SQLite: batched run-length writes and the read queries.

``ObservationWriter`` buffers observations and commits them in one transaction per
batch, so checking 10,000 numbers means a few dozen commits, not 10,000.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from cidrep.contract import Observation
from cidrep.history import current_state, extends, fingerprint

DEFAULT_BATCH = 500


@dataclass
class ObservationWriter:
    db: Database
    run_id: int
    now: str
    batch_size: int = DEFAULT_BATCH
    pending: list[tuple[int, str, Observation]] = field(default_factory=list)
    commits: int = 0
    inserted: int = 0
    extended: int = 0

    def add(self, number_ids: Sequence[int], source: str, obs: Observation) -> None:
        """Queue ``obs`` for every number row it answers (same E.164 in several accounts)."""
        for number_id in number_ids:
            self.pending.append((number_id, source, obs))
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        with self.db.atomic():
            latest = _latest_rows(self.db, batch)
            inserts, updates = [], []
            for number_id, source, obs in batch:
                fp = fingerprint(obs)
                previous = latest.get((number_id, source))
                if extends(previous, fp):
                    updates.append((self.now, self.run_id, previous["id"]))
                    continue
                inserts.append(
                    (
                        number_id,
                        source,
                        obs.verdict.value,
                        obs.label,
                        obs.category,
                        obs.score,
                        json.dumps(obs.evidence, sort_keys=True, default=str),
                        obs.url,
                        obs.error,
                        fp,
                        self.now,
                        self.now,
                        self.run_id,
                        self.run_id,
                    )
                )
                # a later duplicate in this same batch extends the row just queued
                latest[(number_id, source)] = {"fingerprint": fp, "id": None}
            if inserts:
                self.db.conn.executemany(
                    """INSERT INTO observations (number_id, source, verdict, label, category,
                       score, evidence, url, error, fingerprint, first_seen, last_seen,
                       first_run_id, last_run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                    inserts,
                )
            updates = [u for u in updates if u[2] is not None]
            if updates:
                self.db.conn.executemany(
                    """UPDATE observations SET last_seen = ?, checks = checks + 1,
                       last_run_id = ? WHERE id = ?""",
                    updates,
                )
        self.commits += 1
        self.inserted += len(inserts)
        self.extended += len(updates)


def _latest_rows(db: Database, batch: Sequence[tuple[int, str, Observation]]) -> dict:
    by_source: dict[str, set[int]] = {}
    for number_id, source, _ in batch:
        by_source.setdefault(source, set()).add(number_id)
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for source, ids in by_source.items():
        marks = ",".join("?" * len(ids))
        for row in db.query(
            f"""SELECT id, number_id, fingerprint FROM observations WHERE id IN (
                  SELECT max(id) FROM observations
                  WHERE source = ? AND number_id IN ({marks}) GROUP BY number_id)""",
            [source, *ids],
        ):
            latest[(row["number_id"], source)] = row
    return latest


def number_history(db: Database, number_id: int) -> dict[str, list[dict[str, Any]]]:
    """All rows for a number, grouped by source, oldest first."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in db.query(
        "SELECT * FROM observations WHERE number_id = ? ORDER BY source, id", [number_id]
    ):
        row["evidence"] = json.loads(row["evidence"])
        grouped.setdefault(row["source"], []).append(row)
    return grouped


def current_states(db: Database, number_ids: Sequence[int]) -> dict[int, dict[str, dict]]:
    """Current state per number per source (see ``history.current_state``).

    Reads whole histories in chunks of 500 numbers; run-length storage keeps
    those short (rows change only when what a source says changes).
    """
    states: dict[int, dict[str, dict]] = {}
    if not number_ids:
        return states
    for start in range(0, len(number_ids), 500):
        chunk = list(number_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rows: dict[tuple[int, str], list[dict[str, Any]]] = {}
        for row in db.query(
            f"""SELECT * FROM observations WHERE number_id IN ({marks})
                ORDER BY number_id, source, id""",
            chunk,
        ):
            rows.setdefault((row["number_id"], row["source"]), []).append(row)
        for (number_id, source), history in rows.items():
            state = current_state(history)
            if state and state["row"] is not None:
                state["row"] = dict(state["row"], evidence=json.loads(state["row"]["evidence"]))
            states.setdefault(number_id, {})[source] = state  # type: ignore[assignment]
    return states
