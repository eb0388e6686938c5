"""The ftc source in API mode (``mode = "api"``): the FTC DNC Reported Calls API, paged
day by day, matched locally exactly as the CSV mode matches its files.

Unit tests run the checker through the real ``HttpSession`` against respx; the
integration tests run ``cidrep check`` / ``cidrep report`` against a real HTTP
server on 127.0.0.1. Nothing here touches the network.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from clitools import cli_invoker
from localserver import LocalServer, Reply, Request

from cidrep.config import load_config
from cidrep.contract import FeedChunk, FeedRequest, SourceError, Verdict
from cidrep.errors import ConfigError
from cidrep.plugins import get_checkers
from cidrep.runner.engine import CheckOptions, run_cycle
from cidrep.runner.http import HttpSession
from cidrep.store import open_db
from cidrep.store import runs as runs_store
from cidrep.store.numbers import NumberEntry, add_numbers
from cidrep_plugins.ftc import api as ftc_api
from cidrep_plugins.ftc.checker import FtcChecker, FtcSettings
from cidrep_plugins.ftc.csvfile import FTC_HEADER, parse_complaints, target_index
from cidrep_plugins.ftc.settings import FTC_API_URL

A = "+12025550143"
B = "+13125550188"
TARGETS = frozenset({A, B, "+442079460000"})
KEY = "k3y-Zq8sekrit-4711"
ENDPOINT = FTC_API_URL + "dnc-complaints"
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # a Monday: days up to Thu 19 are settled
FAST = {
    "rate_limit": "1000/s",
    "backoff_initial": "0.01s",
    "backoff_max": "0.02s",
    "max_attempts": 3,
}
OVER_LIMIT = {"error": {"code": "OVER_RATE_LIMIT", "message": "You have exceeded your rate limit."}}


def iso(d: date) -> str:
    return d.isoformat()


def ago(n: int) -> date:
    return NOW.date() - timedelta(days=n)


def settings(**options: Any) -> FtcSettings:
    base = {"mode": "api", "api_key": KEY, "lookback_days": 7, "flag_window_days": 7, **FAST}
    return FtcSettings(**{**base, **options})


# --- a fake API: complaints per created day, paged like the real one -------------------


def complaint(
    phone: str,
    day: date,
    moment: str = "04:23:11",
    subject: str = "Computer & technical support",
    robocall: str = "Y",
) -> tuple[str, ...]:
    """One complaint as the eight values of a CSV row (``FTC_HEADER`` order)."""
    created = f"{iso(day)} {moment}"
    return (
        phone,
        created,
        f"{iso(day)} 01:00:00",
        "Earlysville",
        "Virginia",
        "434",
        subject,
        robocall,
    )


def record(values: tuple[str, ...], ident: str) -> dict[str, Any]:
    attributes = {name: value for name, value in zip(ftc_api.ATTRIBUTES, values, strict=True)}
    return {
        "type": "dnc_complaint",
        "id": ident,
        "attributes": attributes,
        "relationships": [],
        "meta": [],
        "links": {"self": f"https://api.ftc.gov/v0/dnc-complaints/{ident}"},
    }


def filler(day: date, count: int) -> list[tuple[str, ...]]:
    """Complaints about fictional numbers nobody monitors."""
    return [complaint(f"415555{i % 10000:04d}", day, f"09:{i % 60:02d}:00") for i in range(count)]


@dataclass
class FakeApi:
    """Serves ``days`` (date -> complaints) at the DNC endpoint, 50 a page by ``offset``.

    ``meta(total)`` builds the page's ``meta`` (the total key is inconsistent live);
    ``ignore_offset`` serves the first page whatever the offset; ``replies`` maps
    (day, offset) to a canned response (a 429, a 403, a broken body).
    """

    days: dict[date, list[tuple[str, ...]]] = field(default_factory=dict)
    meta: Callable[[int, int], dict[str, Any]] = lambda total, page: {
        "records-this-page": page,
        "record-total": total,
    }
    ignore_offset: bool = False
    replies: dict[tuple[str, int], list[httpx.Response]] = field(default_factory=dict)
    calls: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        raw_from, raw_to = params["created_date_from"], params["created_date_to"]
        assert raw_from == raw_to and raw_from.startswith('"') and raw_from.endswith('"')
        assert params["items_per_page"] == "50" and params["sort_order"] == "ASC"
        day, offset = raw_from.strip('"'), int(params["offset"])
        self.calls.append((day, offset))
        canned = self.replies.get((day, offset))
        if canned:
            return canned.pop(0)
        return httpx.Response(200, json=self.page(date.fromisoformat(day), offset))

    def page(self, day: date, offset: int) -> dict[str, Any]:
        values = self.days.get(day, [])
        records = [record(v, f"{iso(day)}-{i:05d}") for i, v in enumerate(values)]
        start = 0 if self.ignore_offset else offset
        data = records[start : start + 50]
        return {
            "data": data,
            "meta": self.meta(len(records), len(data)),
            "links": {"self": "https://www.ftc.gov/v0/dnc-complaints"},
        }

    def offsets(self, day: date) -> list[int]:
        return [o for d, o in self.calls if d == iso(day)]


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


def serve(router: respx.MockRouter, fake: FakeApi) -> respx.Route:
    return router.get(ENDPOINT).mock(side_effect=fake)


async def collect(
    checker: FtcChecker,
    request: FeedRequest,
    sleeps: list[float] | None = None,
) -> tuple[list[FeedChunk], SourceError | None]:
    """Pull through a real session whose clock only moves when it sleeps (no waiting)."""
    now = [1000.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        if sleeps is not None:
            sleeps.append(seconds)

    http = HttpSession("ftc", checker.settings, sleep=sleep, clock=lambda: now[0])
    chunks: list[FeedChunk] = []
    try:
        async for chunk in checker.pull(request, http):
            chunks.append(chunk)
    except SourceError as exc:
        return chunks, exc
    finally:
        await http.aclose()
    return chunks, None


@dataclass
class Runner:
    """Applies chunks as the real runner does: sightings stored once by key, cursor and
    done items committed with each chunk and handed back in the next request."""

    cursor: str | None = None
    done: set[str] = field(default_factory=set)
    sightings: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    added: int = 0

    def pull(
        self,
        s: FtcSettings,
        backfill: bool = False,
        now: datetime = NOW,
        targets: frozenset[str] = TARGETS,
        sleeps: list[float] | None = None,
    ) -> tuple[list[FeedChunk], SourceError | None]:
        request = FeedRequest(self.cursor, targets, backfill, now, frozenset(self.done))
        chunks, error = asyncio.run(collect(FtcChecker(s), request, sleeps))
        self.added = 0
        for chunk in chunks:
            for sighting in chunk.sightings:
                if (sighting.number, sighting.key) not in self.sightings:
                    self.added += 1
                    self.sightings[(sighting.number, sighting.key)] = {
                        "occurred_at": sighting.occurred_at,
                        "detail": sighting.detail,
                    }
            if chunk.cursor is not None:
                self.cursor = chunk.cursor
            if chunk.done:
                self.done.add(chunk.done)
        return chunks, error

    def count(self, number: str) -> int:
        return sum(1 for n, _ in self.sightings if n == number)


def week(fake: FakeApi, per_day: int = 20, complaints: dict[date, dict[str, int]] | None = None):
    """Fill ``fake`` with ``per_day`` filler complaints a day over the last 10 days, plus
    ``complaints`` (day -> number -> count)."""
    for n in range(10):
        fake.days[ago(n)] = filler(ago(n), per_day)
    for day, numbers in (complaints or {}).items():
        for number, count in numbers.items():
            for i in range(count):
                fake.days[day].append(complaint(number[2:], day, f"10:{i:02d}:00"))


# --- settings ----------------------------------------------------------------------------


def test_csv_stays_the_default_and_api_mode_defaults_to_the_api_root():
    csv = FtcSettings()
    assert csv.mode == "csv" and csv.api_key is None
    assert csv.base_url == "https://www.ftc.gov/sites/default/files/"
    s = FtcSettings(mode=" API ", api_key="DEMO_KEY")
    assert s.mode == "api" and s.base_url == FTC_API_URL
    assert FtcSettings(mode="api", api_key=KEY, base_url="https://proxy.example/ftc").base_url == (
        "https://proxy.example/ftc/"
    )
    for name in ("mode", "api_key", "base_url", "path"):
        assert FtcSettings.model_fields[name].description
    assert "DEMO_KEY" in (FtcSettings.model_fields["api_key"].description or "")
    assert KEY not in repr(settings()) and KEY not in str(settings().model_dump())


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"mode": "api"}, 'mode = "api" needs api_key'),
        ({"mode": "api", "api_key": ""}, 'mode = "api" needs api_key'),
        ({"mode": "api", "api_key": KEY, "base_url": "http://api.example/v0/"}, "https://"),
        ({"mode": "api", "api_key": KEY, "base_url": ""}, "needs base_url"),
        ({"mode": "api", "api_key": f"{KEY}\n"}, "whitespace"),
        ({"mode": "json"}, "'csv' or 'api'"),
    ],
)
def test_api_mode_settings_that_cannot_work_are_config_errors(options, problem):
    with pytest.raises(ValueError, match=problem):
        FtcSettings(**options)


def test_plain_http_is_allowed_to_loopback_only():
    for host in ("127.0.0.1:8080", "localhost", "[::1]:9000"):
        assert settings(base_url=f"http://{host}/v0").base_url == f"http://{host}/v0/"


def test_mode_and_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "c.toml"
    config.write_text("[sources.ftc]\nlookback_days = 5\nflag_window_days = 5\n")
    config.chmod(0o600)
    monkeypatch.setenv("CIDREP_SOURCES__FTC__MODE", "api")
    monkeypatch.setenv("CIDREP_SOURCES__FTC__API_KEY", KEY)
    ftc = load_config(config, get_checkers()).settings.source("ftc")
    assert ftc.mode == "api" and ftc.api_key.get_secret_value() == KEY
    assert ftc.base_url == FTC_API_URL and ftc.lookback_days == 5
    monkeypatch.delenv("CIDREP_SOURCES__FTC__API_KEY")
    with pytest.raises(ConfigError, match=r"sources\.ftc: mode = \"api\" needs api_key"):
        load_config(config, get_checkers())
    monkeypatch.setenv("CIDREP_SOURCES__FTC__API_KEY", KEY)
    monkeypatch.setenv("CIDREP_SOURCES__FTC__BASE_URL", "http://api.example/v0/")
    with pytest.raises(ConfigError) as raised:
        load_config(config, get_checkers())
    assert "https://" in str(raised.value) and KEY not in str(raised.value)


def test_preflight_and_disclosure():
    assert FtcChecker(settings()).preflight() is None
    keyless = FtcSettings.model_construct(**{**settings().__dict__, "api_key": None})
    assert "api_key" in (FtcChecker(keyless).preflight() or "")
    assert "api.ftc.gov" in FtcChecker.disclosure
    assert "nothing about your numbers" in FtcChecker.disclosure


def test_settled_means_published_two_weekdays_later_by_the_evening_utc():
    thu, fri, sat = date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)
    assert ftc_api.settled(thu, NOW)  # Fri, Mon: Mon 18:00 UTC
    assert not ftc_api.settled(thu, NOW - timedelta(minutes=1))
    assert not ftc_api.settled(fri, NOW)  # Mon, Tue
    assert ftc_api.settled(fri, NOW + timedelta(days=1))
    assert not ftc_api.settled(sat, NOW + timedelta(hours=23))
    assert ftc_api.settled(sat, NOW + timedelta(days=1))


# --- the request ---------------------------------------------------------------------


def test_query_is_one_quoted_day_50_a_page_with_the_key_in_a_header_only(api):
    fake = FakeApi({ago(4): filler(ago(4), 3)})
    route = serve(api, fake)
    runner = Runner(cursor=iso(ago(5)))
    runner.pull(settings(lookback_days=1, flag_window_days=1))
    first = route.calls[0].request
    assert first.url.raw_path.decode().startswith(
        "/v0/dnc-complaints?created_date_from=%222026-11-19%22"
        "&created_date_to=%222026-11-19%22&items_per_page=50&offset=0&sort_order=ASC"
    )
    assert first.headers["x-api-key"] == KEY
    for call in route.calls:
        assert KEY not in str(call.request.url)
        assert call.request.url.host == "api.ftc.gov" and call.request.url.scheme == "https"
    assert [d for d, _ in fake.calls] == [iso(ago(n)) for n in (4, 3, 2, 1, 0)]


# --- paging --------------------------------------------------------------------------


def test_pages_through_a_day_until_a_short_page(api):
    fake = FakeApi()
    week(fake, per_day=110, complaints={ago(5): {A: 3, B: 1}})
    serve(api, fake)
    runner = Runner(cursor=iso(ago(6)), done={f"api:{iso(ago(6))}"})
    chunks, error = runner.pull(settings())
    assert error is None
    assert fake.offsets(ago(5)) == [0, 50, 100]
    day5 = next(c for c in chunks if c.done == f"api:{iso(ago(5))}")
    assert day5.stats == {
        "days": 1,
        "pages": 3,
        "rows": 114,
        "junk_rows": 0,
        "bad_dates": 0,
        "repeated_records": 0,
        "matched": 4,
    }
    assert (runner.count(A), runner.count(B)) == (3, 1)
    assert {s["occurred_at"] for s in runner.sightings.values()} == {iso(ago(5))}


def test_a_full_last_page_is_followed_by_an_empty_one(api):
    fake = FakeApi({ago(4): [*filler(ago(4), 99), complaint(A[2:], ago(4))]})
    serve(api, fake)
    runner = Runner(cursor=iso(ago(5)))
    _, error = runner.pull(settings())
    assert error is None and fake.offsets(ago(4)) == [0, 50, 100]
    assert runner.count(A) == 1 and f"api:{iso(ago(4))}" in runner.done


@pytest.mark.parametrize(
    "meta",
    [
        lambda total, page: {"records-this-page": page, "record-total": total},
        lambda total, page: {"records-this-page": str(page), "records-total": str(total)},
        lambda total, page: {"record-total": {"_id": "5f2b", "seq": 19479399}},
        lambda total, page: {"record-total": 3734593, "records-this-page": 50},  # unrelated
        lambda total, page: {"record-total": 0},  # wrong
        lambda total, page: {},
        lambda total, page: None,
    ],
    ids=["record-total", "records-total-str", "stray-object", "huge", "zero", "none", "null"],
)
def test_the_inconsistent_total_key_changes_nothing(api, meta):
    fake = FakeApi(meta=meta)
    week(fake, per_day=70, complaints={ago(5): {A: 2}})
    serve(api, fake)
    runner = Runner(cursor=iso(ago(6)))
    _, error = runner.pull(settings())
    assert error is None
    assert fake.offsets(ago(5)) == [0, 50]
    assert runner.count(A) == 2
    assert {f"api:{iso(ago(n))}" for n in (6, 5, 4)} == runner.done  # the settled days


def test_a_repeated_page_stops_the_pull_and_counts_nothing_twice(api):
    fake = FakeApi()
    week(fake, per_day=30, complaints={ago(5): {A: 1}})
    fake.days[ago(4)] = [*filler(ago(4), 60), complaint(A[2:], ago(4))]
    serve(api, fake)
    runner = Runner(cursor=iso(ago(6)))
    fake.ignore_offset = True  # every offset answers the first page
    _, error = runner.pull(settings())
    assert error is not None
    assert str(error).startswith(
        f"FTC API, {iso(ago(4))} offset 50: the same records as an earlier page "
        "(the offset seems ignored); the day is not marked read"
    )
    assert "the next run resumes at 2026-11-19" in str(error)
    assert fake.offsets(ago(4)) == [0, 50]  # stopped at once, no endless loop
    assert runner.done == {f"api:{iso(ago(n))}" for n in (6, 5)}  # the days before it
    assert runner.cursor == iso(ago(5))
    assert runner.count(A) == 1  # ago(4)'s page was not stored, let alone twice
    fake.ignore_offset = False  # the API recovers: the day is read again, once
    _, error = runner.pull(settings())
    assert error is None and runner.count(A) == 2
    assert f"api:{iso(ago(4))}" in runner.done


def test_an_overlapping_page_skips_what_it_already_read(api):
    fake = FakeApi()
    values = [*filler(ago(4), 80), complaint(A[2:], ago(4))]
    overlap = [record(v, f"r{i}") for i, v in enumerate(values)]
    page1 = {"data": overlap[:50], "meta": {"record-total": 81}}
    page2 = {"data": overlap[40:81], "meta": {"record-total": 81}}  # 10 again, then the rest
    fake.replies[(iso(ago(4)), 0)] = [httpx.Response(200, json=page1)]
    fake.replies[(iso(ago(4)), 50)] = [httpx.Response(200, json=page2)]
    serve(api, fake)
    runner = Runner(cursor=iso(ago(5)), done={f"api:{iso(ago(5))}"})
    chunks, error = runner.pull(settings(lookback_days=2, flag_window_days=2))
    assert error is None
    day4 = next(c for c in chunks if c.done == f"api:{iso(ago(4))}")
    assert day4.stats["rows"] == 81 and day4.stats["repeated_records"] == 10
    assert runner.count(A) == 1


def test_identical_complaints_with_different_ids_are_two_complaints(api):
    same = complaint(A[2:], ago(4))
    fake = FakeApi({ago(4): [same, same]})
    serve(api, fake)
    runner = Runner(cursor=iso(ago(5)))
    runner.pull(settings())
    assert runner.count(A) == 2


def test_an_endless_day_is_an_error_not_a_hang(api, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ftc_api, "MAX_PAGES_PER_DAY", 3)
    fake = FakeApi({ago(4): filler(ago(4), 400)})
    serve(api, fake)
    _, error = Runner(cursor=iso(ago(5))).pull(settings())
    assert error is not None and "more than 3 full pages" in str(error)
    assert fake.offsets(ago(4)) == [0, 50, 100]


# --- throttling --------------------------------------------------------------------


def throttled(retry_after: str) -> httpx.Response:
    headers = {
        "Retry-After": retry_after,
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Remaining": "0",
    }
    return httpx.Response(429, headers=headers, json=OVER_LIMIT)


def test_a_short_retry_after_is_waited_out_and_the_day_completes(api):
    fake = FakeApi()
    week(fake, per_day=60, complaints={ago(5): {A: 1}})
    fake.replies[(iso(ago(5)), 50)] = [throttled("2")]
    serve(api, fake)
    sleeps: list[float] = []
    runner = Runner(cursor=iso(ago(6)))
    _, error = runner.pull(settings(), sleeps=sleeps)
    assert error is None
    assert [round(s) for s in sleeps if s >= 1] == [2]  # waited the Retry-After, once
    assert fake.offsets(ago(5)) == [0, 50, 50]
    assert runner.count(A) == 1 and f"api:{iso(ago(5))}" in runner.done


def test_a_long_retry_after_ends_the_pull_and_the_next_run_resumes(api):
    fake = FakeApi()
    week(fake, per_day=60, complaints={ago(6): {A: 1}, ago(5): {A: 1}, ago(4): {B: 1}})
    fake.replies[(iso(ago(5)), 50)] = [throttled("3600")]
    serve(api, fake)
    runner = Runner(cursor=iso(ago(7)), done={f"api:{iso(ago(7))}"})
    _, error = runner.pull(settings())
    assert error is not None
    message = str(error)
    assert message.startswith(f"FTC API, {iso(ago(5))} offset 50: throttled by api.ftc.gov")
    assert "Retry-After 3600s exceeds retry_after_max 300s" in message
    assert "(1 day done this run; the next run resumes at 2026-11-18)" in message
    assert KEY not in message
    assert runner.done == {f"api:{iso(ago(n))}" for n in (7, 6)}  # only the full day
    assert runner.cursor == iso(ago(6))
    assert runner.count(A) == 1 and runner.count(B) == 0
    assert len(fake.calls) == 4  # 6: 0, 50 (short); 5: 0, then 429 and nothing more
    fake.calls.clear()
    _, error = runner.pull(settings(), now=NOW + timedelta(hours=2))
    assert error is None
    assert next(d for d, o in fake.calls if o == 0) == iso(ago(5))  # resumed, 6 not read again
    assert (runner.count(A), runner.count(B)) == (2, 1)
    assert runner.cursor == iso(ago(4))


def test_429_without_retry_after_is_retried_then_an_error(api):
    fake = FakeApi({ago(4): filler(ago(4), 3)})
    fake.replies[(iso(ago(4)), 0)] = [httpx.Response(429, json=OVER_LIMIT) for _ in range(3)]
    serve(api, fake)
    _, error = Runner(cursor=iso(ago(5))).pull(settings())
    assert error is not None
    assert "throttled by api.ftc.gov (HTTP 429) after 3 attempts" in str(error)


# --- errors --------------------------------------------------------------------------


def test_auth_failure_403_names_the_gateway_code_and_the_setting(api):
    body = {
        "error": {
            "code": "API_KEY_INVALID",
            "message": f"An invalid api_key ({KEY}) was supplied. Get one at https://api.data.gov:443",
        }
    }
    api.get(ENDPOINT).respond(403, json=body)
    chunks, error = Runner(cursor=iso(ago(5))).pull(settings())
    assert chunks == [] and error is not None
    message = str(error)
    assert message.startswith(
        f"FTC API, {iso(ago(6))} offset 0: the API refused the key (HTTP 403, API_KEY_INVALID): "
        "An invalid api_key (***) was supplied."
    )
    assert "check [sources.ftc] api_key" in message
    assert KEY not in message and "\n" not in message


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            404,
            {"error": {"code": "NOT_FOUND", "message": "No such endpoint"}},
            "not found (HTTP 404, NOT_FOUND)",
        ),
        (
            400,
            {"errors": [{"title": "Bad Request", "status": "400", "detail": "bad date"}]},
            "answered HTTP 400, Bad Request: bad date",
        ),
        (410, "<html>gone</html>", "answered HTTP 410 ("),
    ],
)
def test_other_statuses_are_errors_naming_the_day(api, status, body, expected):
    if isinstance(body, str):
        api.get(ENDPOINT).respond(status, text=body)
    else:
        api.get(ENDPOINT).respond(status, json=body)
    _, error = Runner(cursor=iso(ago(5))).pull(settings())
    assert error is not None and expected in str(error)


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("<html><body>Service Unavailable</body></html>", "not JSON"),
        ("", "not JSON"),
        ("[" * 100_000, "not JSON"),
        ("[]", "a JSON array"),
        ('"data"', "a JSON string"),
        ('{"meta": {}}', "no data list"),
        ('{"data": {"id": "x"}}', "no data list"),
        ('{"data": [null]}', "record 1 has no attributes object"),
        ('{"data": [{"id": "a", "attributes": {}}, {"id": "b"}]}', "record 2 has no attributes"),
        ('{"data": [{"id": "a", "attributes": "x"}]}', "record 1 has no attributes"),
    ],
)
def test_malformed_json_is_an_error_not_clean(api, body, what):
    fake = FakeApi()
    week(fake, per_day=5, complaints={ago(5): {A: 1}})
    fake.replies[(iso(ago(4)), 0)] = [httpx.Response(200, text=body)]
    serve(api, fake)
    runner = Runner(cursor=iso(ago(6)))
    _, error = runner.pull(settings())
    assert error is not None
    assert str(error).startswith(f"FTC API, {iso(ago(4))} offset 0: a malformed response: {what}")
    assert len(str(error)) < 300
    assert runner.done == {f"api:{iso(ago(n))}" for n in (6, 5)}  # kept; this day is not


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": {"code": "API_KEY_MISSING", "message": f"no key like {KEY} here"}}),
        (400, {"errors": [{"title": "Bad", "detail": f"bad {KEY}"}]}),
        (200, f"oops {KEY} oops"),
        (500, f"oops {KEY} oops"),
    ],
)
def test_server_text_never_echoes_the_key(api, status, body):
    if isinstance(body, str):
        api.get(ENDPOINT).respond(status, text=body)
    else:
        api.get(ENDPOINT).respond(status, json=body)
    _, error = Runner(cursor=iso(ago(5))).pull(settings())
    assert error is not None and KEY not in str(error)
    if isinstance(body, dict):
        assert "***" in str(error)


def test_misaligned_attributes_are_junk_like_bad_csv_rows(api):
    good = complaint(A[2:], ago(4))
    shifted = (iso(ago(4)), *good[:7])  # a date in company-phone-number
    no_date = (A[2:], "yesterday", *good[2:])
    fake = FakeApi({ago(4): [good, shifted, no_date]})
    serve(api, fake)
    chunks, error = Runner(cursor=iso(ago(5))).pull(settings())
    assert error is None
    day4 = next(c for c in chunks if c.done == f"api:{iso(ago(4))}")
    assert (day4.stats["rows"], day4.stats["junk_rows"], day4.stats["bad_dates"]) == (3, 2, 1)
    assert [s.number for s in day4.sightings] == [A]


def test_numbers_as_json_numbers_match_like_text(api):
    values = complaint(A[2:], ago(4))
    numeric = record(values, "n1")
    numeric["attributes"]["company-phone-number"] = int(A[2:])
    numeric["attributes"]["consumer-area-code"] = 434
    api.get(ENDPOINT).mock(
        side_effect=lambda r: httpx.Response(
            200,
            json={
                "data": [numeric] if r.url.params["created_date_from"] == f'"{iso(ago(4))}"' else []
            },
        )
    )
    runner = Runner(cursor=iso(ago(5)))
    runner.pull(settings())
    text = parse_complaints(csv_text([values]), "x.csv", target_index(TARGETS)).sightings
    assert list(runner.sightings) == [(A, text[0].key)]


# --- the cursor and done days: only over days read in full, and settled -----------------


def test_cursor_and_done_only_over_settled_days_read_in_full(api):
    fake = FakeApi()
    week(fake, per_day=10, complaints={ago(n): {A: 1} for n in range(7)})
    fake.days[ago(6)] = []  # a settled day with no record at all: not done (unpublished?)
    serve(api, fake)
    runner = Runner()
    chunks, error = runner.pull(settings(), backfill=True)
    assert error is None
    assert [c.done for c in chunks] == [None] + [f"api:{iso(ago(n))}" for n in (5, 4)] + [None] * 4
    assert runner.cursor == iso(ago(4))  # Thu 19: Fri 20 onwards not settled yet
    assert runner.count(A) == 6  # unsettled days count at once
    fake.calls.clear()
    chunks, error = runner.pull(settings(), now=NOW + timedelta(days=1))  # Tue: Fri-Sun settle
    assert error is None
    tomorrow = NOW.date() + timedelta(days=1)  # Tue 17 left the lookback; 18, 19 are done
    assert {d for d, _ in fake.calls} == {iso(ago(n)) for n in (3, 2, 1, 0)} | {iso(tomorrow)}
    assert [c.done for c in chunks] == [f"api:{iso(ago(n))}" for n in (3, 2, 1)] + [None] * 2
    assert runner.cursor == iso(ago(1)) and runner.count(A) == 6


def test_no_record_over_several_settled_weekdays_is_an_error(api):
    serve(api, FakeApi())  # answers every day with an empty page
    runner = Runner(cursor=iso(ago(10)))
    _, error = runner.pull(settings())
    assert error is not None and "returned no complaint for any day" in str(error)
    assert runner.done == set()


def test_the_cursor_never_moves_back(api):
    fake = FakeApi()
    week(fake, per_day=3)
    serve(api, fake)
    runner = Runner(cursor=iso(ago(0)), done={f"api:{iso(ago(5))}"})
    runner.pull(settings())  # e.g. after a switch from csv mode, whose cursor is today
    assert runner.cursor == iso(ago(0)) and f"api:{iso(ago(4))}" in runner.done


# --- backfill (a new number): re-read the done days, resume when cut short -----------


def test_a_backfill_cut_short_resumes_where_it_got_to_for_the_same_numbers(api):
    fake = FakeApi()
    week(fake, per_day=10, complaints={ago(n): {B: 1} for n in (6, 5, 4)})
    serve(api, fake)
    runner = Runner()
    runner.pull(settings(), targets=frozenset({A}))
    assert runner.done == {f"api:{iso(ago(n))}" for n in (6, 5, 4)} and runner.count(B) == 0
    fake.replies[(iso(ago(4)), 0)] = [throttled("3600")]
    fake.calls.clear()
    _, error = runner.pull(settings(), backfill=True)  # B was added: re-read the done days
    assert error is not None and "Retry-After 3600s" in str(error)
    assert (
        runner.cursor == f"{iso(ago(4))}|backfill {iso(ago(5))} {ftc_api.targets_digest(TARGETS)}"
    )
    assert runner.count(B) == 2
    fake.calls.clear()
    _, error = runner.pull(settings(), backfill=True)
    assert error is None
    assert next(d for d, o in fake.calls if o == 0) == iso(ago(4))  # 6 and 5 not read again
    assert runner.count(B) == 3
    assert runner.cursor == iso(ago(4))  # complete: the mark is dropped


def test_a_backfill_for_other_numbers_starts_over(api):
    fake = FakeApi()
    week(fake, per_day=10)
    serve(api, fake)
    digest = ftc_api.targets_digest({A})
    done = {f"api:{iso(ago(n))}" for n in (6, 5, 4)}
    runner = Runner(cursor=f"{iso(ago(4))}|backfill {iso(ago(5))} {digest}", done=done)
    runner.pull(settings(), backfill=True)  # the numbers differ from the mark's: start over
    assert {d for d, o in fake.calls if o == 0} >= {iso(ago(n)) for n in (6, 5, 4)}
    assert runner.cursor == iso(ago(4))


def test_a_cursor_with_a_mark_still_reads_as_a_date_in_csv_mode():
    checker = FtcChecker(FtcSettings())
    request = FeedRequest(f"{iso(ago(40))}|backfill {iso(ago(41))} abcd", TARGETS, False, NOW)
    assert checker.window(request)[0] == ago(39)
    assert ftc_api.Cursor.parse("garbage") == ftc_api.Cursor()
    assert ftc_api.Cursor.parse("|backfill 2026-11-01 ab").text() == "|backfill 2026-11-01 ab"


# --- the key goes to the API host only ----------------------------------------------


def test_a_redirect_to_another_host_is_not_followed_with_the_key(api):
    api.get(ENDPOINT).respond(302, headers={"Location": "https://collector.example/v0/x"})
    elsewhere = api.get(host="collector.example").respond(200, json={"data": []})
    _, error = Runner(cursor=iso(ago(5))).pull(settings())
    assert error is not None and "redirected to another host (collector.example)" in str(error)
    assert "not following it with credentials" in str(error)
    assert not elsewhere.called


def test_a_redirect_to_plain_http_on_the_same_host_is_not_followed_either(api):
    api.get(ENDPOINT).respond(301, headers={"Location": "http://api.ftc.gov/v0/dnc-complaints"})
    plain = api.get(url__startswith="http://api.ftc.gov/").respond(200, json={"data": []})
    _, error = Runner(cursor=iso(ago(5))).pull(settings())
    assert error is not None and "not following it with credentials" in str(error)
    assert not plain.called


def test_a_same_origin_redirect_is_followed_and_links_elsewhere_are_never_fetched(api):
    moved = FTC_API_URL + "complaints-v2"
    api.get(ENDPOINT).mock(
        side_effect=lambda r: httpx.Response(
            308, headers={"Location": f"{moved}?{r.url.query.decode()}"}
        )
    )
    fake = FakeApi({ago(4): [complaint(A[2:], ago(4))]})
    target = api.get(moved).mock(side_effect=fake)
    www = api.get(host="www.ftc.gov").respond(200, json={"data": []})
    runner = Runner(cursor=iso(ago(5)))
    _, error = runner.pull(settings())
    assert error is None and runner.count(A) == 1
    assert target.calls[0].request.headers["x-api-key"] == KEY
    assert not www.called  # links.self points at www.ftc.gov: never followed


def test_the_key_is_refused_to_any_origin_but_base_url():
    """The session's own rule, as the ftc checker relies on it."""
    s = settings()

    async def go() -> str:
        http = HttpSession("ftc", s)
        try:
            await http.get("https://www.ftc.gov/v0/dnc-complaints", headers={"X-Api-Key": KEY})
        except SourceError as exc:
            return str(exc)
        finally:
            await http.aclose()
        return "sent"

    with respx.mock(assert_all_called=False) as router:
        other = router.get(host="www.ftc.gov").respond(200)
        message = asyncio.run(go())
    assert message.startswith("not sending a credential to www.ftc.gov")
    assert not other.called


# --- CSV and API give the same sightings: switching modes never double counts --------


def csv_text(rows: list[tuple[str, ...]]) -> str:
    lines = [",".join(FTC_HEADER)] + [
        ",".join(f'"{v}"' if "," in v else v for v in r) for r in rows
    ]
    return "\n".join(lines) + "\n"


COMPLAINTS = [
    complaint(
        A[2:], ago(5), "04:23:11", "Reducing your debt (credit cards, mortgage, student loans)"
    ),
    complaint(
        A[2:], ago(5), "04:23:11", "Reducing your debt (credit cards, mortgage, student loans)"
    ),
    complaint("1" + B[2:], ago(5), "06:00:00", "Imposters", "N"),
    complaint(A[2:], ago(3), "11:11:11", "Dropped call or no message"),
]


def test_a_complaint_gets_the_same_key_and_detail_from_csv_and_api(api):
    csv = parse_complaints(csv_text(COMPLAINTS), "f.csv", target_index(TARGETS)).sightings
    fake = FakeApi()
    for values in COMPLAINTS:
        fake.days.setdefault(date.fromisoformat(values[1][:10]), []).append(values)
    serve(api, fake)
    runner = Runner(cursor=iso(ago(6)))
    chunks, error = runner.pull(settings())
    assert error is None
    from_api = [s for c in chunks for s in c.sightings]
    assert len(from_api) == len(csv) == 4
    key = lambda s: (s.number, s.key)  # noqa: E731
    assert sorted(from_api, key=key) == sorted(csv, key=key)  # number, key, date, detail


@pytest.fixture
def switch_env(tmp_path: Path):
    db = open_db(tmp_path / "t.db")
    add_numbers(db, 1, [NumberEntry(n) for n in (A, B)], "T")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    by_file: dict[date, list[tuple[str, ...]]] = {}
    for values in COMPLAINTS:  # each complaint is in the file of the day after it
        by_file.setdefault(date.fromisoformat(values[1][:10]) + timedelta(days=1), []).append(
            values
        )
    for day, rows in by_file.items():
        (mirror / f"DNC_Complaint_Numbers_{iso(day)}.csv").write_text(
            csv_text(rows + filler(day, 5))
        )
    fake = FakeApi()
    week(fake, per_day=5)
    for values in COMPLAINTS:
        fake.days[date.fromisoformat(values[1][:10])].append(values)
    config = tmp_path / "c.toml"
    common = 'lookback_days = 7\nflag_window_days = 7\nrate_limit = "1000/s"\n'
    modes = {
        "csv": f'[sources.ftc]\npath = "{mirror}"\n{common}',
        "api": f'[sources.ftc]\nmode = "api"\napi_key = "{KEY}"\n{common}',
    }

    def run(mode: str, at: datetime) -> dict[str, Any]:
        config.write_text(modes[mode])
        loaded = load_config(config, get_checkers()).settings
        with respx.mock(assert_all_called=False) as router:
            router.get(ENDPOINT).mock(side_effect=fake)
            result = run_cycle(
                db, loaded, get_checkers(), CheckOptions(now=at, force=True, sources=["ftc"])
            )
        [ftc] = result.sources
        assert ftc.status == "ran" and not ftc.messages, ftc.messages
        return ftc.stats

    def stored() -> list[tuple[Any, ...]]:
        return list(
            db.execute(
                "SELECT n.e164, s.key, s.occurred_at, s.detail FROM sightings s "
                "JOIN numbers n ON n.id = s.number_id WHERE s.source = 'ftc' ORDER BY 1, 2"
            ).fetchall()
        )

    def evidence(number: str) -> dict[str, Any]:
        row = db.execute(
            "SELECT s.verdict, o.evidence FROM source_state s JOIN numbers n ON n.id = s.number_id "
            "JOIN observations o ON o.id = s.verdict_obs_id WHERE s.source = 'ftc' AND n.e164 = ?",
            [number],
        ).fetchone()
        return {"verdict": row[0], **json.loads(row[1] or "{}")}

    return run, stored, evidence, db


@pytest.mark.parametrize("order", [("csv", "api"), ("api", "csv")])
def test_switching_modes_never_double_counts(switch_env, order):
    run, stored, evidence, db = switch_env
    first, then = order
    stats = run(first, NOW)
    assert stats["new_sightings"] == 4
    before = stored()
    verdicts = {n: evidence(n) for n in (A, B)}
    assert verdicts[A]["verdict"] == Verdict.FLAGGED and verdicts[A]["complaints"] == 3
    stats = run(then, NOW + timedelta(hours=7))
    assert stats["new_sightings"] == 0 and stats["matched"] == 4
    assert stored() == before
    assert {n: evidence(n) for n in (A, B)} == verdicts
    done = runs_store.feed_done(db, "ftc")
    assert {iso(ago(4)), iso(ago(2))} <= done  # csv: file dates
    assert {f"api:{iso(ago(5))}", f"api:{iso(ago(4))}"} <= done  # api: settled created days


# --- integration: cidrep check against a real HTTP server on 127.0.0.1 ------------------


class LiveApi:
    """The DNC endpoint on a LocalServer, with complaints relative to the real today."""

    def __init__(self, today: date, complaints: dict[int, dict[str, int]], per_day: int = 60):
        self.days = {
            today - timedelta(days=n): filler(today - timedelta(days=n), per_day) for n in range(12)
        }
        subjects = ["Reducing your debt (credit cards, mortgage, student loans)", "Imposters"]
        for n, numbers in complaints.items():
            day = today - timedelta(days=n)
            for number, count in numbers.items():
                for i in range(count):
                    self.days[day].append(
                        complaint(number[2:], day, f"1{i}:00:00", subjects[i % 2])
                    )
        self.fail: Reply | None = None

    def __call__(self, request: Request) -> Reply:
        if self.fail is not None:
            return self.fail
        day = date.fromisoformat(request.query["created_date_from"][0].strip('"'))
        offset = int(request.query["offset"][0])
        values = self.days.get(day, [])
        records = [record(v, f"{iso(day)}-{i:05d}") for i, v in enumerate(values)]
        page = records[offset : offset + 50]
        body = {
            "data": page,
            "meta": {"records-this-page": len(page), "record-total": len(records)},
        }
        return Reply(200, json.dumps(body), {"Content-Type": "application/json"})


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    return cli_invoker(tmp_path, monkeypatch, "cidrep_plugins.ftc")


def api_config(server: LocalServer) -> str:
    return (
        f'[sources.ftc]\nmode = "api"\napi_key = "{KEY}"\nbase_url = "{server.url}/v0/"\n'
        'lookback_days = 10\nflag_window_days = 10\nrate_limit = "1000/s"\n'
    )


def test_cidrep_check_and_report_against_a_local_api(cli, tmp_path: Path):
    today = datetime.now(UTC).date()
    live = LiveApi(today, {7: {A: 1}, 6: {A: 2}, 1: {A: 1}})
    with LocalServer() as server:
        server.route("/v0/dnc-complaints", live)
        added = cli(
            "numbers", "add", "202-555-0143", "312-555-0188", config_text=api_config(server)
        )
        assert added.exit_code == 0
        checked = cli("check", "--json")
        assert checked.exit_code == 1, checked.output  # flagged
        ftc = json.loads(checked.output)["sources"]["ftc"]
        assert ftc["stats"]["new_sightings"] == 4 and ftc["stats"]["days"] == 10
        requests = [r for r in server.requests if r.path == "/v0/dnc-complaints"]
        assert all(r.headers.get("X-Api-Key") == KEY for r in requests)
        assert all("api_key" not in r.query and KEY not in str(r.query) for r in requests)
        assert {r.query["items_per_page"][0] for r in requests} == {"50"}
        first = requests[0].query["created_date_from"]
        assert first in ([f'"{iso(today - timedelta(days=n))}"'] for n in (9, 8))  # at midnight
        report = cli("report", "202-555-0143")
        assert report.exit_code == 0
        assert "ftc: flagged" in report.output and "complaints: 4" in report.output
        clean = cli("report", "312-555-0188")
        assert "ftc: clean" in clean.output
        server.requests.clear()
        again = cli("check", "--force", "--json")
        ftc = json.loads(again.output)["sources"]["ftc"]
        assert ftc["stats"]["new_sightings"] == 0
        asked = {r.query["created_date_from"][0].strip('"') for r in server.requests}
        before = datetime.now(UTC) - timedelta(minutes=5)  # settled at the first check
        settled_days = {
            iso(today - timedelta(days=n))
            for n in range(10)
            if ftc_api.settled(today - timedelta(days=n), before)
        }
        assert asked and not asked & settled_days  # done days are not read again
    for path in tmp_path.rglob("cidrep.db*"):
        assert KEY.encode() not in path.read_bytes()


def test_cidrep_check_with_a_refused_key_records_an_error_without_the_key(cli, tmp_path: Path):
    today = datetime.now(UTC).date()
    live = LiveApi(today, {})
    body = {
        "error": {"code": "API_KEY_INVALID", "message": f"An invalid api_key {KEY} was supplied"}
    }
    live.fail = Reply(403, json.dumps(body), {"Content-Type": "application/json"})
    with LocalServer() as server:
        server.route("/v0/dnc-complaints", live)
        cli("numbers", "add", "202-555-0143", config_text=api_config(server))
        checked = cli("check", "--json")
        assert checked.exit_code == 3, checked.output  # a failing source, no verdict
        [message] = json.loads(checked.output)["sources"]["ftc"]["messages"]
        refused = "the API refused the key (HTTP 403, API_KEY_INVALID): An invalid api_key ***"
        assert refused in message
        assert len(server.requests) == 1  # an auth failure is not retried
        logged = subprocess.run(  # its own process: real stderr and logging setup
            [sys.executable, "-m", "cidrep", "--verbose", "check", "--force"],
            env={**os.environ, "CIDREP_LOAD_PLUGINS": "cidrep_plugins.ftc"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert logged.returncode == 3 and "Using selector" in logged.stderr  # debug logging on
        report = cli("report", "202-555-0143")
        assert "refused the key" in report.output
        for output in (checked.output, logged.stdout, logged.stderr, report.output):
            assert KEY not in output
    for path in tmp_path.rglob("cidrep.db*"):
        assert KEY.encode() not in path.read_bytes()
