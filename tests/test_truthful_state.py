"""What check leaves behind is true: failing and stale sources are visible, the exit code
follows the state of the scope, concurrent edits lose nothing, killed runs are marked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from cidrep.cli import make_app
from cidrep.config import load_config
from cidrep.errors import ExitCode
from cidrep.plugins import get_checkers, reset_cache
from cidrep.runner.engine import CheckOptions, Cycle, run_cycle
from cidrep.store import open_db
from cidrep.store.numbers import NumberEntry, add_numbers

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = datetime.now(UTC).replace(microsecond=0)  # status and report read the real clock


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


A, B = "+12025550101", "+12025550102"
FEED_OK = f'[sources.fake]\nenabled = false\n[sources.fakefeed]\nrecords = ["{A}|2026-11-01"]\n'
FEED_GONE = FEED_OK + "fail = true\n"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", "fake_sources")
    monkeypatch.setenv("CIDREP_DB", str(tmp_path / "t.db"))
    reset_cache()
    db = open_db(tmp_path / "t.db")
    add_numbers(db, 1, [NumberEntry(n) for n in (A, B)], "T")
    config = tmp_path / "config.toml"

    def run(text: str, at: datetime = T0, **options):
        config.write_text(text)
        settings = load_config(config, get_checkers()).settings
        return run_cycle(db, settings, get_checkers(), CheckOptions(now=at, **options))

    def cli(*args: str):
        return CliRunner().invoke(make_app(), list(args), catch_exceptions=False)

    return db, run, cli, config


def test_a_failing_feed_is_visible_in_status_and_report(env):
    _db, run, cli, config = env
    start = NOW - timedelta(hours=2)
    assert run(FEED_OK, at=start).exit_code == ExitCode.FLAGGED
    # the mirror is gone: exit 3 today, and status kept showing the old verdicts unmarked
    failed = run(FEED_GONE, at=start + timedelta(hours=1), force=True)
    assert failed.exit_code == ExitCode.FLAGGED_AND_ERRORS  # A is still flagged, feed failing
    config.write_text(FEED_GONE)
    status = json.loads(cli("status", "--json").output)["numbers"]
    by_number = {item["number"]: item for item in status}
    for number in (A, B):
        item = by_number[number]
        assert item["failing"] == ["fakefeed"], item
        feed = item["sources"]["fakefeed"]
        assert feed["health"] == "failing"
        assert feed["last_error"] == "feed file 2 is corrupt"
        assert feed["last_success"] == _iso(start)
        assert feed["last_failure"] == _iso(start + timedelta(hours=1))
    assert by_number[A]["verdict"] == "flagged"  # the last real verdict is kept
    assert by_number[B]["verdict"] == "clean"  # an error never replaces it
    table = cli("status").output.splitlines()
    assert all("[failing: fakefeed]" in line for line in table[1:3]), table  # A, B
    assert "failing: fakefeed 2" in table[-1], table  # the summary line
    report = cli("report", A).output
    shown = _iso(start).replace("T", " ")[:16]
    assert f"fakefeed: flagged since {shown} UTC  [FAILING]" in report
    failure = _iso(start + timedelta(hours=1)).replace("T", " ")[:16]
    assert f"last failure {failure} UTC, 1 in a row: feed file 2 is corrupt" in report


def test_a_fresh_lookup_does_not_hide_a_stale_feed(env):
    _db, run, cli, config = env
    both = FEED_OK.replace("[sources.fake]\nenabled = false\n", "")
    start = NOW - timedelta(days=3)
    run(both, at=start)  # feed and lookup both succeed
    run(both.replace("[sources.fakefeed]", "[sources.fakefeed]\nenabled = false"), at=NOW)
    # today "LAST CHECKED" showed the lookup's fresh time; now the stale feed is named
    config.write_text(both)
    items = json.loads(cli("status", "--json").output)["numbers"]
    assert [item["stale"] for item in items] == [["fakefeed"], ["fakefeed"]]
    assert all(item["as_of"] == _iso(start) for item in items)  # the oldest success
    assert all(item["sources"]["fake"]["health"] == "ok" for item in items)
    assert "[stale: fakefeed]" in cli("status").output
    report = json.loads(cli("report", A, "--json").output)
    assert (
        report["sources"]["fake"]["last_checked"] != report["sources"]["fakefeed"]["last_checked"]
    )  # LAST CHECKED is per source


def test_exit_code_follows_the_state_not_what_was_due(env):
    _db, run, _cli, _config = env
    lookup = f'[sources.fakefeed]\nenabled = false\n[sources.fake]\nflag = ["{A}"]\n'
    assert run(lookup).exit_code == ExitCode.FLAGGED
    again = run(lookup, at=T0 + timedelta(hours=1))  # nothing due: exited 0 today
    assert again.checks == 0
    assert again.exit_code == ExitCode.FLAGGED
    # scope narrows the state: B alone is clean
    assert run(lookup, at=T0 + timedelta(hours=2), numbers=[B]).exit_code == ExitCode.OK
    clean = "[sources.fakefeed]\nenabled = false\n[sources.fake]\nflag = []\n"
    assert run(clean, at=T0 + timedelta(days=1)).exit_code == ExitCode.OK
    failing = clean + "fail = true\n"
    assert run(failing, at=T0 + timedelta(days=2)).exit_code == ExitCode.SOURCE_ERRORS
    # nothing due an hour later, but the source is still failing for both numbers
    assert run(failing, at=T0 + timedelta(days=2, hours=1)).exit_code == ExitCode.SOURCE_ERRORS


def test_a_stale_or_failing_source_in_scope_is_found(env):
    """The exit code's query: flagged, failing and stale, within the scope only."""
    from cidrep.store import state as state_store

    db, run, _cli, _config = env
    lookup = f'[sources.fakefeed]\nenabled = false\n[sources.fake]\nflag = ["{A}"]\n'
    run(lookup)
    old, recent = "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"
    find = state_store.scope_findings
    assert find(db, {"fake": old}, None, None) == (True, set())
    assert find(db, {"fake": recent}, None, None) == (True, set())  # succeeded at the line
    assert find(db, {"fake": "2026-11-02T09:00:01Z"}, None, None) == (True, {"fake"})  # stale
    assert find(db, {"fake": old}, None, [B]) == (False, set())  # B alone: clean, current
    state_store.fail_scope(db, "fake", "down", "2026-11-02T10:00:00Z", None, [B])
    assert find(db, {"fake": old}, None, [B]) == (False, {"fake"})  # failing
    assert find(db, {"fake": old}, None, [A]) == (True, set())
    assert find(db, {"other": old}, None, None) == (False, set())  # not in scope: nothing


def test_a_killed_run_is_marked_abandoned_on_the_next_start(env):
    db, run, _cli, _config = env
    db.execute("INSERT INTO runs (started_at, status) VALUES ('2026-11-01T00:00:00Z', 'running')")
    db.conn.commit()
    result = run(FEED_OK)
    rows = list(db.query("SELECT id, status, finished_at FROM runs ORDER BY id"))
    assert rows[0]["status"] == "abandoned" and rows[0]["finished_at"] is None
    assert rows[1] == {"id": result.run_id, "status": "finished", "finished_at": result.finished_at}


def test_a_number_removed_during_a_run_keeps_the_other_results(env, monkeypatch):
    db, run, _cli, _config = env
    from fake_sources import FakeLookup

    original = FakeLookup.lookup

    async def remove_b_first(self, numbers, http):
        if B in numbers:  # another process runs `numbers remove B` mid-run
            other = open_db(db.conn.execute("PRAGMA database_list").fetchone()[2])
            other.execute("DELETE FROM numbers WHERE e164 = ?", [B])
            other.conn.commit()
            other.close()
        return await original(self, numbers, http)

    monkeypatch.setattr(FakeLookup, "lookup", remove_b_first)
    result = run(
        f'[sources.fakefeed]\nenabled = false\n[sources.fake]\nflag = ["{A}"]\nbatch = 5\n'
    )
    assert result.exit_code == ExitCode.FLAGGED
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 1
    assert db.execute("SELECT status FROM runs").fetchone()[0] == "finished"


def test_storage_failure_is_one_error_with_its_own_code(env):
    db, _run, _cli, config = env
    add_numbers(db, 1, [NumberEntry(f"+1202555{i:04d}") for i in range(200, 3000)], "T")
    config.write_text(FEED_OK)
    settings = load_config(config, get_checkers()).settings
    used = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {used}")  # the disk is full
    from cidrep.store.database import StorageError

    with pytest.raises(StorageError) as caught:
        import asyncio

        asyncio.run(Cycle(db, settings, get_checkers(), CheckOptions(now=T0)).run())
    assert caught.value.code == ExitCode.STORAGE == 74
    assert "full" in caught.value.message
    db.execute("PRAGMA max_page_count = 1073741823")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 0  # no half write


def test_a_read_only_database_is_a_storage_error_not_a_crash(env):
    db, _run, _cli, config = env
    config.write_text(FEED_OK)
    settings = load_config(config, get_checkers()).settings
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    readonly = open_db(path, readonly=True)  # as a user who may not write the file
    from cidrep.store.database import StorageError

    with pytest.raises(StorageError) as caught:
        import asyncio

        asyncio.run(Cycle(readonly, settings, get_checkers(), CheckOptions(now=T0)).run())
    assert caught.value.code == ExitCode.STORAGE
    assert "readonly" in caught.value.message and "\n" not in caught.value.message


def test_a_full_disk_through_the_cli_is_one_line_and_exit_74(env, monkeypatch):
    db, _run, cli, config = env
    add_numbers(db, 1, [NumberEntry(f"+1202555{i:04d}") for i in range(200, 3000)], "T")
    db.close()
    config.write_text(FEED_OK)
    from cidrep.store import database

    real_open = database.open_db

    def full_disk(path, *args, **kwargs):
        opened = real_open(path, *args, **kwargs)
        used = opened.execute("PRAGMA page_count").fetchone()[0]
        opened.execute(f"PRAGMA max_page_count = {used}")
        return opened

    monkeypatch.setattr("cidrep.store.open_db", full_disk)
    result = cli("check")
    assert result.exit_code == 74, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "full" in errors[0], result.output
    assert "Traceback" not in result.output
