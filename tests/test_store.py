"""Migrations from an empty database, and run-length observation history."""

from __future__ import annotations

from cidrep.contract import Observation, Verdict
from cidrep.history import fingerprint, worst
from cidrep.store import open_db
from cidrep.store import state as state_store
from cidrep.store.history import ObservationWriter
from cidrep.store.migrations import migrations
from cidrep.store.numbers import NumberEntry, add_numbers


def test_migrations_from_empty(tmp_path):
    path = tmp_path / "fresh.db"
    db = open_db(path)
    assert {
        "accounts",
        "numbers",
        "observations",
        "sightings",
        "runs",
        "run_sources",
        "feeds",
        "source_state",
        "feed_items",
    } <= set(db.table_names())
    assert [m.name for m in migrations.applied(db)] == [m.name for m in migrations._migrations]
    assert migrations.pending(db) == []
    assert [r["name"] for r in db.query("SELECT name FROM accounts")] == ["default"]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    db.close()
    again = open_db(path)  # re-opening applies nothing twice
    assert len(list(again.query("SELECT * FROM accounts"))) == 1


def test_not_a_database_is_a_clear_error(tmp_path):
    import pytest

    from cidrep.errors import CidrepError

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CidrepError, match=r"cannot use database .*junk\.db"):
        open_db(junk)


def _db_with_number(tmp_path):
    db = open_db(tmp_path / "h.db")
    add_numbers(db, 1, [NumberEntry("+12025550143")], "2026-01-01T00:00:00Z")
    return db, 1


def _write(db, when, obs, run=1, batch=500):
    writer = ObservationWriter(db, run, when, batch_size=batch)
    writer.add([1], "src", obs)
    writer.flush()
    return writer


def test_identical_observations_extend_one_row(tmp_path):
    db, _ = _db_with_number(tmp_path)
    clean = Observation("+12025550143", Verdict.CLEAN, evidence={"complaints": 0})
    for hour in range(24 * 30):  # a month of unchanged hourly checks
        _write(db, f"2026-01-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z", clean)
    rows = list(db.query("SELECT * FROM observations"))
    assert len(rows) == 1
    assert rows[0]["checks"] == 720
    assert rows[0]["first_seen"] == "2026-01-01T00:00:00Z"
    assert rows[0]["last_seen"] == "2026-01-30T23:00:00Z"


def test_a_change_adds_a_row_and_a_return_adds_another(tmp_path):
    db, _ = _db_with_number(tmp_path)
    clean = Observation("+12025550143", Verdict.CLEAN)
    flagged = Observation("+12025550143", Verdict.FLAGGED, label="Spam Likely", score=80)
    for when, obs in [("T1", clean), ("T2", clean), ("T3", flagged), ("T4", clean)]:
        _write(db, when, obs)
    rows = list(db.query("SELECT verdict, first_seen, last_seen, checks FROM observations"))
    assert rows == [
        {"verdict": "clean", "first_seen": "T1", "last_seen": "T2", "checks": 2},
        {"verdict": "flagged", "first_seen": "T3", "last_seen": "T3", "checks": 1},
        {"verdict": "clean", "first_seen": "T4", "last_seen": "T4", "checks": 1},
    ]


def test_evidence_change_is_a_change_but_cost_is_not():
    a = Observation("+1", Verdict.FLAGGED, evidence={"complaints": 1}, cost_units=1)
    b = Observation("+1", Verdict.FLAGGED, evidence={"complaints": 2}, cost_units=1)
    c = Observation("+1", Verdict.FLAGGED, evidence={"complaints": 1}, cost_units=5)
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(a) == fingerprint(c)


def test_writes_are_batched(tmp_path):
    db = open_db(tmp_path / "b.db")
    entries = [NumberEntry(f"+1202555{i:04d}") for i in range(1200)]
    add_numbers(db, 1, entries, "T0")
    writer = ObservationWriter(db, 1, "T1", batch_size=500)
    for i, entry in enumerate(entries, start=1):
        writer.add([i], "src", Observation(entry.e164, Verdict.CLEAN))
    writer.flush()
    assert writer.commits == 3
    assert writer.inserted == 1200
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 1200


def test_deleting_a_number_deletes_its_history(tmp_path):
    db, _ = _db_with_number(tmp_path)
    _write(db, "T1", Observation("+12025550143", Verdict.CLEAN))
    db.execute("DELETE FROM numbers WHERE id = 1")
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 0


def test_current_state_since_ignores_errors_and_evidence_changes(tmp_path):
    db, _ = _db_with_number(tmp_path)
    n = "+12025550143"
    steps = [
        ("T1", Observation(n, Verdict.CLEAN)),
        ("T3", Observation(n, Verdict.FLAGGED, evidence={"complaints": 1})),
        ("T5", Observation.failed(n, "timeout")),
        ("T6", Observation(n, Verdict.FLAGGED, evidence={"complaints": 2})),
        ("T8", Observation.failed(n, "HTTP 503")),
    ]
    for when, obs in steps:
        _write(db, when, obs)
    state = state_store.load(db, "src", [1])[1]
    assert (state.verdict, state.since, state.last_checked) == ("flagged", "T3", "T8")
    assert (state.last_success, state.last_failure, state.last_error) == ("T6", "T8", "HTTP 503")
    assert (state.error_streak, state.streak, state.checks) == (1, 2, 5)
    details = state_store.states_for(db, [1])[1]["src"]
    assert details["evidence"] == '{"complaints": 2}'


def test_worst_verdict_order():
    assert worst(["clean", "unknown"]) == Verdict.CLEAN
    assert worst(["clean", "error"]) == Verdict.ERROR
    assert worst(["error", "flagged", "clean"]) == Verdict.FLAGGED
    assert worst([]) is None


def test_states_for_reads_per_source(tmp_path):
    db, _ = _db_with_number(tmp_path)
    writer = ObservationWriter(db, 1, "T1")
    writer.add([1], "a", Observation("+12025550143", Verdict.FLAGGED, evidence={"n": 1}))
    writer.add([1], "b", Observation("+12025550143", Verdict.CLEAN))
    writer.flush()
    states = state_store.states_for(db, [1])
    assert states[1]["a"]["verdict"] == "flagged"
    assert states[1]["a"]["evidence"] == '{"n": 1}'
    assert states[1]["b"]["verdict"] == "clean"
