"""What an alert says: title, text, the sources behind it, and where to dispute.

Built once, when a notice is recorded, from the state at that moment; the stored
``Alert`` is what every channel renders on every (re-)send. Texts say what changed,
what it means and what to do, in words a contact-center manager reads at a glance.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from cidrep.alerts import changes
from cidrep.channels import Alert, Dispute, SourceLine
from cidrep.disputes import CarrierMap, flagged_carriers
from cidrep.phone import display
from cidrep.timeutil import iso, parse_iso


def new_key() -> str:
    """A fresh idempotency key (stored with the flip, so re-sends reuse it)."""
    return uuid.uuid4().hex


def span_text(seconds: float) -> str:
    """``3d 4h``, ``5h 12m``, ``40m``: a length of time as people say it."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{max(minutes, 1)}m"


def duration_text(start: str | None, end: datetime) -> str | None:
    """How long from ``start`` (ISO) to ``end``, or None without a start."""
    if not start:
        return None
    return span_text((end - parse_iso(start)).total_seconds())


def disputes(lines: list[SourceLine], carrier_map: CarrierMap) -> list[Dispute]:
    """Where to dispute: the portal of the engine behind each flagged carrier (from the
    sources that report per carrier), then the Free Caller Registry; complaint data
    names no carrier, so then every engine's portal (``CarrierMap.disputes``)."""
    carriers = [c for line in lines for c in flagged_carriers(line.evidence)]
    return carrier_map.disputes(carriers)


def carriers_text(evidence: dict[str, Any]) -> str | None:
    """``flagged on T-Mobile; clean on AT&T, Verizon`` from a per-carrier source's
    summed-up evidence, or None for a source without carriers."""
    lanes = evidence.get("carriers")
    if not isinstance(lanes, dict) or not lanes:
        return None
    by_verdict: dict[str, list[str]] = {}
    for carrier, lane in sorted(lanes.items()):
        verdict = lane.get("verdict") if isinstance(lane, dict) else None
        by_verdict.setdefault(verdict or "no verdict", []).append(carrier)
    order = ["flagged", "clean", "unknown", "no verdict"]
    return "; ".join(
        f"{v} on {', '.join(by_verdict[v])}"
        for v in sorted(by_verdict, key=lambda v: order.index(v) if v in order else 9)
    )


def source_lines(states: dict[str, dict[str, Any]], only: set[str] | None = None) -> list:
    """``SourceLine``s from ``store.state.states_for`` rows (verdict row's details)."""
    lines = []
    for source, row in sorted(states.items()):
        if only is not None and source not in only:
            continue
        evidence = row.get("evidence")
        lines.append(
            SourceLine(
                source=source,
                verdict=row.get("verdict"),
                label=row.get("label"),
                category=row.get("category"),
                score=row.get("score"),
                since=row.get("since"),
                evidence=json.loads(evidence) if isinstance(evidence, str) else evidence or {},
                url=row.get("url"),
            )
        )
    return lines


def _who(info: dict[str, Any]) -> str:
    parts = [info["label"]] if info.get("label") else []
    parts.append(f"account {info['account']}")
    if info.get("tags"):
        parts.append("tags " + ", ".join(info["tags"]))
    return " · ".join(parts)


def _line(s: SourceLine) -> str:
    text = f"{s.source}: {s.verdict or 'not checked'}"
    if s.label:
        text += f' "{s.label}"'
    if s.score is not None:
        text += f" (score {s.score})"
    if s.since:
        text += f" since {s.since[:10]}"
    facts = ", ".join(
        f"{k} {v}" for k, v in sorted(s.evidence.items()) if not isinstance(v, dict | list)
    )
    lanes = carriers_text(s.evidence)
    if lanes:
        text += f" ({lanes})"
    return text + (f"; {facts[:200]}" if facts else "")


def number_alert(
    kind: str,
    info: dict[str, Any],
    states: dict[str, dict[str, Any]],
    now: datetime,
    *,
    changed_by: list[str],
    flagged_since: str | None = None,
    after: str | None = None,
    facts: dict[str, Any] | None = None,
    carrier_map: CarrierMap | None = None,
) -> Alert:
    """The message for a number notice: flagged, cleared, reminder or flapping.
    ``carrier_map`` (config ``[carriers]``/``[engines]``) says where to dispute."""
    shown = display(info["e164"])
    flagged = {s for s, row in states.items() if row.get("verdict") == "flagged"}
    lines = source_lines(states)
    behind = [line for line in lines if line.source in flagged] or lines
    label = next((line.label for line in behind if line.label), None)
    said = f' "{label}"' if label else ""
    by = ", ".join(sorted(flagged)) or ", ".join(changed_by)
    later = {"mute": " (after a mute)", "flapping": " (after flapping)"}.get(after or "", "")
    flagged_for = duration_text(flagged_since, now) if kind == "cleared" else None
    if kind == "flagged":
        title = f"{shown} flagged{said} by {by}{later}"
        todo = "Check the label, slow outbound calls from it, and ask for a review:"
    elif kind == "cleared":
        title = f"{shown} is clean again{later}" + (f" after {flagged_for}" if flagged_for else "")
        todo = f"Cleared by {', '.join(changed_by) or 'its sources'}. Nothing to do."
    elif kind == "reminder":
        title = f"{shown} is still flagged{said} (since {(info.get('since') or '')[:10] or '?'})"
        todo = "Still labelled. If you disputed it, check the status of the request:"
    else:  # flapping
        count = (facts or {}).get("flips", "several")
        title = f"{shown} is flapping: {count} changes within {(facts or {}).get('window', '')}"
        todo = "Further alerts for it are held until it is stable for that long."
    where = carrier_map or CarrierMap()
    dispute = disputes(behind, where) if kind in ("flagged", "reminder") else []
    text = "\n".join(
        [
            title,
            _who(info),
            *(_line(line) for line in lines),
            todo,
            *(f"- {d.name}: {d.url}" for d in dispute),
        ]
    )
    return Alert(
        kind=kind,
        key=new_key(),
        at=iso(now),
        title=title,
        text=text,
        number=info["e164"],
        display=shown,
        number_label=info.get("label"),
        account=info["account"],
        tags=list(info.get("tags") or []),
        state="flagged"
        if kind in ("flagged", "reminder")
        else "clean"
        if kind == "cleared"
        else None,
        sources=behind if kind != "cleared" else lines,
        changed_by=changed_by,
        flagged_for=flagged_for,
        dispute=dispute,
        facts=facts or {},
    )


def changed_alert(
    info: dict[str, Any],
    states: dict[str, dict[str, Any]],
    source: str,
    key: str,
    what: str,
    old: Any,
    new: Any,
    now: datetime,
    *,
    state: str | None = None,
) -> Alert:
    """``changed``: a watched piece of evidence (``key``, called ``what``) went from
    ``old`` to ``new`` at ``source`` (``cidrep.alerts.changes``). ``states`` are the
    number's source rows (only ``source`` is shown); ``state`` is the number's alert
    state, which this does not change (a fact is evidence, not a verdict)."""
    shown_number = display(info["e164"])
    title = (
        f"{shown_number}: {what} changed from {changes.shown(old)} to {changes.shown(new)}"
        f" ({source})"
    )
    lines = source_lines(states, only={source})
    gone = "disappeared" if new is None else "now reads differently"
    text = "\n".join(
        [
            title,
            _who(info),
            *(_line(line) for line in lines),
            f"The {what} that {source} reports for this number {gone}. This is evidence, not "
            "a verdict: the number's state is unchanged by it. A change you did not make "
            "can mean a hijacked or reassigned display name, or a provisioning mistake.",
            "If you did not change it, check with your carrier and your CNAM provider "
            "(whoever registered the name) and have the right one restored; people "
            "reject calls from a name they do not know.",
        ]
    )
    return Alert(
        kind="changed",
        key=new_key(),
        at=iso(now),
        title=title,
        text=text,
        number=info["e164"],
        display=shown_number,
        number_label=info.get("label"),
        account=info["account"],
        tags=list(info.get("tags") or []),
        state=state,
        sources=lines,
        changed_by=[source],
        facts={"changed": what, "evidence": key, "from": old, "to": new},
    )


def source_alert(kind: str, source: str, now: datetime, facts: dict[str, Any]) -> Alert:
    """``source_failing`` / ``source_recovered``: one notice for the whole fleet."""
    if kind == "source_failing":
        title = f"Source {source} is failing for {facts.get('numbers', 0)} number(s)"
        body = [
            title,
            f"Last error: {facts.get('last_error') or 'none recorded'}",
            "Verdicts from it are not current; the last real ones are kept and shown.",
        ]
    else:
        lasted = facts.get("failing_for")
        title = f"Source {source} has recovered" + (f" after {lasted}" if lasted else "")
        body = [title, "Every number it covers has a current verdict again."]
    return Alert(
        kind=kind, key=new_key(), at=iso(now), title=title, text="\n".join(body), facts=facts
    )


def sample_alert(now: datetime) -> Alert:
    """What ``alerts test`` sends: a realistic flagged alert, marked as a test."""
    info = {
        "e164": "+12025550143",
        "label": "Collections East (sample)",
        "account": "default",
        "tags": ["team:collections"],
    }
    states = {
        "ftc": {
            "verdict": "flagged",
            "label": "Reducing your debt",
            "category": "telemarketing",
            "since": iso(now)[:10] + "T00:00:00Z",
            "evidence": {"complaints": 3, "window_days": 30, "robocalls": 1},
        }
    }
    alert = number_alert("flagged", info, states, now, changed_by=["ftc"])
    title = "[test] " + alert.title
    return Alert(
        **{
            **alert.__dict__,
            "kind": "test",
            "title": title,
            "text": title
            + "\n"
            + alert.text.split("\n", 1)[1]
            + "\nThis is a test message from `cidrep alerts test`.",
        }
    )
