"""``cidrep delete``, ``accounts remove`` and ``numbers remove``: deletion that really deletes.

Every test builds its data through the real code paths: accounts and numbers added
with the CLI, ``cidrep check`` reading an FTC-format mirror file (``write_sample``) and
an FCC stand-in on 127.0.0.1 (its rows spell the number ``NNN-NNN-NNNN``), alerts
delivered to two webhook receivers on 127.0.0.1 (one rejects the target's alert with
an answer quoting the number, so a channel error holds it), and ``cidrep digest --send``
(a fleet message listing the number). Then it deletes and reads the database file, its
WAL, its shm and any rollback journal as bytes: no spelling of the deleted number, its
label, tags (and for an account, its name and email) may be left anywhere, while a
control number in another account keeps all of its data.

The world is built once per module; each test works on a byte copy of its database
and WAL. Two things keep the scan honest:

- an idle extra connection stays open, as a long-running ``cidrep`` would: without it
  SQLite deletes the WAL when the CLI closes its connection, and a deletion that
  forgot to checkpoint would go unnoticed;
- cidrep's connections start with ``secure_delete`` off, as SQLite is built by
  default (a build with ``SQLITE_SECURE_DELETE``, like Debian's, zeroes freed cells
  anyway and would hide a missing VACUUM); the number's former label and tag, freed
  by ``numbers edit`` before the deletion, are what only a VACUUM removes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from clitools import cli_invoker
from fixtures_fcc import grouped
from localserver import LocalServer, Reply, Request
from sqlite_utils import Database
from typer.testing import CliRunner

from cidrep import redaction
from cidrep.cli import make_app
from cidrep.plugins import reset_cache
from cidrep_plugins.ftc.sample import write_sample

PLUGINS = "cidrep_plugins.ftc,cidrep_plugins.fcc,cidrep_plugins.webhook"

TARGET = "+12025550143"
CONTROL = "+13125550110"
TARGET_ACCOUNT = "Zebulon Quaffle Ltd"
TARGET_EMAIL = "zq.privacy@quaffle.example"
TARGET_LABEL = "Quaffle Outbound Zeta"
TARGET_TAGS = ("campaign:xyzzy-target", "team:wobbegong")
CONTROL_ACCOUNT = "Control Keepers Inc"
CONTROL_EMAIL = "keep.me@control.example"
CONTROL_LABEL = "Control Line Omega"
CONTROL_TAG = "campaign:control-keep"

# Every way the target number is written: what cidrep stores (E.164 in rows, the
# display form in alert and digest text, the FCC's dashed form in its URLs), the FTC
# file's spellings (national digits, or with a leading 1), and common human forms.
TARGET_STORED = ("+12025550143", "12025550143", "2025550143", "202-555-0143", "+1 202-555-0143")
TARGET_OTHER = ("(202) 555-0143", "202.555.0143", "202 555 0143", "1-202-555-0143")
# What is stored with the number, including a label and tag it no longer has (freed
# space: only a VACUUM is sure to overwrite it).
TARGET_FORMER = ("Quaffle Former Label Kappa", "campaign:old-kappa")
TARGET_ABOUT = (TARGET_LABEL, *TARGET_TAGS, *TARGET_FORMER)
TARGET_OWNER = (TARGET_ACCOUNT, TARGET_EMAIL)  # what goes with the whole account
CONTROL_STORED = ("+13125550110", "312-555-0110", CONTROL_LABEL, CONTROL_TAG)

HOOK_SECRET = "hook-secret-qwertyuiopasdfgh"
TEAM_SECRET = "team-secret-zxcvbnmlkjhgfdsa"
REJECTION = "blocked caller +12025550143 by policy"  # the team receiver's answer


def spellings(*groups: tuple[str, ...]) -> list[str]:
    return [s for group in groups for s in group]


# --- the files on disk ---------------------------------------------------------------


def companions(db_path: Path) -> dict[str, Path]:
    return {
        "db": db_path,
        "wal": db_path.with_name(db_path.name + "-wal"),
        "shm": db_path.with_name(db_path.name + "-shm"),
        "journal": db_path.with_name(db_path.name + "-journal"),
    }


def scan(db_path: Path, needles: list[str]) -> dict[str, list[str]]:
    """needle -> the files (db, wal, shm, journal) whose bytes contain it."""
    contents = {
        name: path.read_bytes() for name, path in companions(db_path).items() if path.exists()
    }
    hits: dict[str, list[str]] = {}
    for needle in needles:
        where = [name for name, data in contents.items() if needle.encode() in data]
        if where:
            hits[needle] = where
    return hits


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def one(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    [row] = rows(db_path, sql, params)
    return next(iter(row.values()))


TABLES = (
    "accounts",
    "numbers",
    "observations",
    "sightings",
    "source_state",
    "alert_sources",
    "alert_numbers",
    "flips",
    "deliveries",
    "account_channels",
    "runs",
    "audit",
)


def table_counts(db_path: Path) -> dict[str, int]:
    return {t: one(db_path, f"SELECT count(*) FROM {t}") for t in TABLES}


def about(db_path: Path, e164: str) -> dict[str, int]:
    """Rows about one number (all accounts), counted independently of the product SQL."""
    ids = "(SELECT id FROM numbers WHERE e164 = ?)"
    queries = {
        "numbers": "SELECT count(*) FROM numbers WHERE e164 = ?",
        "observations": f"SELECT count(*) FROM observations WHERE number_id IN {ids}",
        "sightings": f"SELECT count(*) FROM sightings WHERE number_id IN {ids}",
        "current_state": f"SELECT count(*) FROM source_state WHERE number_id IN {ids}",
        "alert_state": f"""SELECT (SELECT count(*) FROM alert_sources WHERE number_id IN {ids})
                                + (SELECT count(*) FROM alert_numbers WHERE number_id IN {ids})""",
        "flips": f"SELECT count(*) FROM flips WHERE number_id IN {ids}",
        "deliveries": f"""SELECT count(*) FROM deliveries
                          WHERE flip_id IN (SELECT id FROM flips WHERE number_id IN {ids})""",
    }
    return {kind: one(db_path, sql, (e164,) * sql.count("?")) for kind, sql in queries.items()}


# --- the world: real data through real code paths -------------------------------------


@dataclass
class World:
    db: Path
    keeper: sqlite3.Connection
    posts: dict[str, int]  # POSTs each receiver got while the world was built

    def run(self, *args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(make_app(), list(args), input=input, catch_exceptions=False)

    def ref(self, table: str, where: str, value: str) -> str:
        return one(self.db, f"SELECT ref FROM {table} WHERE {where} = ?", (value,))


FCC_DAY = (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m-%dT00:00:00.000")
FCC_ROWS = [
    {
        "issue_date": FCC_DAY,
        "issue": "Robocalls",
        "caller_id_number": dashed,
        "type_of_call_or_messge": "Prerecorded Voice",
    }
    for dashed in ("202-555-0143", "202-555-0143", "312-555-0110")
]


def fcc_answer(request: Request) -> Reply:
    """The grouped Socrata query over ``FCC_ROWS``, as the FCC would answer it."""
    params = {k: v[0] for k, v in request.query.items()}
    asked = set(re.findall(r"'(\d{3}-\d{3}-\d{4})'", params["$where"]))
    hits = [r for r in FCC_ROWS if r["caller_id_number"] in asked]
    offset, limit = int(params["$offset"]), int(params["$limit"])
    body = json.dumps(grouped(hits)[offset : offset + limit])
    return Reply(200, body, {"Content-Type": "application/json"})


def config_text(root: Path, url: str) -> str:
    return (
        "[sources.ftc]\n"
        f'path = "{(root / "ftc").as_posix()}"\n'
        "[sources.fcc]\n"
        f'base_url = "{url}"\nrate_limit = "1000/s"\n'
        "[channels.hook]\n"
        f'type = "webhook"\nurl = "{url}/hook"\nsecret = "{HOOK_SECRET}"\n'
        "[channels.teamhook]\n"
        f'type = "webhook"\nurl = "{url}/team"\nsecret = "{TEAM_SECRET}"\n'
    )


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def open_keeper(db: Path) -> sqlite3.Connection:
    """An idle connection that has read once, so it holds the WAL open (and never a
    snapshot: autocommit, no transaction)."""
    keeper = sqlite3.connect(db, isolation_level=None)
    keeper.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return keeper


class _DefaultBuildDatabase(Database):
    """A cidrep connection as SQLite is built by default: ``secure_delete`` off.

    This interpreter's SQLite may be compiled with ``SQLITE_SECURE_DELETE`` (Debian's
    is), which zeroes every freed cell anyway and would hide a deletion that forgot
    its VACUUM or its own ``PRAGMA secure_delete = ON``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn.execute("PRAGMA secure_delete = OFF")


@dataclass
class Template:
    root: Path
    config: str
    posts: dict[str, int]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    """The world, built once: each test gets a byte copy of its database and WAL."""
    root = tmp_path_factory.mktemp("world")
    (root / "home").mkdir()
    write_sample(root / "ftc", datetime.now(UTC).date(), {TARGET: 6, CONTROL: 2},
                 robocall={TARGET}, filler_rows=8)  # fmt: skip
    with pytest.MonkeyPatch.context() as mp, LocalServer() as server:
        for name in [n for n in os.environ if n.startswith("CIDREP_")]:
            mp.delenv(name)
        mp.setenv("HOME", str(root / "home"))
        mp.setenv("XDG_CONFIG_HOME", str(root / "home" / ".config"))
        mp.setenv("XDG_DATA_HOME", str(root / "home" / ".local" / "share"))
        mp.setenv("CIDREP_CONFIG", str(root / "config.toml"))
        mp.setenv("CIDREP_DB", str(root / "cidrep.db"))
        mp.setattr("cidrep.store.database.Database", _DefaultBuildDatabase)
        cli = cli_invoker(root, mp, PLUGINS)
        server.route("/resource/3xyp-aqkj.json", fcc_answer)
        server.route("/hook", Reply(200, "ok"))
        server.route("/team", Reply(422, REJECTION))
        text = config_text(root, server.url)
        ok(cli("accounts", "add", TARGET_ACCOUNT, "--email", TARGET_EMAIL, config_text=text))
        (root / "config.toml").chmod(0o600)
        keeper = open_keeper(root / "cidrep.db")
        try:
            ok(cli("accounts", "add", CONTROL_ACCOUNT, "--email", CONTROL_EMAIL))
            ok(cli("accounts", "set", TARGET_ACCOUNT, "--channel", "teamhook"))
            former_label, former_tag = TARGET_FORMER
            ok(cli("--account", TARGET_ACCOUNT, "numbers", "add", "202-555-0143",
                   "--label", former_label, "--tag", former_tag))  # fmt: skip
            tags = [x for t in TARGET_TAGS for x in ("--tag", t)]
            ok(cli("--account", TARGET_ACCOUNT, "numbers", "edit", TARGET,
                   "--label", TARGET_LABEL, *tags, "--untag", former_tag))  # fmt: skip
            ok(cli("--account", CONTROL_ACCOUNT, "numbers", "add", "(312) 555-0110",
                   "--label", CONTROL_LABEL, "--tag", CONTROL_TAG))  # fmt: skip
            checked = cli("check")
            assert "FLAGGED" in checked.output and "+1 202-555-0143" in checked.output
            # a run scoped to the account (runs.account holds its name)
            cli("--account", TARGET_ACCOUNT, "check", "--force")
            ok(cli("digest", "--send"))
            posts = Counter(r.path for r in server.requests if r.method == "POST")
            yield Template(root, text, dict(posts))
        finally:
            keeper.close()
            reset_cache()
            redaction.clear()


@pytest.fixture
def world(template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr("cidrep.store.database.Database", _DefaultBuildDatabase)
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", PLUGINS)
    reset_cache()
    (tmp_path / "config.toml").write_text(template.config)  # conftest's CIDREP_CONFIG
    db = tmp_path / "cidrep.db"  # conftest's CIDREP_DB
    for name in ("cidrep.db", "cidrep.db-wal"):
        shutil.copy2(template.root / name, tmp_path / name)
    keeper = open_keeper(db)
    try:
        yield World(db, keeper, template.posts)
    finally:
        keeper.close()


def assert_world_built(world: World) -> None:
    """The scenario really produced the data the deletion must remove."""
    db = world.db
    assert one(db, "PRAGMA journal_mode") == "wal"
    target = about(db, TARGET)
    assert target["sightings"] == 6  # one per FTC complaint row
    assert all(target[k] > 0 for k in target), target
    digests = rows(db, "SELECT alert FROM flips WHERE kind = 'digest'")
    assert len(digests) == 1 and "+1 202-555-0143" in digests[0]["alert"]
    assert TARGET in one(db, "SELECT last_error FROM channel_state WHERE channel = 'teamhook'")
    assert one(db, "SELECT count(*) FROM runs WHERE account = ?", (TARGET_ACCOUNT,)) == 1
    assert one(db, "SELECT count(*) FROM observations WHERE url LIKE '%202-555-0143%'") == 1
    assert world.posts == {"/hook": 3, "/team": 1}  # two alerts and the digest; one rejected
    assert world.keeper.execute("SELECT count(*) FROM numbers").fetchone()[0] == 2
    # The scan sees what is there: every stored spelling is on disk before deleting.
    present = scan(db, spellings(TARGET_STORED, TARGET_ABOUT, TARGET_OWNER, CONTROL_STORED))
    missing = set(spellings(TARGET_STORED, TARGET_ABOUT, TARGET_OWNER, CONTROL_STORED))
    assert missing - set(present) == set()
    assert "wal" in present[TARGET]  # the WAL holds it too: the checkpoint matters


def assert_control_intact(world: World, before: dict[str, int]) -> None:
    db = world.db
    assert about(db, CONTROL) == before
    status = ok(world.run("status", "--json"))
    listed = {n["number"]: n for n in json.loads(status.stdout)["numbers"]}
    assert listed[CONTROL]["verdict"] == "flagged" and listed[CONTROL]["label"] == CONTROL_LABEL
    assert TARGET not in listed
    accounts = json.loads(ok(world.run("accounts", "list", "--json")).stdout)
    assert {a["name"]: a["email"] for a in accounts}[CONTROL_ACCOUNT] == CONTROL_EMAIL
    assert set(scan(db, list(CONTROL_STORED))) == set(CONTROL_STORED)


def assert_gone_from_disk(db: Path, needles: list[str]) -> None:
    assert scan(db, needles) == {}
    wal = companions(db)["wal"]
    assert not wal.exists() or wal.stat().st_size == 0  # the WAL was emptied
    assert not companions(db)["journal"].exists()


def receipt_ref(output: str) -> str:
    match = re.search(r"^receipt ([0-9a-f]{16}) at (\S+) \(cidrep audit lists it\)$", output, re.M)
    assert match, output
    return match[1]


def audit_entries(world: World) -> list[dict[str, Any]]:
    return json.loads(ok(world.run("audit", "--json")).stdout)


# --- deleting a number -----------------------------------------------------------------


def test_delete_number_leaves_no_spelling_on_disk_and_keeps_the_control(world):
    assert_world_built(world)
    db = world.db
    control = about(db, CONTROL)
    target = about(db, TARGET)
    number_ref = world.ref("numbers", "e164", TARGET)
    account_ref = world.ref("accounts", "name", TARGET_ACCOUNT)
    before = table_counts(db)

    result = world.run("delete", "--number", "(202) 555-0143", "--yes")

    assert result.exit_code == 0, result.output
    assert_gone_from_disk(db, spellings(TARGET_STORED, TARGET_OTHER, TARGET_ABOUT))
    assert_control_intact(world, control)
    after = table_counts(db)
    assert after["numbers"] == before["numbers"] - 1
    assert after["sightings"] == before["sightings"] - target["sightings"]
    assert after["accounts"] == before["accounts"]  # a number scope keeps the account
    assert one(db, "SELECT email FROM accounts WHERE name = ?", (TARGET_ACCOUNT,)) == TARGET_EMAIL
    assert one(db, "SELECT count(*) FROM flips WHERE kind = 'digest'") == 0
    error = one(db, "SELECT last_error FROM channel_state WHERE channel = 'teamhook'")
    assert error is not None and "555" not in error  # blanked, not dropped

    # The receipt: printed counts per kind and an id; the audit entry is opaque.
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"deleted +1 202-555-0143: 1 number, {target['observations']} history rows, "
        f"6 sightings, {target['current_state']} current-state rows, "
        f"{target['alert_state']} alert-state rows, {target['flips']} flips, "
        f"{target['deliveries'] + 1} deliveries, 1 digest"
    )
    ref = receipt_ref(result.stdout)
    assert lines[-1].startswith("database vacuumed and its WAL emptied")
    [entry] = [e for e in audit_entries(world) if e["action"] == "delete"]
    assert entry["ref"] == ref and entry["scope"] == "numbers"
    assert entry["refs"] == [number_ref] and account_ref not in entry["refs"]
    assert entry["counts"] == {
        **target,
        "deliveries": target["deliveries"] + 1,  # the digest's delivery
        "digests": 1,
    }
    text = json.dumps(entry)
    leaked = [s for s in spellings(TARGET_STORED, TARGET_ABOUT, TARGET_OWNER) if s in text]
    assert leaked == []
    assert scan(db, [ref, number_ref]) == {ref: ["db"], number_ref: ["db"]}  # only in audit


def test_delete_number_json_receipt(world):
    target = about(world.db, TARGET)
    result = world.run("delete", "--number", TARGET, "--yes", "--json")
    assert result.exit_code == 0, result.output
    receipt = json.loads(result.stdout)
    assert set(receipt) == {"receipt", "at", "scope", "counts", "wal_emptied"}
    assert receipt["scope"] == "numbers" and receipt["wal_emptied"] is True
    assert receipt["counts"]["sightings"] == target["sightings"] == 6
    assert receipt["counts"]["digests"] == 1
    assert not [s for s in spellings(TARGET_STORED, TARGET_ABOUT) if s in result.stdout]
    [entry] = audit_entries(world)
    assert entry["ref"] == receipt["receipt"] and entry["at"] == receipt["at"]
    assert entry["counts"] == receipt["counts"]


def test_the_audit_entry_survives_later_deletions_and_prunes(world):
    first = receipt_ref(ok(world.run("delete", "--number", TARGET, "--yes")).stdout)
    second = receipt_ref(ok(world.run("delete", "--account", CONTROL_ACCOUNT, "--yes")).stdout)
    ok(world.run("prune"))
    entries = audit_entries(world)
    assert [e["action"] for e in entries] == ["delete", "delete", "prune"]
    assert [e["ref"] for e in entries[:2]] == [first, second]
    assert entries[1]["scope"] == "account" and entries[1]["counts"]["accounts"] == 1
    table = ok(world.run("audit")).stdout
    for needle in spellings(TARGET_STORED, CONTROL_STORED, TARGET_ABOUT, (CONTROL_ACCOUNT,)):
        assert needle not in table and needle not in json.dumps(entries)


# --- deleting an account ---------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("delete", "--account", TARGET_ACCOUNT, "--yes"),
        ("accounts", "remove", TARGET_ACCOUNT, "--yes"),
    ],
    ids=["delete-account", "accounts-remove"],
)
def test_deleting_the_account_removes_name_email_numbers_routes_and_runs(world, command):
    assert_world_built(world)
    db = world.db
    control = about(db, CONTROL)
    target = about(db, TARGET)
    account_ref = world.ref("accounts", "name", TARGET_ACCOUNT)
    number_ref = world.ref("numbers", "e164", TARGET)

    result = world.run(*command)

    assert result.exit_code == 0, result.output
    assert_gone_from_disk(db, spellings(TARGET_STORED, TARGET_OTHER, TARGET_ABOUT, TARGET_OWNER))
    assert_control_intact(world, control)
    assert one(db, "SELECT count(*) FROM accounts WHERE name = ?", (TARGET_ACCOUNT,)) == 0
    assert one(db, "SELECT count(*) FROM account_channels") == 0
    assert one(db, "SELECT count(*) FROM runs WHERE account IS NOT NULL") == 0
    assert one(db, "SELECT count(*) FROM runs") == 1  # the fleet-wide run stays
    assert result.stdout.startswith(
        f"deleted account {TARGET_ACCOUNT!r}: 1 account, 1 run, 1 number, "
        f"{target['observations']} history rows, 6 sightings"
    )
    assert "1 channel route" in result.stdout and "1 digest" in result.stdout
    ref = receipt_ref(result.stdout)
    [entry] = audit_entries(world)
    assert entry["ref"] == ref and entry["action"] == "delete" and entry["scope"] == "account"
    assert entry["refs"] == [account_ref] and number_ref not in entry["refs"]
    assert entry["counts"]["accounts"] == 1 and entry["counts"]["routes"] == 1
    text = json.dumps(entry)
    assert [s for s in spellings(TARGET_STORED, TARGET_ABOUT, TARGET_OWNER) if s in text] == []


def test_numbers_remove_yes_is_the_same_deletion_in_the_scoped_account(world):
    db = world.db
    control = about(db, CONTROL)
    result = world.run("--account", TARGET_ACCOUNT, "numbers", "remove", "2025550143", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"removed {TARGET}"
    assert_gone_from_disk(db, spellings(TARGET_STORED, TARGET_OTHER, TARGET_ABOUT))
    assert_control_intact(world, control)
    [entry] = audit_entries(world)
    assert entry["action"] == "delete" and entry["counts"]["sightings"] == 6


def test_a_number_held_by_two_accounts_goes_from_both_unless_narrowed(world):
    ok(world.run("--account", CONTROL_ACCOUNT, "numbers", "add", TARGET))
    narrowed = world.run("--account", CONTROL_ACCOUNT, "delete", "--number", TARGET, "--yes")
    assert narrowed.exit_code == 0, narrowed.output
    assert narrowed.stdout.startswith(f"deleted +1 202-555-0143 in account {CONTROL_ACCOUNT!r}")
    assert about(world.db, TARGET)["sightings"] == 6  # the other account's copy is untouched
    assert about(world.db, TARGET)["numbers"] == 1

    ok(world.run("--account", CONTROL_ACCOUNT, "numbers", "add", TARGET))
    both = ok(world.run("delete", "--number", TARGET, "--yes"))
    assert "2 numbers" in both.stdout.splitlines()[0]
    assert about(world.db, TARGET)["numbers"] == 0
    assert_gone_from_disk(world.db, spellings(TARGET_STORED, TARGET_ABOUT))


# --- confirmation and scope errors ------------------------------------------------------


def assert_nothing_deleted(world: World, before: dict[str, int]) -> None:
    assert table_counts(world.db) == before
    assert about(world.db, TARGET)["sightings"] == 6


@pytest.mark.parametrize(
    "command",
    [
        ("delete", "--number", TARGET),
        ("delete", "--account", TARGET_ACCOUNT),
        ("accounts", "remove", TARGET_ACCOUNT),
        ("--account", TARGET_ACCOUNT, "numbers", "remove", TARGET),
    ],
    ids=["delete-number", "delete-account", "accounts-remove", "numbers-remove"],
)
def test_without_yes_and_no_terminal_it_refuses_in_one_line(world, command):
    before = table_counts(world.db)
    result = world.run(*command)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: deleting ") and line.endswith("; pass --yes to confirm")
    assert "6 sightings" in line
    assert_nothing_deleted(world, before)
    assert audit_entries(world) == []


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--account", TARGET_ACCOUNT, "--number", TARGET),
        ("--number", "+12025550199"),  # valid, not monitored
        ("--number", TARGET, "--number", "+12025550199"),  # one unknown: none deleted
        ("--number", "not-a-number"),
        ("--account", "No Such Account"),
    ],
    ids=["no-scope", "both-scopes", "unknown", "one-unknown", "invalid", "unknown-account"],
)
def test_a_wrong_scope_exits_2_and_deletes_nothing(world, args):
    before = table_counts(world.db)
    result = world.run("delete", *args, "--yes")
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ")
    assert_nothing_deleted(world, before)
    if "+12025550199" in args:
        assert result.stderr == "error: not monitored: +12025550199\n"


def test_an_unknown_number_in_numbers_remove_deletes_nothing(world):
    before = table_counts(world.db)
    result = world.run(
        "--account", TARGET_ACCOUNT, "numbers", "remove", TARGET, "+12025550199", "--yes"
    )
    assert result.exit_code == 2, result.output
    assert_nothing_deleted(world, before)


class _Terminal:
    def isatty(self) -> bool:
        return True


def _as_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    real = typer.get_text_stream
    monkeypatch.setattr(
        typer,
        "get_text_stream",
        lambda name, *a, **k: _Terminal() if name == "stdin" else real(name, *a, **k),
    )


def test_at_a_terminal_answering_no_deletes_nothing(world, monkeypatch):
    _as_terminal(monkeypatch)
    before = table_counts(world.db)
    result = world.run("delete", "--number", TARGET, input="n\n")
    assert result.exit_code == 1
    assert "Delete +1 202-555-0143: 1 number, " in result.output
    assert "This cannot be undone" in result.output
    assert_nothing_deleted(world, before)


def test_at_a_terminal_answering_yes_deletes(world, monkeypatch):
    _as_terminal(monkeypatch)
    result = world.run("delete", "--number", TARGET, input="y\n")
    assert result.exit_code == 0, result.output
    assert about(world.db, TARGET)["numbers"] == 0
    assert_gone_from_disk(world.db, spellings(TARGET_STORED, TARGET_ABOUT))


def test_numbers_remove_of_a_never_checked_number_needs_no_yes(world):
    ok(world.run("--account", CONTROL_ACCOUNT, "numbers", "add", "+12025550177"))
    result = world.run("--account", CONTROL_ACCOUNT, "numbers", "remove", "+12025550177")
    assert result.exit_code == 0, result.output
    assert one(world.db, "SELECT count(*) FROM numbers WHERE e164 = '+12025550177'") == 0


# --- one transaction --------------------------------------------------------------------


def test_a_failure_mid_delete_deletes_nothing(world, monkeypatch):
    from cidrep.privacy import erase as privacy_erase
    from cidrep.store import audit, open_db

    before = table_counts(world.db)
    channel_error = one(world.db, "SELECT last_error FROM channel_state WHERE channel='teamhook'")

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("disk gremlin")

    monkeypatch.setattr(audit, "record", broken)
    db = open_db(world.db)
    assert db.conn.execute("PRAGMA secure_delete").fetchone()[0] == 0
    try:
        with pytest.raises(RuntimeError, match="disk gremlin"):
            privacy_erase.delete(db, kind="numbers", e164s=(TARGET,), now="2026-01-01T00:00:00Z")
        assert not db.conn.in_transaction
        assert db.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        db.close()
    assert_nothing_deleted(world, before)
    assert one(world.db, "SELECT count(*) FROM flips WHERE kind = 'digest'") == 1
    assert (
        one(world.db, "SELECT last_error FROM channel_state WHERE channel='teamhook'")
        == channel_error
    )
    assert audit_entries(world) == []


def test_direct_delete_counts_what_it_removed_and_plan_agrees(world):
    from cidrep.privacy.erase import delete, plan
    from cidrep.store import open_db

    target = about(world.db, TARGET)
    db = open_db(world.db)
    try:
        planned = plan(db, "numbers", (), (TARGET,))
        assert planned.numbers == 1 and planned.accounts == 1
        assert not db.conn.in_transaction  # plan() leaves no transaction open
        receipt = delete(db, kind="numbers", e164s=(TARGET,), now="2026-01-01T00:00:00Z")
    finally:
        db.close()
    assert receipt.counts == planned.counts
    assert receipt.counts == {**target, "deliveries": target["deliveries"] + 1, "digests": 1}
    assert receipt.as_dict()["wal_emptied"] is True


# --- a reader holding an old snapshot -------------------------------------------------


def test_a_busy_reader_is_reported_and_prune_empties_the_wal_later(world, monkeypatch):
    # The TRUNCATE checkpoint waits the busy timeout for the reader: shorten the wait.
    monkeypatch.setattr("cidrep.store.database.BUSY_TIMEOUT_MS", 100)
    reader = sqlite3.connect(world.db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM numbers").fetchone()[0] == 2
        result = world.run("delete", "--number", TARGET, "--yes")
        assert result.exit_code == 0, result.output
        assert "another process is reading the database" in result.stderr
        assert "WAL emptied" not in result.stdout
        assert about(world.db, TARGET)["numbers"] == 0  # deleted all the same
        assert "wal" in scan(world.db, [TARGET])[TARGET]  # as the warning says
        reader.execute("COMMIT")
    finally:
        reader.close()
    ok(world.run("prune"))
    assert_gone_from_disk(world.db, spellings(TARGET_STORED, TARGET_OTHER, TARGET_ABOUT))
    assert [e["action"] for e in audit_entries(world)] == ["delete", "prune"]


# --- how a number is recognised in free text -------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("+1 202-555-0143 and +442071838750", {TARGET, "+442071838750"}),
        ('{"number":"+12025550143"}', {TARGET}),
        ("- 2 newly flagged: +1 312-555-0110, +1 202-555-0143", {TARGET, CONTROL}),
        # the docstring's truth table: any spelling yields its E.164 candidates
        ("+1 202-555-0143", {TARGET}),
        ("(202) 555-0143", {"+2025550143", TARGET}),
        ("blocked 2025550143", {"+2025550143", TARGET}),
        ("1-202-555-0143", {TARGET}),
        ("+44 20 7183 8750", {"+442071838750"}),
        ("retry in 30 s", set()),
        # the other spellings of TARGET_STORED and TARGET_OTHER
        ("12025550143", {TARGET}),
        ("202-555-0143", {"+2025550143", TARGET}),
        ("202.555.0143", {"+2025550143", TARGET}),
        ("202 555 0143", {"+2025550143", TARGET}),
        ("+1 (202) 555-0143", {TARGET}),
        # 7 and 15 digits are the bounds
        ("call 555-0143", {"+5550143"}),
        ("call 555-014", set()),
        ("+123456789012345", {"+123456789012345"}),
        ("1234567890123456", set()),
        ("", set()),
    ],
)
def test_numbers_in_text(text, found):
    """Every number quoted is among the candidates; text quoting none gives none.

    Extra candidates are by design (deleting too much text is the safe direction)."""
    from cidrep.privacy.erase import numbers_in_text

    candidates = numbers_in_text(text)
    assert found <= candidates
    if not found:
        assert candidates == set()


@pytest.mark.parametrize(
    "echoed",
    [
        "202-555-0143",
        "2025550143",
        "(202) 555-0143",
        "202.555.0143",
        "1-202-555-0143",
        "12025550143",
        "202-555-0143 3 times",
    ],
    ids=[
        "fcc-dashed",
        "ftc-national",
        "parenthesised",
        "dotted",
        "with-1-dashed",
        "ftc-leading-1",
        "followed-by-a-count",
    ],
)
def test_a_channel_error_quoting_the_number_in_any_spelling_is_removed(
    tmp_path, monkeypatch, echoed
):
    cli = cli_invoker(tmp_path, monkeypatch, PLUGINS)
    write_sample(tmp_path / "ftc", datetime.now(UTC).date(), {TARGET: 2}, filler_rows=2)
    with LocalServer() as server:
        server.route("/hook", Reply(422, f"blocked caller {echoed}"))
        text = (
            f'[sources.ftc]\npath = "{(tmp_path / "ftc").as_posix()}"\n'
            "[sources.fcc]\nenabled = false\n"
            f'[channels.hook]\ntype = "webhook"\nurl = "{server.url}/hook"\n'
            f'secret = "{HOOK_SECRET}"\n'
        )
        ok(cli("numbers", "add", TARGET, config_text=text))
        assert "DELIVERY FAILING" in cli("check").output
    db = tmp_path / "cidrep.db"
    assert echoed in one(db, "SELECT last_error FROM channel_state WHERE channel = 'hook'")
    ok(cli("delete", "--number", TARGET, "--yes"))
    assert one(db, "SELECT count(*) FROM numbers") == 0
    assert scan(db, spellings(TARGET_STORED, TARGET_OTHER)) == {}
