"""m004: upgrading a database gives every account and number an opaque ref.

The audit log names scopes only by these refs, so every row must have one, they
must differ, and rows inserted later (by any path) get one too.
"""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

from cidrep.store import open_db
from cidrep.store.migrations import m001_initial, m002_current_state, m003_alerts


def _old_database(path):
    old = sqlite_utils.Database(path)
    before = Migrations("cidrep")
    for step in (m001_initial, m002_current_state, m003_alerts):
        before()(step)
    before.apply(old)
    old.execute("INSERT INTO accounts (name, created_at) VALUES ('acme', 'T0')")
    for i in range(50):
        old.execute(
            "INSERT INTO numbers (account_id, e164, created_at) VALUES (?, ?, 'T0')",
            [1 + i % 2, f"+1202555{i:04d}"],
        )
    old.conn.commit()
    old.close()


def test_upgrade_gives_every_row_a_distinct_opaque_ref(tmp_path):
    path = tmp_path / "cidrep.db"
    _old_database(path)
    db = open_db(path)  # applies m004
    refs = [r["ref"] for r in db.query("SELECT ref FROM numbers")]
    refs += [r["ref"] for r in db.query("SELECT ref FROM accounts")]
    assert len(refs) == 52
    assert all(ref and len(ref) == 16 for ref in refs)
    assert len(set(refs)) == len(refs)
    e164s = {r["e164"] for r in db.query("SELECT e164 FROM numbers")}
    assert not any(ref in e164 or e164.lstrip("+") in ref for ref in refs for e164 in e164s)


def test_rows_inserted_later_get_a_ref_and_refs_stay_unique(tmp_path):
    db = open_db(tmp_path / "cidrep.db")
    db.execute("INSERT INTO accounts (name, created_at) VALUES ('later', 'T1')")
    db.execute(
        "INSERT INTO numbers (account_id, e164, created_at) VALUES (2, '+12025550100', 'T1')"
    )
    assert db.execute("SELECT ref FROM numbers").fetchone()[0]
    assert db.execute("SELECT ref FROM accounts WHERE name = 'later'").fetchone()[0]
    ref = db.execute("SELECT ref FROM numbers").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            """INSERT INTO numbers (account_id, e164, created_at, ref)
               VALUES (1, '+12025550101', 'T', ?)""",
            [ref],
        )
