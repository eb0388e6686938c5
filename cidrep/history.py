"""Pure rules over observation history: identity, run-length, "since when", worst.

History is run-length: a new observation identical to the latest one stored for the
same (number, source) only extends that row's ``last_seen`` and ``checks``, so a year
of unchanged hourly checks costs one row, while every change stays visible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cidrep.contract import SEVERITY, Observation, Verdict


def fingerprint(obs: Observation) -> str:
    """Identity of an observation's content (everything but cost and timing).

    Two checks with the same fingerprint say the same thing and share one row.
    """
    payload = [
        obs.verdict.value,
        obs.label,
        obs.category,
        obs.score,
        obs.evidence,
        obs.url,
        obs.error,
    ]
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def extends(previous: Mapping[str, Any] | None, new_fingerprint: str) -> bool:
    """True when the new observation only extends the latest stored row."""
    return previous is not None and previous["fingerprint"] == new_fingerprint


def current_state(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Summarise one (number, source) history, oldest row first.

    Returns the latest real (non-error) row as the verdict, the time that verdict
    has held since (errors in between do not reset it), and the latest error if the
    most recent check failed. None when there is no history.
    """
    if not rows:
        return None
    latest = rows[-1]
    real = [r for r in rows if r["verdict"] != Verdict.ERROR]
    state: dict[str, Any] = {
        "verdict": None,
        "since": None,
        "last_checked": latest["last_seen"],
        "row": None,
        "error": latest["error"] if latest["verdict"] == Verdict.ERROR else None,
        "error_since": None,
    }
    if state["error"]:
        streak = _tail_streak(rows, lambda r: r["verdict"] == Verdict.ERROR)
        state["error_since"] = streak[0]["first_seen"]
    if real:
        current = real[-1]
        streak = _tail_streak(real, lambda r: r["verdict"] == current["verdict"])
        state.update(verdict=current["verdict"], since=streak[0]["first_seen"], row=current)
    return state


def _tail_streak(rows: Sequence[Mapping[str, Any]], same: Any) -> list[Mapping[str, Any]]:
    streak: list[Mapping[str, Any]] = []
    for row in reversed(rows):
        if not same(row):
            break
        streak.append(row)
    return streak[::-1]


def worst(verdicts: Iterable[str | Verdict | None]) -> Verdict | None:
    """The most severe verdict: flagged > error > clean > unknown."""
    present = [Verdict(v) for v in verdicts if v]
    if not present:
        return None
    return max(present, key=SEVERITY.__getitem__)
