"""Accounts and monitored numbers.

An account holds only a name and optionally a contact email. Numbers belong to one
account, are stored in E.164, and carry an optional label and free-form tags
(e.g. ``campaign:spring``, ``team:collections``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, Literal

from sqlite_utils import Database

from cidrep.errors import CidrepError
from cidrep.store.database import write


@dataclass(frozen=True)
class NumberEntry:
    e164: str
    label: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


def get_account(db: Database, name: str) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM accounts WHERE name = ?", [name]))
    if not rows:
        raise CidrepError(f"no account named {name!r}; create it with: cidrep accounts add {name}")
    return rows[0]


def add_account(db: Database, name: str, email: str | None, now: str) -> dict[str, Any]:
    name = name.strip()
    if not name:
        raise CidrepError("account name must not be empty")
    if list(db.query("SELECT 1 FROM accounts WHERE name = ?", [name])):
        raise CidrepError(f"account {name!r} already exists")
    db.execute(
        "INSERT INTO accounts (name, email, created_at) VALUES (?, ?, ?)", [name, email, now]
    )
    return get_account(db, name)


def list_accounts(db: Database) -> list[dict[str, Any]]:
    return list(
        db.query(
            """SELECT a.id, a.name, a.email, a.created_at, count(n.id) AS numbers
               FROM accounts a LEFT JOIN numbers n ON n.account_id = a.id
               GROUP BY a.id ORDER BY a.name"""
        )
    )


def add_numbers(
    db: Database, account_id: int, entries: Sequence[NumberEntry], now: str
) -> tuple[list[str], list[str]]:
    """Add numbers in one transaction; existing ones are left unchanged.

    Returns (added, already_present) as E.164 lists. Idempotent by design so a
    re-import of the same file changes nothing.
    """
    added: list[str] = []
    existing: list[str] = []
    seen: set[str] = set()
    with write(db):
        for entry in entries:
            if entry.e164 in seen:
                continue
            seen.add(entry.e164)
            cursor = db.execute(
                """INSERT INTO numbers (account_id, e164, label, tags, created_at)
                   VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, e164) DO NOTHING""",
                [account_id, entry.e164, entry.label, json.dumps(sorted(set(entry.tags))), now],
            )
            (added if cursor.rowcount else existing).append(entry.e164)
    return added, existing


def number_filter(account_id: int | None, tag: str | None) -> tuple[str, list[Any]]:
    """WHERE clause over ``numbers n``: one account (None: all) and one tag (None: any)."""
    where, params = ["1=1"], []
    if account_id is not None:
        where.append("n.account_id = ?")
        params.append(account_id)
    if tag:
        where.append("EXISTS (SELECT 1 FROM json_each(n.tags) WHERE value = ?)")
        params.append(tag)
    return " AND ".join(where), params


def list_numbers(
    db: Database, account_id: int | None = None, tag: str | None = None
) -> list[dict[str, Any]]:
    where, params = number_filter(account_id, tag)
    rows = list(
        db.query(
            f"""SELECT n.*, a.name AS account FROM numbers n
                JOIN accounts a ON a.id = n.account_id
                WHERE {where} ORDER BY a.name, n.e164""",
            params,
        )
    )
    for row in rows:
        row["tags"] = json.loads(row["tags"])
    return rows


def find_numbers(db: Database, account: dict[str, Any], e164s: Iterable[str]) -> list[dict]:
    """Look up numbers in an account; every one must exist (message names the missing)."""
    wanted = list(dict.fromkeys(e164s))
    marks = ",".join("?" * len(wanted))
    rows = {
        r["e164"]: r
        for r in db.query(
            f"SELECT * FROM numbers WHERE account_id = ? AND e164 IN ({marks})",
            [account["id"], *wanted],
        )
    }
    missing = [n for n in wanted if n not in rows]
    if missing:
        raise CidrepError(f"not monitored in account {account['name']!r}: {', '.join(missing)}")
    return [rows[n] for n in wanted]


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP  # edit_number: leave the label as it is


@dataclass(frozen=True)
class NumberChange:
    """What ``edit_number`` did to one number (for the one line the CLI prints)."""

    e164: str
    label_before: str | None
    label_after: str | None
    tags_added: tuple[str, ...]
    tags_removed: tuple[str, ...]

    def describe(self) -> str:
        parts = []
        if self.label_before != self.label_after:
            if self.label_after is None:
                parts.append(f"label {self.label_before!r} cleared")
            else:
                parts.append(f"label {self.label_before!r} -> {self.label_after!r}")
        if self.tags_added:
            parts.append("tagged " + ", ".join(self.tags_added))
        if self.tags_removed:
            parts.append("untagged " + ", ".join(self.tags_removed))
        return f"{self.e164}: " + ("; ".join(parts) if parts else "unchanged")


def edit_number(
    db: Database,
    account: dict[str, Any],
    e164: str,
    label: str | Literal[_Keep.KEEP] | None = KEEP,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
) -> NumberChange:
    """Set or clear (``None``) the label and add/remove tags, in one transaction.

    The number must be monitored in ``account`` (a ``CidrepError`` names it
    otherwise). Adding a tag it has, or removing one it lacks, is not a change, so
    running the same edit twice reports "unchanged" the second time.
    """
    with write(db):
        row = find_numbers(db, account, [e164])[0]
        before = set(json.loads(row["tags"]))
        after = (before | set(add_tags)) - set(remove_tags)
        new_label = row["label"] if label is KEEP else label
        db.execute(
            "UPDATE numbers SET label = ?, tags = ? WHERE id = ?",
            [new_label, json.dumps(sorted(after)), row["id"]],
        )
    return NumberChange(
        e164=e164,
        label_before=row["label"],
        label_after=new_label,
        tags_added=tuple(sorted(after - before)),
        tags_removed=tuple(sorted(before - after)),
    )


def history_size(db: Database, number_ids: Sequence[int]) -> int:
    marks = ",".join("?" * len(number_ids))
    rows = db.query(
        f"SELECT count(*) AS c FROM observations WHERE number_id IN ({marks})", list(number_ids)
    )
    return next(iter(rows))["c"]


def remove_numbers(db: Database, number_ids: Sequence[int]) -> None:
    """Delete numbers with their history and sightings (cascade), in one transaction."""
    with write(db):
        db.execute(
            f"DELETE FROM numbers WHERE id IN ({','.join('?' * len(number_ids))})",
            list(number_ids),
        )


def set_paused(db: Database, number_ids: Sequence[int], paused_at: str | None) -> int:
    """Pause (timestamp) or resume (None); returns how many changed state."""
    marks = ",".join("?" * len(number_ids))
    condition = "paused_at IS NULL" if paused_at else "paused_at IS NOT NULL"
    with write(db):
        cursor = db.execute(
            f"UPDATE numbers SET paused_at = ? WHERE id IN ({marks}) AND {condition}",
            [paused_at, *number_ids],
        )
    return cursor.rowcount


def missing_numbers(
    db: Database, numbers: Sequence[str], account_id: int | None = None
) -> list[str]:
    """The E.164 numbers in ``numbers`` that are not monitored (in the account)."""
    if not numbers:
        return []
    marks = ",".join("?" * len(numbers))
    sql = f"SELECT DISTINCT e164 FROM numbers WHERE e164 IN ({marks})"
    params: list[Any] = list(numbers)
    if account_id is not None:
        sql += " AND account_id = ?"
        params.append(account_id)
    found = {r["e164"] for r in db.query(sql, params)}
    return [n for n in numbers if n not in found]


def set_email(db: Database, account_id: int, email: str | None) -> None:
    with write(db):
        db.execute("UPDATE accounts SET email = ? WHERE id = ?", [email, account_id])


def number_ids(db: Database, e164s: Iterable[str], account_id: int | None) -> dict[str, list[int]]:
    """The rows of each monitored number (in ``account_id``, else in every account that
    monitors it); numbers not monitored are absent from the answer."""
    wanted = sorted(set(e164s))
    found: dict[str, list[int]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        sql = f"SELECT id, e164 FROM numbers WHERE e164 IN ({','.join('?' * len(chunk))})"
        params: list[Any] = list(chunk)
        if account_id is not None:
            sql += " AND account_id = ?"
            params.append(account_id)
        for row in db.query(sql + " ORDER BY id", params):
            found.setdefault(row["e164"], []).append(row["id"])
    return found
