"""Read command ``status`` (one line per number); ``report NUMBER`` is in ``cli.report``.

They only print: the data comes from ``cidrep.reports.current``. Every line names the
sources that are failing or stale, so an old verdict is never shown as current.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import typer

from cidrep.cli.context import JSON_OPTION, TAG_FILTER, state, table


def _short(ts: str | None) -> str:
    return ts.replace("T", " ")[:16] if ts else "-"


def _marks(item: dict[str, Any]) -> str:
    """``fcc [failing: ftc] [stale: fcc]``: who gives the verdict, and what is not current."""
    named = item.get("flagged_on") if item["verdict"] == "flagged" else None
    behind = ", ".join(named or item["verdict_sources"]) if item["verdict"] != "error" else ""
    if item["failing"]:
        behind += f" [failing: {', '.join(item['failing'])}]"
    if item["stale"]:
        behind += f" [stale: {', '.join(item['stale'])}]"
    return behind.strip()


def status(
    ctx: typer.Context,
    tag: str | None = TAG_FILTER,
    as_json: bool = JSON_OPTION,
) -> None:
    """One line per number: its worst current verdict, the sources behind it, and any
    source that is failing or stale for it. AS OF is the oldest last success."""
    from cidrep.reports.current import fleet
    from cidrep.timeutil import utcnow

    st = state(ctx)
    db = st.read_db()
    account = st.scoped_account(db)
    items = fleet(db, st.interval, utcnow(), account["id"] if account else None, tag)
    if as_json:
        _stream_json(items)
        return
    rows, accounts = [], set()
    for item in items:
        verdict = item["verdict"] or "not checked"
        if item["paused"]:
            verdict = f"paused ({verdict})"
        accounts.add(item["account"])
        rows.append(
            [
                _display(item["number"]),
                item["account"],
                item["label"] or "",
                verdict,
                _marks(item),
                _short(item["as_of"]),
            ]
        )
    if not rows:
        typer.echo("no numbers monitored yet; add some with: cidrep numbers add NUMBER")
        return
    headers = ["NUMBER", "ACCOUNT", "LABEL", "VERDICT", "SOURCES", "AS OF (UTC)"]
    if len(accounts) == 1:
        rows = [r[:1] + r[2:] for r in rows]
        headers = headers[:1] + headers[2:]
    typer.echo(table(rows, headers))
    _channel_problems(st, db)


def _channel_problems(st: Any, db: Any) -> None:
    """A line per alert channel that is failing: alerts may not be reaching anyone."""
    from cidrep.alerts.channel_health import channel_rows

    for row in channel_rows(db, st.channels()):
        if row["health"] in ("failing", "unavailable"):
            since = f" since {_short(row['last_failure'])} UTC" if row["last_failure"] else ""
            typer.echo(
                f"channel {row['name']} ({row['type']}) {row['health']}{since}: "
                f"{row['last_error']}; {row['pending']} alert(s) waiting"
            )


def _stream_json(items: Iterable[dict[str, Any]]) -> None:
    """A JSON array written item by item, so memory does not grow with the fleet."""
    import json

    out = sys.stdout
    out.write("[")
    for i, item in enumerate(items):
        out.write(("," if i else "") + "\n  " + json.dumps(item, sort_keys=True, default=str))
    out.write("\n]\n")


def _display(e164: str) -> str:
    from cidrep.phone import display

    return display(e164)
