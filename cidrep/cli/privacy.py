"""Data rights on the command line: export, restore, delete, prune, privacy, audit.

Parsing and printing only; the rules are in ``cidrep.privacy``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cidrep.cli.context import JSON_OPTION, AppState, print_json, state, table

ACCOUNT = typer.Option(None, "--account", help="Everything about this account.")
NUMBERS = typer.Option(
    None,
    "--number",
    "-n",
    help="Everything about this number (repeatable), in every account "
    "holding it, or in the global --account.",
)


def _scope(
    st: AppState, account: str | None, numbers: list[str] | None, everything: bool
) -> tuple[str, tuple[int, ...], tuple[str, ...], str]:
    """(kind, account ids, numbers, description) from the options: exactly one scope."""
    from cidrep.errors import CidrepError
    from cidrep.store.numbers import get_account

    given = [x for x in (account is not None, bool(numbers), everything) if x]
    if len(given) != 1:
        raise CidrepError("give exactly one of --account A, --number N (repeatable) or --all")
    db = st.db()
    if everything:
        return "all", (), (), "every account"
    if account is not None:
        row = get_account(db, account)
        return "account", (row["id"],), (), f"account {row['name']!r}"
    e164s = tuple(dict.fromkeys(st.normalize(n) for n in numbers or []))
    narrowed = st.scoped_account() if st.account_name is not None else None
    ids = (narrowed["id"],) if narrowed else ()
    where = f" in account {narrowed['name']!r}" if narrowed else ""
    return "numbers", ids, e164s, f"{numbers_text(e164s)}{where}"


def numbers_text(e164s: tuple[str, ...]) -> str:
    from cidrep.phone import display

    return display(e164s[0]) if len(e164s) == 1 else f"{len(e164s)} numbers"


def export(
    ctx: typer.Context,
    account: str | None = ACCOUNT,
    number: list[str] | None = NUMBERS,
    everything: bool = typer.Option(False, "--all", help="Every account."),
    output: str = typer.Option("-", "--output", "-o", help="File to write (0600); - is stdout."),
    fmt: str = typer.Option("json", "--format", "-f", help="json (one document) or jsonl."),
) -> None:
    """Export everything held about an account, numbers, or all (docs/export.schema.json)."""
    from cidrep import __version__
    from cidrep.privacy.erase import describe
    from cidrep.privacy.export import export as run_export
    from cidrep.privacy.export import open_target
    from cidrep.timeutil import iso, utcnow

    st = state(ctx)
    kind, ids, e164s, what = _scope(st, account, number, everything)
    with open_target(output) as out:
        done = run_export(
            st.db(),
            out,
            kind=kind,
            account_ids=ids,
            e164s=e164s,
            fmt=fmt,
            now=iso(utcnow()),
            version=__version__,
            destination="stdout" if output == "-" else "file",
        )
    where = "stdout" if output == "-" else f"{output} (mode 0600)"
    typer.echo(f"exported {what} to {where}: {describe(done.counts)}", err=True)


def restore(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="An export (json or jsonl); - reads stdin."),
) -> None:
    """Load an export into this database (one without its accounts). All or nothing."""
    from cidrep.privacy.erase import describe
    from cidrep.privacy.restore import restore as run_restore
    from cidrep.timeutil import iso, utcnow

    st = state(ctx)
    done = run_restore(st.db(), file, now=iso(utcnow()))
    typer.echo(f"restored {describe(done.counts)}")


def delete(
    ctx: typer.Context,
    account: str | None = ACCOUNT,
    number: list[str] | None = NUMBERS,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete every row about an account or numbers, unrecoverably, with a receipt."""
    st = state(ctx)
    kind, ids, e164s, what = _scope(st, account, number, False)
    erase_scope(st, kind, ids, e164s, what, yes, as_json)


def erase_scope(
    st: AppState,
    kind: str,
    ids: tuple[int, ...],
    e164s: tuple[str, ...],
    what: str,
    yes: bool,
    as_json: bool = False,
    ask_always: bool = True,
) -> None:
    """Confirm (unless ``yes``), delete, print the receipt (``delete``, ``accounts
    remove``, ``numbers remove``). ``ask_always`` False: no question when nothing but
    the numbers themselves would go (``numbers remove`` of a number never checked)."""
    from cidrep.errors import CidrepError
    from cidrep.privacy.erase import delete as run_delete
    from cidrep.privacy.erase import describe, plan
    from cidrep.timeutil import iso, utcnow

    db = st.db()
    if not yes:
        counts = plan(db, kind, ids, e164s).counts
        only_numbers = not any(n for k, n in counts.items() if k != "numbers")
        if ask_always or not only_numbers:
            if not typer.get_text_stream("stdin").isatty():
                raise CidrepError(
                    f"deleting {what} removes {describe(counts)}; pass --yes to confirm"
                )
            typer.confirm(f"Delete {what}: {describe(counts)}? This cannot be undone", abort=True)
    receipt = run_delete(db, kind=kind, account_ids=ids, e164s=e164s, now=iso(utcnow()))
    if as_json:
        print_json(receipt.as_dict())
        return
    typer.echo(f"deleted {what}: {describe(receipt.counts)}")
    typer.echo(f"receipt {receipt.ref} at {receipt.at} (cidrep audit lists it)")
    if receipt.compacted.get("busy"):
        typer.echo(
            "warning: another process is reading the database, so its WAL still holds "
            "old pages; run `cidrep prune` when no other cidrep runs to empty it",
            err=True,
        )
    else:
        typer.echo("database vacuumed and its WAL emptied: the deleted data is gone from disk")


def prune(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would go; change nothing."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete what is older than retention_days (history, sightings, flips, runs)."""
    from cidrep.privacy.erase import describe
    from cidrep.privacy.retention import prune as run_prune
    from cidrep.timeutil import utcnow

    st = state(ctx)
    days = st.settings.retention_days
    result = run_prune(st.db(), days, utcnow(), dry_run=dry_run)
    if as_json:
        print_json(result.as_dict())
        return
    verb = "would remove" if dry_run else "removed"
    typer.echo(
        f"{verb} {describe(result.counts)} dated before {result.before} (retention_days = {days})"
    )


def audit(
    ctx: typer.Context,
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the last N entries."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The audit log: every export, restore, deletion and prune (no personal data)."""
    from cidrep.privacy.erase import describe
    from cidrep.store.audit import entries

    rows = list(entries(state(ctx).read_db(), limit))
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no exports, restores, deletions or prunes recorded yet")
        return
    typer.echo(
        table(
            [
                [r["at"], r["os_user"], r["action"], _scope_text(r), describe(r["counts"])]
                for r in rows
            ],
            ["AT", "USER", "ACTION", "SCOPE", "ROWS"],
        )
    )


def _scope_text(entry: dict[str, Any]) -> str:
    refs = entry["refs"]
    if not refs:
        return entry["scope"]
    shown = ",".join(refs[:2]) + (f",+{len(refs) - 2}" if len(refs) > 2 else "")
    return f"{entry['scope']}:{shown}"


def privacy(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """What cidrep stores, what it sends where, how long it keeps it, where it lives."""
    from cidrep.privacy import disclosure
    from cidrep.privacy.retention import cutoff_day
    from cidrep.store import audit as audit_log
    from cidrep.store import inventory, retention
    from cidrep.timeutil import utcnow

    st = state(ctx)
    settings = st.settings
    db_path = st.db_file
    if db_path.exists():
        db = st.read_db()
        stored, fleet = inventory.per_account(db), inventory.fleet(db)
        last, entry = retention.last_prune(db), audit_log.last(db, "prune")
    else:
        stored, fleet, last, entry = [], {}, None, None
    database = disclosure.file_facts(db_path, "database")
    database["companions"] = disclosure.companions(db_path)
    loaded = st.loaded()
    report = disclosure.report(
        stored=stored,
        fleet=fleet,
        sources=disclosure.sources(settings, st.checkers()),
        channels=disclosure.channels(st.channels()),
        retention_days=settings.retention_days,
        first_day_kept=cutoff_day(utcnow(), settings.retention_days),
        last_prune=last,
        last_prune_entry=entry,
        database=database,
        config=disclosure.file_facts(Path(loaded.path).resolve(), "config file"),
    )
    if as_json:
        print_json(report)
        return
    _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    from cidrep.store.inventory import PER_ACCOUNT

    db = report["files"]["database"]
    typer.echo(
        f"Stored in {db['path']}"
        + (f" (mode {db['mode']}, owner {db['owner']})" if db["exists"] else " (not created yet)")
    )
    kinds = list(PER_ACCOUNT)
    rows = [
        [a["account"], *(f"{a['rows'][k]:,}" for k in kinds)] for a in report["stored"]["accounts"]
    ]
    if rows:
        typer.echo(table(rows, ["ACCOUNT", *(k.upper().replace("_", " ") for k in kinds)]))
    fleet = report["stored"]["fleet"]
    if fleet:
        typer.echo(
            "fleet-wide: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in fleet.items())
        )
    typer.echo("")
    typer.echo("Sent by the sources")
    for s in report["sources"]:
        state_text = "disabled" if not s["enabled"] else "skipped" if s["skipped"] else "enabled"
        _wrapped(f"{s['name']} ({state_text}): {s['sends']}")
    typer.echo("")
    typer.echo("Sent by the alert channels")
    if not report["channels"]:
        typer.echo("  none configured: no alert leaves this machine")
    for c in report["channels"]:
        state_text = "enabled" if c["enabled"] else "disabled"
        target = f" to {c['target']}" if c["target"] else ""
        _wrapped(f"{c['name']} ({c['type']}, {state_text}){target}: {c['sends']}")
    typer.echo("")
    r = report["retention"]
    _wrapped(
        f"Retention: {r['days']} days for {', '.join(r['applies_to'])}: rows dated before "
        f"{r['first_day_kept']} are deleted at the end of every check and by `cidrep prune`",
        indent="",
    )
    typer.echo(f"  last prune: {r['last_prune'] or 'never'}")
    typer.echo("")
    config = report["files"]["config"]
    typer.echo(
        f"Config: {config['path']}"
        + (
            f" (mode {config['mode']}, owner {config['owner']})"
            if config["exists"]
            else " (none: defaults and environment)"
        )
    )
    for warning in report["warnings"]:
        typer.echo(f"warning: {warning}", err=True)


def _wrapped(text: str, indent: str = "  ") -> None:
    import textwrap

    typer.echo(textwrap.fill(text, 88, initial_indent=indent, subsequent_indent=indent + "  "))
