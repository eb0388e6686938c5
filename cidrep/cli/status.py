"""``cidrep status``: the fleet at a glance, one line per number, and a summary.

Only parsing and printing: lines come from ``cidrep.reports.fleet``, the table's
layout from ``cidrep.reports.fleet_table``. Every format streams: lines are printed
as they come and the summary is counted on the way, so memory stays flat however
many numbers there are (the table keeps its first page to size its columns).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import typer

from cidrep.cli.context import JSON_OPTION, TAG_FILTER, AppState, state

SAMPLE = 1000  # lines the table measures its columns on


def status(
    ctx: typer.Context,
    account: str | None = typer.Option(
        None, "--account", "-a", help="Only this account (same as the global --account)."
    ),
    tag: str | None = TAG_FILTER,
    source: str | None = typer.Option(
        None, "--source", "-s", help="Only numbers with state at this source; verdicts are its."
    ),
    flagged: bool = typer.Option(False, "--flagged", help="Only flagged numbers."),
    failing: bool = typer.Option(
        False, "--failing", help="Only numbers with a source failing or stale for them."
    ),
    verdict: str | None = typer.Option(
        None, "--verdict", help="Only this verdict: clean, flagged, unknown, error, unchecked."
    ),
    sort: str | None = typer.Option(
        None,
        "--sort",
        help="verdict (flagged, error, unknown, clean, not checked), since (oldest first), "
        "number or label; ties by number. Default: account, then number.",
    ),
    as_json: bool = JSON_OPTION,
    as_csv: bool = typer.Option(False, "--csv", help="CSV: a header row, a row per number."),
    as_markdown: bool = typer.Option(False, "--markdown", help="A Markdown table."),
) -> None:
    """One line per number: its worst current verdict, since when, the sources behind it
    and any source failing or stale for it; then a summary line. AS OF is the oldest
    last success."""
    from cidrep.errors import CidrepError
    from cidrep.reports import fleet
    from cidrep.timeutil import iso, utcnow

    if as_json + as_csv + as_markdown > 1:
        raise CidrepError("status: choose one of --json, --csv, --markdown")
    if verdict is not None and verdict not in fleet.VERDICTS:
        raise CidrepError(
            f"status: unknown --verdict {verdict!r}; use one of {', '.join(fleet.VERDICTS)}"
        )
    if flagged and verdict not in (None, "flagged"):
        raise CidrepError(f"status: --flagged and --verdict {verdict} ask for different numbers")
    if sort is not None and sort not in fleet.SORTS:
        raise CidrepError(f"status: unknown --sort {sort!r}; use one of {', '.join(fleet.SORTS)}")
    st = state(ctx)
    db = st.read_db()
    scoped = _account(st, db, account)
    if source is not None:
        _check_source(st, db, source)
    filters = fleet.Filters(
        account=scoped["name"] if scoped else None,
        tag=tag,
        source=source,
        verdict="flagged" if flagged else verdict,
        failing=failing,
        sort=sort,
    )
    now = utcnow()
    intervals = _intervals(st)
    known = {name: intervals(name) for name in [*st.checkers(), *st.recorded()]}
    query = fleet.query_for(filters, scoped["id"] if scoped else None, known, now)
    lines = fleet.lines(db, query, filters, intervals, now, full=as_json)
    tally = fleet.Tally()
    counted = _counting(lines, tally)
    try:
        if as_json:
            _json(counted, tally, filters, iso(now))
        elif as_csv:
            _csv(counted)
        else:
            from cidrep.store.fleet import accounts_in_scope

            several = scoped is None and accounts_in_scope(db, None, tag) > 1
            keys = [k for k, _ in _columns() if several or k != "account"]
            if as_markdown:
                _markdown(counted, tally, keys)
            else:
                _table(st, db, counted, tally, keys, scoped["id"] if scoped else None)
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_gone()
    finally:
        lines.close()  # the query's cursor, before the database closes


def _reader_gone() -> None:
    """``cidrep status | head``: the reader left; stop quietly, as ``cat`` does."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # nothing more to flush at exit
    raise typer.Exit(0)


def _columns() -> tuple[tuple[str, str], ...]:
    from cidrep.reports.fleet_table import COLUMNS

    return COLUMNS


def _account(st: AppState, db: Any, name: str | None) -> dict[str, Any] | None:
    """``status --account A`` is the global ``--account A``; naming two is an error."""
    from cidrep.errors import CidrepError
    from cidrep.store.numbers import get_account

    if name is None:
        return st.scoped_account(db)
    if st.account_name is not None and st.account_name != name:
        raise CidrepError(f"status: --account {name!r} and global --account {st.account_name!r}")
    return get_account(db, name)


def _check_source(st: AppState, db: Any, source: str) -> None:
    """A source no plugin registers and no number has state at is a typo."""
    from cidrep.errors import CidrepError
    from cidrep.store.fleet import source_known

    if source in st.checkers() or source in st.recorded() or source_known(db, source):
        return
    names = ", ".join(sorted({*st.checkers(), *st.recorded()}))
    raise CidrepError(f"status: unknown --source {source!r}; sources: {names}")


def _intervals(st: AppState) -> Any:
    """``st.interval``, looked up once per source (it is asked once per state row)."""
    import functools

    return functools.cache(st.interval)


def _counting(lines: Iterable[dict[str, Any]], tally: Any) -> Iterator[dict[str, Any]]:
    for line in lines:
        tally.add(line)
        yield line


def _json(lines: Iterable[dict[str, Any]], tally: Any, filters: Any, now: str) -> None:
    """The versioned document (docs/status.schema.json), the numbers written one by
    one and the summary last."""
    import json

    from cidrep.reports.fleet_schema import SCHEMA_VERSION

    out = sys.stdout
    head = {"schema_version": SCHEMA_VERSION, "generated_at": now, "filters": filters.as_dict()}
    out.write(json.dumps(head, sort_keys=False)[:-1] + ', "numbers": [')
    for i, item in enumerate(lines):
        out.write(("," if i else "") + "\n  " + json.dumps(item, sort_keys=True, default=str))
    out.write('\n], "summary": ' + json.dumps(tally.as_dict()) + "}\n")


def _csv(lines: Iterable[dict[str, Any]]) -> None:
    import csv

    from cidrep.reports.fleet_table import CSV_COLUMNS, csv_row

    writer = csv.writer(sys.stdout)  # RFC 4180: CRLF line ends, quoting as needed
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        writer.writerow(csv_row(line))


def _markdown(lines: Iterable[dict[str, Any]], tally: Any, keys: list[str]) -> None:
    from cidrep.reports.fleet import summary_text
    from cidrep.reports.fleet_table import cells, markdown_header, markdown_row

    out = sys.stdout
    out.write("\n".join(markdown_header(keys)) + "\n")
    for line in lines:
        row = cells(line)
        out.write(markdown_row([row[k] for k in keys]) + "\n")
    out.write("\n" + "\n".join(summary_text(tally)) + "\n")


def _table(
    st: AppState,
    db: Any,
    lines: Iterator[dict[str, Any]],
    tally: Any,
    keys: list[str],
    account_id: int | None,
) -> None:
    import os
    import shutil

    from cidrep.reports import fleet_table as t
    from cidrep.reports.fleet import summary_text
    from cidrep.store.fleet import has_numbers

    out = sys.stdout
    tty = out.isatty()
    width = t.table_width(os.environ, tty, shutil.get_terminal_size().columns if tty else None)
    colour = t.use_colour(os.environ, tty)
    first = [t.cells(line) for line in islice(lines, SAMPLE)]
    if not first:
        if has_numbers(db, account_id, None):  # numbers, just none matching
            out.write("no numbers match these filters\n")
        else:
            out.write("no numbers monitored yet; add some with: cidrep numbers add NUMBER\n")
        _channel_problems(st, db)
        return
    widths = t.fit(t.natural(first, keys), width)
    out.write(t.header(widths) + "\n")
    for row in first:
        out.write(t.render(row, widths, colour) + "\n")
    for line in lines:
        out.write(t.render(t.cells(line), widths, colour) + "\n")
    out.write("\n" + "\n".join(summary_text(tally, width)) + "\n")
    _channel_problems(st, db)


def _channel_problems(st: AppState, db: Any) -> None:
    """A line per alert channel that is failing: alerts may not be reaching anyone."""
    from cidrep.alerts.channel_health import channel_rows
    from cidrep.reports.fleet_table import short

    for row in channel_rows(db, st.channels()):
        if row["health"] in ("failing", "unavailable"):
            since = f" since {short(row['last_failure'])} UTC" if row["last_failure"] else ""
            typer.echo(
                f"channel {row['name']} ({row['type']}) {row['health']}{since}: "
                f"{row['last_error']}; {row['pending']} alert(s) waiting"
            )
