"""``cidrep report NUMBER``: what is wrong with this number, since when, what to do.

Only parsing and printing: the report is built by ``cidrep.reports.number`` as one
dict, printed as text, ``--json`` (``docs/report.schema.json``) or ``--markdown``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cidrep.cli.context import JSON_OPTION, print_json, state

MAX_WINDOW = 3650
TIMELINE_SHOWN = 40  # text and Markdown show the latest events; --json has all
HEALTH_NOTE = {"failing": "FAILING", "stale": "STALE (no success within its interval)"}
KEYS = ("label", "category", "score", "url")


def report(
    ctx: typer.Context,
    number: str | None = typer.Argument(None, help="A monitored number (with --html: optional)."),
    as_json: bool = JSON_OPTION,
    as_markdown: bool = typer.Option(False, "--markdown", help="The report as Markdown."),
    window: int = typer.Option(
        90, "--window", help="Days counted for the share of days flagged (1-3650)."
    ),
    html: Path | None = typer.Option(
        None, "--html", help="Write one self-contained page: NUMBER's, else the fleet's."
    ),
    tag: str | None = typer.Option(None, "--tag", "-t", help="With --html: only this tag."),
    account: str | None = typer.Option(
        None, "--account", "-a", help="With --html: only this account."
    ),
) -> None:
    """Per source and carrier: the current verdict, label, score, since when, last
    success, failing or stale, and evidence; the timeline of changes; the lifecycle
    figures; and where to ask for a review."""
    from cidrep.errors import CidrepError
    from cidrep.reports.number import build_report
    from cidrep.timeutil import utcnow

    if as_json and as_markdown:
        raise CidrepError("--json and --markdown cannot be combined: pick one")
    if not 1 <= window <= MAX_WINDOW:
        raise CidrepError(f"--window must be 1 to {MAX_WINDOW} days, got {window}")
    from cidrep.cli.report_html import check_options, write_html

    check_options(html, number, tag, account, as_json or as_markdown)
    if html is not None:
        return write_html(ctx, html, number, tag, account, window)
    assert number is not None  # check_options: NUMBER is required without --html
    st = state(ctx)
    e164 = st.normalize(number)
    db = st.read_db()
    account = st.scoped_account(db)
    data = build_report(
        db, e164, account, st.checkers(), st.settings, st.interval, utcnow(), window
    )
    if as_json:
        print_json(data)
    elif as_markdown:
        typer.echo(markdown(data))
    else:
        typer.echo(text(data))


# -- shared wording ----------------------------------------------------------------------


def _short(ts: str | None) -> str:
    return ts.replace("T", " ")[:16] if ts else "-"


def _span(seconds: int | None) -> str:
    from cidrep.alerts.messages import span_text

    return "-" if seconds is None else span_text(seconds) if seconds >= 60 else "0m"


def _lane(source: str | None, carrier: str | None) -> str:
    return f"{source}: {carrier}" if carrier else source or "number"


def value_text(value: Any) -> str:
    """Evidence as text people read: lists comma-joined, mappings ``key (value)``."""
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k} ({value_text(v)})" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


def _evidence(view: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, text) per evidence fact; per-carrier facts are shown as carriers."""
    return [
        (key.replace("_", " "), value_text(value))
        for key, value in (view.get("evidence") or {}).items()
        if not (key == "carriers" and view.get("carriers"))
    ]


def event_text(event: dict[str, Any]) -> str:
    """``trustcall: T-Mobile clean -> flagged "Scam Likely"`` or an alert's line."""
    kind, new = event["kind"], event["new"]
    if kind == "verdict":
        label = f' "{event["label"]}"' if event["label"] else ""
        change = f"{event['old']} -> {new}" if event["old"] else f"first verdict: {new}"
        return f"{_lane(event['source'], event['carrier'])} {change}{label}"
    if kind == "confirmed":
        line = f"alert: {event['source']} counted as {new or 'no verdict'}"
    elif kind == "flapping":
        line = "alert: number flapping (alerts held until it is stable)"
    elif kind == "changed":
        line = f"alert: {event['source'] or 'a source'} reported changed evidence"
    elif kind == "reminder":
        line = "alert: reminder, still flagged"
    else:
        line = f"alert: number {kind}"
    return line + (f" (held: {event['held']})" if event["held"] else "")


def _label_lines(i: int, label: dict[str, Any]) -> list[str]:
    """Two lines per label: when and how long; where, and whether it was a relapse."""
    where = ", ".join(dict.fromkeys(_lane(s["source"], s["carrier"]) for s in label["stretches"]))
    if label["cleared"]:
        head = f"{_short(label['start'])} -> {_short(label['end'])}: cleared after "
        head += _span(label["seconds"])
    else:
        head = f"{_short(label['start'])} -> not cleared yet ({_span(label['seconds'])} so far)"
    relapse = ""
    if label["relapse"]:
        relapse = f"; RELAPSE, {_span(label['since_previous_clear_seconds'])} after the last clear"
    pad = " " * (len(str(i)) + 2)
    return [f"{i}. {head}", f"{pad}on {where}{relapse}"]


def _figures_lines(data: dict[str, Any]) -> list[str]:
    life = data["lifecycle"]
    win = life["window"]
    lines = [f"added {_short(life['added'])} UTC"]
    if life["first_label"] and life["first_label"] < life["added"]:
        lines.append(f"first label seen {_short(life['first_label'])} UTC, before it was added")
    elif life["first_label"]:
        lines.append(
            f"first label {_span(life['time_to_first_label_seconds'])} after being added "
            f"({_short(life['first_label'])} UTC)"
        )
    else:
        lines.append("never labelled in the history kept")
    count = len(life["labels"])
    lines.append(
        f"labels: {count}, relapses: {life['relapses']} (labelled again within "
        f"{life['relapse_days']} days of clearing)"
    )
    share = f" ({win['share_flagged']:.0%})" if win["share_flagged"] is not None else ""
    since = " since it was added" if win["days_counted"] < win["days"] else ""
    lines.append(
        f"flagged on {win['days_flagged']} of {win['days_counted']} days{share}{since}"
        f" in the last {win['days']} days"
    )
    lines.append(f"  (UTC days {win['first_day']} to {win['last_day']}, today included)")
    return lines


def _not_checked(data: dict[str, Any]) -> str | None:
    names = [item["source"] for item in data["not_checked"]]
    return f"not checked: {', '.join(names)} (disabled or no key)" if names else None


def _skipped(data: dict[str, Any]) -> set[str]:
    return {item["source"] for item in data["not_checked"]}


def _timeline(data: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    events = data["timeline"]
    return events[-TIMELINE_SHOWN:], max(len(events) - TIMELINE_SHOWN, 0)


# -- text ------------------------------------------------------------------------------


def _carrier_line(lane: dict[str, Any]) -> str:
    """``T-Mobile: flagged "Scam Likely" since 2026-11-20 09:00``."""
    verdict = lane["verdict"] or "no verdict yet"
    label = f' "{lane["label"]}"' if lane["label"] and lane["verdict"] == "flagged" else ""
    score = f" (score {lane['score']})" if lane.get("score") is not None else ""
    since = f" since {_short(lane['since'])}" if lane["since"] else ""
    failed = f" (last check failed: {lane['last_error']})" if lane["last_error"] else ""
    return f"{lane['carrier']}: {verdict}{label}{score}{since}{failed}"


def _source_lines(name: str, s: dict[str, Any]) -> list[str]:
    if s["health"] == "never":
        return [f"{name}: not checked yet"]
    head = f"{name}: {s['verdict']} since {_short(s['since'])} UTC"
    if not s["verdict"]:
        head = f"{name}: no verdict yet"
    if s["health"] in HEALTH_NOTE:
        head += f"  [{HEALTH_NOTE[s['health']]}]"
    plural = "" if s["checks"] == 1 else "s"
    lines = [
        head,
        f"  last checked {_short(s['last_checked'])}, last success "
        f"{_short(s['last_success'])} UTC ({s['checks']} check{plural})",
    ]
    lines += [f"  {key}: {s[key]}" for key in KEYS if s.get(key) is not None]
    lines += ["  " + _carrier_line(lane) for lane in s.get("carriers") or []]
    lines += [f"  {key}: {value}" for key, value in _evidence(s)]
    if s["last_failure"]:
        streak = s["error_streak"]
        note = f", {streak} in a row" if streak else " (recovered since)"
        lines.append(f"  last failure {_short(s['last_failure'])} UTC{note}: {s['last_error']}")
    return lines


def text(data: dict[str, Any]) -> str:
    from cidrep.phone import display

    out = [display(data["number"]) + (f"  {data['label']}" if data["label"] else "")]
    meta = [f"account {data['account']}"]
    if data["tags"]:
        meta.append("tags " + " ".join(data["tags"]))
    if data["paused"]:
        meta.append("PAUSED")
    out.append("  " + ", ".join(meta))
    worst = data["verdict"] or "not checked yet"
    where = ", ".join(data["flagged_on"] if worst == "flagged" else data["verdict_sources"])
    out.append(f"  worst verdict: {worst}" + (f" ({where})" if where else "") + "\n")
    skipped = _skipped(data)
    for name, s in data["sources"].items():
        if name not in skipped:
            out += [*_source_lines(name, s), ""]
    shown, earlier = _timeline(data)
    out.append("Timeline (UTC, oldest first)")
    if earlier:
        out.append(f"  ({earlier} earlier changes not shown; --json has them all)")
    out += [f"  {_short(e['at'])}  {event_text(e)}" for e in shown] or ["  no changes yet"]
    out += ["", "Lifecycle"]
    out += [f"  {line}" for line in _figures_lines(data)]
    for i, label in enumerate(data["lifecycle"]["labels"], 1):
        out += [f"  {line}" for line in _label_lines(i, label)]
    out += ["", "What to do"]
    todo = data["what_to_do"]
    if todo["disputes"]:
        out.append("  Check the label, slow outbound calls from it, and ask for a review:")
        out += [f"  - {d['name']}: {d['url']}" for d in todo["disputes"]]
    else:
        out.append("  Not flagged: nothing to dispute.")
    out += [f"  - {note}" for note in todo["notes"]]
    line = _not_checked(data)
    if line:
        out += ["", line]
    return "\n".join(out)


# -- Markdown ----------------------------------------------------------------------------


def _md(value: Any) -> str:
    """A table cell: pipes escaped, on one line."""
    text = value_text(value) if not isinstance(value, str) else value
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split()) or "-"


def _md_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]


def _md_source(name: str, s: dict[str, Any]) -> list[str]:
    out = [f"### {name}", ""]
    if s["health"] == "never":
        return [*out, "Not checked yet.", ""]
    rows: list[list[Any]] = [
        ["verdict", s["verdict"] or "no verdict yet"],
        ["health", HEALTH_NOTE.get(s["health"], s["health"])],
        ["since (UTC)", _short(s["since"])],
    ]
    rows += [[key, s[key]] for key in KEYS if s.get(key) is not None]
    rows += [
        ["last checked (UTC)", _short(s["last_checked"])],
        ["last success (UTC)", _short(s["last_success"])],
        ["checks", s["checks"]],
    ]
    if s["last_failure"]:
        rows.append(["last failure (UTC)", f"{_short(s['last_failure'])}: {s['last_error']}"])
    rows += [[key, value] for key, value in _evidence(s)]
    out += _md_table(["field", "value"], rows)
    if s.get("carriers"):
        out += ["", f"#### {name}: carriers", ""]
        out += _md_table(
            ["carrier", "verdict", "label", "score", "since (UTC)", "last success (UTC)"],
            [
                [
                    c["carrier"],
                    c["verdict"] or "no verdict yet",
                    c["label"] if c["verdict"] == "flagged" else None,
                    c["score"],
                    _short(c["since"]),
                    _short(c["last_success"])
                    + (f" (last check failed: {c['last_error']})" if c["last_error"] else ""),
                ]
                for c in s["carriers"]
            ],
        )
    return [*out, ""]


def _md_labels(labels: list[dict[str, Any]]) -> list[str]:
    rows = []
    for i, label in enumerate(labels, 1):
        gap = _span(label["since_previous_clear_seconds"])
        rows.append(
            [
                i,
                _short(label["start"]),
                _short(label["end"]) if label["cleared"] else "not cleared yet",
                _span(label["seconds"]) + ("" if label["cleared"] else " so far"),
                ", ".join(
                    dict.fromkeys(_lane(s["source"], s["carrier"]) for s in label["stretches"])
                ),
                f"yes, {gap} after the last clear" if label["relapse"] else "no",
            ]
        )
    headers = ["#", "start (UTC)", "end (UTC)", "time to clear", "where", "relapse"]
    return _md_table(headers, rows)


def markdown(data: dict[str, Any]) -> str:
    from cidrep.phone import display

    title = display(data["number"]) + (f" ({data['label']})" if data["label"] else "")
    worst = data["verdict"] or "not checked yet"
    where = ", ".join(data["flagged_on"] if worst == "flagged" else data["verdict_sources"])
    out = [f"# {_md(title)}", ""]
    out.append(
        f"Account **{_md(data['account'])}**"
        + (f" · tags {_md(', '.join(data['tags']))}" if data["tags"] else "")
        + (" · **paused**" if data["paused"] else "")
        + f" · worst verdict **{worst}**"
        + (f" ({_md(where)})" if where else "")
        + f" · as of {data['generated_at']}"
    )
    out += ["", "## Sources", ""]
    skipped = _skipped(data)
    for name, s in data["sources"].items():
        if name not in skipped:
            out += _md_source(name, s)
    out += ["## Timeline", ""]
    shown, earlier = _timeline(data)
    if earlier:
        out.append(f"_{earlier} earlier changes not shown; `--json` has them all._\n")
    out += [f"- {_short(e['at'])} UTC: {_md(event_text(e))}" for e in shown] or ["- no changes yet"]
    out += ["", "## Lifecycle", ""]
    figures: list[str] = []
    for line in _figures_lines(data):  # a continuation line joins its bullet
        if line.startswith("  ") and figures:
            figures[-1] += " " + line.strip()
        else:
            figures.append(line)
    out += [f"- {_md(line)}" for line in figures]
    labels = data["lifecycle"]["labels"]
    if labels:
        out += ["", *_md_labels(labels)]
    out += ["", "## What to do", ""]
    todo = data["what_to_do"]
    if todo["disputes"]:
        out.append("Check the label, slow outbound calls from it, and ask for a review:\n")
        out += [f"- [{_md(d['name'])}]({d['url']})" for d in todo["disputes"]]
    else:
        out.append("Not flagged: nothing to dispute.")
    out += [f"- {_md(note)}" for note in todo["notes"]]
    line = _not_checked(data)
    if line:
        out += ["", f"_{_md(line)}_"]
    return "\n".join(out)
