"""The ``ftc`` source in API mode: the FTC DNC Reported Calls API, read day by day.

``GET {base_url}dnc-complaints`` answers at most 50 complaints a page and cannot be
asked about one number, so each day since the cursor is paged through with
``created_date_from`` = ``created_date_to`` = ``"YYYY-MM-DD"`` (the quotes are part of
the value), ``items_per_page=50``, ``offset`` = 0, 50, 100, ... in ascending order,
and the complaints naming a monitored number are kept, exactly as in CSV mode: each
record becomes a row with the CSV's columns and goes through the same
``csvfile.ComplaintParser``, so a complaint gets the same sighting key and detail
whichever mode read it, and switching modes never counts it twice.

The key goes in the ``X-Api-Key`` header (never in a URL, which servers and proxies
log), to ``base_url`` only: the runner's session refuses a credential to any other
origin, on a request or a redirect. Nothing about the monitored numbers is sent.

Paging rules (the live API is loosely specified, see docs/sources/ftc-api.md):

- a page with fewer than 50 records (or none) ends the day; the total in ``meta``
  (``record-total`` or ``records-total``, an integer, a string or junk) is not
  trusted for that, or for anything;
- records are told apart by their ``id`` (their content when there is none): one
  seen before that day is skipped, so an overlapping page counts nothing twice; a
  page with records but none new (the same page again: an ignored ``offset``) ends
  the pull with an error and the day is not done;
- a non-object record, a body that is not JSON or has no ``data`` list, an HTTP
  error: an error naming the day; days read in full before it stay committed.

A day is done (``FeedChunk.done`` = ``"api:YYYY-MM-DD"``, its own namespace: CSV
mode's done items are file dates, which are not the same days) only when it was read
to its last page, had at least one record (an empty day is most likely not
published yet), and is settled: the FTC publishes each weekday by about noon US
Eastern, weekend data on Monday, so a day is taken as complete from 18:00 UTC on
the second weekday after it. Until then it is read again on each pull (its
complaints count at once; keys make the re-read harmless). The cursor is the newest
day done and never moves back.

Throttling: the session honours a short ``Retry-After`` and retries; a longer one
than ``retry_after_max`` (api.data.gov answers an hour or more) ends this run's pull
with an error, and the next run resumes at the first day not done. A backfill (a new
number: done days in the lookback are read again) that is cut short the same way
resumes too: the cursor carries how far the backfill got, for which set of numbers
(``|backfill <day> <digest>``), so the next backfill skips the done days already
re-read for the same numbers. The mark is dropped when a pull completes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cidrep.contract import FeedChunk, FeedRequest, Http, Sighting, SourceError
from cidrep_plugins.ftc.csvfile import FTC_HEADER, ComplaintParser
from cidrep_plugins.ftc.settings import FtcSettings

ENDPOINT = "dnc-complaints"
PAGE_SIZE = 50  # the API's maximum items_per_page
MAX_PAGES_PER_DAY = 2_000  # 100,000 complaints in a day; a real day has ~5,000
DONE_PREFIX = "api:"
SETTLE_WEEKDAYS = 2
SETTLE_TIME = time(18, 0)  # UTC: after the FTC's noon-Eastern publication
MIN_EXPECTED_WEEKDAYS = 3  # settled weekdays all empty: the API stopped updating
MESSAGE_CHARS = 160

# The API's attribute for each CSV column: Company_Phone_Number -> company-phone-number
ATTRIBUTES: tuple[str, ...] = tuple(column.lower().replace("_", "-") for column in FTC_HEADER)


def done_item(day: date) -> str:
    """The ``FeedChunk.done`` item of a day read in API mode."""
    return DONE_PREFIX + day.isoformat()


def settled(day: date, now: datetime) -> bool:
    """Whether every complaint created on ``day`` is surely published by ``now``."""
    end, weekdays = day, 0
    while weekdays < SETTLE_WEEKDAYS:
        end += timedelta(days=1)
        weekdays += end.weekday() < 5
    return now.astimezone(UTC) >= datetime.combine(end, SETTLE_TIME, tzinfo=UTC)


def targets_digest(targets: Iterable[str]) -> str:
    """A short fingerprint of the set of numbers a backfill reads for."""
    text = "\n".join(sorted(targets))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Cursor:
    """The feed's cursor in API mode: the newest day done, and a backfill's progress.

    Written ``YYYY-MM-DD`` or ``YYYY-MM-DD|backfill YYYY-MM-DD <digest>`` (the day
    may be empty). It starts with the date, so CSV mode reads the same cursor.
    """

    day: date | None = None
    backfill_through: date | None = None
    backfill_for: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        head, _, mark = text.partition("|")
        day = _as_date(head)
        parts = mark.split()
        if len(parts) == 3 and parts[0] == "backfill" and _as_date(parts[1]):
            return cls(day, _as_date(parts[1]), parts[2])
        return cls(day)

    def text(self) -> str:
        head = self.day.isoformat() if self.day else ""
        if self.backfill_through is None or self.backfill_for is None:
            return head
        return f"{head}|backfill {self.backfill_through.isoformat()} {self.backfill_for}"


def _as_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


class ApiPull:
    """One pull in API mode (see the module docstring).

    ``start`` and ``today`` are the window the checker computed from the cursor and
    ``lookback_days``; ``targets`` the national -> E.164 index of the monitored
    numbers; ``excerpt`` cuts server text for messages after redacting the key.
    """

    def __init__(
        self,
        settings: FtcSettings,
        request: FeedRequest,
        http: Http,
        targets: Mapping[str, str],
        window: tuple[date, date],
        chunk_size: int,
        excerpt: Callable[[str, int], str],
    ) -> None:
        self.settings = settings
        self.request = request
        self.http = http
        self.targets = targets
        self.start, self.today = window
        self.chunk_size = chunk_size
        self.excerpt = excerpt
        self.url = settings.base_url + ENDPOINT
        self.cursor = Cursor.parse(request.cursor)
        self.digest = targets_digest(request.targets)
        self.days_done = 0  # days marked done in this pull, for messages
        self.records = 0  # records read in this pull
        self.empty_weekdays = 0  # settled past weekdays after the cursor with no record

    def days_to_read(self) -> list[date]:
        """Window days not done; in a backfill also the lookback's done days, except
        those an interrupted backfill for the same numbers already read again."""
        lookback = self.today - timedelta(days=self.settings.lookback_days - 1)
        resumed = (
            self.cursor.backfill_through
            if self.request.backfill and self.cursor.backfill_for == self.digest
            else None
        )
        days = []
        for offset in range((self.today - self.start).days + 1):
            day = self.start + timedelta(days=offset)
            reread = self.request.backfill and day >= lookback
            if done_item(day) not in self.request.done or (
                reread and (resumed is None or day > resumed)
            ):
                days.append(day)
        return days

    async def chunks(self) -> AsyncIterator[FeedChunk]:
        days = self.days_to_read()
        marked = self.cursor.backfill_through is not None
        for day in days:
            sightings, stats = await self._read_day(day)
            before = self.cursor.text() or None
            reread = done_item(day) in self.request.done
            done = self._complete(day, stats["rows"])
            if self.request.backfill and reread:  # how far this backfill got, for a resume
                self.cursor = Cursor(self.cursor.day, day, self.digest)
                marked = True
            # the day's last chunk carries its done item and the cursor past it
            parts = [
                sightings[i : i + self.chunk_size]
                for i in range(0, len(sightings), self.chunk_size)
            ]
            for part in parts[:-1]:
                yield FeedChunk(sightings=part, cursor=before, stats={"matched": len(part)})
            last = parts[-1] if parts else []
            yield FeedChunk(
                sightings=last,
                cursor=self.cursor.text() or None,
                stats={**stats, "matched": len(last)},
                done=done,
            )
        self._require_some_records(days)
        if marked:  # the pull is complete: the backfill mark has served its purpose
            self.cursor = Cursor(self.cursor.day)
            yield FeedChunk(sightings=[], cursor=self.cursor.text())

    def _complete(self, day: date, rows: int) -> str | None:
        """The day's done item if it may be marked done now (and move the cursor)."""
        self.records += rows
        is_settled = settled(day, self.request.now)
        if not rows:
            after_cursor = self.cursor.day is None or day > self.cursor.day
            if is_settled and day.weekday() < 5 and after_cursor:
                self.empty_weekdays += 1
            return None
        if not is_settled:
            return None
        self.days_done += 1
        if self.cursor.day is None or day > self.cursor.day:
            self.cursor = Cursor(day, self.cursor.backfill_through, self.cursor.backfill_for)
        return done_item(day)

    def _require_some_records(self, days: list[date]) -> None:
        """No record at all over several settled weekdays: the API stopped updating,
        and "no complaints" would be a run of false clean verdicts."""
        if self.records == 0 and self.empty_weekdays >= MIN_EXPECTED_WEEKDAYS:
            raise SourceError(
                f"the FTC API returned no complaint for any day from {days[0].isoformat()} "
                f"to {days[-1].isoformat()} ({self.empty_weekdays} weekdays); is it still "
                "updated? check base_url"
            )

    # -- one day -------------------------------------------------------------------

    async def _read_day(self, day: date) -> tuple[list[Sighting], dict[str, int]]:
        """Every page of ``day``: its matched sightings, and counts for the run report."""
        parser = ComplaintParser(f"FTC API {day.isoformat()}", self.targets)
        parser.add_rows([list(FTC_HEADER)])
        seen: set[str] = set()
        pages = repeated = 0
        offset = 0
        while True:
            if pages >= MAX_PAGES_PER_DAY:
                raise self._error(
                    day, offset, f"more than {MAX_PAGES_PER_DAY} full pages (is it endless?)"
                )
            records = await self._page(day, offset)
            pages += 1
            rows = []
            for record in records:
                identity = _identity(record)
                if identity in seen:
                    repeated += 1
                    continue
                seen.add(identity)
                rows.append(_row(record))
            if records and not rows:
                raise self._error(
                    day,
                    offset,
                    "the same records as an earlier page (the offset seems ignored); "
                    "the day is not marked read",
                )
            parser.add_rows(rows)
            if len(records) < PAGE_SIZE:
                break
            offset += len(records)
        result = parser.result
        stats = {
            "days": 1,
            "pages": pages,
            "rows": result.rows,
            "junk_rows": result.junk_rows,
            "bad_dates": result.bad_dates,
            "repeated_records": repeated,
        }
        return list(result.sightings), stats

    async def _page(self, day: date, offset: int) -> list[Any]:
        """The records of one page (a list; each checked to be an object)."""
        quoted = f'"{day.isoformat()}"'
        params = {
            "created_date_from": quoted,
            "created_date_to": quoted,
            "items_per_page": PAGE_SIZE,
            "offset": offset,
            "sort_order": "ASC",
        }
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        try:
            response = await self.http.get(self.url, params=params, headers={"X-Api-Key": key})
        except SourceError as exc:  # throttled past retry_after_max, unreachable, ...
            raise self._error(day, offset, str(exc)) from None
        status = response.status_code
        if status != 200:
            raise self._error(day, offset, self._status(status, response.content))
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):
            raise self._malformed(day, offset, "not JSON") from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            what = "no data list" if isinstance(body, dict) else f"a JSON {_kind(body)}"
            raise self._malformed(day, offset, what)
        for i, record in enumerate(data):
            if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict):
                raise self._malformed(day, offset, f"record {i + 1} has no attributes object")
        return data

    def _status(self, status: int, content: bytes) -> str:
        """One line for a non-200 answer, with the gateway's code and message if any."""
        code, message = _error_detail(content)
        detail = f"HTTP {status}, {code}" if code else f"HTTP {status}"
        text = f": {self.excerpt(message, MESSAGE_CHARS)}" if message else ""
        if status in (401, 403):
            return f"the API refused the key ({detail}){text}; check [sources.ftc] api_key"
        if status == 404:
            return f"not found ({detail}){text}; check base_url (the API root)"
        return f"answered {detail}{text}"

    def _malformed(self, day: date, offset: int, what: str) -> SourceError:
        return self._error(day, offset, f"a malformed response: {what}")

    def _error(self, day: date, offset: int, problem: str) -> SourceError:
        """An error naming the day, the page and where the next run resumes."""
        where = f"FTC API, {day.isoformat()} offset {offset}"
        read = f"{self.days_done} day{'s' if self.days_done != 1 else ''} done this run"
        return SourceError(
            self.excerpt(
                f"{where}: {problem} ({read}; the next run resumes at {day.isoformat()})", 300
            )
        )


def _row(record: dict[str, Any]) -> list[str]:
    """A record as a CSV row (``FTC_HEADER`` order), for ``ComplaintParser``."""
    attributes = record["attributes"]
    return [_cell(attributes.get(name)) for name in ATTRIBUTES]


def _cell(value: object) -> str:
    """An attribute as the CSV would hold it: text as is, numbers as digits, else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _identity(record: dict[str, Any]) -> str:
    ident = record.get("id")
    if isinstance(ident, str) and ident:
        return "id:" + ident
    return "content:" + json.dumps(record, sort_keys=True, default=str)


def _kind(value: object) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), "null"
    )


def _error_detail(content: bytes) -> tuple[str, str]:
    """(code, message) from an api.data.gov ``{"error": {...}}`` or a JSON:API
    ``{"errors": [...]}`` body; empty strings when there is neither."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    error = body.get("error")
    if isinstance(error, dict):
        return _text(error.get("code")), _text(error.get("message"))
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return _text(first.get("title")), _text(first.get("detail"))
    return "", ""


def _text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""
