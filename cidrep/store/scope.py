"""A privacy scope as temp tables: the rows an export, deletion or count is about.

``select`` fills ``temp.scope_numbers`` (number ids), ``temp.scope_accounts``
(account ids: the accounts named, or holding the numbers named) and
``temp.scope_refs`` (the opaque refs of what was named, for the audit log). Every
query of an export or deletion joins these, so a scope of 100,000 numbers is never a
Python list spliced into SQL, and nothing is read twice.

Kinds:

- ``all``: every account and number;
- ``account``: the named accounts and all their numbers;
- ``numbers``: the named numbers (E.164) in every account holding them, or in one
  account; their accounts are in ``scope_accounts`` for context only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

TABLES = ("scope_numbers", "scope_accounts", "scope_refs")


@dataclass(frozen=True)
class Selected:
    kind: str
    accounts: int
    numbers: int
    refs: tuple[str, ...]


def select(
    db: Database,
    kind: str,
    account_ids: Sequence[int] = (),
    e164s: Sequence[str] = (),
) -> Selected:
    """Fill the scope temp tables (replacing any previous scope)."""
    conn = db.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scope_numbers (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scope_accounts (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scope_refs (ref TEXT PRIMARY KEY)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scope_wanted (e164 TEXT PRIMARY KEY)")
    for table in (*TABLES, "scope_wanted"):
        conn.execute(f"DELETE FROM temp.{table}")
    if kind == "all":
        conn.execute("INSERT INTO temp.scope_accounts SELECT id FROM accounts")
        conn.execute("INSERT INTO temp.scope_numbers SELECT id FROM numbers")
    elif kind == "account":
        conn.executemany(
            "INSERT OR IGNORE INTO temp.scope_accounts VALUES (?)", [(i,) for i in account_ids]
        )
        conn.execute(
            """INSERT INTO temp.scope_numbers SELECT id FROM numbers
               WHERE account_id IN (SELECT id FROM temp.scope_accounts)"""
        )
        conn.execute(
            """INSERT INTO temp.scope_refs SELECT ref FROM accounts
               WHERE id IN (SELECT id FROM temp.scope_accounts)"""
        )
    elif kind == "numbers":
        conn.executemany(
            "INSERT OR IGNORE INTO temp.scope_wanted VALUES (?)", [(n,) for n in e164s]
        )
        where = ""
        params: list[int] = []
        if account_ids:
            where = f" AND n.account_id IN ({','.join('?' * len(account_ids))})"
            params = list(account_ids)
        conn.execute(
            f"""INSERT INTO temp.scope_numbers SELECT n.id FROM numbers n
                JOIN temp.scope_wanted w ON w.e164 = n.e164 WHERE 1=1{where}""",
            params,
        )
        conn.execute(
            """INSERT INTO temp.scope_accounts SELECT DISTINCT account_id FROM numbers
               WHERE id IN (SELECT id FROM temp.scope_numbers)"""
        )
    else:
        raise ValueError(f"unknown scope kind {kind!r}")
    conn.execute(
        """INSERT INTO temp.scope_refs SELECT ref FROM numbers
           WHERE id IN (SELECT id FROM temp.scope_numbers)"""
    )
    counts = next(
        iter(
            db.query(
                """SELECT (SELECT count(*) FROM temp.scope_accounts) AS a,
                          (SELECT count(*) FROM temp.scope_numbers) AS n"""
            )
        )
    )
    if kind == "all":
        refs: tuple[str, ...] = ()
    elif kind == "account":
        refs = tuple(
            r["ref"]
            for r in db.query(
                "SELECT ref FROM accounts WHERE id IN (SELECT id FROM temp.scope_accounts) "
                "ORDER BY ref"
            )
        )
    else:
        refs = tuple(
            r["ref"]
            for r in db.query(
                "SELECT ref FROM numbers WHERE id IN (SELECT id FROM temp.scope_numbers) "
                "ORDER BY ref"
            )
        )
    return Selected(kind, counts["a"], counts["n"], refs)


def missing(db: Database) -> list[str]:
    """Numbers asked for (kind ``numbers``) that no account in scope holds."""
    return [
        r["e164"]
        for r in db.query(
            """SELECT w.e164 FROM temp.scope_wanted w WHERE NOT EXISTS (
                   SELECT 1 FROM numbers n JOIN temp.scope_numbers s ON s.id = n.id
                   WHERE n.e164 = w.e164) ORDER BY w.e164"""
        )
    ]


def drop(db: Database) -> None:
    for table in (*TABLES, "scope_wanted"):
        db.conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
