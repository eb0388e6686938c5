"""``cidrep vet``: check numbers you do not monitor yet, ranked from cleanest."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cidrep.cli.context import print_json, state, table

if TYPE_CHECKING:
    from cidrep.check.vet import Answer, VetReport


def vet(
    ctx: typer.Context,
    numbers: list[str] | None = typer.Argument(None, help="Numbers in any common format."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="A file with one number per line, or a CSV with a number column."
    ),
    column: str | None = typer.Option(
        None, "--column", "-c", help="Header name (or 1-based index) of the --file number column."
    ),
    source: list[str] | None = typer.Option(
        None, "--source", "-s", help="Only this source (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    keep: bool = typer.Option(
        False, "--keep", help="Also start monitoring them (in --account) and store the results."
    ),
) -> None:
    """Vet numbers before you buy or rotate them: ask the lookup sources now, rank
    them from cleanest, and store nothing about them (unless --keep).

    Feed sources (FTC, FCC) only have data for monitored numbers: a number you
    already monitor shows its stored state there; any other shows "no data". A paid
    source stops at its daily_budget (numbers beyond it are "not checked") and what
    vet spends counts against today's budget. Exit code: 0 nothing flagged and no
    source error, 1 a number flagged, 3 a source error for some number, 4 both,
    2 bad input (nothing asked), 75 a check is running.
    """
    from cidrep.check.vet import read_numbers_file, vet, vet_and_keep
    from cidrep.errors import CidrepError
    from cidrep.lock import RunLock
    from cidrep.timeutil import utcnow

    st = state(ctx)
    checkers = st.checkers()
    unknown = [s for s in source or [] if s not in checkers]
    if unknown:
        raise CidrepError(f"unknown source {unknown[0]!r} (known: {', '.join(checkers)})")
    e164s = [st.normalize(n) for n in numbers or []]
    if file is not None:
        found, warnings = read_numbers_file(file, st.settings.default_region, column)
        for warning in warnings:
            typer.echo(f"warning: {warning}", err=True)
        e164s += found
    if not e164s:
        raise CidrepError("nothing to vet: give numbers, or --file FILE")
    e164s = list(dict.fromkeys(e164s))
    names = list(dict.fromkeys(source or [])) or None
    db_path = st.db_file
    with RunLock(db_path.with_name(db_path.name + ".lock")):
        if keep:
            report = vet_and_keep(
                st.db(),
                st.settings,
                checkers,
                e164s,
                names,
                utcnow(),
                st.account(),
                st.channel_types(),
            )
        else:
            account = st.scoped_account()
            name = account["name"] if account else None
            report = vet(st.db(), st.settings, checkers, e164s, names, utcnow(), name)
    if as_json:
        print_json(report.as_dict())
    else:
        typer.echo(render(report))
    raise typer.Exit(int(report.exit_code))


def cell(answer: Answer) -> str:
    text = answer.state.replace("_", " ")
    if answer.score is not None and answer.state in ("clean", "flagged", "unknown"):
        text += f" {answer.score}"
    return text + ("*" if answer.local else "")


def render(report: VetReport) -> str:
    """The ranked table, then one line per flag, error and budget hold."""
    from cidrep.phone import display

    names = [s.source for s in report.sources if s.status != "skipped"]
    rows = [
        [
            str(r.rank),
            display(r.number),
            r.verdict.value,
            "-" if r.score is None else str(r.score),
            *(cell(r.answers[n]) if n in r.answers else "" for n in names),
        ]
        for r in report.numbers
    ]
    lines = [table(rows, ["RANK", "NUMBER", "VERDICT", "SCORE", *(n.upper() for n in names)])]
    notes: list[str] = []
    for r in report.numbers:
        for answer in r.answers.values():
            where = f"{display(r.number)}  {answer.source}"
            if answer.state == "flagged":
                line = f"FLAGGED {where}" + (f" {answer.label!r}" if answer.label else "")
                line += f" ({answer.category})" if answer.category else ""
                if answer.flagged_carriers:
                    line += f" on {', '.join(answer.flagged_carriers)}"
                if answer.local:
                    line += f" [local data, as of {(answer.as_of or '?')[:10]}]"
                notes.append(line)
            elif answer.state == "error":
                notes.append(f"ERROR   {where}: {answer.error or 'error'}")
    for s in report.sources:
        if s.held_back:
            notes.append(f"NOT CHECKED {s.source}: {s.reason}")
        elif s.status == "skipped" and report.named:  # unconfigured sources stay quiet
            notes.append(f"SKIPPED {s.source}: {s.reason}")
    if not any(s.shape == "lookup" and s.status in ("ran", "failed") for s in report.sources):
        notes.append("NOTE no lookup source was asked (none enabled and configured)")
    if any(a.local for r in report.numbers for a in r.answers.values()):
        notes.append("* stored feed data of a number you already monitor")
    if any(a.state == "no_data" for r in report.numbers for a in r.answers.values()):
        notes.append("no data: feed sources only hold data for monitored numbers (see --keep)")
    if report.kept:
        kept = report.kept
        notes.append(
            f"kept in account {kept['account']!r}: {len(kept['added'])} added, "
            f"{len(kept['already_monitored'])} already monitored"
        )
    return "\n".join([*lines, *([""] if notes else []), *notes])
