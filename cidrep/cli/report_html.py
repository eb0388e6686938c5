"""``cidrep report --html FILE [NUMBER | --tag T | --account A]``: parse and print only.

The page is built and written by ``cidrep.reports.html_fleet`` (one number: the
``build_report`` dict; otherwise the fleet in scope, streamed).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import typer

from cidrep.cli.context import AppState, state


def check_options(
    html: Path | None, number: str | None, tag: str | None, account: str | None, other: bool
) -> None:
    """Which combinations ``report`` accepts (pure, raises ``CidrepError``).

    =================================  ===========================================
    options                            result
    =================================  ===========================================
    NUMBER                             the text / --json / --markdown report
    --html FILE NUMBER                 the one-number page
    --html FILE [--tag T] [--account]  the fleet page (in scope)
    NUMBER with --tag                  error: one number or a tag
    no NUMBER and no --html            error: NUMBER is missing
    --tag or report --account, no      error: those scope the fleet page
    --html
    --html with --json/--markdown      error: one format
    =================================  ===========================================
    """
    from cidrep.errors import CidrepError

    if html is None:
        if tag is not None or account is not None:
            raise CidrepError(
                "report: --tag and --account scope the fleet page of --html FILE; for one "
                "number's report use: cidrep --account A report NUMBER"
            )
        if number is None:
            raise CidrepError("report: missing NUMBER (or --html FILE for the fleet page)")
        return
    if other:
        raise CidrepError("report: --html cannot be combined with --json or --markdown")
    if number is not None and tag is not None:
        raise CidrepError("report --html: give a NUMBER or --tag, not both")


def _account(st: AppState, db: Any, name: str | None) -> dict[str, Any] | None:
    """``report --account A`` is the global ``--account A``; naming two is an error."""
    from cidrep.errors import CidrepError
    from cidrep.store.numbers import get_account

    if name is None:
        return st.scoped_account(db)
    if st.account_name is not None and st.account_name != name:
        raise CidrepError(f"report: --account {name!r} and global --account {st.account_name!r}")
    return get_account(db, name)


def write_html(
    ctx: typer.Context,
    path: Path,
    number: str | None,
    tag: str | None,
    account: str | None,
    window: int,
) -> None:
    from cidrep.phone import display
    from cidrep.reports import html_fleet
    from cidrep.reports.number import build_report, skipped_sources
    from cidrep.timeutil import utcnow

    st = state(ctx)
    now = utcnow()
    e164 = st.normalize(number) if number is not None else None
    db = st.read_db()
    scoped = _account(st, db, account)
    if e164 is not None:
        data = build_report(db, e164, scoped, st.checkers(), st.settings, st.interval, now, window)
        html_fleet.write_number(path, data, now)
        typer.echo(f"wrote {path}: the report of {display(e164)}")
        return
    entries = html_fleet.fleet_entries(
        db,
        functools.cache(st.interval),
        now,
        st.settings.carrier_map(),
        st.settings.reports.relapse_days,
        window,
        scoped["id"] if scoped else None,
        tag,
    )
    scope = f"account {scoped['name']}" if scoped else "all accounts"
    scope += f", tag {tag}" if tag else ""
    skipped = skipped_sources(st.checkers(), st.settings)
    tally = html_fleet.write_fleet(path, entries, now, scope, skipped)
    flagged = tally.verdicts.get("flagged", 0)
    plural = "" if tally.numbers == 1 else "s"
    typer.echo(f"wrote {path}: {tally.numbers} number{plural} ({scope}), {flagged} flagged")
