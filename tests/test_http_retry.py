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
from cidrep.runner.retry import parse_retry_after

URL = "https://api.example.test/v1/check"
HOST = "https://api.example.test"


def session(**overrides):
    settings = SourceSettings(
        rate_limit="1000/s",
        backoff_initial="1s",
        backoff_max="8s",
        retry_after_max="2m",
        **overrides,
    )
    waits: list[float] = []
    now = [0.0]  # a clock that moves only when the session sleeps

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    return HttpSession("t", settings, sleep=fake_sleep, clock=lambda: now[0]), waits


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
    with pytest.raises(
        SourceError, match=r"api\.example\.test did not answer within 5s \(2 attempts\)"
    ):
        asyncio.run(get(s))


@respx.mock
def test_client_errors_are_returned_not_retried():
    route = respx.get(URL).mock(return_value=httpx.Response(403, json={"error": "bad key"}))
    s, waits = session()
    assert asyncio.run(get(s)).status_code == 403
    assert route.call_count == 1 and waits == []


@respx.mock
def test_retry_after_on_one_request_pauses_the_others():
    throttled = asyncio.Event()
    calls: list[str] = []

    def a_side(request: httpx.Request) -> httpx.Response:
        calls.append("a")
        if len(calls) == 1:
            throttled.set()
            return httpx.Response(429, headers={"Retry-After": "5"})
        return httpx.Response(200)

    respx.get(HOST + "/a").mock(side_effect=a_side)
    respx.get(HOST + "/b").mock(return_value=httpx.Response(200))
    slept: dict[str, float] = {}

    async def fake_sleep(seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        slept[task.get_name()] = slept.get(task.get_name(), 0.0) + seconds
        await asyncio.sleep(0)

    settings = SourceSettings(rate_limit="1000/s", concurrency=4)
    s = HttpSession("t", settings, sleep=fake_sleep, clock=lambda: 0.0)  # time stands still

    async def go() -> list[int]:
        async def second() -> httpx.Response:
            await throttled.wait()  # starts while A's Retry-After is in force
            return await s.get(HOST + "/b")

        a = asyncio.create_task(s.get(HOST + "/a"), name="A")
        b = asyncio.create_task(second(), name="B")
        try:
            return [r.status_code for r in await asyncio.gather(a, b)]
        finally:
            await s.aclose()

    assert asyncio.run(go()) == [200, 200]
    assert slept["A"] >= 5
    assert slept["B"] >= 5  # B never got the 429, but waited for it too


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), ("0", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header) == expected


def test_parse_retry_after_past_date_is_zero():
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(past) == 0.0


@respx.mock
def test_503_with_retry_after_beyond_ceiling_names_the_status():
    respx.get(URL).mock(return_value=httpx.Response(503, headers={"Retry-After": "600"}))
    s, waits = session()
    with pytest.raises(SourceError) as err:
        asyncio.run(get(s))
    assert "api.example.test is unavailable (HTTP 503): Retry-After 600s exceeds" in str(err.value)
    assert waits == []


@respx.mock
def test_retry_after_beyond_ceiling_ends_the_run_for_the_source():
    """The source asked us to stay away: later requests of the run are not even sent."""
    route = respx.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    s, _ = session()

    async def two() -> list[str]:
        messages = []
        for _ in range(2):
            try:
                await s.get(URL)
            except SourceError as exc:
                messages.append(str(exc))
        await s.aclose()
        return messages

    first, second = asyncio.run(two())
    assert route.call_count == 1
    assert first == second and "will try again next run" in second


@respx.mock
def test_single_attempt_message_is_singular():
    respx.get(URL).mock(return_value=httpx.Response(500))
    s, _ = session(max_attempts=1)
    with pytest.raises(SourceError, match=r"answered HTTP 500 after 1 attempt$"):
        asyncio.run(get(s))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "30", "x-ratelimit-reset": "5"}, 30.0),
        ({"x-ratelimit-reset": "12"}, 12.0),
        ({"x-ratelimit-reset": str(1_900_000_040)}, 40.0),
        ({"x-ratelimit-reset": str(1_899_999_000)}, None),
        ({"x-ratelimit-reset": "soon"}, None),
        ({"x-ratelimit-reset": "-3"}, None),
        ({}, None),
    ],
)
def test_throttle_wait_truth_table(headers, expected):
    from datetime import UTC, datetime

    import httpx

    from cidrep.runner.retry import throttle_wait

    now = datetime.fromtimestamp(1_900_000_000, UTC)
    assert throttle_wait(httpx.Headers(headers), now) == expected
