"""The spend guard: a paid source stops for the day when its ``daily_budget`` is spent.

Cost is counted in the source's own units (credits, billed lookups), as checkers
report them on each observation (``cost_units``). Before a batch is sent, the
checker's ``cost_estimate`` is reserved; the batch goes only if what was spent today
(earlier runs, from ``run_sources``, plus this run) and what is reserved by batches in
flight, plus this estimate, stay within the budget. So concurrent workers cannot
overshoot together, and no option (a fresh read, ``--force``) bypasses it.

A batch that does not fit is not sent: its numbers stay due (no verdict, no error)
and are checked on the first run of the next UTC day. The other sources go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def day_start(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s UTC day: budgets are per UTC day, wherever cidrep runs."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def fits(spent: float, reserved: float, estimate: float, budget: float | None) -> bool:
    """Whether a batch estimated at ``estimate`` may be sent (pure).

    | budget | spent | reserved | estimate | fits | why                               |
    |--------|-------|----------|----------|------|-----------------------------------|
    | None   | any   | any      | any      | yes  | no budget set                     |
    | 10     | 4     | 0        | 6        | yes  | exactly reaches the budget        |
    | 10     | 4     | 1        | 6        | no   | in-flight batches count           |
    | 10     | 10    | 0        | 0        | yes  | a free call never spends          |
    | 10     | 12    | 0        | 1        | no   | already over (a batch cost more)  |
    """
    if budget is None or estimate <= 0:
        return True
    return spent + reserved + estimate <= budget + 1e-9


@dataclass
class Budget:
    """One source's budget in one run: what was spent, what is reserved."""

    limit: float | None
    spent: float = 0.0
    reserved: float = 0.0
    held_back: int = 0  # numbers not checked because the budget was reached

    def take(self, estimate: float) -> bool:
        if not fits(self.spent, self.reserved, estimate, self.limit):
            return False
        self.reserved += max(estimate, 0.0)
        return True

    def settle(self, estimate: float, actual: float) -> None:
        self.reserved -= max(estimate, 0.0)
        self.spent += actual

    @property
    def reached(self) -> bool:
        return self.held_back > 0
