"""``cidrep sources list``: what each source is, whether it will run, what it sends;
``cidrep sources test``: one real request to one source, shown masked, nothing stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from cidrep.cli.context import JSON_OPTION, AppState, print_json, state

if TYPE_CHECKING:
    from cidrep.check.probe import ProbeResult
    from cidrep.contract import Observation

app = typer.Typer(help="Reputation sources (checker plugins).", no_args_is_help=True)


def _seconds(td: object) -> str:
    total = int(td.total_seconds())  # type: ignore[attr-defined]
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if total >= size and total % size == 0:
            return f"{total // size}{unit}"
    return f"{total}s"


@app.command("list")
def list_sources(
    ctx: typer.Context,
    as_json: bool = JSON_OPTION,
) -> None:
    """Every source: enabled or skipped (and why), what it sends where, its rate limit."""
    st = state(ctx)
    spent = _spent_today(st)
    items = []
    for name, cls in st.checkers().items():
        settings = st.settings.source(name)
        reason = None if settings.enabled else "disabled in config"
        if reason is None:
            try:
                reason = cls(settings).preflight()
            except Exception as exc:  # a broken plugin is reported, not fatal
                reason = f"preflight failed: {exc!r}"
        items.append(
            {
                "name": name,
                "shape": cls.shape,
                "description": cls.description,
                "status": "skipped" if reason else "enabled",
                "reason": reason,
                "disclosure": cls.disclosure,
                "rate_limit": str(settings.rate_limit),
                "concurrency": settings.concurrency,
                "interval": _seconds(settings.interval),
                "timeout": _seconds(settings.timeout),
                "daily_budget": settings.daily_budget,
                "spent_today": spent.get(name) if settings.daily_budget else None,
                "module": cls.__module__,
            }
        )
    if as_json:
        print_json(items)
        return
    for item in items:
        status = item["status"] + (f": {item['reason']}" if item["reason"] else "")
        typer.echo(f"{item['name']} ({item['shape']}) - {status}")
        typer.echo(f"  {item['description']}")
        typer.echo(f"  sends: {item['disclosure']}")
        typer.echo(
            f"  rate limit {item['rate_limit']}, concurrency {item['concurrency']}, "
            f"every {item['interval']}, timeout {item['timeout']}"
        )
        if item["daily_budget"]:
            used = item["spent_today"] or 0.0
            reached = used >= item["daily_budget"]
            state_text = "reached: paid lookups stop until tomorrow" if reached else "not reached"
            typer.echo(
                f"  daily budget {item['daily_budget']:g}: {used:g} spent today (UTC), {state_text}"
            )
        typer.echo("")


@app.command("test")
def test_source(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The source to test (see `cidrep sources list`)."),
    number: str | None = typer.Argument(
        None, help="Number to look up (lookups; default: a fictional 555-01XX test number)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """One real request to one source, after pasting a key: preflight, then one lookup of
    NUMBER (or a test number) or the first page of a feed. Shows each request (secrets
    masked), its status and time, and the parsed answer. Stores nothing. Exit 0 if it
    answered and parsed, 2 if skipped (no key) or the number was not asked, 3 if failing.
    """
    from cidrep.check.probe import probe
    from cidrep.errors import CidrepError
    from cidrep.timeutil import utcnow

    st = state(ctx)
    checkers = st.checkers()
    if name not in checkers:
        raise CidrepError(f"unknown source {name!r} (known: {', '.join(checkers)})")
    settings = st.settings.source(name)
    e164 = st.normalize(number) if number is not None else None
    result = probe(name, checkers[name], settings, e164, utcnow())
    if as_json:
        print_json(result.as_dict())
    else:
        typer.echo(render_probe(result))
    raise typer.Exit(int(result.exit_code))


def render_probe(result: ProbeResult) -> str:
    """The test as text: the source, each request (masked), the answer or the error."""
    from cidrep.phone import display

    head = f"{result.source} ({result.shape})"
    if not result.enabled:
        head += " - disabled in config: `cidrep check` skips it; tested anyway"
    lines = [head]
    if result.number:
        note = " (default test number, fictional; pass NUMBER to test another)"
        lines.append(f"number: {display(result.number)}{note if result.default_number else ''}")
    if result.status == "skipped":
        lines.append(f"SKIPPED: {result.reason}")
        return "\n".join(lines)
    for r in result.requests:
        status = f"HTTP {r.status}" if r.status is not None else "no response"
        retries = f", {r.retries} retr{'y' if r.retries == 1 else 'ies'}" if r.retries else ""
        lines.append(f"{r.method} {r.url}")
        lines.extend(f"  {key}: {value}" for key, value in r.headers.items())
        lines.append(f"  -> {status} in {r.elapsed * 1000:.0f} ms{retries}")
    if not result.requests:
        lines.append("no HTTP request sent")
    for obs in result.observations:
        if obs.error is None:  # an error is the one FAILED line below
            lines.extend(_observation_lines(obs))
    if result.feed is not None:
        lines.extend(_feed_lines(result))
    if result.status != "ok":
        lines.append(f"{result.status.upper()}: {result.reason}")
    else:
        lines.append("OK")
    return "\n".join(lines)


def _observation_lines(obs: Observation) -> list[str]:
    carrier = f" [{obs.carrier}]" if obs.carrier else ""
    lines = [f"verdict: {obs.verdict.value}{carrier}"]
    for label, value in (("label", obs.label), ("score", obs.score), ("category", obs.category)):
        if value is not None:
            lines.append(f"  {label}: {value}")
    for key, value in obs.evidence.items():
        lines.append(f"  {key}: {value}")
    lines.append(f"  cost units: {obs.cost_units:g}")
    return lines


def _feed_lines(result: ProbeResult) -> list[str]:
    feed = result.feed
    assert feed is not None
    if feed.stopped:
        return [f"feed: {feed.stopped}"]
    if not feed.chunks:
        return ["feed: nothing to read"]
    import json

    from cidrep.phone import display

    lines = ["feed: first chunk read (nothing stored, cursor not moved)"]
    if result.number:
        lines.append(f"  sightings of {display(result.number)}: {len(feed.sightings)}")
        for s in feed.sightings[:5]:
            lines.append(f"    {s.occurred_at}  {json.dumps(s.detail, sort_keys=True)}")
    if feed.stats:
        lines.append("  " + ", ".join(f"{k}: {v}" for k, v in sorted(feed.stats.items())))
    if feed.cursor or feed.done:
        lines.append(f"  a check would record: cursor {feed.cursor}, done {feed.done}")
    return lines


def _spent_today(st: AppState) -> dict[str, float]:
    """Cost units each budgeted source spent in today's runs (UTC); none without a
    database or a budget (then the database is not opened)."""
    from cidrep.runner.budget import day_start
    from cidrep.store.runs import spent_since
    from cidrep.timeutil import iso, utcnow

    budgeted = [n for n in st.checkers() if st.settings.source(n).daily_budget]
    if not budgeted or not st.db_file.exists():
        return {}
    db = st.read_db()
    since = iso(day_start(utcnow()))
    return {name: spent_since(db, name, since) for name in budgeted}
