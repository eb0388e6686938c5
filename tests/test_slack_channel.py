"""The built-in ``slack`` channel: its Block Kit message, and how Slack's answers are judged.

Rendering is checked against golden files (``UPDATE_GOLDEN=1`` rewrites them) and
every rendered block against slack_sdk's Block Kit models. Sending is checked with
respx (Slack's error answers) and against a real server on 127.0.0.1 (Retry-After,
redirects), through the core's ``Poster``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from localserver import LocalServer, Reply, Request
from pydantic import ValidationError
from slack_sdk.models.blocks import Block

from cidrep.alerts.transport import Poster
from cidrep.channels import Alert, DeliveryError, Dispute, SourceLine
from cidrep.redaction import Redactor
from cidrep_plugins.slack import SlackChannel, SlackSettings

GOLDEN = Path(__file__).parent / "golden"
SLACK_URL = "https://hooks.slack.com/services/T0/B0/XYZ"
SECRET_PART = "XYZ"
LINK = re.compile(r"<https?://[^\s<>|]+\|[^<>]*>")


def flagged_alert(**changes: Any) -> Alert:
    fields: dict[str, Any] = {
        "kind": "flagged",
        "key": "k-123",
        "at": "2026-11-23T10:00:00Z",
        "title": "Flagged: +1 202-555-0143 (Collections East)",
        "text": "+1 202-555-0143 (Collections East) is flagged by nomorobo, ftc.",
        "number": "+12025550143",
        "display": "+1 202-555-0143",
        "number_label": "Collections East",
        "account": "acme",
        "tags": ["team:collections"],
        "state": "flagged",
        "changed_by": ["nomorobo", "ftc"],
        "sources": [
            SourceLine(
                source="nomorobo",
                verdict="flagged",
                label="Scam Likely",
                category="robocall",
                score=92,
                since="2026-11-20T08:15:00Z",
                evidence={"reports": 14, "last_report": "2026-11-22"},
                url="https://www.nomorobo.com/lookup/202-555-0143",
            ),
            SourceLine(
                source="ftc",
                verdict="flagged",
                label="6 DNC complaints",
                category="telemarketing",
                score=70,
                since="2026-11-18",
                evidence={"complaints_90d": 6, "subjects": ["Debt reduction", "Warranties"]},
            ),
        ],
        "dispute": [
            Dispute("Free Caller Registry", "https://www.freecallerregistry.com/fcr/"),
            Dispute("Nomorobo", "https://www.nomorobo.com/contact?topic=false-positive&n=1"),
        ],
    }
    fields.update(changes)
    return Alert(**fields)


def cleared_alert() -> Alert:
    return flagged_alert(
        kind="cleared",
        key="k-124",
        at="2026-11-26T14:00:00Z",
        title="Cleared: +1 202-555-0143 (Collections East)",
        text="+1 202-555-0143 (Collections East) is clean again.",
        state="clean",
        flagged_for="3d 4h",
        sources=[
            SourceLine("nomorobo", "clean", since="2026-11-26T13:40:00Z"),
            SourceLine("ftc", "clean", score=0, evidence={"complaints_90d": 0}),
        ],
        dispute=[],
    )


def channel(url: str = SLACK_URL) -> SlackChannel:
    return SlackChannel("team", SlackSettings(type="slack", url=url))


def render(alert: Alert) -> dict[str, Any]:
    return channel().render(alert, now=1_795_000_000.0)


def mrkdwn_texts(body: dict[str, Any]) -> list[str]:
    """Every mrkdwn text in the message, the fallback ``text`` included."""
    texts = [body["text"]]
    for block in body["blocks"]:
        parts = [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        texts += [p["text"] for p in parts if p and p["type"] == "mrkdwn"]
    return texts


def assert_valid(body: dict[str, Any]) -> None:
    """The payload passes slack_sdk's Block Kit models and Slack's documented limits."""
    assert body["text"].strip()
    assert 1 <= len(body["blocks"]) <= 50
    for raw in body["blocks"]:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()  # SlackObjectFormationError on a violated limit
        assert block.to_dict() == raw  # nothing unknown or dropped
        for field in raw.get("fields", []):  # limits slack_sdk does not check
            assert 0 < len(field["text"]) <= 2000
        assert len(raw.get("elements", [])) <= 10
        if raw["type"] == "section" and "text" in raw:
            assert raw["text"]["text"].strip()


@pytest.mark.parametrize(
    ("name", "alert"), [("slack_flagged", flagged_alert()), ("slack_cleared", cleared_alert())]
)
def test_render_matches_golden(name: str, alert: Alert) -> None:
    rendered = render(alert)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(rendered, indent=2, ensure_ascii=False) + "\n")
    assert rendered == json.loads(path.read_text())
    assert_valid(rendered["body"])
    assert rendered["headers"]["X-Cidrep-Idempotency-Key"] == alert.key
    assert rendered == render(alert), "render must be pure"


def test_cleared_says_how_long_and_by_whom() -> None:
    body = render(cleared_alert())["body"]
    assert "Flagged for 3d 4h, cleared by nomorobo, ftc" in mrkdwn_texts(body)


@pytest.mark.parametrize("kind", ["source_failing", "source_recovered", "digest", "test"])
def test_notices_without_a_number_show_text_and_facts(kind: str) -> None:
    alert = Alert(
        kind=kind,
        key=f"k-{kind}",
        at="2026-11-23T10:00:00Z",
        title=f"cidrep {kind}",
        text="Source fcc has failed 3 checks in a row.\nLast error: HTTP 503.",
        facts={"failures": 3, "last_error": "HTTP 503", "numbers": ["+12025550143"]},
    )
    body = render(alert)["body"]
    assert_valid(body)
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert body["blocks"][1]["text"]["text"].startswith("Source fcc has failed 3 checks")
    assert [f["text"] for f in body["blocks"][2]["fields"]] == [
        "*failures*\n3",
        "*last_error*\nHTTP 503",
        "*numbers*\n+12025550143",
    ]
    assert body["text"] == f"cidrep {kind}\nSource fcc has failed 3 checks in a row."


def test_huge_alert_is_cut_to_slack_limits_and_stays_valid() -> None:
    long = "Very long label " * 700  # ~11k characters
    alert = flagged_alert(
        title="Flagged " * 100,
        number_label=long,
        account="a" * 5000,
        tags=[f"tag{i}" for i in range(1000)],
        text=long,
        changed_by=[f"source{i}" for i in range(500)],
        facts={f"fact{i}": "x" * 3000 for i in range(30)},
        sources=[
            SourceLine(
                source=f"src{i}",
                verdict="flagged",
                label=long,
                category=long,
                since="2026-11-20T08:15:00Z",
                score=i,
                evidence={f"k{j}": {"nested": long} for j in range(50)},
                url="https://example.com/" + "p" * 5000,
            )
            for i in range(80)
        ],
        dispute=[Dispute(long, f"https://example.com/d{i}?" + "q" * 900) for i in range(40)],
    )
    body = render(alert)["body"]
    assert_valid(body)
    assert len(body["blocks"]) == 50
    assert body["blocks"][-1]["type"] == "context"  # the key survives the cut
    assert body["blocks"][-2]["text"]["text"].startswith("*Dispute:*")
    assert body["blocks"][-2]["text"]["text"].endswith("more")
    assert "more sources: src" in body["blocks"][-3]["text"]["text"]
    assert len(body["blocks"][0]["text"]["text"]) <= 150
    assert all(len(t) <= 3000 for t in mrkdwn_texts(body))
    assert body["blocks"][2]["text"]["text"].endswith("…")  # "Flagged by source0, ..."
    assert len(body["blocks"][3]["fields"]) == 10  # facts: 9 and "21 more not shown"
    source = body["blocks"][4]["text"]["text"]
    assert source.startswith("*src0*: flagged, “Very long label")  # URL too long to link
    assert "…” (Very long" in source and source.endswith("…")


def test_user_and_source_text_is_escaped() -> None:
    bad = "<script>& <!channel> <https://evil.example|click>"
    alert = flagged_alert(
        title=f"Flagged {bad}",
        number_label=bad,
        account=bad,
        tags=[bad],
        changed_by=[bad],
        sources=[SourceLine(bad, "flagged", label=bad, category=bad, evidence={bad: bad})],
        dispute=[Dispute(bad, "javascript:alert(1)"), Dispute(bad, "https://ok.example/?a=<b>|c")],
    )
    body = render(alert)["body"]
    assert_valid(body)
    texts = mrkdwn_texts(body)
    joined = "\n".join(texts)
    assert "<script>" not in joined and "<!channel>" not in joined
    assert "<https://evil.example" not in joined
    assert "&lt;script&gt;&amp; &lt;!channel&gt;" in joined
    assert "&amp;lt;" not in joined and "&amp;amp;" not in joined  # escaped once
    # the one real link: its URL cannot close the link early
    assert "<https://ok.example/?a=%3Cb%3E%7Cc|&lt;script&gt;" in joined
    assert "javascript:" not in joined
    assert body["blocks"][0]["text"]["text"] == f"Flagged {bad}"  # plain_text is literal


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(min_size=1, max_size=4000), count=st.integers(0, 60))
def test_any_text_renders_a_valid_message(text: str, count: int) -> None:
    alert = flagged_alert(
        title=text,
        number_label=text,
        sources=[SourceLine(text, "flagged", label=text, evidence={text: text})] * count,
        dispute=[Dispute(text, "https://x.example/" + text[:50])] * (count % 5),
    )
    body = render(alert)["body"]
    assert_valid(body)
    for piece in mrkdwn_texts(body):
        outside_links = LINK.sub("", piece)
        assert "<" not in outside_links and ">" not in outside_links


# -- settings and registration ----------------------------------------------------


@pytest.mark.parametrize(
    "url", ["ftp://hooks.slack.com/XYZ", "hooks.slack.com/XYZ", "https:///XYZ", "https://h/X YZ"]
)
def test_bad_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SlackSettings(type="slack", url=url)
    assert SECRET_PART not in str(caught.value)
    assert all(SECRET_PART not in e["msg"] for e in caught.value.errors())


def test_target_is_masked() -> None:
    assert channel().target() == "https://hooks.slack.com/***"


def test_every_secret_part_of_the_url_is_redacted() -> None:
    """A server echoing only the path (or one segment) of the webhook URL is redacted."""
    from cidrep.contract import Redactor

    url = "https://hooks.slack.com/services/T0/B0/XYZSECRET42"
    redact = Redactor(channel(url).settings.secrets())
    for echoed in ("/services/T0/B0/XYZSECRET42", "token XYZSECRET42 bad", "T0/B0/XYZSECRET42"):
        assert "XYZSECRET42" not in redact(echoed)
    assert redact("Slack services answered") == "Slack services answered"  # words stay


def test_slack_is_registered_as_a_channel_only() -> None:
    import cidrep_plugins.slack as module
    from cidrep import plugins

    assert plugins.get_channels()["slack"] is SlackChannel
    assert not hasattr(module, "register_checkers")
    assert "slack" not in plugins.get_checkers()


# -- send: Slack's answers (respx) ----------------------------------------------------


def send(alert: Alert, url: str = SLACK_URL, **poster_args: Any) -> tuple[Poster, Exception | None]:
    ch = channel(url)
    poster = Poster(ch.settings, redact=Redactor(ch.settings.secrets()), **poster_args)

    async def go() -> Exception | None:
        try:
            await ch.send(alert, poster, now=1_795_000_000.0)
        except DeliveryError as exc:
            return exc
        finally:
            await poster.aclose()
        return None

    return poster, asyncio.run(go())


def test_ok_is_delivered() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(SLACK_URL).mock(return_value=httpx.Response(200, text="ok"))
        _, error = send(flagged_alert())
    assert error is None
    sent = route.calls.last.request
    assert json.loads(sent.content) == render(flagged_alert())["body"]
    assert sent.headers["X-Cidrep-Idempotency-Key"] == "k-123"
    assert sent.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("status", "text", "permanent"),
    [
        (404, "no_service", True),
        (404, "channel_not_found", True),
        (404, "Not Found", True),  # the status alone is enough
        (410, "", True),
        (403, "Forbidden", True),
        (401, "Unauthorized", True),
        (413, "request entity too large", True),
        (410, "channel_is_archived", True),
        (403, "invalid_token", True),
        (403, "action_prohibited", True),
        (400, "invalid_payload", True),
        (400, "no_text", True),
        (500, "no_service", True),  # a dead webhook is dead whatever the status
        (200, "invalid_token", True),
        (500, "rollup_error", False),
        (503, "", False),
        (502, f"<html>bad gateway for {SLACK_URL}</html>", False),
        (408, "timeout", False),
    ],
)
def test_failures_are_judged(status: int, text: str, permanent: bool) -> None:
    with respx.mock(assert_all_called=True) as router:
        router.post(SLACK_URL).mock(return_value=httpx.Response(status, text=text))
        _, error = send(flagged_alert())
    assert isinstance(error, DeliveryError)
    assert error.permanent is permanent
    assert error.retry_after is None
    message = str(error)
    assert str(status) in message and "hooks.slack.com" in message
    assert SECRET_PART not in message and "/services" not in message
    assert "\n" not in message and len(message) < 300
    if text and SLACK_URL not in text:
        assert text in message


# -- send: a real server on 127.0.0.1 ---------------------------------------------------


def test_loopback_delivers_json_with_the_key() -> None:
    with LocalServer() as server:
        server.route("/services/T0/B0/XYZ", Reply(200, "ok"))
        _, error = send(flagged_alert(), f"{server.url}/services/T0/B0/XYZ")
    assert error is None
    [request] = server.requests
    assert request.method == "POST"
    assert json.loads(request.body) == render(flagged_alert())["body"]
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-cidrep-idempotency-key"] == "k-123"
    assert headers["content-type"] == "application/json"


def test_loopback_short_retry_after_is_waited_within_the_send() -> None:
    answers = iter([Reply(429, "rate_limited", {"Retry-After": "1"}), Reply(200, "ok")])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    with LocalServer() as server:
        server.route("/services/T0/B0/XYZ", lambda _r: next(answers))
        _, error = send(flagged_alert(), f"{server.url}/services/T0/B0/XYZ", sleep=sleep)
    assert error is None
    assert len(server.requests) == 2
    assert waits == [1.0]
    assert server.requests[0].body == server.requests[1].body


def test_loopback_long_retry_after_is_left_for_a_later_run() -> None:
    with LocalServer() as server:
        server.route("/services/T0/B0/XYZ", Reply(429, "rate_limited", {"Retry-After": "3600"}))
        _, error = send(flagged_alert(), f"{server.url}/services/T0/B0/XYZ")
    assert isinstance(error, DeliveryError)
    assert not error.permanent
    assert error.retry_after == pytest.approx(3600)
    assert len(server.requests) == 1
    assert SECRET_PART not in str(error)


def test_loopback_redirect_is_refused_and_not_followed() -> None:
    with LocalServer() as server:
        elsewhere: list[Request] = []
        server.route("/elsewhere", lambda r: elsewhere.append(r) or Reply(200, "ok"))
        server.route("/services/T0/B0/XYZ", Reply(302, "", {"Location": f"{server.url}/elsewhere"}))
        _, error = send(flagged_alert(), f"{server.url}/services/T0/B0/XYZ")
    assert isinstance(error, DeliveryError)
    assert error.permanent
    assert elsewhere == []
    assert [r.path for r in server.requests] == ["/services/T0/B0/XYZ"]
    assert SECRET_PART not in str(error)
