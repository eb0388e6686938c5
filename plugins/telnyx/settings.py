"""``[sources.telnyx]`` settings: the key, the enterprise, fresh or cached reads, the flag rule.

Defaults, and why (sources.md §6b):

- ``base_url`` ``https://api.telnyx.com/v2``: the API root the paths are appended to;
- ``api_key`` (``Authorization: Bearer``) and ``enterprise_id``: both required, so the
  source is skipped, not failed, until both are set;
- ``fresh`` false: a cached read is free, a fresh read (``?fresh=true``) is billed per
  number. Telnyx refreshes every monitored number itself at the enterprise's
  ``check_frequency`` (business-daily by default), so cached reads are what a daily
  monitor needs; fresh reads are opt-in and counted by the spend guard;
- ``flag_at`` ``"high"``: Telnyx documents ``high`` as "likely flagged as spam by
  carriers"; ``"medium"`` flags earlier, at the cost of alerts for numbers no carrier
  labels yet;
- ``verify_enterprise`` true: before the first number of a run, read the enterprise's
  reputation settings once (free) so an unapproved LOA, a pending or rejected
  activation or a wrong ``enterprise_id`` is one clear error, and a 404 for a number
  can only mean "this number is not enrolled";
- ``rate_limit`` 2/s, ``concurrency`` 2: Telnyx does not publish the limit of this
  endpoint (its 429 carries ``x-ratelimit-*`` headers); two a second is gentle and
  checks 1,000 numbers in under ten minutes;
- ``backoff_initial`` 2s, ``backoff_max`` 60s: the session honours ``Retry-After`` but
  not ``x-ratelimit-reset``, so a throttle is met with backoff; longer waits than the
  common 1 s give a per-minute window a chance to reset before the attempts run out;
- ``interval`` 24h: the cached data changes at most once a business day;
- ``timeout`` 20s, ``max_response_bytes`` 1MB: one answer is well under 1 KB.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import ByteSize, Field, SecretStr, field_validator

from cidrep.contract import MB, Duration, Rate, RateLimit, SourceSettings

DEFAULT_BASE_URL = "https://api.telnyx.com/v2"
# Telnyx enterprise ids are lowercase UUIDs; any id of URL-safe characters is accepted
# (so a format change does not lock users out), nothing that could change the path.
ENTERPRISE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


class TelnyxSettings(SourceSettings):
    """``[sources.telnyx]``: credentials, enterprise, read mode, flag rule and pace."""

    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="the API root; /enterprises/{id}/reputation/... is appended",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="Telnyx API key, sent as Authorization: Bearer; secret, never stored",
    )
    enterprise_id: str | None = Field(
        default=None,
        description="the Enterprise whose Number Reputation monitors your numbers (a UUID)",
    )
    fresh: bool = Field(
        default=False,
        description="ask for live data (?fresh=true, billed per number) instead of cached",
    )
    flag_at: Literal["high", "medium"] = Field(
        default="high",
        description='lowest spam_risk that flags a number: "high" or "medium"',
    )
    verify_enterprise: bool = Field(
        default=True,
        description="check once per run that the enterprise's reputation and LOA are approved",
    )
    rate_limit: RateLimit = Field(default=Rate(2, 1), description="requests per second/minute")
    concurrency: int = Field(default=2, ge=1, le=64, description="requests in flight at once")
    interval: Duration = Field(default=timedelta(hours=24), description="how often a number is due")
    timeout: Duration = Field(
        default=timedelta(seconds=20), description="deadline for one whole request, body included"
    )
    max_response_bytes: ByteSize = Field(
        default=ByteSize(1 * MB), gt=0, description='largest response body read, e.g. "1MB"'
    )
    backoff_initial: Duration = Field(
        default=timedelta(seconds=2), description="first retry wait; doubles, plus jitter"
    )
    backoff_max: Duration = Field(default=timedelta(seconds=60), description="longest backoff")

    @field_validator("enterprise_id", mode="before")
    @classmethod
    def _enterprise_id(cls, value: object) -> object:
        """Blank is unset (the source is skipped); otherwise one safe path segment."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        if not ENTERPRISE_ID.fullmatch(text):
            raise ValueError(
                "must be the enterprise's id (a UUID such as "
                "'4a6192a4-573d-446d-b3ce-aff9117272a6'): letters, digits, '-' and '_' only"
            )
        return text
