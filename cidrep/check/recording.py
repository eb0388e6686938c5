"""What ``cidrep sources test`` shows of a request: a recording ``Http`` session, masked.

``RecordingHttp`` implements the ``Http`` protocol of ``cidrep.contract`` around the
runner's ``HttpSession`` (so every rule of a check applies: rate limit, retries,
deadline, size cap, the credential rule) and records each request as an
``Exchange``: method, URL and headers as sent, status, elapsed time, retries, error.
The checker cannot tell it is being recorded.

Masking, and why by name as well as by value: every spelling of every configured
secret is ``***`` (a key in the URL path, a query value, a header: ``Redactor``), and
the value of a credential-like header or query parameter (``Authorization``,
``X-Api-Key``, ``apikey=``, ``loginId``) is masked whatever it holds, because
``Basic base64(user:token)`` hides the secret's spellings. An auth scheme is kept
(``Basic ***``) so a wrong scheme can still be seen.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from cidrep.contract import SourceError, StreamedResponse
from cidrep.redaction import MASK, Redactor
from cidrep.runner.credentials import AUTH_HEADERS
from cidrep.runner.http import HttpSession

__all__ = ["Exchange", "OnePageRead", "RecordingHttp", "masked_headers", "masked_url"]

# Header and query-parameter names whose values are credentials, whatever they hold.
SENSITIVE = ("key", "token", "secret", "auth", "passw", "login", "cookie", "session", "sig")


class OnePageRead(BaseException):
    """Ends a feed's pull before its second request once one page was read.

    A ``BaseException``: a checker's ``except Exception`` must not turn it into an error.
    """


@dataclass
class Exchange:
    """One request as sent (masked) and what came of it."""

    method: str
    url: str  # masked
    headers: dict[str, str]  # masked
    status: int | None = None  # None: no response (transport failure, refusal)
    elapsed: float = 0.0  # seconds, retries and rate-limit waits included
    retries: int = 0
    error: str | None = None  # the session's one-line, redacted error

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": self.headers,
            "status": self.status,
            "elapsed_ms": round(self.elapsed * 1000),
            "retries": self.retries,
            "error": self.error,
        }


# -- masking ---------------------------------------------------------------------


def _sensitive(name: str) -> bool:
    lowered = name.lower()
    return lowered in AUTH_HEADERS or any(word in lowered for word in SENSITIVE)


def masked_url(url: str, redact: Redactor) -> str:
    """``url`` with every spelling of every secret, a password in it and the value of
    every credential-like query parameter replaced by ``***``."""
    text = redact.redact_text(url)
    parts = urlsplit(text)
    netloc = parts.netloc
    if parts.password:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:{MASK}@{host}"
    pieces = []
    for piece in parts.query.split("&") if parts.query else []:
        name, eq, _value = piece.partition("=")
        pieces.append(f"{name}={MASK}" if eq and _sensitive(unquote(name)) else piece)
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(pieces), parts.fragment))


def masked_headers(headers: Sequence[tuple[str, str]], redact: Redactor) -> dict[str, str]:
    """Header values with every secret spelling masked; credential-like headers masked
    whole, keeping an auth scheme (``Basic ***``, ``Bearer ***``) so it can be checked."""
    shown = {}
    for name, value in headers:
        if _sensitive(name):
            scheme, space, _rest = value.partition(" ")
            value = f"{scheme} {MASK}" if space and scheme.isalpha() else MASK
        shown[name] = redact.redact_text(value)
    return shown


# -- the recording session -------------------------------------------------------


class RecordingHttp:
    """The ``Http`` protocol around an ``HttpSession``: every request is recorded,
    masked. With ``one_page``, a request after a successful (2xx) one is not sent."""

    def __init__(self, session: HttpSession, redact: Redactor, one_page: bool = False) -> None:
        self.session = session
        self.redact = redact
        self.one_page = one_page
        self.exchanges: list[Exchange] = []

    def _start(
        self, url: str, params: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> Exchange:
        if self.one_page and any(200 <= (e.status or 0) < 300 for e in self.exchanges):
            raise OnePageRead
        try:
            request = self.session.client.build_request("GET", url, params=params, headers=headers)
            shown_url, pairs = str(request.url), list(request.headers.items())
        except Exception:  # an invalid URL: the session reports it when it tries
            shown_url, pairs = url, list((headers or {}).items())
        exchange = Exchange(
            "GET", masked_url(shown_url, self.redact), masked_headers(pairs, self.redact)
        )
        self.exchanges.append(exchange)
        return exchange

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        exchange = self._start(url, params, headers)
        started, retries = time.monotonic(), self.session.retries
        try:
            response = await self.session.get(url, params=params, headers=headers)
        except SourceError as exc:
            exchange.error = self.redact.one_line(str(exc))
            raise
        finally:
            exchange.elapsed = time.monotonic() - started
            exchange.retries = self.session.retries - retries
        exchange.status = response.status_code
        return response

    @asynccontextmanager
    async def stream(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> AsyncIterator[StreamedResponse]:
        exchange = self._start(url, params, headers)
        started, retries = time.monotonic(), self.session.retries
        try:
            async with self.session.stream(url, params=params, headers=headers) as response:
                exchange.status = response.status_code
                exchange.retries = self.session.retries - retries
                yield response
        except SourceError as exc:
            exchange.error = self.redact.one_line(str(exc))
            raise
        finally:
            exchange.elapsed = time.monotonic() - started
            exchange.retries = self.session.retries - retries
