"""Pure rules over observation history: identity, run-length, current state, worst.

History is run-length: a new observation identical to the latest one stored for the
same (number, source) only extends that row's ``last_seen`` and ``checks``, so a year
of unchanged hourly checks costs one row, while every change stays visible.

Next to the history, each (number, source) keeps one current-state row
(``SourceState``), updated in the same transaction as the history by ``advance``.
Everything that asks "what does this source say now, since when, is it failing?"
(status, report, the due selection, the writer, the exit code) reads that row with
an indexed lookup, never the history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class SourceState:
    """What one source currently says about one number (one ``source_state`` row).

    ``verdict`` is the latest real (non-error) verdict, held ``since`` the first
    check that gave it, for ``streak`` consecutive real checks. ``last_success`` /
    ``last_failure`` are the latest real and failed checks, ``error_streak`` the
    failed checks since the last success. ``obs_id``/``fingerprint`` name the latest
    history row (what a new identical check extends); ``verdict_obs_id`` the row
    holding the current verdict's label, score and evidence.
    """

    verdict: str | None = None
    since: str | None = None
    streak: int = 0
    verdict_obs_id: int | None = None
    obs_id: int | None = None
    fingerprint: str | None = None
    last_checked: str | None = None
    last_success: str | None = None
    last_failure: str | None = None
    last_error: str | None = None
    error_streak: int = 0
    checks: int = 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SourceState:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__ if k in row})


def advance(
    prev: SourceState | None,
    verdict: str,
    now: str,
    error: str | None = None,
    obs_id: int | None = None,
    fp: str | None = None,
) -> SourceState:
    """The state after one check of ``verdict`` at ``now`` (pure).

    Truth table (prev verdict V, new check N):

    =========  ============  ===========================================================
    N          V             result
    =========  ============  ===========================================================
    error      any / none    verdict, since, streak unchanged (an error never changes a
                             verdict); last_failure = now, last_error = message,
                             error_streak + 1
    real X     none          verdict X, since now, streak 1
    real X     X             since unchanged, streak + 1
    real X     Y != X        verdict X, since now, streak 1
    real any   any           last_success = now, error_streak = 0 (last_failure and
                             last_error are kept: "last failure" stays readable)
    =========  ============  ===========================================================

    Every check sets last_checked = now and adds one to checks. ``obs_id``/``fp``
    (the history row written or extended) replace the latest row when given; a
    check that wrote no history row (a feed failing for the whole scope) keeps them.
    """
    prev = prev or SourceState()
    common = {
        "last_checked": now,
        "checks": prev.checks + 1,
        "obs_id": obs_id if obs_id is not None else prev.obs_id,
        "fingerprint": fp if fp is not None else prev.fingerprint,
    }
    if verdict == Verdict.ERROR:
        return replace(
            prev,
            **common,
            last_failure=now,
            last_error=error,
            error_streak=prev.error_streak + 1,
        )
    same = prev.verdict == verdict
    return replace(
        prev,
        **common,
        verdict=verdict,
        since=prev.since if same else now,
        streak=prev.streak + 1 if same else 1,
        verdict_obs_id=obs_id if obs_id is not None else prev.verdict_obs_id,
        last_success=now,
        error_streak=0,
    )


def replay(rows: Iterable[Mapping[str, Any]]) -> SourceState | None:
    """Rebuild the current state from run-length history rows, oldest first.

    Used once, to migrate a database that had history but no state rows. A row of
    ``checks`` identical checks counts as that many checks; its first check happened
    at ``first_seen`` and its last at ``last_seen``.
    """
    state: SourceState | None = None
    for row in rows:
        verdict, error = row["verdict"], row["error"]
        state = advance(state, verdict, row["first_seen"], error, row["id"], row["fingerprint"])
        extra = int(row["checks"]) - 1
        if extra > 0:
            state = advance(state, verdict, row["last_seen"], error, row["id"], row["fingerprint"])
            state = _add_checks(state, verdict, extra - 1)
    return state


def _add_checks(state: SourceState, verdict: str, count: int) -> SourceState:
    if count <= 0:
        return state
    if verdict == Verdict.ERROR:
        return replace(state, checks=state.checks + count, error_streak=state.error_streak + count)
    return replace(state, checks=state.checks + count, streak=state.streak + count)


def worst(verdicts: Iterable[str | Verdict | None]) -> Verdict | None:
    """The most severe verdict: flagged > error > clean > unknown."""
    present = [Verdict(v) for v in verdicts if v]
    if not present:
        return None
    return max(present, key=SEVERITY.__getitem__)
