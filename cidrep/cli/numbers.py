"""``cidrep numbers``: add, import, edit, list, remove, pause, resume monitored numbers.

Numbers the phone metadata does not know yet but that have the NANP shape (a new
area code) are accepted with one ``warning:`` line on stderr each (``add``,
``import``, ``edit``), so a real caller ID is never refused for stale metadata.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cidrep.cli.context import JSON_OPTION, TAG_FILTER, print_json, state, table

app = typer.Typer(help="Manage the outbound caller IDs you monitor.", no_args_is_help=True)

TAG_HELP = "Tag to attach, e.g. campaign:spring or team:collections (repeatable)."


def _tags(values: list[str] | None) -> tuple[str, ...]:
    """Tags as given, stripped; each non-empty, printable, at most 100 characters, no , or ;.

    Commas and semicolons separate tags in CSV files, and a control character would
    break the one-line-per-number listings, so neither can be part of a tag.
    """
    from cidrep.errors import CidrepError
    from cidrep.phone import quote

    tags = tuple(t.strip() for t in values or [])
    bad = [t for t in tags if not t or "," in t or ";" in t or not t.isprintable() or len(t) > 100]
    if bad:
        raise CidrepError(
            f"invalid tag {quote(bad[0])}: tags are 1 to 100 printable characters, no , or ;"
        )
    return tags


@app.command("add")
def add(
    ctx: typer.Context,
    numbers: list[str] = typer.Argument(..., help="Numbers in any common format."),
    label: str | None = typer.Option(None, "--label", "-l", help="A name for the number(s)."),
    tag: list[str] | None = typer.Option(None, "--tag", "-t", help=TAG_HELP),
) -> None:
    """Start monitoring numbers. All must be valid or nothing is added."""
    from cidrep.store.numbers import NumberEntry, add_numbers
    from cidrep.timeutil import iso, utcnow

    st = state(ctx)
    tags = _tags(tag)
    entries = [NumberEntry(st.normalize(raw), label, tags) for raw in numbers]
    account = st.account()
    added, existing = add_numbers(st.db(), account["id"], entries, iso(utcnow()))
    for number in added:
        typer.echo(f"added {number}")
    for number in existing:
        typer.echo(f"already monitored {number} (unchanged)")


@app.command("import")
def import_csv(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV file with one number per row."),
    column: str | None = typer.Option(
        None, "--column", "-c", help="Header name (or 1-based index) of the number column."
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid rows and list the skipped ones."
    ),
    tag: list[str] | None = typer.Option(None, "--tag", "-t", help=TAG_HELP),
) -> None:
    """Import numbers from CSV. Writes nothing unless every row is valid.

    The number column is detected from its header (number, phone, caller_id, ani,
    did, ...) or its contents; `label`/`name` and `tags` columns are used if present.
    Re-importing the same file changes nothing.
    """
    from cidrep.errors import CidrepError
    from cidrep.importer import read_numbers_csv
    from cidrep.store.numbers import add_numbers
    from cidrep.timeutil import iso, utcnow

    st = state(ctx)
    parsed = read_numbers_csv(file, st.settings.default_region, column, _tags(tag))
    for note in parsed.notes:
        typer.echo(f"warning: {file}:{note.line}: {note.message}", err=True)
    if parsed.bad and not skip_invalid:
        for bad in parsed.bad:
            typer.echo(f"{file}:{bad.line}: {bad.reason}", err=True)
        raise CidrepError(
            f"{len(parsed.bad)} of {parsed.rows} rows in {file} are invalid; nothing imported "
            "(fix them, or use --skip-invalid to import the valid rows)"
        )
    account = st.account()
    added, existing = add_numbers(st.db(), account["id"], parsed.entries, iso(utcnow()))
    typer.echo(
        f"imported {len(added)} new numbers from {file} (column {parsed.column!r}); "
        f"{len(existing)} already monitored"
    )
    for bad in parsed.bad:
        typer.echo(f"skipped {file}:{bad.line}: {bad.reason}", err=True)


@app.command("edit")
def edit(
    ctx: typer.Context,
    number: str = typer.Argument(..., help="The monitored number, in any format."),
    label: str | None = typer.Option(
        None, "--label", "-l", help='New label; --label "" clears it.'
    ),
    tag: list[str] | None = typer.Option(None, "--tag", "-t", help=TAG_HELP),
    untag: list[str] | None = typer.Option(
        None, "--untag", "-u", help="Tag to remove (repeatable)."
    ),
) -> None:
    """Change a monitored number's label and tags (in the --account, else default)."""
    from cidrep.errors import CidrepError
    from cidrep.store.numbers import KEEP, edit_number

    if label is None and not tag and not untag:
        raise CidrepError("nothing to change: give --label, --tag or --untag")
    added, removed = _tags(tag), _tags(untag)
    both = sorted(set(added) & set(removed))
    if both:
        raise CidrepError(f"tag {both[0]!r} is both added (--tag) and removed (--untag)")
    st = state(ctx)
    e164 = st.normalize(number)
    new_label = KEEP if label is None else (label.strip() or None)
    change = edit_number(st.db(), st.account(), e164, new_label, added, removed)
    typer.echo(change.describe())


@app.command("list")
def list_numbers(
    ctx: typer.Context,
    tag: str | None = TAG_FILTER,
    as_json: bool = JSON_OPTION,
) -> None:
    """List monitored numbers (all accounts unless --account is given)."""
    from cidrep.phone import display

    rows = state(ctx).scoped_numbers(tag)
    if as_json:
        print_json(
            [
                {
                    "number": r["e164"],
                    "account": r["account"],
                    "label": r["label"],
                    "tags": r["tags"],
                    "paused": r["paused_at"] is not None,
                    "added": r["created_at"],
                }
                for r in rows
            ]
        )
        return
    if not rows:
        typer.echo("no numbers monitored yet; add some with: cidrep numbers add NUMBER")
        return
    typer.echo(
        table(
            [
                [
                    display(r["e164"]),
                    r["account"],
                    r["label"] or "",
                    " ".join(r["tags"]),
                    "paused" if r["paused_at"] else "active",
                ]
                for r in rows
            ],
            ["NUMBER", "ACCOUNT", "LABEL", "TAGS", "STATE"],
        )
    )


def _rows(ctx: typer.Context, numbers: list[str]) -> list[dict]:
    from cidrep.store.numbers import find_numbers

    st = state(ctx)
    return find_numbers(st.db(), st.account(), [st.normalize(n) for n in numbers])


@app.command("remove")
def remove(
    ctx: typer.Context,
    numbers: list[str] = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Stop monitoring numbers and delete everything about them, unrecoverably (the same
    as `cidrep delete --number` in this account). Use `pause` to keep history."""
    from cidrep.cli.privacy import erase_scope, numbers_text

    st = state(ctx)
    rows = _rows(ctx, numbers)
    account = st.account()
    e164s = tuple(r["e164"] for r in rows)
    what = numbers_text(e164s)
    erase_scope(st, "numbers", (account["id"],), e164s, what, yes, ask_always=False)
    for row in rows:
        typer.echo(f"removed {row['e164']}")


@app.command("pause")
def pause(ctx: typer.Context, numbers: list[str] = typer.Argument(...)) -> None:
    """Stop checking numbers but keep their history (e.g. a retired caller ID)."""
    _set_paused(ctx, numbers, pause=True)


@app.command("resume")
def resume(ctx: typer.Context, numbers: list[str] = typer.Argument(...)) -> None:
    """Resume checking paused numbers."""
    _set_paused(ctx, numbers, pause=False)


def _set_paused(ctx: typer.Context, numbers: list[str], pause: bool) -> None:
    from cidrep.store.numbers import set_paused
    from cidrep.timeutil import iso, utcnow

    st = state(ctx)
    rows = _rows(ctx, numbers)
    set_paused(st.db(), [r["id"] for r in rows], iso(utcnow()) if pause else None)
    verb = "paused" if pause else "resumed"
    for row in rows:
        already = (row["paused_at"] is not None) == pause
        typer.echo(f"{row['e164']} {'was already ' + verb if already else verb}")
