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
    where: str = ""  # for errors: "line 7", "" for the command line

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
    run_id: int
    recorded: int = 0  # items that added to the history
    known: int = 0  # already stored: nothing changed
    numbers: set[str] = field(default_factory=set)
    changes: list[Any] = field(default_factory=list)  # alert changes (cidrep.alerts)


def problems(
    db: Database, items: Sequence[Recorded], account_id: int | None, now: datetime
) -> list[str]:
    """One line per item that cannot be recorded (not monitored, in the future, a note
    too long), naming where it came from."""
    monitored = number_ids(db, {i.number for i in items}, account_id)
    found = []
    for item in items:
        where = f"{item.where}: " if item.where else ""
        if not item.carrier.strip() or len(item.carrier) > MAX_CARRIER:
            found.append(f"{where}carrier must be 1 to {MAX_CARRIER} characters")
        elif item.number not in monitored:
            found.append(f"{where}{item.number} is not monitored (add it with cidrep numbers add)")
        elif item.at > iso(now):
            found.append(f"{where}date {item.at} is in the future")
        elif item.note and len(item.note) > MAX_NOTE:
            found.append(f"{where}note longer than {MAX_NOTE} characters")
    return found


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
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise CidrepError(bad[0] + more)
    ids = number_ids(db, {i.number for i in items}, account_id)
    at = iso(now)
    flagged = sum(label_verdict(i.label)[0] == Verdict.FLAGGED for i in items)
    with write(db):  # one transaction: the run, its history and state, or nothing
        run_id = runs_store.start_run(db, at, account["name"] if account else None, False)
        writer = ObservationWriter(db, run_id, at, batch_size=10**9, flush_seconds=float("inf"))
        result = RecordResult(run_id)
        record_source(db, source, kind, at)
        for item in sorted(items, key=lambda i: i.at):  # oldest first: history in order
            writer.add_answers(ids[item.number], source, [item.observation()], at=item.at)
            result.numbers.add(item.number)
        writer.flush()
        runs_store.record_source(
            db,
            run_id,
            {
                "source": source,
                "status": "ran",
                "checks": len(items),
                "verdicts": {"clean": len(items) - flagged, "flagged": flagged, "unknown": 0},
                "errors": 0,
                "cost_units": 0.0,
                "messages": [],
                "stats": {"recorded": len(items) - writer.known, "known": writer.known},
            },
        )
        runs_store.finish_run(db, run_id, at, {"checks": len(items), "flagged": flagged}, 0)
    result.recorded = len(items) - writer.known
    result.known = writer.known
    return result
