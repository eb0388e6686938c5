"""Tests for the example checker: the pure rules, and the checker against a mocked API.

The checker is given a tiny stand-in for the ``Http`` session the runner passes: a
plain httpx client that, like the real session, turns a transport failure into
``SourceError``. respx answers the requests, so nothing touches the network.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
import respx
from cidrep_example import ExampleChecker, ExampleSettings, register_checkers
from cidrep_example.answer import Answer, MalformedAnswer, judge, parse
from cidrep_example.checker import NOT_E164

from cidrep.contract import Observation, SourceError, Verdict

BASE = "https://reputation.example.test/api"
KEY = "ex-key-4711-sekrit"
SPAMMY, CLEAN = "+12025550143", "+13125550188"
SPAMMY_URL = f"{BASE}/numbers/%2B12025550143"
CLEAN_URL = f"{BASE}/numbers/%2B13125550188"


class Http:
    """What a checker needs of the runner's session: ``get`` returning the response."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return await self.client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise SourceError(f"example: {type(exc).__name__}") from None


def checker(**options: Any) -> ExampleChecker:
    return ExampleChecker(ExampleSettings(**{"base_url": BASE, "api_key": KEY, **options}))


def lookup(c: ExampleChecker, numbers: Sequence[str]) -> list[Observation]:
    async def run() -> list[Observation]:
        async with httpx.AsyncClient() as client:
            return list(await c.lookup(numbers, Http(client)))

    return asyncio.run(run())


# -- the pure rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spam", "score", "flag_score", "verdict"),
    [
        (True, 0, 80, Verdict.FLAGGED),
        (True, 100, 80, Verdict.FLAGGED),
        (False, 80, 80, Verdict.FLAGGED),  # at the threshold
        (False, 79, 80, Verdict.CLEAN),
        (False, 0, 80, Verdict.CLEAN),
        (False, 0, 0, Verdict.FLAGGED),  # flag_score 0 flags every number
    ],
)
def test_judge_truth_table(spam, score, flag_score, verdict):
    assert judge(Answer(spam=spam, score=score, label=None), flag_score) is verdict


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"spam": "true", "score": 3}', "'spam'"),
        (b'{"score": 3}', "'spam'"),
        (b'{"spam": false}', "'score'"),
        (b'{"spam": false, "score": 3.5}', "'score'"),
        (b'{"spam": false, "score": true}', "'score'"),
        (b'{"spam": false, "score": 101}', "'score'"),
        (b'{"spam": false, "score": 3, "label": 7}', "'label'"),
    ],
)
def test_a_malformed_answer_is_one_reason_never_a_verdict(body, reason):
    with pytest.raises(MalformedAnswer, match=reason):
        parse(body)


def test_parse_reads_the_fields():
    assert parse(b'{"spam": true, "label": " Scam Likely ", "score": 97}') == Answer(
        True, 97, "Scam Likely"
    )
    assert parse(b'{"spam": false, "label": "", "score": 3}').label is None
    assert parse(b'{"spam": false, "score": 3}').label is None


# -- the checker against a mocked API --------------------------------------------------


@respx.mock
def test_lookup_flags_and_clears_with_the_key_in_a_header():
    spammy = respx.get(SPAMMY_URL).respond(
        200, json={"spam": True, "label": "Scam Likely", "score": 97}
    )
    respx.get(CLEAN_URL).respond(200, json={"spam": False, "label": None, "score": 3})

    flagged, clean = lookup(checker(), [SPAMMY, CLEAN])

    assert flagged == Observation(
        SPAMMY, Verdict.FLAGGED, label="Scam Likely", score=97, evidence={"spam": True}
    )
    assert clean == Observation(CLEAN, Verdict.CLEAN, score=3, evidence={"spam": False})
    assert spammy.calls.last.request.headers["X-Api-Key"] == KEY


@respx.mock
def test_no_key_configured_sends_no_key_header():
    route = respx.get(CLEAN_URL).respond(200, json={"spam": False, "score": 3})
    (obs,) = lookup(checker(api_key=None), [CLEAN])
    assert obs.verdict is Verdict.CLEAN
    assert "X-Api-Key" not in route.calls.last.request.headers


@respx.mock
def test_flag_score_flags_a_risky_number_the_api_has_not_labelled():
    respx.get(CLEAN_URL).respond(200, json={"spam": False, "score": 60})
    assert lookup(checker(flag_score=50), [CLEAN])[0].verdict is Verdict.FLAGGED
    assert lookup(checker(), [CLEAN])[0].verdict is Verdict.CLEAN


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (httpx.Response(401), "rejected the API key (HTTP 401): check sources.example.api_key"),
        (httpx.Response(403), "rejected the API key (HTTP 403)"),
        (httpx.Response(404, text="no such route"), "example API answered HTTP 404"),
        (httpx.Response(200, text="<html>"), "malformed answer: not JSON"),
        (httpx.Response(200, json={"spam": "yes", "score": 1}), "malformed answer: 'spam'"),
    ],
)
def test_failures_are_errors_with_one_readable_line(reply, error):
    with respx.mock:
        respx.get(SPAMMY_URL).mock(return_value=reply)
        (obs,) = lookup(checker(), [SPAMMY])
    assert obs.verdict is Verdict.ERROR
    assert error in (obs.error or "") and "\n" not in (obs.error or "")


@respx.mock
def test_a_transport_failure_is_an_error_and_the_next_number_is_still_asked():
    respx.get(SPAMMY_URL).mock(side_effect=httpx.ConnectError("refused"))
    respx.get(CLEAN_URL).respond(200, json={"spam": False, "score": 3})
    failed, clean = lookup(checker(), [SPAMMY, CLEAN])
    assert failed.verdict is Verdict.ERROR and failed.error == "example: ConnectError"
    assert clean.verdict is Verdict.CLEAN


@respx.mock
def test_a_label_echoing_the_key_is_redacted():
    body = {"spam": True, "label": f"bad key {KEY}", "score": 90}
    respx.get(SPAMMY_URL).respond(200, text=json.dumps(body))
    (obs,) = lookup(checker(), [SPAMMY])
    assert obs.label is not None and KEY not in obs.label


@respx.mock
def test_a_number_that_is_not_e164_is_unknown_and_never_sent():
    (obs,) = lookup(checker(), ["2025550143"])
    assert obs.verdict is Verdict.UNKNOWN and obs.evidence == {"reason": NOT_E164}
    assert not respx.calls


def test_declaration_preflight_and_registration():
    registered: list[type] = []
    register_checkers(register=registered.append)
    assert registered == [ExampleChecker]
    assert ExampleChecker.name == "example" and ExampleChecker.shape == "lookup"
    assert "sources.example.base_url" in ExampleChecker.disclosure
    assert checker().preflight() is None
    assert checker(base_url="").preflight() == "no base_url configured"


def test_the_key_is_a_secret():
    settings = ExampleSettings(base_url=BASE, api_key=KEY)
    assert KEY not in repr(settings) and settings.secrets() == [KEY]
    with pytest.raises(ValueError, match="whitespace"):
        ExampleSettings(base_url=BASE, api_key=f"{KEY}\n")
