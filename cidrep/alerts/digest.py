"""The digest: one message for a period instead of one per event.

"3 of 40 numbers flagged", the flags and recoveries in the period, and the sources
and channels failing. Numbers count when they are active (not paused); "flagged"
is the alert state (confirmed by the rules, as announced), not a single check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from cidrep.alerts import messages
from cidrep.alerts.channel_health import channel_rows
from cidrep.channels import Alert, Channel
from cidrep.phone import display
from cidrep.store import outbox
from cidrep.timeutil import iso

SHOWN = 20  # numbers listed per section; the rest are counted


def summary(
    db: Database,
    channels: Mapping[str, Channel],
    since: datetime,
    now: datetime,
    account_id: int | None = None,
) -> dict[str, Any]:
    """The figures of the digest (also its ``--json``)."""
    where, params = "n.paused_at IS NULL", []
    if account_id is not None:
        where += " AND n.account_id = ?"
        params.append(account_id)
    row = next(
        iter(
            db.query(
                f"""SELECT count(*) AS numbers, sum(a.state = 'flagged') AS flagged
                    FROM numbers n LEFT JOIN alert_numbers a ON a.number_id = n.id
                    WHERE {where}""",
                params,
            )
        )
    )
    flags, recoveries = [], []
    for flip in outbox.flips_since(db, iso(since), account_id):
        if flip["kind"] == "flagged" and flip["e164"]:
            flags.append({"number": flip["e164"], "at": flip["at"], "held": flip["held"]})
        elif flip["kind"] == "cleared" and flip["e164"]:
            recoveries.append({"number": flip["e164"], "at": flip["at"], "held": flip["held"]})
    failing_sources = [
        r["source"] for r in db.query("SELECT source FROM alert_sources_health WHERE failing = 1")
    ]
    failing_channels = [
        r["name"] for r in channel_rows(db, channels) if r["health"] in ("failing", "unavailable")
    ]
    return {
        "since": iso(since),
        "until": iso(now),
        "numbers": row["numbers"] or 0,
        "flagged": row["flagged"] or 0,
        "new_flags": flags,
        "recoveries": recoveries,
        "sources_failing": sorted(failing_sources),
        "channels_failing": sorted(failing_channels),
    }


def _listed(items: list[dict[str, Any]]) -> str:
    shown = ", ".join(display(i["number"]) for i in items[:SHOWN])
    more = len(items) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def digest_alert(facts: dict[str, Any], period: str, now: datetime) -> Alert:
    """The digest as one message."""
    title = f"cidrep digest: {facts['flagged']} of {facts['numbers']} numbers flagged"
    lines = [title, f"In the last {period}:"]
    lines.append(
        f"- {len(facts['new_flags'])} newly flagged"
        + (f": {_listed(facts['new_flags'])}" if facts["new_flags"] else "")
    )
    lines.append(
        f"- {len(facts['recoveries'])} cleared"
        + (f": {_listed(facts['recoveries'])}" if facts["recoveries"] else "")
    )
    failing = facts["sources_failing"]
    lines.append(f"- sources failing: {', '.join(failing) if failing else 'none'}")
    down = facts["channels_failing"]
    lines.append(f"- channels failing: {', '.join(down) if down else 'none'}")
    return Alert(
        kind="digest",
        key=messages.new_key(),
        at=iso(now),
        title=title,
        text="\n".join(lines),
        facts={
            "numbers": facts["numbers"],
            "flagged": facts["flagged"],
            "new_flags": len(facts["new_flags"]),
            "recoveries": len(facts["recoveries"]),
            "sources_failing": ", ".join(failing) or "none",
            "channels_failing": ", ".join(down) or "none",
            "period": period,
        },
    )


def queue_digest(db: Database, channels: Mapping[str, Channel], alert: Alert) -> list[str]:
    """Record the digest as a flip with a delivery per fleet channel; returns them."""
    from cidrep.alerts.routing import for_fleet
    from cidrep.store import alert_state
    from cidrep.store.database import write

    targets = for_fleet(channels, alert_state.routes(db))
    if targets:
        with write(db):
            outbox.add_flip(
                db,
                key=alert.key,
                at=alert.at,
                kind="digest",
                alert=alert.as_dict(),
                channels=targets,
            )
    return targets
