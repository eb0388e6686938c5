"""``SourceSettings``: the options every ``[sources.<name>]`` section has.

Plugins subclass it for their own options (re-exported by ``cidrep.contract``).
Bounds that hold for every source (interval, timeout, credentials) are validators
here, so a plugin that redefines a field keeps them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)

from cidrep.redaction import Redactor
from cidrep.timeutil import Rate, parse_duration, parse_rate

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
RateLimit = Annotated[Rate, BeforeValidator(parse_rate)]

MB = 1_000_000
DEFAULT_MAX_RESPONSE = 50 * MB


MAX_DURATIONS = {"interval": timedelta(days=366), "timeout": timedelta(hours=1)}


def _days_or_hours(value: timedelta) -> str:
    return f"{value.days}d" if value.days else f"{int(value.total_seconds() // 3600)}h"


def credential_problem(value: str) -> str | None:
    """Why a credential cannot be right, or None. Never quotes the credential.

    Keys and tokens are printable ASCII without spaces; a trailing newline (pasted
    from a file) or a non-ASCII look-alike would be sent as is and rejected by the
    source with a confusing error, or show up escaped in messages.
    """
    if not value:
        return None
    if value != value.strip():
        return "has leading or trailing whitespace (a pasted line break?); remove it"
    if not value.isascii():
        return "has a non-ASCII character; keys and tokens are plain ASCII"
    if not value.isprintable() or any(c.isspace() for c in value):
        return "has a space or control character; keys and tokens have none"
    return None


class SourceSettings(BaseModel):
    """Options every ``[sources.<name>]`` section has; plugins subclass to add theirs.

    Credentials belong in ``SecretStr`` fields: they are redacted from every message
    and never stored.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    enabled: bool = Field(default=True, description="run this source at all")
    base_url: str = Field(default="", description="where to reach it (proxy, mirror, test)")
    rate_limit: RateLimit = Field(default=Rate(1, 1), description="requests per second/minute")
    concurrency: int = Field(default=2, ge=1, le=64, description="requests in flight at once")
    interval: Duration = Field(default=timedelta(hours=24), description="how often a number is due")
    timeout: Duration = Field(
        default=timedelta(seconds=30), description="deadline for one whole request, body included"
    )
    max_response_bytes: ByteSize = Field(
        default=ByteSize(DEFAULT_MAX_RESPONSE),
        gt=0,
        description='largest response body read, e.g. "50MB"; more is a source error',
    )
    max_attempts: int = Field(default=4, ge=1, le=20, description="tries per request")
    backoff_initial: Duration = Field(
        default=timedelta(seconds=1), description="first retry wait; doubles, plus jitter"
    )
    backoff_max: Duration = Field(default=timedelta(seconds=30), description="longest backoff")
    retry_after_max: Duration = Field(
        default=timedelta(minutes=5),
        description="longest Retry-After honoured; longer means give up until next run",
    )

    daily_budget: float | None = Field(
        default=None,
        gt=0,
        description="cost units a paid source may spend per UTC day; then it stops until tomorrow",
    )

    confirm_after: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="flagged checks in a row before an alert; unset: [alerts] confirm_after",
    )
    recover_after: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="clean checks in a row before a recovery; unset: [alerts] recover_after",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("interval", "timeout", mode="after")
    @classmethod
    def _bounded(cls, value: timedelta, info: Any) -> timedelta:
        """Bounds that hold for every source, even where a plugin redefines the field."""
        most = MAX_DURATIONS[info.field_name]
        if value > most:
            raise ValueError(f"must be at most {_days_or_hours(most)}")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _credentials(cls, value: Any) -> Any:
        """Every ``SecretStr`` field, in any plugin's settings, is a plausible credential."""
        if isinstance(value, SecretStr):
            problem = credential_problem(value.get_secret_value())
            if problem:
                raise ValueError(problem)
        return value

    def history_days(self) -> int:
        """Days of stored history this source's verdict reads (0: none). Retention
        (``retention_days``) may not be shorter, or pruning would change verdicts."""
        return 0

    def secrets(self) -> list[str]:
        """Every credential value, for redaction."""
        found = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
        return found

    def redactor(self) -> Redactor:
        """A redactor for this source's own secrets (all their spellings)."""
        return Redactor(self.secrets())
