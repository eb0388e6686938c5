"""``cidrep alerts test|list``, ``cidrep digest``, ``cidrep mute``/``unmute``."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import typer

from cidrep.cli.context import JSON_OPTION, AppState, print_json, state

app = typer.Typer(help="Alerts: test channels, list recent changes.", no_args_is_help=True)

CHANNEL_OPTION = typer.Option(None, "--channel", "-c", help="Only this channel (repeatable).")


def _duration(text: str, what: str) -> timedelta:
    from cidrep.errors import CidrepError
    from cidrep.timeutil import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise CidrepError(f"{what}: {exc}") from None


def _targets(st: AppState, names: list[str] | None) -> dict[str, Any]:
    from cidrep.alerts.routing import check_names
    from cidrep.errors import CidrepError

    channels = st.channels()
    if names:
        return {n: channels[n] for n in check_names(names, channels)}
    enabled = {n: c for n, c in channels.items() if c.settings.enabled}
    if not enabled:
        raise CidrepError(
            "no channels configured: add a [channels.<name>] section (see config.example.toml)"
        )
    return enabled


@app.command("test")
def test(
    ctx: typer.Context,
    channel: list[str] | None = CHANNEL_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be sent."),
) -> None:
    """Render a sample alert and send it to every enabled channel (or --channel).

    Exits 0 when every send succeeded, 3 when one failed (each failure is one line).
    Sent directly: the outbox and the flips log are not touched.
    """
    import asyncio
    import time

    from cidrep.alerts.delivery import send_now
    from cidrep.alerts.messages import sample_alert
    from cidrep.channels import DeliveryError
    from cidrep.errors import ExitCode
    from cidrep.redaction import redact
    from cidrep.timeutil import utcnow

    st = state(ctx)
    alert = sample_alert(utcnow())
    failed = False
    for name, ch in _targets(st, channel).items():
        if dry_run:
            typer.echo(f"# {name} ({ch.type}) -> {ch.target()}")
            typer.echo(json.dumps(ch.render(alert, time.time()), indent=2, sort_keys=True))
            continue
        try:
            asyncio.run(send_now(ch, alert))
        except DeliveryError as exc:
            failed = True
            typer.echo(f"{name}: FAILED: {redact(str(exc))}", err=True)
        else:
            typer.echo(f"{name}: sent a test alert ({ch.type}, {ch.target()})")
    if failed:
        raise typer.Exit(int(ExitCode.SOURCE_ERRORS))


@app.command("list")
def list_alerts(
    ctx: typer.Context,
    since: str = typer.Option("7d", "--since", help="How far back: 24h, 7d, ..."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recent flips (changes) and their deliveries, newest first."""
    from cidrep.phone import display
    from cidrep.store.outbox import flips_since
    from cidrep.timeutil import iso, utcnow

    st = state(ctx)
    start = utcnow() - _duration(since, "--since")
    account = st.scoped_account(st.read_db())
    rows = flips_since(st.read_db(), iso(start), account["id"] if account else None)
    if as_json:
        out = []
        for row in rows:
            alert = json.loads(row["alert"]) if row["alert"] else None
            out.append(
                {
                    "at": row["at"],
                    "kind": row["kind"],
                    "number": row["e164"],
                    "account": row["account"],
                    "source": row["source"],
                    "from": row["old_state"],
                    "to": row["new_state"],
                    "held": row["held"],
                    "key": row["key"],
                    "title": alert["title"] if alert else None,
                    "deliveries": row["deliveries"],
                }
            )
        print_json(out)
        return
    any_row = False
    for row in rows:
        any_row = True
        when = row["at"].replace("T", " ")[:16]
        if row["kind"] == "confirmed":
            what = f"{display(row['e164'])} {row['source']}: {row['old_state'] or 'new'} -> "
            what += row["new_state"] or "?"
        else:
            what = json.loads(row["alert"])["title"] if row["alert"] else row["kind"]
        line = f"{when}  {row['kind']:<16} {what}"
        if row["held"]:
            line += f"  [held: {row['held']}]"
        typer.echo(line)
        for d in row["deliveries"]:
            detail = f"    -> {d['channel']}: {d['status']}"
            if d["status"] != "delivered" and d["last_error"]:
                detail += f" ({d['last_error']})"
            typer.echo(detail)
    if not any_row:
        typer.echo(f"no changes in the last {since}")


def digest(
    ctx: typer.Context,
    since: str = typer.Option("24h", "--since", help="The period: 24h, 7d, ..."),
    send: bool = typer.Option(False, "--send", help="Send it to the global channels too."),
    as_json: bool = JSON_OPTION,
) -> None:
    """One summary: share flagged, flags and recoveries in the period, what is failing.

    Prints it; with --send also records it in the outbox and delivers it to the
    global channels (every channel when all are routed to accounts).
    """
    from cidrep.alerts.digest import digest_alert, summary
    from cidrep.timeutil import utcnow

    st = state(ctx)
    now = utcnow()
    period = _duration(since, "--since")
    db = st.db() if send else st.read_db()
    account = st.scoped_account(db)
    facts = summary(db, st.channels(), now - period, now, account["id"] if account else None)
    alert = digest_alert(facts, since, now)
    if as_json:
        print_json(facts)
    else:
        typer.echo(alert.text)
    if send:
        _send_digest(st, alert)


def _send_digest(st: AppState, alert: Any) -> None:
    from cidrep.alerts.digest import queue_digest

    targets = queue_digest(st.db(), st.channels(), alert)
    if not targets:
        typer.echo("no channel to send it to: add a [channels.<name>] section", err=True)
        return
    typer.echo(f"digest queued for {', '.join(targets)}")
    _deliver(st)


def _deliver(st: AppState) -> None:
    """Deliver what is due now (unless a running check will)."""
    from cidrep.alerts.delivery import deliver_locked
    from cidrep.timeutil import utcnow

    db_path = st.db_file
    lock = db_path.with_name(db_path.name + ".lock")
    report = deliver_locked(st.db(), st.channels(), utcnow(), st.settings.alerts, lock)
    if report is None:
        typer.echo("a check is running: it will deliver them", err=True)
        return
    if report.delivered:
        typer.echo(f"delivered {report.delivered} message(s)")
    for problem in report.failed:
        typer.echo(f"DELIVERY FAILING {problem}", err=True)


NUMBERS_ARG = typer.Argument(None, help="Numbers (any format).")
ACCOUNT_OPT = typer.Option(None, "--account", help="Every number of this account.")
TAG_OPT = typer.Option(None, "--tag", "-t", help="Every number with this tag.")


def _scope(st: AppState, numbers: list[str] | None, account: str | None, tag: str | None) -> list:
    from cidrep.errors import CidrepError
    from cidrep.store.numbers import find_numbers, get_account, list_numbers

    chosen = [bool(numbers), account is not None, tag is not None]
    if sum(chosen) != 1:
        raise CidrepError("name numbers, or --account A, or --tag T (one of them)")
    db = st.db()
    if numbers:
        return find_numbers(db, st.account(db), [st.normalize(n) for n in numbers])
    scoped = get_account(db, account) if account is not None else st.scoped_account(db)
    rows = list_numbers(db, scoped["id"] if scoped else None, tag)
    if not rows:
        raise CidrepError("no numbers match")
    return rows


def mute(
    ctx: typer.Context,
    numbers: list[str] | None = NUMBERS_ARG,
    account: str | None = ACCOUNT_OPT,
    tag: str | None = TAG_OPT,
    for_: str = typer.Option(..., "--for", help="How long: 6h, 2d, ..."),
) -> None:
    """Hold alerts for numbers for a while (status and exit codes are unaffected)."""
    from cidrep.alerts.mutes import mute_numbers
    from cidrep.timeutil import iso, utcnow

    st = state(ctx)
    rows = _scope(st, numbers, account, tag)
    until = utcnow() + _duration(for_, "--for")
    count = mute_numbers(st.db(), [r["id"] for r in rows], until)
    typer.echo(f"muted {count} number(s) until {iso(until)}")


def unmute(
    ctx: typer.Context,
    numbers: list[str] | None = NUMBERS_ARG,
    account: str | None = ACCOUNT_OPT,
    tag: str | None = TAG_OPT,
) -> None:
    """Lift a mute now. Alerts only where the state changed since the last alert."""
    from cidrep.alerts.mutes import unmute_numbers
    from cidrep.check import in_service
    from cidrep.timeutil import utcnow

    st = state(ctx)
    rows = _scope(st, numbers, account, tag)
    channels = st.channels()
    changes = unmute_numbers(
        st.db(),
        st.settings,
        in_service(st.settings, st.checkers(), st.db()),
        channels,
        [r["id"] for r in rows],
        utcnow(),
    )
    typer.echo(f"unmuted {len(rows)} number(s); {len(changes)} alert(s) for changes since")
    for change in changes:
        typer.echo(f"  {change.kind.upper()} {change.title}")
    if changes:
        _deliver(st)
