"""The ``ipqs`` checker: IPQualityScore phone reputation against a mocked API (respx),
its pure rules (number format, answer reading, verdict), the key in the URL path never
leaking, and one real ``cidrep check`` against a local HTTP server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from cidrep.contract import SEVERITY, Observation, SourceSettings, Verdict
from cidrep.runner.http import HttpSession
from cidrep_plugins.ipqs import answer
from cidrep_plugins.ipqs.answer import Answer, Rule, band, ipqs_phone, judge
from cidrep_plugins.ipqs.checker import NOT_E164, IpqsChecker, IpqsSettings

MODULE = "cidrep_plugins.ipqs"
PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugins" / "ipqs"

KEY = "Zq8IPQSsekritKEY4711abcdef012345"
HOST = "https://www.ipqualityscore.com"
A, B, C = "+18005550143", "+12025550143", "+13125550188"
A_DIGITS, B_DIGITS, C_DIGITS = "18005550143", "12025550143", "13125550188"
UK = "+442079460123"
FAST = {"backoff_initial": "0.01s", "backoff_max": "0.05s", "rate_limit": "1000/s"}


def url(digits: str, key: str = KEY, host: str = HOST) -> str:
    return f"{host}/api/json/phone/{quote(key, safe='')}/{digits}"


# Reconstructed answers (sources.md §3): real field names and types, made-up values.
RISKY = {
    "message": "Success.",
    "success": True,
    "formatted": "+18005550143",
    "local_format": "(800) 555-0143",
    "valid": True,
    "fraud_score": 92,
    "recent_abuse": True,
    "VOIP": True,
    "prepaid": False,
    "risky": True,
    "active": True,
    "name": "N/A",
    "carrier": "Bandwidth",
    "line_type": "VOIP",
    "country": "US",
    "region": "CA",
    "city": "San Francisco",
    "timezone": "America/Los_Angeles",
    "zip_code": "N/A",
    "dialing_code": 1,
    "do_not_call": False,
    "leaked": False,
    "spammer": True,
    "active_status": "N/A",
    "user_activity": "Enterprise L4+ required.",
    "associated_email_addresses": {"status": "Enterprise L4+ required.", "emails": []},
    "request_id": "4WDY2lSb7y",
}
CLEAN = {
    **RISKY,
    "formatted": "+12025550143",
    "local_format": "(202) 555-0143",
    "fraud_score": 0,
    "recent_abuse": False,
    "VOIP": False,
    "risky": False,
    "spammer": False,
    "carrier": "Verizon Wireless",
    "line_type": "Wireless",
    "request_id": "9XbQ0aa1Zt",
}
INVALID = {
    "message": "Phone is invalid.",
    "success": True,
    "formatted": "N/A",
    "valid": False,
    "fraud_score": 100,
    "recent_abuse": False,
    "VOIP": False,
    "prepaid": None,
    "risky": False,
    "active": False,
    "carrier": "N/A",
    "line_type": "N/A",
    "country": "N/A",
    "spammer": False,
    "request_id": "1Abc",
}
BAD_KEY = {"success": False, "message": "Invalid or unauthorized key", "request_id": "x1"}
QUOTA = {
    "success": False,
    "message": "You have exceeded your request quota of 5,000 per month. Please upgrade.",
    "request_id": "x2",
}

RISKY_EVIDENCE = {
    "spammer": True,
    "recent_abuse": True,
    "risky": True,
    "valid": True,
    "active": True,
    "voip": True,
    "prepaid": False,
    "line_type": "VOIP",
    "carrier": "Bandwidth",
    "country": "US",
    "risk": "frequent abuse",
}


def make_settings(**overrides: object) -> IpqsSettings:
    return IpqsSettings(**{**FAST, "max_attempts": 3, "api_key": KEY, **overrides})


def lookup(
    numbers: Sequence[str], settings: IpqsSettings | None = None, session: HttpSession | None = None
) -> list[Observation]:
    checker = IpqsChecker(settings or make_settings())

    async def go() -> list[Observation]:
        http = session or HttpSession("ipqs", checker.settings)
        try:
            return list(await checker.lookup(numbers, http))
        finally:
            await http.aclose()

    return asyncio.run(go())


def one(settings: IpqsSettings | None = None, number: str = A) -> Observation:
    [obs] = lookup([number], settings)
    assert obs.number == number
    return obs


def fail(settings: IpqsSettings | None = None, number: str = A) -> Observation:
    """The number's observation is an error with a one-line message, never a verdict."""
    obs = one(settings, number)
    assert obs.verdict is Verdict.ERROR, obs
    assert obs.error and "\n" not in obs.error
    assert obs.score is None and obs.label is None and obs.category is None
    return obs


def leaks(text: str, key: str = KEY) -> bool:
    forms = {key, quote(key, safe=""), json.dumps(key)[1:-1]}
    return any(form.lower() in text.lower() for form in forms)


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


# --- registration, settings ---------------------------------------------------------


def test_registers_through_the_plugin_door(monkeypatch):
    from cidrep.plugins import get_checkers, reset_cache

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", MODULE)
    reset_cache()
    assert get_checkers()["ipqs"] is IpqsChecker
    assert IpqsChecker.name == "ipqs" and IpqsChecker.shape == "lookup"
    assert "ipqualityscore.com" in IpqsChecker.disclosure
    assert IpqsChecker(make_settings()).batch_size == 1


def test_settings_defaults_and_descriptions():
    s = IpqsSettings()
    assert (s.base_url, s.api_key, s.strictness) == (HOST, None, 0)
    assert (s.flag_fraud_score, s.flag_spammer, s.flag_recent_abuse) == (85, True, True)
    assert (str(s.rate_limit), s.concurrency, s.interval.total_seconds()) == ("1/s", 1, 86400)
    assert (s.timeout.total_seconds(), int(s.max_response_bytes)) == (20, 1_000_000)
    assert s.daily_budget is None
    own = ["api_key", "strictness", "flag_fraud_score", "flag_spammer", "flag_recent_abuse"]
    assert all(IpqsSettings.model_fields[name].description for name in own)


@pytest.mark.parametrize(
    "bad",
    [
        {"strictness": 3},
        {"strictness": -1},
        {"flag_fraud_score": 0},
        {"flag_fraud_score": 101},
        {"base_url": ""},
        {"base_url": "ftp://www.ipqualityscore.com"},
        {"api_key": f"{KEY}\n"},  # a pasted line break
        {"api_key": "key with space"},
        {"daily_budget": 0},
        {"surprise": 1},
    ],
)
def test_settings_reject_bad_values(bad):
    with pytest.raises(ValidationError):
        IpqsSettings(**bad)


def test_plain_source_settings_are_upgraded_keeping_what_was_set():
    checker = IpqsChecker(SourceSettings(rate_limit="5/s", max_attempts=2))
    assert isinstance(checker.settings, IpqsSettings)
    assert (str(checker.settings.rate_limit), checker.settings.max_attempts) == ("5/s", 2)
    assert checker.settings.base_url == HOST


def test_preflight_skips_without_a_key():
    assert IpqsChecker(IpqsSettings()).preflight() == "no api_key configured"
    assert IpqsChecker(IpqsSettings(api_key="")).preflight() == "no api_key configured"
    assert IpqsChecker(make_settings()).preflight() is None


def test_without_a_key_nothing_is_sent(api):
    route = api.get(url__regex=r".*").respond(json=RISKY)
    obs = fail(IpqsSettings(**FAST))
    assert obs.error == "IPQS: no api_key configured" and route.call_count == 0


# --- verdicts over HTTP ---------------------------------------------------------------


def test_flagged_with_signal(api):
    route = api.get(url(A_DIGITS)).respond(json=RISKY)
    obs = one()
    assert route.call_count == 1
    assert obs.verdict is Verdict.FLAGGED
    assert obs.score == 92
    assert obs.label == "spammer, recent abuse, frequent abuse"
    assert obs.category == "spam"
    assert obs.evidence == RISKY_EVIDENCE
    assert obs.url is None and obs.error is None
    assert obs.cost_units == 1.0


def test_clean(api):
    api.get(url(B_DIGITS)).respond(json=CLEAN)
    obs = one(number=B)
    assert obs.verdict is Verdict.CLEAN and obs.score == 0
    assert obs.label is None and obs.category is None
    assert obs.evidence == {
        "spammer": False,
        "recent_abuse": False,
        "risky": False,
        "valid": True,
        "active": True,
        "voip": False,
        "prepaid": False,
        "line_type": "Wireless",
        "carrier": "Verizon Wireless",
        "country": "US",
        "risk": "low",
    }
    assert obs.cost_units == 1.0


def test_suspicious_score_below_the_threshold_is_clean_with_its_band(api):
    api.get(url(B_DIGITS)).respond(json={**CLEAN, "fraud_score": 80})
    obs = one(number=B)
    assert obs.verdict is Verdict.CLEAN and obs.score == 80 and obs.label is None
    assert obs.evidence["risk"] == "suspicious"


def test_high_score_alone_flags_as_fraud(api):
    api.get(url(B_DIGITS)).respond(json={**CLEAN, "fraud_score": 85})
    obs = one(number=B)
    assert (obs.verdict, obs.score, obs.label, obs.category) == (
        Verdict.FLAGGED,
        85,
        "high risk",
        "fraud",
    )


def test_recent_abuse_alone_flags(api):
    api.get(url(B_DIGITS)).respond(json={**CLEAN, "fraud_score": 40, "recent_abuse": True})
    obs = one(number=B)
    assert (obs.verdict, obs.label, obs.category) == (Verdict.FLAGGED, "recent abuse", "fraud")


def test_invalid_number_is_unknown_not_a_high_risk_flag(api):
    # IPQS gives invalid numbers fraud_score 100; that says "not a real number", not spam.
    api.get(url(A_DIGITS)).respond(json=INVALID)
    obs = one()
    assert obs.verdict is Verdict.UNKNOWN and obs.score is None and obs.label is None
    assert obs.evidence == {
        "spammer": False,
        "recent_abuse": False,
        "risky": False,
        "valid": False,
        "active": False,
        "voip": False,
    }
    assert obs.cost_units == 1.0


def test_thresholds_come_from_settings(api):
    api.get(url(B_DIGITS)).respond(json={**CLEAN, "fraud_score": 80, "spammer": True})
    assert one(make_settings(flag_spammer=False), B).verdict is Verdict.CLEAN
    obs = one(make_settings(flag_spammer=False, flag_fraud_score=75), B)
    assert (obs.verdict, obs.label, obs.category) == (
        Verdict.FLAGGED,
        "spammer, suspicious",
        "spam",
    )


def test_volatile_fields_do_not_change_the_observation(api):
    """request_id, message and the like change on every call: one history row, not many."""
    api.get(url(A_DIGITS)).mock(
        side_effect=[
            httpx.Response(200, json=RISKY),
            httpx.Response(200, json={**RISKY, "request_id": "other", "message": "OK"}),
        ]
    )
    first, second = lookup([A, A])
    assert first == second
    assert "request_id" not in json.dumps(first.evidence)


def test_empty_answer_is_an_error_not_clean(api):
    api.get(url(A_DIGITS)).respond(json={})
    obs = fail()
    assert obs.error == "IPQS returned a malformed response: no 'success' flag"
    assert obs.cost_units == 0.0


def test_success_without_a_score_is_an_error_but_billed(api):
    api.get(url(A_DIGITS)).respond(json={"success": True, "message": "Success."})
    obs = fail()
    assert obs.error == "IPQS returned a malformed response: no 'fraud_score'"
    assert obs.cost_units == 1.0


def test_not_e164_is_unknown_without_a_request(api):
    route = api.get(url__regex=r".*").respond(json=RISKY)
    obs = one(number="2025550143")
    assert obs.verdict is Verdict.UNKNOWN and obs.evidence == {"reason": NOT_E164}
    assert route.call_count == 0 and obs.cost_units == 0.0


def test_international_numbers_are_asked(api):
    uk = {**CLEAN, "formatted": "+442079460123", "country": "GB"}
    route = api.get(url("442079460123")).respond(json=uk)
    obs = one(number=UK)
    assert route.call_count == 1 and obs.verdict is Verdict.CLEAN
    assert obs.evidence["country"] == "GB"


def test_several_numbers_keep_their_order(api):
    api.get(url(A_DIGITS)).respond(json=RISKY)
    api.get(url(B_DIGITS)).respond(json=CLEAN)
    result = lookup([B, "nope", A])
    assert [o.number for o in result] == [B, "nope", A]
    assert [o.verdict for o in result] == [Verdict.CLEAN, Verdict.UNKNOWN, Verdict.FLAGGED]


def test_answer_about_another_number_is_an_error(api):
    api.get(url(B_DIGITS)).respond(json={**CLEAN, "formatted": "+1 312-555-0188"})
    obs = fail(number=B)
    assert obs.error == "IPQS answered about another number (+13125550188, asked +12025550143)"
    assert obs.cost_units == 1.0


@pytest.mark.parametrize("formatted", ["N/A", "", None, "(202) 555-0143", "+1 (202) 555-0143"])
def test_formatted_that_says_nothing_or_agrees_is_fine(api, formatted):
    api.get(url(B_DIGITS)).respond(json={**CLEAN, "formatted": formatted})
    assert one(number=B).verdict is Verdict.CLEAN


# --- the request ----------------------------------------------------------------------


def test_request_shape_key_in_the_path_only(api):
    route = api.get(url(A_DIGITS)).respond(json=RISKY)
    one(make_settings(strictness=1))
    request = route.calls[0].request
    assert request.url.path == f"/api/json/phone/{KEY}/{A_DIGITS}"
    assert dict(request.url.params) == {"strictness": "1"}
    assert str(request.url).count(KEY) == 1
    assert not any(leaks(value) for value in request.headers.values())


def test_key_with_reserved_characters_stays_one_path_segment(api):
    odd = "k/y?x#z%q&a=b"
    route = api.get(url(A_DIGITS, key=odd)).respond(json=RISKY)
    obs = one(make_settings(api_key=odd))
    assert route.call_count == 1 and obs.verdict is Verdict.FLAGGED
    raw = route.calls[0].request.url.raw_path.decode()
    assert raw.split("?")[0] == f"/api/json/phone/k%2Fy%3Fx%23z%25q%26a%3Db/{A_DIGITS}"


def test_base_url_with_a_path_prefix(api):
    route = api.get(url(A_DIGITS, host="https://proxy.example.test/ipqs")).respond(json=CLEAN)
    obs = one(make_settings(base_url="https://proxy.example.test/ipqs/"))
    assert route.call_count == 1 and obs.verdict is Verdict.ERROR  # formatted is B's
    assert "another number" in (obs.error or "")


# --- errors ---------------------------------------------------------------------------


def test_error_in_200_invalid_key(api):
    api.get(url(A_DIGITS)).respond(json=BAD_KEY)
    obs = fail()
    assert obs.error == (
        "IPQS rejected the API key (Invalid or unauthorized key): check sources.ipqs.api_key"
    )
    assert obs.cost_units == 0.0


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Invalid or unauthorized key", "key"),
        ("Invalid key.", "key"),
        ("Unauthorized API key", "key"),
        ("Invalid request for key abc", "other"),
        ("You have exceeded your request quota of 5000 per month.", "quota"),
        ("Insufficient credits.", "quota"),
        ("Invalid phone.", "other"),
        (None, "other"),
    ],
)
def test_refusal_kinds(message, kind):
    assert answer.Refusal(message).kind == kind


def test_error_in_200_quota(api):
    api.get(url(A_DIGITS)).respond(json=QUOTA)
    obs = fail()
    assert obs.error is not None and obs.error.startswith("IPQS quota exhausted (You have")
    assert "daily_budget" in obs.error and obs.cost_units == 0.0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"success": False, "message": "Invalid phone."},
            "IPQS refused the lookup: Invalid phone.",
        ),
        (
            {"success": False, "errors": ["", "Strictness out of range."]},
            "IPQS refused the lookup: Strictness out of range.",
        ),
        ({"success": False}, "IPQS refused the lookup (success: false, no message)"),
        (
            {"success": False, "message": "x" * 1000},
            "IPQS refused the lookup: " + "x" * 117 + "...",
        ),
        # A refusal that carries a score is still a refusal, never a verdict.
        ({**RISKY, "success": False, "message": "Nope."}, "IPQS refused the lookup: Nope."),
    ],
)
def test_error_in_200_other_refusals(api, body, expected):
    api.get(url(A_DIGITS)).respond(json=body)
    assert fail().error == expected


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_status(api, status):
    api.get(url(A_DIGITS)).respond(status, json={"success": False, "message": "Forbidden."})
    obs = fail()
    assert obs.error == (
        f"IPQS rejected the API key (HTTP {status}) (Forbidden.): check sources.ipqs.api_key"
    )


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, "<html>nope</html>", "IPQS answered HTTP 404: check sources.ipqs.base_url"),
        (400, '{"message": "Bad phone."}', "IPQS answered HTTP 400 (Bad phone.)"),
        (302, "", "IPQS answered HTTP 302"),  # a redirect without Location
    ],
)
def test_other_statuses(api, status, body, expected):
    api.get(url(A_DIGITS)).respond(status, text=body)
    assert fail().error == expected


def test_throttle_retry_after_is_honoured_by_the_session(api):
    route = api.get(url(A_DIGITS)).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json=RISKY),
        ]
    )
    waits: list[float] = []
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    settings = make_settings()
    session = HttpSession("ipqs", settings, sleep=fake_sleep, clock=lambda: now[0])
    [obs] = lookup([A], settings, session)
    assert route.call_count == 2 and waits == [7.0]
    assert obs.verdict is Verdict.FLAGGED and obs.cost_units == 1.0


def test_throttle_exhausts_retries(api):
    route = api.get(url(A_DIGITS)).respond(429)
    obs = fail()
    assert route.call_count == 3  # max_attempts
    assert obs.error == "throttled by www.ipqualityscore.com (HTTP 429) after 3 attempts"
    assert obs.cost_units == 0.0


def test_throttle_longer_than_retry_after_max_gives_up(api):
    route = api.get(url(A_DIGITS)).respond(429, headers={"Retry-After": "3600"})
    obs = fail()
    assert route.call_count == 1
    assert obs.error is not None and "exceeds retry_after_max 300s" in obs.error


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<html><body>Service Unavailable" + "x" * 5000, "not JSON ('<html><body>Service"),
        ("", "empty body"),
        ("[]", "expected a JSON object, got an array"),
        ('"Success."', "expected a JSON object, got a string"),
        ('{"success": "true", "fraud_score": 92}', "no 'success' flag"),
        ('{"success": 1, "fraud_score": 92}', "no 'success' flag"),
        ('{"success": true, "fraud_score": "92"}', "'fraud_score' is a string"),
        ('{"success": true, "fraud_score": true}', "'fraud_score' is a boolean"),
        ('{"success": true, "fraud_score": 150}', "'fraud_score' is outside 0-100"),
        ('{"success": true, "fraud_score": -1}', "'fraud_score' is outside 0-100"),
        ('{"success": true, "fraud_score": NaN}', "'fraud_score' is outside 0-100"),
        ('{"success": true, "fraud_score": 10, "spammer": "false"}', "'spammer' is a string"),
        ('{"success": true, "fraud_score": 10, "recent_abuse": 0}', "'recent_abuse' is a number"),
        ('{"success": true, "fraud_score": 10, "valid": "yes"}', "'valid' is a string"),
        ("[[[[[[[[[[" * 20_000, "not JSON"),  # nested past the decoder's recursion limit
    ],
)
def test_malformed_body_is_an_error_not_a_verdict(api, body, reason):
    api.get(url(A_DIGITS)).respond(200, text=body)
    obs = fail()
    assert obs.error is not None
    assert obs.error.startswith(f"IPQS returned a malformed response: {reason}")
    assert len(obs.error) < 160


def test_body_over_the_cap_is_an_error(api):
    api.get(url(A_DIGITS)).respond(200, text="x" * 2000)
    obs = fail(make_settings(max_response_bytes="1KB"))
    assert "sent more than 1 KB" in (obs.error or "")


# --- the key never leaks ----------------------------------------------------------------


def test_key_echoed_by_the_server_is_redacted(api):
    body = {"success": False, "message": f"Invalid or unauthorized key: {KEY}"}
    api.get(url(A_DIGITS)).respond(json=body)
    obs = fail()
    assert obs.error == "IPQS rejected the API key (Invalid or unauthorized key: ***): " + (
        "check sources.ipqs.api_key"
    )


@pytest.mark.parametrize(
    "respond",
    [
        lambda: httpx.Response(200, text=f"oops /api/json/phone/{KEY}/1 oops"),
        lambda: httpx.Response(200, text=f"{KEY[:20]}"),  # a prefix of the key, cut
        lambda: httpx.Response(403, json={"message": f"key {quote(KEY)} is not allowed"}),
        lambda: httpx.Response(400, json={"errors": [f"bad path /phone/{KEY}/1"]}),
        lambda: httpx.Response(200, json={"success": False, "message": "x" * 110 + KEY}),
        lambda: httpx.Response(200, json={**CLEAN, "formatted": f"+{KEY}"}),
    ],
)
def test_key_in_any_server_text_never_reaches_the_observation(api, respond):
    api.get(url(B_DIGITS)).mock(side_effect=lambda _request: respond())
    obs = fail(number=B)
    assert not leaks(repr(obs)), obs


def test_key_in_answer_fields_is_redacted(api):
    api.get(url(A_DIGITS)).respond(json={**RISKY, "carrier": f"Carrier {KEY}"})
    obs = one()
    assert obs.verdict is Verdict.FLAGGED and obs.evidence["carrier"] == "Carrier ***"
    assert not leaks(repr(obs))


def test_transport_error_quoting_the_url_is_redacted(api):
    api.get(url(A_DIGITS)).mock(side_effect=httpx.ConnectError(f"refused: {url(A_DIGITS)}"))
    obs = fail()
    assert obs.error is not None and obs.error.startswith("cannot reach www.ipqualityscore.com")
    assert "/api/json/phone/***/" in obs.error and not leaks(obs.error)


def test_redirect_to_another_host_is_not_followed_with_the_key(api):
    moved = f"https://ipqualityscore.com/api/json/phone/{KEY}/{A_DIGITS}"
    api.get(url(A_DIGITS)).respond(302, headers={"Location": moved})
    elsewhere = api.get(url__startswith="https://ipqualityscore.com/").respond(json=RISKY)
    obs = fail()
    assert elsewhere.call_count == 0
    assert obs.error == (
        "www.ipqualityscore.com redirected to another host (ipqualityscore.com); "
        "not following it with credentials"
    )


def test_redirect_within_the_origin_is_followed(api):
    moved = f"/v2/api/json/phone/{KEY}/{A_DIGITS}"
    api.get(url(A_DIGITS)).respond(301, headers={"Location": moved})
    target = api.get(f"{HOST}{moved}").respond(json=RISKY)
    assert one().verdict is Verdict.FLAGGED and target.call_count == 1


def test_key_is_never_sent_to_a_host_other_than_base_url(api):
    """A base_url the session cannot trust (here: a different origin for the request)
    is refused before anything is sent."""
    route = api.get(url__regex=r".*").respond(json=RISKY)
    checker = IpqsChecker(make_settings(base_url="https://proxy.example.test"))

    async def go() -> list[Observation]:
        http = HttpSession("ipqs", make_settings())  # trusts www.ipqualityscore.com only
        try:
            return list(await checker.lookup([A], http))
        finally:
            await http.aclose()

    [obs] = asyncio.run(go())
    assert route.call_count == 0 and obs.verdict is Verdict.ERROR
    assert obs.error == (
        "not sending a credential to proxy.example.test: "
        "only https://www.ipqualityscore.com (base_url) may receive it"
    )


def test_settings_never_show_the_key():
    s = make_settings()
    assert KEY not in repr(s) and KEY not in str(s.model_dump())
    assert s.secrets() == [KEY]
    assert isinstance(s.api_key, SecretStr)


# --- cost -------------------------------------------------------------------------------


def test_cost_estimate_is_one_per_number_sent():
    checker = IpqsChecker(make_settings())
    assert checker.cost_estimate([A]) == 1.0
    assert checker.cost_estimate([A, B, UK]) == 3.0
    assert checker.cost_estimate([A, "2025550143", ""]) == 1.0
    assert checker.cost_estimate([]) == 0.0


def test_cost_units_match_the_estimate_for_answered_lookups(api):
    api.get(url(A_DIGITS)).respond(json=RISKY)
    api.get(url(B_DIGITS)).respond(json=CLEAN)
    api.get(url(C_DIGITS)).respond(json=BAD_KEY)
    numbers = [A, B, "x", C]
    result = lookup(numbers)
    assert [o.cost_units for o in result] == [1.0, 1.0, 0.0, 0.0]
    assert sum(o.cost_units for o in result) <= IpqsChecker(make_settings()).cost_estimate(numbers)


# --- pure rules: number format, bands, verdict ------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+12025550143", "12025550143"),
        ("+18005550143", "18005550143"),
        ("+442079460123", "442079460123"),
        ("+6831234", "6831234"),  # 7 digits: the shortest E.164 that IPQS is sent
        ("+123456789012345", "123456789012345"),
        ("+1234567890123456", None),  # 16 digits
        ("+683123", None),
        ("12025550143", None),
        ("+02025550143", None),
        ("+1 202 555 0143", None),
        ("+1202555014\uff13", None),  # a non-ASCII (fullwidth) digit
        ("", None),
        (None, None),
    ],
)
def test_ipqs_phone(number, expected):
    assert ipqs_phone(number) == expected


@given(st.from_regex(r"[1-9][0-9]{6,14}", fullmatch=True))
def test_ipqs_phone_round_trips(digits):
    assert ipqs_phone(f"+{digits}") == digits
    assert ipqs_phone(digits) is None


BAND_CASES = [(0, "low"), (74, "low"), (75, "suspicious"), (84, "suspicious")]
BAND_CASES += [
    (85, "high risk"),
    (89, "high risk"),
    (90, "frequent abuse"),
    (100, "frequent abuse"),
]


@pytest.mark.parametrize(("score", "name"), BAND_CASES)
def test_bands(score, name):
    assert band(score) == name


def make_answer(
    score: int = 0,
    spammer: bool | None = False,
    abuse: bool | None = False,
    valid: bool | None = True,
) -> Answer:
    return Answer(score, spammer, abuse, valid, None, {})


F, CL, U = Verdict.FLAGGED, Verdict.CLEAN, Verdict.UNKNOWN


@pytest.mark.parametrize(
    ("valid", "spammer", "abuse", "score", "verdict", "label", "category"),
    [
        (True, False, False, 0, CL, None, None),
        (True, False, False, 84, CL, None, None),
        (True, False, False, 85, F, "high risk", "fraud"),
        (True, False, False, 90, F, "frequent abuse", "fraud"),
        (True, True, False, 0, F, "spammer", "spam"),
        (True, False, True, 10, F, "recent abuse", "fraud"),
        (True, True, True, 76, F, "spammer, recent abuse, suspicious", "spam"),
        (True, False, False, 74, CL, None, None),
        (None, None, None, 50, CL, None, None),  # fields IPQS left out say nothing
        (None, True, None, 50, F, "spammer", "spam"),
        (False, True, True, 100, U, None, None),  # not a valid number: cannot judge
        (False, False, False, 0, U, None, None),
    ],
)
def test_judge_truth_table(valid, spammer, abuse, score, verdict, label, category):
    j = judge(make_answer(score, spammer, abuse, valid), Rule())
    assert (j.verdict, j.label, j.category) == (verdict, label, category)
    assert j.score == (None if verdict is U else score)


@pytest.mark.parametrize(
    ("rule", "verdict"),
    [
        (Rule(flag_fraud_score=75), F),
        (Rule(flag_fraud_score=81), CL),
        (Rule(flag_fraud_score=80), F),
    ],
)
def test_judge_threshold_is_inclusive(rule, verdict):
    assert judge(make_answer(80), rule).verdict is verdict


def test_judge_label_names_a_score_below_the_bands():
    j = judge(make_answer(40), Rule(flag_fraud_score=30))
    assert (j.verdict, j.label, j.category) == (F, "fraud score 40", "fraud")


def test_judge_flags_can_be_turned_off():
    both = make_answer(10, spammer=True, abuse=True)
    assert judge(both, Rule(flag_spammer=False, flag_recent_abuse=False)).verdict is CL
    only_abuse = judge(both, Rule(flag_spammer=False))
    assert (only_abuse.verdict, only_abuse.category) == (F, "spam")  # IPQS calls it a spammer


flags = st.sampled_from([True, False, None])


@given(
    low=st.integers(0, 100),
    high=st.integers(0, 100),
    spammer=flags,
    abuse=flags,
    valid=flags,
    threshold=st.integers(1, 100),
)
def test_judge_is_monotonic_and_consistent(low, high, spammer, abuse, valid, threshold):
    low, high = sorted((low, high))
    rule = Rule(flag_fraud_score=threshold)
    a = judge(make_answer(low, spammer, abuse, valid), rule)
    b = judge(make_answer(high, spammer, abuse, valid), rule)
    assert SEVERITY[a.verdict] <= SEVERITY[b.verdict]  # a higher score is never milder
    for j, score in ((a, low), (b, high)):
        assert j.verdict is not Verdict.ERROR
        assert (j.verdict is U) == (valid is False)
        assert j.score == (None if valid is False else score)
        assert (j.label is not None) == (j.category is not None) == (j.verdict is F)
        if j.verdict is F:
            assert j.category in ("spam", "fraud") and j.label


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
answers = st.fixed_dictionaries(
    {},
    optional={
        "success": st.booleans() | json_values,
        "fraud_score": st.integers(-5, 120) | json_values,
        "spammer": flags | json_values,
        "recent_abuse": flags | json_values,
        "valid": flags | json_values,
        "message": st.text(max_size=20) | json_values,
        "carrier": st.text(max_size=20) | json_values,
    },
)


def cut(text: str, limit: int) -> str:
    return IpqsChecker(make_settings()).excerpt(text, limit)


@given(body=answers | json_values)
def test_any_json_is_an_answer_a_refusal_or_one_clear_reason(body):
    try:
        parsed = answer.parse(json.dumps(body), cut)
    except answer.MalformedAnswer as exc:
        assert str(exc) and "\n" not in str(exc)
        assert exc.billed == (isinstance(body, dict) and body.get("success") is True)
        return
    assert isinstance(body, dict)
    if isinstance(parsed, answer.Refusal):
        assert body["success"] is False
        return
    assert body["success"] is True and 0 <= parsed.fraud_score <= 100
    j = judge(parsed, Rule())
    assert j.verdict in (Verdict.FLAGGED, Verdict.CLEAN, Verdict.UNKNOWN)
    json.dumps(answer.evidence(parsed, j), allow_nan=False)


# --- one real run: the CLI against a local HTTP server ----------------------------------


def test_cli_check_status_and_report_against_a_local_server(tmp_path, monkeypatch):
    from clitools import cli_invoker
    from localserver import LocalServer, Reply

    cli = cli_invoker(tmp_path, monkeypatch, MODULE)
    echo = {"success": False, "message": f"Invalid request for key {KEY}", "request_id": "z"}
    with LocalServer() as server:
        server.route(f"/api/json/phone/{KEY}/{A_DIGITS}", Reply(200, json.dumps(RISKY)))
        server.route(f"/api/json/phone/{KEY}/{B_DIGITS}", Reply(200, json.dumps(CLEAN)))
        server.route(f"/api/json/phone/{KEY}/{C_DIGITS}", Reply(200, json.dumps(echo)))
        added = cli("numbers", "add", A, B, C, "-l", "Sales line")
        assert added.exit_code == 0, added.output
        base = f"[sources.ipqs]\nbase_url = '{server.url}'\nrate_limit = '100/s'\n"

        # 1. no key: skipped with its reason, nothing sent
        skipped = json.loads(cli("check", "--json", config_text=base).output)
        assert skipped["sources"]["ipqs"]["status"] == "skipped"
        assert "no api_key configured" in json.dumps(skipped["sources"]["ipqs"])
        assert server.requests == []

        # 2. a pasted key with a line break: a config error naming the variable, not the key
        monkeypatch.setenv("CIDREP_SOURCES__IPQS__API_KEY", f"{KEY}\n")
        refused = cli("check")
        assert refused.exit_code == 2 and "CIDREP_SOURCES__IPQS__API_KEY" in refused.output
        assert server.requests == []

        # 3. the key from the environment, and a budget of 1 lookup: the first number (in
        # E.164 order, B) is checked, the other two wait
        monkeypatch.setenv("CIDREP_SOURCES__IPQS__API_KEY", KEY)
        budgeted = cli("check", "--json", config_text=base + "daily_budget = 1\n")
        summary = json.loads(budgeted.output)["sources"]["ipqs"]
        assert [r.path for r in server.requests] == [f"/api/json/phone/{KEY}/{B_DIGITS}"]
        assert "daily budget of 1 reached (1 spent today): 2 number(s)" in json.dumps(summary)
        listed = cli("sources", "list")

        # 4. budget raised: the waiting number is checked, the others are not due
        checked = cli("check", config_text=base + "daily_budget = 10\n")
        requests = list(server.requests)
        status = json.loads(cli("status", "--json").output)["numbers"]
        report = cli("report", "800-555-0143")
        report_json = json.loads(cli("report", A, "--json").output)
        error_report = json.loads(cli("report", C, "--json").output)

        # 5. a verbose run in a process of its own: real stderr, real logging
        env = {**os.environ, "CIDREP_LOAD_PLUGINS": MODULE}
        verbose = subprocess.run(
            [sys.executable, "-m", "cidrep", "--verbose", "check", "--force"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert sorted(r.path for r in requests) == sorted(
        f"/api/json/phone/{KEY}/{d}" for d in (A_DIGITS, B_DIGITS, C_DIGITS)
    )
    assert all(r.query == {"strictness": ["0"]} for r in requests)
    assert checked.exit_code == 4, checked.output  # flagged, and a source error

    by_number = {row["number"]: row for row in status}
    assert by_number[A]["verdict"] == "flagged"
    assert by_number[A]["verdict_sources"] == ["ipqs"]
    assert by_number[B]["verdict"] == "clean"
    assert by_number[C]["verdict"] == "error"

    assert report.exit_code == 0, report.output
    text = report.output
    assert "ipqs: flagged since" in text
    assert "label: spammer, recent abuse, frequent abuse" in text
    assert "category: spam" in text and "score: 92" in text
    assert "carrier: Bandwidth" in text and "risk: frequent abuse" in text
    source = report_json["sources"]["ipqs"]
    assert source["verdict"] == "flagged" and source["score"] == 92
    error = error_report["sources"]["ipqs"]["last_error"]
    assert error == "IPQS refused the lookup: Invalid request for key ***"

    assert verbose.returncode == 4, verbose.stderr
    outputs = [
        refused.output,
        budgeted.output,
        listed.output,
        checked.output,
        json.dumps(status),
        text,
        json.dumps(report_json),
        json.dumps(error_report),
        verbose.stdout,
        verbose.stderr,
    ]
    assert not any(leaks(blob) for blob in outputs)
    files = sorted(tmp_path.glob("cidrep.db*"))
    assert files and files[0].stat().st_size > 0
    assert not any(leaks(p.read_bytes().decode("latin-1")) for p in files)
