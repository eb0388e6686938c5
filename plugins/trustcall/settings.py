"""``[sources.trustcall]`` settings: the login ID, where the API lives, the batch, the pace.

Defaults, and why (sources.md §7e):

- ``base_url`` ``https://dataapi.dncscrub.com/v1.5/TrustCall``: the API root DNCScrub
  documents for TrustCall; ``/Get`` is appended. The login ID travels in a header, and
  the session sends it only to ``base_url``'s origin (redirects included), so the
  default must be the host that answers;
- ``login_id``: required; your DNCScrub API key ("LoginId"), sent as the ``loginId``
  header. A ``SecretStr``: redacted from every message and never stored. Unset or
  empty, ``preflight`` skips the source;
- ``batch_size`` 200: TrustCall's ``Get`` takes at most 200 numbers in one
  ``phoneList``, and fewer requests is what its 100 requests/min limit rewards;
- ``flag_at`` ``"high"``: ``CurrScore`` is TrustCall's average over the carriers;
  ``High`` flags. ``Medium`` says some carriers label the number, and those carriers
  already flag it on their own lane; ``"medium"`` makes the overall answer flag too;
- ``rate_limit`` 100/min: TrustCall's published limit (docs "Rate limits");
- ``concurrency`` 1: with 200 numbers a request, one in flight checks 20,000 numbers
  a minute; more would only risk the published limit;
- ``interval`` 24h: TrustCall re-checks monitored numbers with the carriers about
  daily ("within 24 hours" for a new number), so reading more often shows nothing new;
- ``timeout`` 60s and ``max_response_bytes`` 10MB: a batch of 200 answers is small,
  but each answer carries the number's FTC complaints in full, so a few heavily
  reported numbers can make one body megabytes long.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import ByteSize, Field, SecretStr, field_validator

from cidrep.contract import MB, Duration, Rate, RateLimit, SourceSettings

DEFAULT_BASE_URL = "https://dataapi.dncscrub.com/v1.5/TrustCall"
MAX_BATCH = 200  # TrustCall's limit for one GET phoneList


class TrustcallSettings(SourceSettings):
    """``[sources.trustcall]``: DNCScrub TrustCall per-carrier label monitoring."""

    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="the TrustCall API root; /Get?phoneList=... is appended (proxy, test)",
    )
    login_id: SecretStr | None = Field(
        default=None,
        description="DNCScrub API key (LoginId), sent as the loginId header; secret, never stored",
    )
    batch_size: int = Field(
        default=MAX_BATCH,
        ge=1,
        le=MAX_BATCH,
        description="numbers per request (TrustCall takes at most 200 per GET)",
    )
    flag_at: Literal["high", "medium"] = Field(
        default="high",
        description='lowest CurrScore that flags the overall answer: "high" or "medium"',
    )
    rate_limit: RateLimit = Field(
        default=Rate(100, 60), description="requests per second/minute (TrustCall: 100/min)"
    )
    concurrency: int = Field(default=1, ge=1, le=64, description="requests in flight at once")
    interval: Duration = Field(default=timedelta(hours=24), description="how often a number is due")
    timeout: Duration = Field(
        default=timedelta(seconds=60), description="deadline for one whole request, body included"
    )
    max_response_bytes: ByteSize = Field(
        default=ByteSize(10 * MB),
        gt=0,
        description='largest response body read, e.g. "10MB" (FTC complaints come in full)',
    )

    @field_validator("base_url")
    @classmethod
    def _base_url_required(cls, value: str) -> str:
        """An empty base_url would leave the login ID with no host allowed to receive it."""
        if not value:
            raise ValueError("must be set (the TrustCall API root)")
        return value
