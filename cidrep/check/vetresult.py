"""What ``cidrep vet`` finds: answers per number and source, the ranking, the report.

The ranking rules are pure functions (``tier``, ``overall``, ``rank_key``) so the
order of a vet table is decided in one place and tested by its truth tables.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cidrep.contract import SEVERITY, Observation, Verdict
from cidrep.errors import ExitCode, outcome_code

NO_DATA = "no_data"  # a feed source has no local data: the number is not monitored
NOT_CHECKED = "not_checked"  # held back by the daily budget: not asked
STATES = (*(v.value for v in Verdict), NO_DATA, NOT_CHECKED)


def tier(state: str) -> int:
    """How bad one answer is for ranking, cleanest first (pure).

    =============================================  ====  =============================
    state                                          tier  why
    =============================================  ====  =============================
    clean                                          0     the source looked: nothing
    unknown, no_data, not_checked                  1     nothing known either way
    error                                          2     the source failed: a risk
                                                         we could not rule out
    flagged                                        3     the source labels it
    =============================================  ====  =============================
    """
    if state == Verdict.FLAGGED:
        return 3
    if state == Verdict.ERROR:
        return 2
    if state == Verdict.CLEAN:
        return 0
    return 1


TIER_VERDICT = {0: Verdict.CLEAN, 1: Verdict.UNKNOWN, 2: Verdict.ERROR, 3: Verdict.FLAGGED}


def overall(states: Iterable[str]) -> Verdict:
    """A number's verdict: the worst answer's tier as a verdict (pure).

    | answers                          | verdict |
    |----------------------------------|---------|
    | none                             | unknown |
    | clean, clean                     | clean   |
    | clean, no_data                   | unknown |
    | clean, not_checked               | unknown |
    | clean, unknown, error            | error   |
    | error, flagged                   | flagged |
    """
    return TIER_VERDICT[max((tier(s) for s in states), default=1)]


def rank_key(verdict: str, score: int | None, number: str) -> tuple[int, int, str]:
    """Sort key, cleanest first: worst verdict's tier, then the highest score any
    source gave (none counts as 0: no risk signal), then the number (pure, total).

    | verdict | score | number       | key                      |
    |---------|-------|--------------|--------------------------|
    | clean   | 5     | +12025550143 | (0, 5, "+12025550143")   |
    | clean   | None  | +13125550188 | (0, 0, "+13125550188")   |
    | unknown | 0     | +12025550100 | (1, 0, "+12025550100")   |
    | error   | None  | +12025550101 | (2, 0, "+12025550101")   |
    | flagged | 40    | +12025550102 | (3, 40, "+12025550102")  |

    So clean 0 < clean 5 < unknown < error < flagged 40 < flagged 92, and equal
    numbers of both fall back to the number: the order is stable run to run.
    """
    return tier(verdict), score if score is not None else 0, number


@dataclass
class Answer:
    """What one source says about one vetted number."""

    source: str
    state: str  # a Verdict value, NO_DATA or NOT_CHECKED
    label: str | None = None
    category: str | None = None
    score: int | None = None
    url: str | None = None
    error: str | None = None
    carriers: dict[str, dict[str, Any]] = field(default_factory=dict)
    local: bool = False  # from the stored state of a monitored number, not asked now
    as_of: str | None = None  # when stored data was last refreshed
    cost_units: float = 0.0

    def __post_init__(self) -> None:
        self.state = str(self.state)  # a Verdict is a StrEnum: its value

    @property
    def flagged_carriers(self) -> list[str]:
        return sorted(c for c, v in self.carriers.items() if v.get("verdict") == Verdict.FLAGGED)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.state,
            "label": self.label,
            "category": self.category,
            "score": self.score,
            "url": self.url,
            "error": self.error,
            "carriers": self.carriers,
            "flagged_carriers": self.flagged_carriers,
            "local": self.local,
            "as_of": self.as_of,
            "cost_units": self.cost_units,
        }


def answer_from(
    source: str,
    obs: Observation,
    per_carrier: bool,
    cost_units: float = 0.0,
    local: bool = False,
    as_of: str | None = None,
) -> Answer:
    """An ``Answer`` from a (summed-up) observation; ``per_carrier`` when it was
    summed up from carriers, whose verdicts ``summarize`` put in the evidence."""
    carriers = obs.evidence.get("carriers", {}) if per_carrier else {}
    return Answer(
        source,
        obs.verdict.value,
        label=obs.label,
        category=obs.category,
        score=obs.score,
        url=obs.url,
        error=obs.error,
        carriers=dict(carriers) if isinstance(carriers, dict) else {},
        local=local,
        as_of=as_of,
        cost_units=cost_units,
    )


@dataclass
class NumberResult:
    number: str
    answers: dict[str, Answer]
    rank: int = 0

    @property
    def verdict(self) -> Verdict:
        return overall(a.state for a in self.answers.values())

    @property
    def score(self) -> int | None:
        scores = [a.score for a in self.answers.values() if a.score is not None]
        return max(scores) if scores else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "number": self.number,
            "verdict": self.verdict.value,
            "score": self.score,
            "sources": {name: a.as_dict() for name, a in self.answers.items()},
        }


def ranked(answers: Mapping[str, Mapping[str, Answer]], order: Sequence[str]) -> list[NumberResult]:
    """Numbers ranked cleanest first (``rank_key``), answers in ``order`` of sources."""
    results = [
        NumberResult(number, {s: found[s] for s in order if s in found})
        for number, found in answers.items()
    ]
    results.sort(key=lambda r: rank_key(r.verdict, r.score, r.number))
    for i, result in enumerate(results, 1):
        result.rank = i
    return results


@dataclass
class SourceRun:
    """What one source did in a vet: ran (asked now), local (feed data read), skipped,
    failed (as a whole), or idle; with counts and cost."""

    source: str
    shape: str
    status: str
    reason: str | None = None
    checks: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    cost_units: float = 0.0
    held_back: int = 0
    stats: dict[str, int] = field(default_factory=dict)

    def count(self, answer: Answer) -> None:
        self.verdicts[answer.state] = self.verdicts.get(answer.state, 0) + 1
        if answer.state not in (NO_DATA, NOT_CHECKED):
            self.checks += 1
        self.cost_units += answer.cost_units

    @classmethod
    def from_result(cls, result: Any) -> SourceRun:
        """From a check cycle's ``SourceResult`` (``vet --keep``)."""
        held = int(result.stats.get("budget_held_back", 0))
        return cls(
            result.source,
            result.shape,
            result.status,
            result.reason,
            checks=result.checks,
            verdicts={**dict.fromkeys(STATES, 0), **result.verdicts},
            cost_units=result.cost_units,
            held_back=held,
            stats=dict(result.stats),
        )

    def stored(self) -> dict[str, Any]:
        """The counts ``store.vetting.save_source`` records (no message, no number)."""
        return {
            "source": self.source,
            "status": self.status,
            "reason": self.reason if self.status != "failed" else None,  # may quote a number
            "checks": self.checks,
            "verdicts": self.verdicts,
            "cost_units": self.cost_units,
            "stats": self.stats,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "status": self.status,
            "reason": self.reason,
            "checks": self.checks,
            "verdicts": self.verdicts,
            "cost_units": self.cost_units,
            "held_back": self.held_back,
        }


@dataclass
class VetReport:
    numbers: list[NumberResult]
    sources: list[SourceRun]
    run_id: int | None = None
    kept: dict[str, Any] | None = None  # account, added, already_monitored (--keep)
    named: bool = False  # the sources were named (--source), not all that are in service

    @property
    def exit_code(self) -> ExitCode:
        """1 flagged, 3 a source error for some number, 4 both, else 0."""
        verdicts = {r.verdict for r in self.numbers}
        errors = any(a.state == Verdict.ERROR for r in self.numbers for a in r.answers.values())
        return outcome_code(Verdict.FLAGGED in verdicts, errors)

    def totals(self) -> dict[str, int]:
        asked = [s for s in self.sources if s.status in ("ran", "failed")]
        return {
            "checks": sum(s.checks for s in asked),
            "flagged": sum(s.verdicts.get("flagged", 0) for s in asked),
            "errors": sum(s.verdicts.get("error", 0) for s in asked),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "exit_code": int(self.exit_code),
            "kept": self.kept,
            "numbers": [r.as_dict() for r in self.numbers],
            "sources": {s.source: s.as_dict() for s in self.sources},
        }


# -- answers from stored state ------------------------------------------------------


def group_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """State rows by (E.164, source)."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((row["e164"], row["source"]), []).append(row)
    return grouped


def stored_answer(source: str, rows: list[dict[str, Any]], fallback: str, local: bool) -> Answer:
    """One source's answer for one number from its stored current state (pure).

    ``rows`` are the number's ``source_state`` rows for ``source`` with the verdict
    row's details, one per account that monitors it.

    ==========================================  ==========================================
    rows                                        answer
    ==========================================  ==========================================
    none                                        ``fallback`` (``no_data`` for a feed,
                                                ``not_checked`` for a lookup held back)
    latest check failed, not ``local``          ``error`` with the stored message (the
                                                check just run for ``--keep`` failed)
    latest check failed, ``local``              the stored verdict: feed data is still
                                                data when the last pull failed
    no verdict yet                              ``fallback``
    a verdict                                   that verdict, label, score, category, and
                                                the carriers its evidence names
    ==========================================  ==========================================

    Monitored in several accounts: the row with the latest success wins (the freshest
    assessment of the same data), then the worst verdict. A per-carrier source's row
    is already summed up from its carriers (``cidrep.carriers.summarize``), which put
    them in the evidence.
    """
    if not rows:
        return Answer(source, fallback)
    row = max(rows, key=_freshness)
    as_of = row["last_success"]
    if not local and _failing(row):
        return Answer(source, Verdict.ERROR, error=row["last_error"], as_of=as_of)
    if not row["verdict"]:
        return Answer(source, fallback, as_of=as_of)
    carriers = _evidence(row.get("evidence")).get("carriers")
    return Answer(
        source,
        row["verdict"],
        label=row["label"],
        category=row["category"],
        score=row["score"],
        url=row["url"],
        carriers=carriers if isinstance(carriers, dict) else {},
        local=local,
        as_of=as_of,
    )


def _freshness(row: Mapping[str, Any]) -> tuple[str, int]:
    worst = SEVERITY[Verdict(row["verdict"])] if row["verdict"] else -1
    return row["last_success"] or "", worst


def _failing(row: Mapping[str, Any]) -> bool:
    failure, success = row["last_failure"], row["last_success"]
    return failure is not None and (success is None or failure >= success)


def _evidence(text: object) -> dict[str, Any]:
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
