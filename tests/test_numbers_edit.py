"""``cidrep numbers edit`` end to end, and the new-area-code warning on add/import/edit."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cidrep.cli import make_app

A = "+12025550101"
NEW = "+16242345678"  # an area code newer than the phone-number metadata


@pytest.fixture
def cli():
    def invoke(*args: str):
        return CliRunner().invoke(make_app(), list(args), catch_exceptions=False)

    return invoke


def listed(cli, *extra: str) -> dict[str, dict]:
    result = cli(*extra, "numbers", "list", "--json")
    assert result.exit_code == 0, result.output
    return {n["number"]: n for n in json.loads(result.stdout)}


def test_edit_label_and_tags(cli):
    cli("numbers", "add", A, "-l", "Sales", "-t", "team:x")
    result = cli("numbers", "edit", "202-555-0101", "--label", "East", "-t", "a", "-t", "b")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{A}: label 'Sales' -> 'East'; tagged a, b"
    assert listed(cli)[A]["label"] == "East"
    assert listed(cli)[A]["tags"] == ["a", "b", "team:x"]

    result = cli("numbers", "edit", A, "--untag", "team:x", "--untag", "nope")
    assert result.stdout.strip() == f"{A}: untagged team:x"
    assert listed(cli)[A]["tags"] == ["a", "b"]


def test_empty_label_clears_it_and_a_repeat_is_unchanged(cli):
    cli("numbers", "add", A, "-l", "Sales")
    assert cli("numbers", "edit", A, "--label", "").stdout.strip() == f"{A}: label 'Sales' cleared"
    assert listed(cli)[A]["label"] is None
    again = cli("numbers", "edit", A, "--label", "")
    assert again.exit_code == 0 and again.stdout.strip() == f"{A}: unchanged"


def test_edit_acts_on_the_scoped_account_only(cli):
    cli("accounts", "add", "acme")
    cli("--account", "acme", "numbers", "add", A, "-l", "Acme line")
    cli("numbers", "add", A, "-l", "Default line")
    result = cli("--account", "acme", "numbers", "edit", A, "-l", "Renamed")
    assert result.exit_code == 0, result.output
    assert listed(cli, "--account", "acme")[A]["label"] == "Renamed"
    assert listed(cli, "--account", "default")[A]["label"] == "Default line"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((A,), "error: nothing to change: give --label, --tag or --untag"),
        (("202-555-0199", "-l", "x"), "error: not monitored in account 'default': +12025550199"),
        ((A, "-t", "a,b"), "error: invalid tag 'a,b'"),
        ((A, "-t", ""), "error: invalid tag ''"),
        ((A, "-u", "x;y"), "error: invalid tag 'x;y'"),
        ((A, "-t", "bad\ntag"), "error: invalid tag 'bad\\ntag'"),
        ((A, "-t", "x", "-u", "x"), "error: tag 'x' is both added (--tag) and removed (--untag)"),
        (("555-1234", "-l", "x"), "error: '555-1234' is not a valid phone number in region US"),
    ],
)
def test_edit_refusals_are_one_line_and_change_nothing(cli, args, message):
    cli("numbers", "add", A, "-l", "Sales", "-t", "keep")
    before = listed(cli)
    result = cli("numbers", "edit", *args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(message)
    assert listed(cli) == before


def test_new_area_code_warns_on_add_import_and_edit(cli, tmp_path):
    warning = f"warning: {NEW} is not in this phone-number metadata (a new area code?)"
    added = cli("numbers", "add", "(624) 234-5678")
    assert added.exit_code == 0
    assert added.stdout.strip() == f"added {NEW}"
    assert added.stderr.startswith(warning)

    edited = cli("numbers", "edit", "624-234-5678", "-l", "New")
    assert edited.exit_code == 0 and edited.stderr.startswith(warning)

    csv = tmp_path / "n.csv"
    csv.write_text("number\n202-555-0101\n624 234 5679\n")
    imported = cli("numbers", "import", str(csv))
    assert imported.exit_code == 0
    assert imported.stderr.splitlines() == [
        f"warning: {csv}:3: +16242345679 is not in this phone-number metadata "
        "(a new area code?); accepted as a possible NANP number"
    ]
    assert set(listed(cli)) == {A, NEW, "+16242345679"}
