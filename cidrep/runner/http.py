"""The ``Http`` session handed to checkers: one per source per run.

It owns the source's httpx client, rate limiter, concurrency limit and retry policy,
counts requests, and turns every failure into a ``SourceError`` whose one-line
message names the source's host and went through the session's redactor. Its rules:

- Deadline: ``timeout`` bounds a whole attempt (connect, headers, every redirect hop
  and the full body), not each read, so a server trickling a byte a second cannot
  hold a run. Waiting for the rate limiter or a Retry-After pause is ours, not the
  server's, and is not counted. httpx keeps the same timeout per read as a backstop.
- Size: a body is never read whole before it is checked. A ``Content-Length`` above
  ``max_response_bytes`` is refused before reading; otherwise bytes are counted as
  they arrive and reading stops as soon as the cap is passed (an endless body ends).
- Credentials: no spelling of a secret the redactor knows (in the URL, a query
  parameter or a header) is ever sent to an origin other than ``base_url``'s.
  Redirects are followed here, not by httpx, so each hop is checked before it is
  sent (and rate limited like any request).
- Retry-After pauses the whole source: every request of the session waits until then.
  One beyond ``retry_after_max`` ends this run's requests to the source.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from cidrep import __version__
from cidrep.contract import SourceError, SourceSettings
from cidrep.redaction import Redactor
from cidrep.runner.credentials import (
    carries,
    host_of,
    origin,
    redirect_target,
    refusal,
    session_redactor,
    where,
)
from cidrep.runner.ratelimit import RateLimiter
from cidrep.runner.retry import (
    RetryableStatus,
    attempts_text,
    is_retry_status,
    parse_retry_after,
    status_message,
    throttle_wait,
    timeout_message,
    too_big_message,
)

USER_AGENT = f"cidrep/{__version__} (caller-ID reputation monitor)"
MAX_REDIRECTS = 5
_DROPPED_ON_READ = ("content-encoding", "content-length", "transfer-encoding")

T = TypeVar("T")


class _DeadlineExceeded(Exception):
    """Our own deadline ended an attempt (retryable, like a transport timeout)."""


_RETRIED = (RetryableStatus, _DeadlineExceeded, httpx.TransportError)


class BodyStream:
    """A response being streamed: ``status_code``, ``headers``, capped ``aiter_bytes()``.

    Once the body is streaming a failure is final (``SourceError``, no retry): part of
    the body is already with the caller.
    """

    def __init__(self, response: httpx.Response, session: HttpSession, host: str) -> None:
        self._response = response
        self._session = session
        self._host = host
        self.status_code = response.status_code
        self.headers = response.headers
        self.url = response.url

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        session = self._session
        try:
            async for chunk in session._capped(self._response, self._host):
                yield chunk
        except httpx.TimeoutException:
            raise session._fail(timeout_message(self._host, session._timeout, None)) from None
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise session._fail(f"{self._host} broke off the body: {reason}") from None


class HttpSession:
    """The ``Http`` protocol of ``cidrep.contract`` for one source and one run."""

    def __init__(
        self,
        source: str,
        settings: SourceSettings,
        client: httpx.AsyncClient | None = None,
        redact: Redactor | Callable[[str], str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.settings = settings
        self.client = client or make_client(settings)
        self.sleep = sleep  # injectable so tests can assert waits without waiting
        self.clock = clock
        self.limiter = RateLimiter(settings.rate_limit, clock=clock, sleep=sleep)
        self.semaphore = asyncio.Semaphore(settings.concurrency)
        self.redact, self._forms = session_redactor(settings, redact)
        self.requests = 0
        self.retries = 0
        self._timeout = settings.timeout.total_seconds()
        self._cap = int(settings.max_response_bytes)
        self._base = origin(settings.base_url) if settings.base_url else None
        self._paused_until = 0.0  # clock() time before which no request starts
        self._gone: str | None = None  # why this run sends no more requests

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- the two methods of the Http protocol ------------------------------------

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The final response, body read and capped; non-retryable statuses returned."""
        host = host_of(url)
        return await self._retrying(host, lambda: self._get_once(url, params, headers, host))

    @asynccontextmanager
    async def stream(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> AsyncIterator[BodyStream]:
        """Headers obtained with retries, then the body under the same deadline.

        The deadline runs from the start of the successful attempt to the end of the
        ``async with`` block, whatever the block awaits; the request keeps its
        concurrency slot until then. Consume ``aiter_bytes()`` in the entering task.
        """
        host = host_of(url)
        response, when = await self._retrying(
            host, lambda: self._stream_once(url, params, headers, host)
        )
        try:
            async with asyncio.timeout_at(when) as deadline:
                yield BodyStream(response, self, host)
        except TimeoutError:
            if deadline.expired():
                raise self._fail(timeout_message(host, self._timeout, None)) from None
            raise
        finally:
            try:
                await response.aclose()
            finally:
                self.semaphore.release()

    # -- retries -----------------------------------------------------------------

    async def _retrying(self, host: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` under the retry policy of ``cidrep.runner.retry`` (tenacity).

        A Retry-After within the ceiling pauses the whole source (every request's gate
        waits, this request's next attempt too), so tenacity itself waits 0 then; a
        longer one ends this run's requests to the source. Other retryable failures
        wait an exponential backoff with jitter.
        """
        s = self.settings
        ceiling = s.retry_after_max.total_seconds()
        initial = s.backoff_initial.total_seconds()
        backoff = wait_exponential(multiplier=initial, max=s.backoff_max.total_seconds()) + (
            wait_random(0, initial)
        )
        count = 0

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return 0.0 if getattr(exc, "retry_after", None) is not None else backoff(state)

        def count_retry(_state: RetryCallState) -> None:
            self.retries += 1

        async def sleep(seconds: float) -> None:
            if seconds > 0:  # 0: the gate of the next attempt waits for the pause
                await self.sleep(seconds)

        async def once() -> T:
            nonlocal count
            count += 1
            try:
                return await attempt()
            except RetryableStatus as exc:
                if exc.retry_after is not None and exc.retry_after > ceiling:
                    self._gone = status_message(host, exc, count, ceiling)
                    raise self._fail(self._gone) from None
                if exc.retry_after is not None:
                    until = self.clock() + exc.retry_after
                    self._paused_until = max(self._paused_until, until)
                raise

        try:
            async for attempt_ in AsyncRetrying(
                retry=retry_if_exception_type(_RETRIED),
                stop=stop_after_attempt(s.max_attempts),
                wait=wait,
                sleep=sleep,
                before_sleep=count_retry,
                reraise=True,
            ):
                with attempt_:
                    return await once()
        except RetryableStatus as exc:
            raise self._fail(status_message(host, exc, count, ceiling)) from None
        except (_DeadlineExceeded, httpx.TimeoutException):
            raise self._fail(timeout_message(host, self._timeout, count)) from None
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise self._fail(f"cannot reach {host}: {reason} ({attempts_text(count)})") from None
        except httpx.HTTPError as exc:  # e.g. a broken gzip body: asking again won't fix it
            raise self._fail(f"{host}: {str(exc) or type(exc).__name__}") from None
        except httpx.InvalidURL as exc:  # e.g. a redirect to "javascript:x"
            raise self._fail(f"{host}: sent an address that is not a valid URL ({exc})") from None
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def _deadline(self) -> AsyncIterator[asyncio.Timeout]:
        """One attempt's deadline (started by its first gate); hitting it is retryable."""
        try:
            async with asyncio.timeout(None) as deadline:
                yield deadline
        except TimeoutError:
            if deadline.expired():
                raise _DeadlineExceeded from None
            raise

    async def _get_once(
        self, url: str, params: dict[str, Any] | None, headers: dict[str, str] | None, host: str
    ) -> httpx.Response:
        async with self.semaphore, self._deadline() as deadline:
            response = await self._open(url, params, headers, deadline)
            try:
                self._check(response, host)
                body = bytearray()
                async for chunk in self._capped(response, host):
                    body += chunk
            finally:
                await response.aclose()
        # the body is decoded already: drop the headers that describe the wire form
        kept = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROPPED_ON_READ
        ]
        extensions = {k: v for k, v in response.extensions.items() if k != "network_stream"}
        return httpx.Response(
            response.status_code,
            headers=kept,
            content=bytes(body),
            request=response.request,
            extensions=extensions,
        )

    async def _stream_once(
        self, url: str, params: dict[str, Any] | None, headers: dict[str, str] | None, host: str
    ) -> tuple[httpx.Response, float]:
        """Open a response whose headers passed the checks; keeps the semaphore on success."""
        await self.semaphore.acquire()
        try:
            async with self._deadline() as deadline:
                response = await self._open(url, params, headers, deadline)
                try:
                    self._check(response, host)
                except BaseException:
                    await response.aclose()
                    raise
        except BaseException:
            self.semaphore.release()
            raise
        when = deadline.when()
        assert when is not None  # set by the first hop's gate
        return response, when

    def _check(self, response: httpx.Response, host: str) -> None:
        """Raise for a retryable status or a declared size over the cap."""
        if is_retry_status(response.status_code):
            wait = (
                throttle_wait(response.headers)
                if response.status_code == 429
                else parse_retry_after(response.headers.get("retry-after"))
            )
            raise RetryableStatus(response.status_code, wait)
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self._cap:
            raise self._fail(too_big_message(host, self._cap, self.source))

    # -- one attempt: gate, credential rule, redirects, size ---------------------

    async def _gate(self, deadline: asyncio.Timeout) -> None:
        """Wait for the source's pause and a rate-limit slot; the deadline is on hold.

        The first call starts the deadline; later ones (redirect hops) extend it by the
        time spent waiting here, so only time spent on the server counts.
        """
        if self._gone:
            raise self._fail(self._gone)
        loop = asyncio.get_running_loop()
        when = deadline.when()
        deadline.reschedule(None)
        started = loop.time()
        seen = None
        while self._paused_until != seen:  # a pause extended while we slept counts too
            seen = self._paused_until
            wait = seen - self.clock()
            if wait > 0:
                await self.sleep(wait)
        await self.limiter.acquire()
        now = loop.time()
        deadline.reschedule(now + self._timeout if when is None else when + (now - started))

    async def _open(
        self,
        url: str,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
        deadline: asyncio.Timeout,
    ) -> httpx.Response:
        """Send the request and follow redirects; return the final response, body unread."""
        request = self.client.build_request("GET", url, params=params, headers=headers)
        carried = carries(self._forms, request, url, params)
        if carried and not self._trusted(request.url):
            raise self._fail(refusal(request.url, self._base, self.settings.base_url))
        for _hop in range(MAX_REDIRECTS + 1):
            await self._gate(deadline)
            self.requests += 1
            response = await self.client.send(request, stream=True, follow_redirects=False)
            if not response.has_redirect_location:
                return response
            await response.aclose()
            location = response.headers["location"]
            target = redirect_target(request.url, location)
            if target is None:
                raise self._fail(f"{where(request.url)} redirected to an unusable URL: {location}")
            request = self.client.build_request("GET", target, headers=headers)
            if not self._trusted(request.url) and (
                carried or carries(self._forms, request, str(target), None)
            ):
                raise self._fail(
                    f"{where(response.url)} redirected to another host ({where(target)}); "
                    "not following it with credentials"
                )
        raise self._fail(f"{host_of(url)} redirected more than {MAX_REDIRECTS} times")

    def _trusted(self, url: httpx.URL) -> bool:
        return self._base is not None and origin(url) == self._base

    async def _capped(self, response: httpx.Response, host: str) -> AsyncIterator[bytes]:
        """The decoded body, ended with ``SourceError`` as soon as it passes the cap."""
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > self._cap:
                raise self._fail(too_big_message(host, self._cap, self.source))
            yield chunk

    def _fail(self, message: str) -> SourceError:
        """A ``SourceError`` whose message is redacted first, then cut to one line."""
        return SourceError(self.redact(message))


def make_client(settings: SourceSettings) -> httpx.AsyncClient:
    """The source's client: our deadline is the rule, httpx's timeout the backstop.

    Redirects are never followed by httpx: ``HttpSession`` follows them itself so that
    each hop is checked against the credential rule and rate limited.
    """
    return httpx.AsyncClient(
        timeout=settings.timeout.total_seconds(),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )
