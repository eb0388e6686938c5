"""Retry policy: what is retried, how long to wait, and when to give up.

Retried: connection errors, timeouts, HTTP 5xx and 429. Waits grow exponentially with
jitter; a ``Retry-After`` (seconds or HTTP date) is honoured exactly when it is within
the configured ceiling. A longer one means the source wants us gone for a while:
give up now and let the next run try, instead of sleeping inside a cron job.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def is_retry_status(status: int) -> bool:
    return status == 429 or status >= 500


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
