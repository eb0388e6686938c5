"""``cidrep accounts``: the customers an agency monitors (name, optional email)."""

from __future__ import annotations

import typer

from cidrep.cli.context import JSON_OPTION, print_json, state, table

app = typer.Typer(help="Accounts: one per customer you monitor numbers for.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name, e.g. the customer's name."),
    email: str | None = typer.Option(None, "--email", help="Optional contact email."),
) -> None:
    """Create an account. Only a name and optionally an email are kept."""
    from cidrep.store.numbers import add_account
    from cidrep.timeutil import iso, utcnow

    if email is not None:
        _check_email(email)
    st = state(ctx)
    account = add_account(st.db(), name, email.strip() if email else None, iso(utcnow()))
    typer.echo(f"created account {account['name']!r}")


@app.command("list")
def list_accounts(
    ctx: typer.Context,
    as_json: bool = JSON_OPTION,
) -> None:
    """List accounts and how many numbers each monitors."""
    from cidrep.store.numbers import list_accounts as query

    rows = query(state(ctx).db())
    if as_json:
        print_json([{k: r[k] for k in ("name", "email", "numbers", "created_at")} for r in rows])
        return
    typer.echo(
        table(
            [[r["name"], r["email"] or "", str(r["numbers"])] for r in rows],
            ["ACCOUNT", "EMAIL", "NUMBERS"],
        )
    )


@app.command("set")
def set_account(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name."),
    channel: list[str] | None = typer.Option(
        None, "--channel", "-c", help="Route this account's alerts here (repeatable)."
    ),
    clear_channels: bool = typer.Option(
        False, "--clear-channels", help="Route to the global channels only."
    ),
    email: str | None = typer.Option(None, "--email", help="Change the contact email."),
) -> None:
    """Change an account: its alert routing (--channel) or its email.

    An account's alerts go to its channels and to every global channel (one routed
    to no account). --channel replaces the account's list.
    """
    from cidrep.alerts.routing import check_names, set_account_channels
    from cidrep.errors import CidrepError
    from cidrep.store.numbers import get_account, set_email

    if channel and clear_channels:
        raise CidrepError("--channel and --clear-channels contradict each other")
    if not channel and not clear_channels and email is None:
        raise CidrepError("nothing to change: give --channel, --clear-channels or --email")
    st = state(ctx)
    db = st.db()
    account = get_account(db, name)
    if channel or clear_channels:
        channels = st.channels()
        names = check_names(channel or [], channels)
        for name in set_account_channels(db, account["id"], names, channels):
            typer.echo(
                f"note: channel {name!r} is now routed to no account, so it is global: "
                "it hears every account's alerts",
                err=True,
            )
        where = ", ".join(names) if names else "the global channels"
        typer.echo(f"account {account['name']!r}: alerts go to {where}")
    if email is not None:
        _check_email(email)
        set_email(db, account["id"], email.strip() or None)
        typer.echo(f"account {account['name']!r}: email {'set' if email.strip() else 'cleared'}")


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete an account and everything about it: the same as `cidrep delete --account`."""
    from cidrep.cli.privacy import erase_scope
    from cidrep.store.numbers import get_account

    st = state(ctx)
    account = get_account(st.db(), name)
    erase_scope(st, "account", (account["id"],), (), f"account {account['name']!r}", yes)


def _check_email(email: str) -> None:
    from cidrep.errors import CidrepError

    if email.strip() and ("@" not in email or " " in email.strip()):
        raise CidrepError(f"invalid email {email!r}")
