"""Is a source's word on a number current? Failing and stale, as pure rules.

A verdict is only as good as its last successful check. A source is **failing** for
a number when its latest attempt failed, and **stale** when it has not succeeded
within its interval plus a margin (the margin absorbs cron jitter and a retry on the
next run). ``status``, ``report`` and ``check``'s exit code all use these rules, for
feeds and lookups alike, so a broken or silent source is never shown as current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from cidrep.history import SourceState, worst
from cidrep.timeutil import iso

MIN_MARGIN = timedelta(hours=1)


class Health(StrEnum):
    OK = "ok"
    FAILING = "failing"
    STALE = "stale"
    NEVER = "never"  # no attempt yet


def stale_margin(interval: timedelta) -> timedelta:
    """Half the interval, at least an hour: hourly cron with a 24 h interval is stale
    after 36 h without a success, a 6 h feed after 9 h."""
    return max(interval / 2, MIN_MARGIN)


@lru_cache(maxsize=256)  # asked once per state row: status over 10,000 numbers
def stale_before(interval: timedelta, now: datetime) -> str:
    """The ISO time before which a last success is stale (for SQL comparisons)."""
    return iso(now - interval - stale_margin(interval))


def health(state: SourceState | None, interval: timedelta | None, now: datetime) -> Health:
    """Classify one (number, source) state (pure).

    ==============  ========================  ==========================  =========
    last_success    last_failure              last_success age            health
    ==============  ========================  ==========================  =========
    none            none                      -                           never
    none            set                       -                           failing
    set             >= last_success           any                         failing
    set             none or < last_success    <= interval + margin        ok
    set             none or < last_success    >  interval + margin        stale
    ==============  ========================  ==========================  =========

    Failing wins over stale: it says more (the source answered, and it was an error).
    ``interval`` None is a recorded source (manual sightings, imported labels): nobody
    promised a next observation, so it is never stale.
    Timestamps are ISO strings in UTC with a ``Z``, so they compare as text.
    """
    if state is None or (state.last_success is None and state.last_failure is None):
        return Health.NEVER
    if state.last_failure is not None and (
        state.last_success is None or state.last_failure >= state.last_success
    ):
        return Health.FAILING
    assert state.last_success is not None
    if interval is not None and state.last_success < stale_before(interval, now):
        return Health.STALE
    return Health.OK


@dataclass(frozen=True)
class Summary:
    """One number across its sources: the worst verdict and what is not current."""

    verdict: str | None
    sources: list[str]  # the sources giving that verdict
    failing: list[str]
    stale: list[str]
    as_of: str | None  # the oldest last success: every verdict shown is at least this fresh


def summarize(states: dict[str, tuple[SourceState, Health]]) -> Summary:
    """Worst current verdict for a number and the sources behind it (pure).

    An error never replaces a real verdict: the worst real verdict (flagged > clean >
    unknown) is shown even when its source is failing or stale (it is the last thing
    the source said), and the number's line names the failing and stale sources next
    to it. Only a number with no real verdict at all and a failing source is
    ``error``. ``as_of`` is the oldest last success among sources that have one.
    """
    verdicts = {src: s.verdict for src, (s, _) in states.items() if s.verdict}
    failing = sorted(src for src, (_, h) in states.items() if h == Health.FAILING)
    stale = sorted(src for src, (_, h) in states.items() if h == Health.STALE)
    top = worst(verdicts.values()) or (worst(["error"]) if failing else None)
    behind = failing if top == "error" else sorted(s for s, v in verdicts.items() if v == top)
    successes = [s.last_success for s, _ in states.values() if s.last_success]
    return Summary(
        verdict=top.value if top else None,
        sources=behind,
        failing=failing,
        stale=stale,
        as_of=min(successes) if successes else None,
    )
