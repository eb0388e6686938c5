"""``cidrep runs``: the recent check runs, newest first, and what each source did."""

from __future__ import annotations

import sys
from typing import Any

import typer

from cidrep.cli.context import JSON_OPTION, state

# the account last: a long name is what a narrow terminal cuts
RUN_HEADERS = ["RUN", "STARTED (UTC)", "TOOK", "STATUS", "EXIT", "CHECKS", "FLAGGED", "ERRORS"]
RUN_HEADERS += ["ACCOUNT"]
CSV_COLUMNS = (
    "run",
    "started_at",
    "finished_at",
    "duration_seconds",
    "status",
    "account",
    "forced",
    "checks",
    "flagged",
    "errors",
    "exit_code",
    "source",
    "source_status",
    "reason",
    "source_checks",
    "clean",
    "source_flagged",
    "unknown",
    "source_errors",
    "cost_units",
    "held_back",
    "message",
)


def runs(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many runs (newest first)."),
    as_json: bool = JSON_OPTION,
    as_csv: bool = typer.Option(False, "--csv", help="CSV: a row per run and source."),
    as_markdown: bool = typer.Option(False, "--markdown", help="A Markdown table."),
) -> None:
    """Recent runs: when, how long, status, account, what each source checked, flagged
    and failed, cost, numbers held back by a budget, and the exit code. With --account,
    that account's runs and the runs over every account."""
    from cidrep.errors import CidrepError
    from cidrep.reports.runs import recent

    if as_json + as_csv + as_markdown > 1:
        raise CidrepError("runs: choose one of --json, --csv, --markdown")
    st = state(ctx)
    db = st.read_db()
    account = st.scoped_account(db)
    items = recent(db, limit, account["name"] if account else None)
    if as_json:
        from cidrep.cli.context import print_json
        from cidrep.reports.fleet_schema import SCHEMA_VERSION

        print_json({"schema_version": SCHEMA_VERSION, "runs": items})
    elif as_csv:
        _csv(items)
    elif as_markdown:
        _markdown(items)
    elif not items:
        typer.echo("no runs yet; run: cidrep check")
    else:
        _table(items)


def _cells(run: dict[str, Any]) -> list[str]:
    from cidrep.reports.fleet_table import short
    from cidrep.reports.runs import took

    return [
        str(run["id"]),
        short(run["started_at"]),
        took(run["duration_seconds"]),
        run["status"],
        "-" if run["exit_code"] is None else str(run["exit_code"]),
        str(run["checks"]),
        str(run["flagged"]),
        str(run["errors"]),
        (run["account"] or "all") + (" (forced)" if run["forced"] else ""),
    ]


def _table(items: list[dict[str, Any]]) -> None:
    """The runs as aligned columns, each followed by a line per source."""
    import os
    import shutil

    from cidrep.cli.context import table
    from cidrep.reports.fleet_table import table_width
    from cidrep.reports.runs import source_summary

    out = sys.stdout
    tty = out.isatty()
    width = table_width(os.environ, tty, shutil.get_terminal_size().columns if tty else None)
    lines = table([_cells(r) for r in items], RUN_HEADERS).splitlines()
    out.write(_cut(lines[0], width) + "\n")
    for line, run in zip(lines[1:], items, strict=True):
        out.write(_cut(line, width) + "\n")
        pad = max((len(s["source"]) for s in run["sources"]), default=0)
        for s in run["sources"]:
            text = f"    {s['source'].ljust(pad)}  {source_summary(s)}"
            out.write(_cut(text, width) + "\n")


def _cut(text: str, width: int | None) -> str:
    from cidrep.reports.fleet_table import clip

    return clip(text, width) if width else text


def _csv(items: list[dict[str, Any]]) -> None:
    import csv

    writer = csv.writer(sys.stdout)
    writer.writerow(CSV_COLUMNS)
    for run in items:
        head = [
            run["id"],
            run["started_at"],
            run["finished_at"] or "",
            "" if run["duration_seconds"] is None else run["duration_seconds"],
            run["status"],
            run["account"] or "",
            "true" if run["forced"] else "false",
            run["checks"],
            run["flagged"],
            run["errors"],
            "" if run["exit_code"] is None else run["exit_code"],
        ]
        keys = ("source", "status", "reason", "checks", "clean", "flagged", "unknown", "errors")
        keys += ("cost_units", "held_back", "message")
        for s in run["sources"] or [None]:
            tail = ["" if s is None or s[k] is None else s[k] for k in keys]
            writer.writerow([*head, *tail])


def _markdown(items: list[dict[str, Any]]) -> None:
    from cidrep.reports.fleet_table import markdown_row
    from cidrep.reports.runs import source_summary

    titles = [h.title().replace("(Utc)", "(UTC)") for h in RUN_HEADERS] + ["Sources"]
    out = sys.stdout
    out.write(markdown_row(titles) + "\n" + "|" + "|".join("---" for _ in titles) + "|\n")
    for run in items:
        sources = "; ".join(f"{s['source']} {source_summary(s)}" for s in run["sources"])
        out.write(markdown_row([*_cells(run), sources or "-"]) + "\n")
