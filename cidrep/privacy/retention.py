"""Retention: history, sightings, flips, deliveries and runs are kept ``retention_days``.

Enforced at the end of every ``check`` and by ``cidrep prune``. The current state
of each number and source, accounts, numbers and the audit log are kept (see
``cidrep.store.retention`` for what goes, table by table).

- A check's prune deletes with ``secure_delete`` on and is written to the audit log
  only when it removed something (an hourly cron would otherwise log 8,760 empty
  prunes a year). ``cidrep prune`` is always logged, and also compacts the file
  (``VACUUM`` + WAL truncate), which is too slow to do at every check on a big
  database. ``--dry-run`` says what would go and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from cidrep.privacy import os_user
from cidrep.store import audit, erase, retention
from cidrep.store.database import write
from cidrep.timeutil import iso

DEFAULT_DAYS = 400


def cutoff_day(now: datetime, days: int) -> str:
    """The first UTC day kept: rows dated on an earlier day are removed (pure).

    Whole days, so a row's fate does not depend on the hour the check ran.

    | now (UTC)        | days | first day kept | row 2025-10-18T23:59Z | row 2025-10-19T00:00Z |
    |------------------|------|----------------|-----------------------|-----------------------|
    | 2026-11-23T10:00 | 400  | 2025-10-19     | removed               | kept                  |
    | 2026-11-23T00:00 | 400  | 2025-10-19     | removed               | kept                  |
    | 2026-11-23T23:59 | 1    | 2026-11-22     | removed               | removed               |
    """
    return (now.astimezone(UTC).date() - timedelta(days=days)).isoformat()


@dataclass
class Pruned:
    before: str
    counts: dict[str, int]
    dry_run: bool
    audit_ref: str | None = None
    compacted: dict[str, Any] | None = None

    @property
    def removed(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "counts": self.counts,
            "dry_run": self.dry_run,
            "audit": self.audit_ref,
        }


def prune(
    db: Database,
    days: int,
    now: datetime,
    *,
    dry_run: bool = False,
    explicit: bool = True,
) -> Pruned:
    """Remove what is older than the retention (``explicit``: ``cidrep prune``)."""
    before = cutoff_day(now, days)
    if dry_run:
        return Pruned(before, retention.expired(db, before), True)
    erase.secure_delete_on(db)
    with write(db):
        counts = retention.expired(db, before)
        result = Pruned(before, counts, False)
        if any(counts.values()):
            retention.delete_expired(db, before)
        retention.set_last_prune(db, iso(now))
        if explicit or result.removed:
            result.audit_ref = audit.record(
                db,
                at=iso(now),
                os_user=os_user(),
                action="prune",
                scope="retention",
                counts=counts,
                detail={
                    "before": before,
                    "retention_days": days,
                    "by": "prune" if explicit else "check",
                },
            )
    if explicit:
        result.compacted = erase.wipe(db)
    return result
