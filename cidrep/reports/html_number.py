"""The one-number page of ``cidrep report --html FILE NUMBER``.

What ``report NUMBER`` prints, as a page: summary tiles (worst verdict, labels,
relapses, share of days flagged, time to the first label), the number's card with
its chart and what to do (``cidrep.reports.html.number_section``), then every
source and carrier, the lifecycle labels and the timeline. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from cidrep.reports import svg
from cidrep.reports.html import (
    esc,
    figures_text,
    flag_texts,
    foot,
    head,
    legend,
    number_section,
    row,
    short,
    span,
    table,
    tile,
    title_of,
    value_text,
)

TIMELINE_SHOWN = 200  # the page lists the latest events; --json has them all


SOURCE_HEADERS = [
    "Source",
    "Verdict",
    "Since (UTC)",
    "Label / evidence",
    "Score",
    "Last success",
    "Health",
]


def _source_cells(name: str, s: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A source's row: its label with its evidence facts below (per-carrier facts are
    the carrier rows)."""
    health = s["health"] if s["health"] != "never" else "not checked yet"
    if s["health"] == "failing" and s.get("last_error"):
        health += f": {s['last_error']}"
    facts = [
        f"{k.replace('_', ' ')}: {value_text(v)}"
        for k, v in (s.get("evidence") or {}).items()
        if not (k == "carriers" and s.get("carriers"))
    ]
    label = esc(s.get("label") or "-")
    if facts:
        label += f'<br><span class="muted">{esc("; ".join(facts))}</span>'
    cells = [name, s.get("verdict") or "-", short(s.get("since")), None]
    cells += [value_text(s.get("score")), short(s.get("last_success")), health]
    html = [label if c is None else esc(c) for c in cells]
    return list(zip(SOURCE_HEADERS, html, strict=True))


def sources_table(data: Mapping[str, Any]) -> str:
    """Every source checked (or due) and each of its carriers, as ``report`` prints."""
    skipped = {item["source"] for item in data["not_checked"]}
    rows = []
    for name, s in data["sources"].items():
        if name in skipped:
            continue
        rows.append(row(_source_cells(name, s)))
        for c in s.get("carriers") or []:
            health = f"last check failed: {c['last_error']}" if c.get("last_error") else "ok"
            cells = [
                c["carrier"],
                c["verdict"] or "-",
                short(c["since"]),
                c["label"] if c["verdict"] == "flagged" else "-",
                value_text(c.get("score")),
                short(c["last_success"]),
                health,
            ]
            rows.append(row(zip(SOURCE_HEADERS, map(esc, cells), strict=True), "carrier"))
    return table(SOURCE_HEADERS, rows)


def event_text(e: Mapping[str, Any]) -> str:
    if e["kind"] != "verdict":
        return "alert: " + svg.alert_text(e)
    lane = svg.lane_name(e["source"], e["carrier"])
    label = f' "{e["label"]}"' if e["label"] else ""
    change = f"{e['old']} → {e['new']}" if e["old"] else f"first verdict: {e['new']}"
    return f"{lane} {change}{label}"


def timeline_table(data: Mapping[str, Any]) -> str:
    events = data["timeline"]
    shown = events[-TIMELINE_SHOWN:]
    rows = [row([("When (UTC)", esc(short(e["at"]))), ("What", esc(event_text(e)))]) for e in shown]
    note = ""
    if len(events) > len(shown):
        hidden = len(events) - len(shown)
        note = f'<p class="muted">{hidden} earlier changes not shown; --json has them all.</p>'
    return note + table(
        ["When (UTC)", "What"], rows or [row([("When (UTC)", "-"), ("What", "no changes yet")])]
    )


LABEL_HEADERS = ["#", "Start (UTC)", "End (UTC)", "Time to clear", "Where", "Relapse"]


def labels_table(life: Mapping[str, Any]) -> str:
    rows = []
    for i, lb in enumerate(life["labels"], 1):
        where = ", ".join(
            dict.fromkeys(svg.lane_name(s["source"], s["carrier"]) for s in lb["stretches"])
        )
        relapse = (
            f"yes, {span(lb['since_previous_clear_seconds'])} after the last clear"
            if lb["relapse"]
            else "no"
        )
        cells = [
            str(i),
            short(lb["start"]),
            short(lb["end"]) if lb["cleared"] else "not cleared yet",
            span(lb["seconds"]) + ("" if lb["cleared"] else " so far"),
            where,
            relapse,
        ]
        rows.append(row(zip(LABEL_HEADERS, map(esc, cells), strict=True)))
    return table(LABEL_HEADERS, rows) if rows else ""


def number_page(data: Mapping[str, Any], now: datetime) -> Iterable[str]:
    """The one-number page, in pieces."""
    life = data["lifecycle"]
    win = life["window"]
    share = f"{win['share_flagged']:.0%}" if win["share_flagged"] is not None else "-"
    first = life["time_to_first_label_seconds"]
    yield head(f"cidrep report: {title_of(data)}")
    yield f"<h1>{esc(title_of(data))}</h1>"
    yield f'<p class="muted">Caller-ID reputation, as of {esc(short(data["generated_at"]))} UTC</p>'
    yield '<section class="tiles" aria-label="summary">'
    yield tile(
        "verdict",
        data["verdict"] or "not checked",
        "worst verdict now",
        flag_texts(data),
        data["verdict"] or "",
    )
    yield tile(
        "labels",
        len(life["labels"]),
        "labels",
        ["the last one not cleared yet"] if life["open"] else [],
    )
    yield tile(
        "relapses",
        life["relapses"],
        "relapses",
        [f"labelled again within {life['relapse_days']} days"],
    )
    yield tile(
        "days_flagged",
        share,
        "of days flagged",
        [f"{win['days_flagged']} of {win['days_counted']} days"],
    )
    yield tile("first_label", span(first) if first is not None else "never", "to the first label")
    yield "</section>"
    yield legend()
    yield number_section(1, data, now)
    yield f"<h2>Sources and carriers</h2>{sources_table(data)}"
    if data["not_checked"]:
        names = ", ".join(f"{x['source']} ({x['reason']})" for x in data["not_checked"])
        yield f'<p class="muted">Not checked: {esc(names)}</p>'
    yield f"<h2>Lifecycle</h2><p>{esc(figures_text(life))}</p>{labels_table(life)}"
    yield f"<h2>Timeline</h2>{timeline_table(data)}"
    yield foot(data["generated_at"])
