"""Retry policy (respx): backoff with jitter, Retry-After in seconds or HTTP date,
the ceiling, and which failures are retried. Waits are recorded, not slept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from cidrep.contract import SourceError, SourceSettings
from cidrep.runner.http import HttpSession
from cidrep.runner.ratelimit import next_slot
from cidrep.runner.retry import parse_retry_after
from cidrep.timeutil import Rate

URL = "https://api.example.test/v1/check"


def session(**overrides):
    settings = SourceSettings(
        rate_limit="1000/s",
        backoff_initial="1s",
        backoff_max="8s",
        retry_after_max="2m",
        **overrides,
    )
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    return HttpSession("t", settings, sleep=fake_sleep), waits


async def get(s: HttpSession):
    try:
        return await s.get(URL, params={"api_key": "SECRET"})
    finally:
        await s.aclose()


@respx.mock
def test_retry_after_seconds_is_honoured_exactly():
    route = respx.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    s, waits = session()
    response = asyncio.run(get(s))
    assert response.status_code == 200
    assert route.call_count == 2
    assert waits == [7.0]
    assert s.retries == 1


@respx.mock
def test_retry_after_http_date_is_honoured():
    when = datetime.now(UTC) + timedelta(seconds=30)
    respx.get(URL).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
            httpx.Response(200),
        ]
    )
    s, waits = session()
    assert asyncio.run(get(s)).status_code == 200
    assert len(waits) == 1 and 25 <= waits[0] <= 30


@respx.mock
def test_retry_after_beyond_ceiling_gives_up_at_once_with_a_clear_message():
    route = respx.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    s, waits = session()
    with pytest.raises(SourceError) as err:
        asyncio.run(get(s))
    assert route.call_count == 1 and waits == []
    message = str(err.value)
    assert "Retry-After 3600s exceeds retry_after_max 120s" in message
    assert "api.example.test" in message and "SECRET" not in message


@respx.mock
def test_5xx_backs_off_exponentially_with_jitter_then_fails():
    route = respx.get(URL).mock(return_value=httpx.Response(502))
    s, waits = session(max_attempts=4)
    with pytest.raises(SourceError, match=r"api\.example\.test answered HTTP 502 after 4 attempts"):
        asyncio.run(get(s))
    assert route.call_count == 4
    assert len(waits) == 3
    # exponential base 1, 2, 4 plus up to 1s of jitter each, capped at backoff_max
    for wait, base in zip(waits, [1, 2, 4], strict=True):
        assert base <= wait <= base + 1


@respx.mock
def test_throttle_without_retry_after_uses_backoff_and_reports_429():
    respx.get(URL).mock(return_value=httpx.Response(429))
    s, waits = session(max_attempts=2)
    with pytest.raises(SourceError, match=r"throttled by api\.example\.test \(HTTP 429\)"):
        asyncio.run(get(s))
    assert len(waits) == 1 and 1 <= waits[0] <= 2


@respx.mock
def test_connect_errors_and_timeouts_are_retried():
    respx.get(URL).mock(
        side_effect=[
            httpx.ConnectError("connection refused"),
            httpx.ReadTimeout("timed out"),
            httpx.Response(200),
        ]
    )
    s, waits = session()
    assert asyncio.run(get(s)).status_code == 200
    assert len(waits) == 2


@respx.mock
def test_persistent_timeout_message():
    respx.get(URL).mock(side_effect=httpx.ConnectTimeout("timed out"))
    s, _ = session(max_attempts=2, timeout="5s")
    with pytest.raises(SourceError, match=r"api\.example\.test timed out after 5s \(2 attempts\)"):
        asyncio.run(get(s))


@respx.mock
def test_client_errors_are_returned_not_retried():
    route = respx.get(URL).mock(return_value=httpx.Response(403, json={"error": "bad key"}))
    s, waits = session()
    assert asyncio.run(get(s)).status_code == 403
    assert route.call_count == 1 and waits == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), ("0", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header) == expected


def test_parse_retry_after_past_date_is_zero():
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(past) == 0.0


def test_rate_limiter_spaces_requests_evenly():
    interval = Rate(60, 60).interval
    wait, next_free = next_slot(now=100.0, next_free=0.0, interval=interval)
    assert (wait, next_free) == (0.0, 101.0)
    wait, next_free = next_slot(now=100.2, next_free=next_free, interval=interval)
    assert (round(wait, 6), next_free) == (0.8, 102.0)
    wait, next_free = next_slot(now=110.0, next_free=next_free, interval=interval)
    assert (wait, next_free) == (0.0, 111.0)  # idle time is not banked as a burst
