"""``[sources.ipqs]`` settings: the key, where the API lives, how fast to ask, the flag rule.

Defaults, and why (sources.md §3):

- ``base_url`` ``https://www.ipqualityscore.com``: the host IPQS's own documentation
  uses. The key travels in the URL path, and the session refuses to send a credential
  to any origin but ``base_url``'s, redirects included; so the default must be the
  host that answers, not one that redirects to it (``ipqualityscore.com`` without
  ``www.`` would have to be followed to another origin, which is refused);
- ``api_key``: required; a ``SecretStr``, redacted from every message and never stored.
  Unset or empty, ``preflight`` skips the source;
- ``rate_limit`` 1/s and ``concurrency`` 1: IPQS publishes no request rate, and every
  lookup spends quota, so there is nothing to gain from bursts;
- ``interval`` 24h: a reputation score does not need re-reading more often, and the
  free tier (about 5,000 lookups a month) covers ~160 numbers checked daily;
- ``timeout`` 20s and ``max_response_bytes`` 1MB: an answer is about 1.5 KB;
- ``daily_budget`` is left unset like every source's, so a paid plan is never
  silently held back; on the free tier set it (e.g. 160) to spread the monthly
  quota instead of exhausting it early in the month;
- ``strictness`` 0: IPQS recommends starting at 0; higher levels judge more strictly
  and produce more false positives;
- ``flag_fraud_score`` 85: IPQS calls 75+ "suspicious" but "not necessarily
  fraudulent", and 85+ "high risk"; flagging at 75 would alert on numbers IPQS itself
  does not call risky. ``spammer`` and ``recent_abuse`` flag on their own (each can be
  turned off).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import ByteSize, Field, SecretStr, field_validator

from cidrep.contract import MB, Duration, Rate, RateLimit, SourceSettings

DEFAULT_BASE_URL = "https://www.ipqualityscore.com"


class IpqsSettings(SourceSettings):
    """``[sources.ipqs]``: IPQualityScore phone reputation."""

    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="the API host; /api/json/phone/KEY/NUMBER is appended (proxy, test)",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="IPQS API key (sent in the URL path); secret, never logged or stored",
    )
    strictness: int = Field(
        default=0, ge=0, le=2, description="IPQS strictness 0-2 (higher: stricter, more false hits)"
    )
    flag_fraud_score: int = Field(
        default=85,
        ge=1,
        le=100,
        description="fraud_score at or above which a number is flagged (IPQS: 85+ high risk)",
    )
    flag_spammer: bool = Field(default=True, description="flag a number IPQS marks spammer")
    flag_recent_abuse: bool = Field(
        default=True, description="flag a number IPQS marks recent_abuse"
    )
    rate_limit: RateLimit = Field(default=Rate(1, 1), description="requests per second/minute")
    concurrency: int = Field(default=1, ge=1, le=64, description="requests in flight at once")
    interval: Duration = Field(default=timedelta(hours=24), description="how often a number is due")
    timeout: Duration = Field(
        default=timedelta(seconds=20), description="deadline for one whole request, body included"
    )
    max_response_bytes: ByteSize = Field(
        default=ByteSize(1 * MB),
        gt=0,
        description='largest response body read, e.g. "1MB" (an answer is ~1.5 KB)',
    )

    @field_validator("base_url")
    @classmethod
    def _base_url_required(cls, value: str) -> str:
        """An empty base_url would leave the key with no host allowed to receive it."""
        if not value:
            raise ValueError("must be set (the IPQS API host)")
        return value
