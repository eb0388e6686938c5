"""Recent runs (``cidrep runs``): when, how long, what was checked, what came of it.

A run's row says when it started and finished, its status (running, finished,
failed: the database could not be written, abandoned: killed before finishing), its
totals and exit code; each source's row says what it did (ran, idle: nothing due,
skipped and why, failed), its verdict counts, cost, and how many numbers the daily
budget held back (``stats.budget_held_back``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from cidrep.store import run_log
from cidrep.timeutil import parse_iso


def duration(started: str, finished: str | None) -> float | None:
    """Seconds from start to finish; None while running or when never finished."""
    if not finished:
        return None
    return max((parse_iso(finished) - parse_iso(started)).total_seconds(), 0.0)


def source_view(row: dict[str, Any]) -> dict[str, Any]:
    stats = json.loads(row["stats"]) if row.get("stats") else {}
    return {
        "source": row["source"],
        "status": row["status"],
        "reason": row["reason"],
        "checks": row["checks"],
        "clean": row["clean"],
        "flagged": row["flagged"],
        "unknown": row["unknown"],
        "errors": row["errors"],
        "cost_units": float(row["cost_units"]),
        "held_back": int(stats.get("budget_held_back", 0)),
        "message": row["message"],
        "stats": stats,
    }


def run_view(run: dict[str, Any], sources: list[dict[str, Any]]) -> dict[str, Any]:
    """One run as ``runs --json`` shows it (docs/runs.schema.json)."""
    return {
        "id": run["id"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "duration_seconds": duration(run["started_at"], run["finished_at"]),
        "status": run["status"],
        "account": run["account"],
        "forced": bool(run["forced"]),
        "checks": run["checks"],
        "flagged": run["flagged"],
        "errors": run["errors"],
        "exit_code": run["exit_code"],
        "sources": [source_view(s) for s in sources],
    }


def recent(db: Database, limit: int, account: str | None = None) -> list[dict[str, Any]]:
    """The ``limit`` most recent runs, newest first, each with its sources."""
    runs = run_log.recent_runs(db, limit, account)
    sources = run_log.sources_of(db, [r["id"] for r in runs])
    return [run_view(r, sources.get(r["id"], [])) for r in runs]


def took(seconds: float | None) -> str:
    """``4s``, ``1m04s``, ``2h03m``; ``-`` while running or when it never finished."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _plural(n: int | float, word: str) -> str:
    return f"{n:g} {word}" + ("" if n == 1 else "s")


def source_summary(s: dict[str, Any]) -> str:
    """``ran: 20 checks, 2 flagged, 1 error, 3 cost units, 5 held back by budget``;
    ``skipped: no api_key configured``; ``failed: <message>``; ``idle: nothing due``."""
    if s["status"] == "skipped":
        return f"skipped: {s['reason'] or 'no reason given'}"
    if s["status"] == "idle" and not s["checks"]:
        return "idle: nothing due"
    parts = [_plural(s["checks"], "check")]
    if s["flagged"]:
        parts.append(f"{s['flagged']} flagged")
    if s["errors"]:
        parts.append(_plural(s["errors"], "error"))
    if s["cost_units"]:
        parts.append(f"{s['cost_units']:g} cost unit" + ("" if s["cost_units"] == 1 else "s"))
    if s["held_back"]:
        parts.append(f"{s['held_back']} held back by budget")
    text = f"{s['status']}: " + ", ".join(parts)
    if s["status"] == "failed" and s["message"]:
        text += f" ({s['message']})"
    elif s["errors"] and s["message"]:
        text += f" (last: {s['message']})"
    return text
