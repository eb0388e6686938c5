"""The check cycle: due intervals, independence of sources, batching, feeds, secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cidrep.config import load_config
from cidrep.errors import ExitCode
from cidrep.plugins import get_checkers, reset_cache
from cidrep.runner.engine import CheckOptions, run_cycle
from cidrep.store import open_db
from cidrep.store.numbers import NumberEntry, add_account, add_numbers, set_paused

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
A, B, C = "+12025550101", "+12025550102", "+12025550103"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", "fake_sources")
    reset_cache()
    from fake_sources import FakeFeed, FakeLookup

    FakeLookup.calls.clear()
    FakeFeed.pulls.clear()
    db = open_db(tmp_path / "e.db")
    add_numbers(db, 1, [NumberEntry(n) for n in (A, B, C)], "T")

    def run(config: str = "", at: datetime = T0, **options):
        (tmp_path / "c.toml").write_text(config)
        settings = load_config(tmp_path / "c.toml", get_checkers()).settings
        return run_cycle(db, settings, get_checkers(), CheckOptions(now=at, **options))

    return db, run, FakeLookup, FakeFeed


FAKE_ONLY = f'[sources.fakefeed]\nenabled = false\n[sources.fake]\nflag = ["{A}"]\n'


def verdicts(db, source="fake"):
    return {
        r["e164"]: r["verdict"]
        for r in db.query(
            """SELECT n.e164, o.verdict FROM observations o JOIN numbers n ON n.id = o.number_id
               WHERE o.source = ? AND o.id IN (SELECT max(id) FROM observations GROUP BY
               number_id, source)""",
            [source],
        )
    }


def test_lookup_checks_what_is_due_and_respects_the_interval(env):
    db, run, fake, _ = env
    first = run(FAKE_ONLY)
    assert first.exit_code == ExitCode.FLAGGED
    assert verdicts(db) == {A: "flagged", B: "clean", C: "clean"}
    assert [f["number"] for f in first.flagged] == [A]
    assert run(FAKE_ONLY, at=T0 + timedelta(hours=1)).sources[0].status == "idle"
    assert len(fake.calls) == 3
    # a cron job at the same minute next day finds everything due (tolerance)
    again = run(FAKE_ONLY, at=T0 + timedelta(hours=23, minutes=58))
    assert again.sources[0].checks == 3
    forced = run(FAKE_ONLY, at=T0 + timedelta(hours=24), force=True)
    assert forced.sources[0].checks == 3
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 3  # run-length


def test_numbers_scope_paused_and_accounts(env):
    db, run, fake, _ = env
    set_paused(db, [2], "T")
    result = run(FAKE_ONLY, numbers=[A])
    assert fake.calls == [[A]] and result.checks == 1
    acme = add_account(db, "acme", None, "T")
    add_numbers(db, acme["id"], [NumberEntry(A)], "T")
    fake.calls.clear()
    run(FAKE_ONLY, force=True, account_id=acme["id"])
    assert fake.calls == [[A]]
    fake.calls.clear()
    run(FAKE_ONLY, force=True)  # all accounts; B is paused; A is asked once for both rows
    assert sorted(n for call in fake.calls for n in call) == [A, C]
    assert (
        db.execute(
            "SELECT count(DISTINCT number_id) FROM observations WHERE source='fake'"
        ).fetchone()[0]
        == 3
    )


def test_batches_and_streaming(env):
    db, run, fake, _ = env
    add_numbers(db, 1, [NumberEntry(f"+1202555{i:04d}") for i in range(200, 317)], "T")
    result = run(FAKE_ONLY.replace("[sources.fake]", "[sources.fake]\nbatch = 50"))
    assert sorted(len(c) for c in fake.calls) == [20, 50, 50]
    assert result.sources[0].checks == 120


def test_a_failing_source_is_recorded_and_never_stops_the_others(env):
    db, run, _, _ = env
    config = (
        '[sources.fake]\nfail = true\napi_key = "KEY-123456"\n'
        f'[sources.fakefeed]\nrecords = ["{B}|2026-11-01"]\n'
    )
    result = run(config)
    assert result.exit_code == ExitCode.FLAGGED_AND_ERRORS
    fake, feed = result.sources
    assert fake.status == "ran" and fake.errors == 3 and fake.verdicts["error"] == 3
    assert fake.messages == ["fake source refused key ***"]
    assert feed.status == "ran" and feed.verdicts == {
        "clean": 2,
        "flagged": 1,
        "unknown": 0,
        "error": 0,
    }
    assert verdicts(db) == {A: "error", B: "error", C: "error"}
    # errors do not count as fresh: the next run (1h later) retries them
    assert run(config, at=T0 + timedelta(hours=1)).sources[0].checks == 3


def test_secrets_never_reach_the_database(env):
    db, run, _, _ = env
    run('[sources.fake]\nfail = true\napi_key = "KEY-123456"\n')
    dump = "\n".join(db.iterdump())
    assert "KEY-123456" not in dump
    assert "refused key ***" in dump


def test_plugin_crash_and_garbage_become_errors(env):
    _db, run, _, _ = env
    crashed = run("[sources.fake]\ncrash = true\n[sources.fakefeed]\nenabled = false\n")
    assert crashed.exit_code == ExitCode.SOURCE_ERRORS
    assert "internal error in fake checker: RuntimeError('boom')" in crashed.sources[0].messages
    garbage = run(
        "[sources.fake]\ngarbage = true\n[sources.fakefeed]\nenabled = false\n", force=True
    )
    assert garbage.sources[0].verdicts["error"] == 3
    assert "score 250 is not an integer 0-100" in garbage.sources[0].messages[0]


def test_skips_are_not_errors(env):
    _, run, fake, _ = env
    result = run("[sources.fake]\nneeds_key = true\n[sources.fakefeed]\nenabled = false\n")
    assert [(s.status, s.reason) for s in result.sources] == [
        ("skipped", "no api_key configured"),
        ("skipped", "disabled in config"),
    ]
    assert result.exit_code == ExitCode.OK and fake.calls == []


FEED = '[sources.fake]\nenabled = false\n[sources.fakefeed]\ninterval = "6h"\nrecords = [%s]\n'


def test_feed_pulls_when_stale_and_assesses_locally(env):
    db, run, _, feed = env
    config = FEED % f'"{A}|2026-11-01", "{A}|2026-11-02"'
    first = run(config)
    assert feed.pulls[0].backfill is True and feed.pulls[0].cursor is None
    assert feed.pulls[0].targets == frozenset({A, B, C})
    assert verdicts(db, "fakefeed") == {A: "flagged", B: "clean", C: "clean"}
    assert first.sources[1].stats["new_sightings"] == 2
    assert run(config, at=T0 + timedelta(hours=1)).sources[1].status == "idle"
    assert len(feed.pulls) == 1
    run(config, at=T0 + timedelta(hours=6))
    assert feed.pulls[1].cursor == "2" and feed.pulls[1].backfill is False
    # re-reading the same records never counts them twice
    assert db.execute("SELECT count(*) FROM sightings").fetchone()[0] == 2


def test_new_numbers_trigger_a_backfill_pull(env):
    db, run, _, feed = env
    config = FEED % f'"{A}|2026-11-01"'
    run(config)
    add_numbers(db, 1, [NumberEntry("+12025550104")], "T")
    run(config, at=T0 + timedelta(hours=1))
    assert len(feed.pulls) == 2 and feed.pulls[1].backfill is True
    assert "+12025550104" in verdicts(db, "fakefeed")


def test_a_feed_that_fails_midway_keeps_its_progress_but_gives_no_verdicts(env):
    db, run, _, _ = env
    config = FEED.replace("records", "fail = true\nrecords") % f'"{A}|2026-11-01", "{B}|2026-11-02"'
    result = run(config)
    assert result.exit_code == ExitCode.SOURCE_ERRORS
    assert result.sources[1].messages == ["feed file 2 is corrupt"]
    assert verdicts(db, "fakefeed") == {}
    assert db.execute("SELECT cursor, last_success_at FROM feeds").fetchone() == ("1", None)
    assert db.execute("SELECT count(*) FROM sightings").fetchone()[0] == 1


def test_runs_are_recorded_per_source(env):
    db, run, _, _ = env
    result = run(FAKE_ONLY)
    runs = list(db.query("SELECT * FROM runs"))
    assert runs[0]["exit_code"] == 1 and runs[0]["checks"] == 3 and runs[0]["flagged"] == 1
    per_source = {r["source"]: r for r in db.query("SELECT * FROM run_sources")}
    assert per_source["fake"]["clean"] == 2 and per_source["fake"]["flagged"] == 1
    assert per_source["fakefeed"]["status"] == "skipped"
    assert result.as_dict()["sources"]["fake"]["checks"] == 3
