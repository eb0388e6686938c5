"""``cidrep check``: the cron entry point."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from cidrep.cli.context import print_json, state

if TYPE_CHECKING:
    from cidrep.check import CheckOutcome
    from cidrep.runner.engine import RunResult


def check(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", "-f", help="Check everything, due or not."),
    source: list[str] | None = typer.Option(
        None, "--source", "-s", help="Only this source (repeatable)."
    ),
    number: list[str] | None = typer.Option(
        None, "--number", "-n", help="Only this number (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
) -> None:
    """Check what is due with every enabled source, store the results, exit with a code.

    The exit code follows the state of the scope after the run (not what happened to
    be due): 0 nothing flagged and every source current, 1 something flagged, 3 a
    source failing or stale, 4 both, 2 usage/config error, 70 internal error,
    74 database not writable, 75 another check is running. Not in a terminal (cron) it
    prints only what changed in this run: new flags, recoveries, sources failing or
    recovered, deliveries failing. A run with no change prints nothing.
    """
    from cidrep.check import require_monitored, run_check
    from cidrep.errors import CidrepError
    from cidrep.lock import RunLock
    from cidrep.runner.engine import CheckOptions
    from cidrep.timeutil import utcnow

    st = state(ctx)
    checkers = st.checkers()
    unknown = [s for s in source or [] if s not in checkers]
    if unknown:
        raise CidrepError(f"unknown source {unknown[0]!r} (known: {', '.join(checkers)})")
    settings = st.settings
    account = st.scoped_account()
    numbers = [st.normalize(n) for n in number or []]
    if numbers:
        require_monitored(st.db(), numbers, account["id"] if account else None)
    db_path = st.db_file
    with RunLock(db_path.with_name(db_path.name + ".lock")):
        options = CheckOptions(
            now=utcnow(),
            force=force,
            sources=list(dict.fromkeys(source or [])) or None,
            numbers=numbers or None,
            account_id=account["id"] if account else None,
            account_name=account["name"] if account else None,
        )
        with _progress(enabled=sys.stderr.isatty() and not as_json) as progress:
            outcome = run_check(st.db(), settings, checkers, options, st.channel_types(), progress)
    if as_json:
        print_json(outcome.as_dict())
    else:
        text = render_changes(outcome)
        if sys.stdout.isatty():
            text = "\n".join(t for t in (render(outcome.result), text) if t)
        if text:
            typer.echo(text)
    raise typer.Exit(int(outcome.result.exit_code))


def render_changes(outcome: CheckOutcome) -> str:
    """What changed in this run, one line each: the cron output. Empty when nothing
    changed, even while numbers stay flagged (so cron mails only news)."""
    lines = []
    for change in outcome.changes:
        if change.kind == "confirmed":
            continue
        kind = change.kind.replace("_", " ").upper()
        line = f"{kind:<16} {change.title}"
        if change.held:
            line += f"  [held: {change.held}]"
        elif change.channels:
            line += f"  -> {', '.join(change.channels)}"
        lines.append(line)
    for problem in outcome.deliveries.failed:
        lines.append(f"{'DELIVERY FAILING':<16} {problem}")
    return "\n".join(lines)


def render(result: RunResult) -> str:
    from cidrep.phone import display

    lines = [
        f"run {result.run_id}: {result.checks} checks, {len(result.flagged)} flagged, "
        f"{result.errors} errors"
    ]
    if result.failing:
        lines[0] += f"; not current: {', '.join(result.failing)}"
    for s in result.sources:
        if s.status == "skipped":
            detail = s.reason or ""
        elif s.status == "idle":
            detail = "nothing due"
        else:
            counts = ", ".join(f"{n} {v}" for v, n in s.verdicts.items() if n)
            detail = f"{s.checks} checked" + (f": {counts}" if counts else "")
            extras = [
                f"{k.replace('_', ' ')}: {v}"
                for k, v in sorted(s.stats.items())
                if k in ("files", "junk_rows", "new_sightings") and v
            ]
            if extras:
                detail += f" ({', '.join(extras)})"
            if s.stats.get("budget_held_back"):
                detail += f"; {s.reason}"
        lines.append(f"  {s.source:<8} {s.status:<8} {detail}")
    for f in result.flagged:
        label = f" {f['label']!r}" if f["label"] else ""
        category = f" ({f['category']})" if f["category"] else ""
        lines.append(f"FLAGGED {display(f['number'])}  {f['source']}{label}{category}")
    for s in result.sources:
        for message in s.messages:
            lines.append(f"ERROR {s.source}: {message}")
    return "\n".join(lines)


class _progress:
    """A progress bar on stderr for interactive runs; a no-op otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.start()
        return self.update

    def update(self, source: str, advance: int, total: int) -> None:
        if source not in self.tasks:
            self.tasks[source] = self.bar.add_task(source, total=total)
        self.bar.update(self.tasks[source], advance=advance)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
