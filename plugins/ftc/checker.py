"""The ``ftc`` source: the FTC's public Do Not Call complaint files, matched locally.

The FTC cannot be asked about one number: it publishes one CSV of all complaints per
weekday (``DNC_Complaint_Numbers_YYYY-MM-DD.csv``, around noon US Eastern; weekend
data arrives on Monday, so weekends and holidays have no file). This feed downloads
each day's file since its cursor, keeps the rows naming a monitored number, and
flags a number by the shared complaint rule (``cidrep.complaints``). Nothing about
the monitored numbers leaves the machine.

Cursor rule: the cursor is the date of the last file ingested. Each chunk is one
file and carries that file's date, so the runner commits sightings and progress
together and an interrupted run resumes after the last complete file. A date with
no file (HTTP 404) is skipped without moving the cursor; a not-yet-published today
is therefore simply tried again next run.
"""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from cidrep.complaints import Complaint, ComplaintRule, ComplaintRuleSettings, assess_complaints
from cidrep.contract import (
    Duration,
    FeedChecker,
    FeedChunk,
    FeedRequest,
    Http,
    Observation,
    RateLimit,
    Sighting,
    SourceError,
    Verdict,
)
from cidrep.phone import nanp_digits
from cidrep.timeutil import Rate
from cidrep_plugins.ftc.csvfile import ParsedFile, parse_complaints, target_index

FTC_BASE_URL = "https://www.ftc.gov/sites/default/files/"
DEFAULT_PATTERN = "DNC_Complaint_Numbers_{date}.csv"
NOT_COVERED = "FTC data covers US/NANP numbers only"


class FtcSettings(ComplaintRuleSettings):
    """``[sources.ftc]``: where the daily files come from and how far back to read."""

    base_url: str = Field(
        default=FTC_BASE_URL,
        description="folder URL the daily files are downloaded from (ignored when path is set)",
    )
    path: Path | None = Field(
        default=None,
        description=(
            "a local FTC CSV file, or a folder of daily files (an offline mirror); "
            "when set, nothing is downloaded"
        ),
    )
    file_pattern: str = Field(
        default=DEFAULT_PATTERN,
        description=(
            "daily file name with {date} for YYYY-MM-DD; in a folder it matches "
            "case-insensitively, so the older lowercase names are found too"
        ),
    )
    lookback_days: int = Field(
        default=30,
        ge=1,
        le=3660,
        description="days of files a first run (or a newly added number) reads",
    )
    interval: Duration = Field(
        default=timedelta(hours=6),
        description="how often to look for new files (published weekdays around noon ET)",
    )
    rate_limit: RateLimit = Field(default=Rate(1, 1), description="downloads per second/minute")
    concurrency: int = Field(
        default=1, ge=1, le=64, description="parallel downloads (files are read in order)"
    )

    @field_validator("base_url")
    @classmethod
    def _folder_url(cls, value: str) -> str:
        value = value.strip()
        return value if not value or value.endswith("/") else value + "/"

    @field_validator("path")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("file_pattern")
    @classmethod
    def _one_date_field(cls, value: str) -> str:
        try:
            parsed = list(string.Formatter().parse(value))
        except ValueError as exc:
            raise ValueError(f"invalid file_pattern {value!r}: {exc}") from None
        fields = [(name, spec, conv) for _, name, spec, conv in parsed if name is not None]
        if fields != [("date", "", None)]:
            raise ValueError(
                f"file_pattern {value!r} must contain {{date}} exactly once and no other "
                "{...} field, e.g. 'DNC_Complaint_Numbers_{date}.csv'"
            )
        if "/" in value or "\\" in value:
            raise ValueError("file_pattern is a file name; put folders in base_url or path instead")
        return value


class FtcChecker(FeedChecker):
    """Feed checker over the FTC daily complaint CSVs (URL mode or local mirror)."""

    name: ClassVar[str] = "ftc"
    description: ClassVar[str] = (
        "FTC Do Not Call complaints (US): flags numbers consumers reported to the FTC"
    )
    disclosure: ClassVar[str] = (
        "Downloads the FTC's public Do Not Call complaint files from www.ftc.gov "
        "(or reads a local mirror); sends nothing about your numbers - matching is local."
    )
    settings_model = FtcSettings
    settings: FtcSettings

    def preflight(self) -> str | None:
        if self.settings.path is None and not self.settings.base_url:
            return "neither base_url nor path is set for the FTC source"
        return None

    def window(self, request: FeedRequest) -> tuple[date, date]:
        """First and last file dates to read, both inclusive.

        A first run or a backfill (a number this source never assessed) reads the
        last ``lookback_days`` days up to today (UTC); otherwise reading resumes the
        day after the cursor. An unreadable cursor is treated like no cursor.
        """
        today = request.now.astimezone(UTC).date()
        lookback_start = today - timedelta(days=self.settings.lookback_days - 1)
        if request.cursor is None or request.backfill:
            return lookback_start, today
        try:
            cursor = date.fromisoformat(request.cursor[:10])
        except ValueError:
            return lookback_start, today
        return cursor + timedelta(days=1), today

    async def pull(self, request: FeedRequest, http: Http) -> AsyncIterator[FeedChunk]:
        """Yield one chunk per file ingested, in date order, cursor = the file's date.

        URL mode: 404 means no file for that date (weekend, holiday, not published
        yet) and is skipped; any other non-2xx status stops the pull with a
        ``SourceError`` naming the date, leaving earlier chunks committed. Local mode
        (``path``): a folder is scanned for pattern-named files within the window; a
        single file is always ingested.
        """
        targets = target_index(request.targets)
        start, end = self.window(request)
        found = 0
        if self.settings.path is not None:
            async for chunk in self._pull_local(self.settings.path, start, end, request, targets):
                found += 1
                yield chunk
            if found == 0 and self.settings.path.is_dir():
                _require_some_file(start, end, str(self.settings.path))
            return
        missing = 0
        for day in _days(start, end):
            data = await self._download(day, http)
            if data is None:
                missing += 1
                continue
            name = self.settings.file_pattern.format(date=day.isoformat())
            parsed = await _parse(data, name, targets)
            found += 1
            yield _chunk(parsed, day.isoformat(), missing)
            missing = 0
        if found == 0:
            _require_some_file(start, end, urlsplit(self.settings.base_url).hostname or "")

    async def _download(self, day: date, http: Http) -> bytes | None:
        url = self.settings.base_url + self.settings.file_pattern.format(date=day.isoformat())
        host = urlsplit(url).hostname or url
        response = await http.get(url)
        status = response.status_code
        if status == 404:
            return None
        if not 200 <= status < 300:
            raise SourceError(f"FTC file for {day.isoformat()}: HTTP {status} from {host}")
        content_type = response.headers.get("content-type", "").lower()
        body: bytes = response.content
        if "html" in content_type or body[:256].lstrip()[:1] == b"<":
            raise SourceError(
                f"FTC file for {day.isoformat()}: {host} answered an HTML page, not a CSV "
                "(has the download location changed? check base_url)"
            )
        return body

    async def _pull_local(
        self,
        path: Path,
        start: date,
        end: date,
        request: FeedRequest,
        targets: dict[str, str],
    ) -> AsyncIterator[FeedChunk]:
        if not path.exists():
            raise SourceError(f"FTC mirror path {path} does not exist")
        files: list[tuple[date | None, Path]]
        if path.is_dir():
            files = [(d, file) for d, file in self.dated_files(path) if start <= d <= end]
        else:
            files = [(self.file_date(path.name), path)]
        for day, file in files:
            try:
                data = await asyncio.to_thread(file.read_bytes)
            except OSError as exc:
                raise SourceError(f"cannot read FTC file {file}: {exc.strerror or exc}") from None
            cursor = day.isoformat() if day is not None else request.cursor
            yield _chunk(await _parse(data, file.name, targets), cursor, 0)

    def file_date(self, filename: str) -> date | None:
        """The date in a file name following ``file_pattern`` (any case), else None."""
        m = _pattern_regex(self.settings.file_pattern).fullmatch(filename)
        if m is None:
            return None
        try:
            return date.fromisoformat(m["date"])
        except ValueError:
            return None

    def dated_files(self, folder: Path) -> list[tuple[date, Path]]:
        """Pattern-named files in ``folder``, sorted by date then name."""
        try:
            entries = list(folder.iterdir())
        except OSError as exc:
            raise SourceError(f"cannot list FTC mirror {folder}: {exc.strerror or exc}") from None
        found = []
        for entry in entries:
            day = self.file_date(entry.name)
            if day is not None and entry.is_file():
                found.append((day, entry))
        return sorted(found, key=lambda item: (item[0], item[1].name))

    def assess(self, number: str, sightings: Sequence[Sighting], now: datetime) -> Observation:
        """Flag by the shared complaint rule over every stored complaint for ``number``.

        A number outside NANP is ``unknown``: the FTC only records US/NANP callers,
        so "no complaints" would claim a look that never happened.
        """
        if nanp_digits(number) is None:
            return Observation(number, Verdict.UNKNOWN, evidence={"reason": NOT_COVERED})
        complaints = [c for c in map(_complaint, sightings) if c is not None]
        return assess_complaints(
            number, complaints, now, ComplaintRule.from_settings(self.settings)
        )


def _complaint(sighting: Sighting) -> Complaint | None:
    try:
        reported = date.fromisoformat(sighting.occurred_at[:10])
    except ValueError:
        return None
    detail = sighting.detail
    robocall = detail.get("robocall")
    return Complaint(
        reported=reported,
        subject=detail.get("subject") or None,
        robocall=robocall if isinstance(robocall, bool) else None,
    )


async def _parse(data: bytes, name: str, targets: dict[str, str]) -> ParsedFile:
    """Parse off the event loop: a 90-day mirror file is ~0.5 s of CPU."""
    return await asyncio.to_thread(parse_complaints, data, name, targets)


def _chunk(parsed: ParsedFile, cursor: str | None, missing_files: int) -> FeedChunk:
    stats = {"files": 1, **parsed.stats()}
    if missing_files:
        stats["missing_files"] = missing_files
    return FeedChunk(sightings=parsed.sightings, cursor=cursor, stats=stats)


# A window holding this many past weekdays must hold at least one file; none means the
# files moved or the mirror is stale, and "no complaints" would be a false clean.
MIN_EXPECTED_WEEKDAYS = 3


def _require_some_file(start: date, end: date, where: str) -> None:
    """Raise when a window that should have had files (past weekdays) had none.

    Today is not counted (its file appears around noon US Eastern), nor weekends.
    """
    weekdays = sum(1 for d in _days(start, end - timedelta(days=1)) if d.weekday() < 5)
    if weekdays >= MIN_EXPECTED_WEEKDAYS:
        raise SourceError(
            f"no FTC file found for any date from {start.isoformat()} to {end.isoformat()} "
            f"({weekdays} weekdays) at {where}; has the file location or file_pattern changed?"
        )


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


_regex_cache: dict[str, re.Pattern[str]] = {}


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """``DNC_Complaint_Numbers_{date}.csv`` -> a case-insensitive full-name regex."""
    compiled = _regex_cache.get(pattern)
    if compiled is None:
        prefix, _, suffix = pattern.format(date="\0").partition("\0")  # unescapes {{ }}
        compiled = re.compile(
            re.escape(prefix) + r"(?P<date>\d{4}-\d{2}-\d{2})" + re.escape(suffix), re.IGNORECASE
        )
        _regex_cache[pattern] = compiled
    return compiled
