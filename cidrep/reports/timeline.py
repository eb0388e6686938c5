"""A number's history as verdict intervals per lane, and its changes in time order.

A *lane* is what one source says about the number (``carrier`` None), or what it says
for one carrier or app (``trustcall`` on ``T-Mobile``). History is run-length: a row
is a stretch of identical checks from ``first_seen`` to ``last_seen``. From the rows of
one lane, ``lane_intervals`` builds the verdict intervals (pure):

- a real verdict (clean, flagged, unknown) holds from the ``first_seen`` of the row
  that gave it until the ``first_seen`` of the next real row with another verdict;
  the last one holds until now (``end`` None);
- an error never changes a verdict (as in ``cidrep.history.advance``): error rows
  neither end nor start an interval. They make the lane's *error stretches*, from the
  first failed check until the next success (``end`` None: still failing);
- rows are taken in time order (``first_seen``, then id): a dated observation recorded
  late (``cidrep sighting --at``) lands where it happened.

The timeline merges each lane's verdict changes with the ``flips`` the alerts
recorded (a source's confirmed change, the number's flagged/cleared notices), oldest
first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cidrep.timeutil import parse_iso

ERROR = "error"
FLAGGED = "flagged"

LaneKey = tuple[str, str | None]  # (source, carrier); carrier None: the source's own


@dataclass(frozen=True)
class Interval:
    """One verdict held by one lane from ``start`` until ``end`` (None: until now).

    ``via_carriers`` marks a source-level flag that its carriers explain (the row's
    ``carriers`` evidence names a flagged carrier): the carrier lanes already hold
    that flag, with the dates it was seen (a dated sighting's source-level row is
    written when it is recorded, not when it was seen)."""

    source: str
    carrier: str | None
    verdict: str
    start: datetime
    end: datetime | None
    label: str | None = None
    via_carriers: bool = False

    @property
    def lane(self) -> LaneKey:
        return (self.source, self.carrier)


@dataclass(frozen=True)
class ErrorStretch:
    """Failed checks of one lane from ``start`` until the next success (``end``)."""

    source: str
    carrier: str | None
    start: datetime
    end: datetime | None
    error: str | None


@dataclass(frozen=True)
class Event:
    """One line of the timeline: a lane's verdict change (``kind`` "verdict") or a
    recorded flip (``confirmed``, ``flagged``, ``cleared``, ``reminder``, ...)."""

    at: datetime
    kind: str
    source: str | None
    carrier: str | None
    old: str | None
    new: str | None
    label: str | None = None
    held: str | None = None


def lane_name(source: str, carrier: str | None) -> str:
    """``trustcall: T-Mobile`` for a carrier lane, the source's name otherwise."""
    return f"{source}: {carrier}" if carrier else source


def _via_carriers(row: Mapping[str, Any]) -> bool:
    """Whether a flagged source-level row's flag comes from its carriers."""
    text = row.get("carriers")
    if row.get("carrier") is not None or row["verdict"] != FLAGGED or not text:
        return False
    try:
        lanes = json.loads(text)
    except (TypeError, ValueError):
        return False
    if not isinstance(lanes, dict):
        return False
    return any(isinstance(v, dict) and v.get("verdict") == FLAGGED for v in lanes.values())


def when(text: str | None) -> datetime | None:
    """A stored timestamp, or None when it is not one (a hand-edited row): such a
    row cannot be placed in time, so it is left out rather than failing the report."""
    try:
        return parse_iso(text) if text else None
    except ValueError:
        return None


def _ordered(rows: Iterable[Mapping[str, Any]]) -> list[tuple[datetime, Mapping[str, Any]]]:
    dated = [(when(r["first_seen"]), r) for r in rows]
    return sorted(((at, r) for at, r in dated if at is not None), key=lambda p: (p[0], p[1]["id"]))


def lane_intervals(
    source: str, carrier: str | None, rows: Iterable[Mapping[str, Any]]
) -> tuple[list[Interval], list[ErrorStretch]]:
    """Verdict intervals and error stretches of one lane from its history rows (pure).

    ========  ======================  ===============================================
    row       open interval           effect
    ========  ======================  ===============================================
    error     any or none             none on verdicts; opens an error stretch unless
                                      one is open
    real V    none                    opens V at the row's first_seen
    real V    V (same flag origin)    continues (the first row's label is kept)
    real V    W != V, or V from a     closes it at the row's first_seen, opens V
              different origin
    real any  -                       closes an open error stretch there
    end       V                       V holds until now (end None)
    ========  ======================  ===============================================

    An interval or error stretch that would last no time (two rows seen at the same
    instant) is left out: the later row wins. Intervals of a lane never overlap and
    follow each other without gaps from the first real row on.
    """
    intervals: list[Interval] = []
    errors: list[ErrorStretch] = []
    current: Interval | None = None
    failing: ErrorStretch | None = None
    for at, row in _ordered(rows):
        if row["verdict"] == ERROR:
            if failing is None:
                failing = ErrorStretch(source, carrier, at, None, row.get("error"))
            continue
        if failing is not None:
            if at > failing.start:
                errors.append(_close(failing, at))
            failing = None
        via = _via_carriers(row)
        if current is not None:
            if current.verdict == row["verdict"] and current.via_carriers == via:
                continue
            if at > current.start:
                intervals.append(_close(current, at))
        current = Interval(source, carrier, row["verdict"], at, None, row.get("label"), via)
    if current is not None:
        intervals.append(current)
    if failing is not None:
        errors.append(failing)
    return intervals, errors


def _close(item: Any, at: datetime) -> Any:
    return replace(item, end=at)


def build_lanes(
    rows: Iterable[Mapping[str, Any]],
) -> tuple[list[Interval], list[ErrorStretch]]:
    """Every lane's intervals and error stretches from one number's history rows
    (source-level rows: ``carrier`` None; per-carrier rows: ``carrier`` set), lanes in
    order of source then carrier (the source's own lane first)."""
    by_lane: dict[LaneKey, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_lane.setdefault((row["source"], row["carrier"]), []).append(row)
    intervals: list[Interval] = []
    errors: list[ErrorStretch] = []
    for source, carrier in sorted(by_lane, key=lambda k: (k[0], k[1] is not None, k[1] or "")):
        found, failed = lane_intervals(source, carrier, by_lane[(source, carrier)])
        intervals += found
        errors += failed
    return intervals, errors


def verdict_changes(intervals: Sequence[Interval]) -> list[Event]:
    """Each lane's verdict changes: the first verdict (``old`` None), then every
    interval whose verdict differs from the one before it in the same lane.

    A source that reports per carrier shows its carriers' changes; its own lane (the
    sum, written when cidrep learned it) only where it flags on its own answer
    (``via_carriers`` False) and where such a flag ends: the rest repeats the
    carriers, at the time of recording rather than of the label."""
    with_carriers = {i.source for i in intervals if i.carrier is not None}
    events: list[Event] = []
    last: dict[LaneKey, Interval] = {}
    for item in intervals:
        before = last.get(item.lane)
        last[item.lane] = item
        if before is not None and before.verdict == item.verdict:
            continue  # only the flag's origin changed (own answer vs. carriers)
        own = _own_flag(item) or (before is not None and _own_flag(before))
        if item.carrier is None and item.source in with_carriers and not own:
            continue
        events.append(
            Event(
                item.start,
                "verdict",
                item.source,
                item.carrier,
                before.verdict if before is not None else None,
                item.verdict,
                item.label if item.verdict == FLAGGED else None,
            )
        )
    return events


def _own_flag(item: Interval) -> bool:
    return item.verdict == FLAGGED and not item.via_carriers


def flip_events(flips: Iterable[Mapping[str, Any]]) -> list[Event]:
    """The recorded flips of one number as timeline events."""
    events = []
    for f in flips:
        at = when(f["at"])
        if at is not None:
            events.append(
                Event(
                    at,
                    f["kind"],
                    f.get("source"),
                    None,
                    f.get("old_state"),
                    f.get("new_state"),
                    None,
                    f.get("held"),
                )
            )
    return events


KIND_ORDER = {"verdict": 0, "confirmed": 1}


def timeline(intervals: Sequence[Interval], flips: Iterable[Mapping[str, Any]]) -> list[Event]:
    """Verdict changes and flips in time order; at the same instant a lane's change
    comes before the alert it caused (verdict, confirmed, then number notices)."""
    events = verdict_changes(intervals) + flip_events(flips)
    return sorted(
        events,
        key=lambda e: (e.at, KIND_ORDER.get(e.kind, 2), e.source or "", e.carrier or ""),
    )
