"""The rate limiter: even spacing across all of a source's workers, asserted with an
injected clock and sleep (nothing is slept for real)."""

from __future__ import annotations

import asyncio

import pytest

from cidrep.runner.ratelimit import RateLimiter, next_slot
from cidrep.timeutil import Rate


class FakeTime:
    """A clock that only moves when told to; sleeps are recorded per task, not slept."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.waits: list[float] = []
        self.by_task: dict[str, float] = {}

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        task = asyncio.current_task()
        assert task is not None
        self.by_task[task.get_name()] = self.by_task.get(task.get_name(), 0.0) + seconds
        await asyncio.sleep(0)


def test_next_slot_spaces_requests_evenly():
    interval = Rate(60, 60).interval
    wait, next_free = next_slot(now=100.0, next_free=0.0, interval=interval)
    assert (wait, next_free) == (0.0, 101.0)
    wait, next_free = next_slot(now=100.2, next_free=next_free, interval=interval)
    assert (round(wait, 6), next_free) == (0.8, 102.0)
    wait, next_free = next_slot(now=110.0, next_free=next_free, interval=interval)
    assert (wait, next_free) == (0.0, 111.0)  # idle time is not banked as a burst


def test_sequential_acquires_at_2_per_second_wait_half_a_second_apart():
    t = FakeTime()
    limiter = RateLimiter(Rate(2, 1), clock=t.clock, sleep=t.sleep)

    async def five() -> None:
        for _ in range(5):
            await limiter.acquire()  # the clock stands still: each waits for its slot

    asyncio.run(five())
    assert t.waits == [0.5, 1.0, 1.5, 2.0]  # the first went at once (no sleep at all)


def test_concurrent_acquirers_get_distinct_slots():
    t = FakeTime()
    limiter = RateLimiter(Rate(2, 1), clock=t.clock, sleep=t.sleep)

    async def worker() -> None:
        await limiter.acquire()

    async def all_at_once() -> None:
        tasks = [asyncio.create_task(worker(), name=f"w{i}") for i in range(5)]
        await asyncio.gather(*tasks)

    asyncio.run(all_at_once())
    slots = sorted(t.by_task.get(f"w{i}", 0.0) for i in range(5))
    assert slots == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_time_passing_frees_slots_and_idle_time_is_not_banked():
    t = FakeTime()
    limiter = RateLimiter(Rate(1, 1), clock=t.clock, sleep=t.sleep)

    async def run() -> None:
        await limiter.acquire()  # t=100: at once, next free 101
        t.now = 100.4
        await limiter.acquire()  # waits 0.6, next free 102
        t.now = 200.0
        await limiter.acquire()  # long idle: at once
        await limiter.acquire()  # but the next one is spaced again, no burst
        assert t.waits == [pytest.approx(0.6), 1.0]

    asyncio.run(run())
