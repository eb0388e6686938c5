"""An even-spacing rate limiter for one source (GCRA without burst).

Requests are spaced ``interval`` seconds apart across all of a source's workers, so
``60/min`` means one request a second rather than 60 at once then a minute of 429s.
Each caller reserves the next free slot under a lock, then sleeps outside it, so
concurrent callers get distinct slots and never wait on each other's sleep. Idle time
is not banked: after a pause the next request goes at once, the one after it an
interval later.

The clock and the sleep are injectable so tests can assert the spacing without
waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from cidrep.timeutil import Rate


def next_slot(now: float, next_free: float, interval: float) -> tuple[float, float]:
    """Return (seconds to wait, next free time) for a request arriving at ``now``."""
    start = max(now, next_free)
    return start - now, start + interval


class RateLimiter:
    def __init__(
        self,
        rate: Rate,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = rate.interval
        self._clock = clock
        self._sleep = sleep
        self._next_free = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for this caller's own slot (reserved at once, slept outside the lock)."""
        async with self._lock:
            wait, self._next_free = next_slot(self._clock(), self._next_free, self.interval)
        if wait > 0:
            await self._sleep(wait)
