"""The ``ChannelHttp`` poster handed to channel plugins.

One POST, no redirects (a webhook URL is a secret; a redirect could send it, or the
payload, elsewhere), a deadline for the whole exchange, at most 64 KB of the answer
read, and a 429's Retry-After waited within the run up to ``retry_after_max`` (with
tenacity), else handed back as ``DeliveryError(retry_after=...)`` for a later run.
Every failure message names the host only and goes through the redactor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from cidrep import __version__
from cidrep.channels import ChannelSettings, DeliveryError
from cidrep.redaction import Redactor
from cidrep.runner.retry import parse_retry_after

MAX_ANSWER = 64 * 1024
USER_AGENT = f"cidrep/{__version__} (caller-ID reputation alerts)"


@dataclass
class Answer:
    status_code: int
    headers: httpx.Headers
    text: str


class _Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after


class Poster:
    """``ChannelHttp`` for one channel."""

    def __init__(
        self,
        settings: ChannelSettings,
        redact: Redactor,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.redact = redact
        self.timeout = settings.timeout.total_seconds()
        self.client = client or httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        self.sleep = sleep
        self.requests = 0

    async def aclose(self) -> None:
        await self.client.aclose()

    async def post(
        self, url: str, *, content: bytes, headers: dict[str, str] | None = None
    ) -> Answer:
        host = httpx.URL(url).host or "the channel"
        ceiling = self.settings.retry_after_max.total_seconds()

        async def wait(seconds: float) -> None:
            await self.sleep(seconds)

        def wait_for(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return exc.retry_after if isinstance(exc, _Throttled) else 0.0

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(
                    lambda e: isinstance(e, _Throttled) and e.retry_after <= ceiling
                ),
                stop=stop_after_attempt(3),
                wait=wait_for,
                sleep=wait,
                reraise=True,
            ):
                with attempt:
                    return await self._once(url, host, content, headers or {})
        except _Throttled as exc:
            raise DeliveryError(
                f"{host} throttled us (429); retry after {exc.retry_after:.0f}s",
                retry_after=exc.retry_after,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, url: str, host: str, content: bytes, headers: dict[str, str]) -> Answer:
        self.requests += 1
        try:
            async with asyncio.timeout(self.timeout):
                async with self.client.stream(
                    "POST", url, content=content, headers=headers
                ) as response:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk[: MAX_ANSWER - len(body)]
                        if len(body) >= MAX_ANSWER:
                            break
        except TimeoutError:
            raise DeliveryError(f"{host} did not answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            reason = self.redact.one_line(str(exc) or type(exc).__name__)
            raise DeliveryError(f"cannot reach {host}: {reason}") from None
        if response.has_redirect_location:
            raise DeliveryError(
                f"{host} answered {response.status_code} with a redirect; not following it "
                "(a channel URL is a secret): fix the URL in the config",
                permanent=True,
            )
        if response.status_code == 429:
            after = parse_retry_after(response.headers.get("retry-after"))
            raise _Throttled(after if after is not None else 60.0)
        return Answer(response.status_code, response.headers, body.decode("utf-8", "replace"))
