"""``[sources.usacallerlookup]`` settings: where the API lives, how fast to ask, the flag rule.

Defaults follow what the service documents (sources.md §7a):

- ``rate_limit`` 50/min: the API allows 60 requests per minute **per IP**, and that
  budget is shared with anything else leaving the same address; the limiter spaces
  requests evenly, so 50/min (one every 1.2 s) keeps a margin for network jitter
  instead of meeting 429s at the edge of every minute;
- ``concurrency`` 2: the limiter does the spacing; two in flight hide the latency of a
  slow answer without bursting;
- ``interval`` 24h: the FTC data behind it is refreshed on weekdays and answers are
  cached for an hour, so asking more often than daily learns nothing;
- ``timeout`` 15s and ``max_response_bytes`` 1MB: a number profile is about 1 KB;
- ``confirm_after``/``recover_after`` 1: complaint counts are data, not a flaky label,
  so one check that meets the rule is a real change (as for the ``ftc`` and ``fcc``
  sources).

The API takes no key, so the only credential this source can hold is a password in
``base_url``'s userinfo (an authenticating proxy in front of it). ``secrets`` adds it,
so it is redacted from every message like a key, and the session never sends it to
another origin.

The flag rule has its own two options. The API only gives all-time totals and the
first and last complaint dates, not complaints per day, so the window applies to the
date of the most recent complaint (see ``verdict``).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote, urlsplit

from pydantic import ByteSize, Field

from cidrep.contract import MB, Duration, Rate, RateLimit, SourceSettings

DEFAULT_BASE_URL = "https://www.usacallerlookup.com/wp-json/ucl/v1"


class UsaCallerLookupSettings(SourceSettings):
    """``[sources.usacallerlookup]``: the API's address, pace and the flag rule.

    Off by default: it sends your numbers to an unofficial third party, so a user
    opts in (``enabled = true``) rather than finding out from ``cidrep privacy``.
    """

    enabled: bool = Field(
        default=False, description="run this source (off by default: opt in to send numbers)"
    )

    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="the API root; /number/NNNNNNNNNN is appended (proxy, mirror, test)",
    )
    rate_limit: RateLimit = Field(
        default=Rate(50, 60),
        description="requests per second/minute (the service allows 60/min per IP)",
    )
    concurrency: int = Field(default=2, ge=1, le=64, description="requests in flight at once")
    interval: Duration = Field(
        default=timedelta(hours=24),
        description="how often a number is due (answers are cached by the service for 1h)",
    )
    timeout: Duration = Field(
        default=timedelta(seconds=15), description="deadline for one whole request, body included"
    )
    max_response_bytes: ByteSize = Field(
        default=ByteSize(1 * MB),
        gt=0,
        description='largest response body read, e.g. "1MB" (a profile is ~1 KB)',
    )
    flag_min_complaints: int = Field(
        default=1,
        ge=1,
        le=1_000_000,
        description="FTC complaints (all time, as the service counts them) that flag a number",
    )
    flag_window_days: int = Field(
        default=30,
        ge=1,
        le=3660,
        description="...when the most recent of them is at most this many days old",
    )
    confirm_after: int | None = Field(
        default=1,
        ge=1,
        le=100,
        description="flagged checks in a row before an alert; unset: [alerts] confirm_after",
    )
    recover_after: int | None = Field(
        default=1,
        ge=1,
        le=100,
        description="clean checks in a row before a recovery; unset: [alerts] recover_after",
    )

    def secrets(self) -> list[str]:
        """Every credential value, for redaction: none of its own, but the password of
        ``base_url``'s userinfo (raw and decoded) when a proxy needs one."""
        found = super().secrets()
        password = urlsplit(self.base_url).password if self.base_url else None
        if password:
            found += [form for form in dict.fromkeys((password, unquote(password))) if form]
        return found
