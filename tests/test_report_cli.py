"""``cidrep report NUMBER`` through the real CLI: text, ``--json`` (validated against
``docs/report.schema.json``), ``--markdown``, the dispute links, and bad input.

The database is built through the normal writer (``ObservationWriter``) with chosen
times, and the alerts evaluated after each step, as ``cidrep check`` does; a second
history comes from ``cidrep sighting``. Times are relative to today (UTC), so every
figure below is worked out by hand:

- added 120 days ago (``D(120)``, each ``D(n)`` is 09:00 UTC n days ago);
- ftc: clean, flagged "Robocall" D(100), an error D(95) inside the flag, clean D(80):
  label 1, 20 days, 20 days after being added;
- trustcall: T-Mobile flagged "Scam Likely" D(60), clean D(50) (label 2, 10 days,
  20 days after label 1 cleared: a relapse with relapse_days 30), flagged again
  D(40) (label 3, open, a relapse: 10 days after), AT&T flagged "Spam Risk" D(30);
- the last checks a minute ago, so no source is stale.

Window of 90 days (today - 89 .. today): label 1 touches today-89 .. today-80 (10
days), label 2 today-60 .. today-50 (11), label 3 today-40 .. today (41): 62 of 90.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from clitools import cli_invoker

from cidrep.check import alert
from cidrep.config import load_config
from cidrep.contract import Observation, Verdict
from cidrep.plugins import get_checkers
from cidrep.reports.schema import json_schema
from cidrep.store import open_db
from cidrep.store import runs as runs_store
from cidrep.store.history import ObservationWriter
from cidrep.store.numbers import NumberEntry, add_numbers
from cidrep.timeutil import iso, utcnow

A, B = "+12025550143", "+13125550188"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"
CONFIG = (
    '[alerts]\nconfirm_after = 1\nrecover_after = 1\n[sources.trustcall]\nlogin_id = "tc-login"\n'
)
TODAY = datetime.combine(utcnow().date(), datetime.min.time(), tzinfo=UTC)
LAST = utcnow() - timedelta(minutes=1)


def D(days: int) -> datetime:
    return TODAY - timedelta(days=days) + timedelta(hours=9)


def _obs(verdict: Verdict, label: str | None = None, **kw) -> Observation:
    return Observation(A, verdict, label=label, **kw)


FTC_CLEAN = _obs(Verdict.CLEAN, evidence={"complaints": 0})
FTC_FLAG = _obs(
    Verdict.FLAGGED,
    "Robocall",
    category="robocall",
    evidence={"complaints": 2, "dates": ["2026-01-02", "2026-01-05"], "subjects": {"Debt": 2}},
)


def lanes(tmobile: str = "", att: str = "") -> list[Observation]:
    """trustcall's answer: its own (clean) and one per carrier ("" = clean)."""
    out = [Observation(A, Verdict.CLEAN, evidence={"overall": "clean"})]
    for carrier, label in (("AT&T", att), ("T-Mobile", tmobile), ("Verizon", "")):
        verdict = Verdict.FLAGGED if label else Verdict.CLEAN
        out.append(Observation(A, verdict, label=label or None, carrier=carrier, score=None))
    return out


STEPS: list[tuple[datetime, Observation, list[Observation]]] = [
    (D(120), FTC_CLEAN, lanes()),
    (D(110), FTC_CLEAN, lanes()),
    (D(100), FTC_FLAG, lanes()),
    (D(95), Observation.failed(A, "feed file unreadable"), lanes()),
    (D(90), FTC_FLAG, lanes()),
    (D(80), FTC_CLEAN, lanes()),
    (D(60), FTC_CLEAN, lanes(tmobile="Scam Likely")),
    (D(50), FTC_CLEAN, lanes()),
    (D(40), FTC_CLEAN, lanes(tmobile="Scam Likely")),
    (D(30), FTC_CLEAN, lanes(tmobile="Scam Likely", att="Spam Risk")),
    (LAST, FTC_CLEAN, lanes(tmobile="Scam Likely", att="Spam Risk")),
]


PLUGINS = "cidrep_plugins.ftc,cidrep_plugins.trustcall,cidrep_plugins.fcc,cidrep_plugins.ipqs"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    invoke = cli_invoker(tmp_path, monkeypatch, PLUGINS)
    (tmp_path / "config.toml").write_text(CONFIG)
    build(tmp_path / "cidrep.db", tmp_path / "config.toml")
    return invoke


def build(db_path: Path, config: Path) -> None:
    """The history above, through the writer and the alerts (also makes the README's
    sample: ``CIDREP_LOAD_PLUGINS`` set to ``PLUGINS``)."""
    settings = load_config(config, get_checkers()).settings
    db = open_db(db_path)
    add_numbers(db, 1, [NumberEntry(A, "Collections East", ("team:east",))], iso(D(120)))
    add_numbers(db, 1, [NumberEntry(B)], iso(D(120)))
    for at, ftc, trustcall in STEPS:
        run = runs_store.start_run(db, iso(at), None, False)
        writer = ObservationWriter(db, run, iso(at))
        writer.add([1], "ftc", ftc)
        writer.add_answers([1], "trustcall", trustcall)
        # B: flagged by ftc all along, clean on every carrier: a report of A that read
        # B's rows too would show other labels
        writer.add([2], "ftc", Observation(B, Verdict.FLAGGED, "Robocall"))
        calm = [replace(o, number=B, verdict=Verdict.CLEAN, label=None) for o in lanes()]
        writer.add_answers([2], "trustcall", calm)
        writer.flush()
        alert(db, settings, get_checkers(), {}, at, run)
    db.close()


def report_json(cli, *args: str) -> dict:
    out = cli("report", A, "--json", *args)
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


# -- the figures, end to end -----------------------------------------------------------


def test_json_has_the_lifecycle_figures_worked_out_by_hand(cli):
    data = report_json(cli)
    assert data["schema_version"] == 1
    assert data["added"] == iso(D(120))
    life = data["lifecycle"]
    assert life["time_to_first_label_seconds"] == 20 * 86400
    assert life["first_label"] == iso(D(100))
    assert [(lb["start"], lb["end"], lb["seconds"]) for lb in life["labels"][:2]] == [
        (iso(D(100)), iso(D(80)), 20 * 86400),  # the error at D(95) did not end it
        (iso(D(60)), iso(D(50)), 10 * 86400),
    ]
    last = life["labels"][2]
    assert (last["start"], last["end"], last["cleared"]) == (iso(D(40)), None, False)
    assert last["seconds"] >= 40 * 86400  # so far
    assert {(s["carrier"], s["start"]) for s in last["stretches"]} == {
        ("T-Mobile", iso(D(40))),
        ("AT&T", iso(D(30))),
    }
    assert [lb["relapse"] for lb in life["labels"]] == [False, True, True]
    assert [lb["since_previous_clear_seconds"] for lb in life["labels"]] == [
        None,
        20 * 86400,
        10 * 86400,
    ]
    assert life["relapses"] == 2 and life["open"] is True
    assert life["window"] == {
        "days": 90,
        "first_day": (TODAY - timedelta(days=89)).date().isoformat(),
        "last_day": TODAY.date().isoformat(),
        "days_counted": 90,
        "days_flagged": 62,
        "share_flagged": 62 / 90,
    }
    # the trustcall sum is flagged because of its carriers: never a label of its own
    tc = next(x for x in data["lanes"] if x["source"] == "trustcall" and x["carrier"] is None)
    assert all(i["via_carriers"] for i in tc["intervals"] if i["verdict"] == "flagged")
    ftc = next(x for x in data["lanes"] if x["source"] == "ftc")
    assert ftc["errors"] == [
        {"start": iso(D(95)), "end": iso(D(90)), "error": "feed file unreadable"}
    ]


def test_window_and_relapse_days_change_the_figures(cli, tmp_path):
    assert report_json(cli, "--window", "30")["lifecycle"]["window"]["days_flagged"] == 30
    assert report_json(cli, "--window", "1")["lifecycle"]["window"]["days_counted"] == 1
    config = tmp_path / "config.toml"
    config.write_text(CONFIG + "[reports]\nrelapse_days = 15\n")
    life = report_json(cli)["lifecycle"]
    assert [lb["relapse"] for lb in life["labels"]] == [False, False, True]
    assert life["relapse_days"] == 15


def test_the_timeline_shows_sources_carriers_and_alerts_in_time_order(cli):
    events = report_json(cli)["timeline"]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    changes = [
        (e["at"], e["source"], e["carrier"], e["old"], e["new"])
        for e in events
        if e["kind"] == "verdict" and e["old"]
    ]
    assert changes == [
        (iso(D(100)), "ftc", None, "clean", "flagged"),
        (iso(D(80)), "ftc", None, "flagged", "clean"),
        (iso(D(60)), "trustcall", "T-Mobile", "clean", "flagged"),
        (iso(D(50)), "trustcall", "T-Mobile", "flagged", "clean"),
        (iso(D(40)), "trustcall", "T-Mobile", "clean", "flagged"),
        (iso(D(30)), "trustcall", "AT&T", "clean", "flagged"),
    ]
    flagged = [e["at"] for e in events if e["kind"] == "flagged"]
    cleared = [e["at"] for e in events if e["kind"] == "cleared"]
    assert flagged == [iso(D(100)), iso(D(60)), iso(D(40))]
    assert cleared == [iso(D(80)), iso(D(50))]
    confirmed = [(e["source"], e["new"]) for e in events if e["kind"] == "confirmed"]
    assert ("ftc", "flagged") in confirmed and ("trustcall", "flagged") in confirmed


def test_what_to_do_names_the_engine_behind_each_flagged_carrier(cli):
    todo = report_json(cli)["what_to_do"]
    assert todo["flagged_carriers"] == ["AT&T", "T-Mobile"]
    assert todo["disputes"] == [
        {"name": "Hiya (AT&T): ask for a review", "url": "https://www.att.com/reviewmycalllabel"},
        {
            "name": "First Orion (T-Mobile): ask for a review",
            "url": "https://callreporting.t-mobile.com/",
        },
        {
            "name": "Free Caller Registry (Hiya, TNS, First Orion)",
            "url": "https://www.freecallerregistry.com/",
        },
    ]


# -- the three formats ---------------------------------------------------------------------


def test_text_report(cli):
    out = cli("report", "202-555-0143")
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert text.startswith("+1 202-555-0143  Collections East\n  account default, tags team:east")
    assert "worst verdict: flagged (trustcall: AT&T, trustcall: T-Mobile)" in text
    assert f"ftc: clean since {iso(D(80)).replace('T', ' ')[:16]} UTC" in text
    assert "  dates: 2026-01-02, 2026-01-05" not in text  # evidence of the current row only
    assert "  complaints: 0" in text
    assert f'T-Mobile: flagged "Scam Likely" since {iso(D(40)).replace("T", " ")[:16]}' in text
    assert "fcc: not checked yet" in text  # enabled: the next check reads it
    assert text.rstrip().endswith("not checked: ipqs (disabled or no key)")
    assert "ipqs:" not in text
    assert "['" not in text and "{'" not in text  # no Python reprs
    timeline = text.split("Timeline (UTC, oldest first)\n", 1)[1].split("\n\n", 1)[0]
    assert "trustcall: T-Mobile flagged -> clean" in timeline
    assert 'trustcall: T-Mobile clean -> flagged "Scam Likely"' in timeline
    assert "alert: number cleared" in timeline
    figures = text.split("\nLifecycle\n", 1)[1].split("\n\n", 1)[0]
    assert "first label 20d after being added" in figures
    assert "labels: 3, relapses: 2 (labelled again within 30 days of clearing)" in figures
    assert "flagged on 62 of 90 days (69%) in the last 90 days" in figures
    lines = figures.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  1. "))
    assert re.fullmatch(r"  1\. .* -> .*: cleared after 20d", lines[at])
    assert lines[at + 1] == "     on ftc"
    assert re.fullmatch(r"  2\. .*: cleared after 10d", lines[at + 2])
    assert lines[at + 3] == "     on trustcall: T-Mobile; RELAPSE, 20d after the last clear"
    assert re.fullmatch(r"  3\. .* -> not cleared yet \(\d+d.* so far\)", lines[at + 4])
    assert lines[at + 5] == (
        "     on trustcall: T-Mobile, trustcall: AT&T; RELAPSE, 10d after the last clear"
    )
    assert max(len(line) for line in text.splitlines() if "http" not in line) <= 80
    todo = text.split("\nWhat to do\n", 1)[1]
    assert (
        "  - First Orion (T-Mobile): ask for a review: https://callreporting.t-mobile.com/" in todo
    )
    assert (
        "  - Free Caller Registry (Hiya, TNS, First Orion): https://www.freecallerregistry.com/"
        in todo
    )


def test_evidence_lists_are_comma_joined(cli, tmp_path):
    db = open_db(tmp_path / "cidrep.db")
    run = runs_store.start_run(db, iso(utcnow()), None, False)
    writer = ObservationWriter(db, run, iso(utcnow()))
    writer.add([1], "ftc", FTC_FLAG)
    writer.flush()
    db.close()
    text = cli("report", A).stdout
    assert "  dates: 2026-01-02, 2026-01-05\n" in text
    assert "  subjects: Debt (2)\n" in text


def test_markdown_report(cli):
    out = cli("report", A, "--markdown")
    assert out.exit_code == 0, out.output
    md = out.stdout
    assert md.startswith("# +1 202-555-0143 (Collections East)\n")
    for heading in ("## Sources", "### ftc", "### trustcall", "#### trustcall: carriers",
                    "## Timeline", "## Lifecycle", "## What to do"):  # fmt: skip
        assert f"\n{heading}\n" in md, heading
    carriers = md.split("#### trustcall: carriers\n", 1)[1].strip().split("\n\n", 1)[0]
    rows = [line for line in carriers.splitlines() if line.startswith("| ")]
    assert rows[0] == "| carrier | verdict | label | score | since (UTC) | last success (UTC) |"
    assert rows[2].startswith("| T-Mobile | flagged | Scam Likely | - |")
    assert "| complaints | 0 |" in md
    assert re.search(r"^- .* UTC: trustcall: T-Mobile flagged -> clean$", md, re.M)
    relapse = r"^\| 2 \| .* \| 10d \| trustcall: T-Mobile \| yes, 20d after the last clear \|$"
    assert re.search(relapse, md, re.M)
    assert "not cleared yet" in md
    assert "- [First Orion (T-Mobile): ask for a review](https://callreporting.t-mobile.com/)" in md
    assert (
        "- [Free Caller Registry (Hiya, TNS, First Orion)](https://www.freecallerregistry.com/)"
        in md
    )
    assert md.rstrip().endswith("_not checked: ipqs (disabled or no key)_")


def test_markdown_escapes_pipes_in_labels(cli, tmp_path):
    db = open_db(tmp_path / "cidrep.db")
    run = runs_store.start_run(db, iso(utcnow()), None, False)
    writer = ObservationWriter(db, run, iso(utcnow()))
    writer.add_answers([1], "trustcall", [_obs(Verdict.FLAGGED, "Spam | Risk", carrier="AT&T")])
    writer.flush()
    db.close()
    md = cli("report", A, "--markdown").stdout
    assert "| AT&T | flagged | Spam \\| Risk |" in md


# -- the schema ----------------------------------------------------------------------------


def test_schema_file_is_the_generated_schema():
    """docs/report.schema.json is stale when this fails: run
    ``python -m cidrep.reports.schema > docs/report.schema.json``."""
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == json_schema()
    jsonschema.Draft202012Validator.check_schema(committed)


def _errors(doc: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_real_reports_validate_against_the_schema_file(cli):
    doc = report_json(cli)
    assert _errors(doc) == []
    assert doc["sources"]["fcc"] == {"verdict": None, "health": "never", "checks": 0}
    assert doc["not_checked"] == [{"source": "ipqs", "reason": "no api_key configured"}]
    other = json.loads(cli("report", B, "--json", "--window", "7").stdout)
    assert _errors(other) == []
    assert [(lb["start"], lb["end"]) for lb in other["lifecycle"]["labels"]] == [
        (iso(D(120)), None)
    ]
    assert other["what_to_do"]["flagged_carriers"] == []
    broken = json.loads(json.dumps(doc))
    del broken["lifecycle"]["window"]["days_flagged"]
    broken["timeline"][0]["surprise"] = 1
    broken["schema_version"] = 2
    assert len(_errors(broken)) == 3


# -- cidrep sighting ----------------------------------------------------------------------------


@pytest.fixture
def sighted(tmp_path, monkeypatch):
    invoke = cli_invoker(tmp_path, monkeypatch, "cidrep_plugins.ftc")
    assert invoke("numbers", "add", A, config_text="").exit_code == 0
    return invoke


def test_sightings_give_carrier_dates_and_first_orion_for_t_mobile(sighted):
    today = utcnow().date()
    seen, cleared = today - timedelta(days=20), today - timedelta(days=12)
    for carrier, label, at in (
        ("tmobile", "Scam Likely", seen),
        ("Verizon", "none", seen),
        ("T-Mobile", "none", cleared),
    ):
        out = sighted("sighting", A, "-c", carrier, "-l", label, "--at", at.isoformat())
        assert out.exit_code == 0, out.output
    data = json.loads(sighted("report", A, "--json").stdout)
    assert _errors(data) == []
    [label] = data["lifecycle"]["labels"]  # the sums written at recording time add none
    assert (label["start"], label["end"]) == (f"{seen}T00:00:00Z", f"{cleared}T00:00:00Z")
    assert label["seconds"] == 8 * 86400 and data["lifecycle"]["relapses"] == 0
    assert data["what_to_do"]["disputes"] == []  # not flagged now: nothing to dispute
    assert sighted("sighting", A, "-c", "T-Mobile", "-l", "Scam Likely").exit_code == 0
    data = json.loads(sighted("report", A, "--json").stdout)
    assert data["lifecycle"]["relapses"] == 1  # labelled again 12 days after clearing
    assert [d["url"] for d in data["what_to_do"]["disputes"]] == [
        "https://callreporting.t-mobile.com/",
        "https://www.freecallerregistry.com/",
    ]
    text = sighted("report", A).stdout
    assert "First Orion (T-Mobile): ask for a review: https://callreporting.t-mobile.com/" in text
    assert "manual: T-Mobile clean -> flagged" in text or "manual: T-Mobile flagged" in text


def test_a_flag_from_complaints_only_offers_the_registry_and_every_engine(cli, tmp_path):
    c = "+13125550199"
    assert cli("numbers", "add", c).exit_code == 0
    db = open_db(tmp_path / "cidrep.db")
    run = runs_store.start_run(db, iso(utcnow()), None, False)
    writer = ObservationWriter(db, run, iso(utcnow()))
    writer.add([3], "ftc", Observation(c, Verdict.FLAGGED, "Robocall"))
    writer.flush()
    db.close()
    data = json.loads(cli("report", c, "--json").stdout)
    assert data["verdict"] == "flagged" and data["what_to_do"]["flagged_carriers"] == []
    assert [d["url"] for d in data["what_to_do"]["disputes"]] == [
        "https://www.freecallerregistry.com/",
        "https://www.att.com/reviewmycalllabel",
        "https://www.tnsresponsecenter.com/",
        "https://callreporting.t-mobile.com/",
    ]


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["report", "12ab"], "error: "),
        (["report", "202-555-0199"], "error: +12025550199 is not monitored"),
        (["report", A, "--window", "0"], "error: --window must be 1 to 3650 days, got 0"),
        (["report", A, "--window", "3651"], "error: --window must be 1 to 3650 days"),
        (["report", A, "--json", "--markdown"], "error: --json and --markdown cannot be"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, expect):
    out = cli(*args)
    assert out.exit_code == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expect), lines
    assert "Traceback" not in out.output


# -- bounded reads -----------------------------------------------------------------------------


def test_report_reads_only_this_numbers_rows_by_index(cli, tmp_path, monkeypatch):
    seen: list[str] = []
    original = sqlite3.connect

    def traced(*args, **kwargs):
        conn = original(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    assert cli("report", A, "--json").exit_code == 0
    monkeypatch.setattr(sqlite3, "connect", original)
    reads = [" ".join(s.split()) for s in seen if re.search(r"FROM (observations|flips)\b", s)]
    assert any("FROM observations INDEXED BY" in r for r in reads)
    assert any("FROM flips INDEXED BY" in r for r in reads)
    db = open_db(tmp_path / "cidrep.db")
    for sql in reads:
        if "number_id = 1" in sql:
            plan = " ".join(str(r[-1]) for r in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "USING INDEX" in plan or "USING PRIMARY KEY" in plan, (sql, plan)
        assert "number_id = 2" not in sql and "number_id IN (1, 2)" not in sql
    db.close()
