"""Writing the HTML pages (``cidrep.reports.html``) without holding them in memory.

- ``target``: a ``0600`` temporary file next to the destination, renamed onto it
  only when the page is complete; any failure removes it, so there is never a
  partial page (the file holds phone numbers: private, like ``privacy export``).
- ``fleet_entries``: one report dict per number, streamed: the fleet's current
  state a page of 1000 numbers at a time (``cidrep.reports.current.fleet``), then
  per number its history and flips by index (``cidrep.store.reporting``), built
  into lanes, timeline and figures as ``build_report`` does.
- ``write_fleet``: one pass over the entries. Each number's card goes straight to
  an anonymous scratch file and its action-table row (if it needs action) to a
  spooled one; the summary tiles are counted on the way. At the end the page is
  assembled in order (tiles, action table, cards) by copying those files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlite_utils import Database

from cidrep.errors import CidrepError
from cidrep.phone import display
from cidrep.reports import html, html_number, lifecycle, timeline
from cidrep.reports.current import fleet
from cidrep.reports.fleet import Tally
from cidrep.reports.number import what_to_do
from cidrep.reports.svg import esc
from cidrep.store import reporting
from cidrep.timeutil import iso

SPOOL = 1 << 20  # action rows stay in memory up to 1 MB, then spill to disk
CHUNK = 1 << 18  # characters copied at a time when the page is assembled
ACTION_HEADERS = ["Number", "Label", "Account", "Why", "Since (UTC)", "What to do"]


@contextlib.contextmanager
def target(path: Path) -> Iterator[IO[str]]:
    """A text file that becomes ``path`` only when the ``with`` block completes."""
    path = path.expanduser()
    where = f"cannot write the HTML report to {path}"
    if path.is_dir():
        raise CidrepError(f"{where}: it is a directory")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise CidrepError(f"{where}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CidrepError(f"{where}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_number(path: Path, data: Mapping[str, Any], now: datetime) -> None:
    """The one-number page (``data``: ``build_report``'s dict)."""
    with target(path) as out:
        for piece in html_number.number_page(data, now):
            out.write(piece)


def fleet_entries(
    db: Database,
    intervals: Callable[[str], timedelta | None],
    now: datetime,
    carrier_map: Any,
    relapse_days: int,
    window_days: int = 90,
    account_id: int | None = None,
    tag: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Per number in the scope, the keys of ``build_report`` that the page shows."""
    for item in fleet(db, intervals, now, account_id, tag):
        key = reporting.number_key(db, item["number"], item["account"])
        rows = reporting.history_rows(db, key["id"]) if key else []
        flips = reporting.number_flips(db, key["id"]) if key else []
        found, errors = timeline.build_lanes(rows)
        added = timeline.when(key["created_at"] if key else None)
        added = added or min((i.start for i in found), default=now)
        figures = lifecycle.figures(found, added, now, window_days, relapse_days)
        item.update(
            generated_at=iso(now),
            added=added,
            timeline=[_event(e) for e in timeline.timeline(found, flips)],
            lanes=lane_views(found, errors),
            lifecycle=figures_view(figures),
            what_to_do=what_to_do(item, carrier_map),
        )
        yield item


def figures_view(figures: lifecycle.Figures) -> dict[str, Any]:
    """The keys of ``number.lifecycle_view`` that the fleet page reads (its figures
    line and the action table's "since"), without each label's stretches."""
    win = figures.window
    first = figures.to_first_label
    return {
        "added": iso(figures.added),
        "first_label": iso(figures.first_label) if figures.first_label else None,
        "time_to_first_label_seconds": int(first.total_seconds()) if first is not None else None,
        "relapses": figures.relapses,
        "open": figures.open,
        "labels": [{"start": iso(label.start)} for label in figures.labels],
        "window": {
            "days": win.days,
            "days_counted": win.counted,
            "days_flagged": win.flagged,
            "share_flagged": win.share,
        },
    }


def lane_views(
    intervals: list[timeline.Interval], errors: list[timeline.ErrorStretch]
) -> list[dict[str, Any]]:
    """``number.lanes_view`` with the times left as datetimes: the chart reads both,
    and a fleet's worth of ISO text written only to be parsed again costs seconds."""
    lanes: dict[timeline.LaneKey, dict[str, Any]] = {}
    for item in intervals:
        lane = lanes.setdefault(item.lane, _lane(item.source, item.carrier))
        lane["intervals"].append(
            {
                "verdict": item.verdict,
                "start": item.start,
                "end": item.end,
                "label": item.label,
                "via_carriers": item.via_carriers,
            }
        )
    for failed in errors:
        lane = lanes.setdefault(
            (failed.source, failed.carrier), _lane(failed.source, failed.carrier)
        )
        lane["errors"].append({"start": failed.start, "end": failed.end, "error": failed.error})
    return [lanes[k] for k in sorted(lanes, key=lambda k: (k[0], k[1] is not None, k[1] or ""))]


def _lane(source: str, carrier: str | None) -> dict[str, Any]:
    return {"source": source, "carrier": carrier, "intervals": [], "errors": []}


def _event(e: timeline.Event) -> dict[str, Any]:
    """``number.event_view``, the time left as a datetime."""
    return {
        "at": e.at,
        "kind": e.kind,
        "source": e.source,
        "carrier": e.carrier,
        "old": e.old,
        "new": e.new,
        "label": e.label,
        "held": e.held,
    }


def action_row(i: int, data: Mapping[str, Any]) -> str:
    """The action table's row of a number that is flagged, failing or stale."""
    why = [f"flagged on {w}" for w in html.flag_texts(data)] + html.problems(data)
    life = data["lifecycle"]
    if data["verdict"] == "flagged":  # since the open label began
        since = html.short(life["labels"][-1]["start"]) if life["open"] else "-"
    else:
        bad = [data["sources"][n].get("last_success") for n in (*data["failing"], *data["stale"])]
        known = [b for b in bad if b]
        since = f"last success {html.short(min(known))}" if known else "never succeeded"
    todo = data["what_to_do"]
    links = [html.link(d["url"], d["name"]) for d in todo["disputes"]]
    links += [esc(n) for n in todo["notes"]]
    cells = [
        f'<a href="#n{i}">{esc(display(data["number"]))}</a> {html.badge(data["verdict"])}',
        esc(data["label"] or "-"),
        esc(data["account"]),
        "<br>".join(esc(w) for w in why),
        esc(since),
        '<ul class="links">' + "".join(f"<li>{x}</li>" for x in links) + "</ul>",
    ]
    tds = "".join(html.cell(h, c) for h, c in zip(ACTION_HEADERS, cells, strict=True))
    kind = "flagged" if data["verdict"] == "flagged" else "failing"
    return f'<tr class="act {kind}">{tds}</tr>'


def fleet_tiles(t: Tally) -> str:
    d = t.as_dict()
    v = d["verdicts"]
    share = f"{v['flagged'] / d['numbers']:.0%} of numbers" if d["numbers"] else "no numbers"

    def ranked(counts: Mapping[str, int], limit: int = 6) -> list[str]:
        lines = [f"{name}: {n} number{'' if n == 1 else 's'}" for name, n in counts.items()]
        more = len(lines) - limit
        return lines[:limit] + ([f"and {more} more"] if more > 0 else [])

    numbers = [f"{d['paused']} paused"] if d["paused"] else []
    numbers += [f"{v['unchecked']} not checked yet"] if v["unchecked"] else []
    clean = [f"{v[k]} {k}" for k in ("unknown", "error") if v[k]]
    return "".join(
        [
            '<section class="tiles" aria-label="summary">',
            html.tile("numbers", d["numbers"], "numbers", numbers),
            html.tile("flagged", v["flagged"], "flagged", [share], "flagged"),
            html.tile(
                "flagged_on",
                len(d["flagged_on"]),
                "sources/carriers flagging",
                ranked(d["flagged_on"]) or ["none"],
                "flagged",
            ),
            html.tile(
                "failing",
                len(d["failing"]),
                "sources failing",
                ranked(d["failing"]) or ["none"],
                "failing",
            ),
            html.tile(
                "stale", len(d["stale"]), "sources stale", ranked(d["stale"]) or ["none"], "stale"
            ),
            html.tile("clean", v["clean"], "clean", clean, "clean"),
            "</section>",
        ]
    )


def write_fleet(
    path: Path,
    entries: Iterable[dict[str, Any]],
    now: datetime,
    scope: str,
    not_checked: Mapping[str, str],
) -> Tally:
    """The fleet page (see the module docstring); returns what it counted."""
    tally = Tally()
    with target(path) as out:
        folder = path.expanduser().parent if str(path.expanduser().parent) else Path(".")
        with (
            tempfile.TemporaryFile("w+", encoding="utf-8", dir=folder) as cards,
            tempfile.SpooledTemporaryFile(SPOOL, "w+", encoding="utf-8", dir=folder) as flagged,
            tempfile.SpooledTemporaryFile(SPOOL, "w+", encoding="utf-8", dir=folder) as failing,
        ):
            acts = 0
            for i, data in enumerate(entries, 1):
                tally.add(data)
                if data["verdict"] == "flagged":
                    flagged.write(action_row(i, data))
                    acts += 1
                elif data["failing"] or data["stale"]:
                    failing.write(action_row(i, data))
                    acts += 1
                cards.write(html.number_section(i, data, now))
            out.write(html.head("cidrep fleet report"))
            out.write(
                f'<h1>Caller-ID reputation: the fleet</h1><p class="muted">{esc(scope)} · '
                f"as of {esc(html.short(iso(now)))} UTC</p>"
            )
            out.write(fleet_tiles(tally))
            if not_checked:
                names = ", ".join(f"{k} ({v})" for k, v in not_checked.items())
                out.write(f'<p class="muted">Not checked: {esc(names)}</p>')
            out.write(f'<h2 id="action">Needs action ({acts})</h2>')
            if acts:
                ths = "".join(f"<th>{esc(h)}</th>" for h in ACTION_HEADERS)
                out.write(
                    '<p class="muted">Flagged numbers first, then numbers with a failing or '
                    "stale source.</p>"
                    f'<div class="scroll"><table class="stack action"><thead><tr>{ths}</tr>'
                    "</thead><tbody>"
                )
                for part in (flagged, failing):
                    part.seek(0)
                    shutil.copyfileobj(part, out, CHUNK)
                out.write("</tbody></table></div>")
            else:
                out.write("<p>Nothing flagged, failing or stale.</p>")
            out.write(f"<h2>Timelines ({tally.numbers})</h2>{html.legend()}")
            if not tally.numbers:
                out.write("<p>No numbers in this scope.</p>")
            cards.seek(0)
            shutil.copyfileobj(cards, out, CHUNK)
            out.write(html.foot(iso(now)))
    return tally
