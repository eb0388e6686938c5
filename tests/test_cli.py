"""The CLI end to end (CliRunner): numbers, check exit codes, status, report, sources."""

from __future__ import annotations

import json

import pytest
from clitools import cli_invoker

A, B = "+12025550101", "+12025550102"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    return cli_invoker(tmp_path, monkeypatch, "fake_sources")


FLAG_A = f'[sources.fakefeed]\nenabled = false\n[sources.fake]\nflag = ["{A}"]\n'


def test_numbers_add_list_and_invalid(cli):
    result = cli("numbers", "add", "202-555-0101", "(202) 555-0102", "-l", "Sales", "-t", "team:x")
    assert result.exit_code == 0, result.output
    assert f"added {A}" in result.output
    again = cli("numbers", "add", "202-555-0101")
    assert "already monitored +12025550101 (unchanged)" in again.output
    bad = cli("numbers", "add", "202-555-0103", "555-1234")
    assert bad.exit_code == 2
    assert "error: '555-1234' is not a valid phone number in region US" in bad.output
    listed = json.loads(cli("numbers", "list", "--json").output)
    assert [n["number"] for n in listed] == [A, B]  # nothing from the failed add
    assert listed[0]["tags"] == ["team:x"] and listed[0]["label"] == "Sales"
    assert len(json.loads(cli("numbers", "list", "--json", "--tag", "nope").output)) == 0


def test_import_is_all_or_nothing(cli, tmp_path):
    csv = tmp_path / "n.csv"
    csv.write_text("phone,label\n202-555-0101,a\nbogus,b\n202-555-0102,c\n12,d\n")
    result = cli("numbers", "import", str(csv))
    assert result.exit_code == 2
    assert f"{csv}:3: 'bogus' is not a phone number" in result.output
    assert f"{csv}:5: " in result.output
    assert "2 of 4 rows" in result.output and "nothing imported" in result.output
    assert json.loads(cli("numbers", "list", "--json").output) == []
    skipped = cli("numbers", "import", str(csv), "--skip-invalid")
    assert skipped.exit_code == 0
    assert "imported 2 new numbers" in skipped.output and f"skipped {csv}:3" in skipped.output
    csv.write_text("phone,label\n202-555-0101,a\n202-555-0102,c\n")
    again = cli("numbers", "import", str(csv))
    assert "imported 0 new numbers" in again.output and "2 already monitored" in again.output
    missing = cli("numbers", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_pause_resume_remove(cli):
    cli("numbers", "add", A, B)
    assert f"{A} paused" in cli("numbers", "pause", A).output
    assert f"{A} was already paused" in cli("numbers", "pause", A).output
    result = cli("check", config_text=FLAG_A)
    assert result.exit_code == 0  # A is paused, so nothing flagged
    assert f"{A} resumed" in cli("numbers", "resume", A).output
    cli("check", "--force")
    # history exists now: removal needs --yes when not interactive
    refused = cli("numbers", "remove", A)
    assert refused.exit_code == 2 and "pass --yes" in refused.output
    assert f"removed {A}" in cli("numbers", "remove", A, "--yes").output
    unknown = cli("numbers", "remove", A, "--yes")
    assert unknown.exit_code == 2 and "not monitored in account 'default'" in unknown.output


@pytest.mark.parametrize(
    ("config", "code"),
    [
        ("[sources.fakefeed]\nenabled = false\n", 0),
        (FLAG_A, 1),
        ("[sources.fake]\ntimout = 1\n", 2),
        ("[sources.fakefeed]\nenabled = false\n[sources.fake]\nfail = true\n", 3),
        (f'[sources.fakefeed]\nrecords = ["{A}|2026-11-01"]\n[sources.fake]\nfail = true\n', 4),
    ],
)
def test_check_exit_codes(cli, config, code):
    cli("numbers", "add", A, B)
    result = cli("check", config_text=config)
    assert result.exit_code == code, result.output


def test_check_speaks_only_of_confirmed_changes(cli):
    """Under cron: nothing while clean; a new flag once it is confirmed (confirm_after
    = 2 checks in a row by default); nothing while it stays flagged; the recovery."""
    cli("numbers", "add", A, B)
    clean = cli("check", config_text="[sources.fakefeed]\nenabled = false\n")
    assert clean.output == ""
    first = cli("check", "--force", config_text=FLAG_A)
    assert first.exit_code == 1 and first.output == ""  # one flagged check: not confirmed
    second = cli("check", "--force")
    assert second.output.startswith("FLAGGED ")
    assert '+1 202-555-0101 flagged "Spam Likely" by fake' in second.output
    assert len(second.output.splitlines()) == 1
    same = cli("check", "--force")
    assert same.exit_code == 1 and same.output == ""  # still flagged, nothing new
    cli("check", "--force", config_text="[sources.fakefeed]\nenabled = false\n")
    cleared = cli("check", "--force")
    assert cleared.output.startswith("CLEARED ")
    assert "+1 202-555-0101 is clean again after" in cleared.output


def test_check_json_summary(cli):
    cli("numbers", "add", A, B)
    result = cli("check", "--json", config_text=FLAG_A)
    data = json.loads(result.output)
    assert data["exit_code"] == 1 and data["checks"] == 2
    assert data["flagged"][0]["number"] == A
    assert data["sources"]["fake"]["verdicts"]["clean"] == 1
    assert data["sources"]["fakefeed"]["status"] == "skipped"


def test_check_usage_errors(cli):
    cli("numbers", "add", A)
    assert cli("check", "--source", "nope").exit_code == 2
    assert "unknown source 'nope'" in cli("check", "--source", "nope").output
    missing = cli("check", "--number", "202-555-0109")
    assert missing.exit_code == 2 and "not monitored: +12025550109" in missing.output
    assert cli("--account", "ghost", "check").exit_code == 2


def test_status_and_report(cli):
    cli("numbers", "add", A, B, "-l", "Main line")
    cli("check", config_text=FLAG_A)
    status = cli("status")
    lines = status.output.splitlines()
    assert lines[0].split()[:3] == ["NUMBER", "LABEL", "VERDICT"]
    assert "+1 202-555-0101" in lines[1] and "flagged" in lines[1] and "fake" in lines[1]
    assert "clean" in lines[2]
    data = json.loads(cli("status", "--json").output)["numbers"]
    assert data[0]["verdict"] == "flagged" and data[0]["verdict_sources"] == ["fake"]
    assert data[0]["sources"]["fake"]["health"] == "ok"
    assert data[0]["sources"]["fake"]["last_success"] == data[0]["as_of"]
    report = cli("report", "202-555-0101")
    assert "fake: flagged since" in report.output
    assert "label: Spam Likely" in report.output and "score: 90" in report.output
    assert "not checked: fakefeed (disabled or no key)" in report.output  # disabled
    rjson = json.loads(cli("report", A, "--json").output)
    assert rjson["sources"]["fake"]["verdict"] == "flagged"
    assert rjson["sources"]["fake"]["checks"] == 1
    assert rjson["sources"]["fakefeed"]["health"] == "never"
    assert cli("report", "202-555-0109").exit_code == 2


def test_report_shows_failures_without_losing_the_verdict(cli):
    cli("numbers", "add", A)
    cli("check", config_text=FLAG_A)
    cli(
        "check",
        "--force",
        config_text=FLAG_A.replace("[sources.fake]", "[sources.fake]\nfail = true"),
    )
    data = json.loads(cli("report", A, "--json").output)
    fake = data["sources"]["fake"]
    assert fake["verdict"] == "flagged"
    assert fake["health"] == "failing"
    assert fake["last_error"] == "fake source refused key"
    assert fake["last_failure"] >= fake["last_success"]  # a tie counts as failing
    status = json.loads(cli("status", "--json").output)["numbers"]
    assert status[0]["verdict"] == "flagged" and status[0]["failing"] == ["fake"]


def test_accounts_scope(cli):
    assert cli("accounts", "add", "acme", "--email", "ops@acme.test").exit_code == 0
    assert cli("accounts", "add", "acme").exit_code == 2
    assert cli("accounts", "add", "x", "--email", "nope").exit_code == 2
    cli("--account", "acme", "numbers", "add", A)
    cli("numbers", "add", B)
    assert [n["number"] for n in json.loads(cli("numbers", "list", "--json").output)] == [A, B]
    scoped = json.loads(cli("--account", "acme", "status", "--json").output)["numbers"]
    assert [n["number"] for n in scoped] == [A]
    accounts = json.loads(cli("accounts", "list", "--json").output)
    assert {a["name"]: a["numbers"] for a in accounts} == {"acme": 1, "default": 1}


def test_sources_list_shows_skip_reason_and_disclosure(cli):
    result = cli("sources", "list", config_text="[sources.fake]\nneeds_key = true\n")
    assert "fake (lookup) - skipped: no api_key configured" in result.output
    assert "sends: sends numbers nowhere (test double)" in result.output
    data = json.loads(cli("sources", "list", "--json").output)
    assert {d["name"]: d["status"] for d in data} == {"fake": "skipped", "fakefeed": "enabled"}


def test_config_error_is_one_line_without_traceback(cli):
    result = cli("status", config_text="[sources.fake\n")
    assert result.exit_code == 2
    assert result.output.startswith("error: config file ")
    assert "Traceback" not in result.output
