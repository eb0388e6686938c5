"""``cidrep sources list``: what each source is, whether it will run, what it sends."""

from __future__ import annotations

import typer

from cidrep.cli.context import JSON_OPTION, AppState, print_json, state

app = typer.Typer(help="Reputation sources (checker plugins).", no_args_is_help=True)


def _seconds(td: object) -> str:
    total = int(td.total_seconds())  # type: ignore[attr-defined]
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if total >= size and total % size == 0:
            return f"{total // size}{unit}"
    return f"{total}s"


@app.command("list")
def list_sources(
    ctx: typer.Context,
    as_json: bool = JSON_OPTION,
) -> None:
    """Every source: enabled or skipped (and why), what it sends where, its rate limit."""
    st = state(ctx)
    spent = _spent_today(st)
    items = []
    for name, cls in st.checkers().items():
        settings = st.settings.source(name)
        reason = None if settings.enabled else "disabled in config"
        if reason is None:
            try:
                reason = cls(settings).preflight()
            except Exception as exc:  # a broken plugin is reported, not fatal
                reason = f"preflight failed: {exc!r}"
        items.append(
            {
                "name": name,
                "shape": cls.shape,
                "description": cls.description,
                "status": "skipped" if reason else "enabled",
                "reason": reason,
                "disclosure": cls.disclosure,
                "rate_limit": str(settings.rate_limit),
                "concurrency": settings.concurrency,
                "interval": _seconds(settings.interval),
                "timeout": _seconds(settings.timeout),
                "daily_budget": settings.daily_budget,
                "spent_today": spent.get(name) if settings.daily_budget else None,
                "module": cls.__module__,
            }
        )
    if as_json:
        print_json(items)
        return
    for item in items:
        status = item["status"] + (f": {item['reason']}" if item["reason"] else "")
        typer.echo(f"{item['name']} ({item['shape']}) - {status}")
        typer.echo(f"  {item['description']}")
        typer.echo(f"  sends: {item['disclosure']}")
        typer.echo(
            f"  rate limit {item['rate_limit']}, concurrency {item['concurrency']}, "
            f"every {item['interval']}, timeout {item['timeout']}"
        )
        if item["daily_budget"]:
            used = item["spent_today"] or 0.0
            reached = used >= item["daily_budget"]
            state_text = "reached: paid lookups stop until tomorrow" if reached else "not reached"
            typer.echo(
                f"  daily budget {item['daily_budget']:g}: {used:g} spent today (UTC), {state_text}"
            )
        typer.echo("")


def _spent_today(st: AppState) -> dict[str, float]:
    """Cost units each budgeted source spent in today's runs (UTC); none without a
    database or a budget (then the database is not opened)."""
    from cidrep.runner.budget import day_start
    from cidrep.store.runs import spent_since
    from cidrep.timeutil import iso, utcnow

    budgeted = [n for n in st.checkers() if st.settings.source(n).daily_budget]
    if not budgeted or not st.db_file.exists():
        return {}
    db = st.read_db()
    since = iso(day_start(utcnow()))
    return {name: spent_since(db, name, since) for name in budgeted}
