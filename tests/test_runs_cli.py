"""``cidrep runs``: the recent runs, newest first, from ``runs`` and ``run_sources``.

Runs are written with the run log's own writer (``cidrep.store.runs``: start, one
record per source, finish), with a failed source, a budget that held numbers back,
a skipped source, a run still going and one killed before it finished.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from cidrep.cli import make_app
from cidrep.reports import runs as runs_report
from cidrep.reports.fleet_schema import json_schema
from cidrep.runner.results import SourceResult
from cidrep.store import open_db
from cidrep.store import runs as runs_store
from cidrep.store.numbers import add_account

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _source(name: str, status: str, **kw) -> dict:
    result = SourceResult(name, "lookup", status=status)
    for key, value in kw.items():
        if key in result.verdicts:
            result.verdicts[key] = value
        else:
            setattr(result, key, value)
    return result.as_dict()


@pytest.fixture
def log(tmp_path):
    """Run ids by name: killed (abandoned), nightly, budget (acme), other, going."""
    db = open_db(tmp_path / "cidrep.db")
    add_account(db, "acme", None, "2026-11-01T00:00:00Z")
    add_account(db, "bravo", None, "2026-11-01T00:00:00Z")
    ids = {}
    ids["killed"] = runs_store.start_run(db, "2026-11-20T09:00:00Z", None, False)
    ids["nightly"] = runs_store.start_run(db, "2026-11-21T09:00:00Z", None, False)
    runs_store.record_source(
        db, ids["nightly"], _source("ftc", "ran", checks=4, flagged=1, clean=3)
    )
    runs_store.record_source(
        db,
        ids["nightly"],
        _source("fcc", "failed", errors=1, messages=["HTTP 503 from the FCC API"]),
    )
    totals = {"checks": 4, "flagged": 1, "errors": 1}
    runs_store.finish_run(db, ids["nightly"], "2026-11-21T09:01:05Z", totals, 4)
    ids["budget"] = runs_store.start_run(db, "2026-11-22T09:00:00Z", "acme", True)
    reason = "daily budget of 2 reached (2 spent today): 3 number(s) wait for tomorrow"
    runs_store.record_source(
        db,
        ids["budget"],
        _source(
            "ipqs",
            "ran",
            checks=2,
            clean=2,
            cost_units=2.0,
            reason=reason,
            stats={"budget_held_back": 3, "requests": 2},
        ),
    )
    runs_store.record_source(
        db, ids["budget"], _source("twilio", "skipped", reason="no api_key configured")
    )
    runs_store.finish_run(db, ids["budget"], "2026-11-22T10:02:03Z", {"checks": 2}, 0)
    ids["other"] = runs_store.start_run(db, "2026-11-22T12:00:00Z", "bravo", False)
    runs_store.finish_run(db, ids["other"], "2026-11-22T12:00:04Z", {}, 0)
    ids["going"] = runs_store.start_run(db, "2026-11-23T09:00:00Z", None, False)
    db.close()
    return ids


@pytest.fixture
def cli(log, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)

    def invoke(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(make_app(), list(args), env=env, catch_exceptions=False)

    return invoke


def run_ids(output: str) -> list[int]:
    return [int(line.split()[0]) for line in output.splitlines() if re.match(r"\d+ ", line)]


def test_runs_newest_first_with_what_each_source_did(cli, log):
    result = cli("runs")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "RUN", "STARTED", "(UTC)", "TOOK", "STATUS", "EXIT", "CHECKS", "FLAGGED", "ERRORS",
        "ACCOUNT",
    ]  # fmt: skip
    assert run_ids(result.output) == [
        log["going"],
        log["other"],
        log["budget"],
        log["nightly"],
        log["killed"],
    ]
    by_id = {int(line.split()[0]): line.split() for line in lines if re.match(r"\d+ ", line)}
    assert by_id[log["nightly"]][3:10] == ["1m05s", "finished", "4", "4", "1", "1", "all"]
    assert by_id[log["budget"]][3:10] == ["1h02m", "finished", "0", "2", "0", "0", "acme"]
    assert by_id[log["budget"]][-1] == "(forced)"
    assert by_id[log["going"]][3:6] == ["-", "running", "-"]
    assert by_id[log["killed"]][3:5] == ["-", "abandoned"]
    text = result.output
    assert "    fcc  failed: 0 checks, 1 error (HTTP 503 from the FCC API)" in text
    assert "    ftc  ran: 4 checks, 1 flagged" in text
    assert "    ipqs    ran: 2 checks, 2 cost units, 3 held back by budget" in text
    assert "    twilio  skipped: no api_key configured" in text


def test_limit_and_account(cli, log):
    assert run_ids(cli("runs", "--limit", "2").output) == [log["going"], log["other"]]
    assert run_ids(cli("runs", "-n", "1").output) == [log["going"]]
    scoped = run_ids(cli("--account", "acme", "runs").output)  # its runs and the all-account ones
    assert scoped == [log["going"], log["budget"], log["nightly"], log["killed"]]
    bad = cli("runs", "--limit", "0")
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert cli("runs", "--json", "--csv").exit_code == 2


def test_json_validates_against_the_schema(cli, log):
    committed = json.loads((DOCS / "runs.schema.json").read_text())
    assert committed == json_schema("runs"), "run: python -m cidrep.reports.fleet_schema runs"
    doc = json.loads(cli("runs", "--json").output)
    validator = jsonschema.Draft202012Validator(committed)
    assert [e.message for e in validator.iter_errors(doc)] == []
    assert doc["schema_version"] == 1
    runs = {r["id"]: r for r in doc["runs"]}
    nightly = runs[log["nightly"]]
    assert nightly["duration_seconds"] == 65 and nightly["exit_code"] == 4
    fcc = next(s for s in nightly["sources"] if s["source"] == "fcc")
    assert (fcc["status"], fcc["errors"], fcc["message"]) == (
        "failed",
        1,
        "HTTP 503 from the FCC API",
    )
    ipqs = runs[log["budget"]]["sources"][0]
    assert ipqs["held_back"] == 3 and ipqs["cost_units"] == 2.0
    assert ipqs["reason"].startswith("daily budget of 2 reached")
    assert runs[log["budget"]]["forced"] is True and runs[log["budget"]]["account"] == "acme"
    assert runs[log["going"]]["duration_seconds"] is None
    assert runs[log["going"]]["status"] == "running"


def test_csv_a_row_per_run_and_source(cli, log):
    rows = list(csv.DictReader(io.StringIO(cli("runs", "--csv").output)))
    assert [(int(r["run"]), r["source"]) for r in rows] == [
        (log["going"], ""),
        (log["other"], ""),
        (log["budget"], "ipqs"),
        (log["budget"], "twilio"),
        (log["nightly"], "fcc"),
        (log["nightly"], "ftc"),
        (log["killed"], ""),
    ]
    ipqs = rows[2]
    assert ipqs["held_back"] == "3" and ipqs["source_status"] == "ran" and ipqs["forced"] == "true"
    assert rows[4]["message"] == "HTTP 503 from the FCC API" and rows[4]["exit_code"] == "4"


def test_markdown_shape(cli):
    lines = cli("runs", "--markdown").output.splitlines()
    assert lines[0].startswith("| Run | Started (UTC) | Took | Status |")
    assert re.fullmatch(r"\|(---\|)+", lines[1]) and len(lines) == 2 + 5
    counts = {line.count("|") for line in [lines[0], *lines[2:]]}
    assert counts == {lines[0].count("|")}
    assert "ipqs ran: 2 checks, 2 cost units, 3 held back by budget" in lines[4]


def test_narrow_terminal_cuts_source_lines(cli):
    lines = cli("runs", env={"COLUMNS": "50"}).output.splitlines()
    source_lines = [line for line in lines if line.startswith("    ")]
    assert source_lines and all(len(line) <= 50 for line in source_lines)
    assert any(line.endswith("…") for line in source_lines)


def test_no_runs_yet(tmp_path, monkeypatch):
    monkeypatch.setenv("CIDREP_DB", str(tmp_path / "empty.db"))
    open_db(tmp_path / "empty.db").close()
    result = CliRunner().invoke(make_app(), ["runs"])
    assert result.exit_code == 0 and result.output == "no runs yet; run: cidrep check\n"
    assert json.loads(CliRunner().invoke(make_app(), ["runs", "--json"]).output)["runs"] == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.4, "0s"), (59, "59s"), (65, "1m05s"), (3599, "59m59s"), (3723, "1h02m")],
)
def test_took(seconds, text):
    assert runs_report.took(seconds) == text


def test_source_summary_rules():
    base = {
        "source": "x",
        "status": "ran",
        "reason": None,
        "checks": 1,
        "clean": 1,
        "flagged": 0,
        "unknown": 0,
        "errors": 0,
        "cost_units": 0.0,
        "held_back": 0,
        "message": None,
    }
    assert runs_report.source_summary(base) == "ran: 1 check"
    assert runs_report.source_summary({**base, "status": "idle", "checks": 0}) == (
        "idle: nothing due"
    )
    errors = {**base, "checks": 3, "errors": 2, "message": "timeout", "cost_units": 1.0}
    assert runs_report.source_summary(errors) == (
        "ran: 3 checks, 2 errors, 1 cost unit (last: timeout)"
    )
    assert runs_report.duration("2026-11-21T09:00:00Z", None) is None
