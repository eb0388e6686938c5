"""Current state is read by key, never by scanning history (its cost must not grow with it).

Every SQL statement that the writer, the due selection, ``status`` and ``report`` run
is traced; a statement that reads ``observations`` other than by its primary key
(``id = ?`` or the join on ``verdict_obs_id``) fails the test. On the old code the
writer read ``max(id) ... GROUP BY number_id``, the due test ``EXISTS (... observations
...)`` and status every history row.
"""

from __future__ import annotations

import re
import sqlite3

from typer.testing import CliRunner

from cidrep.cli import make_app
from cidrep.contract import Observation, Verdict
from cidrep.store import open_db
from cidrep.store import runs as runs_store
from cidrep.store.alert_state import CHANGED_EVIDENCE_SQL
from cidrep.store.history import ObservationWriter
from cidrep.store.numbers import NumberEntry, add_numbers

A = "+12025550101"


def _shape(sql: str) -> str:
    """A statement with its literals as ``?`` (the trace shows bound values)."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", " ".join(sql.split()))


def _reads_history(sql: str) -> bool:
    text = " ".join(sql.split())
    if "observations" not in text:
        return False
    if text.startswith("INSERT INTO observations"):
        return False
    if re.search(r"UPDATE observations SET .* WHERE id = \?", text):
        return False
    if _shape(text) == _shape(CHANGED_EVIDENCE_SQL):
        return False  # watched evidence: one index step back (test_cnam_alerts checks the plan)
    if re.fullmatch(
        r"SELECT .* FROM observations INDEXED BY observations_number_source WHERE number_id = 1",
        text,
    ):
        return False  # report NUMBER's timeline: this one number's rows, by index
    for alias in ("s", "c"):  # source_state s / carrier_state c: the verdict row by id
        join = f"LEFT JOIN observations o ON o.id = {alias}.verdict_obs_id"
        if join in text:
            return "observations" in text.replace(join, "")
    return True


def _flipping_history(db, days: int = 200) -> None:
    for day in range(days):
        verdict = Verdict.FLAGGED if day % 2 else Verdict.CLEAN
        writer = ObservationWriter(db, day, f"2026-01-01T00:00:{day:03d}Z")
        writer.add([1], "fcc", Observation(A, verdict))
        writer.flush()


def test_writer_due_status_and_report_never_scan_history(tmp_path, monkeypatch):
    db_path = tmp_path / "h.db"
    monkeypatch.setenv("CIDREP_DB", str(db_path))
    db = open_db(db_path)
    add_numbers(db, 1, [NumberEntry(A)], "T")
    _flipping_history(db)
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 200

    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    writer = ObservationWriter(db, 999, "2026-12-01T00:00:00Z")
    writer.add([1], "fcc", Observation(A, Verdict.CLEAN))
    writer.flush()
    list(runs_store.iter_due(db, "fcc", "2026-11-30T00:00:00Z"))
    runs_store.count_due(db, "fcc", "2026-11-30T00:00:00Z", None, None)
    runs_store.has_unassessed(db, "fcc", None, None)
    db.conn.set_trace_callback(None)
    db.close()
    assert any("source_state" in sql for sql in seen)

    cli_seen: list[str] = []
    original_connect = sqlite3.connect

    def traced(*args, **kwargs):
        conn = original_connect(*args, **kwargs)
        conn.set_trace_callback(cli_seen.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    runner = CliRunner()
    assert runner.invoke(make_app(), ["status", "--json"]).exit_code == 0
    assert runner.invoke(make_app(), ["report", A, "--json"]).exit_code == 0
    assert any("FROM source_state s LEFT JOIN observations" in q for q in cli_seen)
    scans = [sql for sql in seen + cli_seen if _reads_history(sql)]
    assert scans == [], scans
