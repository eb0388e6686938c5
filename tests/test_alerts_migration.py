"""Upgrading a database that already has flagged numbers: no storm of old news.

m003 seeds the alert state from the current state as already announced, so the
first check after an upgrade alerts only on what changes from then on.
"""

from __future__ import annotations

import json

import sqlite_utils
from localserver import LocalServer, Reply
from sqlite_utils.migrations import Migrations
from typer.testing import CliRunner

from cidrep.cli import make_app
from cidrep.plugins import reset_cache
from cidrep.store import open_db
from cidrep.store.migrations import m001_initial, m002_current_state

A, B = "+12025550101", "+12025550102"
HOOK = "/hooks/upgrade"


def test_upgrade_with_flagged_numbers_sends_nothing_until_something_changes(tmp_path, monkeypatch):
    path = tmp_path / "cidrep.db"
    old = sqlite_utils.Database(path)
    before = Migrations("cidrep")
    before()(m001_initial)
    before()(m002_current_state)
    before.apply(old)
    for number_id, e164 in ((1, A), (2, B)):
        old.execute(
            "INSERT INTO numbers (id, account_id, e164, created_at) VALUES (?, 1, ?, 'T0')",
            [number_id, e164],
        )
    old.execute(
        """INSERT INTO source_state (number_id, source, verdict, since, streak, checks,
           last_checked, last_success) VALUES
           (1, 'fake', 'flagged', '2026-01-01T00:00:00Z', 5, 5, '2026-01-02T00:00:00Z',
            '2026-01-02T00:00:00Z'),
           (2, 'fake', 'clean', '2026-01-01T00:00:00Z', 5, 5, '2026-01-02T00:00:00Z',
            '2026-01-02T00:00:00Z')"""
    )
    old.conn.commit()
    old.close()

    db = open_db(path)  # applies m003
    seeded = {r["number_id"]: r for r in db.query("SELECT * FROM alert_numbers")}
    assert seeded[1]["state"] == seeded[1]["notified"] == "flagged"
    assert seeded[2]["state"] == seeded[2]["notified"] == "clean"
    db.close()

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", "fake_sources,cidrep_plugins.webhook")
    reset_cache()
    with LocalServer() as server:
        server.route(HOOK, Reply(200, "ok"))
        (tmp_path / "config.toml").write_text(
            "[sources.fakefeed]\nenabled = false\n"
            f'[sources.fake]\nflag = ["{A}", "{B}"]\nconfirm_after = 1\n'
            f'[channels.siem]\ntype = "webhook"\nurl = "{server.url}{HOOK}"\n'
            'secret = "upgrade-secret-0123456789"\n'
        )
        result = CliRunner().invoke(make_app(), ["check", "--force"], catch_exceptions=False)
        bodies = [json.loads(r.body) for r in server.requests if r.method == "POST"]
    assert result.exit_code == 1
    assert [b["number"] for b in bodies] == [B]  # A was flagged before: old news
    assert result.output.count("FLAGGED") == 1
