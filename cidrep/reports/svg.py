"""A number's timeline as inline SVG: one swimlane per source (and carrier) over time.

Drawn from the report dict of ``cidrep.reports.number.build_report`` (its ``lanes``,
``timeline``, ``sources`` and ``added``), so the chart shows exactly what
``report NUMBER --json`` says:

- each verdict interval is a bar the full height of its lane, filled by verdict:
  clean, flagged, unknown (the lane is blank before its first verdict);
- each error stretch (failed checks until the next success) is a hatched band over
  the lower half of its lane: an error never changes a verdict, so it is drawn
  over the verdict it left standing;
- a lane whose source is stale (no success within its interval) gets a dotted band
  from its last success until now: its verdict there is not current;
- a diamond marks each verdict change of a lane (the timeline's ``verdict``
  events after the first), a circle on the "alerts" row each alert about the
  number (flagged, cleared, reminder, flapping, ...; a source's ``confirmed``
  change is already its lane's diamond).

Colour is never the only cue: every fill is a colour of the Okabe-Ito palette (safe
for the common colour-vision deficiencies) with its own pattern (``html.defs``), bars wide enough
carry their label, and every shape has a hover ``<title>``. All text is escaped:
labels, carriers and errors come from third parties.

The chart is ``width="100%"`` with a fixed height, and every x is a percentage of
that width (a ``viewBox`` would shrink the text to 4 px on a phone): the bars
stretch to any width while the text keeps its size, each lane's name sits above its
bar so it never competes with it for width, and a bar's label is clipped to the bar
by a nested ``<svg>``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from cidrep.timeutil import parse_iso

NAME = 17  # px: the lane's name, above its bar
BAR = 22  # px: the bar
LANE = NAME + BAR + 6  # px: a lane with the gap below it
TOP = 8
ALERT_ROW = NAME + 18  # px: the alerts row, its name above
AXIS = 28
MIN_BAR = 0.2  # percent: a flag one hour long in a year still shows
LABEL_MIN = 2.5  # percent: narrower bars carry no label (their title has it)

# a bar's fill is the page's pattern ``p-<verdict>`` (``cidrep.reports.html.defs``)
VERDICTS = ("clean", "flagged", "unknown")

STEPS: tuple[tuple[timedelta, str], ...] = (
    (timedelta(hours=1), "hour"),
    (timedelta(hours=3), "hour"),
    (timedelta(hours=6), "hour"),
    (timedelta(hours=12), "hour"),
    (timedelta(days=1), "day"),
    (timedelta(days=2), "day"),
    (timedelta(days=7), "week"),
    (timedelta(days=14), "week"),
    (timedelta(days=31), "month"),
    (timedelta(days=92), "quarter"),
    (timedelta(days=366), "year"),
)
MAX_TICKS = 8


def esc(value: Any) -> str:
    """Text or an attribute value, escaped (quotes included)."""
    return _escaped("" if value is None else str(value))


@functools.lru_cache(maxsize=4096)
def _escaped(text: str) -> str:
    """Labels, lane names and errors repeat across a fleet: escape each once."""
    return escape(text, quote=True)


def short(ts: datetime) -> str:
    """``2026-08-15 09:00`` (an f-string: ``strftime`` is slow for a fleet's charts)."""
    return f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d} {ts.hour:02d}:{ts.minute:02d}"


def _when(value: str | datetime | None) -> datetime | None:
    """A time of the report dict: ISO text (``build_report``) or already a datetime
    (``cidrep.reports.html_fleet``, which skips the round trip through text)."""
    if value is None or isinstance(value, datetime):
        return value
    return parse_iso(value)


def _at(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else parse_iso(value)


def lane_name(source: str, carrier: str | None) -> str:
    return f"{source}: {carrier}" if carrier else source


class Scale:
    """Time to x as a percentage of the chart's width (pure): ``start`` at 0%,
    ``end`` at 100%. Percentages, not a viewBox, so text keeps its size on a
    phone and the bars stretch to any width."""

    def __init__(self, start: datetime, end: datetime) -> None:
        if end - start < timedelta(hours=1):
            start = end - timedelta(hours=1)
        self.start, self.end = start, end
        self.t0 = start.timestamp()
        self.k = 100 / (end - start).total_seconds()

    def x(self, at: datetime) -> float:
        return round(min(max((at.timestamp() - self.t0) * self.k, 0.0), 100.0), 3)


def chart_range(data: Mapping[str, Any], now: datetime) -> tuple[datetime, datetime]:
    """From the number's first known moment (added, first verdict, error or event) to now."""
    starts = [_when(data.get("added"))]
    for lane in data["lanes"]:
        starts += [_when(i["start"]) for i in lane["intervals"][:1]]
        starts += [_when(e["start"]) for e in lane["errors"][:1]]
    starts += [_when(e["at"]) for e in data["timeline"][:1]]
    found = [s for s in starts if s is not None]
    return (min(found) if found else now - timedelta(days=1)), now


def ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Axis ticks on round times, at most ``MAX_TICKS``, labelled by date (pure)."""
    span = end - start
    step, unit = next(((s, u) for s, u in STEPS if span / s <= MAX_TICKS), STEPS[-1])
    if span / step > MAX_TICKS:  # decades: a tick every few years
        years = int(span / timedelta(days=365) / MAX_TICKS) + 1
        return [(t, t.strftime("%Y")) for t in _years(start, end, years)]
    if unit in ("month", "quarter", "year"):
        months = {"month": 1, "quarter": 3, "year": 12}[unit]
        found = _months(start, end, months)
        fmt = "%Y" if unit == "year" else "%b %Y"
        return [(t, t.strftime(fmt)) for t in found]
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if unit != "hour":
        first = first.replace(hour=0)
    if unit == "week":
        first -= timedelta(days=first.weekday())  # Mondays
    out = []
    t = first
    while t <= end:
        if t >= start:
            out.append((t, t.strftime("%m-%d %H:%M" if unit == "hour" else "%Y-%m-%d")))
        t += step
    return out


def _months(start: datetime, end: datetime, every: int) -> list[datetime]:
    out = []
    year, month = start.year, start.month
    month = ((month - 1) // every) * every + 1
    while True:
        t = datetime(year, month, 1, tzinfo=UTC)
        if t > end:
            return out
        if t >= start:
            out.append(t)
        month += every
        if month > 12:
            year, month = year + 1, month - 12


def _years(start: datetime, end: datetime, every: int) -> list[datetime]:
    year = start.year - start.year % every
    out = []
    while (t := datetime(year, 1, 1, tzinfo=UTC)) <= end:
        if t >= start:
            out.append(t)
        year += every
    return out


def stale_since(data: Mapping[str, Any]) -> dict[tuple[str, str | None], datetime | None]:
    """Lanes whose source is stale, with the last success their band starts at."""
    found: dict[tuple[str, str | None], datetime | None] = {}
    for name, view in data["sources"].items():
        if view.get("health") != "stale":
            continue
        found[(name, None)] = _when(view.get("last_success"))
        for lane in view.get("carriers") or []:
            found[(name, lane["carrier"])] = _when(lane.get("last_success"))
    return found


def chart(data: Mapping[str, Any], now: datetime, title: str) -> str:
    """The SVG of one number's lanes (see the module docstring)."""
    scale = Scale(*chart_range(data, now))
    lanes = data["lanes"]
    flips = [e for e in data["timeline"] if e["kind"] == "verdict" and e["old"] is not None]
    alerts = [e for e in data["timeline"] if e["kind"] not in ("verdict", "confirmed")]
    y = TOP + (ALERT_ROW if alerts else 0)
    height = y + max(len(lanes), 1) * LANE + AXIS
    out = [
        f'<svg class="timeline" width="100%" height="{height}" role="img"'
        f' aria-label="{esc(title)}" data-lanes="{len(lanes)}"><title>{esc(title)}</title>'
    ]
    bottom = height - AXIS
    marks = ticks(scale.start, scale.end)
    out += _grid(scale, marks, TOP, bottom)
    if alerts:
        out.append(_alerts(scale, alerts, TOP))
    if not lanes:
        out.append(
            f'<text class="empty" x="0" y="{y + 24}">no checks recorded yet for this number</text>'
        )
    stale = stale_since(data)
    by_lane: dict[tuple[str | None, str | None], list[Mapping[str, Any]]] = {}
    for event in flips:
        by_lane.setdefault((event["source"], event["carrier"]), []).append(event)
    for lane in lanes:
        key = (lane["source"], lane["carrier"])
        since = (stale[key] or scale.start) if key in stale else None
        out.append(_lane(scale, lane, y, since, by_lane.get(key, [])))
        y += LANE
    out += _axis(scale, marks, bottom, data)
    out.append("</svg>")
    return "".join(out)


def _grid(scale: Scale, marks: list[tuple[datetime, str]], top: float, bottom: float) -> list[str]:
    out = ['<g class="grid">']
    for at, _ in marks:
        x = scale.x(at)
        out.append(f'<line x1="{x}%" y1="{top}" x2="{x}%" y2="{bottom}"/>')
    out.append("</g>")
    return out


def _axis(
    scale: Scale, marks: list[tuple[datetime, str]], y: float, data: Mapping[str, Any]
) -> list[str]:
    """The time axis: a tick and a date per round time (every other date hidden on
    narrow screens by the page's CSS: class ``odd``), and a dashed line where the
    number was added."""
    out = [f'<g class="axis"><line x1="0" y1="{y}" x2="100%" y2="{y}"/>']
    for i, (at, text) in enumerate(marks):
        x = scale.x(at)
        anchor = "start" if x < 4 else "end" if x > 96 else "middle"
        odd = " odd" if i % 2 else ""
        out.append(
            f'<line x1="{x}%" y1="{y}" x2="{x}%" y2="{y + 5}"/>'
            f'<text class="tick{odd}" x="{x}%" y="{y + 19}" text-anchor="{anchor}">'
            f"{esc(text)}</text>"
        )
    added = _when(data.get("added"))
    if added is not None and added > scale.start:
        x = scale.x(added)
        out.append(
            f'<line class="added" x1="{x}%" y1="{TOP}" x2="{x}%" y2="{y}">'
            f"<title>added {esc(short(added))} UTC</title></line>"
        )
    out.append("</g>")
    return out


def _alerts(scale: Scale, events: Iterable[Mapping[str, Any]], top: float) -> str:
    """The number's alerts (flagged, cleared, reminder, flapping, ...) as circles; a
    source's ``confirmed`` change is already a lane's diamond."""
    cy = top + NAME + 7
    out = [f'<g class="alerts"><text class="lane-name" x="0" y="{top + NAME - 5}">alerts</text>']
    for e in events:
        x = scale.x(_at(e["at"]))
        out.append(
            f'<circle class="alert {esc(e["kind"])}" cx="{x}%" cy="{cy}" r="5">'
            f"<title>{short(_at(e['at']))} UTC: {esc(alert_text(e))}</title></circle>"
        )
    out.append("</g>")
    return "".join(out)


def alert_text(e: Mapping[str, Any]) -> str:
    """An alert event in a few words."""
    kind, source = e["kind"], e.get("source")
    if kind == "confirmed":
        text = f"{source} counted as {e.get('new') or 'no verdict'}"
    elif kind in ("flagged", "cleared"):
        text = f"number {kind}"
    elif kind == "reminder":
        text = "reminder: still flagged"
    elif kind == "flapping":
        text = "number flapping (alerts held until it is stable)"
    elif kind == "changed":
        text = f"{source or 'a source'} reported changed evidence"
    else:
        text = f"{kind}" + (f" ({source})" if source else "")
    return text + (f" (held: {e['held']})" if e.get("held") else "")


def _bar(scale: Scale, start: datetime, end: datetime) -> tuple[float, float]:
    """x and width (percent) of a bar from ``start`` to ``end``, at least ``MIN_BAR``."""
    t0, k = scale.t0, scale.k
    x0 = min(max((start.timestamp() - t0) * k, 0.0), 100.0)
    x1 = min(max((end.timestamp() - t0) * k, 0.0), 100.0)
    if x1 - x0 < MIN_BAR:
        x0 = min(x0, 100 - MIN_BAR)
        x1 = x0 + MIN_BAR
    return round(x0, 3), round(x1 - x0, 3)


def _lane(
    scale: Scale,
    lane: Mapping[str, Any],
    y: float,
    stale: datetime | None,
    flips: list[Mapping[str, Any]],
) -> str:
    """A lane: its name above, then a bar per verdict interval (labelled when wide
    enough: the label is clipped to its bar by a nested ``svg``), error and stale
    bands over the lower half, and a diamond per verdict change."""
    name = esc(lane_name(lane["source"], lane["carrier"]))
    top = y + NAME
    out = [
        f'<g class="lane" data-lane="{name}">'
        f'<text class="lane-name{" carrier" if lane["carrier"] else ""}" x="0" y="{y + NAME - 5}">'
        f"{name}</text>"
        f'<rect class="bg" x="0" y="{top}" width="100%" height="{BAR}"/>'
    ]
    labels: list[str] = []
    for item in lane["intervals"]:
        start, end = _at(item["start"]), _when(item["end"]) or scale.end
        x, w = _bar(scale, start, end)
        verdict = item["verdict"] if item["verdict"] in VERDICTS else "unknown"
        label = item["label"] if verdict == "flagged" else None
        what = verdict + (f' "{esc(label)}"' if label else "")
        what += " (its carriers&#x27; flags)" if item["via_carriers"] else ""
        until = f"{short(end)} UTC" if item["end"] else "now"
        out.append(
            f'<rect class="seg {verdict}" x="{x}%" y="{top}" width="{w}%" height="{BAR}"'
            f' fill="url(#p-{verdict})"><title>{name}: {what}, {short(start)}'
            f" UTC to {until}</title></rect>"
        )
        text = label or (verdict if verdict != "clean" else "")
        if text and w >= LABEL_MIN:
            labels.append(
                f'<svg x="{x}%" y="{top}" width="{w}%" height="{BAR}">'
                f'<text class="in {verdict}" x="4" y="{BAR / 2 + 4.5}">{esc(text)}</text></svg>'
            )
    for item in lane["errors"]:
        start, end = _at(item["start"]), _when(item["end"]) or scale.end
        x, w = _bar(scale, start, end)
        until = f"{short(end)} UTC" if item["end"] else "now (still failing)"
        out.append(
            f'<rect class="seg error" x="{x}%" y="{top + BAR / 2}" width="{w}%"'
            f' height="{BAR / 2}" fill="url(#p-error)"><title>{name}: checks failing,'
            f" {short(start)} UTC to {until}: {esc(item['error'] or 'no detail')}"
            "</title></rect>"
        )
    if stale is not None:
        start = max(stale, scale.start)
        x, w = _bar(scale, start, scale.end)
        out.append(
            f'<rect class="seg stale" x="{x}%" y="{top + BAR / 2}" width="{w}%"'
            f' height="{BAR / 2}" fill="url(#p-stale)"><title>{name}: stale, no success'
            f" since {short(start)} UTC: its verdict is not current</title></rect>"
        )
    out += labels  # over the bands, so a label stays readable
    for e in flips:
        at = _at(e["at"])
        label = f' "{e["label"]}"' if e.get("label") else ""
        change = esc(f"{e['old']} to {e['new']}{label}")
        out.append(
            f'<svg x="{scale.x(at)}%" y="{top}" overflow="visible">'
            f'<path class="flip" d="M0 -5L6 1L0 7L-6 1Z"><title>{short(at)} UTC: {name}'
            f" {change}</title></path></svg>"
        )
    out.append("</g>")
    return "".join(out)
