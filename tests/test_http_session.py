"""HttpSession rules: whole-request deadline, response size cap, streaming, redirects
and the credential origin rule, Retry-After pausing the whole source, redaction.

Slow, endless and redirecting servers are real (tests/localserver.py on loopback);
the rest uses respx. Every test is bounded to a few seconds of wall time.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import respx
from localserver import LocalServer, Reply, Request
from pydantic import SecretStr

from cidrep.contract import SourceError, SourceSettings
from cidrep.redaction import Redactor
from cidrep.runner.http import HttpSession

# printable ASCII, but its raw, repr, JSON and URL spellings all differ
SECRET = 'Zq9-"tok\\en/+k3y'
FORMS = Redactor([SECRET]).forms
API = "https://api.example.test"


class Keyed(SourceSettings):
    api_key: SecretStr | None = None


def settings(base_url: str = API, **overrides: Any) -> Keyed:
    values: dict[str, Any] = {
        "rate_limit": "1000/s",
        "backoff_initial": "0.01s",
        "backoff_max": "0.01s",
        "api_key": SecretStr(SECRET),
    }
    values.update(overrides)
    return Keyed(base_url=base_url, **values)


def session(config: SourceSettings, **kwargs: Any) -> HttpSession:
    return HttpSession("t", config, redact=config.redactor(), **kwargs)


def run(s: HttpSession, coro_fn) -> Any:
    async def go() -> Any:
        try:
            return await coro_fn(s)
        finally:
            await s.aclose()

    return asyncio.run(go())


def fetch(url: str, **kwargs: Any):
    return lambda s: s.get(url, **kwargs)


def read_stream(url: str, **kwargs: Any):
    async def go(s: HttpSession) -> tuple[int, bytes]:
        async with s.stream(url, **kwargs) as r:
            body = b"".join([chunk async for chunk in r.aiter_bytes()])
            return r.status_code, body

    return go


def trickle(count: int, size: int = 1) -> Iterator[bytes]:
    """A bounded body; with ``delay`` on the Reply it trickles, without it it floods."""
    for _ in range(count):
        yield b"x" * size


def carries_secret(request: Request) -> bool:
    texts = [request.path, str(request.query), *request.headers.values()]
    return any(form in text for text in texts for form in FORMS)


async def body_of(chunks: list[bytes], seen: list[int] | None = None) -> AsyncIterator[bytes]:
    for chunk in chunks:
        if seen is not None:
            seen.append(len(chunk))
        yield chunk


# -- deadline ----------------------------------------------------------------------


def test_trickling_body_hits_the_whole_request_deadline():
    with LocalServer() as server:
        server.route("/slow", Reply(chunks=trickle(100), delay=0.2))
        s = session(settings(server.url, timeout="1s", max_attempts=1))
        started = time.monotonic()
        with pytest.raises(SourceError) as err:
            run(s, fetch(server.url + "/slow"))
        elapsed = time.monotonic() - started
    assert str(err.value) == "127.0.0.1 did not answer within 1s (1 attempt)"
    assert elapsed < 3


def test_a_deadline_hit_is_retried_as_an_attempt():
    calls: list[int] = []

    def slow_then_fast(_request: Request) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            return Reply(chunks=trickle(50), delay=0.1)
        return Reply(200, "fine")

    with LocalServer() as server:
        server.route("/flaky", slow_then_fast)
        s = session(settings(server.url, timeout="0.5s", max_attempts=2))
        response = run(s, fetch(server.url + "/flaky"))
    assert response.text == "fine"
    assert (s.requests, s.retries) == (2, 1)


def test_stream_deadline_covers_the_body():
    with LocalServer() as server:
        server.route("/slow", Reply(chunks=trickle(100), delay=0.2))
        s = session(settings(server.url, timeout="1s", max_attempts=1))
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"did not answer within 1s"):
            run(s, read_stream(server.url + "/slow"))
    assert time.monotonic() - started < 3


@respx.mock
def test_stream_deadline_covers_the_whole_block():
    respx.get(API + "/big").mock(return_value=httpx.Response(200, content=b"data"))

    async def slow_caller(s: HttpSession) -> None:
        async with s.stream(API + "/big") as r:
            await asyncio.sleep(5)  # e.g. slow parsing between blocks
            [chunk async for chunk in r.aiter_bytes()]

    s = session(settings(timeout="0.3s"))
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"api\.example\.test did not answer within 0\.3s"):
        run(s, slow_caller)
    assert time.monotonic() - started < 2
    assert s.semaphore._value == s.settings.concurrency  # its slot was given back


# -- size cap ----------------------------------------------------------------------


def test_endless_body_is_cut_at_the_cap():
    with LocalServer() as server:
        server.route("/endless", Reply(chunks=trickle(100_000, 100)))  # 10 MB at most
        s = session(settings(server.url, max_response_bytes="1KB", timeout="20s"))
        started = time.monotonic()
        with pytest.raises(SourceError) as err:
            run(s, fetch(server.url + "/endless"))
    assert str(err.value).startswith("127.0.0.1 sent more than 1 KB (max_response_bytes);")
    assert time.monotonic() - started < 3
    assert s.retries == 0  # not retried


def test_declared_length_over_cap_is_refused_before_reading():
    with LocalServer() as server:
        # declares 1 GB, then trickles: reading any of it would run into the deadline
        body = Reply(headers={"Content-Length": str(10**9)}, chunks=trickle(100), delay=0.2)
        server.route("/huge", body)
        s = session(settings(server.url, max_response_bytes="50MB", timeout="20s"))
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"127\.0\.0\.1 sent more than 50 MB"):
            run(s, fetch(server.url + "/huge"))
    assert time.monotonic() - started < 3


@respx.mock
def test_declared_length_over_cap_body_is_never_iterated():
    seen: list[int] = []
    respx.get(API + "/huge").mock(
        return_value=httpx.Response(
            200, headers={"Content-Length": "5000"}, content=body_of([b"x" * 10], seen)
        )
    )
    s = session(settings(max_response_bytes="1KB"))
    with pytest.raises(SourceError, match=r"sent more than 1 KB"):
        run(s, fetch(API + "/huge"))
    assert seen == []


@respx.mock
def test_cap_counts_decoded_bytes_so_a_gzip_bomb_stops():
    bomb = gzip.compress(b"\0" * 1_000_000)  # about 1 KB on the wire
    respx.get(API + "/bomb").mock(
        return_value=httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=bomb)
    )
    s = session(settings(max_response_bytes="100KB"))
    with pytest.raises(SourceError, match=r"sent more than 100 KB"):
        run(s, fetch(API + "/bomb"))


@respx.mock
def test_get_returns_a_read_body_decoded():
    payload = b'{"score": 7, "label": "Scam Likely"}'
    respx.get(API + "/n").mock(
        return_value=httpx.Response(
            200,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            content=gzip.compress(payload),
        )
    )
    response = run(session(settings()), fetch(API + "/n"))
    assert response.status_code == 200
    assert response.content == payload and response.json()["score"] == 7
    assert response.headers["content-type"] == "application/json"
    assert "content-encoding" not in response.headers  # it describes the wire, not .content
    assert response.headers["content-length"] == str(len(payload))


# -- stream ------------------------------------------------------------------------


@respx.mock
def test_stream_happy_path():
    chunks = [b"date,number\n", b"2026-11-20,2025550143\n", b"2026-11-20,2025550101\n"]
    respx.get(API + "/feed.csv").mock(
        return_value=httpx.Response(200, headers={"X-Part": "1"}, content=body_of(chunks))
    )

    async def go(s: HttpSession) -> tuple[int, str, bytes]:
        async with s.stream(API + "/feed.csv") as r:
            body = b"".join([chunk async for chunk in r.aiter_bytes()])
            return r.status_code, r.headers["x-part"], body

    s = session(settings())
    assert run(s, go) == (200, "1", b"".join(chunks))
    assert s.requests == 1


@respx.mock
def test_stream_returns_client_errors_and_retries_server_errors():
    route = respx.get(API + "/f").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=b"ok")]
    )
    s = session(settings())
    assert run(s, read_stream(API + "/f")) == (200, b"ok")
    assert route.call_count == 2 and s.retries == 1
    respx.get(API + "/gone").mock(return_value=httpx.Response(404, content=b"no"))
    s = session(settings())
    assert run(s, read_stream(API + "/gone")) == (404, b"no")
    assert s.retries == 0


@respx.mock
def test_stream_cap_ends_the_body():
    route = respx.get(API + "/f").mock(
        return_value=httpx.Response(200, content=body_of([b"x" * 600] * 5))
    )
    s = session(settings(max_response_bytes="1KB"))
    with pytest.raises(SourceError, match=r"api\.example\.test sent more than 1 KB"):
        run(s, read_stream(API + "/f"))
    assert route.call_count == 1


@respx.mock
def test_stream_declared_length_over_cap_fails_on_entry():
    seen: list[int] = []
    respx.get(API + "/f").mock(
        return_value=httpx.Response(
            200, headers={"Content-Length": "2000"}, content=body_of([b"x"], seen)
        )
    )
    s = session(settings(max_response_bytes="1KB"))
    with pytest.raises(SourceError, match=r"sent more than 1 KB"):
        run(s, read_stream(API + "/f"))
    assert seen == []


@respx.mock
def test_stream_failure_after_the_body_started_is_not_retried():
    async def breaks() -> AsyncIterator[bytes]:
        yield b"first part"
        raise httpx.ReadError("connection reset by peer")

    route = respx.get(API + "/f").mock(return_value=httpx.Response(200, content=breaks()))
    s = session(settings())
    with pytest.raises(SourceError, match=r"api\.example\.test broke off the body: connection"):
        run(s, read_stream(API + "/f"))
    assert route.call_count == 1 and s.retries == 0


# -- redirects and the credential origin rule --------------------------------------


@pytest.mark.parametrize("where", ["header", "query", "path"])
def test_cross_origin_redirect_with_a_credential_is_not_followed(where):
    with LocalServer() as base, LocalServer() as other:
        other.route("/landing", Reply(200, "you should not be here"))
        bounce = Reply(302, headers={"Location": other.url + "/landing"})
        path = "/k/" + quote(SECRET, safe="") if where == "path" else "/start"
        base.route(path, bounce)
        kwargs: dict[str, Any] = {
            "header": {"headers": {"X-Api-Key": SECRET}},
            "query": {"params": {"api_key": SECRET}},
            "path": {},
        }[where]
        s = session(settings(base.url))
        with pytest.raises(SourceError) as err:
            run(s, fetch(base.url + path, **kwargs))
        assert [r for r in other.requests if carries_secret(r)] == []
        assert other.requests == []
        assert len(base.requests) == 1
    port = other.url.rsplit(":", 1)[1]
    assert str(err.value) == (
        f"127.0.0.1:{base.url.rsplit(':', 1)[1]} redirected to another host "
        f"(127.0.0.1:{port}); not following it with credentials"
    )


def test_same_origin_redirect_is_followed_with_the_credential():
    with LocalServer() as base:
        base.route("/old", Reply(301, headers={"Location": "/new?page=2"}))
        base.route("/new", Reply(200, "moved here"))
        s = session(settings(base.url))
        response = run(s, fetch(base.url + "/old", headers={"X-Api-Key": SECRET}))
        assert response.text == "moved here"
        assert [r.path for r in base.requests] == ["/old", "/new"]
        assert base.requests[1].query == {"page": ["2"]}
        assert base.requests[1].headers["X-Api-Key"] == SECRET
    assert s.requests == 2


def test_cross_origin_redirect_without_credential_is_followed():
    with LocalServer() as base, LocalServer() as mirror:
        mirror.route("/file.csv", Reply(200, "a,b\n"))
        base.route("/file.csv", Reply(302, headers={"Location": mirror.url + "/file.csv"}))
        s = session(settings(base.url))
        response = run(s, fetch(base.url + "/file.csv"))
        assert response.text == "a,b\n"
        assert len(mirror.requests) == 1


@pytest.mark.parametrize("where", ["header", "query", "path"])
def test_a_credential_is_never_sent_to_another_origin(where):
    with LocalServer() as base, LocalServer() as other:
        url = other.url + ("/k/" + quote(SECRET, safe="") if where == "path" else "/x")
        kwargs: dict[str, Any] = {
            "header": {"headers": {"Authorization": f"Bearer {SECRET}"}},
            "query": {"params": {"token": SECRET}},
            "path": {},
        }[where]
        s = session(settings(base.url))
        with pytest.raises(SourceError, match=r"not sending a credential to 127\.0\.0\.1:\d+"):
            run(s, fetch(url, **kwargs))
        assert other.requests == [] and s.requests == 0


@respx.mock
def test_without_base_url_no_credential_is_sent_anywhere():
    route = respx.get(API + "/x").mock(return_value=httpx.Response(200))
    s = session(settings(base_url=""))
    with pytest.raises(SourceError, match=r"base_url is not set, so no host may receive it"):
        run(s, fetch(API + "/x", params={"key": SECRET}))
    assert route.call_count == 0
    assert run(session(settings(base_url="")), fetch(API + "/x")).status_code == 200


def test_redirect_chains_are_bounded_and_each_hop_is_rate_limited():
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    with LocalServer() as base:
        base.route("/loop", Reply(302, headers={"Location": "/loop"}))
        config = settings(base.url, rate_limit="2/s")
        s = session(config, sleep=fake_sleep, clock=lambda: 0.0)
        with pytest.raises(SourceError, match=r"redirected more than 5 times"):
            run(s, fetch(base.url + "/loop"))
        assert len(base.requests) == 6
    assert waits == [0.5, 1.0, 1.5, 2.0, 2.5]  # the 5 hops after the first waited their turn


@respx.mock
def test_a_caller_supplied_client_that_follows_redirects_is_overruled():
    respx.get(API + "/a").mock(
        return_value=httpx.Response(302, headers={"Location": "https://evil.test/b"})
    )
    evil = respx.get("https://evil.test/b").mock(return_value=httpx.Response(200))
    config = settings()
    s = HttpSession("t", config, client=httpx.AsyncClient(follow_redirects=True))
    with pytest.raises(SourceError, match=r"redirected to another host \(evil\.test\)"):
        run(s, fetch(API + "/a", headers={"X-Api-Key": SECRET}))
    assert evil.call_count == 0


# -- redaction of server text --------------------------------------------------------


@respx.mock
def test_server_text_in_messages_is_redacted_in_every_spelling():
    raw, url_encoded = SECRET, quote(SECRET, safe="")
    json_form = SECRET.replace("\\", "\\\\").replace('"', '\\"')
    repr_form = repr(SECRET)[1:-1]
    text = f"refused {raw} then {url_encoded} then {json_form} then {repr_form} end"
    respx.get(API + "/x").mock(side_effect=httpx.ConnectError(text))
    s = session(settings(max_attempts=1))
    with pytest.raises(SourceError) as err:
        run(s, fetch(API + "/x"))
    message = str(err.value)
    assert (
        message
        == "cannot reach api.example.test: refused *** then *** then *** then *** end (1 attempt)"
    )


@respx.mock
def test_non_ascii_secret_spellings_from_the_run_redactor_are_redacted():
    other = "pässwört-Ω\u200b42"  # known to the run's redactor, not to these settings
    spellings = [other, quote(other), repr(other)[1:-1], json.dumps(other)[1:-1]]
    assert len(set(spellings)) == 4  # raw, URL-encoded, repr-escaped, JSON-escaped
    spelled = " ".join(spellings)
    respx.get(API + "/x").mock(side_effect=httpx.ReadError(spelled + " " + "y" * 400))
    config = settings(max_attempts=1)
    s = HttpSession("t", config, redact=Redactor([SECRET, other]))
    with pytest.raises(SourceError) as err:
        run(s, fetch(API + "/x"))
    message = str(err.value)
    assert "ssw" not in message  # in every spelling of the secret
    assert message.startswith("cannot reach api.example.test: *** *** *** *** yyy")
    assert len(message) <= 300 and "\n" not in message


@respx.mock
def test_redirect_location_with_the_secret_is_redacted():
    respx.get(API + "/a").mock(
        return_value=httpx.Response(302, headers={"Location": f"ftp://files.test/{SECRET}"})
    )
    s = session(settings())
    with pytest.raises(SourceError) as err:
        run(s, fetch(API + "/a"))
    assert str(err.value) == "api.example.test redirected to an unusable URL: ftp://files.test/***"


def test_an_authorization_header_is_a_credential_whatever_it_encodes():
    """Basic auth hides the secret's spellings in base64: the header itself counts."""
    import base64

    basic = "Basic " + base64.b64encode(b"AC123:not-a-known-secret").decode()
    with LocalServer() as base, LocalServer() as other:
        other.route("/landing", Reply(200, "you should not be here"))
        base.route("/start", Reply(302, headers={"Location": other.url + "/landing"}))
        plain = settings(base.url, api_key=None)
        with pytest.raises(SourceError, match="not following it with credentials"):
            run(session(plain), fetch(base.url + "/start", headers={"Authorization": basic}))
        with pytest.raises(SourceError, match="not sending a credential"):
            run(session(plain), fetch(other.url + "/landing", headers={"Authorization": basic}))
        assert other.requests == []


def test_a_redirect_to_an_unparsable_location_is_a_source_error():
    with LocalServer() as base:
        base.route("/start", Reply(302, headers={"Location": "javascript:x"}))
        with pytest.raises(SourceError, match=r"not a valid URL|redirected"):
            run(session(settings(base.url, api_key=None)), fetch(base.url + "/start"))
