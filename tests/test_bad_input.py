"""Bad input gets one clear line and loses nothing, through the real CLI.

Each case runs one command against a database that already holds a number, and
checks the developers' guide rule: exit 2, exactly one ``error:`` line per problem
on stderr (plus one ``FILE:LINE:`` line per bad CSV row), no traceback, nothing
huge echoed back, and the database exactly as it was.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cidrep.cli import make_app

SEED = "+12025550100"
BIG_LINE = b"phone,label\n202-555-0143," + b"x" * (10 * 1024 * 1024) + b"\n"


@dataclass
class Case:
    id: str
    args: list[str]
    expect: str  # text the error line must contain
    config: str = ""
    env: dict[str, str] = field(default_factory=dict)
    csv: bytes | None = None  # written to FILE; "{csv}" in args names it
    rows: int = 0  # FILE:LINE: lines expected (bad CSV rows)
    unset_db: bool = False  # the case sets the database itself (CIDREP_DB would win)


ADD = ["numbers", "add", "202-555-0143"]
IMPORT = ["numbers", "import", "{csv}"]

CASES = [
    # -- config file values -------------------------------------------------------
    Case("interval-overflow", ADD, "sources.fcc.interval: duration '99999999999d' is too long",
         config='[sources.fcc]\ninterval = "99999999999d"\n'),
    Case("timeout-1e300", ADD, "sources.fcc.timeout: duration 1e+300 is too long",
         config="[sources.fcc]\ntimeout = 1e300\n"),
    Case("timeout-inf", ADD, "sources.fcc.timeout: duration inf is too large",
         config="[sources.fcc]\ntimeout = inf\n"),
    Case("timeout-nan", ADD, "sources.fcc.timeout: duration must be a number",
         config="[sources.fcc]\ntimeout = nan\n"),
    Case("timeout-NaN-string", ADD, "invalid duration 'NaN'",
         config='[sources.fcc]\ntimeout = "NaN"\n'),
    Case("timeout-over-an-hour", ADD, "sources.fcc.timeout: must be at most 1h",
         config='[sources.fcc]\ntimeout = "2h"\n'),
    Case("rate-zero", ADD, "sources.fcc.rate_limit: rate must be positive, got '0/s'",
         config='[sources.fcc]\nrate_limit = "0/s"\n'),
    Case("rate-1e400", ADD, "sources.fcc.rate_limit: invalid rate '1e400/s'",
         config='[sources.fcc]\nrate_limit = "1e400/s"\n'),
    Case("rate-nan", ADD, "sources.fcc.rate_limit: rate must be a number",
         config="[sources.fcc]\nrate_limit = nan\n"),
    Case("db-empty", ADD, "db: must not be empty", config='db = ""\n', unset_db=True),
    Case("unknown-key", ADD, "sources.fcc.timout: unknown key",
         config="[sources.fcc]\ntimout = 3\n"),
    Case("unknown-source", ADD, "unknown source 'nosuch'",
         config="[sources.nosuch]\nenabled = true\n"),
    Case("token-newline-in-file", ADD, "sources.fcc.app_token: has leading or trailing",
         config='[sources.fcc]\napp_token = "abc\\n"\n'),
    Case("concurrency-zero", ADD, "sources.fcc.concurrency:",
         config="[sources.fcc]\nconcurrency = 0\n"),
    Case("region", ADD, "default_region: unknown region code 'XX'",
         config='default_region = "XX"\n'),
    Case("bad-toml", ADD, "is not valid TOML", config="[sources.fcc\n"),
    # -- environment ----------------------------------------------------------------
    Case("env-sources-not-json", ADD,
         "environment variable CIDREP_SOURCES: sources: not valid JSON",
         env={"CIDREP_SOURCES": "not json"}),
    Case("env-wins-blame", ADD,
         "environment variable CIDREP_SOURCES__FCC__INTERVAL: sources.fcc.interval: duration",
         config='[sources.fcc]\ninterval = "6h"\n',
         env={"CIDREP_SOURCES__FCC__INTERVAL": "99999999999d"}),
    Case("env-token-newline", ADD,
         "environment variable CIDREP_SOURCES__FCC__APP_TOKEN: sources.fcc.app_token: has",
         env={"CIDREP_SOURCES__FCC__APP_TOKEN": "abc\n"}),
    Case("env-token-non-ascii", ADD, "sources.fcc.app_token: has a non-ASCII character",
         env={"CIDREP_SOURCES__FCC__APP_TOKEN": "tökén"}),
    Case("env-rate", ADD, "CIDREP_SOURCES__FTC__RATE_LIMIT: sources.ftc.rate_limit",
         env={"CIDREP_SOURCES__FTC__RATE_LIMIT": "1e400/s"}),
    Case("env-db-empty", ADD, "environment variable CIDREP_DB: db: must not be empty",
         env={"CIDREP_DB": ""}),
    # -- numbers on the command line -------------------------------------------------
    Case("add-short", ["numbers", "add", "555-1234"],
         "'555-1234' is not a valid phone number in region US"),
    Case("add-empty", ["numbers", "add", ""], "empty phone number"),
    Case("add-huge", ["numbers", "add", "9" * 100_000], "(100000 characters)"),
    Case("add-n9x", ["numbers", "add", "+1 999 555 0100"], "is not a valid phone number"),
    Case("add-one-bad-of-two", ["numbers", "add", "202-555-0143", "nope"],
         "'nope' is not a phone number"),
    Case("add-bad-tag", [*ADD, "-t", "a,b"], "invalid tag 'a,b'"),
    Case("add-empty-account", ["--account", "", *ADD], "option --account: account:"),
    Case("edit-unknown", ["numbers", "edit", "202-555-0143", "-l", "x"],
         "not monitored in account 'default': +12025550143"),
    Case("edit-nothing", ["numbers", "edit", SEED], "nothing to change"),
    # -- CSV files -------------------------------------------------------------------
    Case("csv-stray-quote", IMPORT, "1 of 3 rows",
         csv=b'phone,label\n202-555-0143,"stray\n202-555-0199,z\n202-555-0101,w\n', rows=1),
    Case("csv-10mb-line", IMPORT, "1 of 2 rows", csv=BIG_LINE + b"202-555-0199,z\n", rows=1),
    Case("csv-1mb-cell", IMPORT, "1 of 1 rows",
         csv=b'phone,label\n"202-555-0143","' + b"y" * 1_000_000 + b'"\n', rows=1),
    Case("csv-not-utf8", IMPORT, ":3: not UTF-8 text (byte 0xe9",
         csv=b"phone,label\n202-555-0143,a\n202-555-0199,caf\xe9\n"),
    Case("csv-headerless-bad-first", IMPORT, "1 of 3 rows",
         csv=b"555-1234,a\n202-555-0143,b\n202-555-0199,c\n", rows=1),
    Case("csv-cr-only-bad-rows", IMPORT, "2 of 4 rows",
         csv=b"phone\r202-555-0143\rbogus\r202-555-0199\r12\r", rows=2),
    Case("csv-empty", IMPORT, "has no rows", csv=b""),
    Case("csv-unknown-column", [*IMPORT, "--column", "nosuch"], "has no column 'nosuch'",
         csv=b"a,b\n202-555-0143,x\n"),
    Case("csv-missing", ["numbers", "import", "/nonexistent/n.csv"], "cannot read"),
]  # fmt: skip


def snapshot(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM numbers ORDER BY id").fetchall()


@pytest.fixture
def seeded(tmp_path):
    db = tmp_path / "cidrep.db"
    result = CliRunner().invoke(make_app(), ["numbers", "add", SEED, "-l", "seed", "-t", "keep"])
    assert result.exit_code == 0, result.output
    rows = snapshot(db)
    assert len(rows) == 1
    return db, rows


def prepare(case: Case, tmp_path: Path, monkeypatch) -> list[str]:
    (tmp_path / "config.toml").write_text(case.config)
    if case.unset_db:
        monkeypatch.delenv("CIDREP_DB")
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    csv = tmp_path / "in.csv"
    if case.csv is not None:
        csv.write_bytes(case.csv)
    return [arg.replace("{csv}", str(csv)) for arg in case.args]


def check_output(case: Case, code: int, stdout: str, stderr: str) -> None:
    assert code == 2, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert len(stdout + stderr) < 4000  # nothing huge echoed back
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert case.expect in errors[0], errors[0]
    rows = [line for line in lines if not line.startswith(("error: ", "warning: "))]
    assert len(rows) == case.rows, stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case, seeded, tmp_path, monkeypatch):
    db, before = seeded
    args = prepare(case, tmp_path, monkeypatch)
    result = CliRunner().invoke(make_app(), args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    check_output(case, result.exit_code, result.stdout, result.stderr)
    assert snapshot(db) == before


SUBPROCESS = ["timeout-1e300", "env-sources-not-json", "csv-10mb-line", "env-token-newline"]


@pytest.mark.parametrize("case", [c for c in CASES if c.id in SUBPROCESS], ids=SUBPROCESS)
def test_bad_input_through_a_real_process(case, seeded, tmp_path, monkeypatch):
    db, before = seeded
    args = prepare(case, tmp_path, monkeypatch)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent))
    proc = subprocess.run(
        [sys.executable, "-m", "cidrep", *args], capture_output=True, text=True, env=env
    )
    check_output(case, proc.returncode, proc.stdout, proc.stderr)
    assert snapshot(db) == before
