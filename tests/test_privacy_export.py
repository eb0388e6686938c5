"""`cidrep export` and `cidrep restore` on a database built through the real commands.

The database (built once per module, copied for each test) holds two accounts (one
with an email and its own alert routing), numbers imported from CSV and added with
labels and tags, two checks of the FTC source reading a local mirror whose files
change in between (so verdicts change and history has several rows per source) and
of a lookup source (tests/fake_sources.py) that fails on the second (so a current
state points at an error row and, for its verdict, at an older one), sightings,
flips with deliveries that were delivered, are pending (a receiver answering 500)
and failed (a removed Slack webhook), a muted number, a paused number, a deleted
number, a digest notice and earlier exports and a deletion in the audit log.

What is checked: the export validates against ``docs/export.schema.json`` (which
must equal what ``cidrep.privacy.schema`` generates); export -> restore into an
empty database -> export gives the same document, in both formats and every scope;
restore refuses, in one line and without writing anything, a database that already
holds the data and every kind of bad file; files are written 0600, atomically; no
secret from the config reaches an export; records are streamed one per line.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import sqlite3
import stat
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from clitools import cli_invoker
from localserver import LocalServer, Reply
from typer.testing import CliRunner

from cidrep import plugins, redaction
from cidrep.cli import make_app
from cidrep.privacy.schema import json_schema
from cidrep.store import dump, open_db
from cidrep_plugins.ftc.sample import write_sample

PLUGINS = (
    "fake_sources,cidrep_plugins.ftc,cidrep_plugins.fcc,cidrep_plugins.slack,cidrep_plugins.webhook"
)
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "export.schema.json"

# default account: A (imported from CSV, muted), B (paused), F (added, then deleted)
# acme: C (flagged, then its evidence changes), D (always clean), E (clean -> flagged)
A, B, C, D, E, F = (
    "+12025550101",
    "+12025550102",
    "+13125550103",
    "+13125550104",
    "+13125550105",
    "+12025550106",
)
ACME_EMAIL = "noc@acme.example"

# Secrets of every kind the config can hold; none may appear in an export.
HOOK_PATH_TOKEN = "HookPathTokQx7Ww2Rr"  # a path segment of the webhook URL
HOOK_QUERY_TOKEN = "HookQueryTokZz81Kk4"  # a query value of the webhook URL
HOOK_SECRET = "WebhookHmacKeyM3n4b5v6c7x8z9"  # the webhook's HMAC key
SLACK_TOKEN = "SlackHookTokPp5Ll9Jj"  # the Slack incoming-webhook URL's last segment
FCC_TOKEN = "FccAppTokYy3Tt6Gg0"  # [sources.fcc] app_token (a SecretStr, unused)
FAKE_KEY = "FakeApiKeyJ4h8Ns2Vb"  # [sources.fake] api_key: its failures quote it
SECRETS = (HOOK_PATH_TOKEN, HOOK_QUERY_TOKEN, HOOK_SECRET, SLACK_TOKEN, FCC_TOKEN, FAKE_KEY)
HOOK_PATH = f"/hook/{HOOK_PATH_TOKEN}"
SLACK_PATH = f"/services/T0/B0/{SLACK_TOKEN}"

JSONL_DEFS = {
    "account": "Account",
    "run": "Run",
    "number": "Number",
    "notice": "Flip",
    "audit": "AuditEntry",
}
SECTIONS = ("accounts", "runs", "numbers", "notices", "audit")
HEADER_FIELDS = ("format", "schema_version", "cidrep_version", "exported_at", "scope")


@dataclass(frozen=True)
class World:
    db: Path  # the built database (never written by a test: each test gets a copy)
    config: str  # its config text (channels point at a receiver that is gone)


def _config(url: str, ftc: Path, fail: bool) -> str:
    """The FTC source on a local mirror; a lookup source that flags D, or fails (its
    error quoting its key); the webhook channel ``hook`` and the Slack channel ``ops``."""
    return (
        f'[sources.ftc]\npath = "{ftc.as_posix()}"\n'
        f'[sources.fcc]\nenabled = false\napp_token = "{FCC_TOKEN}"\n'
        f'[sources.fake]\nflag = ["{D}"]\nfail = {str(fail).lower()}\napi_key = "{FAKE_KEY}"\n'
        "[sources.fakefeed]\nenabled = false\n"
        "[channels.hook]\n"
        'type = "webhook"\n'
        f'url = "{url}{HOOK_PATH}?key={HOOK_QUERY_TOKEN}"\n'
        f'secret = "{HOOK_SECRET}"\n'
        "[channels.ops]\n"
        'type = "slack"\n'
        f'url = "{url}{SLACK_PATH}"\n'
    )


def _run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(make_app(), list(args), catch_exceptions=False)
    assert result.exit_code == code, (args, result.output)
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Build the database once, through the commands a user runs."""
    root = tmp_path_factory.mktemp("world")
    ftc = root / "ftc"
    ftc.mkdir()
    (root / "home").mkdir()
    today = datetime.now(UTC).date()
    hook = {"reply": Reply(200, "ok")}
    with pytest.MonkeyPatch.context() as mp, LocalServer() as server:
        for name in list(os.environ):
            if name.startswith("CIDREP_"):
                mp.delenv(name)
        mp.setenv("HOME", str(root / "home"))
        mp.setenv("XDG_CONFIG_HOME", str(root / "home" / ".config"))
        mp.setenv("XDG_DATA_HOME", str(root / "home" / ".local" / "share"))
        mp.setenv("CIDREP_CONFIG", str(root / "config.toml"))
        mp.setenv("CIDREP_DB", str(root / "cidrep.db"))
        mp.setenv("CIDREP_LOAD_PLUGINS", PLUGINS)
        plugins.reset_cache()
        server.route(HOOK_PATH, lambda _r: hook["reply"])
        server.route(SLACK_PATH, Reply(404, "no_service"))
        (root / "config.toml").write_text(_config(server.url, ftc, fail=False))
        (root / "config.toml").chmod(0o600)
        try:
            csv = root / "numbers.csv"
            csv.write_text(f"number,label,tags\n{A},Main line,sales;east\n")
            _run("numbers", "import", str(csv))
            _run("numbers", "add", B, F, "--label", "Support", "--tag", "team:support")
            _run("accounts", "add", "acme", "--email", ACME_EMAIL)
            _run("-a", "acme", "numbers", "add", C, D, E, "--tag", "campaign:spring")
            _run("accounts", "set", "acme", "--channel", "hook")
            write_sample(ftc, today - timedelta(days=1), {A: 3, C: 1}, robocall={A}, seed=1)
            _run("check", code=1)  # A, C, D flagged: hook delivers to acme, ops 404s
            _run("numbers", "pause", B)
            _run("mute", A, "--for", "6h")
            # The receiver now fails (500, echoing the URL's tokens: they must not be
            # stored), the lookup source fails (quoting its key: idem), and the new FTC
            # file flags E and adds to C's complaints.
            echo = f"down: {HOOK_PATH_TOKEN} key={HOOK_QUERY_TOKEN}"
            hook["reply"] = Reply(500, echo)
            config = _config(server.url, ftc, fail=True)
            (root / "config.toml").write_text(config)
            write_sample(ftc, today, {E: 2, C: 1}, seed=2)
            _run("check", "--force", code=4)  # flagged, and a source failing
            _run("digest", "--send")  # a notice about no number
            _run("export", "--all", "-o", str(root / "earlier.json"))
            _run("export", "--number", C, "-o", str(root / "earlier-c.jsonl"), "-f", "jsonl")
            _run("delete", "--number", F, "--yes")
        finally:
            plugins.reset_cache()
            redaction.clear()
    return World(root / "cidrep.db", config)


def copy_db(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    target.chmod(0o600)


@pytest.fixture
def cli(world, tmp_path, monkeypatch):
    """``cli(*args, input=None)`` on a copy of the world's database (CIDREP_DB, which
    conftest points into tmp) with the world's config (CIDREP_CONFIG)."""
    copy_db(world.db, tmp_path / "cidrep.db")
    cli_invoker(tmp_path, monkeypatch, PLUGINS)  # loads only PLUGINS
    (tmp_path / "config.toml").write_text(world.config)

    def invoke(*args: str, input: bytes | None = None) -> Any:
        return CliRunner().invoke(make_app(), list(args), input=input, catch_exceptions=False)

    return invoke


def ok(result: Any, code: int = 0) -> Any:
    assert result.exit_code == code, result.output
    return result


def new_db(path: Path) -> Path:
    """An empty cidrep database (what a first command creates)."""
    open_db(path).conn.close()
    return path


def snapshot(path: Path) -> tuple[dict[str, int], str]:
    """Row counts of every table, and a hash of the whole content."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        digest = hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()
    return counts, digest


_serial = itertools.count()


def export_file(cli, tmp_path: Path, scope: tuple[str, ...], fmt: str, *pre: str) -> Path:
    path = tmp_path / f"export-{next(_serial)}.{fmt}"
    ok(cli(*pre, "export", *scope, "-f", fmt, "-o", str(path)))
    return path


def read_export(path: Path, fmt: str) -> dict[str, Any]:
    """A JSON export as is; a JSONL export turned into the same document (its end
    line checked: it is last and counts the records of each type before it)."""
    if fmt == "json":
        return json.loads(path.read_text())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    header, body, end = lines[0], lines[1:-1], lines[-1]
    assert header.pop("type") == "header"
    assert end.pop("type") == "end"
    assert all(line["type"] in JSONL_DEFS for line in body)
    assert end == {"records": {t: sum(line["type"] == t for line in body) for t in JSONL_DEFS}}
    doc: dict[str, Any] = {**header, **{s: [] for s in SECTIONS}}
    section_of = {t: s for s, t in zip(SECTIONS, JSONL_DEFS, strict=True)}
    for line in body:
        doc[section_of[line.pop("type")]].append(line)
    return doc


def exported_numbers(doc: dict[str, Any]) -> set[str]:
    return {n["e164"] for n in doc["numbers"]}


# ---------------------------------------------------------------------------------
# 1. The schema: the file in the repo is the generated one, and real exports match it


def test_schema_file_is_the_generated_schema():
    """docs/export.schema.json is stale when this fails: run
    ``python -m cidrep.privacy.schema > docs/export.schema.json``."""
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == json_schema()
    assert committed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(committed)


SCOPES = {
    "all": ("--all",),
    "account": ("--account", "acme"),
    "numbers": ("--number", A, "--number", E),
}


def _errors(validator: jsonschema.Draft202012Validator, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


@pytest.mark.parametrize("scope", SCOPES)
def test_real_exports_validate_against_the_schema_file(cli, tmp_path, scope):
    schema = json.loads(SCHEMA_FILE.read_text())
    whole = jsonschema.Draft202012Validator(schema)
    doc = read_export(export_file(cli, tmp_path, SCOPES[scope], "json"), "json")
    assert doc["scope"]["kind"] == scope
    assert doc["numbers"] and doc["accounts"] and doc["runs"] and doc["audit"]
    assert _errors(whole, doc) == []

    # The same document stripped of a required field, or with an unknown one, does not.
    broken = json.loads(json.dumps(doc))
    del broken["numbers"][0]["history"][0]["fingerprint"]
    broken["numbers"][-1]["colour"] = "red"
    assert len(_errors(whole, broken)) == 2

    # JSONL: the header line is $defs Header (the document's header fields), the end
    # line $defs End, and every other line the $defs entry its type names.
    defs = schema["$defs"]
    assert defs["Header"]["properties"] == {k: schema["properties"][k] for k in HEADER_FIELDS}
    assert defs["Header"]["required"] == list(HEADER_FIELDS)
    assert defs["Header"]["additionalProperties"] is False

    def validator(name: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator({"$defs": defs, "$ref": f"#/$defs/{name}"})

    lines = export_file(cli, tmp_path, SCOPES[scope], "jsonl").read_text().splitlines()
    seen = []
    for i, text in enumerate(lines):
        record = json.loads(text)
        kind = record.pop("type")
        seen.append(kind)
        if i == 0:
            assert kind == "header"
            name = "Header"
        elif i == len(lines) - 1:
            assert kind == "end"
            name = "End"
        else:
            name = JSONL_DEFS[kind]
        assert _errors(validator(name), record) == [], (i, kind)
    assert {"header", "account", "run", "number", "audit", "end"} <= set(seen)
    assert seen.count("header") == seen.count("end") == 1
    assert ("notice" in seen) == (scope == "all")
    header, end = json.loads(lines[0]), json.loads(lines[-1])
    del header["type"], end["type"]
    assert set(header) == set(HEADER_FIELDS)
    assert {k: header[k] for k in HEADER_FIELDS if k != "exported_at"} == {
        k: doc[k] for k in HEADER_FIELDS if k != "exported_at"
    }
    assert end == {"records": {t: seen.count(t) for t in JSONL_DEFS}}
    # ... and a wrong header or end line does not validate.
    assert len(_errors(validator("Header"), {**header, "colour": "red"})) == 1
    assert len(_errors(validator("Header"), {**header, "schema_version": 2})) == 1
    assert len(_errors(validator("End"), {"records": {"number": "2"}})) == 1
    assert len(_errors(validator("End"), {})) == 1


# ---------------------------------------------------------------------------------
# 2. Round trip: export -> restore into an empty database -> export is the same


ROUND_TRIPS = {
    "all": ("--all",),
    "acme": ("--account", "acme"),
    "default": ("--account", "default"),
    "two-numbers": ("--number", C, "--number", A),
}


def _rich(doc: dict[str, Any]) -> None:
    """The export carries every kind of row, so the round trip proves something."""
    numbers = {n["e164"]: n for n in doc["numbers"]}
    assert doc["runs"] and all(r["sources"] for r in doc["runs"])
    assert doc["audit"]
    if C in numbers:
        c = numbers[C]
        history = c["history"]
        assert [h["verdict"] for h in history if h["source"] == "ftc"] == ["flagged", "flagged"]
        current = {s["source"]: s for s in c["current"]}
        assert history[current["ftc"]["entry"]]["source"] == "ftc"
        # The lookup source failed last: its latest row is the error, its verdict older.
        fake = current["fake"]
        assert history[fake["entry"]]["verdict"] == "error" and fake["last_error"]
        verdict_row = history[fake["verdict_entry"]]
        assert (verdict_row["source"], verdict_row["verdict"]) == ("fake", "clean")
        assert c["sightings"] and c["alert"]["state"] == "flagged" and c["confirmed"]
        statuses = {d["status"] for f in c["flips"] for d in f["deliveries"]}
        assert statuses == {"delivered", "failed"}
        assert c["tags"] == ["campaign:spring"]
        acme = next(a for a in doc["accounts"] if a["ref"] == c["account"])
        assert acme["email"] == ACME_EMAIL and acme["channels"] == ["hook"]
    if A in numbers:
        a = numbers[A]
        assert a["label"] == "Main line" and a["tags"] == ["east", "sales"]
        assert a["alert"]["muted_until"] is not None and a["sightings"]
    if B in numbers:
        assert numbers[B]["paused_at"] is not None
    if E in numbers:
        e = numbers[E]
        assert [h["verdict"] for h in e["history"] if h["source"] == "ftc"] == [
            "clean",
            "flagged",
        ]
        hook = [d for f in e["flips"] for d in f["deliveries"] if d["channel"] == "hook"]
        assert [d["status"] for d in hook] == ["pending"] and hook[0]["last_error"]
    if doc["scope"]["kind"] == "all":
        assert doc["notices"] and {a["action"] for a in doc["audit"]} == {"export", "delete"}


def _status(cli, *pre: str, only: set[str]) -> list[dict[str, Any]]:
    rows = json.loads(ok(cli(*pre, "status", "--json")).stdout)["numbers"]
    return sorted((r for r in rows if r["number"] in only), key=lambda r: r["number"])


def _alerts(cli, *pre: str, only: set[str], notices: bool) -> list[dict[str, Any]]:
    rows = json.loads(ok(cli(*pre, "alerts", "list", "--json")).stdout)
    keep = [r for r in rows if r["number"] in only or (notices and r["number"] is None)]
    return sorted(keep, key=lambda r: (r["key"], r["kind"]))


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_round_trip_into_an_empty_database_loses_nothing(cli, tmp_path, name, fmt):
    scope = ROUND_TRIPS[name]
    first_path = export_file(cli, tmp_path, scope, fmt)
    first = read_export(first_path, fmt)
    _rich(first)

    target = tmp_path / "restored.db"
    restored = ok(cli("--db", str(target), "restore", str(first_path)))
    assert restored.stdout.startswith("restored ")
    second_path = export_file(cli, tmp_path, scope, fmt, "--db", str(target))
    second = read_export(second_path, fmt)

    # The same document, but for when it was made and the one audit entry the
    # restore itself added (last).
    added = second["audit"].pop()
    assert {k: v for k, v in second.items() if k != "exported_at"} == {
        k: v for k, v in first.items() if k != "exported_at"
    }
    assert added["action"] == "restore" and added["scope"] == first["scope"]["kind"]
    assert added["refs"] == first["scope"]["refs"]
    assert added["counts"]["numbers"] == len(first["numbers"])
    assert added["ref"] not in {a["ref"] for a in first["audit"]}
    # Byte for byte in JSONL: every line but the header, the restore's entry and the
    # end line, which differs only by that one audit entry.
    if fmt == "jsonl":
        one, two = first_path.read_text().splitlines(), second_path.read_text().splitlines()
        assert two[1:-2] == one[1:-1]
        assert json.loads(two[-2]) == {"type": "audit", **added}
        end_one, end_two = json.loads(one[-1]), json.loads(two[-1])
        assert end_one["type"] == "end"
        audited = end_one["records"]["audit"] + 1
        assert end_two == {**end_one, "records": {**end_one["records"], "audit": audited}}

    # The restored database behaves like the original for what it holds.
    numbers = exported_numbers(first)
    status = _status(cli, only=numbers)
    assert len(status) == len(numbers)
    assert _status(cli, "--db", str(target), only=numbers) == status
    notices = name == "all"
    assert _alerts(cli, "--db", str(target), only=numbers, notices=notices) == _alerts(
        cli, only=numbers, notices=notices
    )


def test_restore_fills_an_empty_account_of_the_same_name(cli, tmp_path):
    """The ``default`` account of a new database, or one just added, holds nothing:
    the export's account of that name takes its place (ref, email, routing)."""
    path = export_file(cli, tmp_path, ("--account", "acme"), "jsonl")
    target = new_db(tmp_path / "other.db")
    ok(cli("--db", str(target), "accounts", "add", "acme"))
    ok(cli("--db", str(target), "restore", str(path)))
    again = read_export(
        export_file(cli, tmp_path, ("--account", "acme"), "jsonl", "--db", str(target)), "jsonl"
    )
    first = read_export(path, "jsonl")
    again["audit"].pop()
    assert again["accounts"] == first["accounts"] and again["numbers"] == first["numbers"]


# ---------------------------------------------------------------------------------
# 3. Restore refuses, in one line, and writes nothing


def refused(result: Any, *needles: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr holding ``needles``; no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_restore_into_a_database_holding_the_account_is_refused(cli, tmp_path, fmt):
    path = export_file(cli, tmp_path, ("--account", "acme"), fmt)
    before = snapshot(tmp_path / "cidrep.db")
    line = refused(cli("restore", str(path)), "'acme'", "already exists")
    assert snapshot(tmp_path / "cidrep.db") == before
    assert "numbers or routing" in line


@pytest.mark.parametrize("scope", [("--all",), ("--number", C)])
def test_restoring_the_same_export_twice_is_refused_the_second_time(cli, tmp_path, scope):
    path = export_file(cli, tmp_path, scope, "json")
    target = tmp_path / "twice.db"
    ok(cli("--db", str(target), "restore", str(path)))
    before = snapshot(target)
    refused(cli("--db", str(target), "restore", str(path)), str(path), "'acme'")
    assert snapshot(target) == before


def test_restore_from_stdin(cli, tmp_path):
    path = export_file(cli, tmp_path, ("--account", "acme"), "jsonl")
    target = tmp_path / "stdin.db"
    result = ok(cli("--db", str(target), "restore", "-", input=path.read_bytes()))
    assert "restored 1 account" in result.stdout
    again = read_export(
        export_file(cli, tmp_path, ("--account", "acme"), "json", "--db", str(target)), "json"
    )
    assert again["numbers"] == read_export(path, "jsonl")["numbers"]


def _bad_files(doc_text: str, jsonl_text: str) -> dict[str, tuple[bytes, tuple[str, ...]]]:
    """name -> (file content, what the error line must say besides the file name)."""
    doc = json.loads(doc_text)
    newer = {**doc, "schema_version": 2}
    extra_doc = json.loads(doc_text)
    extra_doc["numbers"][1]["colour"] = "red"
    lines = [json.loads(line) for line in jsonl_text.splitlines()]
    at = next(i for i, r in enumerate(lines) if r["type"] == "number")
    lines[at + 1]["colour"] = "red"
    extra_jsonl = "".join(json.dumps(r) + "\n" for r in lines)
    cut_jsonl = jsonl_text.encode()
    cut_jsonl = cut_jsonl[: cut_jsonl.index(b"\n", len(cut_jsonl) // 2) - 10]
    cut_line = cut_jsonl.count(b"\n") + 1
    assert cut_line > at + 2  # numbers were read before the cut: they must not stay
    *body, end = jsonl_text.splitlines(True)
    records = json.loads(end)["records"]
    assert json.loads(end)["type"] == "end" and records["number"] >= 3 and records["audit"] >= 2
    no_end = "".join(body)
    after_end = jsonl_text + body[-1]  # a record (the last audit entry) after the end line
    miscounted = json.loads(end)
    miscounted["records"]["number"] += 1
    wrong_count = "".join(body) + json.dumps(miscounted) + "\n"
    lost_line = "".join(body[:-1]) + end  # the last audit entry lost; the end line kept
    return {
        "empty": (b"", ("empty",)),
        "json-not-export": (b'{"hello": [1, 2, 3]}\n', ("not a cidrep export",)),
        "json-list": (b"[1, 2, 3]\n", ("not a cidrep export",)),
        "jsonl-not-export": (b'{"type": "account", "name": "x"}\n', ("not a cidrep export",)),
        "jsonl-unknown-type": (
            (jsonl_text.splitlines()[0] + '\n{"type": "bogus"}\n').encode(),
            ("line 2", "not a record"),
        ),
        "newer-version": (json.dumps(newer).encode(), ("schema_version 2", "newer")),
        "unknown-field-json": (json.dumps(extra_doc).encode(), ("numbers[1]", "colour")),
        "unknown-field-jsonl": (extra_jsonl.encode(), (f"line {at + 2}", "colour")),
        "truncated-jsonl": (cut_jsonl, (f"line {cut_line}",)),
        "jsonl-no-end": (
            no_end.encode(),
            (
                ": the file ends before its end line: it was cut short (read ",
                f"number records: {records['number']}",
                f"audit records: {records['audit']}); nothing was restored",
            ),
        ),
        "jsonl-record-after-end": (
            after_end.encode(),
            (f" line {len(body) + 2}: a record after the end line",),
        ),
        "jsonl-end-count-wrong": (
            wrong_count.encode(),
            (
                f" line {len(body) + 1}: the end line does not match the file (number: "
                f"{records['number'] + 1} listed, {records['number']} read)",
            ),
        ),
        "jsonl-line-lost": (
            lost_line.encode(),
            (
                f" line {len(body)}: the end line does not match the file (audit: "
                f"{records['audit']} listed, {records['audit'] - 1} read)",
            ),
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty",
        "json-not-export",
        "json-list",
        "jsonl-not-export",
        "jsonl-unknown-type",
        "newer-version",
        "unknown-field-json",
        "unknown-field-jsonl",
        "truncated-jsonl",
        "jsonl-no-end",
        "jsonl-record-after-end",
        "jsonl-end-count-wrong",
        "jsonl-line-lost",
    ],
)
def test_a_bad_file_is_refused_in_one_line_and_nothing_is_written(cli, tmp_path, case):
    doc_text = export_file(cli, tmp_path, ("--all",), "json").read_text()
    jsonl_text = export_file(cli, tmp_path, ("--all",), "jsonl").read_text()
    content, needles = _bad_files(doc_text, jsonl_text)[case]
    bad = tmp_path / f"{case}.export"
    bad.write_bytes(content)
    target = new_db(tmp_path / "empty.db")  # where the good export would restore
    before = snapshot(target)
    refused(cli("--db", str(target), "restore", str(bad)), str(bad), *needles)
    assert snapshot(target) == before
    refused(cli("--db", str(target), "restore", "-", input=content), "stdin", *needles)
    assert snapshot(target) == before


@pytest.mark.parametrize("case", ["not-json", "truncated-json"])
def test_a_broken_json_document_is_refused_in_one_line_naming_where(cli, tmp_path, case):
    doc = export_file(cli, tmp_path, ("--all",), "json").read_bytes()
    # Cut inside the numbers section, 10 bytes into a record (which is then the one
    # named): the records before the cut must not be kept.
    start = doc.index(b'"numbers": [')
    middle = doc.index(b"\n{", start + (doc.index(b'"notices": [') - start) // 2) + 10
    index = doc[start:middle].count(b"\n{") - 1
    assert index >= 1
    content, where = {
        "not-json": (b"hello, this is not an export\nat all\n", ""),
        "truncated-json": (doc[:middle], f" numbers[{index}]"),
    }[case]
    reason = _ijson_first_line(content)
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    target = new_db(tmp_path / "empty.db")
    before = snapshot(target)
    for name, result in [
        (str(bad), cli("--db", str(target), "restore", str(bad))),
        ("stdin", cli("--db", str(target), "restore", "-", input=content)),
    ]:
        assert snapshot(target) == before
        line = refused(result)
        assert line == (
            f"error: {name}{where}: not valid JSON ({reason}); the file is damaged or cut short"
        )


def _ijson_first_line(content: bytes) -> str:
    """The first line of the error ijson raises on ``content``."""
    import ijson

    with pytest.raises(ijson.JSONError) as caught:
        for _event in ijson.parse(io.BytesIO(content), use_float=True):
            pass
    first = str(caught.value).splitlines()[0].strip()
    assert first
    return first


def test_a_jsonl_export_cut_at_a_line_boundary_is_refused(cli, tmp_path):
    lines = export_file(cli, tmp_path, ("--all",), "jsonl").read_bytes().splitlines(True)
    numbers = [i for i, line in enumerate(lines) if json.loads(line)["type"] == "number"]
    assert len(numbers) >= 3
    bad = tmp_path / "cut.jsonl"
    content = b"".join(lines[: numbers[2]])  # header, accounts, runs, 2 numbers
    bad.write_bytes(content)
    kinds = [json.loads(line)["type"] for line in lines[1 : numbers[2]]]
    assert kinds[-2:] == ["number", "number"] and "end" not in kinds
    read = ", ".join(f"{t} records: {kinds.count(t)}" for t in dict.fromkeys(kinds))
    target = new_db(tmp_path / "empty.db")
    before = snapshot(target)
    for name, result in [
        (str(bad), cli("--db", str(target), "restore", str(bad))),
        ("stdin", cli("--db", str(target), "restore", "-", input=content)),
    ]:
        assert refused(result) == (
            f"error: {name}: the file ends before its end line: it was cut short "
            f"(read {read}); nothing was restored"
        )
        assert snapshot(target) == before


# ---------------------------------------------------------------------------------
# 4. Files: 0600, atomic, stdout; every export is in the audit log


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_output_file_is_0600_with_umask_0_and_over_an_existing_0644_file(cli, tmp_path):
    fresh, existing = tmp_path / "fresh.json", tmp_path / "existing.jsonl"
    existing.write_text("an older export\n")
    existing.chmod(0o644)
    old = os.umask(0)
    try:
        ok(cli("export", "--all", "-o", str(fresh)))
        result = ok(cli("export", "--account", "acme", "-f", "jsonl", "-o", str(existing)))
    finally:
        os.umask(old)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert json.loads(fresh.read_text())["scope"]["kind"] == "all"
    assert existing.read_text().startswith('{"cidrep_version"')  # replaced, not appended
    assert f"to {existing} (mode 0600)" in result.stderr and result.stdout == ""
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_dash_writes_the_export_to_stdout_and_the_summary_to_stderr(
    cli, tmp_path, monkeypatch, fmt
):
    monkeypatch.chdir(tmp_path)
    result = ok(cli("export", "--account", "acme", "-f", fmt, "-o", "-"))
    assert result.stderr.startswith("exported account 'acme' to stdout: 1 account, ")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "-").exists() and _leftovers(tmp_path) == []
    out = tmp_path / f"stdout.{fmt}"
    out.write_text(result.stdout)
    doc = read_export(out, fmt)
    assert doc["format"] == "cidrep-export" and exported_numbers(doc) == {C, D, E}
    file_doc = read_export(export_file(cli, tmp_path, ("--account", "acme"), fmt), fmt)
    assert doc["numbers"] == file_doc["numbers"]  # the same export, wherever it goes


def _audit(cli, *pre: str) -> list[dict[str, Any]]:
    return json.loads(ok(cli(*pre, "audit", "--json")).stdout)


@pytest.mark.parametrize("to", ["file", "existing-file", "stdout"])
def test_a_failing_export_leaves_no_file_and_is_not_recorded(cli, tmp_path, to):
    target = tmp_path / "out.json"
    if to == "existing-file":
        target.write_text("keep me\n")
    before = _audit(cli)
    result = cli(
        "export",
        "--number",
        A,
        "--number",
        "+12025550199",
        "-o",
        "-" if to == "stdout" else str(target),
    )
    refused(result, "not monitored", "+12025550199")
    if to == "existing-file":
        assert target.read_text() == "keep me\n"
    else:
        assert not target.exists()
    assert _leftovers(tmp_path) == []
    assert _audit(cli) == before


@pytest.mark.parametrize(
    ("scope", "fmt", "to"),
    [(("--account", "acme"), "json", "file"), (("--number", E), "jsonl", "stdout")],
)
def test_every_export_is_recorded_in_the_audit_log_by_opaque_refs(cli, tmp_path, scope, fmt, to):
    before = _audit(cli)
    path = tmp_path / "audited.out"
    result = ok(cli("export", *scope, "-f", fmt, "-o", "-" if to == "stdout" else str(path)))
    if to == "stdout":
        path.write_text(result.stdout)
    doc = read_export(path, fmt)
    after = _audit(cli)
    assert after[:-1] == before
    entry = after[-1]
    assert entry["action"] == "export" and entry["scope"] == doc["scope"]["kind"]
    if scope[0] == "--account":
        assert entry["refs"] == [doc["accounts"][0]["ref"]]
    else:
        assert entry["refs"] == [doc["numbers"][0]["ref"]] == doc["scope"]["refs"]
    assert entry["detail"] == {"format": fmt, "to": to}
    assert entry["counts"]["numbers"] == len(doc["numbers"])
    assert entry["counts"]["history"] == sum(len(n["history"]) for n in doc["numbers"])
    text = ok(cli("audit", "--json")).stdout + ok(cli("audit")).stdout
    for personal in ("acme", ACME_EMAIL, *(n[2:] for n in (A, B, C, D, E))):
        assert personal not in text


def test_restore_is_recorded_in_the_audit_log(cli, tmp_path):
    path = export_file(cli, tmp_path, ("--account", "acme"), "json")
    target = tmp_path / "audited.db"
    ok(cli("--db", str(target), "restore", str(path)))
    entries = _audit(cli, "--db", str(target))
    doc = read_export(path, "json")
    assert entries[:-1] == doc["audit"]  # the exported entries, as they were
    last = entries[-1]
    assert last["action"] == "restore" and last["refs"] == doc["scope"]["refs"]
    assert last["counts"]["numbers"] == 3 and last["counts"]["accounts"] == 1


# ---------------------------------------------------------------------------------
# 5. Secrets never appear


def _spellings(secret: str) -> list[bytes]:
    from urllib.parse import quote, quote_plus

    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    return [f.lower().encode() for f in forms]


def test_no_secret_from_the_config_appears_in_an_export(cli, tmp_path):
    # The config really holds them, and the data really went through them: the hook's
    # 500 answer echoed its tokens into a delivery error that is exported.
    for secret in SECRETS:
        assert secret in (tmp_path / "config.toml").read_text()
    blobs = [
        export_file(cli, tmp_path, ("--all",), "json").read_bytes(),
        export_file(cli, tmp_path, ("--all",), "jsonl").read_bytes(),
        ok(cli("export", "--account", "acme", "-o", "-")).stdout_bytes,
    ]
    doc = json.loads(blobs[0])
    errors = [
        d["last_error"]
        for n in doc["numbers"]
        for f in n["flips"]
        for d in f["deliveries"]
        if d["channel"] == "hook" and d["last_error"]
    ]
    assert errors and all("answered 500" in e for e in errors)
    for blob in blobs:
        data = blob.lower()
        assert [s for s in SECRETS if any(f in data for f in _spellings(s))] == []
        assert b"127.0.0.1:" not in data  # no receiver URL at all


# ---------------------------------------------------------------------------------
# 6. Streaming


def test_the_json_document_has_one_record_per_line(cli, tmp_path):
    path = export_file(cli, tmp_path, ("--all",), "json")
    doc = json.loads(path.read_text())
    lines = path.read_text().splitlines()
    header = json.loads(lines[0].rstrip(",") + "}")
    assert header == {k: doc[k] for k in HEADER_FIELDS}
    records = [json.loads(line.rstrip(",")) for line in lines[1:] if line.startswith("{")]
    assert records == [r for s in SECTIONS for r in doc[s]]
    others = [line for line in lines[1:] if not line.startswith("{")]
    assert all(line.startswith(('"', "]")) for line in others)
    assert len(others) == 2 * len(SECTIONS)  # each section's opening and closing line


def test_dump_readers_are_generators():
    for reader in (dump.accounts, dump.numbers, dump.notices):
        assert isinstance(reader(None), types.GeneratorType)  # type: ignore[arg-type]
    assert isinstance(dump.runs(None, all_runs=True), types.GeneratorType)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_each_number_is_written_before_the_next_is_read(cli, tmp_path, monkeypatch, fmt):
    """The writer takes the numbers one by one from the reader: number i is on its
    way out before number i+1 is read (nothing collects the scope first)."""
    from cidrep.privacy.export import export

    real = dump.numbers
    events: list[tuple[str, str]] = []
    refs: list[str] = []

    def watched(db: Any) -> Iterator[dict[str, Any]]:
        for record in real(db):
            refs.append(record["ref"])
            events.append(("read", record["ref"]))
            yield record

    class Out(io.StringIO):
        def write(self, text: str) -> int:
            events.extend(("write", ref) for ref in refs if f'"ref": "{ref}"' in text)
            return super().write(text)

    monkeypatch.setattr(dump, "numbers", watched)
    db = open_db(tmp_path / "cidrep.db")
    try:
        export(db, Out(), kind="all", fmt=fmt, now="2030-01-01T00:00:00Z", version="test")
    finally:
        db.conn.close()
    assert len(refs) == 5
    assert events == [(kind, ref) for ref in refs for kind in ("read", "write")]
