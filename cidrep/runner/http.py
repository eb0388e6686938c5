"""The ``Http`` session handed to checkers: one per source per run.

It owns the source's httpx client, rate limiter, concurrency limit and retry policy,
counts requests, and turns every transport failure into a ``SourceError`` whose
message names the source's host and never carries a URL query or a secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from cidrep import __version__
from cidrep.contract import SourceError, SourceSettings
from cidrep.runner.ratelimit import RateLimiter
from cidrep.runner.retry import RetryableStatus, is_retry_status, parse_retry_after

USER_AGENT = f"cidrep/{__version__} (caller-ID reputation monitor)"


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableStatus | httpx.TransportError)


class HttpSession:
    def __init__(
        self,
        source: str,
        settings: SourceSettings,
        client: httpx.AsyncClient | None = None,
        redact: Callable[[str], str] = lambda s: s,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.source = source
        self.settings = settings
        self.client = client or make_client(settings)
        self.limiter = RateLimiter(settings.rate_limit)
        self.semaphore = asyncio.Semaphore(settings.concurrency)
        self.redact = redact
        self.sleep = sleep  # injectable so tests can assert waits without waiting
        self.requests = 0
        self.retries = 0

    async def aclose(self) -> None:
        await self.client.aclose()

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        s = self.settings
        host = urlsplit(url).hostname or "the source"
        ceiling = s.retry_after_max.total_seconds()
        initial = s.backoff_initial.total_seconds()
        # initial * 2^(n-1), capped, plus up to `initial` of random jitter so that
        # many clients throttled together do not retry in lockstep
        backoff = wait_exponential(multiplier=initial, max=s.backoff_max.total_seconds()) + (
            wait_random(0, initial)
        )

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                return min(retry_after, ceiling)
            return backoff(state)

        def stop(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            too_long = getattr(exc, "retry_after", None)
            if too_long is not None and too_long > ceiling:
                return True
            return stop_after_attempt(s.max_attempts)(state)

        def count_retry(state: RetryCallState) -> None:
            self.retries += 1

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_retryable),
                wait=wait,
                stop=stop,
                before_sleep=count_retry,
                reraise=True,
                sleep=self.sleep,
            ):
                with attempt:
                    return await self._once(url, params, headers)
        except RetryableStatus as exc:
            raise SourceError(self._status_message(host, exc, ceiling)) from None
        except httpx.TimeoutException:
            raise SourceError(
                f"{host} timed out after {s.timeout.total_seconds():g}s ({s.max_attempts} attempts)"
            ) from None
        except httpx.TransportError as exc:
            reason = self.redact(str(exc) or type(exc).__name__)
            raise SourceError(
                f"cannot reach {host}: {reason} ({s.max_attempts} attempts)"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self, url: str, params: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> httpx.Response:
        async with self.semaphore:
            await self.limiter.acquire()
            self.requests += 1
            response = await self.client.get(url, params=params, headers=headers)
        if is_retry_status(response.status_code):
            raise RetryableStatus(
                response.status_code, parse_retry_after(response.headers.get("retry-after"))
            )
        return response

    def _status_message(self, host: str, exc: RetryableStatus, ceiling: float) -> str:
        attempts = self.settings.max_attempts
        if exc.status == 429:
            if exc.retry_after is not None and exc.retry_after > ceiling:
                return (
                    f"throttled by {host} (HTTP 429): Retry-After {exc.retry_after:g}s exceeds "
                    f"retry_after_max {ceiling:g}s; will try again next run"
                )
            return f"throttled by {host} (HTTP 429) after {attempts} attempts"
        return f"{host} answered HTTP {exc.status} after {attempts} attempts"


def make_client(settings: SourceSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=settings.timeout.total_seconds(),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
    )
