"""The checker contract: the whole public surface a reputation-source plugin implements.

A checker is a class registered through the ``cidrep`` pluggy hook
``register_checkers(register)`` (see ``cidrep.hookspecs``). Built-in checkers use the
same door as third-party packages. A checker declares:

- ``name`` (the ``[sources.<name>]`` config section), ``description``;
- ``settings_model``: a ``SourceSettings`` subclass with its own options;
- ``disclosure``: one line saying what it sends, and to whom (``cidrep sources list``).

It has one of two shapes:

- ``LookupChecker``: asked about a batch of numbers, answers one ``Observation`` each
  (APIs that answer per number);
- ``FeedChecker``: pulls records new since a stored cursor, yields ``Sighting``s for the
  monitored numbers it matched locally, then ``assess``es each number from all its
  stored sightings (bulk public data that cannot be queried per number).

Checkers never touch the database and never decide retries: the runner gives them an
``Http`` session (rate limit, concurrency, retries with backoff and Retry-After, a
whole-request deadline and a response size cap already applied) and stores what they
return. Anything a checker raises becomes a recorded error for that source, never a
crash and never a verdict. Text a checker returns (labels, evidence, errors) is
redacted of every configured secret before it is stored or shown.

Plugins import only this module: what they legitimately need from the rest of
cidrep (the hook marker, number helpers, the complaint rule, redaction) is
re-exported at the bottom.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol

from pydantic import (
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)

from cidrep.redaction import Redactor, excerpt
from cidrep.timeutil import Rate, parse_duration, parse_rate


class Verdict(StrEnum):
    """The closed set of verdicts a source can give about a number.

    - ``clean``: the source looked and found nothing against the number;
    - ``flagged``: the source labels the number as spam/scam/robocall, or its data
      meets the source's flag rule (e.g. enough recent complaints);
    - ``unknown``: the source cannot judge this number (not covered, e.g. non-US);
    - ``error``: the check failed (transport, throttle, malformed answer). An error is
      recorded, but it never replaces the last real verdict.
    """

    CLEAN = "clean"
    FLAGGED = "flagged"
    UNKNOWN = "unknown"
    ERROR = "error"


# How bad a verdict is when several sources disagree; used for "worst verdict".
# An error outranks clean/unknown so a broken source is visible, but never a flag.
SEVERITY: dict[Verdict, int] = {
    Verdict.UNKNOWN: 0,
    Verdict.CLEAN: 1,
    Verdict.ERROR: 2,
    Verdict.FLAGGED: 3,
}


@dataclass(frozen=True)
class Observation:
    """What one source says about one number at one check.

    ``evidence`` must hold only facts about the number at the source (counts, first
    and last report dates, subjects) and nothing volatile such as the check time:
    identical observations are stored run-length, so noise would bloat history.
    """

    number: str  # E.164
    verdict: Verdict
    label: str | None = None  # label text as the source shows it ("Scam Likely")
    category: str | None = None  # normalised: robocall, telemarketing, scam, ...
    score: int | None = None  # 0-100 when the source has a score
    evidence: dict[str, Any] = field(default_factory=dict)
    url: str | None = None  # the number's page at the source, if any
    cost_units: float = 0.0  # what this check cost at the source (credits, calls)
    error: str | None = None  # one readable line when verdict is error

    @classmethod
    def failed(cls, number: str, message: str, cost_units: float = 0.0) -> Observation:
        return cls(number=number, verdict=Verdict.ERROR, error=message, cost_units=cost_units)


@dataclass(frozen=True)
class Sighting:
    """One record in a feed that names a monitored number (e.g. one FTC complaint).

    ``key`` identifies the record within the source so that reading the same data
    twice never counts it twice. ``detail`` keeps only what the assessment needs.
    """

    number: str  # E.164
    key: str
    occurred_at: str  # ISO date or datetime (UTC)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class FeedChunk:
    """A unit of feed progress, committed atomically with its cursor.

    A feed yields chunks of bounded size (a few thousand sightings at most), so a
    large file never sits in memory whole. ``done`` names the item (e.g. a file's
    date) that this chunk completes: it is recorded in the same transaction as the
    chunk's sightings and comes back in ``FeedRequest.done``, so an item is never
    skipped and never needs reading twice. A chunk in the middle of an item has
    ``done=None`` and keeps the previous ``cursor``.
    """

    sightings: list[Sighting]
    cursor: str | None
    stats: dict[str, int] = field(default_factory=dict)
    done: str | None = None


@dataclass(frozen=True)
class FeedRequest:
    """What the runner asks a feed to pull.

    ``targets`` are the E.164 numbers to match (all active monitored numbers).
    ``backfill`` is true when some target has never been assessed by this source, so
    the feed should also re-read its lookback window; sighting keys make re-reading
    harmless. ``done`` holds the items already fully ingested (see ``FeedChunk.done``).
    """

    cursor: str | None
    targets: frozenset[str]
    backfill: bool
    now: datetime
    done: frozenset[str] = frozenset()


class SourceError(Exception):
    """A source failed in a way worth one readable line (never include secrets)."""


class StreamedResponse(Protocol):
    """A response whose body is read incrementally (see ``Http.stream``)."""

    status_code: int
    headers: Any

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...


class Http(Protocol):
    """The HTTP session the runner hands to a checker.

    Both methods apply the source's rate limit, concurrency and retry policy, and:

    - ``timeout`` is a deadline for the whole request, body included (a server
      trickling one byte a second cannot hold a run);
    - a body over ``max_response_bytes`` ends the request with ``SourceError``;
    - a redirect is followed only to the configured origin when the request carries
      a credential (header, query parameter or path segment); otherwise a redirect
      to another origin is a ``SourceError``, so a secret never leaves its host;
    - a request carrying a credential to any origin but ``base_url``'s is refused.

    ``get`` returns the final response, body read (so a checker can read 4xx error
    bodies), and raises ``SourceError`` when retries are exhausted. ``stream`` is an
    async context manager for large bodies: ``async with http.stream(url) as r:``
    then ``async for block in r.aiter_bytes()``; the deadline covers the whole block.
    """

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any: ...

    def stream(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> AbstractAsyncContextManager[StreamedResponse]: ...


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


class Checker:
    """Common declaration of every checker; subclass ``LookupChecker`` or ``FeedChecker``."""

    name: ClassVar[str]
    description: ClassVar[str]
    disclosure: ClassVar[str]
    settings_model: ClassVar[type[SourceSettings]] = SourceSettings
    shape: ClassVar[Literal["lookup", "feed"]]

    def __init__(self, settings: SourceSettings) -> None:
        self.settings = settings

    def excerpt(self, text: str, limit: int = 100) -> str:
        """``text`` for an error message: this source's secrets redacted, then cut."""
        return excerpt(text, limit, self.settings.redactor())

    def preflight(self) -> str | None:
        """Return a reason to skip this source (not configured, no key), else None.

        Must be side-effect free. A skip is reported, but it is not an error.
        """
        return None


class LookupChecker(Checker):
    shape: ClassVar[Literal["lookup", "feed"]] = "lookup"

    @property
    def batch_size(self) -> int:
        """How many numbers one ``lookup`` call takes (1 for per-number APIs)."""
        return 1

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        """Return one observation per number (E.164). Missing ones become errors."""
        raise NotImplementedError


class FeedChecker(Checker):
    shape: ClassVar[Literal["lookup", "feed"]] = "feed"

    def pull(self, request: FeedRequest, http: Http) -> AsyncIterator[FeedChunk]:
        """Yield chunks of matched sightings, each with the cursor reached so far."""
        raise NotImplementedError

    def assess(self, number: str, sightings: Sequence[Sighting], now: datetime) -> Observation:
        """Decide the number's observation from all its stored sightings (pure)."""
        raise NotImplementedError


# -- what plugins may use from the rest of cidrep ---------------------------------
# Re-exported lazily (PEP 562), so ``from cidrep.contract import hookimpl`` works
# while those modules may themselves import this one (no import cycle), and the
# contract stays cheap to import.
_REEXPORTS = {
    "Complaint": "cidrep.complaints",
    "ComplaintRule": "cidrep.complaints",
    "ComplaintRuleSettings": "cidrep.complaints",
    "assess_complaints": "cidrep.complaints",
    "hookimpl": "cidrep.hookspecs",
    "nanp_digits": "cidrep.phone",
}


if TYPE_CHECKING:  # what the lazy re-exports are, for readers and type checkers
    from cidrep.complaints import (
        Complaint,
        ComplaintRule,
        ComplaintRuleSettings,
        assess_complaints,
    )
    from cidrep.hookspecs import hookimpl
    from cidrep.phone import nanp_digits


def __getattr__(name: str) -> Any:
    module = _REEXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_MAX_RESPONSE",
    "MB",
    "SEVERITY",
    "Checker",
    "Complaint",
    "ComplaintRule",
    "ComplaintRuleSettings",
    "Duration",
    "FeedChecker",
    "FeedChunk",
    "FeedRequest",
    "Http",
    "LookupChecker",
    "Observation",
    "Rate",
    "RateLimit",
    "Redactor",
    "Sighting",
    "SourceError",
    "SourceSettings",
    "StreamedResponse",
    "Verdict",
    "assess_complaints",
    "credential_problem",
    "excerpt",
    "hookimpl",
    "nanp_digits",
]
