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
    from cidrep.errors import CidrepError
    from cidrep.store.numbers import add_account
    from cidrep.timeutil import iso, utcnow

    if email is not None and ("@" not in email or " " in email.strip()):
        raise CidrepError(f"invalid email {email!r}")
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
