"""Retention: what ``retention_days`` removes, when, and what it never touches.

- ``cutoff_day`` (pure): whole UTC days, the boundary day kept from 00:00:00;
- ``prune``: exactly the old history, sightings, flips (with their deliveries) and
  runs (with their per-source rows) go; history rows the current state points at are
  kept however old; accounts, numbers, current state, alert state and the audit log
  are untouched;
- ``cidrep prune [--dry-run] [--json]`` and the prune at the end of every check
  (audited only when it removed something);
- the config rule: ``retention_days`` may not be shorter than an enabled complaint
  source's flag window;
- a real-size FTC file: records about numbers that are not monitored are never stored.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clitools import cli_invoker

from cidrep.config import load_config
from cidrep.plugins import get_channels, get_checkers, reset_cache
from cidrep.privacy.retention import DEFAULT_DAYS, cutoff_day, prune
from cidrep.runner.engine import CheckOptions
from cidrep.store import open_db
from cidrep.store import retention as retention_store
from cidrep.store.audit import entries
from cidrep.store.numbers import NumberEntry, add_numbers

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
BEFORE = date(2025, 10, 19)  # cutoff_day(NOW, 400)
A, B, C, D = "+12025550101", "+12025550102", "+12025550103", "+12025550104"
FAKE = "fake_sources"
# What the seeded database loses to a 400-day prune at NOW (see ``seed``).
EXPECTED = {"observations": 2, "sightings": 3, "flips": 2, "deliveries": 3, "runs": 2}
# Tables retention never ages out (it may only add its audit entry and mark).
UNTOUCHED = (
    "accounts",
    "numbers",
    "source_state",
    "alert_numbers",
    "alert_sources",
    "alert_sources_health",
    "channel_state",
    "account_channels",
    "alert_marks",
    "feeds",
    "feed_items",
)


# --- cutoff_day: the truth table ------------------------------------------------


@pytest.mark.parametrize(
    ("now", "days", "first_kept"),
    [
        # the docstring's rows
        (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), 400, "2025-10-19"),
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), 400, "2025-10-19"),
        (datetime(2026, 11, 23, 23, 59, tzinfo=UTC), 1, "2026-11-22"),
        # the hour never matters: the last second of the day gives the same day
        (datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC), 400, "2025-10-19"),
        (datetime(2026, 11, 23, 0, 0, 0, tzinfo=UTC), 1, "2026-11-22"),
        # the documented default, and calendar edges
        (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), DEFAULT_DAYS, "2025-10-19"),
        (datetime(2024, 3, 1, 12, 0, tzinfo=UTC), 1, "2024-02-29"),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), 31, "2025-12-01"),
        (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), 36500, "1926-12-18"),
    ],
)
def test_cutoff_day_truth_table(now: datetime, days: int, first_kept: str):
    assert cutoff_day(now, days) == first_kept


def test_cutoff_day_is_the_utc_day_for_any_aware_now():
    from datetime import timezone

    # 01:00 at UTC+5 is 20:00 UTC the day before
    now = datetime(2026, 11, 23, 1, 0, tzinfo=timezone(timedelta(hours=5)))
    assert cutoff_day(now, 400) == cutoff_day(now.astimezone(UTC), 400) == "2025-10-18"
    # 22:00 at UTC-5 is 03:00 UTC the day after
    later = datetime(2026, 11, 23, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert cutoff_day(later, 400) == cutoff_day(later.astimezone(UTC), 400) == "2025-10-20"


def test_default_retention_is_400_days(tmp_path):
    assert DEFAULT_DAYS == 400
    settings = load_config(tmp_path / "config.toml", get_checkers()).settings
    assert settings.retention_days == 400


@pytest.mark.parametrize(
    ("stored", "kept"),
    [
        ("2025-10-18T23:59:59Z", False),  # the last second of the day before: removed
        ("2025-10-19T00:00:00Z", True),  # 00:00:00 of the first kept day: kept
        ("2025-10-19T23:59:59Z", True),
        ("2025-10-18", False),  # date-only (sightings.occurred_at): the day before
        ("2025-10-19", True),  # date-only: the first kept day
        ("2024-02-29T12:00:00Z", False),
        ("2026-11-23T09:59:59Z", True),
    ],
)
def test_a_rows_fate_at_the_boundary(tmp_path, stored: str, kept: bool):
    """The same stored text in every aged table: kept exactly from 00:00:00 of the
    first kept day, whether it is a timestamp or a bare date."""
    db = open_db(tmp_path / "b.db")
    add_numbers(db, 1, [NumberEntry(A)], stored)
    conn = db.conn
    conn.execute("INSERT INTO runs (started_at) VALUES (?)", [stored])
    conn.execute(
        "INSERT INTO sightings (number_id, source, key, occurred_at) VALUES (1, 'ftc', 'k', ?)",
        [stored],
    )
    conn.execute(
        "INSERT INTO flips (key, at, kind, number_id) VALUES ('f', ?, 'flagged', 1)", [stored]
    )
    conn.execute(
        """INSERT INTO observations (number_id, source, verdict, fingerprint, first_seen,
           last_seen) VALUES (1, 'fake', 'clean', 'x', ?, ?)""",
        [stored, stored],
    )
    conn.commit()
    gone = 0 if kept else 1
    before = cutoff_day(NOW, 400)
    assert before == BEFORE.isoformat()
    expected = {"observations": gone, "sightings": gone, "flips": gone, "runs": gone}
    assert retention_store.expired(db, before) == {**expected, "deliveries": 0}
    assert prune(db, 400, NOW).counts == {**expected, "deliveries": 0}
    left = {t: count(db, t) for t in ("observations", "sightings", "flips", "runs")}
    assert left == dict.fromkeys(left, 1 - gone)


# --- the seeded database ----------------------------------------------------------


def count(db: Any, table: str) -> int:
    return db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def ids(db: Any, table: str, column: str = "id") -> set[Any]:
    return {r[0] for r in db.conn.execute(f"SELECT {column} FROM {table}")}


def snapshot(db: Any, tables: tuple[str, ...] | None = None) -> dict[str, list[tuple]]:
    """Every row of every table (or of ``tables``), for before/after comparisons."""
    names = tables or tuple(
        r[0]
        for r in db.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    )
    return {
        name: sorted(map(tuple, db.conn.execute(f"SELECT * FROM {name}")), key=repr)
        for name in names
    }


def seed(db: Any, before: date) -> dict[str, Any]:
    """Aged rows around the cutoff ``before`` (the first day kept), in every table.

    Removed by a prune whose first kept day is ``before``: 2 history rows, 3 sightings,
    2 flips with 3 deliveries, 2 runs (with their per-source rows). Everything else,
    including old history rows the current state points at, is kept.
    """
    old = f"{before - timedelta(days=1)}T23:59:59Z"  # the last second before: removed
    edge = f"{before}T00:00:00Z"  # the first second kept
    ancient = f"{before - timedelta(days=500)}T06:00:00Z"
    recent = f"{before + timedelta(days=390)}T08:00:00Z"
    conn = db.conn
    conn.execute(
        "INSERT INTO accounts (name, email, created_at) VALUES ('acme', 'ops@acme.test', ?)",
        [ancient],
    )
    add_numbers(db, 1, [NumberEntry(A), NumberEntry(B)], ancient)
    add_numbers(db, 2, [NumberEntry(C)], ancient)
    a, b, c = (
        conn.execute("SELECT id FROM numbers WHERE e164 = ?", [n]).fetchone()[0] for n in (A, B, C)
    )

    def run(started: str) -> int:
        run_id = conn.execute(
            "INSERT INTO runs (started_at, finished_at) VALUES (?, ?)", [started, started]
        ).lastrowid
        conn.execute(
            "INSERT INTO run_sources (run_id, source, status) VALUES (?, 'fake', 'ok')", [run_id]
        )
        return run_id

    runs = {"ancient": run(ancient), "old": run(old), "edge": run(edge), "recent": run(recent)}

    def obs(number: int, source: str, first: str, last: str, verdict: str = "clean") -> int:
        return conn.execute(
            """INSERT INTO observations (number_id, source, verdict, fingerprint, first_seen,
               last_seen, first_run_id, last_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [number, source, verdict, f"fp-{last}", first, last, runs["ancient"], runs["old"]],
        ).lastrowid

    o = {
        "a_verdict": obs(a, "fake", ancient, ancient, "flagged"),  # verdict_obs_id: kept
        "a_gone": obs(a, "fake", ancient, old),  # nobody points at it: removed
        "a_edge": obs(a, "fake", edge, edge),  # boundary: kept
        "a_now": obs(a, "fake", recent, recent, "flagged"),  # obs_id: kept
        "c_verdict": obs(c, "fake", ancient, ancient, "flagged"),  # verdict_obs_id only
        "c_current": obs(c, "fake", old, old, "flagged"),  # obs_id only, old: kept
        "b_gone": obs(b, "ftc", ancient, ancient),  # removed
        "b_now": obs(b, "ftc", recent, recent),
    }
    state = """INSERT INTO source_state (number_id, source, verdict, since, streak,
               verdict_obs_id, obs_id, fingerprint, last_checked, last_success, checks)
               VALUES (?, ?, ?, ?, 1, ?, ?, 'fp', ?, ?, 3)"""
    conn.execute(state, [a, "fake", "flagged", ancient, o["a_verdict"], o["a_now"], recent, recent])
    conn.execute(state, [c, "fake", "flagged", ancient, o["c_verdict"], o["c_current"], old, old])
    conn.execute(state, [b, "ftc", "clean", recent, o["b_now"], o["b_now"], recent, recent])

    def sighting(number: int, key: str, occurred: str) -> int:
        return conn.execute(
            """INSERT INTO sightings (number_id, source, key, occurred_at, detail, run_id)
               VALUES (?, 'ftc', ?, ?, '{}', ?)""",
            [number, key, occurred, runs["old"]],
        ).lastrowid

    s = {
        "day_before": sighting(b, "s1", f"{before - timedelta(days=1)}"),  # removed
        "first_day": sighting(b, "s2", f"{before}"),  # kept
        "ts_before": sighting(b, "s3", old),  # removed
        "ts_first": sighting(b, "s4", edge),  # kept
        "ancient": sighting(c, "s5", ancient[:10]),  # removed
        "recent": sighting(c, "s6", recent[:10]),  # kept
    }

    def flip(key: str, at: str, number: int | None, kind: str = "flagged") -> int:
        return conn.execute(
            """INSERT INTO flips (key, at, run_id, kind, number_id, source, alert)
               VALUES (?, ?, ?, ?, ?, 'fake', '{}')""",
            [key, at, runs["old"], kind, number],
        ).lastrowid

    def delivery(flip_id: int, channel: str, created: str) -> int:
        return conn.execute(
            """INSERT INTO deliveries (flip_id, channel, status, created_at, next_try)
               VALUES (?, ?, 'delivered', ?, ?)""",
            [flip_id, channel, created, created],
        ).lastrowid

    f = {
        "old": flip("k-old", old, a),
        "edge": flip("k-edge", edge, a),
        "notice": flip("k-notice", ancient, None, "source_failing"),
        "recent": flip("k-recent", recent, c),
    }
    d = {
        "old_ops": delivery(f["old"], "ops", old),
        "old_hook": delivery(f["old"], "hook", old),
        "edge": delivery(f["edge"], "ops", edge),
        "notice": delivery(f["notice"], "ops", ancient),
        "recent": delivery(f["recent"], "ops", recent),
    }
    conn.execute(
        """INSERT INTO alert_numbers (number_id, state, since, notified, notified_at, flips,
           flagged_at) VALUES (?, 'flagged', ?, 'flagged', ?, ?, ?)""",
        [a, ancient, ancient, json.dumps([ancient, old]), ancient],
    )
    conn.execute(
        """INSERT INTO alert_sources (number_id, source, state, since)
           VALUES (?, 'fake', 'flagged', ?)""",
        [a, ancient],
    )
    conn.execute(
        "INSERT INTO alert_sources_health (source, failing, since) VALUES ('ftc', 0, ?)", [ancient]
    )
    conn.execute(
        "INSERT INTO channel_state (channel, last_success, last_failure) VALUES ('ops', ?, ?)",
        [old, ancient],
    )
    conn.execute("INSERT INTO account_channels (account_id, channel) VALUES (2, 'ops')")
    conn.execute(
        "INSERT OR REPLACE INTO alert_marks (name, value) VALUES ('evaluated', ?)", [ancient]
    )
    conn.execute(
        "INSERT INTO feeds (source, cursor, last_success_at, updated_at) VALUES ('ftc', ?, ?, ?)",
        [ancient[:10], ancient, ancient],
    )
    conn.execute(
        "INSERT INTO feed_items (source, item, done_at) VALUES ('ftc', ?, ?)",
        [ancient[:10], ancient],
    )
    conn.execute(
        """INSERT INTO audit (ref, at, os_user, action, scope, counts)
           VALUES ('00aa11bb22cc33dd', ?, 'someone', 'export', 'all', '{"numbers": 3}')""",
        [ancient],
    )
    conn.commit()
    return {"runs": runs, "obs": o, "sightings": s, "flips": f, "deliveries": d}


def assert_pruned_exactly(db: Any, made: dict[str, Any], untouched: dict[str, list]) -> None:
    o, s, f, d, r = (made[k] for k in ("obs", "sightings", "flips", "deliveries", "runs"))
    assert ids(db, "observations") == {
        o[k] for k in ("a_verdict", "a_edge", "a_now", "c_verdict", "c_current", "b_now")
    }
    assert ids(db, "sightings") == {s[k] for k in ("first_day", "ts_first", "recent")}
    assert ids(db, "flips") == {f["edge"], f["recent"]}
    assert ids(db, "deliveries") == {d["edge"], d["recent"]}  # cascaded with their flips
    assert ids(db, "runs") == {r["edge"], r["recent"]}
    assert ids(db, "run_sources", "run_id") == {r["edge"], r["recent"]}  # cascaded
    # every row the current state points at is still there
    pointed = db.conn.execute(
        """SELECT count(*) FROM source_state s WHERE NOT EXISTS (
               SELECT 1 FROM observations o WHERE o.id = s.obs_id)
           OR NOT EXISTS (SELECT 1 FROM observations o WHERE o.id = s.verdict_obs_id)"""
    ).fetchone()[0]
    assert pointed == 0
    assert snapshot(db, UNTOUCHED) == untouched


def test_prune_removes_exactly_the_old_rows_and_keeps_the_current_state(tmp_path):
    db = open_db(tmp_path / "r.db")
    made = seed(db, BEFORE)
    untouched = snapshot(db, UNTOUCHED)
    audit_before = list(entries(db))
    everything = snapshot(db)

    dry = prune(db, 400, NOW, dry_run=True)
    assert dry.before == "2025-10-19" and dry.dry_run
    assert dry.counts == EXPECTED and dry.audit_ref is None
    assert snapshot(db) == everything  # a dry run changes nothing at all

    done = prune(db, 400, NOW)
    assert done.counts == EXPECTED and done.removed == sum(EXPECTED.values())
    assert_pruned_exactly(db, made, untouched)
    log = list(entries(db))
    assert log[:-1] == audit_before  # the old audit entry is never aged out
    entry = log[-1]
    assert entry["ref"] == done.audit_ref
    assert (entry["action"], entry["scope"], entry["refs"]) == ("prune", "retention", [])
    assert entry["counts"] == EXPECTED and entry["at"] == "2026-11-23T10:00:00Z"
    assert entry["detail"] == {"before": "2025-10-19", "retention_days": 400, "by": "prune"}
    assert retention_store.last_prune(db) == "2026-11-23T10:00:00Z"
    assert done.compacted is not None  # `cidrep prune` compacts the file too

    again = prune(db, 400, NOW + timedelta(hours=1))
    assert again.removed == 0 and again.audit_ref is not None  # explicit: always logged
    assert snapshot(db, UNTOUCHED) == untouched


def test_a_longer_retention_keeps_more(tmp_path):
    db = open_db(tmp_path / "r.db")
    seed(db, BEFORE)
    # one day longer: the rows of the day before the cutoff stay too
    assert prune(db, 401, NOW, dry_run=True).counts == {
        "observations": 1,  # only the ancient one (b_gone)
        "sightings": 1,
        "flips": 1,
        "deliveries": 1,
        "runs": 1,
    }


# --- the prune at the end of every check ---------------------------------------


def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", FAKE)
    reset_cache()
    db = open_db(tmp_path / "check.db")
    add_numbers(db, 1, [NumberEntry(A), NumberEntry(B)], "2025-01-01T00:00:00Z")

    def check(flag: list[str], at: datetime):
        from cidrep.check import run_check

        config = tmp_path / "c.toml"
        config.write_text(
            "[sources.fakefeed]\nenabled = false\n"
            f"[sources.fake]\nflag = {json.dumps(flag)}\nconfirm_after = 1\nrecover_after = 1\n"
        )
        settings = load_config(config, get_checkers()).settings
        options = CheckOptions(now=at, force=True)
        return run_check(db, settings, get_checkers(), options, get_channels())

    return db, check


def test_check_prunes_at_its_end_and_audits_only_when_it_removed_something(tmp_path, monkeypatch):
    db, check = fake_env(tmp_path, monkeypatch)
    t_old = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    first = check([A], t_old)
    assert first.pruned.removed == 0 and first.pruned.audit_ref is None
    assert list(entries(db)) == []  # a check that removed nothing leaves no entry
    assert retention_store.last_prune(db) == "2025-06-01T09:00:00Z"  # but it did run
    old_run = first.result.run_id
    old_flips = ids(db, "flips")
    a_id = db.conn.execute("SELECT id FROM numbers WHERE e164 = ?", [A]).fetchone()[0]
    a_flagged_row = db.conn.execute(
        "SELECT id FROM observations WHERE number_id = ?", [a_id]
    ).fetchone()[0]
    assert old_flips

    # 540 days later A is clean: its flagged row is history now, and old
    second = check([], NOW)
    assert second.pruned.counts["runs"] == 1 and second.pruned.counts["observations"] == 1
    assert second.pruned.counts["flips"] == len(old_flips)
    assert old_run not in ids(db, "runs") and not (old_flips & ids(db, "flips"))
    assert a_flagged_row not in ids(db, "observations")
    # B's row was extended (run-length) and both numbers keep their current state
    assert count(db, "source_state") == 2 and count(db, "observations") == 2
    assert count(db, "alert_numbers") == 2
    (entry,) = list(entries(db))
    assert (entry["action"], entry["scope"]) == ("prune", "retention")
    assert entry["counts"] == second.pruned.counts
    assert entry["detail"] == {"before": "2025-10-19", "retention_days": 400, "by": "check"}
    assert second.as_dict()["pruned"] == second.pruned.counts
    assert second.pruned.compacted is None  # no VACUUM at every check

    third = check([], NOW + timedelta(hours=1))
    assert third.pruned.removed == 0
    assert len(list(entries(db))) == 1  # nothing removed: no new entry
    assert retention_store.last_prune(db) == "2026-11-23T11:00:00Z"


# --- the CLI ----------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path, monkeypatch):
    return cli_invoker(tmp_path, monkeypatch, FAKE)


FAKE_CONFIG = "[sources.fakefeed]\nenabled = false\n[sources.fake]\n"


def frozen(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    import cidrep.timeutil

    monkeypatch.setattr(cidrep.timeutil, "utcnow", lambda: at)


def seeded_cli_db(tmp_path: Path, before: date) -> tuple[dict[str, Any], dict[str, list]]:
    db = open_db(tmp_path / "cidrep.db")
    made = seed(db, before)
    untouched = snapshot(db, UNTOUCHED)
    db.close()
    return made, untouched


def test_prune_dry_run_says_what_would_go_and_changes_nothing(cli, tmp_path, monkeypatch):
    seeded_cli_db(tmp_path, BEFORE)
    frozen(monkeypatch, NOW)
    cli("numbers", "list", config_text=FAKE_CONFIG)  # opens the DB once (no migration left)
    db = open_db(tmp_path / "cidrep.db")
    everything = snapshot(db)
    db.close()
    result = cli("prune", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "would remove 2 runs, 2 history rows, 3 sightings, 2 flips, 3 deliveries "
        "dated before 2025-10-19 (retention_days = 400)\n"
    )
    as_json = json.loads(cli("prune", "--dry-run", "--json").stdout)
    assert as_json == {"before": "2025-10-19", "counts": EXPECTED, "dry_run": True, "audit": None}
    db = open_db(tmp_path / "cidrep.db")
    assert snapshot(db) == everything
    assert retention_store.last_prune(db) is None


def test_prune_says_what_it_removed_and_records_it(cli, tmp_path, monkeypatch):
    made, untouched = seeded_cli_db(tmp_path, BEFORE)
    frozen(monkeypatch, NOW)
    result = cli("prune", config_text=FAKE_CONFIG)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "removed 2 runs, 2 history rows, 3 sightings, 2 flips, 3 deliveries "
        "dated before 2025-10-19 (retention_days = 400)\n"
    )
    db = open_db(tmp_path / "cidrep.db")
    assert_pruned_exactly(db, made, untouched)
    entry = list(entries(db))[-1]
    assert (entry["action"], entry["scope"], entry["counts"]) == ("prune", "retention", EXPECTED)
    assert entry["at"] == "2026-11-23T10:00:00Z" and entry["os_user"]
    db.close()

    audit = json.loads(cli("audit", "--json").stdout)
    assert [e["action"] for e in audit] == ["export", "prune"]  # the seeded entry, then ours
    again = cli("prune", "--json")
    shape = json.loads(again.stdout)
    assert set(shape) == {"before", "counts", "dry_run", "audit"}
    assert shape["counts"] == dict.fromkeys(EXPECTED, 0) and shape["dry_run"] is False
    assert shape["audit"] == json.loads(cli("audit", "--json").stdout)[-1]["ref"]
    assert cli("prune").stdout.startswith("removed nothing dated before 2025-10-19")


def test_prune_follows_retention_days_from_the_config(cli, tmp_path, monkeypatch):
    seeded_cli_db(tmp_path, BEFORE)
    frozen(monkeypatch, NOW)
    result = cli("prune", "--dry-run", config_text="retention_days = 401\n" + FAKE_CONFIG)
    assert result.stdout == (
        "would remove 1 run, 1 history row, 1 sighting, 1 flip, 1 delivery "
        "dated before 2025-10-18 (retention_days = 401)\n"
    )


def test_cidrep_check_prunes_with_the_real_clock_and_audits_only_removals(cli, tmp_path):
    from cidrep.timeutil import utcnow

    before = date.fromisoformat(cutoff_day(utcnow(), 400))
    made, _ = seeded_cli_db(tmp_path, before)
    # only a fresh number is checked, so the seeded state stays as it was
    assert cli("numbers", "add", D, config_text=FAKE_CONFIG).exit_code == 0
    first = cli("check", "--number", D, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["pruned"] == EXPECTED
    db = open_db(tmp_path / "cidrep.db")
    assert not ({made["flips"]["old"], made["flips"]["notice"]} & ids(db, "flips"))
    assert made["obs"]["a_verdict"] in ids(db, "observations")  # pointed at: kept
    log = list(entries(db))
    assert [(e["action"], e["detail"].get("by")) for e in log] == [
        ("export", None),
        ("prune", "check"),
    ]
    assert log[-1]["counts"] == EXPECTED
    db.close()

    second = cli("check", "--force", "--number", D, "--json")
    assert json.loads(second.stdout)["pruned"] == dict.fromkeys(EXPECTED, 0)
    assert len(json.loads(cli("audit", "--json").stdout)) == 2  # no entry for nothing
    assert "last prune: never" not in cli("privacy").stdout


# --- the config rule ----------------------------------------------------------


@pytest.fixture
def builtin_cli(tmp_path, monkeypatch):
    return cli_invoker(tmp_path, monkeypatch, "cidrep_plugins.ftc,cidrep_plugins.fcc")


def test_retention_shorter_than_a_flag_window_is_a_config_error(builtin_cli, tmp_path):
    mirror = tmp_path / "ftc"
    mirror.mkdir()
    text = f'retention_days = 7\n[sources.fcc]\nenabled = false\n[sources.ftc]\npath = "{mirror}"\n'
    result = builtin_cli("prune", config_text=text)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == (
        f"error: config file {tmp_path / 'config.toml'}: retention_days: must be at least "
        "the 30-day window [sources.ftc] counts over (it is 7): its records would be "
        "deleted before they count"
    )
    assert result.stdout == ""


def test_the_flag_window_itself_is_enough(builtin_cli, tmp_path):
    base = "[sources.fcc]\nenabled = false\n[sources.ftc]\nflag_window_days = 10\n"
    assert (
        builtin_cli("prune", "--dry-run", config_text="retention_days = 10\n" + base).exit_code == 0
    )
    short = builtin_cli("prune", "--dry-run", config_text="retention_days = 9\n" + base)
    assert short.exit_code == 2 and "10-day window [sources.ftc]" in short.stderr


def test_every_enabled_complaint_source_constrains_retention(builtin_cli):
    # ftc off, fcc on (its window is 90 days): fcc is the one named
    text = "retention_days = 30\n[sources.ftc]\nenabled = false\n"
    result = builtin_cli("prune", "--dry-run", config_text=text)
    assert result.exit_code == 2 and "[sources.fcc]" in result.stderr
    assert "retention_days" in result.stderr


def test_the_window_rule_names_the_environment_variable_it_came_from(
    builtin_cli, tmp_path, monkeypatch
):
    mirror = tmp_path / "ftc"
    mirror.mkdir()
    monkeypatch.setenv("CIDREP_RETENTION_DAYS", "5")
    text = f'[sources.fcc]\nenabled = false\n[sources.ftc]\npath = "{mirror}"\n'
    result = builtin_cli("prune", "--dry-run", config_text=text)
    assert result.exit_code == 2 and "[sources.ftc]" in result.stderr
    # as the range check does: "environment variable CIDREP_RETENTION_DAYS: ..."
    assert result.stderr == (
        "error: environment variable CIDREP_RETENTION_DAYS: retention_days: must be at "
        "least the 30-day window [sources.ftc] counts over (it is 5): its records would "
        "be deleted before they count\n"
    )
    assert "config file" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("days", ["0", "-1", "36501"])
def test_retention_out_of_range_is_a_config_error(builtin_cli, days):
    text = (
        f"retention_days = {days}\n[sources.fcc]\nenabled = false\n[sources.ftc]\nenabled = false\n"
    )
    result = builtin_cli("prune", "--dry-run", config_text=text)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "retention_days" in result.stderr


def test_a_disabled_source_does_not_constrain_retention(builtin_cli):
    text = "retention_days = 7\n[sources.fcc]\nenabled = false\n[sources.ftc]\nenabled = false\n"
    result = builtin_cli("prune", "--dry-run", config_text=text)
    assert result.exit_code == 0, result.stderr
    assert "(retention_days = 7)" in result.stdout


# --- a real-size FTC file: only monitored numbers are stored -------------------

MONITORED = {"+12025550143": 3, "+13125550110": 1, "+16175550100": 0}
SUBJECTS = ("Imposters", "Other", "Dropped call or no message", "Warranties & protection plans")


def write_day_file(folder: Path, day: date, others: list[str]) -> Path:
    """A real FTC day's size: one row per number in ``others`` plus the complaints about
    the monitored numbers (one written with a leading 1), shuffled, with the real header."""
    from cidrep_plugins.ftc.csvfile import FTC_HEADER

    rng = random.Random(11)
    phones = list(others)
    for number, n in MONITORED.items():
        phones += [number[2:]] * n
    phones[phones.index("2025550143")] = "12025550143"
    rng.shuffle(phones)
    path = folder / f"DNC_Complaint_Numbers_{day.isoformat()}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(FTC_HEADER)
        for phone in phones:
            created = datetime.combine(day - timedelta(days=rng.randint(1, 3)), datetime.min.time())
            created += timedelta(seconds=rng.randint(8 * 3600, 21 * 3600))
            out.writerow(
                [
                    phone,
                    created.strftime("%Y-%m-%d %H:%M:%S"),
                    (created - timedelta(minutes=rng.randint(5, 600))).strftime(
                        "%Y-%m-%d %H:%M:%S"
                    ),
                    "Springfield",
                    "Illinois",
                    "217",
                    rng.choice(SUBJECTS),
                    rng.choice("YN"),
                ]
            )
    return path


def test_a_real_size_feed_stores_nothing_about_unmonitored_numbers(builtin_cli, tmp_path):
    from cidrep.timeutil import utcnow

    rng = random.Random(7)
    monitored_national = {n[2:] for n in MONITORED}
    others: set[str] = set()
    while len(others) < 4_000:
        area = f"{rng.randint(2, 9)}{rng.randint(0, 8)}{rng.randint(0, 9)}"  # NANP: N, 0-8, X
        national = f"{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if national not in monitored_national:
            others.add(national)
    mirror = tmp_path / "ftc"
    mirror.mkdir()
    path = write_day_file(mirror, utcnow().date(), sorted(others))
    assert sum(1 for _ in path.open()) == 1 + 4_000 + 4

    config = f'[sources.fcc]\nenabled = false\n[sources.ftc]\npath = "{mirror}"\n'
    added = builtin_cli("numbers", "add", *MONITORED, config_text=config)
    assert added.exit_code == 0, added.output
    result = builtin_cli("check", "--json")
    assert result.exit_code == 1, result.output  # two monitored numbers flagged
    summary = json.loads(result.stdout)
    ftc = summary["sources"]["ftc"]
    assert ftc["stats"]["rows"] == 4_004 and ftc["stats"]["new_sightings"] == 4

    db = open_db(tmp_path / "cidrep.db")
    stored = db.conn.execute(
        """SELECT n.e164, count(*) FROM sightings s JOIN numbers n ON n.id = s.number_id
           GROUP BY n.e164"""
    ).fetchall()
    assert dict(stored) == {"+12025550143": 3, "+13125550110": 1}
    tables = [
        r[0]
        for r in db.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    sizes = {t: count(db, t) for t in tables}
    assert sizes["numbers"] == 3 and sizes["sightings"] == 4
    assert sizes["observations"] == 3 and sizes["source_state"] == 3
    assert sizes["runs"] == 1 and sizes["feeds"] == 1 and sizes["feed_items"] == 1
    too_big = {t: n for t, n in sizes.items() if n > 12}
    assert too_big == {}, f"a table grew with the feed: {too_big}"
    db.close()

    files = [p for p in tmp_path.iterdir() if p.name.startswith("cidrep.db")]
    data = b"".join(p.read_bytes() for p in files)
    assert b"2025550143" in data and b"+13125550110" in data  # the scan does see numbers
    sample = rng.sample(sorted(others), 200)
    leaked = [n for n in sample if n.encode() in data]
    assert leaked == [], f"{len(leaked)} unmonitored numbers are in the database files"
