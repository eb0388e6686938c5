"""``cidrep sighting`` (a label a called party saw) and ``cidrep labels import`` (a file
of labels from a carrier portal, a dialer or another monitoring vendor).

Both record dated per-carrier observations through ``cidrep.labels.record``, under the
run lock (a check must not be running), then evaluate and deliver alerts like a
check does.
"""

from __future__ import annotations

import re
from pathlib import Path
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
        if result.run_id is None:  # all already recorded: nothing changed
            return result, []
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


SOURCE_NAME = re.compile(r"[a-z0-9_-]{1,40}")
MAX_LISTED = 20  # problem lines shown before "... and K more"


def _source_name(name: str) -> str:
    """``--source``: 1-40 of a-z, 0-9, - and _; ``manual`` belongs to ``cidrep sighting``.

    A registered plugin's name is allowed: importing a vendor's old export under
    its plugin's name continues that source's history."""
    from cidrep.errors import CidrepError
    from cidrep.phone import quote

    if not SOURCE_NAME.fullmatch(name):
        raise CidrepError(
            f"--source {quote(name)}: a source name is 1 to 40 lowercase letters, digits, "
            "- and _ (e.g. carrier-portal)"
        )
    if name == MANUAL:
        raise CidrepError(
            "--source manual is reserved for cidrep sighting; name the tool the file came "
            "from instead, e.g. --source carrier-portal"
        )
    return name


def _listed(lines: list[str], prefix: str = "") -> None:
    """At most ``MAX_LISTED`` lines on stderr, then how many more there are."""
    for line in lines[:MAX_LISTED]:
        typer.echo(prefix + line, err=True)
    if len(lines) > MAX_LISTED:
        typer.echo(f"... and {len(lines) - MAX_LISTED} more", err=True)


@app.command("import")
def import_labels(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="CSV/TSV export with a header: one label per row, or one column per carrier."
    ),
    source: str = typer.Option(
        ...,
        "--source",
        "-s",
        help="Where the labels come from, e.g. carrier-portal, dialer, trustcall "
        "(a-z, 0-9, - and _; 'manual' is taken by cidrep sighting).",
    ),
    map_: list[str] | None = typer.Option(
        None,
        "--map",
        help="Columns by role, header name or 1-based index: "
        "number=COL,carrier=COL,label=COL,date=COL (default: detected from the header).",
    ),
    carrier: str | None = typer.Option(
        None,
        "--carrier",
        "-c",
        help="Carrier of every row (a file without a carrier column), or of the rows "
        "whose carrier cell is empty.",
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Record the valid rows and list the skipped ones."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the file and say what would be recorded; write nothing."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import labels exported by a carrier portal, a dialer or another monitoring vendor.

    Each row is a dated observation of --source on its carrier, stored like a check's
    answer, so reports, alerts and exports show it and history survives a vendor
    switch. Nothing is written unless every row can be recorded (or --skip-invalid);
    re-importing the same file changes nothing. Without a date column every row is
    dated now."""
    from cidrep.errors import CidrepError
    from cidrep.labels.importer import parse_map, read_labels_csv
    from cidrep.labels.record import problems
    from cidrep.timeutil import iso, utcnow

    st = state(ctx)
    name = _source_name(source)
    mapping = parse_map(map_ or [])
    now = utcnow()
    carriers = st.settings.carrier_map()
    parsed = read_labels_csv(
        file,
        st.settings.default_region,
        iso(now),
        mapping,
        carrier,
        carriers.carriers,
        carriers.canonical,
    )
    for note in parsed.notes:
        typer.echo(f"warning: {file}:line {note.line}: {note.message}", err=True)
    db = st.read_db() if dry_run else st.db()
    account = st.scoped_account(db)
    found = {(bad.line, bad.reason) for bad in parsed.bad}
    for item, reason in problems(db, parsed.items, account["id"] if account else None, now):
        found.add((item.line or 0, reason))
    bad = sorted(found)
    bad_lines = {line for line, _ in bad}
    shown = [f"{file}:line {line}: {reason}" for line, reason in bad]
    if bad and not skip_invalid:
        _listed(shown)
        raise CidrepError(
            f"{len(bad_lines)} of {parsed.rows} rows in {file} cannot be recorded; nothing "
            "imported (fix them, or use --skip-invalid to import the other rows)"
        )
    items = [i for i in parsed.items if i.line not in bad_lines]
    result, changes = None, []
    if items and not dry_run:
        result, changes = _store(st, name, "import", items)
    summary = {
        "file": str(file),
        "source": name,
        "dry_run": dry_run,
        "rows": parsed.rows,
        "imported": result.recorded if result else (len(items) if dry_run else 0),
        "known": result.known if result else (None if dry_run else 0),
        "numbers": len({i.number for i in items}),
        "skipped": [{"line": line, "reason": reason} for line, reason in bad],
        "duplicates": parsed.duplicates,
        "not_checked": parsed.unchecked,
        "dated_now": None if parsed.dated else iso(now),
        "columns": parsed.columns,
        "carrier_columns": parsed.wide,
        "run": result.run_id if result else None,
        "alerts": [c.__dict__ for c in changes],
    }
    if as_json:
        print_json(summary)
        return
    _describe(parsed, file, iso(now))
    rows = f"{summary['imported']} label(s) for {summary['numbers']} number(s) from {file}"
    if dry_run:
        typer.echo(
            f"dry run: would import {rows} into source {name} ({len(bad_lines)} skipped); "
            "nothing written"
        )
    else:
        typer.echo(
            f"imported {rows} into source {name} "
            f"({summary['known']} already recorded, {len(bad_lines)} skipped)"
        )
    _listed(shown, "skipped ")
    for change in changes[:MAX_LISTED]:
        typer.echo(f"  {change.kind.upper()} {change.title}")
    if len(changes) > MAX_LISTED:
        typer.echo(f"  ... and {len(changes) - MAX_LISTED} more alerts")


def _describe(parsed: Any, file: Path, now: str) -> None:
    """The columns used, and what was collapsed, dated or left out, one line each."""
    columns = ", ".join(f"{role}={header}" for role, header in parsed.columns.items())
    if parsed.wide:
        columns += "; one per carrier: " + ", ".join(f"{h}={c}" for h, c in parsed.wide.items())
    typer.echo(f"columns: {columns}")
    if not parsed.dated:
        typer.echo(f"no date column in {file}: every row dated now ({now})")
    if parsed.duplicates:
        typer.echo(f"{parsed.duplicates} repeated row(s) collapsed")
    if parsed.unchecked:
        typer.echo(
            f"{parsed.unchecked} label(s) not checked yet by the vendor (Processing) left out"
        )
