"""``cidrep sources test``: one real request to one source, shown, and nothing stored.

What a user runs after pasting a key: the source's preflight, then one lookup (of the
given number, or ``DEFAULT_NUMBER``) or the first chunk of a feed, through the same
``HttpSession`` a check uses (rate limit, retries, deadline, size cap, the credential
rule). The rules, and why:

- Nothing is stored and the database is never opened: no run, no observation, no
  sighting, no cursor. A test must not change what ``status`` says.
- Every request is recorded, masked, by a proxy around the session
  (``cidrep.check.recording``), so the checker cannot tell it is being tested.
- A feed is asked for its first chunk only; its generator is then closed. Where a
  chunk takes many pages (an FTC API day), the feed is stopped before the request
  that follows the first successful (2xx) page: a checker that asks for the next page
  has accepted the previous one, and one page proves the key. Without a number the
  feed matches nothing (``targets`` is empty).
- The outcome is one of ``ok``, ``skipped``, ``untested``, ``failed``; the exit code
  follows from it (``exit_code``).

No printing here: the CLI renders ``ProbeResult``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import SecretStr

from cidrep import redaction
from cidrep.check.recording import Exchange, OnePageRead, RecordingHttp
from cidrep.config_errors import ENV_PREFIX
from cidrep.contract import (
    Checker,
    FeedChecker,
    FeedRequest,
    LookupChecker,
    Observation,
    Sighting,
    SourceError,
    SourceSettings,
    Verdict,
)
from cidrep.errors import ExitCode
from cidrep.redaction import Redactor
from cidrep.runner.http import HttpSession
from cidrep.runner.validate import checked_observation, checked_sighting

__all__ = [
    "DEFAULT_NUMBER",
    "Exchange",
    "FeedPeek",
    "ProbeResult",
    "exit_code",
    "lookup_status",
    "probe",
    "secret_hint",
]

# A fictional number (555-0100..0199 are reserved for fiction in NANP): a lookup of it
# proves the key without asking a source about anyone's real number.
DEFAULT_NUMBER = "+12025550143"
SHOWN_SIGHTINGS = 5

Status = Literal["ok", "skipped", "untested", "failed"]


@dataclass
class FeedPeek:
    """The first chunk of a feed: what a check would have stored, and did not."""

    sightings: list[Sighting] = field(default_factory=list)  # for the tested number only
    stats: dict[str, int] = field(default_factory=dict)
    cursor: str | None = None  # where the cursor would have moved (not stored)
    done: str | None = None
    chunks: int = 0  # 0: the feed had nothing to read; 1: one chunk read
    stopped: str | None = None  # why the pull was stopped before its first chunk

    def as_dict(self) -> dict[str, Any]:
        return {
            "chunks": self.chunks,
            "matched": len(self.sightings),
            "sightings": [
                {"key": s.key, "occurred_at": s.occurred_at, "detail": s.detail}
                for s in self.sightings[:SHOWN_SIGHTINGS]
            ],
            "stats": self.stats,
            "cursor": self.cursor,
            "done": self.done,
            "stopped": self.stopped,
        }


@dataclass
class ProbeResult:
    source: str
    shape: str
    status: Status
    reason: str | None = None  # skip reason (with a hint) or the one-line error
    enabled: bool = True
    number: str | None = None
    default_number: bool = False
    requests: list[Exchange] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    feed: FeedPeek | None = None

    @property
    def exit_code(self) -> ExitCode:
        return exit_code(self.status)

    @property
    def cost_units(self) -> float:
        return sum(o.cost_units for o in self.observations)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "shape": self.shape,
            "status": self.status,
            "exit_code": int(self.exit_code),
            "reason": self.reason,
            "enabled": self.enabled,
            "number": self.number,
            "default_number": self.default_number,
            "requests": [r.as_dict() for r in self.requests],
            "observations": [_observation(o) for o in self.observations],
            "cost_units": self.cost_units,
            "feed": self.feed.as_dict() if self.feed else None,
        }


def exit_code(status: Status) -> ExitCode:
    """The exit code of a test (pure).

    | status   | when                                              | exit              |
    |----------|---------------------------------------------------|-------------------|
    | ok       | the request(s) answered and the answer parsed     | 0 OK              |
    | skipped  | preflight gave a reason (no key): fix the config  | 2 USAGE           |
    | untested | the lookup answered without sending any request   | 2 USAGE           |
    | failed   | a request failed, or the answer was an error      | 3 SOURCE_ERRORS   |

    ``untested`` is the number's fault (one the source does not cover, e.g. a non-US
    number for a US-only source): nothing proved the key works, so it is not 0.
    """
    if status == "ok":
        return ExitCode.OK
    if status == "failed":
        return ExitCode.SOURCE_ERRORS
    return ExitCode.USAGE


def lookup_status(
    observations: Sequence[Observation], requests: Sequence[Exchange]
) -> tuple[Status, str | None]:
    """A lookup's outcome from its answers (pure).

    | answers         | any error verdict | requests sent | status   |
    |-----------------|-------------------|---------------|----------|
    | none            | -                 | any           | failed   |
    | some            | yes               | any           | failed   |
    | some            | no                | none          | untested |
    | some            | no                | some          | ok       |
    """
    if not observations:
        return "failed", "the source gave no answer"
    for obs in observations:
        if obs.verdict == Verdict.ERROR:
            return "failed", obs.error or "error"
    if not requests:
        reason = next(
            (str(o.evidence["reason"]) for o in observations if "reason" in o.evidence), ""
        )
        said = f" ({reason})" if reason else ""
        return "untested", f"answered without sending a request{said}; test with a number it covers"
    return "ok", None


def secret_hint(name: str, settings: SourceSettings) -> str:
    """Where to set the source's unset credentials: ``set sources.ipqs.api_key (or
    CIDREP_SOURCES__IPQS__API_KEY)``; empty when none is unset."""
    unset = []
    for option, info in type(settings).model_fields.items():
        if SecretStr not in (info.annotation, *get_args(info.annotation)):
            continue
        value = getattr(settings, option)
        if value is None or not value.get_secret_value():
            env = f"{ENV_PREFIX}SOURCES__{name}__{option}".upper()
            unset.append(f"sources.{name}.{option} in the config file (or {env})")
    return ("set " + "; set ".join(unset)) if unset else ""


# -- the probe -------------------------------------------------------------------


def probe(
    name: str,
    cls: type[Checker],
    settings: SourceSettings,
    number: str | None,
    now: datetime,
) -> ProbeResult:
    """Preflight, then one lookup or one feed chunk; see the module docstring."""
    redaction.register(settings.secrets())
    redact = redaction.redactor()
    tested = number or (DEFAULT_NUMBER if cls.shape == "lookup" else None)
    result = ProbeResult(
        source=name,
        shape=cls.shape,
        status="ok",
        enabled=settings.enabled,
        number=tested,
        default_number=number is None and tested is not None,
    )
    try:
        checker = cls(settings)
        reason = checker.preflight()
    except Exception as exc:  # a broken plugin is reported, like a failed request
        return _failed(result, redact(f"internal error in {name} checker: {exc!r}"))
    if reason:
        hint = secret_hint(name, checker.settings)
        result.status = "skipped"
        result.reason = redact(f"{reason}: {hint}" if hint else reason)
        return result
    asyncio.run(_run(checker, result, redact, now))
    return result


async def _run(checker: Checker, result: ProbeResult, redact: Redactor, now: datetime) -> None:
    session = HttpSession(result.source, checker.settings, redact=redact)
    http = RecordingHttp(session, redact, one_page=isinstance(checker, FeedChecker))
    try:
        if isinstance(checker, LookupChecker):
            await _lookup(checker, http, result, redact)
        elif isinstance(checker, FeedChecker):
            await _feed(checker, http, result, redact, now)
    except SourceError as exc:
        _failed(result, redact(str(exc)))
    except Exception as exc:  # a plugin bug: one line, like ``cidrep check`` records it
        _failed(result, redact(f"internal error in {result.source} checker: {exc!r}"))
    finally:
        result.requests = http.exchanges
        await session.aclose()


async def _lookup(
    checker: LookupChecker, http: RecordingHttp, result: ProbeResult, redact: Redactor
) -> None:
    number = result.number
    assert number is not None
    answers = list(await checker.lookup([number], http))
    result.observations = [
        checked_observation(a, number, redact)
        for a in answers
        if getattr(a, "number", None) == number
    ]
    result.status, result.reason = lookup_status(result.observations, http.exchanges)


async def _feed(
    checker: FeedChecker, http: RecordingHttp, result: ProbeResult, redact: Redactor, now: datetime
) -> None:
    """The first chunk, or the first page (see the module docstring); the generator is
    closed either way, so the feed reads nothing more."""
    targets = frozenset({result.number} if result.number else ())
    request = FeedRequest(cursor=None, targets=targets, backfill=True, now=now)
    peek = result.feed = FeedPeek()
    pulled = checker.pull(request, http)
    try:
        chunk = await anext(aiter(pulled), None)
    except OnePageRead:
        peek.stopped = "stopped after the first page: one page is enough for a test"
        return
    finally:
        close = getattr(pulled, "aclose", None)
        if close is not None:
            await close()
    if chunk is None:
        return
    peek.chunks = 1
    peek.sightings = [checked_sighting(s, redact) for s in chunk.sightings if s.number in targets]
    peek.stats, peek.cursor, peek.done = dict(chunk.stats), chunk.cursor, chunk.done


def _failed(result: ProbeResult, message: str) -> ProbeResult:
    result.status, result.reason = "failed", message
    return result


def _observation(obs: Observation) -> dict[str, Any]:
    return {
        "number": obs.number,
        "verdict": obs.verdict.value,
        "label": obs.label,
        "score": obs.score,
        "category": obs.category,
        "carrier": obs.carrier,
        "evidence": obs.evidence,
        "url": obs.url,
        "cost_units": obs.cost_units,
        "error": obs.error,
    }
