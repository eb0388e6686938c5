"""``changed`` alerts: a watched piece of evidence (the caller name, CNAM) that changed
between two real observations of a number is news even when the verdict stays.

The pure rules (``cidrep.alerts.changes``), then the real CLI with a fake lookup that
watches ``caller_name`` (``tests/fake_cnam.py``) and a webhook receiver on 127.0.0.1,
then the real ``twilio`` plugin against a loopback Twilio, the channels' rendering and
the one history read it adds (indexed, never a scan).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from clitools import cli_invoker
from jsonschema import Draft202012Validator, FormatChecker
from localserver import LocalServer, Reply, Request
from test_no_history_scans import _reads_history

from cidrep.alerts import changes
from cidrep.alerts.changes import EvidenceChange, evidence_change, hold, shown, window
from cidrep.alerts.messages import changed_alert
from cidrep.channels import KINDS
from cidrep.contract import Checker
from cidrep.store.alert_state import CHANGED_EVIDENCE_SQL
from cidrep_plugins.apprise.channel import NOTIFY_TYPES
from cidrep_plugins.slack.render import message
from cidrep_plugins.twilio.checker import TwilioChecker

A, B, D = "+12025550101", "+12025550102", "+12025550104"
OPS, CUST = "/hooks/ops-0123456789", "/hooks/cust-0123456789"
SECRET = "whsec-0123456789abcdef"
PLUGINS = "fake_cnam,cidrep_plugins.webhook"
SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "alert.schema.json").read_text())
CNAM = "caller name (CNAM)"


def title(number: str, old: str, new: str, source: str = "fakecnam") -> str:
    return f"{number}: {CNAM} changed from {old} to {new} ({source})"


# --- the pure rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, {"caller_name": "ACME"}, None),  # first real observation: nothing to compare
        ({"caller_name": None}, {"caller_name": "ACME"}, None),  # first name on file
        ({}, {"caller_name": "ACME"}, None),  # the key was absent before: first name too
        ({"caller_name": None}, {"caller_name": None}, None),
        ({"caller_name": "ACME"}, {"caller_name": "ACME"}, None),  # unchanged
        ({"caller_name": "ACME"}, {"line_type": "mobile"}, None),  # not reported this time
        ({"caller_name": "ACME"}, {"caller_name": "JOHN"}, EvidenceChange("ACME", "JOHN")),
        ({"caller_name": "ACME"}, {"caller_name": None}, EvidenceChange("ACME", None)),
        ({"caller_name": "ACME"}, {"caller_name": "Acme"}, EvidenceChange("ACME", "Acme")),
        ({"n": 1}, {"n": 2}, None),  # another key than the one asked about
    ],
)
def test_evidence_change_truth_table(old, new, expected):
    assert evidence_change(old, new, "caller_name") == expected


@pytest.mark.parametrize(
    ("last", "run", "after"),
    [
        (None, 7, 6),  # first evaluation: this run only
        ("5", 7, 5),  # run 6 died before its alerts: its rows are still new
        ("6", 7, 6),
        ("7", 7, 6),  # ids reused after the newest runs were erased
        ("9", 7, 6),
        ("junk", 7, 6),
    ],
)
def test_window_truth_table(last, run, after):
    assert window(last, run) == after


def test_hold_only_while_muted_and_shown_values():
    at = "2026-05-01T12:00:00Z"
    assert hold(None, at) is None
    assert hold("2026-05-01T11:59:59Z", at) is None  # the mute has ended
    assert hold(at, at) is None
    assert hold("2026-05-01T12:00:01Z", at) == "muted"
    assert shown(None) == "none" and shown("ACME  CORP") == '"ACME CORP"'
    assert shown(42) == "42" and len(shown("X" * 500)) == 62


def test_checkers_declare_what_they_watch():
    assert Checker.watched_evidence == {}
    assert TwilioChecker.watched_evidence == {"caller_name": CNAM}
    assert changes.watched_by({"twilio": TwilioChecker, "plain": Checker}) == {
        "twilio": {"caller_name": CNAM}
    }


# --- the real CLI with a fake CNAM source ---------------------------------------------


def config(
    names: dict[str, str],
    *,
    fail: tuple[str, ...] = (),
    omit: tuple[str, ...] = (),
    line_type: str = "landline",
    url: str | None = None,
) -> str:
    text = (
        "[sources.fakecnam]\n"
        f"fail = {json.dumps(list(fail))}\nomit = {json.dumps(list(omit))}\n"
        f'line_type = "{line_type}"\n[sources.fakecnam.names]\n'
        + "".join(f'"{n}" = {json.dumps(v)}\n' for n, v in names.items())
    )
    if url:
        for name, path in (("ops", OPS), ("cust", CUST)):
            text += f'[channels.{name}]\ntype = "webhook"\nurl = "{url}{path}"\n'
            text += f'secret = "{SECRET}"\n'
    return text


def guarded(invoke: Any) -> Any:
    """``invoke`` that fails the test on an internal error (exit 70): a crash in the
    evaluation must never pass for "no alert"."""

    def run(*args: str, **kwargs: Any) -> Any:
        result = invoke(*args, **kwargs)
        assert result.exit_code != 70 and "internal error" not in result.output, result.output
        return result

    return run


@pytest.fixture
def cli(tmp_path, monkeypatch):
    return guarded(cli_invoker(tmp_path, monkeypatch, PLUGINS))


@pytest.fixture
def server():
    with LocalServer() as srv:
        for path in (OPS, CUST):
            srv.route(path, Reply(200, "ok"))
        yield srv


def flips(tmp_path: Path, kind: str = "changed") -> list[dict[str, Any]]:
    db = sqlite3.connect(tmp_path / "cidrep.db")
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute(
            """SELECT f.*, n.e164 FROM flips f LEFT JOIN numbers n ON n.id = f.number_id
               WHERE f.kind = ? ORDER BY f.id""",
            (kind,),
        ).fetchall()
        return [{**dict(r), "alert": json.loads(r["alert"]) if r["alert"] else None} for r in rows]
    finally:
        db.close()


def posts(srv: LocalServer, path: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in srv.requests if r.method == "POST" and r.path == path]


def test_a_changed_name_is_one_alert_an_unchanged_one_none(cli, server, tmp_path):
    names = {A: "ACME COLLECTIONS", B: "BOB", D: "DAVE"}
    cli("numbers", "add", A, B, config_text=config(names, url=server.url))
    cli("accounts", "add", "acme")
    assert cli("--account", "acme", "numbers", "add", D).exit_code == 0
    assert cli("accounts", "set", "acme", "--channel", "cust").exit_code == 0
    first = cli("check")
    assert first.exit_code == 0 and first.stdout == ""  # first names on file: no news
    assert flips(tmp_path) == []

    names[A] = "JOHN SMITH"
    changed = cli("check", "--force", config_text=config(names, url=server.url))
    assert changed.exit_code == 0, changed.output  # evidence, not a verdict: exit code stays
    (line,) = changed.stdout.splitlines()
    expected = title("+1 202-555-0101", '"ACME COLLECTIONS"', '"JOHN SMITH"')
    assert line == f"{'CHANGED':<16} {expected}  -> ops"
    (flip,) = flips(tmp_path)
    assert (flip["e164"], flip["source"], flip["held"]) == (A, "fakecnam", None)
    alert = flip["alert"]
    assert alert["title"] == expected and alert["changed_by"] == ["fakecnam"]
    assert alert["facts"] == {
        "changed": CNAM,
        "evidence": "caller_name",
        "from": "ACME COLLECTIONS",
        "to": "JOHN SMITH",
    }
    assert "hijacked or reassigned" in alert["text"] and "CNAM provider" in alert["text"]
    assert "caller_name JOHN SMITH" in alert["text"]  # the source's current evidence
    (body,) = posts(server, OPS)  # default account: the global channel only
    assert body["kind"] == "changed" and body["title"] == expected
    Draft202012Validator(SCHEMA, format_checker=FormatChecker()).validate(body)
    assert posts(server, CUST) == []

    same = cli("check", "--force")
    assert same.stdout == "" and len(flips(tmp_path)) == 1  # unchanged: no news

    other = cli("check", "--force", config_text=config(names, line_type="mobile", url=server.url))
    assert other.stdout == "" and len(flips(tmp_path)) == 1  # an unwatched fact changed

    names[D] = "NOT DAVE"  # acme's number: its own channel and the global one
    routed = cli("check", "--force", config_text=config(names, url=server.url))
    assert routed.stdout.rstrip().endswith("-> cust, ops"), routed.stdout
    assert [f["e164"] for f in flips(tmp_path)] == [A, D]
    assert [p["number"] for p in posts(server, CUST)] == [D]

    listed = cli("alerts", "list")
    assert [line.split()[2] for line in listed.stdout.splitlines() if line[:1] != " "] == [
        "changed",
        "changed",
    ]
    assert expected in listed.stdout
    as_json = json.loads(cli("alerts", "list", "--json").stdout)
    assert [(a["kind"], a["number"]) for a in as_json] == [("changed", D), ("changed", A)]


def test_an_error_in_between_still_shows_the_change(cli, tmp_path):
    cli("numbers", "add", A, config_text=config({A: "ACME COLLECTIONS"}))
    assert cli("check").stdout == ""
    failed = cli("check", "--force", config_text=config({A: "JOHN SMITH"}, fail=(A,)))
    assert failed.stdout == "" and flips(tmp_path) == []  # an error says nothing
    after = cli("check", "--force", config_text=config({A: "JOHN SMITH"}))
    assert title("+1 202-555-0101", '"ACME COLLECTIONS"', '"JOHN SMITH"') in after.stdout
    assert len(flips(tmp_path)) == 1
    assert cli("check", "--force").stdout == "" and len(flips(tmp_path)) == 1


def test_a_first_name_is_not_news_a_vanished_one_is(cli, tmp_path):
    cli("numbers", "add", A, config_text=config({}))  # no CNAM on file
    assert cli("check").stdout == ""
    assert cli("check", "--force", config_text=config({A: "ACME"})).stdout == ""
    assert flips(tmp_path) == []  # null -> "ACME": the first name on file
    omitted = cli("check", "--force", config_text=config({}, omit=(A,)))
    assert omitted.stdout == "" and flips(tmp_path) == []  # not reported this time
    assert cli("check", "--force", config_text=config({A: "ACME"})).stdout == ""
    gone = cli("check", "--force", config_text=config({}))
    assert title("+1 202-555-0101", '"ACME"', "none") in gone.stdout
    (flip,) = flips(tmp_path)
    assert flip["alert"]["facts"]["to"] is None and "disappeared" in flip["alert"]["text"]


def test_a_muted_number_is_held_and_recorded(cli, server, tmp_path):
    cli("numbers", "add", A, B, config_text=config({A: "ACME", B: "BOB"}, url=server.url))
    cli("check")
    assert cli("mute", A, "--for", "1h").exit_code == 0
    run = cli("check", "--force", config_text=config({A: "JOHN", B: "ROBERT"}, url=server.url))
    lines = sorted(run.stdout.splitlines())
    assert len(lines) == 2
    expected = title("+1 202-555-0101", '"ACME"', '"JOHN"')
    assert lines[0].endswith(f"{expected}  [held: muted]"), lines
    assert lines[1].endswith("-> cust, ops")  # B is not muted
    held = {f["e164"]: f for f in flips(tmp_path)}
    assert held[A]["held"] == "muted" and held[B]["held"] is None
    assert [p["number"] for p in posts(server, OPS)] == [B]  # nothing sent about A
    listed = json.loads(cli("alerts", "list", "--json").stdout)
    muted = next(a for a in listed if a["number"] == A)
    assert muted["held"] == "muted" and muted["deliveries"] == []
    assert cli("unmute", A).exit_code == 0
    assert posts(server, OPS)[-1]["number"] == B  # a held change is not re-told later


def test_a_run_that_died_before_its_alerts_is_caught_up_once(cli, tmp_path, monkeypatch):
    from cidrep.alerts import evaluate

    cli("numbers", "add", A, config_text=config({A: "ACME"}))
    cli("check")
    real = evaluate.Evaluation.run

    def died(self, *args, **kwargs):
        raise KeyboardInterrupt  # killed after the checks were stored, before the alerts

    monkeypatch.setattr(evaluate.Evaluation, "run", died)
    killed = cli("check", "--force", config_text=config({A: "JOHN"}))
    assert killed.exit_code == 130 and killed.stdout == ""
    monkeypatch.setattr(evaluate.Evaluation, "run", real)
    assert flips(tmp_path) == []
    caught = cli("check", "--force")  # the same name again: extends the row of the dead run
    assert title("+1 202-555-0101", '"ACME"', '"JOHN"') in caught.stdout
    assert cli("check", "--force").stdout == "" and len(flips(tmp_path)) == 1


def test_the_read_steps_back_by_index_and_never_scans_history(cli, tmp_path, monkeypatch):
    cli("numbers", "add", A, config_text=config({A: "ACME"}))
    for i in range(12):  # history rows: unwatched changes and errors
        cli("check", "--force", config_text=config({A: "ACME"}, line_type=f"t{i}"))
        cli("check", "--force", config_text=config({A: "ACME"}, fail=(A,)))
    seen: list[str] = []
    original = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = original(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    out = cli("check", "--force", config_text=config({A: "JOHN"}))
    assert title("+1 202-555-0101", '"ACME"', '"JOHN"') in out.stdout
    ours = " ".join(CHANGED_EVIDENCE_SQL.split())
    assert sum(" ".join(sql.split()).startswith(ours[:60]) for sql in seen) == 1
    evaluation = [sql for sql in seen if "source_state s JOIN observations o" in sql]
    assert evaluation and not any(_reads_history(sql) for sql in evaluation)
    db = original(tmp_path / "cidrep.db")
    try:
        args = ["fakecnam", "2026-01-01", 0, 99]
        plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + CHANGED_EVIDENCE_SQL, args)]
    finally:
        db.close()
    assert not any(step.startswith("SCAN") for step in plan), plan
    assert any("USING INDEX observations_" in s and "id<?" in s for s in plan), plan


# --- the real twilio plugin against a loopback Twilio ------------------------------------

SID = "AC" + "0f1e2d3c4b5a6978" * 2
TOKEN = "tokZq8sekrit4711" * 2


def v2_body(number: str, name: str | None) -> dict[str, Any]:
    return {
        "phone_number": number,
        "valid": True,
        "validation_errors": [],
        "caller_name": {"caller_name": name, "caller_type": "BUSINESS", "error_code": None},
        "line_type_intelligence": {"carrier_name": "Verizon", "type": "landline"},
    }


def test_twilio_cnam_change_alerts_naming_both_names(tmp_path, monkeypatch):
    cli = guarded(cli_invoker(tmp_path, monkeypatch, "cidrep_plugins.twilio"))
    answer = {"name": "ACME COLLECTIONS"}

    def v2(request: Request) -> Reply:
        return Reply(200, json.dumps(v2_body(A, answer["name"])))

    with LocalServer() as server:
        server.route("/v2/PhoneNumbers/%2B12025550101", v2)
        text = (
            f'[sources.twilio]\nbase_url = "{server.url}"\naccount_sid = "{SID}"\n'
            f'auth_token = "{TOKEN}"\nrate_limit = "1000/s"\n'
        )
        cli("numbers", "add", A, config_text=text)
        first = cli("check")
        assert first.exit_code == 0 and first.stdout == ""
        answer["name"] = "JOHN SMITH"
        second = cli("check", "--force")
    expected = title("+1 202-555-0101", '"ACME COLLECTIONS"', '"JOHN SMITH"', "twilio")
    assert second.stdout.splitlines() == [f"{'CHANGED':<16} {expected}"]
    (flip,) = flips(tmp_path)
    assert flip["alert"]["title"] == expected
    assert SID not in json.dumps(flip) and TOKEN not in json.dumps(flip)


# --- every channel renders the new kind --------------------------------------------------


def hostile_alert() -> Any:
    info = {"e164": A, "label": "Collections", "account": "default", "tags": ["vip"]}
    states = {
        "fakecnam": {
            "verdict": "unknown",
            "evidence": json.dumps({"caller_name": "<!channel> <https://evil|x>"}),
        },
        "other": {"verdict": "clean", "evidence": "{}"},
    }
    from datetime import UTC, datetime

    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    return changed_alert(
        info, states, "fakecnam", "caller_name", CNAM, "ACME", "<!channel> <https://evil|x>", now
    )


def test_channels_render_a_changed_alert():
    alert = hostile_alert()
    assert "changed" in KINDS and NOTIFY_TYPES["changed"] == "warning"
    assert [s.source for s in alert.sources] == ["fakecnam"]  # only the source that changed
    slack = message(alert)
    assert slack["blocks"][0]["text"]["text"] == alert.title  # plain_text header
    body = json.dumps(slack["blocks"][1:])
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body  # escaped, no ping
    assert "&lt;https://evil|x&gt;" in body or "&lt;https://evil" in body
    assert "ACME" in slack["text"]
    Draft202012Validator(SCHEMA, format_checker=FormatChecker()).validate(alert.as_dict())
