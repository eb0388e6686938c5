"""Secrets never leak (stored text, logs, every spelling), and the files cidrep creates are
private, locked through any name, and readable by a read-only user."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cidrep.redaction import MASK, Redactor, excerpt

KEY = "sk_live_4f9a\u00e9Zq/+=&?x"  # non-ASCII, URL-special: every spelling differs
ASCII_KEY = "sk_live_4f9aZq/+=&?x%"  # what a config accepts: URL-special characters
A = "+12025550101"


def _run(tmp_path: Path, *args: str, config: str, db: Path | None = None, **kw):
    path = tmp_path / "config.toml"
    if not path.exists() or path.read_text() != config:
        path.write_text(config)
        path.chmod(0o600)
    env = {
        **os.environ,
        "CIDREP_CONFIG": str(path),
        "CIDREP_DB": str(db or tmp_path / "s.db"),
        "CIDREP_LOAD_PLUGINS": "fake_sources",
        "PYTHONPATH": str(Path(__file__).parent),
    }
    return subprocess.run(
        [sys.executable, "-m", "cidrep", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        **kw,
    )


def test_every_spelling_of_a_secret_is_redacted():
    from urllib.parse import quote, quote_plus

    r = Redactor([KEY])
    for spelling in (KEY, repr(KEY), quote(KEY, safe=""), quote_plus(KEY), json.dumps(KEY)):
        text = r.one_line(f"server said: {spelling} (end)")
        assert "4f9a" not in text, (spelling, text)
        assert MASK in text


def test_redact_first_then_cut_and_partial_prefixes_are_masked():
    r = Redactor(["tok_ABCDEFGHIJKL"])
    body = "error: bad token tok_ABCDEFGHIJKL, try again"
    assert "tok_ABC" not in excerpt(body, 27, r)
    assert "tok_ABC" not in excerpt(body, 27)[:0] + r.one_line(excerpt(body, 27))  # cut first
    assert r.one_line("prefix tok_ABCDEF...") == f"prefix {MASK}..."


@given(st.text(min_size=6, max_size=30), st.text(max_size=40), st.integers(0, 80))
def test_no_cut_of_a_redacted_excerpt_shows_the_secret(secret, around, limit):
    r = Redactor([secret])
    text = excerpt(around + secret + around, limit, r)
    assert secret not in text


def test_text_a_source_returns_is_redacted_before_it_is_stored(tmp_path):
    config = (
        "[sources.fakefeed]\nenabled = false\n[sources.fake]\necho_key = true\n"
        f'api_key = "{ASCII_KEY}"\n'
    )
    assert _run(tmp_path, "numbers", "add", A, config=config).returncode == 0
    checked = _run(tmp_path, "check", config=config)
    assert checked.returncode == 1, checked.stderr
    data = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    assert ASCII_KEY.encode() not in data and b"4f9a" not in data
    report = _run(tmp_path, "report", A, "--json", config=config).stdout
    assert "4f9a" not in report and MASK in report


def test_verbose_logs_and_crash_messages_are_redacted(tmp_path):
    config = (
        "[sources.fakefeed]\nenabled = false\n[sources.fake]\ncrash = true\n"
        f'api_key = "{ASCII_KEY}"\n'
    )
    _run(tmp_path, "numbers", "add", A, config=config)
    result = _run(tmp_path, "--verbose", "check", config=config)
    assert result.returncode == 3
    assert "Traceback" in result.stderr  # the debug log has the traceback...
    assert "4f9a" not in result.stderr + result.stdout  # ...but never the key


def test_database_wal_shm_and_lock_are_private(tmp_path):
    config = "[sources.fakefeed]\nenabled = false\n[sources.fake]\n"
    old = os.umask(0o022)
    try:
        _run(tmp_path, "numbers", "add", A, config=config)
        _run(tmp_path, "check", config=config)
    finally:
        os.umask(old)
    files = sorted(tmp_path.glob("s.db*"))
    assert {p.name for p in files} >= {"s.db", "s.db.lock"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_lock_follows_symlinks(tmp_path):
    from cidrep.lock import LockHeld, RunLock

    real = tmp_path / "real" / "c.db"
    real.parent.mkdir()
    link = tmp_path / "link.db"
    link.symlink_to(real)
    config = "[sources.fakefeed]\nenabled = false\n[sources.fake]\n"
    _run(tmp_path, "numbers", "add", A, config=config, db=real)
    with RunLock(real.with_name("c.db.lock")):
        second = _run(tmp_path, "check", config=config, db=link)
    assert second.returncode == 75, second.stderr  # today: ran alongside the first
    with RunLock(real.with_name("c.db.lock")), pytest.raises(LockHeld):
        RunLock(real.resolve().with_name("c.db.lock")).acquire()


def test_check_in_an_unusable_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = "[sources.fakefeed]\nenabled = false\n"
    result = _run(tmp_path, "check", config=config, db=blocker / "sub" / "c.db")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr


def test_read_commands_work_for_a_read_only_user(tmp_path, monkeypatch):
    """As root file modes do not bind, so the reader is told it may not write (the
    check ``writable`` makes) and the files are 0444: status and report must work and
    change no byte of the database, its -wal or -shm; a write command fails cleanly."""
    from typer.testing import CliRunner

    from cidrep.cli import make_app
    from cidrep.store import database

    db = tmp_path / "ro.db"
    config = "[sources.fakefeed]\nenabled = false\n[sources.fake]\n"
    _run(tmp_path, "numbers", "add", A, config=config, db=db)
    _run(tmp_path, "check", config=config, db=db)
    files = sorted(tmp_path.glob("ro.db*"))
    for path in files:
        path.chmod(0o444)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    monkeypatch.setattr(database, "writable", lambda _path: False)
    monkeypatch.setenv("CIDREP_DB", str(db))
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", "fake_sources")
    (tmp_path / "config.toml").write_text(config)
    runner = CliRunner()
    status = runner.invoke(make_app(), ["status", "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["numbers"][0]["verdict"] == "clean"
    report = runner.invoke(make_app(), ["report", A])
    assert report.exit_code == 0, report.output
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == before
    if os.geteuid() != 0:  # a real read-only file: a write command fails in one line
        write = _run(tmp_path, "numbers", "add", "+12025550102", config=config, db=db)
        assert write.returncode in (2, 74) and "Traceback" not in write.stderr


def test_read_only_open_never_writes(tmp_path):
    from cidrep.store import open_db

    path = tmp_path / "r.db"
    open_db(path).close()
    ro = open_db(path, readonly=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        ro.execute("INSERT INTO accounts (name, created_at) VALUES ('x', 'T')")
    assert [r["name"] for r in ro.query("SELECT name FROM accounts")] == ["default"]


def test_internal_errors_exit_70_never_1(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cidrep.cli import make_app
    from cidrep.reports import fleet

    def broken(*_a, **_k):
        raise sqlite3.ProgrammingError("something impossible")

    monkeypatch.setattr(fleet, "lines", broken)  # what `status` reads its lines from
    result = CliRunner().invoke(make_app(), ["status"])
    assert result.exit_code == 70
    assert "internal error (ProgrammingError: something impossible)" in result.output
