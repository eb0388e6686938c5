"""The signed webhook channel, against a real receiver on 127.0.0.1.

The receiver checks signatures the way a user's endpoint would: from the raw body
bytes and the ``t=`` value, with ``hmac``/``hashlib`` here, not with the plugin's own
``sign``. Bodies are validated against ``docs/alert.schema.json``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import fields
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from localserver import LocalServer, Reply, Request
from pydantic import ValidationError

from cidrep.alerts.transport import Poster
from cidrep.channels import KINDS, Alert, DeliveryError, Dispute, SourceLine
from cidrep.config import load_config
from cidrep.errors import ConfigError
from cidrep.plugins import get_channels, get_checkers
from cidrep.redaction import Redactor
from cidrep_plugins.webhook import WebhookChannel, WebhookSettings, sign, verify
from cidrep_plugins.webhook.channel import encode, judge

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "alert.schema.json").read_text())
SECRET = "whsec-0123456789abcdef-test"
TOKEN = "T0KEN-s3cr3t-p4th-abcdef"
PATH = f"/hooks/{TOKEN}"
NOW = 1_750_000_000.0

FLAGGED = Alert(
    kind="flagged",
    key="flip:42:flagged",
    at="2025-06-15T14:00:00Z",
    title="+1 415-555-0100 is flagged (Main line)",
    text="+1 415-555-0100 (Main line) is now flagged by ftc.",
    number="+14155550100",
    display="(415) 555-0100",
    number_label="Main line",
    account="acme",
    tags=["sales", "west"],
    state="flagged",
    sources=[
        SourceLine(
            source="ftc",
            verdict="flagged",
            label="Robocall",
            category="robocall",
            score=80,
            since="2025-06-14",
            evidence={"complaints": 7, "last": "2025-06-14"},
            url="https://www.ftc.gov/",
        ),
        SourceLine(source="fcc", verdict="clean"),
    ],
    changed_by=["ftc"],
    dispute=[Dispute(name="Free Caller Registry", url="https://www.freecallerregistry.com/")],
)
CLEARED = Alert(
    kind="cleared",
    key="flip:43:cleared",
    at="2025-06-18T09:30:00Z",
    title="+1 415-555-0100 is clean again",
    text="No source flags +1 415-555-0100 any more.",
    number="+14155550100",
    display="(415) 555-0100",
    account="acme",
    state="clean",
    sources=[SourceLine(source="ftc", verdict="clean")],
    changed_by=["ftc"],
    flagged_for="3d 19h",
)
FAILING = Alert(
    kind="source_failing",
    key="source:fcc:failing:7",
    at="2025-06-15T14:00:00Z",
    title="Source fcc is failing",
    text="fcc failed 3 checks in a row: HTTP 503.",
    facts={"source": "fcc", "failures": 3, "error": "HTTP 503"},
)
DIGEST = Alert(
    kind="digest",
    key="digest:2025-06-15",
    at="2025-06-15T00:00:00Z",
    title="cidrep weekly digest",
    text="12 numbers, 1 flagged, 0 cleared.",
    facts={"numbers": 12, "flagged": 1, "cleared": 0, "period": "7d", "worst": ["+14155550100"]},
)


def header(request: Request, name: str) -> str:
    """A request header, case-insensitively (HTTP header names are)."""
    return next(v for k, v in request.headers.items() if k.lower() == name.lower())


def receiver_accepts(secret: bytes, request: Request, now: float = NOW) -> bool:
    """What a user's endpoint does: recompute the MAC over b"<t>." + raw body."""
    parts = dict(item.split("=", 1) for item in header(request, "X-Cidrep-Signature").split(","))
    mac = hmac.new(secret, parts["t"].encode() + b"." + request.body, hashlib.sha256)
    fresh = abs(now - int(parts["t"])) <= 300
    return fresh and hmac.compare_digest(mac.hexdigest(), parts["v1"])


def make_channel(url: str, secret: str = SECRET) -> WebhookChannel:
    return WebhookChannel("hooks", WebhookSettings(type="webhook", url=url, secret=secret))


def deliver(channel: WebhookChannel, alert: Alert, now: float = NOW) -> None:
    """Send through the real ``Poster`` (no redirects, deadline, answer cap)."""

    async def go() -> None:
        poster = Poster(channel.settings, Redactor(channel.settings.secrets()))
        try:
            await channel.send(alert, poster, now)
        finally:
            await poster.aclose()

    asyncio.run(go())


def failure(channel: WebhookChannel, alert: Alert = FLAGGED) -> DeliveryError:
    with pytest.raises(DeliveryError) as err:
        deliver(channel, alert)
    return err.value


@pytest.fixture
def receiver():
    """A receiver that accepts only requests signed with SECRET (401 otherwise)."""
    with LocalServer() as server:

        def check(request: Request) -> Reply:
            ok = receiver_accepts(SECRET.encode(), request)
            return Reply(200, b"ok") if ok else Reply(401, b"bad signature")

        server.route(PATH, check)
        yield server


# -- signing, end to end ------------------------------------------------------------


def test_a_real_receiver_verifies_the_signature_of_what_was_sent(receiver):
    deliver(make_channel(receiver.url + PATH), FLAGGED)
    (request,) = receiver.requests
    canonical = json.dumps(FLAGGED.as_dict(), sort_keys=True, separators=(",", ":")).encode()
    assert request.body == canonical  # sorted keys, no spaces: what a re-send repeats
    assert header(request, "Content-Type") == "application/json"
    assert header(request, "X-Cidrep-Event") == "flagged"
    assert header(request, "X-Cidrep-Signature").startswith(f"t={int(NOW)},v1=")
    assert verify(SECRET.encode(), header(request, "X-Cidrep-Signature"), request.body, NOW)


def test_a_receiver_with_another_secret_rejects_it(receiver):
    err = failure(make_channel(receiver.url + PATH, secret="another-secret-0123456789"))
    assert "401" in str(err) and err.permanent
    (request,) = receiver.requests
    signature = header(request, "X-Cidrep-Signature")
    assert not verify(SECRET.encode(), signature, request.body, NOW)
    assert not receiver_accepts(SECRET.encode(), request)


def test_a_tampered_body_fails_verification(receiver):
    deliver(make_channel(receiver.url + PATH), FLAGGED)
    (request,) = receiver.requests
    signature = header(request, "X-Cidrep-Signature")
    tampered = request.body.replace(b'"flagged"', b'"cleared"', 1)
    assert tampered != request.body
    assert not verify(SECRET.encode(), signature, tampered, NOW)
    request.body = tampered
    assert not receiver_accepts(SECRET.encode(), request)


def test_an_old_or_future_timestamp_fails_verify():
    body = encode(FLAGGED.as_dict())
    key = SECRET.encode()
    assert verify(key, sign(key, int(NOW) - 299, body), body, NOW)
    assert not verify(key, sign(key, int(NOW) - 301, body), body, NOW)
    assert not verify(key, sign(key, int(NOW) + 301, body), body, NOW)
    assert verify(key, sign(key, int(NOW) - 3000, body), body, NOW, tolerance=3600)


@pytest.mark.parametrize(
    "signature",
    ["", "v1=abc", "t=1750000000", "t=abc,v1=00", "t=1750000000,v1=", "t=¹⁷⁵⁰,v1=00", "garbage"],
)
def test_verify_refuses_malformed_headers(signature):
    assert not verify(SECRET.encode(), signature, b"{}", NOW)


def test_verify_accepts_any_one_of_several_v1_values():
    body = b"{}"
    good = sign(SECRET.encode(), int(NOW), body)
    rotated = good.replace(",v1=", ",v1=" + "0" * 64 + ",v1=")
    assert verify(SECRET.encode(), rotated, body, NOW)


def test_sign_matches_an_independent_hmac():
    body = b'{"a":1}'
    expected = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(b"k" * 16, 1_700_000_000, body) == f"t=1700000000,v1={expected}"


# -- the body: the documented, versioned schema -----------------------------------


@pytest.mark.parametrize("alert", [FLAGGED, CLEARED, FAILING, DIGEST], ids=lambda a: a.kind)
def test_the_posted_body_validates_against_the_schema(receiver, alert):
    deliver(make_channel(receiver.url + PATH), alert)
    (request,) = receiver.requests
    document = json.loads(request.body)
    Draft202012Validator(SCHEMA, format_checker=FormatChecker()).validate(document)
    assert document["schema_version"] == 1 and document["kind"] == alert.kind
    assert Alert.from_dict(document) == alert  # nothing lost on the way


def test_the_schema_is_valid_and_matches_the_dataclasses():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema" and SCHEMA["$id"]
    assert set(SCHEMA["properties"]) == {"schema_version"} | {f.name for f in fields(Alert)}
    assert set(SCHEMA["required"]) == set(SCHEMA["properties"])
    assert SCHEMA["properties"]["kind"]["enum"] == list(KINDS)
    for name, cls in (("source", SourceLine), ("dispute", Dispute)):
        item = SCHEMA["$defs"][name]
        assert set(item["properties"]) == {f.name for f in fields(cls)}
        assert item["additionalProperties"] is False
    assert SCHEMA["additionalProperties"] is False
    for prop in [*SCHEMA["properties"].values(), *SCHEMA["$defs"]["source"]["properties"].values()]:
        assert prop.get("description")


@pytest.mark.parametrize(
    "change",
    [
        {"schema_version": 2},
        {"kind": "exploded"},
        {"extra": 1},
        {"number": "4155550100"},
        {"sources": [{"source": "ftc"}]},
        {"sources": [{**json.loads(json.dumps(FLAGGED.as_dict()["sources"][0])), "x": 1}]},
        {"dispute": [{"name": "x", "url": "y", "z": 1}]},
        {"tags": None},
    ],
)
def test_the_schema_rejects_what_a_receiver_should_not_trust(change):
    document = {**FLAGGED.as_dict(), **change}
    assert not Draft202012Validator(SCHEMA).is_valid(document)


def test_the_idempotency_key_is_the_alert_key_on_every_send(receiver):
    channel = make_channel(receiver.url + PATH)
    deliver(channel, FLAGGED, NOW)
    deliver(channel, FLAGGED, NOW + 60)  # a re-send: same document, fresh signature
    first, second = receiver.requests
    assert header(first, "X-Cidrep-Idempotency-Key") == FLAGGED.key
    assert header(second, "X-Cidrep-Idempotency-Key") == FLAGGED.key
    assert first.body == second.body
    assert header(second, "X-Cidrep-Signature").startswith(f"t={int(NOW) + 60},")


def test_render_is_what_is_sent_and_holds_no_secret():
    channel = make_channel("https://example.com" + PATH)
    rendered = channel.render(FLAGGED, NOW)
    assert rendered["body"] == FLAGGED.as_dict()
    assert SECRET not in json.dumps(rendered) and TOKEN not in json.dumps(rendered)
    assert channel.render(FLAGGED, NOW) == rendered  # pure
    assert channel.target() == "https://example.com/***"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"https://example.com/{TOKEN}", "https://example.com/***"),
        (f"https://user:{TOKEN}@example.com:8443/", "https://example.com:8443/***"),
        (f"http://127.0.0.1:9000/in?key={TOKEN}", "http://127.0.0.1:9000/***"),
        ("https://example.com", "https://example.com"),
    ],
)
def test_target_shows_no_part_of_the_path(url, shown):
    assert make_channel(url).target() == shown


# -- answers: what is retried, what is not, and what the message says --------------


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (502, False), (503, False), (408, False), (404, True), (400, True), (410, True)],
)
def test_answers_over_the_wire(status, permanent):
    with LocalServer() as server:
        server.route(PATH, lambda r: Reply(status, f"no hook at {r.path} for {SECRET}"))
        err = failure(make_channel(server.url + PATH))
    assert err.permanent is permanent
    assert str(status) in str(err)
    assert TOKEN not in str(err) and SECRET not in str(err) and "127.0.0.1" not in str(err)


def test_a_redirect_is_permanent_and_never_followed():
    with LocalServer() as server:
        server.route(PATH, Reply(302, b"", headers={"Location": server.url + "/elsewhere"}))
        server.route("/elsewhere", Reply(200, b"ok"))
        err = failure(make_channel(server.url + PATH))
        paths = [r.path for r in server.requests]
    assert err.permanent and "redirect" in str(err)
    assert paths == [PATH]
    assert TOKEN not in str(err) and SECRET not in str(err)


def test_a_2xx_is_delivered():
    with LocalServer() as server:
        server.route(PATH, Reply(204, b""))
        deliver(make_channel(server.url + PATH), CLEARED)
        assert len(server.requests) == 1


RETRYABLE = [408, 425, 429, 500, 502, 503, 599]
PERMANENT = [400, 401, 403, 404, 405, 410, 413, 422, 304]


@pytest.mark.parametrize("status", RETRYABLE + PERMANENT)
def test_the_status_rule(status):
    err = judge(status, "x" * 500)
    assert err is not None and err.permanent is (status in PERMANENT)
    assert "x" * 101 not in str(err) and "x" * 97 in str(err)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_success(status):
    assert judge(status, "") is None


def test_a_numeric_retry_after_is_kept():
    assert judge(503, "busy", {"retry-after": "7"}).retry_after == 7.0  # type: ignore[union-attr]
    assert judge(503, "busy", {"retry-after": "soon"}).retry_after is None  # type: ignore[union-attr]


# -- config -------------------------------------------------------------------------


def test_the_channel_is_registered_through_the_plugin_door():
    assert get_channels()["webhook"] is WebhookChannel


def _load(tmp_path: Path, url: str, secret: str) -> WebhookSettings:
    """Load a config with one webhook section, as the CLI would (errors: ConfigError)."""
    config = tmp_path / "wh.toml"
    config.write_text(
        f'[channels.hooks]\ntype = "webhook"\nurl = {json.dumps(url)}\n'
        f"secret = {json.dumps(secret)}\n"
    )
    config.chmod(0o600)
    return load_config(config, get_checkers()).settings.channels["hooks"]


def test_a_short_secret_is_refused_without_echoing_it(tmp_path):
    short = "tiny-s3cret"
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"https://e.com{PATH}", short)
    assert "channels.hooks.secret" in str(err.value) and "at least 16" in str(err.value)
    assert short not in str(err.value)
    with pytest.raises(ValidationError) as raw:
        WebhookSettings(type="webhook", url="https://e.com/x", secret=short)
    assert short not in str(raw.value) and "at least 16" in str(raw.value)


@pytest.mark.parametrize(
    "url", [f"ftp://e.com{PATH}", f"e.com{PATH}", f"https://{PATH}", f"https://e.com{PATH}\n"]
)
def test_a_non_http_url_is_refused_without_echoing_it(tmp_path, url):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, url, SECRET)
    assert "channels.hooks.url" in str(err.value)
    assert TOKEN not in str(err.value) and SECRET not in str(err.value)
    with pytest.raises(ValidationError) as raw:
        WebhookSettings(type="webhook", url=url, secret=SECRET)
    assert TOKEN not in str(raw.value)


def test_a_valid_section_loads(tmp_path):
    settings = _load(tmp_path, f"https://e.com{PATH}", SECRET)
    assert isinstance(settings, WebhookSettings)
    assert settings.secret.get_secret_value() == SECRET
    assert SECRET not in repr(settings) and TOKEN not in repr(settings)
