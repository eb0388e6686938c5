"""What each source currently says about each number, and whether that is current.

Both views read the ``source_state`` rows (indexed, never the history) and classify
each (number, source) with ``cidrep.health``: ok, failing, stale or never. A source
that failed or went quiet is named on the number's line, for feeds and lookups alike,
so a verdict is never shown as current when it is not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from cidrep.errors import CidrepError
from cidrep.health import Health, health, summarize
from cidrep.history import SourceState
from cidrep.store import carrier_state as carrier_store
from cidrep.store import state as state_store

Intervals = Callable[[str], timedelta | None]  # source -> its interval (None: recorded)


def carrier_view(row: dict[str, Any]) -> dict[str, Any]:
    """One carrier's word at a source (``carrier_state`` with its verdict row)."""
    return {
        "carrier": row["carrier"],
        "verdict": row["verdict"],
        "since": row["since"],
        "label": row.get("label"),
        "score": row.get("score"),
        "last_checked": row["last_checked"],
        "last_success": row["last_success"],
        "last_error": row["last_error"] if row["error_streak"] else None,
    }


def source_view(
    row: dict[str, Any],
    state: SourceState,
    status: Health,
    carriers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One source's word on one number, as status --json and report show it; a source
    that reports per carrier lists each carrier (``carriers``, else empty)."""
    return {
        "carriers": [carrier_view(c) for c in carriers or []],
        "verdict": state.verdict,
        "health": status.value,
        "since": state.since,
        "label": row.get("label"),
        "category": row.get("category"),
        "score": row.get("score"),
        "url": row.get("url"),
        "evidence": json.loads(row["evidence"]) if row.get("evidence") else None,
        "last_checked": state.last_checked,
        "last_success": state.last_success,
        "last_failure": state.last_failure,
        "last_error": state.last_error,
        "error_streak": state.error_streak,
        "checks": state.checks,
    }


NEVER_CHECKED: dict[str, Any] = {"verdict": None, "health": Health.NEVER.value, "checks": 0}


def number_item(
    number: dict[str, Any],
    rows: dict[str, dict[str, Any]],
    intervals: Intervals,
    now: datetime,
    also: list[str] | None = None,
    carriers: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """One number: its worst verdict, failing and stale sources, and each source's view.

    ``also`` names sources to list as never checked when they have no state yet;
    ``carriers`` holds the per-carrier rows of sources that report per carrier.
    ``flagged_on`` names where a flag shows: "trustcall: T-Mobile" for a carrier,
    the source's name otherwise.
    """
    carriers = carriers or {}
    states = {name: SourceState.from_row(row) for name, row in rows.items()}
    healths = {name: health(s, intervals(name), now) for name, s in states.items()}
    summary = summarize({n: (states[n], healths[n]) for n in states})
    sources = {
        name: source_view(rows[name], states[name], healths[name], carriers.get(name))
        for name in rows
    }
    for name in also or []:
        sources.setdefault(name, dict(NEVER_CHECKED))
    tags = number["tags"]
    return {
        "number": number["e164"],
        "account": number["account"],
        "label": number["label"],
        "tags": json.loads(tags) if isinstance(tags, str) else tags,
        "paused": number["paused_at"] is not None,
        "verdict": summary.verdict,
        "verdict_sources": summary.sources,
        "flagged_on": flagged_on(sources),
        "failing": summary.failing,
        "stale": summary.stale,
        "as_of": summary.as_of,
        "sources": dict(sorted(sources.items())),
    }


def flagged_on(sources: dict[str, dict[str, Any]]) -> list[str]:
    """Where the number shows as flagged: each flagged carrier ("trustcall: T-Mobile"),
    or the source itself when it has no carriers."""
    found: list[str] = []
    for name, view in sorted(sources.items()):
        if view.get("verdict") != "flagged":
            continue
        lanes = [c["carrier"] for c in view.get("carriers", []) if c["verdict"] == "flagged"]
        if lanes:
            found.extend(f"{name}: {c}" for c in lanes)
        else:
            found.append(name)
    return found


def fleet(
    db: Database,
    intervals: Intervals,
    now: datetime,
    account_id: int | None = None,
    tag: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Stream one item per monitored number (a page of numbers at a time)."""
    for page in state_store.iter_numbers(db, account_id, tag):
        ids = [n["id"] for n in page]
        states = state_store.states_for(db, ids)
        lanes = carrier_store.carriers_for(db, ids)
        for number in page:
            nid = number["id"]
            yield number_item(number, states.get(nid, {}), intervals, now, carriers=lanes.get(nid))


def number_report(
    db: Database,
    e164: str,
    account: dict[str, Any] | None,
    source_names: list[str],
    intervals: Intervals,
    now: datetime,
) -> dict[str, Any]:
    """Everything ``report NUMBER`` shows, registered sources never checked included."""
    sql = (
        "SELECT n.*, a.name AS account FROM numbers n JOIN accounts a ON a.id = n.account_id"
        " WHERE n.e164 = ?"
    )
    params: list[Any] = [e164]
    if account:
        sql += " AND n.account_id = ?"
        params.append(account["id"])
    rows = list(db.query(sql + " ORDER BY a.name", params))
    if not rows:
        where = f" in account {account['name']!r}" if account else ""
        raise CidrepError(f"{e164} is not monitored{where}; add it with: cidrep numbers add {e164}")
    if len(rows) > 1:
        names = ", ".join(r["account"] for r in rows)
        raise CidrepError(
            f"{e164} is monitored in several accounts ({names}); pick one with --account"
        )
    number = rows[0]
    states = state_store.states_for(db, [number["id"]]).get(number["id"], {})
    lanes = carrier_store.carriers_for(db, [number["id"]]).get(number["id"])
    return number_item(number, states, intervals, now, also=source_names, carriers=lanes)
