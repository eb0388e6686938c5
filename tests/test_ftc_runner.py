"""The FTC feed through the real runner and database: done dates persist between runs,
late files are counted once, a file that fails halfway is read again, big files commit
in bounded chunks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cidrep.config import load_config
from cidrep.errors import ExitCode
from cidrep.plugins import get_checkers
from cidrep.runner.engine import CheckOptions, run_cycle
from cidrep.store import open_db
from cidrep.store import runs as runs_store
from cidrep.store.numbers import NumberEntry, add_numbers
from cidrep_plugins.ftc.checker import CHUNK_SIGHTINGS
from cidrep_plugins.ftc.sample import write_sample

A, B = "+12025550143", "+13125550188"
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # a Monday


def day(n: int):
    return NOW.date() - timedelta(days=n)


@pytest.fixture
def env(tmp_path: Path):
    db = open_db(tmp_path / "t.db")
    add_numbers(db, 1, [NumberEntry(n) for n in (A, B)], "T")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    config = tmp_path / "c.toml"
    config.write_text(
        f'[sources.fcc]\nenabled = false\n[sources.ftc]\npath = "{mirror}"\n'
        "lookback_days = 10\nflag_window_days = 10\n"
    )

    def run(at: datetime = NOW):
        settings = load_config(config, get_checkers()).settings
        return run_cycle(db, settings, get_checkers(), CheckOptions(now=at, force=True))

    def count(number: str | None = None) -> int:
        sql = "SELECT count(*) FROM sightings WHERE source = 'ftc'"
        if number:
            sql += f" AND number_id = (SELECT id FROM numbers WHERE e164 = '{number}')"
        return db.execute(sql).fetchone()[0]

    return db, mirror, run, count


def test_a_late_file_is_read_by_the_next_run_and_counted_once(env):
    db, mirror, run, count = env
    for n in (7, 6, 3, 0):
        write_sample(mirror, day(n), {A: 1}, seed=n)
    assert run().exit_code == ExitCode.FLAGGED
    assert count(A) == 4 and count(B) == 0
    assert runs_store.feed_done(db, "ftc") == {day(n).isoformat() for n in (7, 6, 3, 0)}
    write_sample(mirror, day(5), {A: 2, B: 1}, seed=5)  # published late, before the cursor
    run(NOW + timedelta(hours=6))
    assert count(A) == 6 and count(B) == 1
    run(NOW + timedelta(hours=12))
    assert count(A) == 6 and count(B) == 1
    assert runs_store.feed_state(db, "ftc")["cursor"] == day(0).isoformat()


def test_a_file_that_fails_halfway_is_not_done_and_is_read_again(env):
    db, mirror, run, count = env
    path = write_sample(mirror, day(1), {A: CHUNK_SIGHTINGS + 1_000}, filler_rows=0, junk_rows=0)
    good = path.read_bytes()
    path.write_bytes(good + b'"2025550143,2026-11-21' + b"x" * 1_100_000)  # a stray quote
    failed = run()
    assert failed.exit_code == ExitCode.SOURCE_ERRORS  # a half-read feed gives no verdicts
    ftc = next(s for s in failed.sources if s.source == "ftc")
    assert f"{path.name}, line {CHUNK_SIGHTINGS + 1_002}: a record longer" in ftc.messages[0]
    assert day(1).isoformat() not in runs_store.feed_done(db, "ftc")
    assert 0 < count(A) <= CHUNK_SIGHTINGS + 1_000  # what was committed is kept
    path.write_bytes(good)  # the mirror is repaired
    run(NOW + timedelta(hours=6))
    assert count(A) == CHUNK_SIGHTINGS + 1_000
    assert day(1).isoformat() in runs_store.feed_done(db, "ftc")


def test_a_big_file_is_stored_in_bounded_chunks(env):
    db, mirror, run, count = env
    write_sample(mirror, day(1), {A: 7_000, B: 5_000}, filler_rows=100, seed=2)
    result = run()
    ftc = next(s for s in result.sources if s.source == "ftc")
    assert ftc.stats["files"] == 1 and ftc.stats["matched"] == 12_000
    assert ftc.stats["new_sightings"] == 12_000
    assert count(A) == 7_000 and count(B) == 5_000
    assert runs_store.feed_done(db, "ftc") == {day(1).isoformat()}
