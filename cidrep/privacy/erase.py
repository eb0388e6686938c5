"""``cidrep delete``: remove every row about a scope, then make the bytes unrecoverable.

The rule:

1. ``plan`` counts what would go (for the confirmation);
2. ``delete`` does it in one write transaction, with ``secure_delete`` on: the scope
   is selected again inside it (the counts are what was really deleted), the rows go
   (numbers cascade to history, sightings, state, alert state, flips, deliveries;
   an account takes its routing and its scoped runs), and so does every fleet message
   that quotes one of the numbers (a digest listing it); a channel's last error that
   quotes one is blanked. The audit entry (the receipt) is written in the same
   transaction, so a deletion is never without its record, nor a record without it;
3. then ``VACUUM`` and ``wal_checkpoint(TRUNCATE)``: no free page, journal or WAL
   frame keeps the deleted text.

The receipt says when, which kinds of rows and how many, and the scope as opaque
refs: it identifies no one once the rows are gone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from cidrep.errors import CidrepError
from cidrep.privacy import os_user
from cidrep.store import audit, erase, scope
from cidrep.store.database import write

# A run of digits with the separators people and services write numbers with.
_QUOTED = re.compile(r"\+?\d[\d\s().-]*\d")


def numbers_in_text(text: str) -> set[str]:
    """Every E.164 number ``text`` may quote, in any common spelling (pure).

    Deleting too much text is the safe direction. A run of digit groups (separated by
    ``space ( ) . -``) may hold a number beside other figures, so every stretch of
    consecutive groups with 7 to 15 digits in all yields its E.164 candidates:

    | text                          | candidates                          |
    |-------------------------------|-------------------------------------|
    | ``+1 202-555-0143``           | ``+12025550143``                    |
    | ``(202) 555-0143``            | ``+2025550143``, ``+12025550143``   |
    | ``blocked 2025550143``        | ``+2025550143``, ``+12025550143``   |
    | ``1-202-555-0143``            | ``+12025550143``                    |
    | ``+44 20 7183 8750``          | ``+442071838750``                   |
    | ``HTTP 422 - 202-555-0143``   | ... ``+12025550143`` among them     |
    | ``retry in 30 s``             | none (too few digits)               |
    """
    found: set[str] = set()
    for m in _QUOTED.finditer(text):
        groups = re.findall(r"\d+", m.group(0))
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 15:
                    break
                if len(digits) >= 7:
                    found.add("+" + digits)
                    if len(digits) == 10:
                        found.add("+1" + digits)
    return found


@dataclass
class Plan:
    kind: str
    accounts: int
    numbers: int
    counts: dict[str, int]


@dataclass
class Receipt:
    ref: str
    at: str
    scope: str
    counts: dict[str, int]
    compacted: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "receipt": self.ref,
            "at": self.at,
            "scope": self.scope,
            "counts": self.counts,
            "wal_emptied": not self.compacted.get("busy", True),
        }


def _select(db: Database, kind: str, account_ids: tuple[int, ...], e164s: tuple[str, ...]) -> Any:
    selected = scope.select(db, kind, account_ids, e164s)
    if kind == "numbers" and (gone := scope.missing(db)):
        raise CidrepError(f"not monitored: {', '.join(gone)}")
    if kind == "all":
        raise CidrepError("delete takes --account or --number, never everything at once")
    return selected


def _quoting(db: Database, texts: Iterable[tuple[Any, str]]) -> list[Any]:
    """Ids of the texts that quote a number in scope (one indexed lookup per text)."""
    hits = []
    for key, text in texts:
        quoted = numbers_in_text(text)
        if not quoted:
            continue
        marks = ",".join("?" * len(quoted))
        row = db.conn.execute(
            f"""SELECT 1 FROM numbers WHERE e164 IN ({marks})
                AND id IN (SELECT id FROM temp.scope_numbers) LIMIT 1""",
            sorted(quoted),
        ).fetchone()
        if row:
            hits.append(key)
    return hits


def plan(
    db: Database, kind: str, account_ids: tuple[int, ...] = (), e164s: tuple[str, ...] = ()
) -> Plan:
    try:
        selected = _select(db, kind, account_ids, e164s)
        notices = _quoting(db, erase.notice_texts(db))
        counts = erase.count(db, kind == "account", notices)
    finally:
        scope.drop(db)
        if db.conn.in_transaction:  # the temp tables opened one; nothing in it to keep
            db.conn.rollback()
    return Plan(kind, selected.accounts, selected.numbers, counts)


def delete(
    db: Database,
    *,
    kind: str,
    account_ids: tuple[int, ...] = (),
    e164s: tuple[str, ...] = (),
    now: str,
) -> Receipt:
    """Delete the scope, record the receipt, then compact the file."""
    erase.secure_delete_on(db)
    try:
        with write(db):
            selected = _select(db, kind, account_ids, e164s)
            notices = _quoting(db, erase.notice_texts(db))
            channels = _quoting(db, erase.channel_errors(db))
            counts = erase.count(db, kind == "account", notices)
            erase.delete(db, kind == "account", notices, channels)
            ref = audit.record(
                db,
                at=now,
                os_user=os_user(),
                action="delete",
                scope=kind,
                refs=selected.refs,
                counts=counts,
            )
    finally:
        scope.drop(db)
    compacted = erase.wipe(db)
    return Receipt(ref, now, kind, counts, compacted)


LABELS = {
    "accounts": "account",
    "runs": "run",
    "numbers": "number",
    "observations": "history row",
    "history": "history row",
    "sightings": "sighting",
    "current_state": "current-state row",
    "alert_state": "alert-state row",
    "flips": "flip",
    "deliveries": "delivery",
    "digests": "digest",
    "routes": "channel route",
    "notices": "notice",
    "audit_entries": "audit entry",
}


def describe(counts: dict[str, int]) -> str:
    """``3 numbers, 1,204 history rows, ...`` (kinds with zero rows left out)."""
    parts = []
    ordered = [k for k in LABELS if k in counts] + [k for k in counts if k not in LABELS]
    for kind in ordered:
        n = counts[kind]
        if n:
            label = LABELS.get(kind, kind)
            plural = label[:-1] + "ies" if label.endswith("y") and n != 1 else label + "s"
            parts.append(f"{n:,} {label if n == 1 else plural}")
    return ", ".join(parts) or "nothing"
