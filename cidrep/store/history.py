"""Observation history and current state in SQLite: batched run-length writes.

``ObservationWriter`` buffers observations and commits them in one transaction per
batch (every ``batch_size`` observations or every ``flush_seconds``, whichever comes
first), so 10,000 numbers cost a few dozen commits and a killed run loses at most a
few seconds of checks. Each transaction writes the history rows and the matching
``source_state`` rows together (``cidrep.history.advance``), and first drops the
results for numbers that were removed while the run was going on.

A source that answers per carrier gets a history row and a ``carrier_state`` row
per (number, source, carrier), and its source-level row is summed up from all the
number's carriers at that source (``cidrep.carriers.summarize``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from cidrep.carriers import Lane, by_carrier, summarize
from cidrep.contract import Observation, Verdict
from cidrep.history import SourceState, advance, fingerprint
from cidrep.store import carrier_state as carrier_store
from cidrep.store import state as state_store
from cidrep.store.database import write

DEFAULT_BATCH = 500
FLUSH_SECONDS = 2.0


Answers = tuple[Observation, ...]


@dataclass
class ObservationWriter:
    db: Database
    run_id: int
    now: str
    batch_size: int = DEFAULT_BATCH
    flush_seconds: float = FLUSH_SECONDS
    clock: Callable[[], float] = time.monotonic
    pending: list[tuple[int, str, Answers, str | None]] = field(default_factory=list)
    commits: int = 0
    inserted: int = 0
    extended: int = 0
    dropped: int = 0
    known: int = 0  # dated observations already in the history (re-imports)
    _flushed_at: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._flushed_at = self.clock()

    def add(self, number_ids: Sequence[int], source: str, obs: Observation) -> None:
        """Queue ``obs`` for every number row it answers (same E.164 in several accounts)."""
        self.add_answers(number_ids, source, (obs,))

    def add_answers(
        self,
        number_ids: Sequence[int],
        source: str,
        answers: Sequence[Observation],
        at: str | None = None,
    ) -> None:
        """Queue one number's answers from one check: its own and/or one per carrier.

        ``at`` dates a recorded observation (a manual sighting, an imported label)
        instead of the run's time; see ``_carrier`` for how an older date is kept.
        """
        for number_id in number_ids:
            self.pending.append((number_id, source, tuple(answers), at))
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
            alive = _existing(self.db, {item[0] for item in batch})
            kept = [item for item in batch if item[0] in alive]
            self.dropped += len(batch) - len(kept)
            by_source: dict[str, set[int]] = {}
            with_carriers: dict[str, set[int]] = {}
            for number_id, source, answers, _ in kept:
                by_source.setdefault(source, set()).add(number_id)
                if any(a.carrier is not None for a in answers):
                    with_carriers.setdefault(source, set()).add(number_id)
            states = {
                (number_id, source): state
                for source, ids in by_source.items()
                for number_id, state in state_store.load(self.db, source, ids).items()
            }
            lanes: dict[tuple[int, str], dict[str, tuple[SourceState, Lane]]] = {}
            for source, ids in with_carriers.items():
                for (number_id, carrier), value in carrier_store.load(self.db, source, ids).items():
                    lanes.setdefault((number_id, source), {})[carrier] = value
            extends: list[tuple[str, str, int, int]] = []
            touched: dict[tuple[int, str, str], SourceState] = {}
            for number_id, source, answers, at in kept:
                key = (number_id, source)
                own, per_carrier = by_carrier(answers)
                when = at or self.now
                if per_carrier:
                    number_lanes = lanes.setdefault(key, {})
                    if not self._carriers(
                        number_id, source, per_carrier, at, number_lanes, extends
                    ):
                        continue
                    for carrier, (lane_state, _) in number_lanes.items():
                        touched[(number_id, source, carrier)] = lane_state
                    summed = summarize(
                        answers[0].number, own, [lane for _, lane in number_lanes.values()]
                    )
                    # The sum is as of this run even for dated answers: it is when cidrep
                    # learned it (alerts pick it up); each carrier keeps its own dates.
                    prev = states.get(key)
                    when = self.now
                    states[key] = self._write_one(
                        number_id, source, None, summed, prev, extends, when
                    )
                elif own is not None:
                    states[key] = self._write_one(
                        number_id, source, None, own, states.get(key), extends, when
                    )
            self.db.conn.executemany(
                """UPDATE observations SET last_seen = max(last_seen, ?), checks = checks + 1,
                   last_run_id = ? WHERE id = ?""",
                [(when, run, obs_id) for when, _, run, obs_id in extends],
            )
            state_store.upsert(self.db, ((n, s, st) for (n, s), st in states.items()))
            carrier_store.upsert(self.db, ((n, s, c, st) for (n, s, c), st in touched.items()))
        self.commits += 1

    def _carriers(
        self,
        number_id: int,
        source: str,
        answers: Sequence[Observation],
        at: str | None,
        lanes: dict[str, tuple[SourceState, Lane]],
        extends: list[tuple[str, str, int, int]],
    ) -> bool:
        """Write each carrier's answer to its history and state; False if no carrier's
        current state moved (then the source's sum need not be written).

        A dated answer (``at``) no later than the carrier's latest check is out of
        order: if a history row with the same content already spans that date it is
        known (skipped: re-importing a file changes nothing), else it is kept as a
        history row of its own and the carrier's current state, which is newer,
        stays as it is.
        """
        changed = False
        for obs in answers:
            carrier = obs.carrier or ""
            prev, prev_lane = lanes.get(carrier, (None, None))
            when = at or self.now
            if (
                at is not None
                and prev is not None
                and prev.last_checked
                and at <= prev.last_checked
            ):
                if carrier_store.covered(self.db, number_id, source, carrier, fingerprint(obs), at):
                    self.known += 1
                    continue
                self._insert(number_id, source, carrier, obs, fingerprint(obs), at)
                continue  # history only: the current state (and its sum) stays
            state = self._write_one(number_id, source, carrier, obs, prev, extends, when)
            if obs.verdict == Verdict.ERROR:
                lane = prev_lane or Lane(carrier, None)
            else:
                lane = Lane(carrier, obs.verdict.value, obs.label, obs.score, obs.category)
            lanes[carrier] = (state, lane)
            changed = True
        return changed

    def _write_one(
        self,
        number_id: int,
        source: str,
        carrier: str | None,
        obs: Observation,
        prev: SourceState | None,
        extends: list[tuple[str, str, int, int]],
        when: str,
    ) -> SourceState:
        """Insert a history row, or extend the latest one (run-length).

        Extensions of run-time checks are batched; a dated one is applied at once so
        the next dated answer in the same batch sees it (``covered``)."""
        fp = fingerprint(obs)
        if prev is not None and prev.obs_id is not None and prev.fingerprint == fp:
            if when == self.now:
                extends.append((when, fp, self.run_id, prev.obs_id))
            else:
                self.db.conn.execute(
                    """UPDATE observations SET last_seen = max(last_seen, ?),
                       checks = checks + 1, last_run_id = ? WHERE id = ?""",
                    (when, self.run_id, prev.obs_id),
                )
            self.extended += 1
            obs_id = prev.obs_id
        else:
            obs_id = self._insert(number_id, source, carrier, obs, fp, when)
        error = obs.error if obs.verdict == Verdict.ERROR else None
        return advance(prev, obs.verdict.value, when, error, obs_id, fp)

    def _insert(
        self,
        number_id: int,
        source: str,
        carrier: str | None,
        obs: Observation,
        fp: str,
        when: str,
    ) -> int:
        cursor = self.db.conn.execute(
            """INSERT INTO observations (number_id, source, carrier, verdict, label,
               category, score, evidence, url, error, fingerprint, first_seen, last_seen,
               first_run_id, last_run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                number_id,
                source,
                carrier,
                obs.verdict.value,
                obs.label,
                obs.category,
                obs.score,
                json.dumps(obs.evidence, sort_keys=True, default=str),
                obs.url,
                obs.error,
                fp,
                when,
                when,
                self.run_id,
                self.run_id,
            ),
        )
        self.inserted += 1
        return int(cursor.lastrowid or 0)


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
    """The source-level history rows for one number, grouped by source, oldest first."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in db.query(
        "SELECT * FROM observations WHERE number_id = ? AND carrier IS NULL ORDER BY source, id",
        [number_id],
    ):
        row["evidence"] = json.loads(row["evidence"])
        grouped.setdefault(row["source"], []).append(row)
    return grouped
