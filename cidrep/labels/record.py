"""Storing recorded labels: one run, the per-carrier writer, then the alerts.

``record`` is all-or-nothing per call: every item is validated (monitored number,
date not in the future) before anything is written, and the writes commit in one
transaction. Re-recording what is already stored changes nothing
(``ObservationWriter`` skips a dated answer a history row already spans).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from cidrep.contract import Observation, Verdict
from cidrep.errors import CidrepError
from cidrep.store import runs as runs_store
from cidrep.store.carrier_state import record_source
from cidrep.store.database import write
from cidrep.store.history import ObservationWriter
from cidrep.store.numbers import number_ids
from cidrep.timeutil import iso

# What people type or vendors export when a call showed no warning label.
NO_LABEL = {"", "clean", "none", "no label", "nolabel", "not flagged", "ok", "no", "n/a", "-"}
MAX_NOTE = 500
MAX_CARRIER = 50


def label_verdict(label: str | None) -> tuple[Verdict, str | None]:
    """The verdict a recorded label means, and the label to store (pure).

    ===============================================  =========  ===============
    label (trimmed, case-insensitive)                verdict    label stored
    ===============================================  =========  ===============
    missing, "", clean, none, no label, not flagged  clean      None
    ok, no, n/a, "-"                                 clean      None
    anything else ("Scam Likely", "Spam Risk")       flagged    as given
    ===============================================  =========  ===============

    A recorded label is what a phone showed: any warning text is a flag; the absence
    of one is the only clean.
    """
    text = re.sub(r"\s+", " ", label or "").strip()
    if text.lower() in NO_LABEL:
        return Verdict.CLEAN, None
    return Verdict.FLAGGED, text


@dataclass(frozen=True)
class Recorded:
    """One recorded label: number (E.164), carrier, label as shown, when, a note."""

    number: str
    carrier: str
    label: str | None
    at: str  # ISO UTC
    note: str | None = None
    line: int | None = None  # the file line it came from (None: the command line)

    @property
    def where(self) -> str:
        return f"line {self.line}" if self.line is not None else ""

    def observation(self) -> Observation:
        verdict, label = label_verdict(self.label)
        evidence: dict[str, Any] = {"recorded": True}
        if self.note:
            evidence["note"] = self.note
        return Observation(
            self.number, verdict, label=label, evidence=evidence, carrier=self.carrier
        )


@dataclass
class RecordResult:
    run_id: int | None  # None: everything was already recorded, no run was kept
    recorded: int = 0  # items that added to the history
    known: int = 0  # already stored: nothing changed
    numbers: set[str] = field(default_factory=set)
    changes: list[Any] = field(default_factory=list)  # alert changes (cidrep.alerts)


def problems(
    db: Database, items: Sequence[Recorded], account_id: int | None, now: datetime
) -> list[tuple[Recorded, str]]:
    """Each item that cannot be recorded (not monitored, in the future, a carrier name
    or note out of bounds), with the reason."""
    monitored = number_ids(db, {i.number for i in items}, account_id)
    found = []
    for item in items:
        if not item.carrier.strip() or len(item.carrier) > MAX_CARRIER:
            found.append((item, f"carrier must be 1 to {MAX_CARRIER} characters"))
        elif item.number not in monitored:
            found.append((item, f"{item.number} is not monitored (add it with cidrep numbers add)"))
        elif item.at > iso(now):
            found.append((item, f"date {item.at} is in the future"))
        elif item.note and len(item.note) > MAX_NOTE:
            found.append((item, f"note longer than {MAX_NOTE} characters"))
    return found


class _NothingNew(Exception):
    """Every item was already recorded: roll the run back, so nothing changes."""


def record(
    db: Database,
    source: str,
    kind: str,
    items: Sequence[Recorded],
    now: datetime,
    account: dict[str, Any] | None,
) -> RecordResult:
    """Store ``items`` as dated observations of ``source`` (all or nothing).

    Raises ``CidrepError`` naming the first problem when any item cannot be recorded;
    the caller drops bad items first when it wants to skip them (``problems``).
    """
    account_id = account["id"] if account else None
    bad = problems(db, items, account_id, now)
    if bad:
        item, reason = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise CidrepError((f"{item.where}: " if item.where else "") + reason + more)
    ids = number_ids(db, {i.number for i in items}, account_id)
    at = iso(now)
    flagged = sum(label_verdict(i.label)[0] == Verdict.FLAGGED for i in items)
    result = RecordResult(0)
    try:
        with write(db):  # one transaction: the run, its history and state, or nothing
            result.run_id = runs_store.start_run(
                db, at, account["name"] if account else None, False
            )
            writer = ObservationWriter(
                db, result.run_id, at, batch_size=10**9, flush_seconds=float("inf")
            )
            record_source(db, source, kind, at)
            for item in sorted(items, key=lambda i: i.at):  # oldest first: history in order
                writer.add_answers(ids[item.number], source, [item.observation()], at=item.at)
                result.numbers.add(item.number)
            writer.flush()
            if writer.inserted == 0 and writer.extended == 0:
                raise _NothingNew  # no run row either: re-recording changes nothing
            known = min(writer.known, len(items))
            runs_store.record_source(
                db,
                result.run_id,
                {
                    "source": source,
                    "status": "ran",
                    "checks": len(items),
                    "verdicts": {"clean": len(items) - flagged, "flagged": flagged, "unknown": 0},
                    "errors": 0,
                    "cost_units": 0.0,
                    "messages": [],
                    "stats": {"recorded": len(items) - known, "known": known},
                },
            )
            totals = {"checks": len(items), "flagged": flagged}
            runs_store.finish_run(db, result.run_id, at, totals, 0)
    except _NothingNew:
        result.run_id, result.recorded, result.known = None, 0, len(items)
        return result
    result.recorded = len(items) - known
    result.known = known
    return result
