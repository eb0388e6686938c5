"""``[sources.twilio]`` settings: credentials, the optional Nomorobo add-on, honest limits.

Both credentials are ``SecretStr``: they are redacted from every message and never
stored. Twilio authenticates with HTTP Basic, so what travels is neither value but
``base64(account_sid:auth_token)``; ``secrets`` adds that spelling too, so the core
redacts it and (because the session recognises it in the ``Authorization`` header)
never sends it to any origin but ``base_url``'s, on a redirect or otherwise.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta

from pydantic import ByteSize, Field, SecretStr, field_validator

from cidrep.contract import MB, Duration, Rate, RateLimit, SourceSettings

# An Account SID (AC...) or an API Key SID (SK...): two letters and 32 hex digits.
SID = re.compile(r"(AC|SK)[0-9a-fA-F]{32}")


def basic_credentials(account_sid: str, auth_token: str) -> str:
    """The ``Authorization: Basic`` payload Twilio expects (RFC 7617, UTF-8)."""
    return base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")


class TwilioSettings(SourceSettings):
    """``[sources.twilio]``: Twilio Lookup v2 (caller name, line type) and Nomorobo."""

    base_url: str = Field(
        default="https://lookups.twilio.com",
        description="Twilio Lookup host (v2 for CNAM and line type, v1 for the add-on)",
    )
    account_sid: SecretStr | None = Field(
        default=None,
        description="Twilio Account SID (AC...) or API Key SID (SK...): the Basic-auth user",
    )
    auth_token: SecretStr | None = Field(
        default=None,
        description="Twilio Auth Token (or the API Key's secret): the Basic-auth password",
    )
    nomorobo_spamscore: bool = Field(
        default=False,
        description=(
            "also ask the Nomorobo Spam Score add-on (Lookup v1 AddOns, installed in the "
            "Twilio Marketplace, billed per request): the only part that gives a verdict"
        ),
    )
    rate_limit: RateLimit = Field(default=Rate(5, 1), description="requests per second/minute")
    concurrency: int = Field(default=2, ge=1, le=64, description="requests in flight at once")
    interval: Duration = Field(default=timedelta(hours=24), description="how often a number is due")
    timeout: Duration = Field(
        default=timedelta(seconds=20),
        description="deadline for one whole request, body included (CNAM dips are slow-ish)",
    )
    max_response_bytes: ByteSize = Field(
        default=ByteSize(1 * MB),
        gt=0,
        description='largest response body read (a lookup answer is ~1 KB), e.g. "1MB"',
    )

    @field_validator("account_sid", mode="after")
    @classmethod
    def _sid_shape(cls, value: SecretStr | None) -> SecretStr | None:
        """A SID is ``AC``/``SK`` plus 32 hex digits; anything else would only ever 401.

        Runs after ``SecretStr`` wrapping, so a rejected value is never echoed.
        Empty means unset (``preflight`` then skips the source).
        """
        if value is None or not value.get_secret_value():
            return value
        if not SID.fullmatch(value.get_secret_value()):
            raise ValueError(
                "is not a Twilio SID: expected AC (Account SID) or SK (API Key SID) "
                "followed by 32 hex digits"
            )
        return value

    def credentials(self) -> tuple[str, str] | None:
        """``(account_sid, auth_token)`` when both are set, else None."""
        sid = self.account_sid.get_secret_value() if self.account_sid else ""
        token = self.auth_token.get_secret_value() if self.auth_token else ""
        return (sid, token) if sid and token else None

    def secrets(self) -> list[str]:
        """Both credentials, plus the Basic-auth encoding that actually travels."""
        found = super().secrets()
        pair = self.credentials()
        if pair is not None:
            found.append(basic_credentials(*pair))
        return found
