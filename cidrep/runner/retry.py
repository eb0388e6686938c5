"""Retry policy: what is retried, how long to wait, when to give up, and what to say.

Retried: connection errors, timeouts (the whole-request deadline included), HTTP 5xx
and 429. Waits grow exponentially with jitter, so many clients throttled together do
not retry in lockstep. A ``Retry-After`` (seconds or HTTP date) is honoured exactly
when it is within the configured ceiling, and it pauses the whole source, not just the
request that got it (the session does that). A longer one means the source wants us
gone for a while: give up now and let the next run try, instead of sleeping inside a
cron job.

Not retried: a body over ``max_response_bytes`` (asking again would only download it
again), a refused redirect or credential, and any failure once a streamed body has
started (its first part is already with the caller).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


def is_retry_status(status: int) -> bool:
    return status == 429 or status >= 500


def throttle_wait(headers: Any, now: datetime | None = None) -> float | None:
    """Seconds a 429 asks us to wait: ``Retry-After``, else ``X-RateLimit-Reset`` (pure).

    Many APIs (Telnyx, GitHub-style) send only the reset header. Its value is either
    seconds until the reset or a Unix time; a number above 10^9 is read as a time.

    | Retry-After | X-RateLimit-Reset        | wait                         |
    |-------------|--------------------------|------------------------------|
    | 30          | 5                        | 30 (Retry-After wins)        |
    | absent      | 12                       | 12                           |
    | absent      | now + 40 (Unix time)     | 40                           |
    | absent      | in the past / unreadable | None (backoff decides)       |
    """
    wait = parse_retry_after(headers.get("retry-after"), now)
    if wait is not None:
        return wait
    text = (headers.get("x-ratelimit-reset") or "").strip()
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value < 0:  # NaN or negative
        return None
    if value > 1e9:
        value -= (now or datetime.now(UTC)).timestamp()
        if value < 0:
            return None
    return value


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, or None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, delta)


class RetryableStatus(Exception):
    """An HTTP answer worth retrying (5xx, 429); carries the server's Retry-After."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def attempts_text(count: int) -> str:
    """``"1 attempt"``, ``"4 attempts"``."""
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def status_message(host: str, exc: RetryableStatus, attempts: int, ceiling: float) -> str:
    """The one line for a retryable status that ended the request's attempts."""
    retry_after = exc.retry_after
    if retry_after is not None and retry_after > ceiling:
        who = (
            f"throttled by {host} (HTTP 429)"
            if exc.status == 429
            else f"{host} is unavailable (HTTP {exc.status})"
        )
        return (
            f"{who}: Retry-After {retry_after:g}s exceeds retry_after_max {ceiling:g}s; "
            "will try again next run"
        )
    if exc.status == 429:
        return f"throttled by {host} (HTTP 429) after {attempts_text(attempts)}"
    return f"{host} answered HTTP {exc.status} after {attempts_text(attempts)}"


def timeout_message(host: str, seconds: float, attempts: int | None) -> str:
    """The one line for a deadline hit (``attempts`` None: while a stream was read)."""
    limit = f"{host} did not answer within {seconds:g}s"
    if attempts is None:
        return f"{limit} (the timeout covers the whole body)"
    return f"{limit} ({attempts_text(attempts)})"


def too_big_message(host: str, cap: int, source: str) -> str:
    """The one line for a body over ``max_response_bytes`` (never retried)."""
    return (
        f"{host} sent more than {readable_size(cap)} (max_response_bytes); "
        f"raise max_response_bytes in [sources.{source}] if that is expected"
    )


_UNITS = [
    (1000**4, "TB"),
    (1024**4, "TiB"),
    (1000**3, "GB"),
    (1024**3, "GiB"),
    (1000**2, "MB"),
    (1024**2, "MiB"),
    (1000, "KB"),
    (1024, "KiB"),
]


def readable_size(size: int) -> str:
    """``50000000`` -> ``"50 MB"``, ``1024`` -> ``"1 KiB"``, ``1500`` -> ``"1.5 KB"``.

    The unit the user most likely wrote (an exact multiple) wins, so a message echoes
    the configured ``max_response_bytes`` as it was set.
    """
    for unit, name in sorted(_UNITS, reverse=True):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    for unit, name in _UNITS:
        if size >= unit and not name.endswith("iB"):
            return f"{size / unit:.3g} {name}"
    return f"{size} bytes"
