"""Read commands: ``status`` (one line per number) and ``report NUMBER``.

They only print: the data comes from ``cidrep.reports.current``. Every line names the
sources that are failing or stale, so an old verdict is never shown as current.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import typer

from cidrep.cli.context import JSON_OPTION, TAG_FILTER, print_json, state, table


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


def report(
    ctx: typer.Context,
    number: str = typer.Argument(..., help="A monitored number."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Per source: the current verdict, label, since when, last checked, last success,
    failing or stale, and the evidence."""
    from cidrep.reports.current import number_report
    from cidrep.timeutil import utcnow

    st = state(ctx)
    e164 = st.normalize(number)
    db = st.read_db()
    data = number_report(
        db, e164, st.scoped_account(db), list(st.checkers()), st.interval, utcnow()
    )
    if as_json:
        print_json(data)
        return
    _print_report(data)


def _carrier_line(lane: dict[str, Any]) -> str:
    """``T-Mobile: flagged "Scam Likely" since 2026-11-20 09:00``."""
    verdict = lane["verdict"] or "no verdict yet"
    label = f' "{lane["label"]}"' if lane["label"] and lane["verdict"] == "flagged" else ""
    since = f" since {_short(lane['since'])}" if lane["since"] else ""
    failed = f" (last check failed: {lane['last_error']})" if lane["last_error"] else ""
    return f"{lane['carrier']}: {verdict}{label}{since}{failed}"


HEALTH_NOTE = {"failing": "FAILING", "stale": "STALE (no success within its interval)"}


def _print_report(data: dict[str, Any]) -> None:
    title = _display(data["number"]) + (f"  {data['label']}" if data["label"] else "")
    typer.echo(title)
    meta = [f"account {data['account']}"]
    if data["tags"]:
        meta.append("tags " + " ".join(data["tags"]))
    if data["paused"]:
        meta.append("PAUSED")
    typer.echo("  " + ", ".join(meta))
    worst = data["verdict"] or "not checked yet"
    marks = _marks(data)
    typer.echo(f"  worst verdict: {worst}" + (f" ({marks})" if marks else "") + "\n")
    for name, s in data["sources"].items():
        if s["health"] == "never":
            typer.echo(f"{name}: not checked yet\n")
            continue
        head = f"{name}: {s['verdict']} since {_short(s['since'])} UTC"
        if not s["verdict"]:
            head = f"{name}: no verdict yet"
        if s["health"] in HEALTH_NOTE:
            head += f"  [{HEALTH_NOTE[s['health']]}]"
        typer.echo(head)
        plural = "" if s["checks"] == 1 else "s"
        typer.echo(
            f"  last checked {_short(s['last_checked'])}, last success "
            f"{_short(s['last_success'])} UTC ({s['checks']} check{plural})"
        )
        for key in ("label", "category", "score", "url"):
            if s.get(key) is not None:
                typer.echo(f"  {key}: {s[key]}")
        for lane in s.get("carriers") or []:
            typer.echo("  " + _carrier_line(lane))
        for key, value in (s.get("evidence") or {}).items():
            if key == "carriers" and s.get("carriers"):
                continue  # listed line by line above
            if isinstance(value, dict):
                value = "; ".join(f"{k} ({v})" for k, v in value.items()) or "-"
            typer.echo(f"  {key.replace('_', ' ')}: {value}")
        if s["last_failure"]:
            streak = s["error_streak"]
            note = f", {streak} in a row" if streak else " (recovered since)"
            typer.echo(f"  last failure {_short(s['last_failure'])} UTC{note}: {s['last_error']}")
        typer.echo("")
