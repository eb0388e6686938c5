"""Lifecycle figures of one number: when it was first labelled, how long each label
took to clear, relapses, and the share of days flagged in a window (pure rules).

Input: the verdict intervals of every lane (``cidrep.reports.timeline``), the time
the number was added (``numbers.created_at``) and now. Definitions (README "Lifecycle
figures" says the same):

- **Flagged stretch**: an interval in which one lane (a source, or a carrier at a
  source) says ``flagged``. It ends when that lane's next real verdict is not
  flagged (clean or unknown); an error never ends it. A source-level flag that its
  carriers explain is not a stretch of its own: the carrier lanes hold it, with the
  dates the labels were seen.
- **Label**: a maximal stretch of time in which at least one lane flags the number:
  overlapping or touching stretches (T-Mobile and AT&T at once) are one label. It
  starts when the first lane flags and *clears* when the last one clears; a label
  not cleared yet is *open*.
- **Time to first label**: first label's start minus the time the number was added;
  0 when the first label was seen before it was added (a dated sighting); None
  when it was never labelled.
- **Time to clear**: a label's end minus its start; for an open label, the time so
  far (now minus start).
- **Relapse**: a label that starts at most ``relapse_days`` (x 24 h) after the
  previous label cleared. The first label is never a relapse.
- **Share of days flagged**: over the window of ``window_days`` UTC calendar days
  ending today (today included, even though it is not over), counting only days on
  or after the UTC day the number was added: the days that any label overlaps (for
  at least an instant: a label ending exactly at midnight does not touch the next
  day) divided by the days counted.

The history kept is the history counted: ``retention_days`` bounds how far back
these figures can see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cidrep.reports.timeline import FLAGGED, Interval

DAY = timedelta(days=1)
ZERO = timedelta(0)


@dataclass(frozen=True)
class Stretch:
    """One lane flagging the number from ``start`` until ``end`` (None: still)."""

    source: str
    carrier: str | None
    start: datetime
    end: datetime | None
    label: str | None = None

    def length(self, now: datetime) -> timedelta:
        return max((self.end or now) - self.start, ZERO)


@dataclass(frozen=True)
class Label:
    """A maximal stretch of time with at least one lane flagging the number."""

    start: datetime
    end: datetime | None  # None: not cleared yet
    stretches: tuple[Stretch, ...]
    gap: timedelta | None = None  # since the previous label cleared; None: the first
    relapse: bool = False

    def length(self, now: datetime) -> timedelta:
        """Time to clear (cleared), or the time so far (open)."""
        return max((self.end or now) - self.start, ZERO)


@dataclass(frozen=True)
class Window:
    """Days flagged among the days counted in the window (UTC calendar days)."""

    days: int
    first_day: date
    last_day: date
    counted: int
    flagged: int

    @property
    def share(self) -> float | None:
        return self.flagged / self.counted if self.counted else None


@dataclass(frozen=True)
class Figures:
    added: datetime
    first_label: datetime | None
    to_first_label: timedelta | None
    labels: tuple[Label, ...]
    relapse_days: int
    window: Window

    @property
    def relapses(self) -> int:
        return sum(1 for label in self.labels if label.relapse)

    @property
    def open(self) -> bool:
        return bool(self.labels) and self.labels[-1].end is None


def stretches(intervals: Iterable[Interval]) -> list[Stretch]:
    """The flagged stretches: flagged intervals, except source-level flags that the
    source's carriers explain (``Interval.via_carriers``)."""
    found = [
        Stretch(i.source, i.carrier, i.start, i.end, i.label)
        for i in intervals
        if i.verdict == FLAGGED and not i.via_carriers
    ]
    return sorted(found, key=lambda s: (s.start, s.source, s.carrier or ""))


def labels(found: Sequence[Stretch], relapse_days: int) -> tuple[Label, ...]:
    """Merge stretches into labels and mark relapses (pure).

    =====================================  =========================================
    next stretch (by start)                effect
    =====================================  =========================================
    starts before or when the current      joins it; the label's end is the later
    label ends, or the current is open     end (open if either is open)
    starts after the current label ends    a new label; a relapse when it starts at
                                           most ``relapse_days`` after that end
    =====================================  =========================================
    """
    if relapse_days < 1:
        raise ValueError("relapse_days must be at least 1")
    merged: list[tuple[datetime, datetime | None, list[Stretch]]] = []
    for item in sorted(found, key=lambda s: s.start):
        if merged:
            start, end, members = merged[-1]
            if end is None or item.start <= end:
                later = None if end is None or item.end is None else max(end, item.end)
                merged[-1] = (start, later, [*members, item])
                continue
        merged.append((item.start, item.end, [item]))
    out: list[Label] = []
    limit = timedelta(days=relapse_days)
    for start, end, members in merged:
        gap = start - out[-1].end if out and out[-1].end is not None else None
        out.append(Label(start, end, tuple(members), gap, gap is not None and gap <= limit))
    return tuple(out)


def _last_day_touched(end: datetime) -> date:
    """The last UTC day a stretch ending at ``end`` overlaps (it excludes ``end``)."""
    day = end.date()
    at_midnight = end == datetime(day.year, day.month, day.day, tzinfo=end.tzinfo)
    return day - DAY if at_midnight else day


def window(found: Sequence[Label], added: datetime, now: datetime, window_days: int) -> Window:
    """Share of days flagged (pure).

    Days D are UTC calendar days; the window is ``[today - (window_days - 1), today]``;
    a day counts when D >= the day the number was added; it is flagged when a label
    [start, end) overlaps [D 00:00, D+1 00:00) for a positive time (an open label
    holds until now):

    ======================================================  ============
    label                                                   day D
    ======================================================  ============
    start < D+1 00:00 and end > D 00:00                     flagged
    ends at D 00:00 exactly                                 not flagged
    starts at D+1 00:00 exactly                             not flagged
    D before the day the number was added                   not counted
    ======================================================  ============
    """
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    last = now.date()
    first = last - (window_days - 1) * DAY
    since = max(first, added.date())
    counted = (last - since).days + 1 if since <= last else 0
    days: set[date] = set()
    for label in found:
        end = label.end or now
        if end <= label.start:
            continue
        lo = max(label.start.date(), since)
        hi = min(_last_day_touched(end), last)
        day = lo
        while day <= hi:
            days.add(day)
            day += DAY
    return Window(window_days, first, last, counted, len(days))


def figures(
    intervals: Iterable[Interval],
    added: datetime,
    now: datetime,
    window_days: int = 90,
    relapse_days: int = 30,
) -> Figures:
    """Every lifecycle figure of one number (see the module docstring)."""
    found = labels(stretches(intervals), relapse_days)
    first = found[0].start if found else None
    to_first = max(first - added, ZERO) if first is not None else None
    return Figures(
        added=added,
        first_label=first,
        to_first_label=to_first,
        labels=found,
        relapse_days=relapse_days,
        window=window(found, added, now, window_days),
    )
