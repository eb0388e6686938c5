"""The ``ftc`` source: the FTC's public Do Not Call complaint files, matched locally.

This module is the CSV mode (the default); ``mode = "api"`` reads the same complaints
from the FTC DNC Reported Calls API instead (``api``), through the same row rules.

The FTC cannot be asked about one number: it publishes one CSV of all complaints per
weekday (``DNC_Complaint_Numbers_YYYY-MM-DD.csv``, around noon US Eastern; weekend
data arrives on Monday, so weekends and holidays have no file). This feed reads the
daily files, keeps the rows naming a monitored number, and flags a number by the
shared complaint rule. Nothing about the monitored numbers leaves the machine.

Which dates are read (the cursor never skips a day):

- the window runs from ``min(today - lookback_days + 1, cursor + 1)`` to today (UTC),
  so a feed that has not run for longer than its lookback still resumes right
  after the last date it ingested;
- every date in it that is not in ``FeedRequest.done`` is read. A date with no file
  (HTTP 404, or no file in the mirror folder) is not done, so it is tried again on
  the next pull: a file the FTC publishes late, for a date before the cursor, is
  still read, and counted once (sighting keys are by content);
- a backfill (a number this source never assessed) also re-reads the done dates
  inside the lookback window, because the new number was not matched then.

Files are parsed as streams (``csvfile.FileParser``) and yielded in chunks of at
most ``CHUNK_SIGHTINGS`` sightings. A chunk in the middle of a file has
``done=None`` and the cursor as it was; the last chunk of a file carries
``done=<the file's date>``, so the runner records the date as ingested in the same
transaction as its last sightings, and ``cursor`` = the newest date ingested so far
(it never moves backwards when a late file for an earlier date arrives).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from cidrep.contract import (
    Complaint,
    ComplaintRule,
    FeedChecker,
    FeedChunk,
    FeedRequest,
    Http,
    Observation,
    Sighting,
    SourceError,
    Verdict,
    assess_complaints,
    nanp_digits,
)
from cidrep_plugins.ftc.api import ApiPull
from cidrep_plugins.ftc.csvfile import FileParser, target_index
from cidrep_plugins.ftc.settings import DEFAULT_PATTERN, FTC_BASE_URL, FtcSettings
from cidrep_plugins.ftc.stream import file_blocks, regroup

__all__ = [
    "CHUNK_SIGHTINGS",
    "DEFAULT_PATTERN",
    "FTC_BASE_URL",
    "NOT_COVERED",
    "FtcChecker",
    "FtcSettings",
]

NOT_COVERED = "FTC data covers US/NANP numbers only"
CHUNK_SIGHTINGS = 5_000  # most sightings in one FeedChunk (one runner transaction)


@dataclass
class _Progress:
    """What one pull has reached: the cursor to report, and counts for the stats."""

    cursor: str | None  # the newest date ingested so far (or the request's cursor)
    missing: int = 0  # dates without a file since the last file read
    files: int = 0  # files read in full

    def complete(self, day: date | None) -> str | None:
        """Record a file as read; return its ``done`` item (its date), if it has one."""
        self.files += 1
        if day is None:
            return None
        current = _as_date(self.cursor)
        if current is None or day > current:
            self.cursor = day.isoformat()
        return day.isoformat()


class FtcChecker(FeedChecker):
    """Feed checker over the FTC daily complaint CSVs (URL mode or local mirror)."""

    name: ClassVar[str] = "ftc"
    description: ClassVar[str] = (
        "FTC Do Not Call complaints (US): flags numbers consumers reported to the FTC"
    )
    disclosure: ClassVar[str] = (
        "Downloads the FTC's public Do Not Call complaint files from www.ftc.gov "
        "(or reads a local mirror), or in api mode pages through api.ftc.gov by date "
        "with your api.data.gov key; sends nothing about your numbers - matching is local."
    )
    settings_model = FtcSettings
    settings: FtcSettings

    def preflight(self) -> str | None:
        if self.settings.mode == "api":
            if self.settings.api_key is None or not self.settings.api_key.get_secret_value():
                return 'mode = "api" but no api_key is set for the FTC source'
            return None if self.settings.base_url else "no base_url is set for the FTC API"
        if self.settings.path is None and not self.settings.base_url:
            return "neither base_url nor path is set for the FTC source"
        return None

    def window(self, request: FeedRequest) -> tuple[date, date]:
        """First and last dates to consider, both inclusive (see the module docstring).

        An unreadable cursor is treated like no cursor: the lookback window.
        """
        today = _today(request)
        lookback_start = today - timedelta(days=self.settings.lookback_days - 1)
        cursor = _as_date(request.cursor)
        if cursor is None:
            return lookback_start, today
        return min(lookback_start, cursor + timedelta(days=1)), today

    def dates_to_read(self, request: FeedRequest) -> list[date]:
        """The window's dates not yet done, plus (backfill) the lookback's done ones."""
        start, today = self.window(request)
        lookback_start = today - timedelta(days=self.settings.lookback_days - 1)
        return [
            day
            for day in _days(start, today)
            if day.isoformat() not in request.done or (request.backfill and day >= lookback_start)
        ]

    async def pull(self, request: FeedRequest, http: Http) -> AsyncIterator[FeedChunk]:
        """Yield bounded chunks, file after file in date order (see the module docstring);
        in API mode, day after day (``api.ApiPull``).

        URL mode: 404 means no file for that date yet and is skipped (not done); any
        other non-2xx status stops the pull with a ``SourceError`` naming the date,
        leaving earlier chunks committed. Local mode (``path``): a folder is scanned
        for pattern-named files of the dates to read; a single file is read every
        pull (its keys dedupe), done as its name's date if it has one.
        """
        targets = target_index(request.targets)
        if self.settings.mode == "api":
            window = self.window(request)
            api = ApiPull(
                self.settings, request, http, targets, window, CHUNK_SIGHTINGS, self.excerpt
            )
            async for chunk in api.chunks():
                yield chunk
            return
        progress = _Progress(request.cursor)
        path = self.settings.path
        if path is None:
            chunks = self._pull_url(request, http, targets, progress)
        elif not path.exists():
            raise SourceError(f"FTC mirror path {path} does not exist")
        elif path.is_dir():
            chunks = self._pull_folder(path, request, targets, progress)
        else:
            day = self.file_date(path.name)
            chunks = self._file_chunks(file_blocks(path), path.name, day, targets, progress)
        async for chunk in chunks:
            yield chunk

    async def _pull_url(
        self, request: FeedRequest, http: Http, targets: Mapping[str, str], progress: _Progress
    ) -> AsyncIterator[FeedChunk]:
        dates = self.dates_to_read(request)
        host = urlsplit(self.settings.base_url).hostname or self.settings.base_url
        for day in dates:
            name = self.settings.file_pattern.format(date=day.isoformat())
            # The body is parsed as it streams, but the chunks are handed on only once
            # the request is over: the session's deadline is a cancel scope, and a
            # yield inside it could let its cancellation land in the runner's code
            # (and would charge the runner's commits to the server). Only matched
            # sightings wait here, never the body.
            chunks: list[FeedChunk] = []
            async with http.stream(self.settings.base_url + name) as response:
                status = response.status_code
                if status == 404:
                    progress.missing += 1
                    continue
                if not 200 <= status < 300:
                    raise SourceError(f"FTC file for {day.isoformat()}: HTTP {status} from {host}")
                if "html" in response.headers.get("content-type", "").lower():
                    raise _html_error(day, host)
                blocks = _not_html(regroup(response.aiter_bytes()), day, host)
                chunks = [c async for c in self._file_chunks(blocks, name, day, targets, progress)]
            for chunk in chunks:
                yield chunk
        if progress.files == 0:
            _require_some_file(dates, _as_date(request.cursor), _today(request), host)

    async def _pull_folder(
        self, folder: Path, request: FeedRequest, targets: Mapping[str, str], progress: _Progress
    ) -> AsyncIterator[FeedChunk]:
        dates = self.dates_to_read(request)
        wanted = set(dates)
        by_day: dict[date, list[Path]] = {}
        for day, file in self.dated_files(folder):
            if day in wanted:
                by_day.setdefault(day, []).append(file)
        for day, files in sorted(by_day.items()):
            for i, file in enumerate(files):
                last = i == len(files) - 1  # the date is done once all its files are
                async for chunk in self._file_chunks(
                    file_blocks(file), file.name, day if last else None, targets, progress
                ):
                    yield chunk
        if not by_day:
            _require_some_file(dates, _as_date(request.cursor), _today(request), str(folder))

    async def _file_chunks(
        self,
        blocks: AsyncGenerator[bytes, None],
        name: str,
        day: date | None,
        targets: Mapping[str, str],
        progress: _Progress,
    ) -> AsyncIterator[FeedChunk]:
        """Parse one file's blocks off the event loop; yield chunks of bounded size.

        ``max_response_bytes`` applies to local files too: a path to an endless file
        (a FIFO, a device, a file still being written) ends with a ``SourceError``.
        """
        parser = FileParser(name, targets)
        cap = int(self.settings.max_response_bytes)
        size = 0
        async with aclosing(blocks):  # closes the file now, even on an error or early stop
            async for data in blocks:
                size += len(data)
                if size > cap:
                    limit = self.settings.max_response_bytes.human_readable(decimal=True)
                    raise SourceError(
                        f"FTC file {name} is larger than max_response_bytes ({limit}); "
                        "raise it if the file is really that big"
                    )
                await asyncio.to_thread(parser.feed, data)
                while len(parser.pending) >= CHUNK_SIGHTINGS:
                    sightings, stats = parser.take(CHUNK_SIGHTINGS)
                    yield FeedChunk(sightings=sightings, cursor=progress.cursor, stats=stats)
        await asyncio.to_thread(parser.finish)  # adds at most the last record: still bounded
        sightings, stats = parser.take()
        stats = {"files": 1, **stats}
        if progress.missing:
            stats["missing_files"], progress.missing = progress.missing, 0
        done = progress.complete(day)
        yield FeedChunk(sightings=sightings, cursor=progress.cursor, stats=stats, done=done)

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
        """Pattern-named regular files in ``folder``, sorted by date then name."""
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


def _today(request: FeedRequest) -> date:
    return request.now.astimezone(UTC).date()


def _as_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _html_error(day: date, host: str) -> SourceError:
    return SourceError(
        f"FTC file for {day.isoformat()}: {host} answered an HTML page, not a CSV "
        "(has the download location changed? check base_url)"
    )


async def _not_html(
    blocks: AsyncIterator[bytes], day: date, host: str
) -> AsyncGenerator[bytes, None]:
    """Pass the body through, refusing one that starts like an HTML page."""
    first = True
    async for data in blocks:
        if first and data[:256].lstrip()[:1] == b"<":
            raise _html_error(day, host)
        first = False
        yield data


# A window holding this many past weekdays must hold at least one file; none means the
# files moved or the mirror is stale, and "no complaints" would be a false clean.
MIN_EXPECTED_WEEKDAYS = 3


def _require_some_file(dates: Sequence[date], cursor: date | None, today: date, where: str) -> None:
    """Raise when the dates read, which should have had files, had none.

    Counted: past weekdays after the cursor. Not today (its file appears around
    noon US Eastern), not weekends, and not dates before the cursor: those are
    re-tried holidays among dates already read, no sign that the files moved.
    """
    weekdays = sum(
        1 for d in dates if d < today and d.weekday() < 5 and (cursor is None or d > cursor)
    )
    if weekdays >= MIN_EXPECTED_WEEKDAYS:
        raise SourceError(
            f"no FTC file found for any date from {dates[0].isoformat()} to "
            f"{dates[-1].isoformat()} ({weekdays} weekdays) at {where}; "
            "has the file location or file_pattern changed?"
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
