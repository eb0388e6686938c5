"""The fleet at a glance (``status``): one line per number, filters, sort, summary.

A *line* is a number's current word, the same top-level fields as
``cidrep.reports.current.number_item`` (verdict, verdict_sources, flagged_on,
failing, stale, as_of) plus ``since``: when its current verdict began. Lines come
from ``cidrep.store.fleet`` in the order asked for, a page at a time, so filtering
and the summary hold one page whatever the fleet's size.

With ``source`` set, a line is built from that source's state alone: its verdict,
failing and stale are that source's. The rules are those of ``report``
(``cidrep.health.health``/``summarize`` and ``current.flagged_on``), never
restated here.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from cidrep.health import health, stale_before, summarize
from cidrep.history import SourceState
from cidrep.reports.current import flagged_on, number_item
from cidrep.store import fleet as fleet_store
from cidrep.store.fleet import FleetQuery

Intervals = Callable[[str], timedelta | None]
SORTS = ("verdict", "since", "number", "label")
VERDICTS = fleet_store.VERDICT_FILTERS  # flagged, error, unknown, clean, unchecked
# --sort verdict: what needs action first
RANK = {"flagged": 0, "error": 1, "unknown": 2, "clean": 3, None: 4}
# SQLite's NOCASE folds ASCII letters only; so does the label order here
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Filters:
    """What ``status`` was asked to show (``verdict`` "unchecked": never checked)."""

    account: str | None = None
    tag: str | None = None
    source: str | None = None
    verdict: str | None = None
    failing: bool = False
    sort: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def matches(line: Mapping[str, Any], f: Filters) -> bool:
    """Whether a line passes the verdict and failing filters (pure).

    ===================  ===============================================
    filter               passes when
    ===================  ===============================================
    none                 always
    verdict X            the line's verdict is X
    verdict unchecked    the line has no verdict (no source checked it)
    failing              a source is failing or stale for the number
    both                 both hold
    ===================  ===============================================

    Account, tag and source choose which numbers and states a line is built from
    (in SQL), so they are not re-checked here.
    """
    if f.verdict is not None and (line["verdict"] or "unchecked") != f.verdict:
        return False
    return not (f.failing and not (line["failing"] or line["stale"]))


def sort_key(line: Mapping[str, Any], sort: str | None) -> tuple[Any, ...]:
    """The order of ``--sort`` (pure; the SQL in ``store.fleet`` follows it).

    ===========  ====================================================================
    sort         order
    ===========  ====================================================================
    (none)       account, then number
    number       number, then account
    label        labelled first, label (ASCII case ignored, as SQLite NOCASE), then number
    verdict      flagged, error, unknown, clean, not checked; then number, account
    since        oldest ``since`` first, lines without one last; then number, account
    ===========  ====================================================================
    """
    tail = (line["number"], line["account"])
    if sort == "number":
        return tail
    if sort == "label":
        label = line["label"] or ""
        return (not label, label.translate(_ASCII_LOWER), label, *tail)
    if sort == "verdict":
        return (RANK[line["verdict"]], *tail)
    if sort == "since":
        return (line["since"] is None, line["since"] or "", *tail)
    return (line["account"], line["number"])


def since_of(
    verdict: str | None, states: Mapping[str, tuple[str | None, str | None]]
) -> str | None:
    """When the number's current verdict began: the earliest ``since`` among the
    sources holding that verdict (source -> (verdict, since)); None when it has no
    real verdict (never checked, or only failures)."""
    sinces = [s for v, s in states.values() if verdict and v == verdict and s]
    return min(sinces) if sinces else None


def lean_line(
    number: Mapping[str, Any],
    states: list[fleet_store.StateRow],
    lanes: Mapping[str, list[str]],
    intervals: Intervals,
    now: datetime,
) -> dict[str, Any]:
    """A fleet line from the lean state rows (no history, no evidence): the table,
    CSV and Markdown need nothing more, and it is several times cheaper than
    ``number_item``."""
    judged = {}
    for source, verdict, since, last_success, last_failure in states:
        state = SourceState(
            verdict=verdict, since=since, last_success=last_success, last_failure=last_failure
        )
        judged[source] = (state, health(state, intervals(source), now))
    summary = summarize(judged)
    views = {
        src: {
            "verdict": s.verdict,
            "carriers": [{"carrier": c, "verdict": "flagged"} for c in lanes.get(src, ())],
        }
        for src, (s, _) in judged.items()
    }
    tags = number["tags"]
    return {
        "number": number["e164"],
        "account": number["account"],
        "label": number["label"],
        "tags": json.loads(tags) if isinstance(tags, str) else list(tags),
        "paused": number["paused_at"] is not None,
        "verdict": summary.verdict,
        "since": since_of(
            summary.verdict, {k: (s.verdict, s.since) for k, (s, _) in judged.items()}
        ),
        "verdict_sources": summary.sources,
        "flagged_on": flagged_on(views),
        "failing": summary.failing,
        "stale": summary.stale,
        "as_of": summary.as_of,
    }


def query_for(
    f: Filters,
    account_id: int | None,
    sources: Mapping[str, timedelta | None],
    now: datetime,
) -> FleetQuery:
    """The SQL side of the filters; ``sources`` maps the known sources to their
    intervals (None: recorded, never stale); any other source counts as daily."""
    return FleetQuery(
        account_id=account_id,
        tag=f.tag,
        source=f.source,
        verdict=f.verdict,
        failing=f.failing,
        order=f.sort or "account",
        stale_before={
            name: stale_before(interval, now) if interval is not None else None
            for name, interval in sources.items()
        },
        default_stale_before=stale_before(timedelta(hours=24), now),
    )


def lines(
    db: Database,
    q: FleetQuery,
    f: Filters,
    intervals: Intervals,
    now: datetime,
    full: bool = False,
    page: int = 1000,
) -> Generator[dict[str, Any], None, None]:
    """Stream the lines matching the filters, in the query's order.

    ``full`` lines are whole ``number_item``s (every source's view, carriers and
    evidence: what ``--json`` prints) with ``since`` added.
    """
    from cidrep.store import carrier_state as carrier_store
    from cidrep.store import state as state_store

    for numbers in fleet_store.iter_numbers(db, q, page):
        ids = [n["id"] for n in numbers]
        if full:
            states = state_store.states_for(db, ids)
            carriers = carrier_store.carriers_for(db, ids)
            for number in numbers:
                rows = states.get(number["id"], {})
                lanes = carriers.get(number["id"], {})
                if f.source:
                    rows = {k: v for k, v in rows.items() if k == f.source}
                    lanes = {k: v for k, v in lanes.items() if k == f.source}
                item = number_item(number, rows, intervals, now, carriers=lanes)
                views = {k: (v["verdict"], v["since"]) for k, v in item["sources"].items()}
                item["since"] = since_of(item["verdict"], views)
                if matches(item, f):
                    yield item
            continue
        lean = fleet_store.lean_states(db, ids, f.source)
        flagged = fleet_store.flagged_carriers(db, ids, f.source)
        for number in numbers:
            nid = number["id"]
            line = lean_line(number, lean.get(nid, []), flagged.get(nid, {}), intervals, now)
            if matches(line, f):
                yield line


@dataclass
class Tally:
    """The summary, counted as lines stream by (one counter per name, never a list
    of numbers)."""

    numbers: int = 0
    paused: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    flagged_on: Counter[str] = field(default_factory=Counter)
    failing: Counter[str] = field(default_factory=Counter)
    stale: Counter[str] = field(default_factory=Counter)

    def add(self, line: Mapping[str, Any]) -> None:
        self.numbers += 1
        self.paused += bool(line["paused"])
        self.verdicts[line["verdict"] or "unchecked"] += 1
        self.flagged_on.update(line["flagged_on"])
        self.failing.update(line["failing"])
        self.stale.update(line["stale"])

    def as_dict(self) -> dict[str, Any]:
        def ranked(c: Counter[str]) -> dict[str, int]:
            return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

        return {
            "numbers": self.numbers,
            "verdicts": {v: self.verdicts.get(v, 0) for v in VERDICTS},
            "paused": self.paused,
            "flagged_on": ranked(self.flagged_on),
            "failing": ranked(self.failing),
            "stale": ranked(self.stale),
        }


def summary_clauses(t: Tally) -> list[list[str]]:
    """The summary as clauses of unbreakable pieces (pure); see ``summary_text``.

    ``12 numbers: 3 flagged (on ftc 2, trustcall: T-Mobile 1), 1 error, 7 clean,
    1 not checked; failing: fcc 4; stale: none`` -- flagged, clean and not checked
    always, error and unknown when there are any; per source or carrier, how many
    numbers; the most first.
    """
    d = t.as_dict()
    v = d["verdicts"]
    flagged = f"{v['flagged']} flagged"
    where = [f"{name} {n}" for name, n in d["flagged_on"].items()]
    first = [f"{d['numbers']} number{'' if d['numbers'] == 1 else 's'}:"]
    if where:
        first.append(f"{flagged} (on {where[0]}" + (")" if len(where) == 1 else ""))
        first += [w + ("" if i < len(where) - 1 else ")") for i, w in enumerate(where[1:], 1)]
    else:
        first.append(flagged)
    for key, word in (("error", "error"), ("unknown", "unknown")):
        if v[key]:
            first.append(f"{v[key]} {word}")
    first += [f"{v['clean']} clean", f"{v['unchecked']} not checked"]
    clauses = [first]
    for key in ("failing", "stale"):
        named = [f"{name} {n}" for name, n in d[key].items()] or ["none"]
        clauses.append([f"{key}: {named[0]}", *named[1:]])
    if d["paused"]:
        clauses.append([f"paused: {d['paused']}"])
    return clauses


def summary_text(t: Tally, width: int | None = None) -> list[str]:
    """The summary as lines of at most ``width`` characters (pure), broken only
    between pieces: a count is never split from its name. A continuation line is
    indented two spaces; a piece wider than the line is cut with an ellipsis."""
    pieces: list[str] = []
    for clause in summary_clauses(t):
        for i, piece in enumerate(clause):
            # the first piece of the head clause is followed by a space, others by ", "
            last = i == len(clause) - 1
            pieces.append(piece + ("" if last else (" " if piece.endswith(":") else ", ")))
        pieces[-1] += "; "
    pieces[-1] = pieces[-1].removesuffix("; ")
    if width is None:
        return ["".join(pieces)]
    out: list[str] = []
    current = ""
    for piece in pieces:
        if current and len((current + piece).rstrip()) > width:
            out.append(current.rstrip())
            current = "  "
        current += piece
        if len(current.rstrip()) > width:
            out.append(current.rstrip()[: width - 1] + "…")
            current = "  "
    if current.strip():
        out.append(current.rstrip())
    return out
