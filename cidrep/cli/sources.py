"""``cidrep sources list``: what each source is, whether it will run, what it sends."""

from __future__ import annotations

import typer

from cidrep.cli.context import JSON_OPTION, print_json, state

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
        typer.echo("")
