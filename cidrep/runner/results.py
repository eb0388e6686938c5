"""What a check cycle reports: per-source results and the run as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cidrep.contract import Verdict
from cidrep.errors import ExitCode

MAX_MESSAGES = 5


@dataclass
class SourceResult:
    source: str
    shape: str
    status: str = "idle"  # ran | idle (nothing due) | skipped | failed
    reason: str | None = None
    checks: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in Verdict})
    errors: int = 0
    cost_units: float = 0.0
    messages: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    flagged: list[dict[str, Any]] = field(default_factory=list)

    def note(self, message: str) -> None:
        if message not in self.messages and len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)

    def add_stats(self, stats: dict[str, int]) -> None:
        for key, value in stats.items():
            self.stats[key] = self.stats.get(key, 0) + value

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "shape": self.shape,
            "status": self.status,
            "reason": self.reason,
            "checks": self.checks,
            "verdicts": self.verdicts,
            "errors": self.errors,
            "cost_units": self.cost_units,
            "messages": self.messages,
            "stats": self.stats,
            "flagged": self.flagged,
        }


@dataclass
class RunResult:
    """A finished run. ``exit_code`` follows the scope's state after the run; ``failing``
    and ``stale`` name the sources in scope that are not current for some number."""

    run_id: int
    started_at: str
    finished_at: str
    sources: list[SourceResult]
    exit_code: ExitCode
    currently_flagged: bool = False
    failing: list[str] = field(default_factory=list)

    @property
    def checks(self) -> int:
        return sum(s.checks for s in self.sources)

    @property
    def flagged(self) -> list[dict[str, Any]]:
        return [f for s in self.sources for f in s.flagged]

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.sources)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "exit_code": int(self.exit_code),
            "checks": self.checks,
            "errors": self.errors,
            "flagged": self.flagged,
            "currently_flagged": self.currently_flagged,
            "failing_or_stale": self.failing,
            "sources": {s.source: s.as_dict() for s in self.sources},
        }
