"""Reading a scope's rows for an export, streamed.

Every table is read with one query ordered by number id and merged with the numbers
cursor, so a number's rows arrive together, memory holds one number at a time, and
a 100,000-number account costs a handful of queries, not six per number. The scope
is the temp tables of ``cidrep.store.scope``.

Records drop internal integer ids: a history row is named by its position in the
number's ``history``, so the current-state row points at ``entry``/``verdict_entry``
indexes, and a restore into another database rebuilds the links. Run ids are kept
(runs are exported with their id; a restore keeps it when free, else maps it).
Secrets are never in these tables, so none can appear.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlite_utils import Database

IN_SCOPE = "number_id IN (SELECT id FROM temp.scope_numbers)"


def accounts(db: Database) -> Iterator[dict[str, Any]]:
    for row in db.query(
        """SELECT a.*, (SELECT json_group_array(channel) FROM (
                SELECT channel FROM account_channels c WHERE c.account_id = a.id
                ORDER BY channel)) AS channels
           FROM accounts a WHERE a.id IN (SELECT id FROM temp.scope_accounts)
           ORDER BY a.name"""
    ):
        yield {
            "ref": row["ref"],
            "name": row["name"],
            "email": row["email"],
            "created_at": row["created_at"],
            "channels": json.loads(row["channels"]),
        }


def runs(db: Database, all_runs: bool) -> Iterator[dict[str, Any]]:
    """The runs the scope's rows name (every run for ``all``), with their sources."""
    if all_runs:
        where = "1=1"
    else:
        where = f"""r.id IN (
            SELECT first_run_id FROM observations WHERE {IN_SCOPE}
            UNION SELECT last_run_id FROM observations WHERE {IN_SCOPE}
            UNION SELECT run_id FROM sightings WHERE {IN_SCOPE}
            UNION SELECT run_id FROM flips WHERE {IN_SCOPE}
            UNION SELECT id FROM runs WHERE account IN (
                SELECT name FROM accounts WHERE id IN (SELECT id FROM temp.scope_accounts)))"""
    sources = db.conn.execute(
        f"""SELECT rs.* FROM run_sources rs JOIN runs r ON r.id = rs.run_id
            WHERE {where} ORDER BY rs.run_id, rs.source"""
    )
    columns = [d[0] for d in sources.description]
    pending = _rows(sources, columns)
    for run in db.query(f"SELECT r.* FROM runs r WHERE {where} ORDER BY r.id"):
        record = {k: run[k] for k in RUN_FIELDS}
        record["sources"] = [_run_source(r) for r in _take(pending, "run_id", run["id"])]
        yield record


RUN_FIELDS = (
    "id",
    "started_at",
    "finished_at",
    "status",
    "account",
    "forced",
    "checks",
    "flagged",
    "errors",
    "exit_code",
)
RUN_SOURCE_FIELDS = (
    "source",
    "status",
    "reason",
    "checks",
    "clean",
    "flagged",
    "unknown",
    "errors",
    "cost_units",
    "message",
)


def _run_source(row: dict[str, Any]) -> dict[str, Any]:
    record = {k: row[k] for k in RUN_SOURCE_FIELDS}
    record["stats"] = json.loads(row["stats"])
    return record


HISTORY_FIELDS = (
    "source",
    "verdict",
    "label",
    "category",
    "score",
    "url",
    "error",
    "fingerprint",
    "first_seen",
    "last_seen",
    "checks",
    "carrier",
)
CURRENT_FIELDS = (
    "source",
    "verdict",
    "since",
    "streak",
    "fingerprint",
    "last_checked",
    "last_success",
    "last_failure",
    "last_error",
    "error_streak",
    "checks",
    "carrier",
)
ALERT_FIELDS = (
    "state",
    "since",
    "notified",
    "notified_at",
    "flapping_since",
    "muted_until",
    "reminded_at",
    "flagged_at",
)
FLIP_FIELDS = ("key", "at", "kind", "source", "old_state", "new_state", "held")
DELIVERY_FIELDS = (
    "channel",
    "status",
    "attempts",
    "created_at",
    "next_try",
    "claimed_at",
    "delivered_at",
    "last_error",
)


STATE_COLUMNS = "number_id, obs_id, verdict_obs_id, " + ", ".join(
    c for c in CURRENT_FIELDS if c != "carrier"
)

# Each flip with its deliveries, one row per delivery (``d_*`` columns; none: NULLs).
FLIPS_SQL = f"""SELECT f.*, d.id AS d_id, {", ".join(f"d.{c} AS d_{c}" for c in DELIVERY_FIELDS)}
                FROM flips f LEFT JOIN deliveries d ON d.flip_id = f.id"""


def numbers(db: Database) -> Iterator[dict[str, Any]]:
    """One record per number in scope, with all its rows, ordered by number id."""
    conn = db.conn

    def cursor(sql: str) -> Iterator[dict[str, Any]]:
        cur = conn.execute(sql)
        return _rows(cur, [d[0] for d in cur.description])

    history = cursor(f"SELECT * FROM observations WHERE {IN_SCOPE} ORDER BY number_id, id")
    current = cursor(
        f"""SELECT {STATE_COLUMNS}, NULL AS carrier, 0 AS per_carrier FROM source_state
            WHERE {IN_SCOPE} UNION ALL
            SELECT {STATE_COLUMNS}, carrier, 1 AS per_carrier FROM carrier_state
            WHERE {IN_SCOPE} ORDER BY number_id, per_carrier, source, carrier"""
    )
    sightings = cursor(
        f"SELECT * FROM sightings WHERE {IN_SCOPE} ORDER BY number_id, occurred_at, id"
    )
    alerts = cursor(f"SELECT * FROM alert_numbers WHERE {IN_SCOPE} ORDER BY number_id")
    confirmed = cursor(f"SELECT * FROM alert_sources WHERE {IN_SCOPE} ORDER BY number_id, source")
    flips = cursor(f"{FLIPS_SQL} WHERE f.{IN_SCOPE} ORDER BY f.number_id, f.id, d.id")
    for number in db.query(
        """SELECT n.*, a.ref AS account_ref FROM numbers n JOIN accounts a ON a.id = n.account_id
           WHERE n.id IN (SELECT id FROM temp.scope_numbers) ORDER BY n.id"""
    ):
        nid = number["id"]
        rows = list(_take(history, "number_id", nid))
        index = {row["id"]: i for i, row in enumerate(rows)}
        alert = next(iter(_take(alerts, "number_id", nid)), None)
        yield {
            "ref": number["ref"],
            "account": number["account_ref"],
            "e164": number["e164"],
            "label": number["label"],
            "tags": json.loads(number["tags"]),
            "paused_at": number["paused_at"],
            "created_at": number["created_at"],
            "history": [_history(r) for r in rows],
            "current": [_current(r, index) for r in _take(current, "number_id", nid)],
            "sightings": [_sighting(r) for r in _take(sightings, "number_id", nid)],
            "alert": _alert(alert) if alert else None,
            "confirmed": [
                {"source": r["source"], "state": r["state"], "since": r["since"]}
                for r in _take(confirmed, "number_id", nid)
            ],
            "flips": _flips(_take(flips, "number_id", nid)),
        }


def notices(db: Database) -> Iterator[dict[str, Any]]:
    """Flips about no number (source failing/recovered, digests, tests): ``all`` only."""
    conn = db.conn
    cur = conn.execute(f"{FLIPS_SQL} WHERE f.number_id IS NULL ORDER BY f.id, d.id")
    rows = _rows(cur, [d[0] for d in cur.description])
    group: list[dict[str, Any]] = []
    for row in rows:
        if group and group[0]["id"] != row["id"]:
            yield from _flips(group)
            group = []
        group.append(row)
    if group:
        yield from _flips(group)


def _history(row: dict[str, Any]) -> dict[str, Any]:
    record = {k: row[k] for k in HISTORY_FIELDS}
    record["evidence"] = json.loads(row["evidence"])
    record["first_run"] = row["first_run_id"]
    record["last_run"] = row["last_run_id"]
    return record


def _current(row: dict[str, Any], index: dict[int, int]) -> dict[str, Any]:
    record = {k: row[k] for k in CURRENT_FIELDS}
    record["entry"] = index.get(row["obs_id"]) if row["obs_id"] is not None else None
    verdict_obs = row["verdict_obs_id"]
    record["verdict_entry"] = index.get(verdict_obs) if verdict_obs is not None else None
    return record


def _sighting(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": row["source"],
        "key": row["key"],
        "occurred_at": row["occurred_at"],
        "detail": json.loads(row["detail"]),
        "run": row["run_id"],
    }


def _alert(row: dict[str, Any]) -> dict[str, Any]:
    record = {k: row[k] for k in ALERT_FIELDS}
    record["flips"] = json.loads(row["flips"])
    return record


def _flips(rows: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rows:
        if not out or out[-1]["_id"] != row["id"]:
            record = {k: row[k] for k in FLIP_FIELDS}
            record["run"] = row["run_id"]
            record["alert"] = json.loads(row["alert"]) if row["alert"] else None
            record["deliveries"] = []
            record["_id"] = row["id"]
            out.append(record)
        if row["d_id"] is not None:
            out[-1]["deliveries"].append({k: row["d_" + k] for k in DELIVERY_FIELDS})
    for record in out:
        del record["_id"]
    return out


class _Peek:
    """A row iterator that can hand back the row it read too far."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows = rows
        self.held: dict[str, Any] | None = None

    def __iter__(self) -> _Peek:
        return self

    def __next__(self) -> dict[str, Any]:
        if self.held is not None:
            row, self.held = self.held, None
            return row
        return next(self.rows)


def _rows(cursor: Any, columns: list[str]) -> Iterator[dict[str, Any]]:
    return _Peek(dict(zip(columns, row, strict=True)) for row in cursor)  # type: ignore[return-value]


def _take(rows: Iterator[dict[str, Any]], key: str, value: int) -> Iterator[dict[str, Any]]:
    """The next rows whose ``key`` is ``value`` (rows are sorted by ``key``; rows with a
    smaller key, which cannot occur, are skipped)."""
    assert isinstance(rows, _Peek)
    for row in rows:
        if row[key] < value:
            continue
        if row[key] > value:
            rows.held = row
            return
        yield row
