"""Row counts for ``cidrep privacy``: what is stored, per account and fleet-wide.

One grouped query per table (by the number's account), so the cost is a scan of
each table's number index, never a query per number.
"""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

# kind -> (table, how a row reaches its number)
PER_ACCOUNT: dict[str, str] = {
    "numbers": "SELECT account_id, count(*) FROM numbers GROUP BY account_id",
    "history": """SELECT n.account_id, count(*) FROM observations o
                  JOIN numbers n ON n.id = o.number_id GROUP BY n.account_id""",
    "sightings": """SELECT n.account_id, count(*) FROM sightings s
                    JOIN numbers n ON n.id = s.number_id GROUP BY n.account_id""",
    "current_state": """SELECT n.account_id, count(*) FROM
                          (SELECT number_id FROM source_state
                           UNION ALL SELECT number_id FROM carrier_state) s
                        JOIN numbers n ON n.id = s.number_id GROUP BY n.account_id""",
    "flips": """SELECT n.account_id, count(*) FROM flips f
                JOIN numbers n ON n.id = f.number_id GROUP BY n.account_id""",
    "deliveries": """SELECT n.account_id, count(*) FROM deliveries d
                     JOIN flips f ON f.id = d.flip_id
                     JOIN numbers n ON n.id = f.number_id GROUP BY n.account_id""",
}
FLEET: dict[str, str] = {
    "runs": "SELECT count(*) FROM runs",
    "notices": "SELECT count(*) FROM flips WHERE number_id IS NULL",
    "feeds": "SELECT count(*) FROM feeds",
    "feed_items": "SELECT count(*) FROM feed_items",
    "channel_state": "SELECT count(*) FROM channel_state",
    "audit": "SELECT count(*) FROM audit",
}


def per_account(db: Database) -> list[dict[str, Any]]:
    """``[{"account": name, "rows": {kind: n}}]`` for every account, by name."""
    accounts = {
        r["id"]: {"account": r["name"], "rows": dict.fromkeys(PER_ACCOUNT, 0)}
        for r in db.query("SELECT id, name FROM accounts ORDER BY name")
    }
    for kind, sql in PER_ACCOUNT.items():
        for account_id, n in db.conn.execute(sql):
            if account_id in accounts:
                accounts[account_id]["rows"][kind] = n
    return list(accounts.values())


def fleet(db: Database) -> dict[str, int]:
    return {kind: db.conn.execute(sql).fetchone()[0] for kind, sql in FLEET.items()}
