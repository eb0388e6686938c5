"""``cidrep sighting`` (a label a called party saw) and ``cidrep labels import`` (a file
of labels from a carrier portal, a dialer or another monitoring vendor).

Both record dated per-carrier observations through ``cidrep.labels.record``, under the
run lock (a check must not be running), then evaluate and deliver alerts like a
check does.
"""

from __future__ import annotations

from typing import Any

import typer

from cidrep.cli.context import JSON_OPTION, print_json, state

app = typer.Typer(
    help="Labels recorded by people or imported from other tools.", no_args_is_help=True
)

MANUAL = "manual"


def _at(value: str | None, option: str) -> str | None:
    from cidrep.errors import CidrepError
    from cidrep.labels.dates import parse_when

    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise CidrepError(f"{option}: {exc}") from None


def _store(st: Any, source: str, kind: str, items: list[Any]) -> tuple[Any, list[Any]]:
    """Record under the run lock, then alert: (record result, alert changes)."""
    from cidrep.check import alert
    from cidrep.labels.record import record
    from cidrep.lock import RunLock
    from cidrep.timeutil import utcnow

    db = st.db()
    account = st.scoped_account(db)
    now = utcnow()
    db_path = st.db_file
    with RunLock(db_path.with_name(db_path.name + ".lock")):
        result = record(db, source, kind, items, now, account)
        changes, _ = alert(db, st.settings, st.checkers(), st.channel_types(), now, result.run_id)
    return result, changes


def sighting(
    ctx: typer.Context,
    number: str = typer.Argument(..., help="The monitored number the called party saw."),
    carrier: str = typer.Option(
        ..., "--carrier", "-c", help="The called party's carrier or app: T-Mobile, AT&T, ..."
    ),
    label: str = typer.Option(
        ...,
        "--label",
        "-l",
        help='The label as shown ("Scam Likely"); "none" when the call showed no warning.',
    ),
    note: str | None = typer.Option(None, "--note", help="What else was seen or said."),
    at: str | None = typer.Option(
        None, "--at", help="When it was seen: 2026-11-20 or 2026-11-20T14:05:00Z (default: now)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record what a called party saw on their phone: a label on a carrier, at a time.

    It is stored as a dated observation of the ``manual`` source for that carrier, shown
    by report and status ("flagged on T-Mobile"), and alerts like any source."""
    from cidrep.labels.record import Recorded
    from cidrep.timeutil import iso, utcnow

    st = state(ctx)
    e164 = st.normalize(number)
    name = st.settings.carrier_map().canonical(carrier)
    when = _at(at, "--at") or iso(utcnow())
    item = Recorded(e164, name, label, when, note.strip() if note else None)
    result, changes = _store(st, MANUAL, "manual", [item])
    verdict, shown = _verdict(label)
    if as_json:
        print_json(
            {
                "number": e164,
                "source": MANUAL,
                "carrier": name,
                "verdict": verdict,
                "label": shown,
                "at": when,
                "already_recorded": result.known > 0,
                "run": result.run_id,
                "alerts": [c.__dict__ for c in changes],
            }
        )
        return
    what = f'"{shown}"' if shown else "no label"
    if result.known:
        typer.echo(f"already recorded: {e164} on {name}, {what} at {when}")
    else:
        typer.echo(f"recorded: {e164} {verdict} on {name} ({what}) at {when}")
    for change in changes:
        typer.echo(f"  {change.kind.upper()} {change.title}")


def _verdict(label: str) -> tuple[str, str | None]:
    from cidrep.labels.record import label_verdict

    verdict, shown = label_verdict(label)
    return verdict.value, shown
