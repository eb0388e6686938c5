"""Deliver the outbox: every due delivery, through its channel plugin, at most once
per attempt (the claim) and never lost (the row stays until delivered or expired).

Per run, channels are served concurrently and each channel's deliveries in order.
A failure stops that channel for this run (the rest wait, so a dead endpoint costs
one request per run, not one per message):

==========================  ===========================================================
outcome                     delivery row
==========================  ===========================================================
sent                        delivered; the channel's failure is cleared
retryable failure           pending, next try after the receiver's Retry-After, or
                            retry_initial doubled per attempt (at most retry_max)
permanent failure           failed (never retried); the channel is shown failing
channel not configured      left pending (it expires); reported
older than expire_after     expired; reported
==========================  ===========================================================

Callers hold the run lock, so a row found ``sending`` at the start belongs to a run
that died between send and record: it is re-sent once (``store.outbox.reclaim``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from cidrep.alerts.transport import Poster
from cidrep.channels import Alert, Channel, DeliveryError
from cidrep.redaction import redactor
from cidrep.store import outbox
from cidrep.timeutil import iso

RECLAIMED = "re-sent: the run that sent it ended before recording the result"


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: list[str] = field(default_factory=list)  # one line per channel problem
    expired: int = 0


def backoff(attempts: int, initial: timedelta, most: timedelta) -> timedelta:
    """The wait before the next try after ``attempts`` failed ones (pure): initial,
    doubled per attempt, at most ``most``. 5m, 10m, 20m, 40m, ... 6h by default."""
    return min(initial * (2 ** max(0, attempts - 1)), most)


async def _serve(
    db: Database,
    channel: Channel,
    rows: list[dict[str, Any]],
    now: datetime,
    policy: Any,
    report: DeliveryReport,
    poster_factory: Callable[[Channel], Poster],
) -> None:
    at = iso(now)
    reason = channel.preflight()
    poster = None if reason else poster_factory(channel)
    try:
        for row in rows:
            if not outbox.claim(db, row["id"], at):
                continue
            alert = Alert.from_dict(json.loads(row["alert"]))
            try:
                if reason:
                    raise DeliveryError(reason, permanent=True)
                assert poster is not None
                await channel.send(alert, poster, time.time())
            except DeliveryError as exc:
                message = redactor().one_line(str(exc))
                _failed(db, channel.name, row, exc, message, now, policy, report)
                return  # the rest wait for the next run
            except Exception as exc:  # a plugin bug: retry later, never crash the run
                message = redactor().one_line(f"internal error in {channel.type} channel: {exc!r}")
                _failed(db, channel.name, row, DeliveryError(message), message, now, policy, report)
                return
            outbox.record(db, row["id"], "delivered", at)
            outbox.channel_result(db, channel.name, at, None)
            report.delivered += 1
    finally:
        if poster is not None:
            await poster.aclose()


def _failed(
    db: Database,
    name: str,
    row: dict[str, Any],
    exc: DeliveryError,
    message: str,
    now: datetime,
    policy: Any,
    report: DeliveryReport,
) -> None:
    at = iso(now)
    if exc.permanent:
        outbox.record(db, row["id"], "failed", at, message)
        report.failed.append(f"{name}: {message} (permanent: fix the channel)")
    else:
        wait = backoff(row["attempts"] + 1, policy.retry_initial, policy.retry_max)
        if exc.retry_after is not None:
            wait = max(wait, timedelta(seconds=exc.retry_after))
        outbox.record(db, row["id"], "pending", at, message, iso(now + wait))
        report.retrying += 1
        report.failed.append(f"{name}: {message} (retrying after {iso(now + wait)})")
    outbox.channel_result(db, name, at, message, permanent=exc.permanent)


def deliver(
    db: Database,
    channels: Mapping[str, Channel],
    now: datetime,
    policy: Any,
    poster_factory: Callable[[Channel], Poster] | None = None,
) -> DeliveryReport:
    """Send what is due. ``policy``: the ``[alerts]`` settings (retry and expiry)."""
    report = DeliveryReport()
    at = iso(now)
    outbox.reclaim(db, RECLAIMED)
    for row in outbox.expire(db, iso(now - policy.expire_after), at):
        report.expired += 1
        report.failed.append(
            f"{row['channel']}: a {row['kind']} alert expired undelivered "
            f"({row['last_error'] or 'never sent'})"
        )
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in outbox.due(db, at):
        groups.setdefault(row["channel"], []).append(row)
    missing = sorted(n for n in groups if n not in channels or not channels[n].settings.enabled)
    for name in missing:
        report.failed.append(
            f"{name}: {len(groups.pop(name))} alert(s) waiting for a channel that is not "
            "configured or is disabled"
        )
    if not groups:
        return report
    factory = poster_factory or _poster

    async def serve_all() -> None:
        await asyncio.gather(
            *(
                _serve(db, channels[name], rows, now, policy, report, factory)
                for name, rows in groups.items()
            )
        )

    asyncio.run(serve_all())
    return report


def _poster(channel: Channel) -> Poster:
    from cidrep.redaction import Redactor

    return Poster(channel.settings, Redactor(channel.settings.secrets()))


async def send_now(channel: Channel, alert: Alert) -> None:
    """Send one alert directly (``alerts test``): no outbox, errors raise."""
    reason = channel.preflight()
    if reason:
        raise DeliveryError(reason, permanent=True)
    poster = _poster(channel)
    try:
        await channel.send(alert, poster, time.time())
    finally:
        await poster.aclose()


def deliver_locked(
    db: Database, channels: Mapping[str, Channel], now: datetime, policy: Any, lock: Path
) -> DeliveryReport | None:
    """``deliver`` under the run lock (outside ``check``); None when a check holds it
    (that check delivers what is due)."""
    from cidrep.lock import LockHeld, RunLock

    try:
        with RunLock(lock):
            return deliver(db, channels, now, policy)
    except LockHeld:
        return None
