"""The ``twilio`` checker: Lookup v2 CNAM and line type, the Nomorobo add-on (respx), the
pure mapping, cost, secrets, history run-length on CNAM changes, and the real CLI
against a loopback Twilio stand-in."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from clitools import cli_invoker
from hypothesis import given
from hypothesis import strategies as st
from localserver import LocalServer, Reply, Request
from pydantic import ValidationError

from cidrep.contract import Observation, SourceSettings, Verdict
from cidrep.runner.http import HttpSession
from cidrep_plugins.twilio import schema
from cidrep_plugins.twilio.checker import NOT_COVERED, TwilioChecker, path_number
from cidrep_plugins.twilio.settings import TwilioSettings, basic_credentials

PLUGIN = "cidrep_plugins.twilio"
PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugins" / "twilio"

SID = "AC" + "0f1e2d3c4b5a6978" * 2
TOKEN = "tokZq8sekrit4711" * 2
BASIC = basic_credentials(SID, TOKEN)
BASE = "https://lookups.twilio.com"
A, B, C = "+12025550143", "+13125550188", "+16175550121"
INTL = "+442079460123"
FAST = {"backoff_initial": "0.01s", "backoff_max": "0.05s", "rate_limit": "1000/s"}


def make_settings(**overrides: object) -> TwilioSettings:
    return TwilioSettings(
        **{"account_sid": SID, "auth_token": TOKEN, "max_attempts": 3, **FAST, **overrides}
    )


def v2_url(number: str, base: str = BASE) -> str:
    return f"{base}/v2/PhoneNumbers/%2B{number[1:]}"


def v1_url(number: str, base: str = BASE) -> str:
    return f"{base}/v1/PhoneNumbers/%2B{number[1:]}"


def v2_body(
    number: str = A,
    name: str | None = "ACME CORP",
    caller_type: str | None = "BUSINESS",
    line: str | None = "landline",
    carrier: str | None = "Verizon",
    **extra: Any,
) -> dict[str, Any]:
    """A Lookup v2 answer (field names as twilio-go's models; values made up)."""
    body: dict[str, Any] = {
        "calling_country_code": "1",
        "country_code": "US",
        "phone_number": number,
        "national_format": f"({number[2:5]}) {number[5:8]}-{number[8:]}",
        "valid": True,
        "validation_errors": [],
        "caller_name": {"caller_name": name, "caller_type": caller_type, "error_code": None},
        "sim_swap": None,
        "call_forwarding": None,
        "line_status": None,
        "line_type_intelligence": {
            "carrier_name": carrier,
            "error_code": None,
            "mobile_country_code": "311",
            "mobile_network_code": "480",
            "type": line,
        },
        "identity_match": None,
        "reassigned_number": None,
        "sms_pumping_risk": None,
        "phone_number_quality_score": None,
        "pre_fill": None,
        "url": f"https://lookups.twilio.com/v2/PhoneNumbers/{number}",
    }
    body.update(extra)
    return body


def invalid_body(number: str = A) -> dict[str, Any]:
    return {
        "calling_country_code": None,
        "country_code": None,
        "phone_number": number,
        "national_format": None,
        "valid": False,
        "validation_errors": ["INVALID_BUT_POSSIBLE"],
        "caller_name": None,
        "line_type_intelligence": None,
        "url": f"https://lookups.twilio.com/v2/PhoneNumbers/{number}",
    }


def addon_body(
    number: str = A,
    score: object = 1,
    status: str = "successful",
    entry: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Lookup v1 ``AddOns=nomorobo_spamscore`` answer (the envelope seen in 4+ clients)."""
    nomorobo = entry or {
        "request_sid": "XR" + "5" * 32,
        "status": "successful",
        "message": None,
        "code": None,
        "result": {"status": "success", "message": "success", "score": score},
    }
    return {
        "caller_name": None,
        "country_code": "US",
        "phone_number": number,
        "national_format": f"({number[2:5]}) {number[5:8]}-{number[8:]}",
        "carrier": None,
        "add_ons": {
            "status": status,
            "message": None,
            "code": None,
            "results": {"nomorobo_spamscore": nomorobo},
        },
        "url": f"https://lookups.twilio.com/v1/PhoneNumbers/{number}",
    }


def twilio_error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def lookup(
    numbers: Sequence[str],
    settings: TwilioSettings | None = None,
    checker: TwilioChecker | None = None,
    waits: list[float] | None = None,
) -> list[Observation]:
    checker = checker or TwilioChecker(settings or make_settings())
    now = [0.0]  # a clock that moves only when the session sleeps

    async def fake_sleep(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)
        now[0] += seconds

    async def go() -> list[Observation]:
        http = HttpSession("twilio", checker.settings, sleep=fake_sleep, clock=lambda: now[0])
        try:
            return list(await checker.lookup(numbers, http))
        finally:
            await http.aclose()

    return asyncio.run(go())


def fail(numbers: Sequence[str], settings: TwilioSettings | None = None) -> Observation:
    """Every number is an error with one same one-line message; return the first."""
    result = lookup(numbers, settings)
    assert [o.number for o in result] == list(numbers)
    assert all(o.verdict is Verdict.ERROR for o in result), result
    assert len({o.error for o in result}) == 1
    assert result[0].error and "\n" not in result[0].error
    return result[0]


def leaks(blob: str | bytes) -> bool:
    """Whether any credential shows up, in any usual spelling or letter case."""
    data = (blob.encode() if isinstance(blob, str) else blob).lower()
    forms = {SID, TOKEN, BASIC, base64.b64encode(TOKEN.encode()).decode(), TOKEN[:12], SID[2:]}
    return any(form.lower().encode() in data for form in forms)


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


ON = {"nomorobo_spamscore": True}


# --- registration, settings, preflight ---------------------------------------------


def test_registers_through_the_plugin_door(monkeypatch):
    from cidrep.plugins import get_checkers, reset_cache

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", PLUGIN)
    reset_cache()
    assert get_checkers()["twilio"] is TwilioChecker
    assert TwilioChecker(make_settings()).batch_size == 1
    assert "lookups.twilio.com" in TwilioChecker.disclosure
    assert "Paid" in TwilioChecker.disclosure


def test_settings_defaults_and_descriptions():
    s = TwilioSettings()
    assert (s.base_url, s.account_sid, s.auth_token) == ("https://lookups.twilio.com", None, None)
    assert s.nomorobo_spamscore is False
    assert (str(s.rate_limit), s.concurrency, s.interval.total_seconds()) == ("5/s", 2, 86400)
    assert (s.timeout.total_seconds(), int(s.max_response_bytes)) == (20, 1_000_000)
    assert s.daily_budget is None
    own = ["account_sid", "auth_token", "nomorobo_spamscore"]
    assert all(TwilioSettings.model_fields[name].description for name in own)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("account_sid", "AC123", "is not a Twilio SID"),  # too short
        ("account_sid", "PN" + "0" * 32, "is not a Twilio SID"),  # a phone-number SID
        ("account_sid", TOKEN, "is not a Twilio SID"),  # the token pasted into the SID field
        ("auth_token", TOKEN + " ", "whitespace"),  # a pasted blank (core rule, kept here)
    ],
)
def test_bad_credentials_are_refused_by_key_never_by_value(
    tmp_path, monkeypatch, key, value, reason
):
    from cidrep.config import ConfigError, load_config
    from cidrep.plugins import get_checkers, reset_cache

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", PLUGIN)
    reset_cache()
    config = tmp_path / "bad.toml"
    config.write_text(f'[sources.twilio]\n{key} = "{value}"\n')
    config.chmod(0o600)
    with pytest.raises(ConfigError) as err:
        load_config(config, get_checkers())
    message = str(err.value)
    assert f"sources.twilio.{key}" in message and reason in message
    assert not leaks(message)


@pytest.mark.parametrize(
    "bad", [{"base_url": "ftp://lookups.twilio.com"}, {"surprise": 1}, {"account_sid": "AC1"}]
)
def test_settings_reject_bad_values(bad):
    with pytest.raises(ValidationError):
        TwilioSettings(**bad)


def test_api_key_sid_and_empty_values_are_accepted():
    assert TwilioSettings(account_sid="SK" + "a" * 32).account_sid is not None
    s = TwilioSettings(account_sid="", auth_token="")
    assert s.credentials() is None and s.secrets() == []


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ({}, "no account_sid and auth_token configured"),
        ({"account_sid": SID}, "no auth_token configured"),
        ({"auth_token": TOKEN}, "no account_sid configured"),
        ({"account_sid": "", "auth_token": TOKEN}, "no account_sid configured"),
        ({"account_sid": SID, "auth_token": TOKEN}, None),
    ],
)
def test_preflight_skips_without_both_credentials(given, reason):
    assert TwilioChecker(TwilioSettings(**given)).preflight() == reason


def test_plain_source_settings_are_upgraded_keeping_what_was_set():
    checker = TwilioChecker(SourceSettings(rate_limit="3/s", max_attempts=2))
    assert isinstance(checker.settings, TwilioSettings)
    assert (str(checker.settings.rate_limit), checker.settings.max_attempts) == ("3/s", 2)
    assert checker.settings.base_url == BASE


def test_credentials_come_from_the_environment(tmp_path, monkeypatch):
    from cidrep.config import load_config
    from cidrep.plugins import get_checkers, reset_cache

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", PLUGIN)
    reset_cache()
    monkeypatch.setenv("CIDREP_SOURCES__TWILIO__ACCOUNT_SID", SID)
    monkeypatch.setenv("CIDREP_SOURCES__TWILIO__AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("CIDREP_SOURCES__TWILIO__NOMOROBO_SPAMSCORE", "true")
    config = tmp_path / "env.toml"
    config.write_text("")
    s = load_config(config, get_checkers()).settings.source("twilio")
    assert isinstance(s, TwilioSettings) and s.credentials() == (SID, TOKEN)
    assert s.nomorobo_spamscore is True
    assert not leaks(repr(s) + str(s.model_dump()))


# --- the E.164 conversion ------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "segment"),
    [
        ("+12025550143", "%2B12025550143"),
        ("+16245550100", "%2B16245550100"),  # a new area code: still NANP
        ("+442079460123", None),
        ("+1202555014", None),  # too short for NANP
        ("+120255501430", None),
        ("+1202555O143", None),  # a letter O
        ("+1\uff12\uff10\uff125550143", None),  # full-width digits
        ("12025550143", None),
    ],
)
def test_path_number(e164, segment):
    assert path_number(e164) == segment


@given(st.from_regex(r"\+1[2-9][0-9]{9}", fullmatch=True))
def test_path_number_round_trips_nanp(e164):
    segment = path_number(e164)
    assert segment is not None and httpx.URL(f"https://x/{segment}").path == f"/{e164}"


def test_request_shape(api):
    route = api.get(v2_url(A)).respond(json=v2_body())
    lookup([A])
    request = route.calls[0].request
    assert request.url.raw_path.decode() == (
        "/v2/PhoneNumbers/%2B12025550143?Fields=caller_name%2Cline_type_intelligence"
    )
    assert request.headers["authorization"] == f"Basic {BASIC}"
    assert base64.b64decode(BASIC).decode() == f"{SID}:{TOKEN}"
    assert SID not in str(request.url) and TOKEN not in str(request.url)


def test_addon_request_shape(api):
    api.get(v2_url(A)).respond(json=v2_body())
    route = api.get(v1_url(A)).respond(json=addon_body())
    lookup([A], make_settings(**ON))
    request = route.calls[0].request
    assert (
        request.url.raw_path.decode() == "/v1/PhoneNumbers/%2B12025550143?AddOns=nomorobo_spamscore"
    )
    assert request.headers["authorization"] == f"Basic {BASIC}"


# --- verdicts ------------------------------------------------------------------------


def test_flagged_by_nomorobo_keeps_cnam_evidence(api):
    api.get(v2_url(A)).respond(json=v2_body())
    api.get(v1_url(A)).respond(json=addon_body(score=1))
    [obs] = lookup([A], make_settings(**ON))
    assert obs.verdict is Verdict.FLAGGED
    assert (obs.score, obs.category, obs.label, obs.url) == (100, "robocall", None, None)
    assert obs.evidence == {
        "caller_name": "ACME CORP",
        "caller_type": "BUSINESS",
        "line_type": "landline",
        "line_carrier": "Verizon",
        "nomorobo_score": 1,
    }
    assert obs.cost_units == 3


def test_clean_by_nomorobo(api):
    api.get(v2_url(A)).respond(json=v2_body(line="mobile", carrier="T-Mobile USA, Inc."))
    api.get(v1_url(A)).respond(json=addon_body(score=0))
    [obs] = lookup([A], make_settings(**ON))
    assert (obs.verdict, obs.score, obs.category) == (Verdict.CLEAN, 0, None)
    assert obs.evidence["nomorobo_score"] == 0 and obs.evidence["line_type"] == "mobile"
    assert obs.cost_units == 3


def test_without_the_addon_cnam_alone_is_unknown(api):
    api.get(v2_url(A)).respond(json=v2_body())
    addon = api.get(v1_url(A)).respond(json=addon_body())
    [obs] = lookup([A])
    assert obs.verdict is Verdict.UNKNOWN and obs.score is None and obs.category is None
    assert obs.evidence["caller_name"] == "ACME CORP" and "nomorobo_score" not in obs.evidence
    assert addon.call_count == 0 and obs.cost_units == 2


def test_empty_packages_are_unknown_with_no_cnam(api):
    """No name on file (Twilio still bills Caller Name), no line data: still evidence."""
    body = v2_body(name=None, caller_type="UNDETERMINED", line=None, carrier=None)
    api.get(v2_url(A)).respond(json=body)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.UNKNOWN
    assert obs.evidence == {
        "caller_name": None,
        "caller_type": "UNDETERMINED",
        "line_type": None,
        "line_carrier": None,
    }
    assert obs.cost_units == 2


def test_packages_not_returned_cost_nothing(api):
    api.get(v2_url(A)).respond(json=v2_body(caller_name=None, line_type_intelligence=None))
    [obs] = lookup([A])
    assert obs.verdict is Verdict.UNKNOWN and obs.cost_units == 0
    assert obs.evidence["caller_name"] is None


def test_package_error_codes_are_evidence(api):
    body = v2_body(
        caller_name={"caller_name": None, "caller_type": None, "error_code": 60600},
        line_type_intelligence={"carrier_name": None, "type": None, "error_code": "60601"},
    )
    api.get(v2_url(A)).respond(json=body)
    [obs] = lookup([A])
    assert obs.evidence["caller_name_error"] == 60600
    assert obs.evidence["line_type_error"] == "60601"


def test_cnam_whitespace_is_collapsed_but_case_kept(api):
    api.get(v2_url(A)).respond(json=v2_body(name="  Acme   Corp "))
    api.get(v2_url(B)).respond(json=v2_body(number=B, name="   "))
    obs_a, obs_b = lookup([A, B])
    assert obs_a.evidence["caller_name"] == "Acme Corp"
    assert obs_b.evidence["caller_name"] is None


def test_evidence_holds_no_volatile_fields(api):
    """The add-on's request_sid changes on every call: it must not reach the evidence."""
    api.get(v2_url(A)).respond(json=v2_body())
    api.get(v1_url(A)).mock(
        side_effect=[
            httpx.Response(200, json=addon_body()),
            httpx.Response(200, json={**addon_body(), "url": "changed"}),
        ]
    )
    first = lookup([A], make_settings(**ON))[0]
    second = lookup([A], make_settings(**ON))[0]
    assert first == second
    assert "XR" not in json.dumps(first.evidence)


def test_non_nanp_is_unknown_without_a_request_or_cost(api):
    route = api.get(url__startswith=BASE).respond(json=v2_body())
    checker = TwilioChecker(make_settings(**ON))
    [obs] = lookup([INTL], checker=checker)
    assert route.call_count == 0
    assert obs.verdict is Verdict.UNKNOWN and obs.evidence == {"reason": NOT_COVERED}
    assert obs.cost_units == 0 and checker.cost_estimate([INTL]) == 0


def test_mixed_batch_keeps_order(api):
    api.get(v2_url(A)).respond(json=v2_body())
    api.get(v2_url(C)).respond(json=v2_body(number=C, name="JOHN DOE", caller_type="CONSUMER"))
    result = lookup([INTL, A, C])
    assert [o.number for o in result] == [INTL, A, C]
    assert [o.evidence.get("caller_name") for o in result] == [None, "ACME CORP", "JOHN DOE"]


# --- invalid numbers ---------------------------------------------------------------


def test_v2_invalid_number_is_unknown_and_skips_the_addon(api):
    api.get(v2_url(A)).respond(json=invalid_body())
    addon = api.get(v1_url(A)).respond(json=addon_body())
    [obs] = lookup([A], make_settings(**ON))
    assert obs.verdict is Verdict.UNKNOWN
    assert obs.evidence == {"valid": False, "validation_errors": ["INVALID_BUT_POSSIBLE"]}
    assert addon.call_count == 0 and obs.cost_units == 0


def test_404_with_code_20404_is_an_invalid_number(api):
    api.get(v2_url(A)).respond(
        404, json=twilio_error(20404, "The requested resource was not found", 404)
    )
    [obs] = lookup([A], make_settings(**ON))
    assert obs.verdict is Verdict.UNKNOWN
    assert obs.evidence == {"valid": False, "twilio_error": 20404}
    assert obs.cost_units == 0


def test_404_without_twilio_code_is_an_error_not_unknown(api):
    """A wrong base_url (a proxy path) answers 404 too: that is not a verdict."""
    api.get(v2_url(A)).respond(404, text="<html>Not Found</html>")
    obs = fail([A])
    assert obs.error == "Twilio has no such resource (HTTP 404): check sources.twilio.base_url"


def test_addon_404_is_an_error_naming_the_marketplace(api):
    api.get(v2_url(A)).respond(json=v2_body())
    api.get(v1_url(A)).respond(404, json=twilio_error(20404, "Not found", 404))
    obs = fail([A], make_settings(**ON))
    assert "HTTP 404, code 20404" in obs.error and "Twilio Marketplace" in obs.error
    assert obs.cost_units == 2  # the v2 packages were billed


# --- errors --------------------------------------------------------------------------


def test_auth_failure_names_the_settings_and_stops_asking(api):
    body = twilio_error(20003, f"Authenticate {SID}", 401)
    route = api.get(url__startswith=BASE).respond(401, json=body)
    obs = fail([A, B, C])
    assert route.call_count == 1  # the others are not asked this run
    assert obs.error.startswith("Twilio rejected the credentials (HTTP 401, code 20003: ")
    assert "sources.twilio.account_sid" in obs.error and "sources.twilio.auth_token" in obs.error
    assert not leaks(obs.error) and "***" in obs.error
    assert obs.cost_units == 0


def test_403_refuses_too(api):
    body = twilio_error(20403, "Lookup is not enabled for this account", 403)
    route = api.get(url__startswith=BASE).respond(403, json=body)
    obs = fail([A, B])
    assert route.call_count == 1
    assert obs.error == (
        "Twilio refused the Lookup v2 request (HTTP 403, code 20403): Lookup is not enabled "
        "for this account"
    )


def test_400_shows_code_and_message(api):
    api.get(v2_url(A)).respond(400, json=twilio_error(21211, "Invalid 'To' Phone Number", 400))
    assert fail([A]).error == (
        "Twilio rejected the Lookup v2 request (HTTP 400, code 21211): Invalid 'To' Phone Number"
    )


def test_throttle_honours_retry_after_then_succeeds(api):
    throttled = httpx.Response(
        429,
        headers={"Retry-After": "2"},
        json=twilio_error(20429, "Too Many Requests", 429),
    )
    route = api.get(v2_url(A)).mock(side_effect=[throttled, httpx.Response(200, json=v2_body())])
    waits: list[float] = []
    [obs] = lookup([A], waits=waits)
    assert route.call_count == 2 and obs.verdict is Verdict.UNKNOWN
    assert waits == [2.0]  # exactly the server's Retry-After, no extra backoff


def test_throttle_exhausts_retries(api):
    body = twilio_error(20429, "Too Many Requests", 429)
    route = api.get(v2_url(A)).respond(429, json=body)
    obs = fail([A])
    assert route.call_count == 3  # max_attempts
    assert obs.error == "throttled by lookups.twilio.com (HTTP 429) after 3 attempts"


def test_retry_after_beyond_the_ceiling_ends_the_run(api):
    route = api.get(url__startswith=BASE).respond(429, headers={"Retry-After": "3600"})
    obs = fail([A, B], make_settings(retry_after_max="1m"))
    assert route.call_count == 1 and "exceeds retry_after_max" in obs.error


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<html><body>Service Unavailable" + "x" * 5000, "not JSON: <html><body>Service"),
        ("", "empty body"),
        ("[]", "expected a JSON object, got an array"),
        ('{"phone_number": "+12025550143"}', "no boolean 'valid'"),
        ('{"valid": "yes"}', "'valid' is not a boolean"),
        ('{"valid": false, "validation_errors": "TOO_SHORT"}', "'validation_errors' is not"),
        ("[[[[[[[[[[" * 20_000, "not JSON"),  # nested past the decoder's recursion limit
        ('{"valid": true, "phone_number": "+19995550100"}', "the answer is about another number"),
        (
            '{"valid": true, "phone_number": "+12025550143", "caller_name": "ACME"}',
            "'caller_name' is a string",
        ),
        (
            '{"valid": true, "phone_number": "+12025550143", "caller_name": {"caller_name": 42}}',
            "'caller_name.caller_name' is a int, not text",
        ),
        (
            '{"valid": true, "phone_number": "+12025550143", '
            '"line_type_intelligence": {"error_code": true}}',
            "'line_type_intelligence.error_code' is a boolean",
        ),
    ],
)
def test_malformed_v2_body_is_an_error_not_unknown(api, body, reason):
    api.get(v2_url(A)).respond(200, text=body)
    obs = fail([A])
    assert obs.error.startswith(f"Twilio returned a malformed Lookup v2 answer: {reason}")
    assert len(obs.error) < 200


def test_malformed_body_never_echoes_the_credentials(api):
    api.get(v2_url(A)).respond(200, text=f"oops {TOKEN} {SID} Basic {BASIC}")
    obs = fail([A])
    assert "malformed" in obs.error and not leaks(obs.error)


# --- the add-on: errors inside HTTP 200 ---------------------------------------------


def test_addon_failure_inside_200_is_an_error_with_its_cost(api):
    failed = {
        "request_sid": "XR" + "6" * 32,
        "status": "failed",
        "message": "Request timed out",
        "code": 61001,
        "result": {},
    }
    api.get(v2_url(A)).respond(json=v2_body())
    api.get(v1_url(A)).respond(json=addon_body(entry=failed))
    obs = fail([A], make_settings(**ON))
    assert obs.error == "Twilio's Nomorobo add-on failed (code 61001): Request timed out"
    assert obs.cost_units == 3


def test_addons_envelope_failure_is_an_error(api):
    api.get(v2_url(A)).respond(json=v2_body())
    body = addon_body(status="failed")
    body["add_ons"].update(code=61005, message="Add-ons unavailable", results={})
    api.get(v1_url(A)).respond(json=body)
    obs = fail([A], make_settings(**ON))
    assert obs.error == "Twilio add-ons failed (code 61005): Add-ons unavailable"
    assert obs.cost_units == 2


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b.update(add_ons=None), "no 'add_ons' object (is the nomorobo_spamscore"),
        (lambda b: b["add_ons"].update(results={}), "no 'nomorobo_spamscore' in add_ons.results"),
        (
            lambda b: b["add_ons"]["results"]["nomorobo_spamscore"].update(result={}),
            "add_ons.results.nomorobo_spamscore.result has no 'score'",
        ),
        (
            lambda b: b["add_ons"]["results"]["nomorobo_spamscore"]["result"].update(score="1"),
            "Nomorobo score is a string, not a number",
        ),
        (
            lambda b: b["add_ons"]["results"]["nomorobo_spamscore"]["result"].update(score=7),
            "Nomorobo score 7 is outside 0..1",
        ),
        (lambda b: b.update(phone_number=B), "the answer is about another number"),
    ],
)
def test_malformed_addon_answer_is_an_error(api, mutate, reason):
    body = addon_body()
    mutate(body)
    api.get(v2_url(A)).respond(json=v2_body())
    api.get(v1_url(A)).respond(json=body)
    obs = fail([A], make_settings(**ON))
    assert obs.error.startswith(
        f"Twilio returned a malformed Nomorobo add-on (Lookup v1) answer: {reason}"
    )


def test_addon_non_json_is_an_error(api):
    api.get(v2_url(A)).respond(json=v2_body())
    api.get(v1_url(A)).respond(200, text="<html>busy</html>")
    assert "not JSON" in fail([A], make_settings(**ON)).error


def test_v2_failure_skips_the_addon(api):
    api.get(v2_url(A)).respond(502)
    addon = api.get(v1_url(A)).respond(json=addon_body())
    obs = fail([A], make_settings(**ON))
    assert addon.call_count == 0 and "HTTP 502" in obs.error and obs.cost_units == 0


# --- the mapping (pure) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (1, (Verdict.FLAGGED, 100, "robocall")),
        (0, (Verdict.CLEAN, 0, None)),
        (1.0, (Verdict.FLAGGED, 100, "robocall")),
        (0.0, (Verdict.CLEAN, 0, None)),
        (0.5, (Verdict.FLAGGED, 50, "robocall")),  # the band boundary
        (0.49, (Verdict.CLEAN, 49, None)),
        (0.9, (Verdict.FLAGGED, 90, "robocall")),
    ],
)
def test_nomorobo_mapping_truth_table(score, expected):
    assert schema.nomorobo_verdict(score) == expected


@pytest.mark.parametrize(
    "score", [True, False, None, "1", [1], {"v": 1}, -0.01, 1.01, 2, float("nan"), float("inf")]
)
def test_nomorobo_mapping_refuses_what_it_cannot_read(score):
    with pytest.raises(schema.Malformed):
        schema.nomorobo_verdict(score)


@given(st.floats(min_value=0, max_value=1))
def test_nomorobo_mapping_properties(score):
    verdict, percent, category = schema.nomorobo_verdict(score)
    assert 0 <= percent <= 100
    assert (verdict is Verdict.FLAGGED) == (score >= schema.FLAG_THRESHOLD)
    assert category == ("robocall" if verdict is Verdict.FLAGGED else None)


@given(st.floats(min_value=0, max_value=1), st.floats(min_value=0, max_value=1))
def test_nomorobo_mapping_is_monotone(x, y):
    low, high = sorted((x, y))
    order = {Verdict.CLEAN: 0, Verdict.FLAGGED: 1}
    a, b = schema.nomorobo_verdict(low), schema.nomorobo_verdict(high)
    assert a[1] <= b[1] and order[a[0]] <= order[b[0]]


def test_error_detail_tolerates_odd_bodies():
    def cut(text: str, limit: int) -> str:
        return text[:limit]

    assert schema.error_detail(b"<html>", cut) == (None, None)
    assert schema.error_detail(b"[1]", cut) == (None, None)
    assert schema.error_detail(b'{"code": true, "message": 5}', cut) == (None, None)
    assert schema.error_detail(b'{"code": 20003, "message": "Authenticate"}', cut) == (
        20003,
        "Authenticate",
    )


# --- cost ----------------------------------------------------------------------------


def test_cost_estimate_counts_units_per_nanp_number():
    assert TwilioChecker(make_settings()).cost_estimate([A, B, INTL]) == 4
    assert TwilioChecker(make_settings(**ON)).cost_estimate([A, B, INTL]) == 6
    assert TwilioChecker(make_settings()).cost_estimate([]) == 0


def test_spend_guard_holds_back_what_the_budget_cannot_pay(tmp_path, monkeypatch, api):
    """daily_budget 5 with the add-on (3 units a number): one number checked, one held."""
    from datetime import UTC, datetime

    from cidrep.config import load_config
    from cidrep.plugins import get_checkers, reset_cache
    from cidrep.runner.engine import CheckOptions, run_cycle
    from cidrep.store import open_db
    from cidrep.store.numbers import NumberEntry, add_numbers

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", PLUGIN)
    reset_cache()
    for number in (A, B):
        api.get(v2_url(number)).respond(json=v2_body(number=number))
        api.get(v1_url(number)).respond(json=addon_body(number=number, score=0))
    config = tmp_path / "budget.toml"
    config.write_text(
        f'[sources.twilio]\naccount_sid = "{SID}"\nauth_token = "{TOKEN}"\n'
        "nomorobo_spamscore = true\ndaily_budget = 5\nconcurrency = 1\n"
    )
    config.chmod(0o600)
    db = open_db(tmp_path / "budget.db")
    add_numbers(db, 1, [NumberEntry(A), NumberEntry(B)], "T")
    settings = load_config(config, get_checkers()).settings
    result = run_cycle(db, settings, get_checkers(), CheckOptions(now=datetime.now(UTC)))
    [twilio] = [r for r in result.sources if r.source == "twilio"]
    assert (twilio.checks, twilio.cost_units) == (1, 3)
    assert "daily budget of 5 reached" in (twilio.reason or "")


# --- secrets -------------------------------------------------------------------------


def test_basic_auth_encoding_is_a_secret_too():
    s = make_settings()
    assert set(s.secrets()) == {SID, TOKEN, BASIC}
    checker = TwilioChecker(s)
    assert checker.excerpt(f"echo Basic {BASIC} {SID}:{TOKEN}", 300) == "echo Basic *** ***:***"


def test_a_redirect_to_another_host_never_carries_the_basic_auth(api):
    """The session guards only the spellings it knows: the Basic-auth one must be known,
    or the Authorization header would follow a redirect to any host."""
    api.get(v2_url(A)).respond(302, headers={"Location": "https://evil.example/steal"})
    evil = api.get(url__startswith="https://evil.example").respond(json=v2_body())
    obs = fail([A])
    assert evil.call_count == 0
    assert "redirected to another host (evil.example)" in obs.error and not leaks(obs.error)


def test_observations_never_hold_the_credentials(api):
    body = v2_body(name=f"X {TOKEN}", carrier=f"Basic {BASIC}")
    api.get(v2_url(A)).respond(json=body)
    api.get(v2_url(B)).respond(400, json=twilio_error(21211, f"boom {SID}:{TOKEN}", 400))
    obs_a, obs_b = lookup([A, B])
    # the runner redacts labels and evidence again; the checker's own output is clean
    assert obs_a.evidence["caller_name"] == "X ***"
    assert obs_a.evidence["line_carrier"] == "Basic ***"
    assert obs_b.verdict is Verdict.ERROR and "boom ***:***" in (obs_b.error or "")
    for obs in (obs_a, obs_b):
        assert not leaks(json.dumps(obs.evidence) + (obs.error or ""))
    settings_text = repr(make_settings()) + str(make_settings().model_dump())
    assert not leaks(settings_text)


# --- history: CNAM changes are news ----------------------------------------------


def cnam_server(server: LocalServer, answers: dict[str, Any]) -> None:
    """Serve v2 answers for A whose CNAM is ``answers["name"]`` at request time."""

    def v2(request: Request) -> Reply:
        return Reply(200, json.dumps(v2_body(name=answers["name"])))

    server.route("/v2/PhoneNumbers/%2B12025550143", v2)


def config_text(url: str, **extra: str) -> str:
    lines = [
        "[sources.twilio]",
        f'base_url = "{url}"',
        f'account_sid = "{SID}"',
        f'auth_token = "{TOKEN}"',
        'rate_limit = "1000/s"',
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    return "\n".join(lines) + "\n"


def history(tmp_path: Path, number: str) -> list[tuple[str, int]]:
    db = sqlite3.connect(tmp_path / "cidrep.db")
    try:
        rows = db.execute(
            "SELECT o.evidence, o.checks FROM observations o JOIN numbers n ON n.id = o.number_id "
            "WHERE o.source = 'twilio' AND n.e164 = ? ORDER BY o.id",
            (number,),
        ).fetchall()
    finally:
        db.close()
    return [(json.loads(evidence).get("caller_name"), checks) for evidence, checks in rows]


def test_a_changed_cnam_is_a_new_history_row_and_the_same_cnam_is_not(tmp_path, monkeypatch):
    cli = cli_invoker(tmp_path, monkeypatch, PLUGIN)
    answers = {"name": "ACME CORP"}
    with LocalServer() as server:
        cnam_server(server, answers)
        cli("numbers", "add", A, config_text=config_text(server.url))
        assert cli("check").exit_code == 0
        assert cli("check", "--force").exit_code == 0
        assert history(tmp_path, A) == [("ACME CORP", 2)]  # same CNAM: one row, two checks
        answers["name"] = "SCAM LIKELY INC"  # hijacked or reassigned display name
        assert cli("check", "--force").exit_code == 0
        assert history(tmp_path, A) == [("ACME CORP", 2), ("SCAM LIKELY INC", 1)]
        answers["name"] = "ACME CORP"  # and back: a third row, not a merge with the first
        assert cli("check", "--force").exit_code == 0
        assert cli("check", "--force").exit_code == 0
    assert history(tmp_path, A) == [("ACME CORP", 2), ("SCAM LIKELY INC", 1), ("ACME CORP", 2)]


# --- the real CLI against a loopback Twilio ------------------------------------------


class FakeTwilio:
    """Speaks Lookup v2 and the v1 Nomorobo add-on for a few numbers, checks Basic auth."""

    def __init__(self) -> None:
        self.scores = {A: 1, B: 0}
        self.names = {A: "ROBO DIALER", B: "ACME CORP"}

    def __call__(self, request: Request) -> Reply:
        if request.headers.get("Authorization") != f"Basic {BASIC}":
            return Reply(401, json.dumps(twilio_error(20003, "Authenticate", 401)))
        version, _, segment = request.path.strip("/").split("/")
        number = "+" + segment.removeprefix("%2B")
        if number not in self.scores:
            return Reply(404, json.dumps(twilio_error(20404, "Not found", 404)))
        if version == "v2":
            assert request.query == {"Fields": ["caller_name,line_type_intelligence"]}
            return Reply(200, json.dumps(v2_body(number=number, name=self.names[number])))
        assert request.query == {"AddOns": ["nomorobo_spamscore"]}
        return Reply(200, json.dumps(addon_body(number=number, score=self.scores[number])))


def test_cli_check_status_and_report_against_a_local_twilio(tmp_path, monkeypatch):
    cli = cli_invoker(tmp_path, monkeypatch, PLUGIN)
    fake = FakeTwilio()
    outputs: list[str] = []
    with LocalServer() as server:
        for number in (A, B, C):
            for version in ("v1", "v2"):
                server.route(f"/{version}/PhoneNumbers/%2B{number[1:]}", fake)
        text = config_text(server.url, nomorobo_spamscore="true")

        skipped = cli("check", config_text="[sources.twilio]\n")  # no credentials
        assert skipped.exit_code == 0 and server.requests == []

        added = cli("numbers", "add", A, B, C, INTL, config_text=text)
        assert added.exit_code == 0, added.output
        checked = cli("check", "--json")
        outputs.append(checked.output)
        assert checked.exit_code == 1, checked.output  # A is flagged
        summary = json.loads(checked.stdout)
        status = cli("status", "--json")
        report = cli("report", A)
        report_json = cli("report", A, "--json")
        outputs += [status.output, report.output, report_json.output]
        # C: 404/20404 (not a number); INTL: never sent
        asked = {r.path for r in server.requests}
        assert not any("4420" in path for path in asked)
        assert all(r.headers["Authorization"] == f"Basic {BASIC}" for r in server.requests)

    run = summary["sources"]["twilio"]
    assert run["verdicts"] == {"clean": 1, "error": 0, "flagged": 1, "unknown": 2}
    assert run["stats"]["requests"] == 5  # v2 for A, B, C; the add-on for A and B
    assert run["cost_units"] == 6  # A and B: 3 units each; C's 404 and INTL cost nothing
    rows = {row["number"]: row for row in json.loads(status.stdout)["numbers"]}
    verdicts = {n: rows[n]["verdict"] for n in rows}
    assert verdicts == {A: "flagged", B: "clean", C: "unknown", INTL: "unknown"}
    assert report.exit_code == 0
    assert "twilio: flagged" in report.stdout and "ROBO DIALER" in report.stdout
    detail = json.loads(report_json.stdout)
    assert "ROBO DIALER" in json.dumps(detail) and '"nomorobo_score": 1' in json.dumps(detail)
    assert not leaks("\n".join(outputs))
    assert not leaks(b"".join(p.read_bytes() for p in tmp_path.glob("cidrep.db*")))
