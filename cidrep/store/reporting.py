"""Reads for ``cidrep report NUMBER``: one number's history and flips, by index.

Every query is bounded to one number through an index (``observations_number_source``
for the history, ``flips_number`` for the flips), so the cost follows that number's
run-length history (a year of unchanged hourly checks is one row), never the size of
the database. Only the columns the report needs are read: a source-level row's
evidence is reduced to its ``carriers`` part, and only for flagged rows, where it
says whether the flag came from the carriers (``cidrep.reports.timeline``).
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

HISTORY_SQL = """
SELECT id, source, carrier, verdict, label, error, first_seen, last_seen, checks,
       CASE WHEN carrier IS NULL AND verdict = 'flagged'
            THEN json_extract(evidence, '$.carriers') END AS carriers
FROM observations INDEXED BY observations_number_source
WHERE number_id = ?
"""

FLIPS_SQL = """
SELECT at, kind, source, old_state, new_state, held
FROM flips INDEXED BY flips_number
WHERE number_id = ?
ORDER BY at, id
"""


def number_key(db: Database, e164: str, account: str) -> dict[str, Any] | None:
    """The id and ``created_at`` of the number ``e164`` in the account named
    ``account`` (unique: one row per account and number)."""
    row = db.execute(
        """SELECT n.id, n.created_at FROM numbers n JOIN accounts a ON a.id = n.account_id
           WHERE n.e164 = ? AND a.name = ?""",
        [e164, account],
    ).fetchone()
    return {"id": row[0], "created_at": row[1]} if row else None


def history_rows(db: Database, number_id: int) -> list[dict[str, Any]]:
    """Every history row of one number, source-level (``carrier`` None) and per
    carrier, in storage order (the caller orders them by time)."""
    cursor = db.execute(HISTORY_SQL, [number_id])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def number_flips(db: Database, number_id: int) -> list[dict[str, Any]]:
    """The flips recorded for one number (per-source ``confirmed`` changes and the
    number's ``flagged``/``cleared``/``reminder``/``flapping`` notices), oldest first."""
    cursor = db.execute(FLIPS_SQL, [number_id])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]
