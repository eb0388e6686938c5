"""``cidrep privacy`` and ``cidrep audit``: generated from the code, the config and the
database, never hand-written.

- what is stored: row counts per account (and fleet-wide) equal to what is there;
- what each enabled source sends (its plugin's ``disclosure``) and what each channel
  sends where (masked target, no secret anywhere in the output);
- the retention in force and the last prune; the files with their modes, and a
  ``warning:`` line when the database or the config is readable by others;
- a third-party plugin registered through the pluggy door appears by itself;
- the audit log lists every export, restore, deletion and prune, in order.
"""

from __future__ import annotations

import getpass
import json
import re
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from clitools import cli_invoker

from cidrep.plugins import get_channels, get_checkers
from cidrep.privacy.retention import cutoff_day
from cidrep.store import open_db
from cidrep.store.numbers import NumberEntry, add_numbers

A, B, C = "+12025550101", "+12025550102", "+13125550103"
BUILTIN = "cidrep_plugins.ftc,cidrep_plugins.fcc,cidrep_plugins.slack,cidrep_plugins.webhook"
SLACK_SECRET = "T0AAAAAAA/B0BBBBBBB/xoxSlackSecret0123456789"
HOOK_PATH = "ingest/tok3nSecretPath9876"
HOOK_KEY = "whsec-0123456789abcdefXYZ"
CHANNELS = f"""
[channels.ops]
type = "slack"
url = "https://hooks.slack.com/services/{SLACK_SECRET}"

[channels.siem]
type = "webhook"
url = "https://siem.example.test/{HOOK_PATH}"
secret = "{HOOK_KEY}"
enabled = false
"""
SECRETS = (SLACK_SECRET, "xoxSlackSecret0123456789", HOOK_PATH, "tok3nSecretPath9876", HOOK_KEY)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    return cli_invoker(tmp_path, monkeypatch, BUILTIN)


def config_text(tmp_path: Path, extra: str = "", retention: int = 120) -> str:
    mirror = tmp_path / "ftc"
    mirror.mkdir(exist_ok=True)
    return (
        f"retention_days = {retention}\n"
        f'[sources.ftc]\npath = "{mirror}"\n'
        "[sources.fcc]\nenabled = false\n" + extra
    )


def seed_two_accounts(db_path: Path) -> dict[str, dict[str, int]]:
    """default: A, B; acme: C; plus fleet rows. Returns the expected per-account counts."""
    db = open_db(db_path)
    conn = db.conn
    t = "2026-11-20T08:00:00Z"
    conn.execute("INSERT INTO accounts (name, created_at) VALUES ('acme', ?)", [t])
    add_numbers(db, 1, [NumberEntry(A), NumberEntry(B)], t)
    add_numbers(db, 2, [NumberEntry(C)], t)
    a, b, c = (
        conn.execute("SELECT id FROM numbers WHERE e164 = ?", [n]).fetchone()[0] for n in (A, B, C)
    )
    for i, (number, source) in enumerate([(a, "ftc"), (a, "ftc"), (b, "ftc"), (c, "fcc")]):
        conn.execute(
            """INSERT INTO observations (number_id, source, verdict, fingerprint, first_seen,
               last_seen) VALUES (?, ?, 'clean', ?, ?, ?)""",
            [number, source, f"fp{i}", t, t],
        )
    for number, source in [(a, "ftc"), (b, "ftc"), (c, "fcc")]:
        conn.execute(
            "INSERT INTO source_state (number_id, source, verdict) VALUES (?, ?, 'clean')",
            [number, source],
        )
    for i, number in enumerate([a, b, c, c, c]):
        conn.execute(
            """INSERT INTO sightings (number_id, source, key, occurred_at)
               VALUES (?, 'ftc', ?, '2026-11-19')""",
            [number, f"k{i}"],
        )
    flips = {}
    for key, number in [("f-a", a), ("f-c1", c), ("f-c2", c), ("notice", None)]:
        flips[key] = conn.execute(
            "INSERT INTO flips (key, at, kind, number_id) VALUES (?, ?, 'flagged', ?)",
            [key, t, number],
        ).lastrowid
    for key, channel in [("f-a", "ops"), ("f-a", "siem"), ("f-c1", "ops"), ("notice", "ops")]:
        conn.execute(
            """INSERT INTO deliveries (flip_id, channel, created_at, next_try)
               VALUES (?, ?, ?, ?)""",
            [flips[key], channel, t, t],
        )
    conn.execute("INSERT INTO runs (started_at) VALUES (?)", [t])
    conn.execute("INSERT INTO runs (started_at) VALUES (?)", [t])
    conn.execute("INSERT INTO feeds (source, updated_at) VALUES ('ftc', ?)", [t])
    conn.execute("INSERT INTO channel_state (channel, last_success) VALUES ('ops', ?)", [t])
    conn.commit()
    db.close()
    return {
        "acme": {
            "numbers": 1,
            "history": 1,
            "sightings": 3,
            "current_state": 1,
            "flips": 2,
            "deliveries": 1,
        },
        "default": {
            "numbers": 2,
            "history": 3,
            "sightings": 2,
            "current_state": 2,
            "flips": 1,
            "deliveries": 2,
        },
    }


def flat(text: str) -> str:
    """The text with every run of whitespace as one space (the report wraps long lines)."""
    return " ".join(text.split())


def privacy_json(cli: Any, *args: str, config: str | None = None) -> tuple[dict, Any]:
    result = cli(*args, "privacy", "--json", config_text=config)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result


# --- what is stored, sent, kept, and where -------------------------------------


def test_privacy_json_is_generated_from_the_database_plugins_and_config(cli, tmp_path):
    from cidrep.timeutil import utcnow

    expected = seed_two_accounts(tmp_path / "cidrep.db")
    day_before = cutoff_day(utcnow(), 120)
    report, result = privacy_json(cli, config=config_text(tmp_path, CHANNELS))
    day_after = cutoff_day(utcnow(), 120)

    stored = {a["account"]: a["rows"] for a in report["stored"]["accounts"]}
    assert stored == expected
    assert report["stored"]["fleet"] == {
        "runs": 2,
        "notices": 1,
        "feeds": 1,
        "feed_items": 0,
        "channel_state": 1,
        "audit": 0,
    }

    checkers = get_checkers()
    sources = {s["name"]: s for s in report["sources"]}
    assert set(sources) == {"ftc", "fcc"}
    assert sources["ftc"]["enabled"] is True
    assert sources["ftc"]["sends"] == checkers["ftc"].disclosure
    assert sources["ftc"]["plugin"] == checkers["ftc"].__module__
    assert sources["fcc"]["enabled"] is False
    assert sources["fcc"]["sends"] == "nothing (disabled)"
    # no "to": the ftc source reads a local mirror, whatever its base_url says
    assert all(
        set(s) == {"name", "enabled", "skipped", "sends", "plugin"} for s in sources.values()
    )

    types = get_channels()
    channels = {c["name"]: c for c in report["channels"]}
    assert channels["ops"] == {
        "name": "ops",
        "type": "slack",
        "enabled": True,
        "target": "https://hooks.slack.com/***",
        "sends": types["slack"].disclosure,
    }
    assert channels["siem"]["enabled"] is False and channels["siem"]["type"] == "webhook"
    assert channels["siem"]["target"] == "https://siem.example.test/***"
    assert channels["siem"]["sends"] == "nothing (disabled)"
    for secret in SECRETS:
        assert secret not in result.output

    retention = report["retention"]
    assert retention["days"] == 120
    assert retention["first_day_kept"] in {day_before, day_after}
    assert retention["applies_to"] == ["history", "sightings", "flips", "deliveries", "runs"]
    assert retention["last_prune"] is None and retention["last_recorded_prune"] is None

    files = report["files"]
    assert files["database"]["path"] == str((tmp_path / "cidrep.db").resolve())
    assert files["database"]["mode"] == "0600" and files["database"]["exists"] is True
    assert files["database"]["owner"] == getpass.getuser()
    assert files["config"]["path"] == str((tmp_path / "config.toml").resolve())
    assert files["config"]["mode"] == "0600"
    assert report["warnings"] == [] and "warning" not in result.stderr


def test_privacy_text_names_every_part(cli, tmp_path):
    seed_two_accounts(tmp_path / "cidrep.db")
    result = cli("privacy", config_text=config_text(tmp_path, CHANNELS))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"^acme\s+1\s+1\s+3\s+1\s+2\s+1$", out, re.M), out
    assert re.search(r"^default\s+2\s+3\s+2\s+2\s+1\s+2$", out, re.M), out
    text = flat(out)
    types = get_channels()
    assert f"Stored in {(tmp_path / 'cidrep.db').resolve()} (mode 0600" in text
    assert f"ftc (enabled): {flat(get_checkers()['ftc'].disclosure)}" in text
    assert "fcc (disabled): nothing (disabled)" in text
    assert (
        f"ops (slack, enabled) to https://hooks.slack.com/***: {flat(types['slack'].disclosure)}"
        in text
    )
    assert "siem (webhook, disabled) to https://siem.example.test/***: nothing (disabled)" in text
    assert flat(types["webhook"].disclosure) not in text
    assert "Retention: 120 days for history, sightings, flips, deliveries, runs" in text
    assert "last prune: never" in text
    assert f"Config: {(tmp_path / 'config.toml').resolve()} (mode 0600" in text
    assert result.stderr == ""
    for secret in SECRETS:
        assert secret not in result.output


def test_privacy_shows_the_last_prune(cli, tmp_path, monkeypatch):
    import cidrep.timeutil

    at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    monkeypatch.setattr(cidrep.timeutil, "utcnow", lambda: at)
    config = config_text(tmp_path)
    assert cli("prune", config_text=config).exit_code == 0
    report, _ = privacy_json(cli)
    assert report["retention"]["last_prune"] == "2026-11-23T10:00:00Z"
    assert report["retention"]["first_day_kept"] == cutoff_day(at, 120) == "2026-07-26"
    entry = report["retention"]["last_recorded_prune"]
    assert (entry["action"], entry["scope"], entry["at"]) == (
        "prune",
        "retention",
        "2026-11-23T10:00:00Z",
    )
    assert "last prune: 2026-11-23T10:00:00Z" in flat(cli("privacy").stdout)


def test_privacy_before_any_database_exists(cli, tmp_path):
    result = cli("privacy", config_text=config_text(tmp_path))
    assert result.exit_code == 0, result.output
    assert "(not created yet)" in result.stdout
    assert not (tmp_path / "cidrep.db").exists()  # describing it does not create it
    report = json.loads(cli("privacy", "--json").stdout)
    assert report["stored"] == {"accounts": [], "fleet": {}}
    assert report["files"]["database"]["exists"] is False


@pytest.mark.parametrize(
    ("target", "mode", "readers"),
    [
        ("database", 0o644, "group and others"),
        ("config", 0o644, "group and others"),
        ("database", 0o640, "group"),
        ("config", 0o604, "others"),
    ],
)
def test_a_file_others_can_read_gets_a_warning(cli, tmp_path, target, mode, readers):
    config = config_text(tmp_path)
    assert cli("numbers", "add", A, config_text=config).exit_code == 0
    path = (tmp_path / ("cidrep.db" if target == "database" else "config.toml")).resolve()
    clean = cli("privacy")
    assert clean.stderr == "" and "warning" not in clean.output  # 0600: none

    path.chmod(mode)
    result = cli("privacy")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("warning: ") for line in lines), result.stderr
    (warning,) = [line for line in lines if f" {path} is readable" in line]
    assert f"warning: {target} " in warning and f"readable by {readers}" in warning
    assert f"chmod 600 {path}" in warning
    # the rest (if any) are the database's own -wal/-shm, which take its mode
    assert all(
        f"{path}-wal " in line or f"{path}-shm " in line for line in lines if line != warning
    )
    assert f"(mode {mode:04o}" in result.stdout
    report = json.loads(cli("privacy", "--json").stdout)
    assert any(f" {path} is readable" in w for w in report["warnings"])
    assert len(report["warnings"]) == len(lines)
    key = "database" if target == "database" else "config"
    assert report["files"][key]["mode"] == f"{mode:04o}"

    path.chmod(0o600)
    assert "warning" not in cli("privacy").stderr


# --- a third-party plugin appears by itself ------------------------------------

SOURCE_DISCLOSURE = "sends each monitored number to api.acme-rep.test over HTTPS (ACME-7F3A)"
CHANNEL_DISCLOSURE = "pages the on-call phone through pager.acme.test (PAGER-91C2)"
PLUGIN = f'''
"""A third-party cidrep plugin: one lookup source and one channel type."""

from typing import ClassVar, Literal

from pydantic import SecretStr

from cidrep.contract import (
    Channel, ChannelSettings, LookupChecker, Observation, SourceSettings, Verdict,
)
from cidrep.hookspecs import hookimpl


class AcmeSettings(SourceSettings):
    base_url: str = "https://api.acme-rep.test/v1"


class AcmeReputation(LookupChecker):
    name = "acmerep"
    description = "ACME reputation API"
    disclosure = {SOURCE_DISCLOSURE!r}
    settings_model = AcmeSettings

    async def lookup(self, numbers, http):
        return [Observation(n, Verdict.CLEAN) for n in numbers]


class PagerSettings(ChannelSettings):
    type: Literal["pager"]
    url: SecretStr


class Pager(Channel):
    type: ClassVar[str] = "pager"
    description: ClassVar[str] = "ACME pager"
    disclosure: ClassVar[str] = {CHANNEL_DISCLOSURE!r}
    settings_model = PagerSettings


@hookimpl
def register_checkers(register):
    register(AcmeReputation)


@hookimpl
def register_channels(register):
    register(Pager)
'''
PAGER = """
[channels.oncall]
type = "pager"
url = "https://pager.acme.test/hooks/pg-SECRET-0123456789"
"""


@pytest.fixture
def plugin_cli(tmp_path, monkeypatch):
    name = "acme_cidrep_plugin"
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / f"{name}.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path / "plugin"))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return cli_invoker(tmp_path, monkeypatch, f"cidrep_plugins.ftc,{name}")


def plugin_config(tmp_path: Path, extra: str = "") -> str:
    mirror = tmp_path / "ftc"
    mirror.mkdir(exist_ok=True)
    return f'[sources.ftc]\npath = "{mirror}"\n' + extra


def test_a_new_plugins_disclosures_appear_by_themselves(plugin_cli, tmp_path):
    text = plugin_cli("privacy", config_text=plugin_config(tmp_path, PAGER))
    assert text.exit_code == 0, text.output
    out = flat(text.stdout)
    assert f"acmerep (enabled): {SOURCE_DISCLOSURE}" in out
    assert f"oncall (pager, enabled) to https://pager.acme.test/***: {CHANNEL_DISCLOSURE}" in out
    assert "pg-SECRET-0123456789" not in text.output

    report = json.loads(plugin_cli("privacy", "--json").stdout)
    acme = next(s for s in report["sources"] if s["name"] == "acmerep")
    assert acme == {
        "name": "acmerep",
        "enabled": True,
        "skipped": None,
        "sends": SOURCE_DISCLOSURE,
        "plugin": "acme_cidrep_plugin",
    }
    assert get_checkers()["acmerep"].disclosure == SOURCE_DISCLOSURE
    (pager,) = report["channels"]
    assert pager["sends"] == CHANNEL_DISCLOSURE == get_channels()["pager"].disclosure
    assert pager["target"] == "https://pager.acme.test/***"


def test_a_disabled_plugin_source_sends_nothing(plugin_cli, tmp_path):
    config = plugin_config(tmp_path, "[sources.acmerep]\nenabled = false\n")
    text = plugin_cli("privacy", config_text=config)
    out = flat(text.stdout)
    assert "acmerep (disabled): nothing (disabled)" in out
    assert SOURCE_DISCLOSURE not in out and "ACME-7F3A" not in text.stdout
    assert "none configured: no alert leaves this machine" in out
    report = json.loads(plugin_cli("privacy", "--json").stdout)
    acme = next(s for s in report["sources"] if s["name"] == "acmerep")
    assert acme["enabled"] is False and acme["sends"] == "nothing (disabled)"
    assert report["channels"] == []


# --- the audit log ----------------------------------------------------------------

HEX16 = re.compile(r"^[0-9a-f]{16}$")


def test_audit_lists_exports_restores_deletions_and_prunes_in_order(cli, tmp_path):
    config = config_text(tmp_path)
    empty = cli("audit", config_text=config)
    assert empty.exit_code == 0
    assert empty.stdout == "no exports, restores, deletions or prunes recorded yet\n"
    assert json.loads(cli("audit", "--json").stdout) == []

    assert cli("accounts", "add", "acme").exit_code == 0
    assert cli("--account", "acme", "numbers", "add", A, B).exit_code == 0
    assert cli("numbers", "add", C).exit_code == 0
    out = tmp_path / "acme.json"
    assert cli("export", "--account", "acme", "-o", str(out)).exit_code == 0
    assert cli("delete", "--number", C, "--yes").exit_code == 0
    assert cli("prune").exit_code == 0

    log = json.loads(cli("audit", "--json").stdout)
    assert [(e["action"], e["scope"]) for e in log] == [
        ("export", "account"),
        ("delete", "numbers"),
        ("prune", "retention"),
    ]
    user = getpass.getuser()
    assert {e["os_user"] for e in log} == {user}
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)
    export, delete, prune = log
    assert {k: n for k, n in export["counts"].items() if n} == {"accounts": 1, "numbers": 2}
    assert export["detail"] == {"format": "json", "to": "file"}
    assert delete["counts"]["numbers"] == 1
    assert len(export["refs"]) == 1 and len(delete["refs"]) == 1 and prune["refs"] == []
    # scopes are opaque refs: never a name or a number
    for entry in log:
        assert all(HEX16.match(ref) for ref in entry["refs"])
        text = json.dumps(entry)
        assert "acme" not in text and not any(n[2:] in text for n in (A, B, C))

    table = cli("audit").stdout.splitlines()
    assert table[0].split() == ["AT", "USER", "ACTION", "SCOPE", "ROWS"]
    assert [line.split()[2] for line in table[1:]] == ["export", "delete", "prune"]
    assert f"account:{export['refs'][0]}" in table[1] and "1 account, 2 numbers" in table[1]
    assert f"numbers:{delete['refs'][0]}" in table[2]
    assert "retention" in table[3] and table[3].rstrip().endswith("nothing")

    last_two = json.loads(cli("audit", "--json", "--limit", "2").stdout)
    assert last_two == log[1:]
    assert [line.split()[2] for line in cli("audit", "--limit", "1").stdout.splitlines()[1:]] == [
        "prune"
    ]
    assert cli("audit", "--limit", "0").exit_code == 2

    # a restore into another database is recorded there, under the same opaque scope
    other = tmp_path / "other.db"
    restored = cli("--db", str(other), "restore", str(out))
    assert restored.exit_code == 0, restored.output
    there = json.loads(cli("--db", str(other), "audit", "--json").stdout)
    assert [(e["action"], e["scope"], e["refs"]) for e in there][-1] == (
        "restore",
        "account",
        export["refs"],
    )
    assert there[-1]["os_user"] == user


def test_a_disabled_channel_says_it_sends_nothing(plugin_cli, tmp_path):
    config = plugin_config(tmp_path, PAGER + "enabled = false\n")
    report = json.loads(plugin_cli("privacy", "--json", config_text=config).stdout)
    (pager,) = report["channels"]
    assert pager["enabled"] is False
    assert pager["sends"] == "nothing (disabled)"
    text = plugin_cli("privacy").stdout
    assert CHANNEL_DISCLOSURE not in text and "PAGER-91C2" not in text
    assert "oncall (pager, disabled) to https://pager.acme.test/***: nothing (disabled)" in flat(
        text
    )


def test_an_enabled_source_without_its_key_says_it_sends_nothing(tmp_path, monkeypatch):
    """The disclosure is what runs: a source its preflight skips sends nothing."""
    import json as _json

    from clitools import cli_invoker

    cli = cli_invoker(tmp_path, monkeypatch, "fake_sources")
    out = cli(
        "--config",
        str(tmp_path / "config.toml"),
        "--db",
        str(tmp_path / "p.db"),
        "privacy",
        "--json",
        config_text="[sources.fake]\nneeds_key = true\n",
    )
    fake = next(s for s in _json.loads(out.stdout)["sources"] if s["name"] == "fake")
    assert fake["skipped"] == "no api_key configured"
    assert fake["sends"] == "nothing (skipped: no api_key configured)"
