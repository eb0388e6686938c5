"""The alert rules (``cidrep.alerts.rules``): one case per truth-table row, then scenarios.

Every table in the rules' docstrings has one parametrized case per row (the case id names
the row); the scenarios walk realistic sequences of checks and runs through the pure
functions, building each source's state with ``cidrep.history.advance`` as a run would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cidrep.alerts.rules import (
    CLEAN,
    FLAGGED,
    Confirmed,
    FleetHealth,
    Hysteresis,
    Notice,
    NumberAlert,
    Policy,
    confirm,
    decide,
    mute,
    quorum_state,
    source_notice,
    unmute,
)
from cidrep.history import SourceState, advance
from cidrep.timeutil import iso, parse_iso

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
H = Hysteresis(confirm_after=3, recover_after=2)  # different, so a swap shows
P = Policy(quorum=1, flap_max=3, flap_window=timedelta(hours=24))
P_REMIND = replace(P, renotify_after=timedelta(hours=6))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ts(hours: float) -> str:
    return iso(at(hours))


def checks(*verdicts: str, start: float = 0) -> SourceState:
    """A source's state after hourly checks giving ``verdicts`` (the first at ``start``)."""
    state = SourceState()
    for i, verdict in enumerate(verdicts):
        state = advance(state, verdict, ts(start + i), error="boom" if verdict == "error" else None)
    return state


def confirm_each(
    verdicts: Iterable[str], h: Hysteresis = H, prev: Confirmed | None = None
) -> list[tuple[Confirmed, bool]]:
    """Confirm after every hourly check, as a run does; the result of each step."""
    state: SourceState | None = None
    out = []
    for i, verdict in enumerate(verdicts):
        state = advance(state, verdict, ts(i), error="boom" if verdict == "error" else None)
        prev, changed = confirm(prev, state, h)
        out.append((prev, changed))
    return out


def changed_at(steps: list[tuple[Confirmed, bool]]) -> list[int]:
    return [i for i, (_, changed) in enumerate(steps) if changed]


def sent(notices: Iterable[Notice]) -> list[Notice]:
    return [n for n in notices if n.held is None]


# -- confirm: one case per row ------------------------------------------------------

CONFIRM_ROWS = [
    # confirmed before, source state now, expected confirmed, expected change
    pytest.param(None, SourceState(), Confirmed(), False, id="none+none->none"),
    pytest.param(None, checks("unknown"), Confirmed(), False, id="none+unknown->none"),
    pytest.param(
        None, checks("flagged"), Confirmed(FLAGGED, ts(0)), True, id="none+flagged(first)->change"
    ),
    pytest.param(
        None,
        checks("error", "error", "flagged"),
        Confirmed(FLAGGED, ts(2)),
        True,
        id="none+flagged(after-errors)->change",
    ),
    pytest.param(
        None, checks("clean"), Confirmed(CLEAN, ts(0)), False, id="none+clean->clean(silent)"
    ),
    pytest.param(
        Confirmed(CLEAN, ts(-10)),
        checks("clean", "flagged", "flagged", "flagged"),
        Confirmed(FLAGGED, ts(1)),
        True,
        id="clean+flagged(streak>=confirm_after)->change",
    ),
    pytest.param(
        Confirmed(CLEAN, ts(-10)),
        checks("clean", "flagged", "flagged"),
        Confirmed(CLEAN, ts(-10)),
        False,
        id="clean+flagged(streak<confirm_after)->clean",
    ),
    pytest.param(
        Confirmed(FLAGGED, ts(-10)),
        checks("flagged", "clean", "clean"),
        Confirmed(CLEAN, ts(1)),
        True,
        id="flagged+clean(streak>=recover_after)->change",
    ),
    pytest.param(
        Confirmed(FLAGGED, ts(-10)),
        checks("flagged", "clean"),
        Confirmed(FLAGGED, ts(-10)),
        False,
        id="flagged+clean(streak<recover_after)->flagged",
    ),
    pytest.param(
        Confirmed(FLAGGED, ts(-10)),
        checks(*["flagged"] * 5),
        Confirmed(FLAGGED, ts(-10)),
        False,
        id="X+X->X(flagged)",
    ),
    pytest.param(
        Confirmed(CLEAN, ts(-10)),
        checks(*["clean"] * 5),
        Confirmed(CLEAN, ts(-10)),
        False,
        id="X+X->X(clean)",
    ),
    pytest.param(
        Confirmed(FLAGGED, ts(-10)),
        checks(*["unknown"] * 5),
        Confirmed(FLAGGED, ts(-10)),
        False,
        id="X+unknown->X(flagged)",
    ),
    pytest.param(
        Confirmed(CLEAN, ts(-10)),
        checks(*["unknown"] * 5),
        Confirmed(CLEAN, ts(-10)),
        False,
        id="X+unknown->X(clean)",
    ),
    pytest.param(
        Confirmed(FLAGGED, ts(-10)),
        checks("error", "error", "error"),
        Confirmed(FLAGGED, ts(-10)),
        False,
        id="X+none->X(only-errors)",
    ),
]


@pytest.mark.parametrize(("prev", "now", "expected", "change"), CONFIRM_ROWS)
def test_confirm_truth_table(prev, now, expected, change):
    assert confirm(prev, now, H) == (expected, change)


# -- confirm: hysteresis scenarios ----------------------------------------------------


def test_clean_to_flagged_needs_confirm_after_flagged_checks_in_a_row():
    steps = confirm_each(["clean", "flagged", "flagged", "flagged", "flagged"])
    assert changed_at(steps) == [3]
    assert steps[2][0] == Confirmed(CLEAN, ts(0))
    assert steps[3][0] == Confirmed(FLAGGED, ts(1))  # since the first flagged of the streak


def test_a_clean_check_restarts_the_flagged_streak():
    steps = confirm_each(["clean", "flagged", "flagged", "clean", "flagged", "flagged"])
    assert changed_at(steps) == []
    assert steps[-1][0] == Confirmed(CLEAN, ts(0))


def test_flagged_to_clean_needs_recover_after_clean_checks_in_a_row():
    steps = confirm_each(["flagged", "clean", "flagged", "clean", "clean", "clean"])
    assert changed_at(steps) == [0, 4]  # first check flagged at once; then 2 clean in a row
    assert steps[4][0] == Confirmed(CLEAN, ts(3))


def test_an_error_never_flips_and_does_not_reset_the_streak():
    verdicts = ["clean", "flagged", "error", "flagged", "error", "error", "flagged", "error"]
    steps = confirm_each(verdicts)
    assert changed_at(steps) == [6]  # third flagged, errors in between did not reset
    for i, verdict in enumerate(verdicts):
        if verdict == "error" and i > 0:
            assert steps[i][0] == steps[i - 1][0]
    assert steps[6][0] == Confirmed(FLAGGED, ts(1))


def test_errors_never_flip_back():
    steps = confirm_each(["flagged", *["error"] * 10])
    assert changed_at(steps) == [0]
    assert all(c == Confirmed(FLAGGED, ts(0)) for c, _ in steps)


@pytest.mark.parametrize("first", [FLAGGED, CLEAN])
def test_unknown_never_flips(first):
    steps = confirm_each([first, *["unknown"] * 10], h=Hysteresis(1, 1))
    assert all(c == Confirmed(first, ts(0)) for c, _ in steps)
    assert changed_at(steps) == ([0] if first == FLAGGED else [])


def test_a_caught_up_streak_confirms_on_the_next_evaluation():
    """A crashed run's checks are caught up: the streak is read, not counted by confirm."""
    state = checks("clean", "flagged", "flagged", "flagged")
    assert confirm(Confirmed(CLEAN, ts(0)), state, H) == (Confirmed(FLAGGED, ts(1)), True)


def test_first_check_flagged_confirms_immediately_whatever_confirm_after():
    steps = confirm_each(["flagged"], h=Hysteresis(confirm_after=5, recover_after=5))
    assert steps == [(Confirmed(FLAGGED, ts(0)), True)]


def test_first_check_clean_is_a_silent_baseline():
    prev = Confirmed()
    new, changed = confirm(prev, checks("clean"), H)
    assert changed is False
    assert new == Confirmed(CLEAN, ts(0))
    assert new != prev  # the caller stores it


# -- quorum ----------------------------------------------------------------------------

QUORUM_ROWS = [
    # confirmed states, enabled sources, quorum, expected
    pytest.param(
        {"a": FLAGGED, "b": FLAGGED, "c": CLEAN}, 3, 2, FLAGGED, id=">=min(quorum,enabled)->flagged"
    ),
    pytest.param(
        {"a": FLAGGED, "b": FLAGGED, "c": FLAGGED}, 3, 2, FLAGGED, id=">=quorum(all)->flagged"
    ),
    pytest.param(
        {"a": FLAGGED}, 1, 3, FLAGGED, id=">=min(quorum,enabled)->flagged(capped-at-enabled)"
    ),
    pytest.param(
        {"a": FLAGGED, "b": CLEAN, "c": None}, 3, 2, CLEAN, id="fewer+one-confirmed->clean"
    ),
    pytest.param({"a": CLEAN, "b": None, "c": None}, 3, 2, CLEAN, id="fewer+only-clean->clean"),
    pytest.param({"a": None, "b": None, "c": None}, 3, 2, None, id="nothing-confirmed->none"),
    pytest.param({}, 3, 2, None, id="nothing-confirmed(no-rows)->none"),
]


@pytest.mark.parametrize(("confirmed", "enabled", "quorum", "expected"), QUORUM_ROWS)
def test_quorum_truth_table(confirmed, enabled, quorum, expected):
    assert quorum_state(confirmed, enabled, quorum) == expected


def test_two_of_three_sources_must_agree():
    sources: dict[str, str | None] = {"a": None, "b": None, "c": None}
    seen = []
    for source, state in [("a", CLEAN), ("b", CLEAN), ("a", FLAGGED), ("c", FLAGGED)]:
        sources[source] = state
        seen.append(quorum_state(sources, 3, 2))
    assert seen == [CLEAN, CLEAN, CLEAN, FLAGGED]
    sources["a"] = CLEAN
    assert quorum_state(sources, 3, 2) == CLEAN


def test_quorum_is_capped_at_the_enabled_sources():
    assert quorum_state({"a": FLAGGED}, enabled=1, quorum=3) == FLAGGED
    assert quorum_state({"a": FLAGGED, "b": CLEAN}, enabled=2, quorum=3) == CLEAN
    assert quorum_state({"a": FLAGGED, "b": FLAGGED}, enabled=2, quorum=3) == FLAGGED


# -- decide: a change of state, one case per row ----------------------------------------

FLAGGED_NOTIFIED = NumberAlert(
    state=FLAGGED, since=ts(1), notified=FLAGGED, notified_at=ts(1), flips=(ts(1),)
)

DECIDE_CHANGE_ROWS = [
    # prev, state now, now (hours), policy, expected notices, expected fields of the state
    pytest.param(
        None,
        FLAGGED,
        0,
        P,
        [Notice("flagged")],
        {"state": FLAGGED, "since": ts(0), "notified": FLAGGED, "flips": (ts(0),)},
        id="first-change(none->flagged)->flagged",
    ),
    pytest.param(
        None,
        CLEAN,
        0,
        P,
        [],
        {"state": CLEAN, "since": ts(0), "notified": None, "flips": ()},
        id="none->clean->silent-baseline",
    ),
    pytest.param(
        NumberAlert(
            state=FLAGGED,
            since=ts(3),
            notified=FLAGGED,
            notified_at=ts(3),
            flips=(ts(1), ts(2), ts(3)),
        ),
        CLEAN,
        4,
        P,
        [Notice("flapping"), Notice("cleared", held="flapping", flagged_since=ts(3))],
        {"flapping_since": ts(4), "notified": FLAGGED, "notified_at": ts(3), "state": CLEAN},
        id="flips>flap_max+not-flapping->flapping(sent)+held",
    ),
    pytest.param(
        NumberAlert(
            state=CLEAN,
            since=ts(3),
            notified=FLAGGED,
            notified_at=ts(2),
            flips=(ts(1), ts(2), ts(3)),
            flapping_since=ts(3),
        ),
        FLAGGED,
        4,
        P,
        [Notice("flagged", held="flapping")],
        {"flapping_since": ts(3), "notified": FLAGGED, "notified_at": ts(2)},
        id="flapping->held(flapping)",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, muted_until=ts(10)),
        CLEAN,
        4,
        P,
        [Notice("cleared", held="muted", flagged_since=ts(1))],
        {"state": CLEAN, "since": ts(4), "notified": FLAGGED, "muted_until": ts(10)},
        id="muted->held(muted)",
    ),
    pytest.param(
        NumberAlert(
            state=CLEAN,
            since=ts(3),
            notified=FLAGGED,
            notified_at=ts(2),
            flips=(ts(1), ts(2), ts(3)),
            flapping_since=ts(3),
            muted_until=ts(10),
        ),
        FLAGGED,
        4,
        P,
        [Notice("flagged", held="flapping")],
        {"flapping_since": ts(3), "muted_until": ts(10)},
        id="flapping-and-muted->held(flapping)(order)",
    ),
    pytest.param(
        NumberAlert(state=CLEAN, since=ts(0)),
        FLAGGED,
        4,
        P,
        [Notice("flagged")],
        {"notified": FLAGGED, "notified_at": ts(4), "since": ts(4), "flips": (ts(4),)},
        id="otherwise->flagged",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, reminded_at=ts(3)),
        CLEAN,
        4,
        P,
        [Notice("cleared", flagged_since=ts(1))],
        {"notified": CLEAN, "notified_at": ts(4), "reminded_at": None, "flips": (ts(1), ts(4))},
        id="otherwise->cleared",
    ),
    pytest.param(
        NumberAlert(
            state=FLAGGED, since=ts(3), notified=FLAGGED, notified_at=ts(3), flips=(ts(2), ts(3))
        ),
        CLEAN,
        4,
        P,
        [Notice("cleared", flagged_since=ts(3))],
        {"flapping_since": None, "notified": CLEAN},
        id="otherwise->cleared(flips==flap_max-is-not-flapping)",
    ),
    pytest.param(
        NumberAlert(
            state=FLAGGED,
            since=ts(3),
            notified=FLAGGED,
            notified_at=ts(3),
            flips=(ts(-30), ts(-29), ts(3)),
        ),
        CLEAN,
        4,
        P,
        [Notice("cleared", flagged_since=ts(3))],
        {"flapping_since": None, "flips": (ts(3), ts(4))},
        id="otherwise->cleared(old-flips-outside-window)",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, muted_until=ts(4)),
        CLEAN,
        4,
        P,
        [Notice("cleared", flagged_since=ts(1))],
        {"muted_until": None, "notified": CLEAN},
        id="otherwise->cleared(mute-expired-at-now)",
    ),
]


@pytest.mark.parametrize(
    ("prev", "state", "hours", "policy", "notices", "fields"), DECIDE_CHANGE_ROWS
)
def test_decide_change_truth_table(prev, state, hours, policy, notices, fields):
    d = decide(prev, state, at(hours), policy)
    assert d.notices == notices
    for name, value in fields.items():
        assert getattr(d.state, name) == value, name


# -- decide: no change of state, one case per row ---------------------------------------

FLAPPED = NumberAlert(
    state=CLEAN,
    since=ts(4),
    notified=FLAGGED,
    notified_at=ts(2),
    flips=(ts(0), ts(1), ts(2), ts(3), ts(4)),
    flapping_since=ts(3),
)

DECIDE_STEADY_ROWS = [
    pytest.param(
        FLAPPED,
        CLEAN,
        4 + 25,
        P,
        [Notice("cleared", after="flapping", flagged_since=ts(2))],
        {"flapping_since": None, "flips": (), "notified": CLEAN, "notified_at": ts(29)},
        id="flapping+no-flip-for-window+state!=notified->notice-after-flapping",
    ),
    pytest.param(
        replace(FLAPPED, state=FLAGGED),
        FLAGGED,
        4 + 25,
        P,
        [],
        {"flapping_since": None, "flips": (), "notified": FLAGGED, "notified_at": ts(2)},
        id="flapping+no-flip-for-window+state==notified->ends-silently",
    ),
    pytest.param(
        FLAPPED,
        CLEAN,
        4 + 23,
        P,
        [],
        {"flapping_since": ts(3), "flips": (ts(4),), "notified": FLAGGED},
        id="flapping+flip-within-window->still-held",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, state=CLEAN, since=ts(3), muted_until=ts(5)),
        CLEAN,
        6,
        P,
        [Notice("cleared", after="mute", flagged_since=ts(1))],
        {"muted_until": None, "notified": CLEAN, "notified_at": ts(6)},
        id="mute-expired+state!=notified->notice-after-mute",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, muted_until=ts(5)),
        FLAGGED,
        6,
        P,
        [],
        {"muted_until": None, "notified": FLAGGED, "notified_at": ts(1)},
        id="mute-expired+state==notified->ends-silently",
    ),
    pytest.param(
        NumberAlert(state=FLAGGED, since=ts(3), muted_until=ts(5)),
        FLAGGED,
        6,
        P,
        [Notice("flagged", after="mute")],
        {"muted_until": None, "notified": FLAGGED, "notified_at": ts(6)},
        id="mute-expired+state!=notified(none-counts-as-clean)->notice-after-mute",
    ),
    pytest.param(
        NumberAlert(state=CLEAN, since=ts(3), muted_until=ts(5)),
        CLEAN,
        6,
        P,
        [],
        {"muted_until": None, "notified": None},
        id="mute-expired+clean+notified-none->ends-silently",
    ),
    pytest.param(
        replace(FLAPPED, muted_until=ts(5)),
        CLEAN,
        6,
        P,
        [],
        {"muted_until": None, "flapping_since": ts(3), "notified": FLAGGED},
        id="mute-expired+flapping->nothing",
    ),
    pytest.param(
        FLAGGED_NOTIFIED,
        FLAGGED,
        1 + 6,
        P_REMIND,
        [Notice("reminder")],
        {"reminded_at": ts(7), "notified_at": ts(1)},
        id="flagged+notified-flagged+not-held+renotify_after->reminder",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, reminded_at=ts(7)),
        FLAGGED,
        7 + 6,
        P_REMIND,
        [Notice("reminder")],
        {"reminded_at": ts(13)},
        id="reminder+renotify_after-since-last-reminder->reminder",
    ),
    pytest.param(
        FLAGGED_NOTIFIED,
        FLAGGED,
        1 + 5,
        P_REMIND,
        [],
        {"reminded_at": None},
        id="otherwise(reminder-not-due)->nothing",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, reminded_at=ts(7)),
        FLAGGED,
        7 + 5,
        P_REMIND,
        [],
        {"reminded_at": ts(7)},
        id="otherwise(next-reminder-not-due)->nothing",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, muted_until=ts(100)),
        FLAGGED,
        1 + 24,
        P_REMIND,
        [],
        {"reminded_at": None, "muted_until": ts(100)},
        id="otherwise(muted)->no-reminder",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, flips=(ts(20),), flapping_since=ts(20)),
        FLAGGED,
        1 + 24,
        P_REMIND,
        [],
        {"reminded_at": None, "flapping_since": ts(20)},
        id="otherwise(flapping)->no-reminder",
    ),
    pytest.param(
        replace(FLAGGED_NOTIFIED, notified=CLEAN),
        FLAGGED,
        1 + 24,
        P_REMIND,
        [],
        {"reminded_at": None},
        id="otherwise(notified-clean)->no-reminder",
    ),
    pytest.param(
        FLAGGED_NOTIFIED,
        FLAGGED,
        1 + 24,
        P,
        [],
        {"reminded_at": None},
        id="otherwise(renotify-unset)->nothing",
    ),
    pytest.param(
        NumberAlert(state=CLEAN, since=ts(0), notified=CLEAN, notified_at=ts(0)),
        CLEAN,
        24,
        P_REMIND,
        [],
        {"reminded_at": None},
        id="otherwise(clean)->nothing",
    ),
    pytest.param(
        FLAGGED_NOTIFIED,
        None,
        3,
        P,
        [],
        {"state": FLAGGED, "since": ts(1)},
        id="otherwise(quorum-none-keeps-state)->nothing",
    ),
    pytest.param(None, None, 0, P, [], {"state": None}, id="otherwise(nothing-known)->nothing"),
]


@pytest.mark.parametrize(
    ("prev", "state", "hours", "policy", "notices", "fields"), DECIDE_STEADY_ROWS
)
def test_decide_no_change_truth_table(prev, state, hours, policy, notices, fields):
    d = decide(prev, state, at(hours), policy)
    assert d.notices == notices
    for name, value in fields.items():
        assert getattr(d.state, name) == value, name


# -- decide: scenarios -----------------------------------------------------------------


def test_first_check_flagged_is_one_flagged_notice():
    d = decide(None, FLAGGED, at(0), P)
    assert d.notices == [Notice("flagged")]
    assert d.state.notified == FLAGGED


def test_first_check_clean_is_no_notice_and_state_clean():
    d = decide(None, CLEAN, at(0), P)
    assert d.notices == []
    assert d.state.state == CLEAN
    assert d.state.since == ts(0)


def _flap(states: list[str], policy: Policy = P) -> tuple[NumberAlert, list[Notice]]:
    """Decide hourly for ``states``; the final state and every notice produced."""
    alert: NumberAlert | None = None
    notices: list[Notice] = []
    for hour, state in enumerate(states):
        d = decide(alert, state, at(hour), policy)
        alert = d.state
        notices += d.notices
    assert alert is not None
    return alert, notices


@pytest.mark.parametrize("final", [FLAGGED, CLEAN])
def test_flapping_is_announced_once_then_held_until_quiet(final):
    flips = [FLAGGED, CLEAN] * 5 + ([FLAGGED] if final == FLAGGED else [])
    alert, notices = _flap(flips)
    kinds = [(n.kind, n.held) for n in notices]
    assert kinds[:3] == [("flagged", None), ("cleared", None), ("flagged", None)]
    assert kinds[3:5] == [("flapping", None), ("cleared", "flapping")]
    assert [n.kind for n in notices].count("flapping") == 1
    assert [n.kind for n in sent(notices)] == ["flagged", "cleared", "flagged", "flapping"]
    assert all(n.held == "flapping" for n in notices[4:])
    assert len(notices) == 3 + 1 + (len(flips) - 3)
    assert alert.flapping_since == ts(3)
    assert alert.notified == FLAGGED
    last = len(flips) - 1

    # still within the window of the last flip: nothing, still held
    within = decide(alert, final, at(last + 23), P)
    assert within.notices == []
    assert within.state.flapping_since == ts(3)

    # 24h without a flip: the hold ends; a notice only if the state moved on
    quiet = decide(within.state, final, at(last + 25), P)
    assert quiet.state.flapping_since is None
    if final == FLAGGED:
        assert quiet.notices == []
        assert quiet.state.notified == FLAGGED
    else:
        assert quiet.notices == [Notice("cleared", after="flapping", flagged_since=ts(2))]
        assert quiet.state.notified == CLEAN
        assert quiet.state.notified_at == ts(last + 25)


def test_after_a_flapping_spell_a_new_change_is_sent_normally():
    alert, _ = _flap([FLAGGED, CLEAN] * 3)
    quiet = decide(alert, CLEAN, at(5 + 25), P)
    d = decide(quiet.state, FLAGGED, at(5 + 26), P)
    assert d.notices == [Notice("flagged")]


def test_mute_holds_a_flip():
    alert = decide(None, FLAGGED, at(0), P).state
    muted = mute(alert, ts(10))
    d = decide(muted, CLEAN, at(2), P)
    assert d.notices == [Notice("cleared", held="muted", flagged_since=ts(0))]
    assert d.state.notified == FLAGGED
    assert d.state.flips == (ts(0), ts(2))  # a held change is still a flip


def test_unmute_with_the_state_unchanged_sends_nothing():
    """Uptime Kuma #2846: never re-announce a state that was already announced."""
    alert = decide(None, FLAGGED, at(0), P).state
    muted = mute(alert, ts(100))
    d = decide(muted, FLAGGED, at(5), P)
    assert d.notices == []
    u = unmute(d.state, at(6), P)
    assert u.notices == []
    assert u.state.muted_until is None


def test_unmute_after_a_change_and_back_sends_nothing():
    alert = decide(None, FLAGGED, at(0), P).state
    d = decide(mute(alert, ts(100)), CLEAN, at(2), P)
    d = decide(d.state, FLAGGED, at(3), P)
    assert [n.held for n in d.notices] == ["muted"]
    u = unmute(d.state, at(6), P)
    assert u.notices == []


def test_unmute_after_the_state_changed_sends_one_notice_after_mute():
    alert = decide(None, FLAGGED, at(0), P).state
    d = decide(mute(alert, ts(100)), CLEAN, at(2), P)
    u = unmute(d.state, at(6), P)
    assert u.notices == [Notice("cleared", after="mute", flagged_since=ts(0))]
    assert u.state.notified == CLEAN
    assert u.state.notified_at == ts(6)
    assert u.state.muted_until is None
    # and a second unmute (or the next run) says nothing more
    assert unmute(u.state, at(7), P).notices == []
    assert decide(u.state, CLEAN, at(7), P).notices == []


def test_unmute_of_a_number_not_muted_is_a_no_op():
    alert = decide(None, FLAGGED, at(0), P).state
    u = unmute(alert, at(6), P)
    assert u.state == alert
    assert u.notices == []
    assert unmute(None, at(6), P).notices == []


@pytest.mark.parametrize("changed", [False, True], ids=["state-unchanged", "state-changed"])
def test_an_expired_mute_behaves_like_unmute(changed):
    alert = decide(None, FLAGGED, at(0), P).state
    muted = decide(mute(alert, ts(5)), CLEAN if changed else FLAGGED, at(2), P).state
    expired = decide(muted, muted.state, at(6), P)
    lifted = unmute(muted, at(6), P)
    assert expired.notices == lifted.notices
    assert expired.state == lifted.state
    assert expired.state.muted_until is None
    if changed:
        assert expired.notices == [Notice("cleared", after="mute", flagged_since=ts(0))]
    else:
        assert expired.notices == []


def test_mute_sets_until_keeps_the_rest_and_the_newest_command_wins():
    alert = decide(None, FLAGGED, at(0), P).state
    muted = mute(alert, ts(10))
    assert muted == replace(alert, muted_until=ts(10))
    assert mute(muted, ts(20)).muted_until == ts(20)
    assert mute(mute(muted, ts(20)), ts(8)).muted_until == ts(8)
    assert mute(None, ts(10)) == NumberAlert(muted_until=ts(10))


def test_a_flip_while_muted_from_the_start_is_told_after_the_mute():
    d = decide(mute(None, ts(5)), FLAGGED, at(1), P)
    assert d.notices == [Notice("flagged", held="muted")]
    assert decide(d.state, FLAGGED, at(6), P).notices == [Notice("flagged", after="mute")]


def test_reminders_every_renotify_after_while_flagged_and_told():
    alert: NumberAlert | None = None
    reminders = []
    for hour in range(0, 19):
        d = decide(alert, FLAGGED, at(hour), P_REMIND)
        alert = d.state
        reminders += [hour for n in d.notices if n.kind == "reminder"]
    assert reminders == [6, 12, 18]


def test_reminder_at_six_hours_not_at_five_then_six_after_the_previous_one():
    alert = decide(None, FLAGGED, at(0), P_REMIND).state
    assert decide(alert, FLAGGED, at(5), P_REMIND).notices == []
    first = decide(alert, FLAGGED, at(6), P_REMIND)
    assert first.notices == [Notice("reminder")]
    assert decide(first.state, FLAGGED, at(11), P_REMIND).notices == []
    assert decide(first.state, FLAGGED, at(12), P_REMIND).notices == [Notice("reminder")]


def test_no_reminder_while_muted_or_flapping():
    alert = decide(None, FLAGGED, at(0), P_REMIND).state
    muted = mute(alert, ts(100))
    for hour in (6, 12, 50):
        assert decide(muted, FLAGGED, at(hour), P_REMIND).notices == []
    flapping, _ = _flap([FLAGGED, CLEAN] * 2 + [FLAGGED], P_REMIND)
    assert flapping.flapping_since is not None
    assert flapping.notified == FLAGGED and flapping.state == FLAGGED
    for hour in (10, 12, 20):
        assert decide(flapping, FLAGGED, at(hour), P_REMIND).notices == []


def test_a_change_resets_the_reminder_clock():
    alert = decide(None, FLAGGED, at(0), P_REMIND).state
    alert = decide(alert, FLAGGED, at(6), P_REMIND).state
    assert alert.reminded_at == ts(6)
    alert = decide(alert, CLEAN, at(7), P_REMIND).state
    alert = decide(alert, FLAGGED, at(8), P_REMIND).state
    assert alert.reminded_at is None
    assert decide(alert, FLAGGED, at(13), P_REMIND).notices == []
    assert decide(alert, FLAGGED, at(14), P_REMIND).notices == [Notice("reminder")]


def test_cleared_carries_when_the_number_became_flagged():
    alert = decide(None, CLEAN, at(0), P).state
    alert = decide(alert, FLAGGED, at(2), P).state
    alert = decide(alert, FLAGGED, at(5), P).state
    d = decide(alert, CLEAN, at(10), P)
    assert d.notices == [Notice("cleared", flagged_since=ts(2))]
    flagged_for = at(10) - parse_iso(d.notices[0].flagged_since)
    assert flagged_for == timedelta(hours=8)


def test_flagged_notices_carry_no_flagged_since():
    d = decide(NumberAlert(state=CLEAN, since=ts(0)), FLAGGED, at(2), P)
    assert d.notices == [Notice("flagged")]


def test_a_cleared_held_by_mute_and_told_after_carries_flagged_since():
    alert = decide(None, FLAGGED, at(2), P).state
    held = decide(mute(alert, ts(100)), CLEAN, at(10), P)
    assert held.notices[0].flagged_since == ts(2)
    told = unmute(held.state, at(12), P)
    assert told.notices == [Notice("cleared", after="mute", flagged_since=ts(2))]


# -- found by these tests, then fixed: late "flagged for", no reminder on unmute --


def test_a_late_cleared_after_a_late_flagged_carries_when_the_number_became_flagged():
    held = decide(mute(None, ts(5)), FLAGGED, at(1), P)  # flagged at 1, held by the mute
    told = decide(held.state, FLAGGED, at(6), P)  # the mute ends: "flagged" after mute
    assert told.notices == [Notice("flagged", after="mute")]
    again = decide(mute(told.state, ts(20)), CLEAN, at(8), P)
    assert again.notices == [Notice("cleared", held="muted", flagged_since=ts(1))]
    late = unmute(again.state, at(10), P)
    assert late.notices == [Notice("cleared", after="mute", flagged_since=ts(1))]


@pytest.mark.parametrize("how", ["unmute", "expiry"])
def test_ending_a_mute_with_the_state_unchanged_sends_nothing_even_with_reminders(how):
    alert = decide(None, FLAGGED, at(0), P_REMIND).state
    muted = mute(alert, ts(20))
    assert decide(muted, FLAGGED, at(10), P_REMIND).notices == []
    if how == "unmute":
        d = unmute(muted, at(10), P_REMIND)
    else:
        d = decide(muted, FLAGGED, at(21), P_REMIND)
    assert d.notices == []


# -- source_notice: one case per row ---------------------------------------------------

SOURCE_ROWS = [
    # failing before, fleet, failing_after, expected
    pytest.param(
        False,
        FleetHealth(worst_error_streak=3, failing=1, last_error="boom"),
        3,
        "source_failing",
        id="ok+failed-failing_after-in-a-row->source_failing",
    ),
    pytest.param(
        False, FleetHealth(stale=1), 3, "source_failing", id="ok+some-stale->source_failing"
    ),
    pytest.param(
        False,
        FleetHealth(worst_error_streak=2, failing=2),
        3,
        None,
        id="ok+otherwise(fewer-errors-in-a-row)->none",
    ),
    pytest.param(False, FleetHealth(), 3, None, id="ok+otherwise(all-current)->none"),
    pytest.param(
        True, FleetHealth(), 3, "source_recovered", id="failing+none-failing-none-stale->recovered"
    ),
    pytest.param(
        True,
        FleetHealth(worst_error_streak=1, failing=1),
        3,
        None,
        id="failing+otherwise(one-failing)->none",
    ),
    pytest.param(True, FleetHealth(stale=1), 3, None, id="failing+otherwise(one-stale)->none"),
]


@pytest.mark.parametrize(("before", "fleet", "failing_after", "expected"), SOURCE_ROWS)
def test_source_notice_truth_table(before, fleet, failing_after, expected):
    assert source_notice(before, fleet, failing_after) == expected


def fleet_of(states: Iterable[SourceState], stale_before: str = "") -> FleetHealth:
    """What ``store.fleet_health`` computes, over in-memory states."""
    states = list(states)
    return FleetHealth(
        worst_error_streak=max((s.error_streak for s in states), default=0),
        failing=sum(
            1
            for s in states
            if s.last_failure is not None
            and (s.last_success is None or s.last_failure >= s.last_success)
        ),
        stale=sum(
            1 for s in states if s.last_success is not None and s.last_success < stale_before
        ),
    )


def test_source_failing_then_half_recovered_then_recovered():
    a = advance(None, "clean", ts(0))
    b = advance(None, "clean", ts(0))
    failing = False
    seen = []

    def run(hour: float) -> None:
        nonlocal failing
        kind = source_notice(failing, fleet_of([a, b]), failing_after=3)
        if kind is not None:
            failing = kind == "source_failing"
        seen.append((hour, kind))

    for hour in (1, 2, 3):
        a = advance(a, "error", ts(hour), error="timeout")
        b = advance(b, "clean", ts(hour))
        run(hour)
    assert seen == [(1, None), (2, None), (3, "source_failing")]
    a = advance(a, "clean", ts(4))  # a recovers, b fails now
    b = advance(b, "error", ts(4), error="timeout")
    run(4)
    assert seen[-1] == (4, None)
    b = advance(b, "clean", ts(5))
    run(5)
    assert seen[-1] == (5, "source_recovered")
    run(6)
    assert seen[-1] == (6, None)


def test_a_stale_number_fails_the_source_until_it_is_current():
    a = advance(None, "clean", ts(0))
    assert source_notice(False, fleet_of([a], stale_before=ts(1)), 3) == "source_failing"
    a = advance(a, "clean", ts(2))
    assert source_notice(True, fleet_of([a], stale_before=ts(1)), 3) == "source_recovered"


# -- properties ------------------------------------------------------------------------

VERDICTS = st.sampled_from(["flagged", "clean", "unknown", "error"])


@settings(max_examples=300, deadline=None)
@given(
    verdicts=st.lists(VERDICTS, max_size=30),
    confirm_after=st.integers(1, 4),
    recover_after=st.integers(1, 4),
)
def test_confirm_is_idempotent(verdicts, confirm_after, recover_after):
    h = Hysteresis(confirm_after, recover_after)
    state: SourceState | None = None
    confirmed: Confirmed | None = None
    for i, verdict in enumerate(verdicts):
        state = advance(state, verdict, ts(i), error="x" if verdict == "error" else None)
        before = confirmed
        confirmed, changed = confirm(confirmed, state, h)
        assert confirm(confirmed, state, h) == (confirmed, False)
        if verdict in ("error", "unknown"):
            assert not changed
            assert confirmed == (before or Confirmed())
        assert confirmed.state in (None, FLAGGED, CLEAN)


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["state", "mute", "unmute"]),
        st.sampled_from([FLAGGED, CLEAN, None]),
        st.integers(1, 30),  # hours since the previous step
        st.integers(1, 40),  # a mute's length in hours
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(steps=STEPS, renotify=st.sampled_from([None, 6]), flap_max=st.integers(1, 4))
def test_decide_twice_with_the_same_inputs_tells_nothing_the_second_time(steps, renotify, flap_max):
    p = Policy(
        flap_max=flap_max,
        flap_window=timedelta(hours=24),
        renotify_after=timedelta(hours=renotify) if renotify else None,
    )
    alert: NumberAlert | None = None
    hour = 0
    for op, state, gap, length in steps:
        hour += gap
        now = at(hour)
        if op == "mute":
            alert = mute(alert, ts(hour + length))
            continue
        if op == "unmute":
            d = unmute(alert, now, p)
            assert unmute(d.state, now, p).notices == []
            if alert is None or alert.muted_until is None:  # nothing to lift: no evaluation
                assert d.notices == []
                assert d.state == (alert or NumberAlert())
                continue
            again = decide(d.state, d.state.state, now, p)
        else:
            d = decide(alert, state, now, p)
            again = decide(d.state, state, now, p)
        assert again.notices == []
        assert again.state == d.state
        assert len([n for n in d.notices if n.kind == "flapping"]) <= 1
        alert = d.state
