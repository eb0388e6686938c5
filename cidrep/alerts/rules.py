"""When a change is worth a message: the alert rules, as pure functions.

Three levels, each a pure function of the previous state and what is new:

1. ``confirm`` — per (number, source): has the source's verdict *really* changed?
   It reads the source's current state (``cidrep.history.SourceState``: the latest
   real verdict and how many real checks in a row gave it), so an error never flips
   anything and a crashed run's results are caught up on the next.
2. ``decide`` — per number: do enough sources agree (quorum)? Is the number
   flapping, muted, due a reminder? Produces the notices to send.
3. ``source_notice`` — per source: is the source failing (or stale) for the fleet,
   or has it recovered?

States are dataclasses stored one row each (``cidrep.store.alert_state``); notices
become flips with one delivery per channel (``cidrep.alerts.evaluate``). Times are
ISO UTC strings; they compare as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from cidrep.history import SourceState
from cidrep.timeutil import iso, parse_iso

FLAGGED, CLEAN = "flagged", "clean"


@dataclass(frozen=True)
class Hysteresis:
    """How many real checks in a row make a change (per source)."""

    confirm_after: int = 2
    recover_after: int = 2


@dataclass(frozen=True)
class Policy:
    """The number-level rules (``[alerts]``)."""

    quorum: int = 1
    flap_max: int = 3
    flap_window: timedelta = timedelta(hours=24)
    renotify_after: timedelta | None = None
    failing_after: int = 3


# -- 1. per (number, source) ------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    """The confirmed verdict of one source for one number (``alert_sources`` row).

    ``state`` is ``flagged``, ``clean`` or None (nothing real confirmed yet);
    ``since`` when it became that.
    """

    state: str | None = None
    since: str | None = None


def confirm(prev: Confirmed | None, now: SourceState, h: Hysteresis) -> tuple[Confirmed, bool]:
    """The confirmed state after the source's current state ``now``; True if it changed.

    ``now.verdict`` is the latest real verdict and ``now.streak`` how many real checks
    in a row gave it (errors change neither). ``unknown`` is not a judgement: it never
    flips, but it is a real answer, so it ends a streak (flagged, unknown, flagged
    counts as one flagged check in a row).

    =================  ==============  =============================  ===============
    confirmed before   verdict now     streak                         result
    =================  ==============  =============================  ===============
    none               none, unknown   -                              none
    none               flagged         any (a first check counts)     flagged, change
    none               clean           any                            clean (silent)
    clean              flagged         >= confirm_after               flagged, change
    clean              flagged         <  confirm_after               clean
    flagged            clean           >= recover_after               clean, change
    flagged            clean           <  recover_after               flagged
    X                  X               -                              X
    X                  unknown, none   -                              X
    =================  ==============  =============================  ===============

    A first real verdict is confirmed at once: a new number that is already flagged
    is news (nothing to be hysteretic about), a new clean one is not. "none → clean"
    is therefore not a change: it sets the baseline silently (the caller stores any
    result that differs from ``prev``). Evaluating the same state twice gives the
    same answer, so a re-run after a crash never announces a change twice.
    """
    prev = prev or Confirmed()
    verdict, streak = now.verdict, now.streak
    if verdict not in (FLAGGED, CLEAN) or verdict == prev.state:
        return prev, False
    if prev.state is None:
        return Confirmed(verdict, now.since), verdict == FLAGGED
    needed = h.confirm_after if verdict == FLAGGED else h.recover_after
    if streak >= needed:
        return Confirmed(verdict, now.since), True
    return prev, False


# -- 2. per number ----------------------------------------------------------------


@dataclass(frozen=True)
class NumberAlert:
    """One number's alert state (``alert_numbers`` row).

    ``state``: flagged / clean / None by quorum of its sources' confirmed states;
    ``since``: when it became that. ``notified``: the state last announced (None:
    nothing yet, which counts as clean). ``flips``: times of recent state changes
    (within ``flap_window``). ``flapping_since``: set while per-flip alerts are held.
    ``muted_until``: alerts held until then. ``reminded_at``: the last reminder.
    ``flagged_at``: when it last became flagged (kept after it clears).
    """

    state: str | None = None
    since: str | None = None
    notified: str | None = None
    notified_at: str | None = None
    flips: tuple[str, ...] = ()
    flapping_since: str | None = None
    muted_until: str | None = None
    reminded_at: str | None = None
    flagged_at: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | None) -> NumberAlert:
        """From an ``alert_numbers`` row as ``store.alert_state`` reads it (None: new)."""
        if row is None:
            return cls()
        return cls(**{**row, "flips": tuple(row["flips"])})


@dataclass(frozen=True)
class Notice:
    """Something to tell: ``kind`` is flagged, cleared, reminder or flapping.

    ``held`` names why a state change is not sent (muted, flapping); a held change
    is still recorded as a flip. ``after`` says what a late notice follows (a mute
    or a flapping spell that ended with the state changed).
    """

    kind: str
    held: str | None = None
    after: str | None = None
    flagged_since: str | None = None  # cleared: when the number became flagged


@dataclass(frozen=True)
class Decision:
    state: NumberAlert
    notices: list[Notice] = field(default_factory=list)


def quorum_state(confirmed: dict[str, str | None], enabled: int, quorum: int) -> str | None:
    """The number's state from its sources' confirmed states (pure).

    ==============================================  ========
    sources confirmed flagged                       state
    ==============================================  ========
    >= max(1, min(quorum, enabled sources))         flagged
    fewer, and at least one source confirmed        clean
    no source has confirmed anything               none
    ==============================================  ========

    The quorum is capped at the number of enabled sources, so disabling a source
    never makes a number impossible to alert on.
    """
    needed = max(1, min(quorum, enabled))
    flagged = sum(1 for s in confirmed.values() if s == FLAGGED)
    if flagged >= needed:
        return FLAGGED
    return CLEAN if any(s is not None for s in confirmed.values()) else None


def _announced(state: str | None) -> str:
    return state or CLEAN


def decide(prev: NumberAlert | None, state: str | None, now: datetime, p: Policy) -> Decision:
    """The number's next alert state and its notices, given its quorum ``state`` now.

    First, time passes: a mute whose ``muted_until`` has come ends, and a flapping
    spell with no flip within ``flap_window`` ends (it is over whatever happens next).
    Then a change of state (the first is ``none → flagged``; ``none → clean`` is a
    silent baseline) is recorded in ``flips`` and, in this order:

    ===================================  ===============================================
    when                                 notice
    ===================================  ===============================================
    flips in flap_window > flap_max,     ``flapping`` (held too while muted), and the
    not flapping yet                     change is held ("flapping"); flapping_since=now
    flapping                             the change is held ("flapping")
    muted (muted_until > now)            the change is held ("muted")
    otherwise                            ``flagged`` / ``cleared``; notified = state
    ===================================  ===============================================

    With no change of state:

    ===================================  ===============================================
    when                                 notice
    ===================================  ===============================================
    flapping ended, or mute ended and    if state != notified: ``flagged``/``cleared``
    not flapping                         after "flapping"/"mute"; if the same: nothing
                                         (and the reminder clock restarts now)
    flagged, notified flagged, not held, ``reminder``; reminded_at = now
    renotify_after since the last notice
    otherwise                            nothing
    ===================================  ===============================================

    "notified" None counts as clean: a number nobody heard about is clean to them.
    Every ``cleared`` notice carries when the flag began, for "flagged for": the
    number's ``flagged_at`` (it last became flagged), or for a late one the earlier
    of that and when the flag was told.
    """
    prev = prev or NumberAlert()
    t = iso(now)
    notices: list[Notice] = []
    cur = prev
    released = None
    window_start = iso(now - p.flap_window)
    flips = tuple(f for f in cur.flips if f > window_start)
    cur = replace(cur, flips=flips)
    if cur.flapping_since is not None and not flips:
        cur = replace(cur, flapping_since=None)
        released = "flapping"
    if cur.muted_until is not None and cur.muted_until <= t:
        cur = replace(cur, muted_until=None)
        released = released or "mute"

    changed = state != cur.state and not (cur.state is None and state == CLEAN)
    if state is None and cur.state is not None:
        changed = False  # sources lost their confirmed state (removed): keep what was
        state = cur.state
    if changed:
        flagged_since = (cur.flagged_at or cur.since) if cur.state == FLAGGED else None
        flips = (*flips, t)
        cur = replace(cur, state=state, since=t, flips=flips)
        if state == FLAGGED:
            cur = replace(cur, flagged_at=t)
        kind = "flagged" if state == FLAGGED else "cleared"
        muted = cur.muted_until is not None
        if cur.flapping_since is None and len(flips) > p.flap_max:
            cur = replace(cur, flapping_since=t)
            notices.append(Notice("flapping", held="muted" if muted else None))
            notices.append(Notice(kind, held="flapping", flagged_since=flagged_since))
        elif cur.flapping_since is not None:
            notices.append(Notice(kind, held="flapping", flagged_since=flagged_since))
        elif muted:
            notices.append(Notice(kind, held="muted", flagged_since=flagged_since))
        else:
            cur = replace(cur, notified=state, notified_at=t, reminded_at=None)
            notices.append(Notice(kind, flagged_since=flagged_since))
        return Decision(cur, notices)

    if cur.state is None and state == CLEAN:  # the silent baseline of a clean number
        cur = replace(cur, state=CLEAN, since=t)
    held = cur.muted_until is not None or cur.flapping_since is not None
    if released and not held:
        if _announced(cur.state) != _announced(cur.notified):
            kind = "flagged" if cur.state == FLAGGED else "cleared"
            flagged_since = _told_flag_began(cur) if kind == "cleared" else None
            cur = replace(cur, notified=cur.state, notified_at=t, reminded_at=None)
            notices.append(Notice(kind, after=released, flagged_since=flagged_since))
        elif cur.state == FLAGGED:
            cur = replace(cur, reminded_at=t)  # told already: remind from now on
        return Decision(cur, notices)
    if (
        p.renotify_after is not None
        and cur.state == FLAGGED
        and cur.notified == FLAGGED
        and not held
    ):
        last = cur.reminded_at or cur.notified_at
        if last is not None and parse_iso(last) + p.renotify_after <= now:
            cur = replace(cur, reminded_at=t)
            notices.append(Notice("reminder"))
    return Decision(cur, notices)


def _told_flag_began(cur: NumberAlert) -> str | None:
    """For a late ``cleared``: when the flag the team was told about began. The
    earlier of when it was told (a flag that flapped since) and when the number last
    became flagged (a flag told late, after a mute)."""
    known = [x for x in (cur.notified_at, cur.flagged_at) if x]
    return min(known) if cur.notified == FLAGGED and known else None


def mute(prev: NumberAlert | None, until: str) -> NumberAlert:
    """Hold this number's alerts until ``until`` (a later mute extends, never shortens
    silently: the newest command wins, as the user typed it)."""
    return replace(prev or NumberAlert(), muted_until=until)


def unmute(prev: NumberAlert | None, now: datetime, p: Policy) -> Decision:
    """Lift a mute now: notify only if the state differs from what was last notified
    (the Uptime Kuma #2846 bug: never re-announce a state already announced)."""
    base = prev or NumberAlert()
    if base.muted_until is None:
        return Decision(base)
    return decide(replace(base, muted_until=iso(now)), base.state, now, p)


# -- 3. per source -------------------------------------------------------------------


@dataclass(frozen=True)
class FleetHealth:
    """One source over every active number, after a run."""

    worst_error_streak: int = 0  # most failed checks in a row for any number
    failing: int = 0  # numbers whose latest attempt failed
    stale: int = 0  # numbers with no success within interval + margin
    last_error: str | None = None


def source_notice(failing_before: bool, fleet: FleetHealth, failing_after: int) -> str | None:
    """``source_failing``, ``source_recovered`` or None (pure).

    ===============  ===================================================  ==================
    before           now                                                  notice
    ===============  ===================================================  ==================
    ok               some number failed failing_after times in a row,     source_failing
                     or some number is stale
    ok               otherwise                                            none
    failing          no number failing and none stale                     source_recovered
    failing          otherwise                                            none (still)
    ===============  ===================================================  ==================

    Raising needs ``failing_after`` errors in a row (one blip is not news); recovery
    needs every number current again, so a half-recovered source does not flap.
    """
    if not failing_before:
        if fleet.worst_error_streak >= failing_after or fleet.stale > 0:
            return "source_failing"
        return None
    if fleet.failing == 0 and fleet.stale == 0:
        return "source_recovered"
    return None
