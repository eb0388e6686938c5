"""``[sources.tellows]`` settings: the partner credentials, how the key is sent, the flag rule.

Both credentials are ``SecretStr``: redacted from every message and never stored.
With ``key_param = "apikeyMd5"`` only the MD5 of the key goes over the wire; that hash
is as good as the key to tellows, so ``secrets()`` lists it too (redaction, and the
session's rule that a credential never leaves ``base_url``'s origin).
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Literal

from pydantic import ByteSize, Field, SecretStr, field_validator

from cidrep.contract import MB, Duration, Rate, RateLimit, SourceSettings

__all__ = ["DEFAULT_FLAG_MIN_SCORE", "TellowsSettings"]

DEFAULT_FLAG_MIN_SCORE = 7  # tellows colours 7-9 red; third-party clients block at 6 or 7
COUNTRY = re.compile(r"[a-z]{2}")


def _filled(value: SecretStr | None) -> str | None:
    """The secret's value, or None when unset or empty (an empty env var is unset)."""
    if value is None or not value.get_secret_value():
        return None
    return value.get_secret_value()


class TellowsSettings(SourceSettings):
    """``[sources.tellows]``: partner credentials, key spelling, country, the flag rule."""

    base_url: str = Field(
        default="https://www.tellows.de", description="tellows host serving /basic/num/"
    )
    partner: SecretStr | None = Field(
        default=None, description="tellows partner name (secret; sent as partner=)"
    )
    api_key: SecretStr | None = Field(
        default=None, description="tellows partner API key (secret; sent as apikey= or its MD5)"
    )
    key_param: Literal["apikey", "apikeyMd5"] = Field(
        default="apikey",
        description='"apikey": send the key; "apikeyMd5": send only its MD5 hex digest',
    )
    country: str = Field(
        default="",
        description='two-letter country sent as country= (e.g. "us"); empty: not sent',
    )
    flag_min_score: int = Field(
        default=DEFAULT_FLAG_MIN_SCORE,
        ge=6,
        le=9,
        description="tellows score (1-9) from which a number is flagged",
    )
    rate_limit: RateLimit = Field(default=Rate(1, 1), description="requests per second/minute")
    concurrency: int = Field(default=2, ge=1, le=64, description="requests in flight at once")
    interval: Duration = Field(default=timedelta(hours=24), description="how often a number is due")
    timeout: Duration = Field(
        default=timedelta(seconds=15), description="deadline for one whole request, body included"
    )
    max_response_bytes: ByteSize = Field(
        default=ByteSize(MB),
        gt=0,
        description="largest answer read (one number's JSON is a few KB)",
    )

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip().lower()
        if text and not COUNTRY.fullmatch(text):
            raise ValueError(f"{value!r} is not a two-letter country code such as 'us'")
        return text

    def credentials(self) -> tuple[str, str] | None:
        """``(partner, api_key)`` when both are set, else None."""
        partner, key = _filled(self.partner), _filled(self.api_key)
        if partner is None or key is None:
            return None
        return partner, key

    def missing(self) -> list[str]:
        """The names of the credentials that are unset or empty."""
        return [
            name
            for name, value in (("partner", self.partner), ("api_key", self.api_key))
            if _filled(value) is None
        ]

    def key_value(self) -> str | None:
        """What is sent for the key: the key itself, or its MD5 hex digest."""
        key = _filled(self.api_key)
        if key is None:
            return None
        if self.key_param == "apikeyMd5":
            return hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()
        return key

    def secrets(self) -> list[str]:
        """Both credentials and, when set, the key's MD5 (which tellows accepts as the key)."""
        found = super().secrets()
        key = _filled(self.api_key)
        if key is not None:
            found.append(hashlib.md5(key.encode(), usedforsecurity=False).hexdigest())
        return found
