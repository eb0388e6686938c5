"""Current state per (number, source): the transition rule, health, the migration, the writer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

from cidrep.contract import Observation, Verdict
from cidrep.health import Health, health, stale_margin, summarize
from cidrep.history import SourceState, advance, replay
from cidrep.store import open_db
from cidrep.store import state as state_store
from cidrep.store.history import ObservationWriter
from cidrep.store.migrations import m001_initial
from cidrep.store.numbers import NumberEntry, add_numbers

N = "+12025550143"
BASE = SourceState(
    verdict="flagged",
    since="T1",
    streak=3,
    verdict_obs_id=7,
    obs_id=7,
    fingerprint="f7",
    last_checked="T3",
    last_success="T3",
    error_streak=0,
    checks=3,
)

# (previous state, new verdict, expected changes) - one row per line of advance's table
ADVANCE_TABLE = [
    # error: verdict, since, streak unchanged; failure recorded; error_streak + 1
    (
        BASE,
        "error",
        dict(last_failure="T9", last_error="boom", error_streak=1, last_checked="T9", checks=4),
    ),
    (None, "error", dict(last_failure="T9", last_error="boom", error_streak=1, checks=1)),
    # real X after none: verdict X since now, streak 1
    (None, "clean", dict(verdict="clean", since="T9", streak=1, last_success="T9", checks=1)),
    # same X: since unchanged, streak + 1
    (BASE, "flagged", dict(streak=4, last_success="T9", last_checked="T9", checks=4)),
    # Y != X: verdict Y since now, streak 1
    (BASE, "clean", dict(verdict="clean", since="T9", streak=1, last_success="T9", checks=4)),
    # success after errors: error_streak reset, last failure kept
    (
        replace(BASE, last_failure="T5", last_error="old", error_streak=2),
        "flagged",
        dict(streak=4, last_success="T9", error_streak=0, last_failure="T5", checks=4),
    ),
]


@pytest.mark.parametrize(("prev", "verdict", "changes"), ADVANCE_TABLE)
def test_advance_truth_table(prev, verdict, changes):
    error = "boom" if verdict == "error" else None
    got = advance(prev, verdict, "T9", error, obs_id=None, fp=None)
    expected = replace(prev or SourceState(), **{"last_checked": "T9", **changes})
    assert got == expected


def test_advance_records_the_history_row():
    got = advance(BASE, "clean", "T9", obs_id=8, fp="f8")
    assert (got.obs_id, got.fingerprint, got.verdict_obs_id) == (8, "f8", 8)
    failed = advance(BASE, "error", "T9", "x", obs_id=9, fp="f9")
    assert (failed.obs_id, failed.verdict_obs_id) == (9, 7)  # the verdict row stays


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def _iso(delta: timedelta) -> str:
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


HEALTH_TABLE = [
    (None, Health.NEVER),
    (SourceState(), Health.NEVER),
    (SourceState(last_failure=_iso(timedelta(hours=1))), Health.FAILING),
    (
        SourceState(last_success=_iso(timedelta(hours=2)), last_failure=_iso(timedelta(hours=1))),
        Health.FAILING,
    ),
    (SourceState(last_success=_iso(timedelta(hours=1)), last_failure=_iso(DAY)), Health.OK),
    (SourceState(last_success=_iso(timedelta(hours=35, minutes=59))), Health.OK),
    (SourceState(last_success=_iso(timedelta(hours=36))), Health.OK),  # the boundary
    (SourceState(last_success=_iso(timedelta(hours=36, seconds=1))), Health.STALE),
    # failing wins over stale
    (SourceState(last_success=_iso(10 * DAY), last_failure=_iso(9 * DAY)), Health.FAILING),
]


@pytest.mark.parametrize(("state", "expected"), HEALTH_TABLE)
def test_health_truth_table(state, expected):
    assert health(state, DAY, NOW) == expected


def test_stale_margin_is_half_the_interval_at_least_an_hour():
    assert stale_margin(DAY) == timedelta(hours=12)
    assert stale_margin(timedelta(minutes=30)) == timedelta(hours=1)


def test_summarize_names_failing_and_stale_sources():
    ok = SourceState(verdict="clean", last_success="T5")
    flagged_stale = SourceState(verdict="flagged", last_success="T1")
    failing = SourceState(last_failure="T6")
    summary = summarize(
        {
            "fcc": (ok, Health.OK),
            "ftc": (flagged_stale, Health.STALE),
            "x": (failing, Health.FAILING),
        }
    )
    assert summary.verdict == "flagged"
    assert summary.sources == ["ftc"]
    assert summary.failing == ["x"]
    assert summary.stale == ["ftc"]
    assert summary.as_of == "T1"  # the oldest success, not the newest check
    only_failing = summarize({"x": (failing, Health.FAILING)})
    assert only_failing.verdict == "error" and only_failing.sources == ["x"]
    # an error never replaces a real verdict: clean stays clean, marked failing
    clean_failing = SourceState(verdict="clean", last_success="T1", last_failure="T2")
    kept = summarize({"ftc": (clean_failing, Health.FAILING)})
    assert (kept.verdict, kept.sources, kept.failing) == ("clean", ["ftc"], ["ftc"])


def _writer_db(tmp_path, count=1):
    db = open_db(tmp_path / "w.db")
    add_numbers(db, 1, [NumberEntry(f"+1202555{i:04d}") for i in range(count)], "T0")
    return db


def test_replay_of_history_equals_the_state_the_writer_kept(tmp_path):
    db = _writer_db(tmp_path)
    sequence = ["clean", "clean", "error", "flagged", "flagged", "error", "error", "clean"]
    for i, verdict in enumerate(sequence):
        obs = (
            Observation.failed("+12025550000", f"e{i}")
            if verdict == "error"
            else Observation("+12025550000", Verdict(verdict))
        )
        writer = ObservationWriter(db, i, f"T{i}")
        writer.add([1], "src", obs)
        writer.flush()
    kept = state_store.load(db, "src", [1])[1]
    rows = list(db.query("SELECT * FROM observations ORDER BY id"))
    assert replay(rows) == kept


def test_migration_builds_state_from_existing_history(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    first = Migrations("cidrep")
    first()(m001_initial)
    first.apply(old)
    old.execute(
        "INSERT INTO numbers (account_id, e164, created_at) VALUES (1, '+12025550143', 'T0')"
    )
    history = [
        ("clean", None, "T1", "T2", 2),
        ("flagged", None, "T3", "T5", 3),
        ("error", "HTTP 503", "T6", "T7", 2),
    ]
    for i, (verdict, error, first_seen, last_seen, checks) in enumerate(history):
        old.execute(
            """INSERT INTO observations (number_id, source, verdict, error, fingerprint,
               first_seen, last_seen, checks) VALUES (1, 'fcc', ?, ?, ?, ?, ?, ?)""",
            [verdict, error, f"f{i}", first_seen, last_seen, checks],
        )
    old.execute("INSERT INTO runs (started_at) VALUES ('T8')")  # killed, never finished
    old.conn.commit()
    old.close()

    db = open_db(path)  # applies m002
    state = state_store.load(db, "fcc", [1])[1]
    assert (state.verdict, state.since, state.streak) == ("flagged", "T3", 3)
    assert (state.last_success, state.last_failure, state.last_error) == ("T5", "T7", "HTTP 503")
    assert (state.error_streak, state.checks, state.last_checked) == (2, 7, "T7")
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 3
    assert db.execute("SELECT status FROM runs").fetchone()[0] == "abandoned"


def test_writer_drops_results_for_numbers_removed_meanwhile(tmp_path):
    db = _writer_db(tmp_path, count=3)
    writer = ObservationWriter(db, 1, "T1")
    for i in (1, 2, 3):
        writer.add([i], "src", Observation(f"+1202555000{i - 1}", Verdict.CLEAN))
    other = open_db(tmp_path / "w.db")  # another process removes a number mid-run
    other.execute("DELETE FROM numbers WHERE id = 2")
    other.conn.commit()
    writer.flush()  # today: FOREIGN KEY constraint failed, every result lost
    assert writer.dropped == 1
    rows = db.execute("SELECT number_id FROM observations ORDER BY number_id").fetchall()
    assert [r[0] for r in rows] == [1, 3]
    assert sorted(state_store.load(db, "src", [1, 2, 3])) == [1, 3]


def test_writer_commits_by_time_as_well_as_by_count(tmp_path):
    db = _writer_db(tmp_path, count=3)
    now = [0.0]
    writer = ObservationWriter(db, 1, "T1", batch_size=500, clock=lambda: now[0])
    writer.add([1], "src", Observation("+12025550000", Verdict.CLEAN))
    assert writer.commits == 0 and not writer.due()
    now[0] = writer.flush_seconds - 0.01
    writer.add([2], "src", Observation("+12025550001", Verdict.CLEAN))
    assert writer.commits == 0
    now[0] = writer.flush_seconds
    writer.add([3], "src", Observation("+12025550002", Verdict.CLEAN))
    assert writer.commits == 1
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 3


def test_fail_scope_is_the_error_rule_in_sql(tmp_path):
    db = _writer_db(tmp_path, count=2)
    writer = ObservationWriter(db, 1, "T1")
    writer.add([1], "ftc", Observation("+12025550000", Verdict.FLAGGED))
    writer.flush()
    before = state_store.load(db, "ftc", [1])[1]
    marked = state_store.fail_scope(db, "ftc", "mirror gone", "T2", None, None)
    assert marked == 2
    states = state_store.load(db, "ftc", [1, 2])
    assert states[1] == advance(before, "error", "T2", "mirror gone")
    assert states[2] == advance(None, "error", "T2", "mirror gone")
