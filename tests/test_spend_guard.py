"""The spend guard: a paid source stops at its daily budget; the run goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cidrep.config import load_config
from cidrep.plugins import get_checkers, reset_cache
from cidrep.runner.budget import Budget, fits
from cidrep.runner.engine import CheckOptions, run_cycle
from cidrep.store import open_db
from cidrep.store.numbers import NumberEntry, add_numbers

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NUMBERS = [f"+1202555{i:04d}" for i in range(101, 111)]  # 10 numbers


@pytest.mark.parametrize(
    ("spent", "reserved", "estimate", "budget", "expected"),
    [
        (5, 5, 5, None, True),  # no budget
        (4, 0, 6, 10, True),  # exactly reaches it
        (4, 1, 6, 10, False),  # in-flight batches count
        (10, 0, 0, 10, True),  # a free call never spends
        (12, 0, 1, 10, False),  # already over
        (0, 0, 10.5, 10, False),  # one batch larger than the budget
    ],
)
def test_fits_truth_table(spent, reserved, estimate, budget, expected):
    assert fits(spent, reserved, estimate, budget) is expected


def test_budget_reserves_and_settles():
    budget = Budget(10, spent=2)
    assert budget.take(4) and budget.take(4)
    assert not budget.take(1)  # 2 spent + 8 reserved
    budget.settle(4, 3)  # the batch cost less than estimated
    assert (budget.spent, budget.reserved) == (5, 4)
    assert budget.take(1)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", "fake_sources")
    reset_cache()
    from fake_sources import FakeLookup

    FakeLookup.calls.clear()
    db = open_db(tmp_path / "e.db")
    add_numbers(db, 1, [NumberEntry(n) for n in NUMBERS], "T")

    def run(config: str, at: datetime = T0, **options):
        (tmp_path / "c.toml").write_text(config)
        settings = load_config(tmp_path / "c.toml", get_checkers()).settings
        return run_cycle(db, settings, get_checkers(), CheckOptions(now=at, **options))

    return db, run, FakeLookup


def paid(budget: float, cost: float = 1.0, concurrency: int = 1, batch: int = 1) -> str:
    return (
        f"[sources.fake]\ncost = {cost}\ndaily_budget = {budget}\n"
        f"concurrency = {concurrency}\nbatch = {batch}\n"
        '[sources.fakefeed]\nrecords = []\ninterval = "1h"\n'
    )


def checked(db) -> set[str]:
    return {
        r["e164"]
        for r in db.query(
            """SELECT n.e164 FROM source_state s JOIN numbers n ON n.id = s.number_id
               WHERE s.source = 'fake' AND s.checks > 0"""
        )
    }


def test_a_paid_source_stops_at_its_budget_and_the_other_sources_go_on(env):
    db, run, fake = env
    result = run(paid(4))
    source = {s.source: s for s in result.sources}
    assert source["fake"].checks == 4
    assert source["fake"].cost_units == 4
    assert source["fake"].stats["budget_held_back"] == 6
    assert "daily budget of 4 reached" in source["fake"].reason
    assert source["fake"].errors == 0  # held back is not an error
    assert source["fakefeed"].status == "ran"  # the other source went on
    assert len(checked(db)) == 4
    # later the same day: nothing more is spent, even forced
    again = run(paid(4), at=T0 + timedelta(hours=2), force=True)
    assert {s.source: s for s in again.sources}["fake"].checks == 0
    assert len(fake.calls) == 4
    # the next UTC day the waiting numbers are checked
    nxt = run(paid(4), at=T0 + timedelta(days=1))
    assert {s.source: s for s in nxt.sources}["fake"].checks == 4


def test_concurrent_workers_never_overshoot_together(env):
    _db, run, fake = env
    result = run(paid(5, concurrency=4, batch=2))
    fake_result = {s.source: s for s in result.sources}["fake"]
    assert fake_result.cost_units <= 5
    assert fake_result.cost_units == 4  # two batches of 2 fit, a third would not
    assert sum(len(c) for c in fake.calls) == 4


def test_a_batch_that_cost_more_than_estimated_counts_what_it_cost(env):
    _db, run, _fake = env
    config = paid(3).replace("cost = 1.0", "cost = 1.0\nactual_cost = 2.0")
    result = run(config)
    fake_result = {s.source: s for s in result.sources}["fake"]
    assert fake_result.checks == 2  # 2 spent, +1 estimated fits; then 4 + 1 > 3
    assert fake_result.cost_units == 4


def test_no_budget_means_no_limit(env):
    _db, run, _ = env
    result = run("[sources.fake]\ncost = 1.0\n[sources.fakefeed]\nenabled = false\n")
    assert {s.source: s for s in result.sources}["fake"].checks == 10
