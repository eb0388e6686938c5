"""Lifecycle figures and verdict intervals on constructed histories with known answers.

The histories are run-length rows as ``cidrep.store.reporting.history_rows`` returns
them; every expected figure is worked out by hand in the test. The rules under test
are the docstrings of ``cidrep.reports.timeline`` and ``cidrep.reports.lifecycle``
(README "Lifecycle figures").
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cidrep.config import load_config
from cidrep.errors import ConfigError
from cidrep.plugins import get_checkers
from cidrep.reports.lifecycle import figures, labels, stretches, window
from cidrep.reports.timeline import build_lanes, lane_intervals, timeline
from cidrep.timeutil import iso

D0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def day(n: float) -> datetime:
    return D0 + timedelta(days=n)


def row(
    verdict: str,
    at: datetime,
    *,
    source: str = "ftc",
    carrier: str | None = None,
    label: str | None = None,
    error: str | None = None,
    carriers: dict | None = None,
    last: datetime | None = None,
) -> dict:
    return {
        "id": next(_ids),
        "source": source,
        "carrier": carrier,
        "verdict": verdict,
        "label": label,
        "error": error,
        "first_seen": iso(at),
        "last_seen": iso(last or at),
        "checks": 1,
        "carriers": json.dumps(carriers) if carriers is not None else None,
    }


def life(rows, added=D0, now=NOW, window_days=90, relapse_days=30):
    intervals, _ = build_lanes(rows)
    return figures(intervals, added, now, window_days, relapse_days)


# -- intervals ----------------------------------------------------------------------


def test_a_verdict_holds_until_the_next_real_rows_first_seen_and_the_last_until_now():
    rows = [
        row("clean", day(0), last=day(4)),
        row("flagged", day(5), label="Robocall", last=day(9)),
        row("clean", day(10), last=day(80)),
    ]
    intervals, errors = lane_intervals("ftc", None, rows)
    assert [(i.verdict, i.start, i.end, i.label) for i in intervals] == [
        ("clean", day(0), day(5), None),
        ("flagged", day(5), day(10), "Robocall"),
        ("clean", day(10), None, None),  # holds until now, not until last_seen
    ]
    assert errors == []


def test_an_error_stretch_inside_a_flag_does_not_end_it():
    rows = [
        row("flagged", day(1), label="Scam"),
        row("error", day(3), error="timeout", last=day(4)),
        row("flagged", day(5), label="Scam Likely"),  # another row: the label changed
        row("clean", day(8)),
    ]
    intervals, errors = lane_intervals("ipqs", None, rows)
    assert [(i.verdict, i.start, i.end) for i in intervals] == [
        ("flagged", day(1), day(8)),
        ("clean", day(8), None),
    ]
    assert intervals[0].label == "Scam"  # the label as first shown
    assert [(e.start, e.end, e.error) for e in errors] == [(day(3), day(5), "timeout")]
    result = life(rows, now=day(20))
    assert [(lb.start, lb.end, lb.length(day(20))) for lb in result.labels] == [
        (day(1), day(8), timedelta(days=7))
    ]


def test_errors_before_any_verdict_and_at_the_end_are_error_stretches_only():
    rows = [row("error", day(0), error="refused"), row("clean", day(1)), row("error", day(2))]
    intervals, errors = lane_intervals("twilio", None, rows)
    assert [(i.verdict, i.start, i.end) for i in intervals] == [("clean", day(1), None)]
    assert [(e.start, e.end) for e in errors] == [(day(0), day(1)), (day(2), None)]


def test_rows_are_placed_by_time_not_by_when_they_were_stored():
    late = row("flagged", day(3), source="manual", carrier="T-Mobile", label="Scam Likely")
    first = row("clean", day(1), source="manual", carrier="T-Mobile")
    then = row("clean", day(6), source="manual", carrier="T-Mobile")
    first["id"], then["id"], late["id"] = 1, 2, 3  # the dated sighting came in last
    intervals, _ = lane_intervals("manual", "T-Mobile", [first, then, late])
    assert [(i.verdict, i.start, i.end) for i in intervals] == [
        ("clean", day(1), day(3)),
        ("flagged", day(3), day(6)),
        ("clean", day(6), None),
    ]


def test_two_rows_at_the_same_instant_the_later_one_wins():
    a, b = row("flagged", day(1)), row("clean", day(1))
    intervals, _ = lane_intervals("ftc", None, [a, b])
    assert [(i.verdict, i.start, i.end) for i in intervals] == [("clean", day(1), None)]


def test_unreadable_timestamps_are_left_out_not_fatal():
    bad = row("flagged", day(1))
    bad["first_seen"] = "T1"
    intervals, _ = lane_intervals("ftc", None, [bad, row("clean", day(2))])
    assert [(i.verdict, i.start) for i in intervals] == [("clean", day(2))]


# -- labels, time to clear, relapses ------------------------------------------------------


def test_a_relapse_is_a_label_within_relapse_days_of_the_previous_clear():
    rows = [
        row("clean", day(0)),
        row("flagged", day(10)),
        row("clean", day(15)),  # cleared after 5 days
        row("flagged", day(45)),  # 30 days after the clear: a relapse (inclusive)
        row("clean", day(47)),
        row("flagged", day(77) + timedelta(seconds=1)),  # 30 days + 1 s: not a relapse
        row("clean", day(80)),
    ]
    result = life(rows, relapse_days=30)
    assert [(lb.start, lb.end) for lb in result.labels] == [
        (day(10), day(15)),
        (day(45), day(47)),
        (day(77) + timedelta(seconds=1), day(80)),
    ]
    assert [lb.relapse for lb in result.labels] == [False, True, False]
    assert [lb.gap for lb in result.labels] == [
        None,
        timedelta(days=30),
        timedelta(days=30, seconds=1),
    ]
    assert result.relapses == 1
    assert [lb.length(NOW) for lb in result.labels] == [
        timedelta(days=5),
        timedelta(days=2),
        timedelta(days=3) - timedelta(seconds=1),
    ]
    assert result.to_first_label == timedelta(days=10)
    assert life(rows, relapse_days=29).relapses == 0
    assert life(rows, relapse_days=31).relapses == 2


def test_a_number_that_never_cleared():
    rows = [row("clean", day(0)), row("flagged", day(2), label="Spam Risk")]
    result = life(rows, now=day(12) + timedelta(hours=6))
    [label] = result.labels
    assert label.end is None and result.open
    assert label.length(day(12) + timedelta(hours=6)) == timedelta(days=10, hours=6)
    assert result.to_first_label == timedelta(days=2)
    assert result.relapses == 0


def test_a_number_never_flagged():
    rows = [row("clean", day(0)), row("unknown", day(3)), row("error", day(4))]
    result = life(rows, window_days=30)
    assert result.labels == () and not result.open
    assert result.first_label is None and result.to_first_label is None
    assert (result.window.flagged, result.window.counted, result.window.share) == (0, 30, 0.0)


def test_flags_on_two_carriers_overlapping_are_one_label():
    tm = dict(source="trustcall", carrier="T-Mobile")
    att = dict(source="trustcall", carrier="AT&T")
    both = {"T-Mobile": {"verdict": "flagged"}, "AT&T": {"verdict": "flagged"}}
    rows = [
        row("flagged", day(1), label="Scam Likely", **tm),
        row("clean", day(10), **tm),
        row("clean", day(0), **att),
        row("flagged", day(5), label="Spam Risk", **att),
        row("clean", day(20), **att),
        # the source's sum: flagged because of its carriers; not a label of its own
        row("flagged", day(1), source="trustcall", carriers=both),
        row("clean", day(20), source="trustcall", carriers={}),
    ]
    result = life(rows)
    [label] = result.labels
    assert (label.start, label.end, label.length(NOW)) == (day(1), day(20), timedelta(days=19))
    assert [(s.carrier, s.start, s.end) for s in label.stretches] == [
        ("T-Mobile", day(1), day(10)),
        ("AT&T", day(5), day(20)),
    ]
    # the stretches are the carriers' own: T-Mobile cleared after 9 days, AT&T after 15
    assert [s.length(NOW).days for s in label.stretches] == [9, 15]


def test_a_source_flag_its_carriers_do_not_explain_counts_on_its_own():
    clean_lanes = {"Verizon": {"verdict": "clean"}}
    rows = [
        row("clean", day(0), source="trustcall", carrier="Verizon"),
        row("flagged", day(3), source="trustcall", label="High", carriers=clean_lanes),
        row("clean", day(6), source="trustcall", carriers=clean_lanes),
    ]
    intervals, _ = build_lanes(rows)
    assert [(s.source, s.carrier, s.start, s.end) for s in stretches(intervals)] == [
        ("trustcall", None, day(3), day(6))
    ]


def test_touching_stretches_are_one_label_and_a_gap_makes_two():
    rows = [
        row("flagged", day(1), source="ftc"),
        row("clean", day(4), source="ftc"),
        row("flagged", day(4), source="fcc"),  # starts the instant ftc clears
        row("clean", day(6), source="fcc"),
        row("flagged", day(6) + timedelta(seconds=1), source="ipqs"),
    ]
    result = life(rows)
    assert [(lb.start, lb.end) for lb in result.labels] == [
        (day(1), day(6)),
        (day(6) + timedelta(seconds=1), None),
    ]
    assert result.labels[1].relapse and result.labels[1].gap == timedelta(seconds=1)


def test_a_label_seen_before_the_number_was_added_is_zero_time_to_first_label():
    rows = [row("flagged", day(1), source="manual", carrier="AT&T")]
    assert life(rows, added=day(5)).to_first_label == timedelta(0)


def test_labels_rejects_a_relapse_window_under_one_day():
    with pytest.raises(ValueError):
        labels([], 0)


# -- share of days flagged: the window boundary ---------------------------------------------

# NOW is 2026-03-31 12:00 UTC; a 7-day window is 2026-03-25 .. 2026-03-31 (today counts).
W_FIRST = datetime(2026, 3, 25, tzinfo=UTC)


def share(rows, added=D0, window_days=7):
    return life(rows, added=added, window_days=window_days).window


def test_the_window_is_window_days_utc_days_ending_today():
    w = share([])
    assert (w.first_day, w.last_day, w.counted) == (date(2026, 3, 25), date(2026, 3, 31), 7)


def test_a_label_ending_exactly_at_the_first_midnight_does_not_touch_the_window():
    ends_at_midnight = [row("flagged", day(0)), row("clean", W_FIRST)]
    assert share(ends_at_midnight).flagged == 0
    one_second_more = [row("flagged", day(0)), row("clean", W_FIRST + timedelta(seconds=1))]
    assert share(one_second_more).flagged == 1


def test_a_label_starting_exactly_at_midnight_flags_that_day_not_the_one_before():
    rows = [
        row("flagged", datetime(2026, 3, 27, tzinfo=UTC)),
        row("clean", datetime(2026, 3, 28, tzinfo=UTC)),
    ]
    assert share(rows).flagged == 1  # the 27th only


def test_an_open_label_counts_today():
    rows = [row("clean", day(0)), row("flagged", NOW - timedelta(hours=1))]
    w = share(rows)
    assert (w.flagged, w.counted) == (1, 7)


def test_only_days_since_the_number_was_added_count():
    added = datetime(2026, 3, 28, 15, 0, tzinfo=UTC)  # the 28th counts, from its start
    rows = [row("flagged", day(0)), row("clean", datetime(2026, 3, 29, tzinfo=UTC))]
    w = share(rows, added=added)
    assert (w.counted, w.flagged, w.share) == (4, 1, 0.25)


def test_a_long_label_flags_every_day_and_never_more_than_counted():
    rows = [row("flagged", day(0))]
    w = share(rows, window_days=90)
    assert (w.flagged, w.counted, w.share) == (90, 90, 1.0)
    assert window((), D0, NOW, 1).counted == 1


# -- the timeline -------------------------------------------------------------------------


def test_the_timeline_merges_verdict_changes_and_flips_in_time_order():
    rows = [
        row("clean", day(0), source="ftc"),
        row("flagged", day(2), source="ftc", label="Robocall"),
        row("clean", day(1), source="manual", carrier="T-Mobile"),
        row("flagged", day(3), source="manual", carrier="T-Mobile", label="Scam Likely"),
        # the sum is written when recorded: it repeats the carrier, so it is not shown
        row("flagged", day(9), source="manual", carriers={"T-Mobile": {"verdict": "flagged"}}),
    ]
    flips = [
        {"at": iso(day(2)), "kind": "flagged", "source": None, "old_state": "clean",
         "new_state": "flagged", "held": "muted"},
        {"at": iso(day(2)), "kind": "confirmed", "source": "ftc", "old_state": "clean",
         "new_state": "flagged", "held": None},
    ]  # fmt: skip
    intervals, _ = build_lanes(rows)
    events = [(e.at, e.kind, e.source, e.carrier, e.old, e.new) for e in timeline(intervals, flips)]
    assert events == [
        (day(0), "verdict", "ftc", None, None, "clean"),
        (day(1), "verdict", "manual", "T-Mobile", None, "clean"),
        (day(2), "verdict", "ftc", None, "clean", "flagged"),
        (day(2), "confirmed", "ftc", None, "clean", "flagged"),
        (day(2), "flagged", None, None, "clean", "flagged"),
        (day(3), "verdict", "manual", "T-Mobile", "clean", "flagged"),
    ]


# -- properties of the interval builder -----------------------------------------------------

VERDICTS = st.sampled_from(["clean", "flagged", "unknown", "error"])
LANES = st.sampled_from([("ftc", None), ("trustcall", "T-Mobile"), ("trustcall", "AT&T")])
HISTORY = st.lists(
    st.tuples(LANES, VERDICTS, st.integers(min_value=0, max_value=200 * 24)),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(HISTORY, st.integers(min_value=1, max_value=120), st.integers(min_value=1, max_value=60))
def test_intervals_and_figures_are_consistent(history, window_days, relapse_days):
    rows = [row(v, D0 + timedelta(hours=h), source=s, carrier=c) for (s, c), v, h in history]
    now = D0 + timedelta(days=201)
    intervals, errors = build_lanes(rows)
    by_lane: dict = {}
    for item in intervals:
        by_lane.setdefault(item.lane, []).append(item)
        assert item.verdict != "error"
        assert item.end is None or item.end > item.start
    for items in by_lane.values():
        for a, b in itertools.pairwise(items):
            assert a.end == b.start  # ordered, no overlap, no gap within a lane
        assert items[-1].end is None
    first = min((i.start for i in intervals), default=now)
    flagged = sum(
        ((i.end or now) - i.start for i in intervals if i.verdict == "flagged"), timedelta()
    )
    for lane, items in by_lane.items():
        lane_flagged = sum(
            ((i.end or now) - i.start for i in items if i.verdict == "flagged"), timedelta()
        )
        assert lane_flagged <= now - items[0].start, lane
    assert all(e.end is None or e.end > e.start for e in errors)
    result = figures(intervals, D0, now, window_days, relapse_days)
    total = sum((lb.length(now) for lb in result.labels), timedelta())
    assert total <= now - first  # labels never overlap and never exceed elapsed time
    assert total <= flagged
    for a, b in itertools.pairwise(result.labels):
        assert a.end is not None and a.end < b.start
        assert b.relapse == (b.start - a.end <= timedelta(days=relapse_days))
    for label in result.labels:
        for s in label.stretches:
            assert label.start <= s.start
            assert label.end is None or (s.end is not None and s.end <= label.end)
    assert 0 <= result.window.flagged <= result.window.counted <= window_days


# -- the [reports] config section -----------------------------------------------------------


def _config(tmp_path, text: str):
    path = tmp_path / "c.toml"
    path.write_text(text)
    path.chmod(0o600)
    return load_config(path, get_checkers())


def test_relapse_days_defaults_to_30_and_is_validated(tmp_path, monkeypatch):
    assert _config(tmp_path, "").settings.reports.relapse_days == 30
    assert _config(tmp_path, "[reports]\nrelapse_days = 365\n").settings.reports.relapse_days == 365
    for bad in ("0", "366", '"often"'):
        with pytest.raises(ConfigError, match=r"reports\.relapse_days"):
            _config(tmp_path, f"[reports]\nrelapse_days = {bad}\n")
    with pytest.raises(ConfigError, match=r"reports\.relapse_dayz: unknown key"):
        _config(tmp_path, "[reports]\nrelapse_dayz = 3\n")
    monkeypatch.setenv("CIDREP_REPORTS__RELAPSE_DAYS", "7")
    assert _config(tmp_path, "").settings.reports.relapse_days == 7


def test_every_reports_option_is_in_the_example_config_and_readme():
    from cidrep.config import ReportsSettings

    root = Path(__file__).resolve().parent.parent
    example = (root / "config.example.toml").read_text()
    section = example.split("\n[reports]\n", 1)[1].split("\n[", 1)[0]
    readme = (root / "README.md").read_text()
    for option in ReportsSettings.model_fields:
        assert re.search(rf"^# {option} = ", section, re.M), option
        assert f"`{option}`" in readme, option
