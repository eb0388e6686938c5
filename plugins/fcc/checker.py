"""The ``fcc`` source: FCC consumer complaints naming a number (opendata.fcc.gov).

The FCC publishes every informal consumer complaint on Socrata with the caller-ID
number and the advertised business number, both as ``NNN-NNN-NNNN``. This checker
asks for a whole batch of numbers in one SoQL query (both columns, issue dates within
``lookback_days``), pages through the answer, matches each row back to the numbers it
names, and applies the shared complaint rule (``cidrep.complaints``): by default one
complaint in the last 90 days flags a number, because FCC data lags by weeks.

Failures of the request (refused token, bad query, odd body) raise ``SourceError``
with one line and no secret; the runner records that as an error for every number
in the batch, so a broken answer is never mistaken for "no complaints".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from cidrep.complaints import Complaint, ComplaintRule, ComplaintRuleSettings, assess_complaints
from cidrep.contract import (
    Duration,
    Http,
    LookupChecker,
    Observation,
    RateLimit,
    SourceError,
    SourceSettings,
    Verdict,
)
from cidrep.phone import nanp_digits
from cidrep.timeutil import Rate

from . import socrata

NOT_COVERED = "FCC complaint data covers US/NANP numbers only"


class FccSettings(ComplaintRuleSettings):
    """``[sources.fcc]``: where the dataset lives, how much to ask for, the flag rule."""

    base_url: str = Field(
        default="https://opendata.fcc.gov", description="Socrata host serving the FCC data"
    )
    dataset: str = Field(
        default="3xyp-aqkj",
        description="Socrata dataset id (4x4) of CGB Consumer Complaints Data",
    )
    app_token: SecretStr | None = Field(
        default=None,
        description="optional Socrata app token, sent as X-App-Token (fewer throttles)",
    )
    batch_size: int = Field(default=50, ge=1, le=100, description="numbers per query")
    lookback_days: int = Field(
        default=365, ge=1, le=36500, description="only complaints with issue_date this recent"
    )
    page_size: int = Field(default=1000, ge=1, le=50000, description="rows per page ($limit)")
    max_pages: int = Field(
        default=10, ge=1, le=1000, description="pages per batch before giving up with an error"
    )
    rate_limit: RateLimit = Field(default=Rate(2, 1), description="requests per second/minute")
    concurrency: int = Field(default=2, ge=1, le=64, description="requests in flight at once")
    interval: Duration = Field(default=timedelta(hours=24), description="how often a number is due")
    flag_min_complaints: int = Field(
        default=1, ge=1, description="complaints within the flag window that flag a number"
    )
    flag_window_days: int = Field(
        default=90, ge=1, description="flag window in days (FCC data lags by weeks)"
    )

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset_id(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip().lower()
        if not socrata.DATASET_ID.fullmatch(text):
            raise ValueError(f"{value!r} is not a Socrata dataset id such as '3xyp-aqkj'")
        return text

    @model_validator(mode="after")
    def _lookback_covers_window(self) -> FccSettings:
        # Complaints older than the lookback are never fetched, so a flag window longer
        # than the lookback would silently count fewer complaints than it says.
        if self.lookback_days < self.flag_window_days:
            raise ValueError(
                f"lookback_days ({self.lookback_days}) must be at least "
                f"flag_window_days ({self.flag_window_days})"
            )
        return self


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
        if not isinstance(settings, FccSettings):
            # Keep only what was set, as parsed values (a dump would turn Rate into a dict).
            given = {name: getattr(settings, name) for name in settings.model_fields_set}
            settings = FccSettings.model_validate(given)
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
        """One observation per number: unknown outside NANP, else the complaint rule.

        All NANP numbers of the call share one query (split at ``batch_size`` if the
        caller passes more); a request failure raises ``SourceError`` for the batch.
        """
        now = self.clock()
        results: dict[str, Observation] = {}
        wanted: dict[str, list[str]] = {}  # 10 digits -> E.164 spellings asked
        for number in numbers:
            digits = nanp_digits(number)
            if digits is None or not digits.isdigit():
                results[number] = Observation(
                    number, Verdict.UNKNOWN, evidence={"reason": NOT_COVERED}
                )
            else:
                wanted.setdefault(digits, []).append(number)

        found: dict[str, list[Complaint]] = {digits: [] for digits in wanted}
        undated: dict[str, int] = dict.fromkeys(wanted, 0)
        ordered = list(wanted)
        size = self.settings.batch_size
        for start in range(0, len(ordered), size):
            batch = ordered[start : start + size]
            for row in await self._fetch(batch, now, http):
                self._collect(row, set(batch), found, undated)

        rule = ComplaintRule.from_settings(self.settings)
        for digits, spellings in wanted.items():
            for number in spellings:
                results[number] = self._assess(
                    number, digits, found[digits], undated[digits], now, rule
                )
        return [results[number] for number in numbers]

    def _assess(
        self,
        number: str,
        digits: str,
        complaints: list[Complaint],
        undated: int,
        now: datetime,
        rule: ComplaintRule,
    ) -> Observation:
        observation = assess_complaints(number, complaints, now, rule, url=self.number_url(digits))
        evidence = {**observation.evidence, "lookback_days": self.settings.lookback_days}
        if undated:
            evidence["undated_complaints"] = undated
        return dataclasses.replace(observation, evidence=evidence)

    @staticmethod
    def _collect(
        row: dict[str, Any],
        batch: set[str],
        found: dict[str, list[Complaint]],
        undated: dict[str, int],
    ) -> None:
        """Credit a row to every number of its batch that it names (in either column).

        Only the batch's own numbers: a row naming numbers of two batches comes back
        once per batch, and must count once for each number.
        """
        matched = [digits for digits in socrata.row_numbers(row) if digits in batch]
        if not matched:
            return
        reported = socrata.parse_issue_date(row.get(socrata.DATE_COLUMN))
        if reported is None:
            for digits in matched:
                undated[digits] += 1
            return
        issue = row.get(socrata.ISSUE_COLUMN)
        subject = (issue.strip() or None) if isinstance(issue, str) else None
        complaint = Complaint(reported=reported, subject=subject, robocall=socrata.is_robocall(row))
        for digits in matched:
            found[digits].append(complaint)

    async def _fetch(self, batch: list[str], now: datetime, http: Http) -> list[dict[str, Any]]:
        """All rows for one batch, page by page, de-duplicated by row id.

        Stops at a short or empty page. A page that starts with the same row as the
        previous one means the server ignored ``$offset``: paging would never end, so
        that is an error, as is needing more than ``max_pages`` pages.
        """
        s = self.settings
        since = socrata.since_timestamp(now, s.lookback_days)
        dashed = [socrata.dashed(digits) for digits in batch]
        headers = self._headers()
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        previous_first: str | None = None
        for page in range(s.max_pages):
            params = socrata.build_params(dashed, since, s.page_size, page * s.page_size)
            response = await http.get(self.endpoint, params=params, headers=headers)
            items = self._page(response)
            if not items:
                return rows
            first = socrata.row_key(items[0])
            if first is not None and first == previous_first:
                raise SourceError(
                    "FCC ignored the paging offset (the same page came back twice); stopped"
                )
            previous_first = first
            for item in items:
                key = socrata.row_key(item)
                if key is None or key not in seen:
                    rows.append(item)
                    if key is not None:
                        seen.add(key)
            if len(items) < s.page_size:
                return rows
        raise SourceError(
            f"FCC returned more than {s.max_pages} pages of {s.page_size} rows for one batch; "
            "raise sources.fcc.max_pages or lower sources.fcc.batch_size"
        )

    def _headers(self) -> dict[str, str] | None:
        token = self.settings.app_token
        if token is None or not token.get_secret_value():
            return None
        return {"X-App-Token": token.get_secret_value()}

    def _page(self, response: Any) -> list[dict[str, Any]]:
        """Rows of a 200 answer; every other status becomes a one-line ``SourceError``."""
        status = int(response.status_code)
        body = response.content
        if status == 200:
            try:
                return socrata.parse_page(body)
            except socrata.MalformedPage as exc:
                raise SourceError(
                    self._redact(f"FCC returned a malformed response: {exc}")
                ) from None
        code, message = socrata.error_detail(body)
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
        raise SourceError(self._redact(text))

    def _redact(self, text: str) -> str:
        """Remove every configured secret from a message (the server may echo them)."""
        for secret in self.settings.secrets():
            text = text.replace(secret, "***")
        return text
