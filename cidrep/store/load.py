"""Writing an export's records back (``cidrep restore``), inside the caller's transaction.

The inverse of ``cidrep.store.dump``: a number's ``history`` positions become row ids
again, so its current-state row points at the same rows. Runs keep their id when it
is free in this database and get a new one when not (``RunIds`` maps them), so a
restore into an empty database gives back the same ids and the same export.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from cidrep.errors import CidrepError
from cidrep.store.dump import (
    ALERT_FIELDS,
    CURRENT_FIELDS,
    DELIVERY_FIELDS,
    FLIP_FIELDS,
    HISTORY_FIELDS,
    RUN_FIELDS,
    RUN_SOURCE_FIELDS,
)


class RunIds:
    """Exported run id -> run id in this database."""

    def __init__(self) -> None:
        self.ids: dict[int, int] = {}

    def __call__(self, run: int | None) -> int | None:
        return None if run is None else self.ids.get(run, run)


def account(db: Database, record: dict[str, Any]) -> int:
    """Create the account, or fill the empty one of that name; returns its id.

    An account that already holds numbers or routing is refused: restoring into it
    would mix two histories.
    """
    rows = list(db.query("SELECT * FROM accounts WHERE name = ?", [record["name"]]))
    if rows:
        existing = rows[0]
        busy = db.conn.execute(
            """SELECT (SELECT count(*) FROM numbers WHERE account_id = :id)
                    + (SELECT count(*) FROM account_channels WHERE account_id = :id)""",
            {"id": existing["id"]},
        ).fetchone()[0]
        if busy:
            raise CidrepError(
                f"account {record['name']!r} already exists here with numbers or routing; "
                "restore into a database without it (or delete it first)"
            )
        db.conn.execute(
            "UPDATE accounts SET ref = ?, email = ?, created_at = ? WHERE id = ?",
            [record["ref"], record["email"], record["created_at"], existing["id"]],
        )
        account_id = existing["id"]
    else:
        cursor = db.conn.execute(
            "INSERT INTO accounts (name, email, created_at, ref) VALUES (?, ?, ?, ?)",
            [record["name"], record["email"], record["created_at"], record["ref"]],
        )
        account_id = int(cursor.lastrowid or 0)
    db.conn.executemany(
        "INSERT INTO account_channels (account_id, channel) VALUES (?, ?)",
        [(account_id, c) for c in record["channels"]],
    )
    return account_id


def run(db: Database, record: dict[str, Any], ids: RunIds) -> None:
    taken = list(db.query("SELECT 1 FROM runs WHERE id = ?", [record["id"]]))
    values = {k: record[k] for k in RUN_FIELDS}
    if taken:
        del values["id"]
    cols = list(values)
    cursor = db.conn.execute(
        f"INSERT INTO runs ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
        [values[c] for c in cols],
    )
    run_id = int(cursor.lastrowid or 0)
    ids.ids[record["id"]] = run_id
    cols = [*RUN_SOURCE_FIELDS, "stats"]
    db.conn.executemany(
        f"""INSERT INTO run_sources (run_id, {",".join(cols)})
            VALUES (?, {",".join("?" * len(cols))})""",
        [
            (run_id, *(s[c] for c in RUN_SOURCE_FIELDS), json.dumps(s["stats"], sort_keys=True))
            for s in record["sources"]
        ],
    )


def number(db: Database, record: dict[str, Any], account_id: int, ids: RunIds) -> None:
    conn = db.conn
    cursor = conn.execute(
        """INSERT INTO numbers (account_id, e164, label, tags, paused_at, created_at, ref)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [
            account_id,
            record["e164"],
            record["label"],
            json.dumps(sorted(record["tags"])),
            record["paused_at"],
            record["created_at"],
            record["ref"],
        ],
    )
    nid = int(cursor.lastrowid or 0)
    row_ids: list[int] = []
    for h in record["history"]:
        cur = conn.execute(
            f"""INSERT INTO observations (number_id, {",".join(HISTORY_FIELDS)}, evidence,
                first_run_id, last_run_id)
                VALUES (?, {",".join("?" * len(HISTORY_FIELDS))}, ?, ?, ?)""",
            [
                nid,
                *(h[k] for k in HISTORY_FIELDS),
                json.dumps(h["evidence"], sort_keys=True),
                ids(h["first_run"]),
                ids(h["last_run"]),
            ],
        )
        row_ids.append(int(cur.lastrowid or 0))

    def row_id(entry: int | None) -> int | None:
        if entry is None:
            return None
        if not 0 <= entry < len(row_ids):
            raise CidrepError(
                f"number {record['ref']}: current state points at history entry {entry}, "
                f"but it has {len(row_ids)}"
            )
        return row_ids[entry]

    own = [c for c in record["current"] if c.get("carrier") is None]
    per_carrier = [c for c in record["current"] if c.get("carrier") is not None]
    for table, rows in (("source_state", own), ("carrier_state", per_carrier)):
        fields = [k for k in CURRENT_FIELDS if table == "carrier_state" or k != "carrier"]
        conn.executemany(
            f"""INSERT INTO {table} (number_id, {",".join(fields)}, obs_id, verdict_obs_id)
                VALUES (?, {",".join("?" * len(fields))}, ?, ?)""",
            [
                (nid, *(c[k] for k in fields), row_id(c["entry"]), row_id(c["verdict_entry"]))
                for c in rows
            ],
        )
    conn.executemany(
        """INSERT INTO sightings (number_id, source, key, occurred_at, detail, run_id)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [
            (
                nid,
                s["source"],
                s["key"],
                s["occurred_at"],
                json.dumps(s["detail"], sort_keys=True),
                ids(s["run"]),
            )
            for s in record["sightings"]
        ],
    )
    alert = record["alert"]
    if alert is not None:
        conn.execute(
            f"""INSERT INTO alert_numbers (number_id, {",".join(ALERT_FIELDS)}, flips)
                VALUES (?, {",".join("?" * len(ALERT_FIELDS))}, ?)""",
            [nid, *(alert[k] for k in ALERT_FIELDS), json.dumps(alert["flips"])],
        )
    conn.executemany(
        "INSERT INTO alert_sources (number_id, source, state, since) VALUES (?, ?, ?, ?)",
        [(nid, c["source"], c["state"], c["since"]) for c in record["confirmed"]],
    )
    for flip in record["flips"]:
        flip_row(db, flip, nid, ids)


def flip_row(db: Database, flip: dict[str, Any], number_id: int | None, ids: RunIds) -> None:
    """One flip with its deliveries. A key already present is refused: that flip (and
    the alert it sent) is already in this database."""
    if list(db.query("SELECT 1 FROM flips WHERE key = ?", [flip["key"]])):
        raise CidrepError(
            f"flip {flip['key']} is already in this database: this export (or part of it) "
            "was restored here before"
        )
    cursor = db.conn.execute(
        f"""INSERT INTO flips ({",".join(FLIP_FIELDS)}, run_id, number_id, alert)
            VALUES ({",".join("?" * len(FLIP_FIELDS))}, ?, ?, ?)""",
        [
            *(flip[k] for k in FLIP_FIELDS),
            ids(flip["run"]),
            number_id,
            json.dumps(flip["alert"], sort_keys=True) if flip["alert"] is not None else None,
        ],
    )
    flip_id = int(cursor.lastrowid or 0)
    db.conn.executemany(
        f"""INSERT INTO deliveries (flip_id, {",".join(DELIVERY_FIELDS)})
            VALUES (?, {",".join("?" * len(DELIVERY_FIELDS))})""",
        [(flip_id, *(d[k] for k in DELIVERY_FIELDS)) for d in flip["deliveries"]],
    )
