"""The check capability: one run of the sources, then the alerts it gives rise to.

``run_check`` is what ``cidrep check`` does under its lock: the check cycle
(``cidrep.runner``), then the alert evaluation (``cidrep.alerts.evaluate``) over the
state the cycle left, then the delivery of the outbox (``cidrep.alerts.delivery``),
then retention (``cidrep.privacy.retention``): what is older than ``retention_days``
goes at the end of every check.
The exit code stays the cycle's (the state of the scope); alerts add what *changed*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from cidrep.alerts.changes import watched_by
from cidrep.alerts.delivery import DeliveryReport, deliver
from cidrep.alerts.evaluate import Change, Evaluation
from cidrep.alerts.routing import build_channels
from cidrep.contract import Checker
from cidrep.errors import CidrepError
from cidrep.health import stale_before
from cidrep.privacy.retention import Pruned, prune
from cidrep.runner.engine import CheckOptions, Progress, RunResult, run_cycle
from cidrep.store.carrier_state import recorded_sources
from cidrep.store.numbers import missing_numbers
from cidrep.timeutil import utcnow


@dataclass
class CheckOutcome:
    result: RunResult
    changes: list[Change]
    deliveries: DeliveryReport
    pruned: Pruned

    def as_dict(self) -> dict[str, Any]:
        data = self.result.as_dict()
        data["changes"] = [c.__dict__ for c in self.changes]
        data["deliveries"] = self.deliveries.__dict__
        data["pruned"] = self.pruned.counts
        return data


def in_service(
    settings: Any, checkers: dict[str, type[Checker]], db: Database | None = None
) -> list[str]:
    """Sources that can give verdicts: enabled, and not skipped by their preflight
    (no key configured), plus the recorded sources in ``db`` (manual sightings,
    imported labels) that are not plugins. The quorum counts these."""
    found = []
    for name, cls in checkers.items():
        source = settings.source(name)
        if source.enabled and not cls(source).preflight():
            found.append(name)
    if db is not None:
        found += [name for name in recorded_sources(db) if name not in checkers]
    return found


def require_monitored(db: Database, numbers: Sequence[str], account_id: int | None) -> None:
    missing = missing_numbers(db, numbers, account_id)
    if missing:
        raise CidrepError(f"not monitored: {', '.join(missing)}")


def run_check(
    db: Database,
    settings: Any,
    checkers: dict[str, type[Checker]],
    options: CheckOptions,
    channel_types: dict[str, Any],
    progress: Progress | None = None,
) -> CheckOutcome:
    """Run the cycle, evaluate alerts over its results, deliver what is due."""
    result = run_cycle(db, settings, checkers, options, progress)
    ran = {
        s.source: stale_before(settings.source(s.source).interval, options.now)
        for s in result.sources
        if s.status != "skipped"
    }
    changes, report = alert(db, settings, checkers, channel_types, options.now, result.run_id, ran)
    pruned = prune(db, settings.retention_days, options.now, explicit=False)
    return CheckOutcome(result, changes, report, pruned)


def alert(
    db: Database,
    settings: Any,
    checkers: dict[str, type[Checker]],
    channel_types: dict[str, Any],
    now: datetime,
    run_id: int | None,
    ran: dict[str, str] | None = None,
) -> tuple[list[Change], DeliveryReport]:
    """Evaluate alerts over the current state, then deliver what is due: after a check,
    and after labels are recorded (``ran``: the sources whose health to judge)."""
    channels = build_channels(settings.channels, channel_types)
    changes = Evaluation(
        db,
        settings,
        in_service(settings, checkers, db),
        channels,
        now,
        run_id,
        watched=watched_by(checkers),
    ).run(ran or {})
    return changes, deliver(db, channels, utcnow(), settings.alerts)
