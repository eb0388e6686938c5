"""Observation history and current state in SQLite: batched run-length writes.

``ObservationWriter`` buffers observations and commits them in one transaction per
batch (every ``batch_size`` observations or every ``flush_seconds``, whichever comes
first), so 10,000 numbers cost a few dozen commits and a killed run loses at most a
few seconds of checks. Each transaction writes the history rows and the matching
``source_state`` rows together (``cidrep.history.advance``), and first drops the
results for numbers that were removed while the run was going on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from cidrep.contract import Observation, Verdict
from cidrep.history import SourceState, advance, fingerprint
from cidrep.store import state as state_store
from cidrep.store.database import write

DEFAULT_BATCH = 500
FLUSH_SECONDS = 2.0


@dataclass
class ObservationWriter:
    db: Database
    run_id: int
    now: str
    batch_size: int = DEFAULT_BATCH
    flush_seconds: float = FLUSH_SECONDS
    clock: Callable[[], float] = time.monotonic
    pending: list[tuple[int, str, Observation]] = field(default_factory=list)
    commits: int = 0
    inserted: int = 0
    extended: int = 0
    dropped: int = 0
    _flushed_at: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._flushed_at = self.clock()

    def add(self, number_ids: Sequence[int], source: str, obs: Observation) -> None:
        """Queue ``obs`` for every number row it answers (same E.164 in several accounts)."""
        for number_id in number_ids:
            self.pending.append((number_id, source, obs))
        if len(self.pending) >= self.batch_size or self.due():
            self.flush()

    def due(self) -> bool:
        """True when pending results have waited ``flush_seconds``."""
        return bool(self.pending) and self.clock() - self._flushed_at >= self.flush_seconds

    def flush(self) -> None:
        self._flushed_at = self.clock()
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        with write(self.db):
            alive = _existing(self.db, {number_id for number_id, _, _ in batch})
            kept = [item for item in batch if item[0] in alive]
            self.dropped += len(batch) - len(kept)
            by_source: dict[str, set[int]] = {}
            for number_id, source, _ in kept:
                by_source.setdefault(source, set()).add(number_id)
            states = {
                (number_id, source): state
                for source, ids in by_source.items()
                for number_id, state in state_store.load(self.db, source, ids).items()
            }
            extends: list[tuple[str, int, int]] = []
            for number_id, source, obs in kept:
                key = (number_id, source)
                states[key] = self._write_one(number_id, source, obs, states.get(key), extends)
            self.db.conn.executemany(
                """UPDATE observations SET last_seen = ?, checks = checks + 1,
                   last_run_id = ? WHERE id = ?""",
                extends,
            )
            state_store.upsert(self.db, ((n, s, st) for (n, s), st in states.items()))
        self.commits += 1

    def _write_one(
        self,
        number_id: int,
        source: str,
        obs: Observation,
        prev: SourceState | None,
        extends: list[tuple[str, int, int]],
    ) -> SourceState:
        """Insert a history row, or queue the extension of the latest one (run-length)."""
        fp = fingerprint(obs)
        if prev is not None and prev.obs_id is not None and prev.fingerprint == fp:
            extends.append((self.now, self.run_id, prev.obs_id))
            self.extended += 1
            obs_id = prev.obs_id
        else:
            cursor = self.db.conn.execute(
                """INSERT INTO observations (number_id, source, verdict, label, category,
                   score, evidence, url, error, fingerprint, first_seen, last_seen,
                   first_run_id, last_run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
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
                ),
            )
            self.inserted += 1
            obs_id = int(cursor.lastrowid or 0)
        error = obs.error if obs.verdict == Verdict.ERROR else None
        return advance(prev, obs.verdict.value, self.now, error, obs_id, fp)


def _existing(db: Database, ids: set[int]) -> set[int]:
    found: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0] for r in db.conn.execute(f"SELECT id FROM numbers WHERE id IN ({marks})", chunk)
        )
    return found


def number_history(db: Database, number_id: int) -> dict[str, list[dict[str, Any]]]:
    """All history rows for one number, grouped by source, oldest first."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in db.query(
        "SELECT * FROM observations WHERE number_id = ? ORDER BY source, id", [number_id]
    ):
        row["evidence"] = json.loads(row["evidence"])
        grouped.setdefault(row["source"], []).append(row)
    return grouped
