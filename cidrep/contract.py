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
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from cidrep.redaction import Redactor, excerpt
from cidrep.sourcesettings import (
    DEFAULT_MAX_RESPONSE,
    MB,
    Duration,
    RateLimit,
    SourceSettings,
    credential_problem,
)
from cidrep.timeutil import Rate


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

    ``carrier`` names the carrier or app the observation is about ("T-Mobile",
    "Verizon", "RoboKiller") when the source reports per carrier; a lookup then
    answers one observation per (number, carrier) it saw. History and current state
    are kept per (number, source, carrier); the source's own verdict for the number
    is the worst current verdict over its carriers (``cidrep.carriers.summarize``).
    ``None`` is the source's single verdict. An error without a carrier is a failure
    of the whole lookup for that number.
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
    carrier: str | None = None  # the carrier or app this is about, for per-carrier sources

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


class Checker:
    """Common declaration of every checker; subclass ``LookupChecker`` or ``FeedChecker``."""

    name: ClassVar[str]
    description: ClassVar[str]
    disclosure: ClassVar[str]
    settings_model: ClassVar[type[SourceSettings]] = SourceSettings
    shape: ClassVar[Literal["lookup", "feed"]]
    # Evidence keys whose change is news, each with what people call it, e.g.
    # ``{"caller_name": "caller name (CNAM)"}``. When the value under such a key
    # differs between two consecutive real (non-error) observations of a number, a
    # ``changed`` alert is sent even if the verdict stays (a CNAM that changed may be a
    # hijacked or reassigned display name). A first value is not news (nothing to
    # compare with), nor is an observation without the key; see
    # ``cidrep.alerts.changes.evidence_change`` for the whole truth table.
    watched_evidence: ClassVar[dict[str, str]] = {}

    def __init__(self, settings: SourceSettings) -> None:
        """Keep ``settings`` as this checker's own ``settings_model``: a base
        ``SourceSettings`` (or another model) is re-validated from the fields that were
        set, as parsed values (a dump would turn a ``Rate`` into a dict)."""
        model = type(self).settings_model
        if not isinstance(settings, model):
            given = {name: getattr(settings, name) for name in settings.model_fields_set}
            settings = model.model_validate(given)
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

    def cost_estimate(self, numbers: Sequence[str]) -> float:
        """Cost units ``lookup(numbers)`` will spend (0: free). The spend guard reserves
        it against ``daily_budget`` before the batch is sent; report the real cost on
        each observation's ``cost_units``."""
        return 0.0

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


def json_kind(value: object) -> str:
    """A JSON value's type in words for an error message ("an array", "null"): what a
    source sent instead of what was expected, without ever quoting the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


# -- what plugins may use from the rest of cidrep ---------------------------------
# Re-exported lazily (PEP 562), so ``from cidrep.contract import hookimpl`` works
# while those modules may themselves import this one (no import cycle), and the
# contract stays cheap to import.
_REEXPORTS = {
    "Alert": "cidrep.channels",
    "Channel": "cidrep.channels",
    "ChannelHttp": "cidrep.channels",
    "ChannelSettings": "cidrep.channels",
    "DeliveryError": "cidrep.channels",
    "Dispute": "cidrep.channels",
    "SourceLine": "cidrep.channels",
    "mask_url": "cidrep.channels",
    "url_secret_parts": "cidrep.channels",
    "Complaint": "cidrep.complaints",
    "ComplaintRule": "cidrep.complaints",
    "ComplaintRuleSettings": "cidrep.complaints",
    "assess_complaints": "cidrep.complaints",
    "hookimpl": "cidrep.hookspecs",
    "nanp_digits": "cidrep.phone",
}


if TYPE_CHECKING:  # what the lazy re-exports are, for readers and type checkers
    from cidrep.channels import (
        Alert,
        Channel,
        ChannelHttp,
        ChannelSettings,
        DeliveryError,
        Dispute,
        SourceLine,
        mask_url,
        url_secret_parts,
    )
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
    "Alert",
    "Channel",
    "ChannelHttp",
    "ChannelSettings",
    "Checker",
    "Complaint",
    "ComplaintRule",
    "ComplaintRuleSettings",
    "DeliveryError",
    "Dispute",
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
    "SourceLine",
    "SourceSettings",
    "StreamedResponse",
    "Verdict",
    "assess_complaints",
    "credential_problem",
    "excerpt",
    "hookimpl",
    "json_kind",
    "mask_url",
    "nanp_digits",
    "url_secret_parts",
]
