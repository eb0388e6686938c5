"""Everything ``cidrep report NUMBER`` says, as one dict (``docs/report.schema.json``).

It answers "what is wrong with this number, since when, and what do I do?":

- the current view of every source and carrier (``cidrep.reports.current``, reused
  as it is, so ``status --json`` and ``report --json`` agree on those keys);
- the timeline: each lane's verdict changes and the alerts' flips, oldest first;
- each lane's verdict intervals and error stretches (``cidrep.reports.timeline``);
- the lifecycle figures (``cidrep.reports.lifecycle``);
- what to do: the review portal of the engine behind each flagged carrier, then the
  Free Caller Registry (``CarrierMap.disputes``), and a note per failing or stale
  source;
- the sources that will not be checked (disabled, or no key), listed once.

Reads are indexed and bounded to this one number (``cidrep.store.reporting``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from cidrep.reports import lifecycle, timeline
from cidrep.reports.current import Intervals, number_report
from cidrep.store import reporting
from cidrep.timeutil import iso

SCHEMA_VERSION = 1


def skipped_sources(checkers: Mapping[str, type], settings: Any) -> dict[str, str]:
    """Registered sources that ``cidrep check`` skips, and why: disabled in config, or
    the source's own preflight reason (no key, not configured)."""
    found: dict[str, str] = {}
    for name, cls in checkers.items():
        source = settings.source(name)
        if not source.enabled:
            found[name] = "disabled in config"
            continue
        try:
            reason = cls(source).preflight()
        except Exception as exc:  # a broken plugin is reported, not fatal
            reason = f"preflight failed: {type(exc).__name__}"
        if reason:
            found[name] = reason
    return found


def _ts(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _seconds(value: Any) -> int | None:
    return int(value.total_seconds()) if value is not None else None


def lanes_view(
    intervals: list[timeline.Interval], errors: list[timeline.ErrorStretch]
) -> list[dict[str, Any]]:
    """Per lane: its verdict intervals and its error stretches."""
    lanes: dict[timeline.LaneKey, dict[str, Any]] = {}
    for item in intervals:
        lane = lanes.setdefault(item.lane, _lane(item.source, item.carrier))
        lane["intervals"].append(
            {
                "verdict": item.verdict,
                "start": iso(item.start),
                "end": _ts(item.end),
                "label": item.label,
                "via_carriers": item.via_carriers,
            }
        )
    for failed in errors:
        lane = lanes.setdefault(
            (failed.source, failed.carrier), _lane(failed.source, failed.carrier)
        )
        lane["errors"].append(
            {"start": iso(failed.start), "end": _ts(failed.end), "error": failed.error}
        )
    return [lanes[k] for k in sorted(lanes, key=lambda k: (k[0], k[1] is not None, k[1] or ""))]


def _lane(source: str, carrier: str | None) -> dict[str, Any]:
    return {"source": source, "carrier": carrier, "intervals": [], "errors": []}


def event_view(event: timeline.Event) -> dict[str, Any]:
    return {
        "at": iso(event.at),
        "kind": event.kind,
        "source": event.source,
        "carrier": event.carrier,
        "old": event.old,
        "new": event.new,
        "label": event.label,
        "held": event.held,
    }


def lifecycle_view(figures: lifecycle.Figures, now: datetime) -> dict[str, Any]:
    """The figures as JSON-ready values (times ISO UTC, durations in seconds)."""
    win = figures.window
    return {
        "added": iso(figures.added),
        "first_label": _ts(figures.first_label),
        "time_to_first_label_seconds": _seconds(figures.to_first_label),
        "relapse_days": figures.relapse_days,
        "relapses": figures.relapses,
        "open": figures.open,
        "labels": [
            {
                "start": iso(label.start),
                "end": _ts(label.end),
                "cleared": label.end is not None,
                "seconds": _seconds(label.length(now)),
                "relapse": label.relapse,
                "since_previous_clear_seconds": _seconds(label.gap),
                "stretches": [
                    {
                        "source": s.source,
                        "carrier": s.carrier,
                        "label": s.label,
                        "start": iso(s.start),
                        "end": _ts(s.end),
                        "seconds": _seconds(s.length(now)),
                    }
                    for s in label.stretches
                ],
            }
            for label in figures.labels
        ],
        "window": {
            "days": win.days,
            "first_day": win.first_day.isoformat(),
            "last_day": win.last_day.isoformat(),
            "days_counted": win.counted,
            "days_flagged": win.flagged,
            "share_flagged": win.share,
        },
    }


def what_to_do(data: Mapping[str, Any], carrier_map: Any) -> dict[str, Any]:
    """Where to ask for a review, and what else needs attention (pure).

    ======================================  ========================================
    current state                           disputes
    ======================================  ========================================
    not flagged                             none
    flagged on carriers (carrier_state)     their engines' portals, then the Free
                                            Caller Registry
    flagged by sources without carriers     the Free Caller Registry, then every
    only (complaints, scores)               engine's portal
    ======================================  ========================================

    A failing or stale source gets a note: its verdict is not current.
    """
    carriers = [
        lane["carrier"]
        for view in data["sources"].values()
        for lane in view.get("carriers") or []
        if lane["verdict"] == "flagged"
    ]
    flagged = data["verdict"] == "flagged"
    disputes = carrier_map.disputes(dict.fromkeys(carriers)) if flagged else []
    notes = []
    for name in data["failing"]:
        error = data["sources"][name].get("last_error")
        notes.append(
            f"{name} is failing ({error or 'no detail'}): its verdict is not current; "
            f"try: cidrep sources test {name}"
        )
    for name in data["stale"]:
        notes.append(
            f"{name} is stale (no success within its interval): is `cidrep check` running?"
        )
    return {
        "flagged_carriers": list(dict.fromkeys(carriers)),
        "disputes": [{"name": d.name, "url": d.url} for d in disputes],
        "notes": notes,
    }


def build_report(
    db: Database,
    e164: str,
    account: dict[str, Any] | None,
    checkers: Mapping[str, type],
    settings: Any,
    intervals: Intervals,
    now: datetime,
    window_days: int = 90,
) -> dict[str, Any]:
    """The whole report of one number (``CidrepError`` when it is not monitored).

    ``added`` is ``numbers.created_at``; where that is not a timestamp (a hand-made
    database), the first history row, else now."""
    data = number_report(db, e164, account, list(checkers), intervals, now)
    key = reporting.number_key(db, data["number"], data["account"])
    assert key is not None  # number_report found it
    found, errors = timeline.build_lanes(reporting.history_rows(db, key["id"]))
    flips = reporting.number_flips(db, key["id"])
    added = timeline.when(key["created_at"]) or min((i.start for i in found), default=now)
    figures = lifecycle.figures(found, added, now, window_days, settings.reports.relapse_days)
    skipped = skipped_sources(checkers, settings)
    data.update(
        {
            "schema_version": SCHEMA_VERSION,
            "generated_at": iso(now),
            "added": iso(added),
            "timeline": [event_view(e) for e in timeline.timeline(found, flips)],
            "lanes": lanes_view(found, errors),
            "lifecycle": lifecycle_view(figures, now),
            "what_to_do": what_to_do(data, settings.carrier_map()),
            "not_checked": [
                {"source": name, "reason": skipped[name]}
                for name, view in data["sources"].items()
                if view["health"] == "never" and name in skipped
            ],
        }
    )
    return data
