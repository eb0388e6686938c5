"""The fleet query behind ``status``: numbers in a chosen order, filtered in SQL.

``iter_numbers`` runs one ordered SELECT and hands it out a page at a time from the
cursor: SQLite sorts (with its own bounded sorter, spilling to a temp file when the
fleet is large) and Python never holds more than a page. Keyset paging, as in
``state.iter_numbers``, would re-evaluate a computed sort key (a number's worst
verdict, since when) over the whole fleet for every page; one cursor evaluates it
once. ``status`` only reads, so the open cursor blocks no writer (WAL).

Filters push down to ``source_state`` (its primary key starts with ``number_id``):

- ``source``: numbers with a state row at that source; verdicts are that source's;
- ``verdict``: ``verdict_sql``, the SQL form of ``cidrep.health.summarize``'s
  verdict (tests check the two agree, on the fixture and on random states);
  ``flagged`` needs no aggregate (flagged is the worst verdict): one flagged row;
- ``failing``: a source failing, or stale by its own stale-before time.

``--sort verdict`` and ``--sort since`` order by ``verdict_sql`` and ``since_sql``,
the SQL forms of ``cidrep.reports.fleet.sort_key``.

The caller re-checks every line with the pure rules (``cidrep.reports.fleet``), so
SQL narrows the scan and Python has the last word.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from cidrep.store.state import FAILING_SQL

ORDERS = ("account", "number", "label", "verdict", "since")
VERDICT_FILTERS = ("flagged", "error", "unknown", "clean", "unchecked")
NUMBER_KEYS = ("id", "e164", "account", "label", "tags", "paused_at")

# ``summarize`` in SQL over ``source_state s`` rows of one number: the worst real
# verdict (flagged > error > clean > unknown, as ``history.worst``), else ``error``
# when a source is failing, else NULL (never checked). max() over no rows is NULL,
# which no WHEN matches.
_VERDICT_CASE = f"""CASE
    WHEN max(s.verdict = 'flagged') THEN 'flagged'
    WHEN max(s.verdict = 'error') THEN 'error'
    WHEN max(s.verdict = 'clean') THEN 'clean'
    WHEN max(s.verdict = 'unknown') THEN 'unknown'
    WHEN max({FAILING_SQL}) THEN 'error'
    END"""
# Display order for --sort verdict: what needs action first.
RANK_SQL = (
    "CASE verdict WHEN 'flagged' THEN 0 WHEN 'error' THEN 1 WHEN 'unknown' THEN 2 "
    "WHEN 'clean' THEN 3 ELSE 4 END"
)


def verdict_sql(source: str | None) -> tuple[str, list[Any]]:
    """A scalar subquery: the verdict of number ``n`` (at one source, or all)."""
    only, params = ("AND s.source = ?", [source]) if source else ("", [])
    return f"(SELECT {_VERDICT_CASE} FROM source_state s WHERE s.number_id = n.id {only})", params


def since_sql(source: str | None) -> tuple[str, list[Any]]:
    """A scalar subquery: when number ``n``'s verdict began, the earliest ``since``
    of the rows holding it (``cidrep.reports.fleet.since_of``); NULL when its verdict
    is no row's (never checked, or ``error`` from failures only). It restates the
    verdict's CASE rather than read it, so each number is looked up once."""
    only, params = ("AND s.source = ?", [source]) if source else ("", [])
    first = " ".join(
        f"WHEN max(s.verdict = '{v}') THEN min(CASE WHEN s.verdict = '{v}' THEN s.since END)"
        for v in ("flagged", "error", "clean", "unknown")
    )
    sql = f"(SELECT CASE {first} END FROM source_state s WHERE s.number_id = n.id {only})"
    return sql, params


@dataclass(frozen=True)
class FleetQuery:
    """What ``status`` asks for. ``stale_before`` maps a source to the time before
    which its last success is stale (None: a recorded source, never stale);
    ``default_stale_before`` covers sources not in the map."""

    account_id: int | None = None
    tag: str | None = None
    source: str | None = None
    verdict: str | None = None  # one of VERDICT_FILTERS
    failing: bool = False
    order: str = "account"
    stale_before: Mapping[str, str | None] = field(default_factory=dict)
    default_stale_before: str | None = None

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ValueError(f"unknown order {self.order!r}")
        if self.verdict is not None and self.verdict not in VERDICT_FILTERS:
            raise ValueError(f"unknown verdict {self.verdict!r}")


def _not_current_sql(q: FleetQuery) -> tuple[str, list[Any]]:
    """EXISTS: a source (or ``q.source``) failing or stale for number ``n``."""
    only, params = ("AND s.source = ?", [q.source]) if q.source else ("", [])
    cases = []
    for source, before in sorted(q.stale_before.items()):
        cases.append("WHEN ? THEN ?")
        params += [source, before]
    stale_at = f"CASE s.source {' '.join(cases)} ELSE ? END" if cases else "?"
    params.append(q.default_stale_before)
    sql = f"""EXISTS (SELECT 1 FROM source_state s WHERE s.number_id = n.id {only}
              AND ({FAILING_SQL} OR (s.last_success IS NOT NULL
                   AND s.last_success < {stale_at})))"""
    return sql, params


def _order_sql(order: str) -> str:
    return {
        "account": "account, e164",
        "number": "e164, account",
        "label": "(label IS NULL OR label = ''), label COLLATE NOCASE, label, e164, account",
        "verdict": f"{RANK_SQL}, e164, account",
        "since": "since IS NULL, since, e164, account",
    }[order]


def fleet_sql(q: FleetQuery) -> tuple[str, list[Any]]:
    """The SELECT of ``iter_numbers`` (exposed for EXPLAIN in tests): the numbers in
    scope with the cheap filters in WHERE, a computed verdict and since only when a
    filter or the order needs them."""
    from cidrep.store.numbers import number_filter

    where, params = number_filter(q.account_id, q.tag)
    one = " AND s.source = ?" if q.source else ""
    also = [q.source] if q.source else []
    if q.source:
        where += " AND EXISTS (SELECT 1 FROM source_state s WHERE s.number_id = n.id" + one + ")"
        params += also
    if q.verdict == "flagged":  # flagged is the worst verdict: one flagged row is enough
        where += f""" AND EXISTS (SELECT 1 FROM source_state s WHERE s.number_id = n.id
                       AND s.verdict = 'flagged'{one})"""
        params += also
    if q.failing:
        sql, extra = _not_current_sql(q)
        where += " AND " + sql
        params += extra
    cols = ["n.id", "n.e164", "a.name AS account", "n.label", "n.tags", "n.paused_at"]
    col_params: list[Any] = []
    outer, outer_params = "1=1", []
    if q.order == "verdict" or q.verdict not in (None, "flagged"):
        sql, extra = verdict_sql(q.source)
        cols.append(f"{sql} AS verdict")
        col_params += extra
        if q.verdict == "unchecked":
            outer = "verdict IS NULL"
        elif q.verdict not in (None, "flagged"):
            outer, outer_params = "verdict = ?", [q.verdict]
    if q.order == "since":
        sql, extra = since_sql(q.source)
        cols.append(f"{sql} AS since")
        col_params += extra
    inner = f"""SELECT {", ".join(cols)} FROM numbers n JOIN accounts a ON a.id = n.account_id
                WHERE {where}"""
    return (
        f"""SELECT {", ".join(NUMBER_KEYS)} FROM ({inner}) x WHERE {outer}
            ORDER BY {_order_sql(q.order)}""",
        [*col_params, *params, *outer_params],
    )


def iter_numbers(db: Database, q: FleetQuery, page: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """Numbers matching ``q`` in its order, a page at a time (dicts of NUMBER_KEYS)."""
    sql, params = fleet_sql(q)
    cursor = db.conn.execute(sql, params)
    try:
        while rows := cursor.fetchmany(page):
            yield [dict(zip(NUMBER_KEYS, row, strict=False)) for row in rows]
    finally:
        cursor.close()


StateRow = tuple[str, str | None, str | None, str | None, str | None]  # see lean_states


def lean_states(
    db: Database, number_ids: Sequence[int], source: str | None = None
) -> dict[int, list[StateRow]]:
    """Per number: (source, verdict, since, last_success, last_failure) of each state
    row (or of ``source``'s only): what a fleet line needs, nothing from the history."""
    found: dict[int, list[StateRow]] = {}
    only = " AND source = ?" if source else ""
    for start in range(0, len(number_ids), 500):
        chunk = list(number_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.conn.execute(
            f"""SELECT number_id, source, verdict, since, last_success, last_failure
                FROM source_state WHERE number_id IN ({marks}){only}
                ORDER BY number_id, source""",
            [*chunk, *([source] if source else [])],
        ):
            found.setdefault(row[0], []).append(row[1:])
    return found


def flagged_carriers(
    db: Database, number_ids: Sequence[int], source: str | None = None
) -> dict[int, dict[str, list[str]]]:
    """Per number, per source: the carriers currently flagging it, by name."""
    found: dict[int, dict[str, list[str]]] = {}
    only = " AND source = ?" if source else ""
    for start in range(0, len(number_ids), 500):
        chunk = list(number_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for number_id, src, carrier in db.conn.execute(
            f"""SELECT number_id, source, carrier FROM carrier_state
                WHERE number_id IN ({marks}) AND verdict = 'flagged'{only}
                ORDER BY number_id, source, carrier""",
            [*chunk, *([source] if source else [])],
        ):
            found.setdefault(number_id, {}).setdefault(src, []).append(carrier)
    return found


def accounts_in_scope(db: Database, account_id: int | None, tag: str | None) -> int:
    """How many accounts hold a number in scope (a table names the account when > 1)."""
    from cidrep.store.numbers import number_filter

    where, params = number_filter(account_id, tag)
    row = db.conn.execute(
        f"""SELECT count(*) FROM accounts a WHERE EXISTS (
              SELECT 1 FROM numbers n WHERE n.account_id = a.id AND {where})""",
        params,
    ).fetchone()
    return int(row[0])


def has_numbers(db: Database, account_id: int | None, tag: str | None) -> bool:
    from cidrep.store.numbers import number_filter

    where, params = number_filter(account_id, tag)
    sql = f"SELECT 1 FROM numbers n WHERE {where} LIMIT 1"
    return db.conn.execute(sql, params).fetchone() is not None


def source_known(db: Database, source: str) -> bool:
    """Whether any number has state at ``source`` (an indexed probe)."""
    sql = "SELECT 1 FROM source_state WHERE source = ? LIMIT 1"
    return db.conn.execute(sql, [source]).fetchone() is not None
