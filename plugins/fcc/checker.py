"""The ``fcc`` source: FCC consumer complaints naming a number (opendata.fcc.gov).

The FCC publishes every informal consumer complaint on Socrata with the caller-ID
number and the advertised business number, both as ``NNN-NNN-NNNN``. This checker
asks for a whole batch of numbers in one SoQL query (both columns, issue dates within
``lookback_days``) and gets back complaint COUNTS grouped by both phone columns,
issue, call type and day (``socrata``), not rows. Each group is credited once to
every number of the batch it names (either column; a number in both columns of one
group counts once) with its count, which rebuilds the complaints per day and subject
exactly; the shared rule (``assess_complaints``) then decides: by default one
complaint in the last 90 days flags a number, because FCC data lags by weeks.

Truthful state under faults, per number:

- outside NANP: ``unknown``, whatever happens to the queries;
- a failed query (refused token, bad query, throttled, a malformed answer: see
  ``schema``) gives ``error`` for the NANP numbers of that batch only, never a verdict
  and never an exception out of ``lookup``;
- a batch that needs more than ``max_pages`` pages is split in halves and retried,
  down to a single number; only a number that alone needs more gets an ``error``,
  the rest of its batch is assessed. One heavily complained number can no longer
  fail its 49 neighbours on every run.

Error messages are one line; any server text in them is redacted of the source's
secrets before it is cut (``Checker.excerpt``), so no token prefix survives a cut.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from cidrep.contract import (
    Complaint,
    ComplaintRule,
    Http,
    LookupChecker,
    Observation,
    SourceError,
    SourceSettings,
    Verdict,
    assess_complaints,
    nanp_digits,
)

from . import schema, socrata
from .settings import FccSettings

__all__ = ["NOT_COVERED", "FccChecker", "FccSettings", "public_base"]

NOT_COVERED = "FCC complaint data covers US/NANP numbers only"
MESSAGE_CHARS = 300


class PageOverflow(SourceError):
    """More than ``max_pages`` full pages for one query: split the batch and retry."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def public_base(base_url: str) -> str:
    """``base_url`` without userinfo, query or fragment, and no trailing slash."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclasses.dataclass
class _Tally:
    """What one ``lookup`` call learned: complaints per number, or why it failed."""

    found: dict[str, list[Complaint]]
    failed: dict[str, str] = dataclasses.field(default_factory=dict)


class FccChecker(LookupChecker):
    """Counts FCC consumer complaints naming each number, in batches.

    ``clock`` returns the aware "now" used for both the lookback and the flag window;
    tests replace it (the runner constructs checkers as ``cls(settings)``).
    """

    name: ClassVar[str] = "fcc"
    description: ClassVar[str] = "FCC consumer complaints (opendata.fcc.gov) naming the number"
    disclosure: ClassVar[str] = (
        "Sends your monitored numbers (NNN-NNN-NNNN, in batches) to the FCC's open-data API "
        "at opendata.fcc.gov (Socrata) to count consumer complaints."
    )
    settings_model: ClassVar[type[SourceSettings]] = FccSettings

    settings: FccSettings

    def __init__(self, settings: SourceSettings) -> None:
        super().__init__(settings)
        self.clock: Callable[[], datetime] = _utcnow

    @property
    def batch_size(self) -> int:
        return self.settings.batch_size

    def preflight(self) -> str | None:
        return None  # public data; the app token is optional

    @property
    def endpoint(self) -> str:
        return f"{self.settings.base_url.rstrip('/')}/resource/{self.settings.dataset}.json"

    def number_url(self, digits: str) -> str:
        """A public link to the complaints with this caller ID (no token, no userinfo)."""
        base = public_base(self.settings.base_url)
        query = urlencode({socrata.CALLER_COLUMN: socrata.dashed(digits)})
        return f"{base}/resource/{self.settings.dataset}.json?{query}"

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        """One observation per number, in order; never raises ``SourceError``.

        ``unknown`` outside NANP; for NANP numbers the complaint rule, or ``error``
        when their batch's query failed. All NANP numbers of the call share one query
        (split at ``batch_size`` if the caller passes more).
        """
        now = self.clock()
        results: dict[str, Observation] = {}
        wanted: dict[str, list[str]] = {}  # 10 digits -> E.164 spellings asked
        for number in numbers:
            digits = nanp_digits(number)
            if digits is None or not (digits.isascii() and digits.isdigit()):
                results[number] = Observation(
                    number, Verdict.UNKNOWN, evidence={"reason": NOT_COVERED}
                )
            else:
                wanted.setdefault(digits, []).append(number)

        tally = _Tally(found={digits: [] for digits in wanted})
        ordered = list(wanted)
        size = self.settings.batch_size
        for start in range(0, len(ordered), size):
            await self._check(ordered[start : start + size], now, http, tally)

        rule = ComplaintRule.from_settings(self.settings)
        for digits, spellings in wanted.items():
            for number in spellings:
                if digits in tally.failed:
                    results[number] = Observation.failed(number, tally.failed[digits])
                else:
                    results[number] = self._assess(number, digits, tally.found[digits], now, rule)
        return [results[number] for number in numbers]

    async def _check(self, batch: list[str], now: datetime, http: Http, tally: _Tally) -> None:
        """Query one batch; on page overflow, bisect it; record complaints or failures.

        Credits only the batch's own numbers: a group naming numbers of two batches
        comes back once per batch, and must count once for each number.
        """
        try:
            groups = await self._fetch(batch, now, http)
        except PageOverflow:
            if len(batch) == 1:
                s = self.settings
                tally.failed[batch[0]] = (
                    f"FCC has more than {s.max_pages} pages of {s.page_size} complaint groups "
                    "for this number alone; raise sources.fcc.max_pages or sources.fcc.page_size"
                )
                return
            half = (len(batch) + 1) // 2
            await self._check(batch[:half], now, http, tally)
            await self._check(batch[half:], now, http, tally)
            return
        except SourceError as exc:
            message = self.excerpt(str(exc), MESSAGE_CHARS)
            for digits in batch:
                tally.failed[digits] = message
            return
        members = set(batch)
        for group in groups:
            complaint = Complaint(
                reported=group.day, subject=group.subject, robocall=group.robocall, count=group.n
            )
            for digits in group.numbers() & members:
                tally.found[digits].append(complaint)

    def _assess(
        self,
        number: str,
        digits: str,
        complaints: list[Complaint],
        now: datetime,
        rule: ComplaintRule,
    ) -> Observation:
        observation = assess_complaints(number, complaints, now, rule, url=self.number_url(digits))
        evidence = {**observation.evidence, "lookback_days": self.settings.lookback_days}
        return dataclasses.replace(observation, evidence=evidence)

    async def _fetch(self, batch: list[str], now: datetime, http: Http) -> list[schema.GroupRow]:
        """All complaint groups for one batch, page by page.

        Stops at a short or empty page. A page that starts with the same group as the
        previous one means the server ignored ``$offset``: paging would never end, so
        that is an error. A group seen on an earlier page (data shifted between pages)
        counts once. ``max_pages`` full pages raise ``PageOverflow``.
        """
        s = self.settings
        since = socrata.since_timestamp(now, s.lookback_days)
        dashed = [socrata.dashed(digits) for digits in batch]
        members = set(batch)
        headers = self._headers()
        groups: list[schema.GroupRow] = []
        seen: set[tuple[object, ...]] = set()
        previous_first: tuple[object, ...] | None = None
        for page in range(s.max_pages):
            params = socrata.build_params(dashed, since, s.page_size, page * s.page_size)
            response = await http.get(self.endpoint, params=params, headers=headers)
            items = self._page(response, members)
            if not items:
                return groups
            first = items[0].key
            if first == previous_first:
                raise SourceError(
                    "FCC ignored the paging offset (the same page came back twice); stopped"
                )
            previous_first = first
            for item in items:
                if item.key not in seen:
                    seen.add(item.key)
                    groups.append(item)
            if len(items) < s.page_size:
                return groups
        raise PageOverflow(f"more than {s.max_pages} pages of {s.page_size} groups")

    def _headers(self) -> dict[str, str] | None:
        token = self.settings.app_token
        if token is None or not token.get_secret_value():
            return None
        return {"X-App-Token": token.get_secret_value()}

    def _page(self, response: Any, members: set[str]) -> list[schema.GroupRow]:
        """Groups of a 200 answer; every other status becomes a one-line ``SourceError``.

        A group that names none of the asked numbers cannot come from our ``$where``:
        the server answered another question, so nothing in it may become a verdict.
        """
        status = int(response.status_code)
        body = response.content
        if status == 200:
            try:
                groups = schema.parse_page(body, self.excerpt)
            except schema.MalformedPage as exc:
                raise SourceError(f"FCC returned a malformed response: {exc}") from None
            for index, group in enumerate(groups):
                if not group.numbers() & members:
                    raise SourceError(
                        f"FCC returned a malformed response: row {index + 1} names none of "
                        "the numbers asked (the server ignored the query?)"
                    )
            return groups
        code, message = socrata.error_detail(body, self.excerpt)
        detail = f": {message}" if message else ""
        if status in (401, 403):
            text = f"FCC rejected the request (HTTP {status}): check sources.fcc.app_token"
            text += f" ({message})" if message else ""
        elif status == 400:
            text = f"FCC rejected the query (HTTP 400{', ' + code if code else ''}){detail}"
        elif status == 404:
            text = (
                f"FCC dataset {self.settings.dataset!r} not found (HTTP 404): "
                "check sources.fcc.dataset"
            )
        elif status == 202:
            text = "FCC is still processing the query (HTTP 202); will retry next run"
        else:
            text = f"FCC answered HTTP {status}{detail}"
        raise SourceError(text)
