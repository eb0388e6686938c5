"""``cidrep channels list``: the alert channels, where they send (masked), health."""

from __future__ import annotations

import typer

from cidrep.cli.context import JSON_OPTION, print_json, state, table

app = typer.Typer(help="Alert channels: the channels sections of the config.", no_args_is_help=True)


@app.command("list")
def list_channels(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Every configured channel: type, masked target, routing, health, queue.

    A URL or key is never printed: targets show scheme, host and first path part.
    """
    from cidrep.alerts.channel_health import channel_rows

    st = state(ctx)
    rows = channel_rows(st.read_db(), st.channels())
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no channels configured: add a [channels.<name>] section to the config")
        return
    typer.echo(
        table(
            [
                [
                    r["name"],
                    r["type"],
                    r["target"],
                    ", ".join(r["accounts"]) if r["accounts"] else "(global)",
                    r["health"],
                    str(r["pending"]),
                    r["last_error"] or "" if r["health"] in ("failing", "unavailable") else "",
                ]
                for r in rows
            ],
            ["CHANNEL", "TYPE", "TARGET", "ACCOUNTS", "HEALTH", "PENDING", "LAST ERROR"],
        )
    )
