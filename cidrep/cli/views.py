"""Read commands: ``status`` (one line per number) and ``report NUMBER``."""

from __future__ import annotations

import json
from typing import Any

import typer

from cidrep.cli.context import JSON_OPTION, TAG_FILTER, print_json, state, table


def _short(ts: str | None) -> str:
    return ts.replace("T", " ")[:16] if ts else "-"


def summarize(states: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Worst current verdict for a number and the sources behind it (pure)."""
    from cidrep.history import worst

    verdicts = {src: s["verdict"] for src, s in states.items() if s["verdict"]}
    failing = sorted(src for src, s in states.items() if s["error"])
    top = worst(list(verdicts.values()) + (["error"] if failing else []))
    behind = sorted(src for src, v in verdicts.items() if v == top)
    if top == "error":
        behind = failing
    checked = max((s["last_checked"] for s in states.values()), default=None)
    return {
        "verdict": top.value if top else None,
        "sources": behind,
        "failing": failing,
        "last_checked": checked,
    }


def status(
    ctx: typer.Context,
    tag: str | None = TAG_FILTER,
    as_json: bool = JSON_OPTION,
) -> None:
    """One line per number: its worst current verdict and the sources behind it."""
    from cidrep.phone import display
    from cidrep.store.history import current_states

    st = state(ctx)
    numbers = st.scoped_numbers(tag)
    states = current_states(st.db(), [n["id"] for n in numbers])
    items = []
    for n in numbers:
        summary = summarize(states.get(n["id"], {}))
        items.append(
            {
                "number": n["e164"],
                "account": n["account"],
                "label": n["label"],
                "tags": n["tags"],
                "paused": n["paused_at"] is not None,
                **summary,
            }
        )
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("no numbers monitored yet; add some with: cidrep numbers add NUMBER")
        return
    rows = []
    for item in items:
        verdict = item["verdict"] or "not checked"
        if item["paused"]:
            verdict = f"paused ({verdict})"
        behind = ", ".join(item["sources"])
        if item["failing"] and item["verdict"] != "error":
            behind += f" [failing: {', '.join(item['failing'])}]"
        rows.append(
            [
                display(item["number"]),
                item["account"],
                item["label"] or "",
                verdict,
                behind.strip(),
                _short(item["last_checked"]),
            ]
        )
    headers = ["NUMBER", "ACCOUNT", "LABEL", "VERDICT", "SOURCES", "LAST CHECKED (UTC)"]
    if len({i["account"] for i in items}) == 1:
        rows = [r[:1] + r[2:] for r in rows]
        headers = headers[:1] + headers[2:]
    typer.echo(table(rows, headers))


def report(
    ctx: typer.Context,
    number: str = typer.Argument(..., help="A monitored number."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Per source: the current verdict, label, since when, and the evidence."""
    from cidrep.errors import CidrepError
    from cidrep.history import current_state
    from cidrep.phone import display
    from cidrep.store.history import number_history

    st = state(ctx)
    e164 = st.normalize(number)
    account = st.scoped_account()
    rows = list(
        st.db().query(
            "SELECT n.*, a.name AS account FROM numbers n JOIN accounts a ON a.id = n.account_id"
            " WHERE n.e164 = ?" + (" AND n.account_id = ?" if account else "") + " ORDER BY a.name",
            [e164, account["id"]] if account else [e164],
        )
    )
    if not rows:
        where = f" in account {account['name']!r}" if account else ""
        raise CidrepError(f"{e164} is not monitored{where}; add it with: cidrep numbers add {e164}")
    if len(rows) > 1:
        names = ", ".join(r["account"] for r in rows)
        raise CidrepError(
            f"{e164} is monitored in several accounts ({names}); pick one with --account"
        )
    row = rows[0]
    history = number_history(st.db(), row["id"])
    sources = {}
    for name in sorted(set(st.checkers()) | set(history)):
        s = current_state(history.get(name, []))
        if s is None:
            sources[name] = {"verdict": None, "checked": False}
            continue
        current = s["row"] or {}
        sources[name] = {
            "verdict": s["verdict"],
            "since": s["since"],
            "last_checked": s["last_checked"],
            "label": current.get("label"),
            "category": current.get("category"),
            "score": current.get("score"),
            "evidence": current.get("evidence"),
            "url": current.get("url"),
            "checks": sum(r["checks"] for r in history[name]),
            "error": s["error"],
            "error_since": s["error_since"],
            "checked": True,
        }
    data = {
        "number": e164,
        "account": row["account"],
        "label": row["label"],
        "tags": json.loads(row["tags"]),
        "paused": row["paused_at"] is not None,
        **summarize({k: _as_state(v) for k, v in sources.items() if v["checked"]}),
        "by_source": sources,
    }
    if as_json:
        print_json(data)
        return
    _print_report(data, display)


def _as_state(v: dict[str, Any]) -> dict[str, Any]:
    return {"verdict": v["verdict"], "error": v["error"], "last_checked": v["last_checked"]}


def _print_report(data: dict[str, Any], display: Any) -> None:
    title = display(data["number"]) + (f"  {data['label']}" if data["label"] else "")
    typer.echo(title)
    meta = [f"account {data['account']}"]
    if data["tags"]:
        meta.append("tags " + " ".join(data["tags"]))
    if data["paused"]:
        meta.append("PAUSED")
    typer.echo("  " + ", ".join(meta))
    typer.echo(f"  worst verdict: {data['verdict'] or 'not checked yet'}\n")
    for name, s in data["by_source"].items():
        if not s["checked"]:
            typer.echo(f"{name}: not checked yet\n")
            continue
        if s["verdict"]:
            head = f"{name}: {s['verdict']} since {_short(s['since'])} UTC"
        else:
            head = f"{name}: no verdict yet"
        plural = "" if s["checks"] == 1 else "s"
        typer.echo(
            f"{head} (last checked {_short(s['last_checked'])}, {s['checks']} check{plural})"
        )
        for key in ("label", "category", "score", "url"):
            if s.get(key) is not None:
                typer.echo(f"  {key}: {s[key]}")
        for key, value in (s.get("evidence") or {}).items():
            if isinstance(value, dict):
                value = "; ".join(f"{k} ({v})" for k, v in value.items()) or "-"
            typer.echo(f"  {key.replace('_', ' ')}: {value}")
        if s["error"]:
            typer.echo(f"  last check failed since {_short(s['error_since'])}: {s['error']}")
        typer.echo("")
