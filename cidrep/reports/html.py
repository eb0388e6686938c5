"""``cidrep report --html FILE``: one self-contained page people can send on.

Two pages: one number (``write_number``: the ``build_report`` dict, its chart, every
source and carrier, the timeline, the lifecycle figures, what to do), or the fleet
(``write_fleet``: summary tiles, the numbers needing action first with their
dispute links, then a compact section with a chart per number).

The page works offline and trusts nothing it shows: inline CSS and SVG only (no
script, no external font, style or image; the only ``http(s)`` URLs are dispute
links, and only as ``<a href>``), and every text and attribute is escaped, since
labels, carriers and errors come from third parties.

The one-number page is ``cidrep.reports.html_number``. Writing streams
(``cidrep.reports.html_fleet``): a temporary file next to the
target is written number by number and renamed onto it only when complete, so a
failure leaves no partial file and memory stays flat however large the fleet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cidrep.phone import display
from cidrep.reports import svg
from cidrep.reports.svg import esc

BADGE = {"flagged": "⚑ flagged", "clean": "✓ clean", "unknown": "? unknown", "error": "✕ error"}

CSS = """
:root{--ink:#1b1b1b;--muted:#5a5a5a;--line:#d9dce1;--bg:#f5f6f8;--card:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1200px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .6rem}
h3{font-size:1.05rem;margin:0 0 .3rem;display:flex;flex-wrap:wrap;gap:.2rem .6rem;
align-items:baseline}
a{color:#0057a3}.muted,.meta{color:var(--muted)}p{margin:.3rem 0}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.tile{flex:1 1 160px;min-width:0;background:var(--card);border:1px solid var(--line);
border-radius:8px;padding:10px 14px;border-top:5px solid #999}
.tile .v{font-size:1.9rem;font-weight:700;line-height:1.1}
.tile .k{font-weight:600}.tile ul{margin:.3rem 0 0;padding-left:1.1rem;font-size:.9rem}
.tile.flagged{border-top-color:#D55E00}.tile.clean{border-top-color:#56B4E9}
.tile.failing{border-top-color:#CC79A7}.tile.stale{border-top-color:#888}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:12px 14px;margin:0 0 14px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{background:#eceef2;font-weight:600;white-space:nowrap}
td.n{white-space:nowrap}tr.carrier td:first-child{padding-left:1.6rem}
ul.links{margin:0;padding-left:1.1rem}
.badge{display:inline-block;border-radius:4px;padding:0 .45rem;font-size:.85rem;
font-weight:700;border:1px solid #333;white-space:nowrap}
.badge.flagged{background:#D55E00;color:#fff}.badge.clean{background:#d7ecf8}
.badge.unknown{background:#F0E442}.badge.error{background:#CC79A7}
.badge.none{background:#eee}.badge.warn{background:#fff;border-style:dashed}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:.4rem 0 .8rem;font-size:.9rem}
.legend span{display:inline-flex;align-items:center;gap:6px}
.chart{margin:.6rem 6px .4rem}
.chart svg.timeline{display:block;overflow:visible}
svg.defs{position:absolute;width:0;height:0;overflow:hidden}
.timeline text{font:13px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#222}
.timeline .lane-name.carrier{fill:#444}.timeline .tick{font-size:12px}
.timeline .bg{fill:#f0f1f3}.timeline .grid line{stroke:#dfe2e6}
.timeline .axis line{stroke:#555}.timeline .added{stroke:#333;stroke-dasharray:4 3}
.timeline .seg:hover{stroke:#000;stroke-width:1.5}
.timeline .flip{fill:#fff;stroke:#111;stroke-width:1.6}
.timeline .alert{fill:#E69F00;stroke:#111;stroke-width:1.2}
.timeline .alert.flagged{fill:#D55E00}
.timeline .alert.cleared{fill:#fff;stroke:#0072B2;stroke-width:2.5}
.timeline .in{font-size:12px;font-weight:600;pointer-events:none}
.timeline .in.flagged,.timeline .in.error{fill:#fff;paint-order:stroke;stroke:#3a1800;
stroke-width:3px;stroke-linejoin:round}
.timeline .empty{fill:var(--muted)}
@media (max-width:700px){
.timeline .tick.odd{display:none}
main{padding:10px}.tile{flex-basis:140px}.tile .v{font-size:1.6rem}
table.stack thead{display:none}
table.stack,table.stack tbody{display:block;width:100%}
table.stack tr{display:flex;flex-wrap:wrap;border:1px solid var(--line);border-radius:8px;
margin:0 0 10px;padding:4px 0;background:var(--card)}
table.stack td{display:block;flex:1 1 42%;min-width:0;border:0;padding:3px 10px;
overflow-wrap:anywhere}
table.stack td:first-child,table.stack td.wide{flex-basis:100%}
table.stack td::before{content:attr(data-th);display:block;font-size:.8rem;
color:var(--muted);font-weight:600}
}
@media print{.tile,.card{break-inside:avoid}}
"""


def short(ts: str | None) -> str:
    """``2026-08-15 09:00`` from a stored timestamp; ``-`` for none."""
    return ts.replace("T", " ")[:16] if ts else "-"


def span(seconds: int | None) -> str:
    """``3d 4h`` as ``report`` says it; ``-`` for none."""
    from cidrep.alerts.messages import span_text

    return "-" if seconds is None else span_text(seconds) if seconds >= 60 else "0m"


def value_text(value: Any) -> str:
    """Evidence as text people read: lists comma-joined, mappings ``key (value)``."""
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k} ({value_text(v)})" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


def link(url: str, text: str) -> str:
    """An ``<a>`` to an http(s) URL; any other scheme (``javascript:``) is shown as
    text, never made a link."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return f"{esc(text)} ({esc(url)})"
    return f'<a href="{esc(url)}" rel="noopener noreferrer">{esc(text)}</a>'


def defs() -> str:
    """The fills' patterns, once per page, in a zero-size SVG (``display:none``
    would switch the patterns off)."""
    return (
        '<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false">'
        "<defs>"
        '<pattern id="p-clean" width="8" height="8" patternUnits="userSpaceOnUse">'
        '<rect width="8" height="8" fill="#56B4E9"/></pattern>'
        '<pattern id="p-flagged" width="8" height="8" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="8" height="8" fill="#D55E00"/>'
        '<rect width="3" height="8" fill="#8F3A00"/></pattern>'
        '<pattern id="p-unknown" width="8" height="8" patternUnits="userSpaceOnUse">'
        '<rect width="8" height="8" fill="#F0E442"/><rect y="6" width="8" height="2"'
        ' fill="#9A8F00"/></pattern>'
        '<pattern id="p-error" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#CC79A7"/><path d="M0 0L6 6M6 0L0 6"'
        ' stroke="#3D1A2E" stroke-width="1.2"/></pattern>'
        '<pattern id="p-stale" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#DDDDDD"/><circle cx="3" cy="3" r="1.4"'
        ' fill="#555555"/></pattern>'
        "</defs></svg>"
    )


def swatch(kind: str) -> str:
    """A legend's sample of one fill."""
    return (
        f'<svg class="sw" viewBox="0 0 28 14" width="28" height="14" aria-hidden="true">'
        f'<rect width="28" height="14" fill="url(#p-{kind})" stroke="#333"/></svg>'
    )


def marker_swatch(kind: str) -> str:
    """A legend's sample of a marker: a verdict change, or an alert (flagged, cleared)."""
    shape = {
        "flip": '<path d="M7 1L13 7L7 13L1 7Z" fill="#fff" stroke="#111" stroke-width="1.6"/>',
        "flagged": '<circle cx="7" cy="7" r="5" fill="#D55E00" stroke="#111" stroke-width="1.2"/>',
        "cleared": '<circle cx="7" cy="7" r="4" fill="#FFF" stroke="#0072B2" stroke-width="2.5"/>',
    }[kind]
    size = 'viewBox="0 0 14 14" width="14" height="14"'
    return f'<svg class="sw" {size} aria-hidden="true">{shape}</svg>'


def head(title: str) -> str:
    """The page up to ``<main>``: its CSS and the chart fills' patterns, inline."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"{defs()}<main>"
    )


def foot(generated_at: str) -> str:
    """The closing note (when, in UTC) and the end of the page."""
    return (
        f'<p class="muted">Generated by cidrep at {esc(short(generated_at))} UTC. Times are UTC. '
        "Hover a bar or marker for its dates.</p></main></body></html>\n"
    )


def legend() -> str:
    """What the charts' fills and markers mean, with the same patterns and shapes."""
    names = {
        "clean": "clean",
        "flagged": "flagged (label)",
        "unknown": "unknown",
        "error": "checks failing",
        "stale": "stale (no recent success)",
    }
    items = [f"<span>{swatch(k)}{esc(v)}</span>" for k, v in names.items()]
    items.append(f"<span>{marker_swatch('flip')}verdict change</span>")
    items.append(f"<span>{marker_swatch('flagged')}alert: number flagged</span>")
    items.append(f"<span>{marker_swatch('cleared')}alert: cleared</span>")
    return f'<div class="legend" aria-label="legend">{"".join(items)}</div>'


def tile(key: str, value: Any, name: str, lines: Iterable[str] = (), kind: str = "") -> str:
    """A summary tile: a big value, its name, detail lines (``data-key`` for tests)."""
    sub = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return (
        f'<div class="tile {esc(kind)}" data-key="{esc(key)}"><div class="v">{esc(value)}</div>'
        f'<div class="k">{esc(name)}</div>{f"<ul>{sub}</ul>" if sub else ""}</div>'
    )


def badge(verdict: str | None) -> str:
    """A verdict as a word with a symbol (never colour alone)."""
    kind = verdict if verdict in BADGE else "none"
    return f'<span class="badge {kind}">{esc(BADGE.get(verdict or "", "not checked yet"))}</span>'


def flag_texts(data: Mapping[str, Any]) -> list[str]:
    """Where the number is flagged, with the label shown there:
    ``trustcall: T-Mobile "Scam Likely"``."""
    out = []
    for name, view in data["sources"].items():
        if view.get("verdict") != "flagged":
            continue
        lanes = [c for c in view.get("carriers") or [] if c["verdict"] == "flagged"]
        for c in lanes:
            out.append(f"{name}: {c['carrier']}" + (f' "{c["label"]}"' if c["label"] else ""))
        if not lanes:
            out.append(name + (f' "{view["label"]}"' if view.get("label") else ""))
    return out


def problems(data: Mapping[str, Any]) -> list[str]:
    """What needs attention besides flags: each failing or stale source."""
    out = []
    for name in data["failing"]:
        error = data["sources"].get(name, {}).get("last_error")
        out.append(f"{name} failing" + (f": {error}" if error else ""))
    out += [f"{name} stale (no success within its interval)" for name in data["stale"]]
    return out


def figures_text(life: Mapping[str, Any]) -> str:
    """The lifecycle figures on one line."""
    win = life["window"]
    if life["first_label"] is None:
        first = "never labelled in the history kept"
    elif life["first_label"] < life["added"]:
        first = "first label seen before it was added"
    else:
        first = f"first label {span(life['time_to_first_label_seconds'])} after being added"
    count = len(life["labels"])
    share = f" ({win['share_flagged']:.0%})" if win["share_flagged"] is not None else ""
    open_ = "; the last one not cleared yet" if life["open"] else ""
    return (
        f"{first}; {count} label{'' if count == 1 else 's'}, {life['relapses']} "
        f"relapse{'' if life['relapses'] == 1 else 's'}{open_}; flagged on "
        f"{win['days_flagged']} of {win['days_counted']} days{share} in the last {win['days']}"
    )


def todo_html(data: Mapping[str, Any]) -> str:
    """Where to ask for a review (dispute links), and the notes on failing sources."""
    todo = data["what_to_do"]
    out = []
    if todo["disputes"]:
        links = "".join(f"<li>{link(d['url'], d['name'])}</li>" for d in todo["disputes"])
        out.append(
            "<p><strong>What to do:</strong> check the label, slow outbound calls from it, "
            f'and ask for a review:</p><ul class="links disputes">{links}</ul>'
        )
    if todo["notes"]:
        notes = "".join(f"<li>{esc(n)}</li>" for n in todo["notes"])
        out.append(f'<ul class="links notes">{notes}</ul>')
    return "".join(out)


def title_of(data: Mapping[str, Any]) -> str:
    """``+1 202-555-0143 (Collections East)``: the number as people read it."""
    return display(data["number"]) + (f" ({data['label']})" if data["label"] else "")


def number_section(i: int, data: Mapping[str, Any], now: datetime) -> str:
    """One number's card: heading, where it is flagged or failing, its chart, its
    figures and what to do. ``id="n{i}"`` is what the action table links to."""
    meta = [f"account {data['account']}"]
    if data["tags"]:
        meta.append("tags " + ", ".join(data["tags"]))
    if data["paused"]:
        meta.append("paused")
    where = flag_texts(data)
    out = [
        f'<article class="card num" id="n{i}" data-number="{esc(data["number"])}">'
        f'<h3><span class="e164">{esc(display(data["number"]))}</span>'
        + (f'<span class="name">{esc(data["label"])}</span>' if data["label"] else "")
        + f'{badge(data["verdict"])}</h3><p class="meta">{esc(" · ".join(meta))}</p>'
    ]
    if where:
        out.append(f'<p class="why">flagged on {esc(", ".join(where))}</p>')
    trouble = problems(data)
    if trouble:
        out.append(
            f'<p class="why"><span class="badge warn">! check</span> {esc("; ".join(trouble))}</p>'
        )
    chart_title = f"Timeline of {title_of(data)}: {len(data['lanes'])} lanes"
    out.append(f'<div class="chart">{svg.chart(data, now, chart_title)}</div>')
    out.append(f'<p class="figs">{esc(figures_text(data["lifecycle"]))}</p>')
    out.append(todo_html(data))
    out.append("</article>")
    return "".join(out)


# -- tables ------------------------------------------------------------------------------


WIDE = {"Why", "What to do", "What", "Where", "Label / evidence"}  # a whole line when stacked


def cell(th: str, td: str) -> str:
    """A ``<td>`` (``td`` is HTML already) named by its column when stacked."""
    wide = ' class="wide"' if th in WIDE else ""
    return f'<td data-th="{esc(th)}"{wide}>{td}</td>'


def row(cells: Iterable[tuple[str, str]], cls: str = "") -> str:
    """A table row from (column, HTML) pairs."""
    tds = "".join(cell(th, td) for th, td in cells)
    return f'<tr class="{cls}">{tds}</tr>' if cls else f"<tr>{tds}</tr>"


def table(headers: list[str], rows: list[str], cls: str = "stack") -> str:
    """A table that scrolls sideways if it must, and stacks into cards on a phone."""
    ths = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return (
        f'<div class="scroll"><table class="{cls}"><thead><tr>{ths}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
