"""The ``usacallerlookup`` checker: mocked API (respx), pure rules, and one real CLI run.

The fixtures follow the service's OpenAPI (sources.md §7a): the example profile with
its field names and types, the 400/404/429 error shapes.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cidrep.contract import Observation, SourceSettings, Verdict
from cidrep.runner.http import HttpSession
from cidrep_plugins.usacallerlookup import profile as schema
from cidrep_plugins.usacallerlookup.checker import (
    NOT_COVERED,
    REJECTED,
    UsaCallerLookupChecker,
    UsaCallerLookupSettings,
    dashed,
    public_origin,
    source_number,
)
from cidrep_plugins.usacallerlookup.verdict import (
    Rule,
    assess,
    categorize,
    decide,
    top_subject,
    window_start,
)

MODULE = "cidrep_plugins.usacallerlookup"
PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugins" / "usacallerlookup"
BASE = "https://www.usacallerlookup.com/wp-json/ucl/v1"
A, A_DIGITS = "+16282017751", "6282017751"
B, B_DIGITS = "+12025550143", "2025550143"
TOLL_FREE, TOLL_FREE_DIGITS = "+18888600052", "8888600052"
FOREIGN = "+442079460123"
ENDPOINT = f"{BASE}/number/{A_DIGITS}"
ENDPOINT_B = f"{BASE}/number/{B_DIGITS}"
NOW = datetime(2026, 9, 10, 15, 0, tzinfo=UTC)  # window of 30 days: 2026-08-12 .. 2026-09-10
DEBT = "Reducing your debt (credit cards, mortgage, student loans)"
IMPOSTOR = "Calls pretending to be government, businesses, or family and friends"
PASSWORD = "Prx-9sekrit-3141"  # a proxy password in base_url: the one credential possible
FAST = {"backoff_initial": "0.01s", "backoff_max": "0.05s", "rate_limit": "1000/s"}

RATE_LIMITED = {
    "error": "rate_limited",
    "message": "Limit is 60 requests per minute. For bulk access download the full dataset "
    "instead.",
    "dataset": "https://github.com/usacallerlookup/ftc-robocall-dataset",
}
INVALID_NUMBER = {"error": "invalid_number", "message": "Expected a 10-digit NANP number."}
NO_ROUTE = {
    "code": "rest_no_route",
    "message": "No route was found matching the URL and request method.",
    "data": {"status": 404},
}


def profile(digits: str = A_DIGITS, **complaints: Any) -> dict[str, Any]:
    """The OpenAPI example profile for ``digits``, its complaints overridden."""
    body: dict[str, Any] = {
        "phone": dashed(digits),
        "digits": digits,
        "toll_free": False,
        "location": {"city": "San Francisco", "state": "CA", "carrier": "ONVOY, LLC - CA"},
        "complaints": {
            "total": 9,
            "robocalls": 4,
            "first_seen": "2026-07-14",
            "last_seen": "2026-08-19",
            "states_reporting": 4,
            "top_subjects": [
                {"subject": DEBT, "complaints": 5},
                {"subject": "Other", "complaints": 2},
            ],
        },
        "community_reports": {},
        "page": f"https://www.usacallerlookup.com/{dashed(digits)}/",
        "attribution": {
            "source": "USACallerLookup.com",
            "url": f"https://www.usacallerlookup.com/{dashed(digits)}/",
            "docs": "https://www.usacallerlookup.com/api/",
            "data": "FTC Do Not Call complaint data (US public domain) + NANPA numbering registry",
            "license": "CC0-1.0",
            "dataset": "https://github.com/usacallerlookup/ftc-robocall-dataset",
        },
    }
    body["complaints"].update(complaints)
    return body


def no_complaints(digits: str = A_DIGITS) -> dict[str, Any]:
    return profile(
        digits,
        total=0,
        robocalls=0,
        first_seen=None,
        last_seen=None,
        states_reporting=0,
        top_subjects=[],
    )


def make_settings(**overrides: object) -> UsaCallerLookupSettings:
    return UsaCallerLookupSettings(**{**FAST, "max_attempts": 3, **overrides})


def lookup(
    numbers: Sequence[str],
    s: UsaCallerLookupSettings | None = None,
    waits: list[float] | None = None,
) -> list[Observation]:
    """Run the checker through the real ``HttpSession``; ``waits`` records its sleeps."""
    checker = UsaCallerLookupChecker(s or make_settings())
    checker.clock = lambda: NOW

    async def record(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)

    async def go() -> list[Observation]:
        http = HttpSession(checker.name, checker.settings, sleep=record)
        try:
            return list(await checker.lookup(numbers, http))
        finally:
            await http.aclose()

    return asyncio.run(go())


def fail(numbers: Sequence[str], s: UsaCallerLookupSettings | None = None) -> str:
    """Every number is an error with the same one-line message; return it."""
    result = lookup(numbers, s)
    assert [o.number for o in result] == list(numbers)
    assert all(o.verdict is Verdict.ERROR for o in result), result
    messages = {o.error for o in result}
    assert len(messages) == 1
    [message] = messages
    assert message and "\n" not in message and len(message) <= 300
    assert all(o.label is o.category is o.score is None and o.cost_units == 0 for o in result)
    return message


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


# --- registration, settings -----------------------------------------------------------


def test_registers_through_the_plugin_door(monkeypatch):
    from cidrep.plugins import get_checkers, reset_cache

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", MODULE)
    reset_cache()
    assert get_checkers() == {"usacallerlookup": UsaCallerLookupChecker}
    reset_cache()
    assert UsaCallerLookupChecker.shape == "lookup"
    assert "usacallerlookup.com" in UsaCallerLookupChecker.disclosure
    assert UsaCallerLookupChecker(make_settings()).batch_size == 1


def test_settings_defaults_are_the_documented_ones():
    s = UsaCallerLookupSettings()
    assert s.base_url == BASE
    assert (str(s.rate_limit), s.concurrency) == ("50/min", 2)  # under 60/min per IP
    assert (s.interval, s.timeout) == (timedelta(hours=24), timedelta(seconds=15))
    assert int(s.max_response_bytes) == 1_000_000
    assert (s.flag_min_complaints, s.flag_window_days) == (1, 30)
    assert (s.confirm_after, s.recover_after, s.daily_budget) == (1, 1, None)
    assert s.history_days() == 0  # the verdict reads no stored history
    for name in UsaCallerLookupSettings.model_fields:
        assert UsaCallerLookupSettings.model_fields[name].description, name


@pytest.mark.parametrize(
    "bad",
    [
        {"flag_min_complaints": 0},
        {"flag_window_days": 0},
        {"flag_window_days": 3661},
        {"base_url": "ftp://www.usacallerlookup.com"},
        {"timeout": "2h"},
        {"api_key": "x"},  # there is no key to set
    ],
)
def test_settings_reject_bad_values(bad):
    with pytest.raises(ValidationError):
        UsaCallerLookupSettings(**bad)


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    from cidrep.config import load_config

    monkeypatch.setenv("CIDREP_SOURCES__USACALLERLOOKUP__FLAG_WINDOW_DAYS", "45")
    monkeypatch.setenv("CIDREP_SOURCES__USACALLERLOOKUP__BASE_URL", "http://127.0.0.1:9/v1")
    config = tmp_path / "c.toml"
    config.write_text("[sources.usacallerlookup]\nrate_limit = '20/min'\n")
    config.chmod(0o600)
    loaded = load_config(config, {"usacallerlookup": UsaCallerLookupChecker})
    s = loaded.settings.source("usacallerlookup")
    assert (s.flag_window_days, s.base_url, str(s.rate_limit)) == (
        45,
        "http://127.0.0.1:9/v1",
        "20/min",
    )


def test_plain_source_settings_are_upgraded_keeping_what_was_set():
    checker = UsaCallerLookupChecker(SourceSettings(rate_limit="5/s", max_attempts=2))
    assert isinstance(checker.settings, UsaCallerLookupSettings)
    assert (str(checker.settings.rate_limit), checker.settings.max_attempts) == ("5/s", 2)
    assert checker.settings.base_url == BASE


def test_preflight_skips_only_without_a_base_url():
    assert UsaCallerLookupChecker(make_settings()).preflight() is None  # no key needed
    assert UsaCallerLookupChecker(make_settings(base_url="")).preflight() == (
        "no base_url configured"
    )


def test_free_source_costs_nothing(api):
    checker = UsaCallerLookupChecker(make_settings(daily_budget=1))
    assert checker.cost_estimate([A, B, TOLL_FREE]) == 0.0
    api.get(ENDPOINT).respond(json=profile())
    api.get(ENDPOINT_B).respond(500)
    result = lookup([A, B, FOREIGN])
    assert [o.cost_units for o in result] == [0.0, 0.0, 0.0]


# --- number format --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "digits"),
    [
        (A, A_DIGITS),
        (B, B_DIGITS),
        (TOLL_FREE, TOLL_FREE_DIGITS),
        ("+14165550123", "4165550123"),  # Canada is NANP too
        (FOREIGN, None),
        ("+1202555014", None),  # too short
        ("+120255501430", None),  # too long
        ("+11025550143", None),  # area code starting with 1
        ("+12021550143", None),  # exchange starting with 1
        ("+1202555014\uff13", None),  # a non-ASCII (fullwidth) digit
        ("12025550143", None),  # not E.164
    ],
)
def test_source_number(e164, digits):
    assert source_number(e164) == digits


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_source_number_is_the_service_pattern(digits):
    expected = digits if digits[0] >= "2" and digits[3] >= "2" else None
    assert source_number("+1" + digits) == expected
    assert source_number("+44" + digits) is None
    assert dashed(digits).replace("-", "") == digits


def test_public_origin_drops_userinfo_path_and_query():
    assert public_origin(f"https://u:{PASSWORD}@proxy.example:8443/ucl/v1?x=1") == (
        "https://proxy.example:8443"
    )
    assert public_origin("http://[::1]:8080/v1") == "http://[::1]:8080"


# --- verdicts -------------------------------------------------------------------------


def test_flagged_with_evidence(api):
    route = api.get(ENDPOINT).respond(json=profile())
    [obs] = lookup([A])
    assert route.call_count == 1
    request = route.calls[0].request
    assert request.url.path == "/wp-json/ucl/v1/number/6282017751" and not request.url.query
    assert request.headers["accept"] == "application/json"
    assert obs.verdict is Verdict.FLAGGED
    assert (obs.label, obs.category, obs.score) == (DEBT, "telemarketing", None)
    assert obs.evidence == {
        "complaints": 9,
        "robocalls": 4,
        "first_reported": "2026-07-14",
        "last_reported": "2026-08-19",
        "states_reporting": 4,
        "subjects": {DEBT: 5, "Other": 2},
        "window_days": 30,
    }
    assert obs.url == "https://www.usacallerlookup.com/628-201-7751/"
    assert obs.error is None and obs.cost_units == 0.0


def test_mostly_robocalls_is_category_robocall(api):
    api.get(ENDPOINT).respond(json=profile(robocalls=5))
    [obs] = lookup([A])
    assert (obs.verdict, obs.label, obs.category) == (Verdict.FLAGGED, DEBT, "robocall")


def test_impostor_subject_is_category_scam(api):
    subjects = [{"subject": IMPOSTOR, "complaints": 6}, {"subject": DEBT, "complaints": 3}]
    api.get(ENDPOINT).respond(json=profile(robocalls=1, top_subjects=subjects))
    [obs] = lookup([A])
    assert (obs.verdict, obs.label, obs.category) == (Verdict.FLAGGED, IMPOSTOR, "scam")
    assert list(obs.evidence["subjects"]) == [IMPOSTOR, DEBT]


def test_clean_when_the_last_complaint_is_older_than_the_window(api):
    api.get(ENDPOINT).respond(json=profile(last_seen="2026-08-11"))  # window starts 08-12
    [obs] = lookup([A])
    assert obs.verdict is Verdict.CLEAN and obs.label is None and obs.category is None
    assert obs.evidence["complaints"] == 9 and obs.evidence["last_reported"] == "2026-08-11"
    assert obs.url == "https://www.usacallerlookup.com/628-201-7751/"


def test_flag_rule_settings_apply(api):
    api.get(ENDPOINT).respond(json=profile(last_seen="2026-08-11"))
    [obs] = lookup([A], make_settings(flag_window_days=60))
    assert obs.verdict is Verdict.FLAGGED and obs.evidence["window_days"] == 60
    [obs] = lookup([A], make_settings(flag_min_complaints=10))
    assert obs.verdict is Verdict.CLEAN


def test_no_complaints_is_clean(api):
    api.get(ENDPOINT).respond(json=no_complaints())
    [obs] = lookup([A])
    assert obs.verdict is Verdict.CLEAN
    assert obs.evidence == {"complaints": 0}
    assert obs.label is obs.category is obs.score is None


def test_community_reports_are_evidence_only(api):
    body = no_complaints()
    body["community_reports"] = {"scam": 2, "telemarketer": 1, "safe": 0}
    api.get(ENDPOINT).respond(json=body)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.CLEAN
    assert obs.evidence == {"complaints": 0, "community_reports": {"scam": 2, "telemarketer": 1}}


def test_toll_free_number_without_location(api):
    body = profile(TOLL_FREE_DIGITS, robocalls=9)
    body["toll_free"], body["location"] = True, None
    api.get(f"{BASE}/number/{TOLL_FREE_DIGITS}").respond(json=body)
    [obs] = lookup([TOLL_FREE])
    assert (obs.verdict, obs.category) == (Verdict.FLAGGED, "robocall")
    assert obs.url == "https://www.usacallerlookup.com/888-860-0052/"


def test_optional_fields_may_be_missing(api):
    body = profile(top_subjects=None)
    del body["complaints"]["states_reporting"], body["community_reports"]
    for key in ("location", "page", "attribution", "phone", "toll_free"):
        del body[key]
    api.get(ENDPOINT).respond(json=body)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.FLAGGED and obs.label is None
    assert obs.category == "telemarketing"
    assert set(obs.evidence) == {
        "complaints",
        "robocalls",
        "first_reported",
        "last_reported",
        "window_days",
    }


def test_unchanged_answer_gives_an_identical_observation(api):
    """Nothing volatile in the observation: history stores it as one row."""
    api.get(ENDPOINT).respond(json=profile())
    first = lookup([A])
    second = lookup([A])
    assert first == second


# --- numbers the service cannot judge -------------------------------------------------


def test_non_nanp_number_is_unknown_without_a_request(api):
    route = api.get(url__startswith=BASE).respond(json=profile())
    result = lookup([FOREIGN, "+11025550143"])
    assert route.call_count == 0
    assert [o.verdict for o in result] == [Verdict.UNKNOWN, Verdict.UNKNOWN]
    assert result[0].evidence == {"reason": NOT_COVERED}


def test_invalid_number_answer_is_unknown(api):
    api.get(ENDPOINT).respond(400, json=INVALID_NUMBER)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.UNKNOWN and obs.evidence == {"reason": REJECTED}


def test_mixed_numbers_keep_their_order(api):
    api.get(ENDPOINT).respond(json=profile())
    api.get(ENDPOINT_B).respond(json=no_complaints(B_DIGITS))
    result = lookup([FOREIGN, A, B])
    assert [o.number for o in result] == [FOREIGN, A, B]
    assert [o.verdict for o in result] == [Verdict.UNKNOWN, Verdict.FLAGGED, Verdict.CLEAN]


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_refusal_is_an_error_explaining_there_is_no_key(api, status):
    api.get(ENDPOINT).respond(status, text="<html>Access denied | Cloudflare</html>")
    message = fail([A])
    assert message.startswith(f"USACallerLookup refused the request (HTTP {status})")
    assert "needs no key" in message


def test_no_route_points_at_base_url(api):
    api.get(ENDPOINT).respond(404, json=NO_ROUTE)
    message = fail([A])
    assert message.startswith("USACallerLookup has no such API route (HTTP 404, rest_no_route)")
    assert "sources.usacallerlookup.base_url" in message and "No route was found" in message


def test_other_400_is_an_error(api):
    api.get(ENDPOINT).respond(400, json={"error": "bad_request", "message": "nope"})
    assert fail([A]) == "USACallerLookup rejected the request (HTTP 400, bad_request): nope"


def test_unexpected_status_is_an_error(api):
    api.get(ENDPOINT).respond(418, text="teapot")
    assert fail([A]) == "USACallerLookup answered HTTP 418"


def test_throttle_waits_retry_after_then_succeeds(api):
    route = api.get(ENDPOINT).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "60"}, json=RATE_LIMITED),
            httpx.Response(200, json=profile()),
        ]
    )
    waits: list[float] = []
    [obs] = lookup([A], waits=waits)
    assert route.call_count == 2
    assert obs.verdict is Verdict.FLAGGED
    assert any(59 < w <= 60 for w in waits), waits  # the session honoured Retry-After


def test_throttle_that_outlasts_the_retries_is_an_error(api):
    route = api.get(ENDPOINT).respond(429, headers={"Retry-After": "1"}, json=RATE_LIMITED)
    message = fail([A])
    assert route.call_count == 3  # max_attempts
    assert message == "throttled by www.usacallerlookup.com (HTTP 429) after 3 attempts"


def test_retry_after_beyond_the_ceiling_stops_the_source_for_this_run(api):
    route = api.get(url__startswith=BASE).respond(
        429, headers={"Retry-After": "3600"}, json=RATE_LIMITED
    )
    message = fail([A, B])
    assert route.call_count == 1  # the second number is not even asked
    assert "Retry-After 3600s exceeds retry_after_max 300s" in message


def test_server_error_then_success(api):
    route = api.get(ENDPOINT).mock(
        side_effect=[httpx.Response(503, text="busy"), httpx.Response(200, json=profile())]
    )
    [obs] = lookup([A])
    assert route.call_count == 2 and obs.verdict is Verdict.FLAGGED


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (RATE_LIMITED, "rate_limited, Limit is 60 requests per minute."),
        (INVALID_NUMBER, "invalid_number, Expected a 10-digit NANP number."),
        (NO_ROUTE, "rest_no_route, No route was found matching the URL"),
        ({"error": "x"}, "x"),
    ],
)
def test_error_in_a_200_is_an_error_not_a_verdict(api, body, expected):
    api.get(ENDPOINT).respond(200, json=body)
    message = fail([A])
    assert message.startswith(f"USACallerLookup answered HTTP 200 with an error: {expected}")


def _broken(path: str, value: Any) -> str:
    """The example profile with the dotted ``path`` set to ``value`` (or deleted)."""
    body = copy.deepcopy(profile())
    *parents, last = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return json.dumps(body)


_DELETE = object()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<html><body>Service Unavailable" + "x" * 5000, "not JSON"),
        ("", "empty body"),
        ('{"digits": "6282017751", "complaints": {"total": 9', "not JSON"),
        ("[[[[[[[[[[" * 20_000, "not JSON"),  # nested past the decoder's recursion limit
        (b"\xff\xfe{}", "not JSON (not UTF-8 text)"),
        ("[]", "expected a JSON object, got an array"),
        ('"ok"', "expected a JSON object, got a string"),
        ("null", "expected a JSON object, got null"),
        (_broken("digits", _DELETE), "no 'digits'"),
        (_broken("digits", 6282017751), "no 'digits'"),
        (_broken("digits", "2025550143"), "answer is about '2025550143', not the number asked"),
        (_broken("complaints", _DELETE), "'complaints' is null, not an object"),
        (_broken("complaints", []), "'complaints' is an array, not an object"),
        (_broken("complaints.total", _DELETE), "no 'complaints.total'"),
        (_broken("complaints.total", True), "complaints.total is not a non-negative integer"),
        (_broken("complaints.total", "9"), "complaints.total is not a non-negative integer"),
        (_broken("complaints.total", 9.0), "complaints.total is not a non-negative integer"),
        (_broken("complaints.total", -1), "complaints.total is not a non-negative integer"),
        (_broken("complaints.robocalls", None), "complaints.robocalls is not a non-negative"),
        (_broken("complaints.robocalls", 10), "complaints.robocalls (10) exceeds"),
        (_broken("complaints.last_seen", None), "9 complaints but complaints.last_seen is null"),
        (_broken("complaints.last_seen", "08/19/2026"), "complaints.last_seen is not a YYYY-MM"),
        (_broken("complaints.last_seen", "2026-02-30"), "complaints.last_seen is not a YYYY-MM"),
        (_broken("complaints.first_seen", 20260714), "complaints.first_seen is not a YYYY-MM"),
        (_broken("complaints.first_seen", "2026-08-20"), "first_seen is after complaints.last"),
        (_broken("complaints.states_reporting", "4"), "complaints.states_reporting is not a"),
        (_broken("complaints.top_subjects", {}), "complaints.top_subjects is an object, not"),
        (_broken("complaints.top_subjects", ["Other"]), "top_subjects item 1 is a string"),
        (_broken("complaints.top_subjects", [{"subject": "Other"}]), "item 1 has no complaint"),
        (_broken("complaints.top_subjects", [{"complaints": 1}]), "item 1 has no subject"),
        (_broken("community_reports", []), "community_reports is an array, not an object"),
        (_broken("community_reports", {"scam": "2"}), "community_reports has a count that"),
    ],
)
def test_malformed_body_is_an_error_not_clean(api, body, reason):
    api.get(ENDPOINT).respond(200, content=body if isinstance(body, bytes) else body.encode())
    message = fail([A])
    assert message.startswith("USACallerLookup returned a malformed response: ")
    assert reason in message


def test_zero_complaints_ignore_placeholder_dates(api):
    """With nothing to judge the dates are not read: clean, never an error."""
    api.get(ENDPOINT).respond(json=profile(total=0, robocalls=0, last_seen="n/a"))
    [obs] = lookup([A])
    assert obs.verdict is Verdict.CLEAN and obs.evidence == {"complaints": 0}


def test_an_oversized_body_is_an_error(api):
    api.get(ENDPOINT).respond(200, content=b" " * 2_000_000)
    assert "max_response_bytes" in fail([A])


# --- secrets --------------------------------------------------------------------------


def test_a_proxy_password_in_base_url_never_reaches_an_observation(api):
    base = f"https://proxyuser:{PASSWORD}@proxy.example/ucl/v1"
    s = make_settings(base_url=base)
    assert s.secrets() == [PASSWORD]
    flagged = api.get("https://proxy.example/ucl/v1/number/6282017751").respond(json=profile())
    echo = {"error": "bad_request", "message": f"bad auth proxyuser:{PASSWORD} for you"}
    api.get("https://proxy.example/ucl/v1/number/2025550143").respond(400, json=echo)
    obs_a, obs_b = lookup([A, B], s)
    assert flagged.calls[0].request.headers["authorization"].startswith("Basic ")
    assert obs_a.url == "https://proxy.example/628-201-7751/"
    assert obs_b.error == (
        "USACallerLookup rejected the request (HTTP 400, bad_request): "
        "bad auth proxyuser:*** for you"
    )
    for obs in (obs_a, obs_b):
        assert PASSWORD not in repr(obs)


def test_malformed_body_never_echoes_the_proxy_password(api):
    base = f"https://proxyuser:{PASSWORD}@proxy.example/ucl/v1"
    body = profile()
    body["digits"] = PASSWORD  # a server answering about something else, echoing the secret
    api.get("https://proxy.example/ucl/v1/number/6282017751").respond(json=body)
    message = fail([A], make_settings(base_url=base))
    assert message == (
        "USACallerLookup returned a malformed response: answer is about '***', not the number asked"
    )


def test_a_redirect_elsewhere_does_not_carry_the_password(api):
    base = f"https://proxyuser:{PASSWORD}@proxy.example/ucl/v1"
    api.get("https://proxy.example/ucl/v1/number/6282017751").respond(
        302, headers={"Location": f"https://elsewhere.example/?p={PASSWORD}"}
    )
    other = api.get(url__startswith="https://elsewhere.example").respond(json=profile())
    message = fail([A], make_settings(base_url=base))
    assert other.call_count == 0 and PASSWORD not in message


# --- the pure mapping: truth table and properties --------------------------------------

TODAY = NOW.date()
RULE = Rule(min_complaints=2, window_days=30)


@pytest.mark.parametrize(
    ("total", "days_ago", "verdict"),
    [
        (0, None, Verdict.CLEAN),  # no complaints
        (1, 0, Verdict.CLEAN),  # below min_complaints, however recent
        (2, 0, Verdict.FLAGGED),  # min reached, today
        (2, 29, Verdict.FLAGGED),  # first day of the window
        (2, 30, Verdict.CLEAN),  # the day before the window
        (50, 400, Verdict.CLEAN),  # many, but long ago
        (2, -1, Verdict.FLAGGED),  # a server date ahead of ours counts as recent
        (5, None, Verdict.CLEAN),  # no date: nothing recent to judge
    ],
)
def test_decide_truth_table(total, days_ago, verdict):
    last = None if days_ago is None else TODAY - timedelta(days=days_ago)
    assert decide(total, last, TODAY, RULE) is verdict


@given(
    total=st.integers(0, 100),
    days_ago=st.integers(-3, 4000),
    min_complaints=st.integers(1, 20),
    window_days=st.integers(1, 3660),
)
def test_decide_property(total, days_ago, min_complaints, window_days):
    rule = Rule(min_complaints, window_days)
    last = TODAY - timedelta(days=days_ago)
    flagged = total >= min_complaints and days_ago < window_days
    assert decide(total, last, TODAY, rule) is (Verdict.FLAGGED if flagged else Verdict.CLEAN)
    assert window_start(TODAY, window_days) == TODAY - timedelta(days=window_days - 1)


@pytest.mark.parametrize(
    ("total", "robocalls", "subject", "category"),
    [
        (9, 4, DEBT, "telemarketing"),  # under half robocalls: the subject decides
        (8, 4, DEBT, "robocall"),  # exactly half
        (9, 9, IMPOSTOR, "robocall"),  # robocalls first, as in the shared rule
        (9, 0, IMPOSTOR, "scam"),
        (9, 0, "Imposter: fraud alert", "scam"),
        (9, 0, "Prerecorded message", "robocall"),
        (9, 0, "Other", "telemarketing"),
        (9, 0, None, "telemarketing"),
    ],
)
def test_categorize_truth_table(total, robocalls, subject, category):
    assert categorize(total, robocalls, subject) == category


def test_label_is_the_most_frequent_subject_ties_alphabetical():
    assert top_subject(()) is None
    assert top_subject((("Other", 2), (DEBT, 5))) == DEBT
    assert top_subject((("Zeta", 3), ("Alpha", 3))) == "Alpha"
    assert top_subject((("Other", 3), (DEBT, 2), (DEBT, 2))) == DEBT  # repeats add up


def test_assess_is_pure_and_keeps_the_number():
    p = schema.Profile(A_DIGITS, 3, 0, date(2026, 9, 1), date(2026, 9, 9), None, (("X", 3),))
    obs = assess(A, p, TODAY, Rule())
    assert (obs.number, obs.verdict, obs.label, obs.category) == (
        A,
        Verdict.FLAGGED,
        "X",
        "telemarketing",
    )
    assert obs.evidence["subjects"] == {"X": 3} and "states_reporting" not in obs.evidence


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 20) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
COMPLAINTS = st.fixed_dictionaries(
    {},
    optional={
        "total": st.integers(-1, 12) | JSON,
        "robocalls": st.integers(-1, 12) | JSON,
        "first_seen": st.sampled_from(["2026-07-14", "2026-09-30", None, "x"]) | JSON,
        "last_seen": st.sampled_from(["2026-08-19", "2026-07-01", None, "2026-13-01"]) | JSON,
        "states_reporting": st.integers(-1, 5) | JSON,
        "top_subjects": st.lists(
            st.fixed_dictionaries({}, optional={"subject": st.text(), "complaints": JSON})
        )
        | JSON,
    },
)
PROFILE = st.fixed_dictionaries(
    {"digits": st.sampled_from([A_DIGITS, B_DIGITS]) | JSON},
    optional={"complaints": COMPLAINTS | JSON, "community_reports": JSON, "error": JSON},
)


def cut(text: str, limit: int) -> str:
    return UsaCallerLookupChecker(make_settings()).excerpt(text, limit)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=PROFILE | JSON)
def test_any_json_is_a_consistent_profile_or_a_clear_refusal(body):
    try:
        p = schema.parse_profile(json.dumps(body), A_DIGITS, cut)
    except (schema.Malformed, schema.ErrorAnswer) as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert p.digits == A_DIGITS and 0 <= p.robocalls <= p.total
    assert p.total == 0 or p.last_seen is not None
    assert p.first_seen is None or p.last_seen is None or p.first_seen <= p.last_seen
    assert not (isinstance(body, dict) and "error" in body)
    obs = assess(A, p, TODAY, Rule())
    assert obs.verdict in (Verdict.FLAGGED, Verdict.CLEAN)
    json.dumps(obs.evidence, allow_nan=False)


# --- one real run: the CLI against a local HTTP server ---------------------------------


def test_cli_check_status_and_report_against_a_local_server(tmp_path, monkeypatch):
    from clitools import cli_invoker
    from localserver import LocalServer, Reply

    today = datetime.now(UTC).date()
    flagged = profile(
        first_seen=(today - timedelta(days=60)).isoformat(),
        last_seen=(today - timedelta(days=3)).isoformat(),
    )
    echo = {"error": "server_error", "message": f"upstream said proxyuser:{PASSWORD}"}
    c_digits = "3125550188"
    cli = cli_invoker(tmp_path, monkeypatch, MODULE)
    with LocalServer() as server:
        server.route(f"/wp-json/ucl/v1/number/{A_DIGITS}", Reply(200, json.dumps(flagged)))
        server.route(
            f"/wp-json/ucl/v1/number/{B_DIGITS}", Reply(200, json.dumps(no_complaints(B_DIGITS)))
        )
        server.route(f"/wp-json/ucl/v1/number/{c_digits}", Reply(410, json.dumps(echo)))
        host = server.url.removeprefix("http://")
        base = f"http://proxyuser:{PASSWORD}@{host}/wp-json/ucl/v1"
        monkeypatch.setenv("CIDREP_SOURCES__USACALLERLOOKUP__BASE_URL", base)
        config = "[sources.usacallerlookup]\nenabled = true\nrate_limit = '100/s'\n"
        added = cli("numbers", "add", A, B, "+13125550188", FOREIGN, "-l", "Sales line")
        assert added.exit_code == 0, added.output
        checked = cli("check", config_text=config)
        assert checked.exit_code == 4, checked.output  # flagged, and a source error
        status = json.loads(cli("status", "--json").output)["numbers"]
        report = cli("report", "628-201-7751")
        report_json = json.loads(cli("report", A, "--json").output)
        requests = list(server.requests)
    assert sorted(r.path for r in requests) == sorted(
        f"/wp-json/ucl/v1/number/{d}" for d in (A_DIGITS, B_DIGITS, c_digits)
    )  # the foreign number was never sent
    auth = requests[0].headers.get("Authorization", "")
    assert base64.b64decode(auth.removeprefix("Basic ")).decode() == f"proxyuser:{PASSWORD}"

    by_number = {row["number"]: row for row in status}
    assert by_number[A]["verdict"] == "flagged"
    assert by_number[A]["verdict_sources"] == ["usacallerlookup"]
    assert by_number[B]["verdict"] == "clean"
    assert by_number[FOREIGN]["verdict"] == "unknown"
    assert by_number["+13125550188"]["verdict"] == "error"

    assert report.exit_code == 0, report.output
    text = report.output
    assert "usacallerlookup: flagged since" in text
    assert f"label: {DEBT}" in text and "category: telemarketing" in text
    assert f"url: http://{host}/628-201-7751/" in text
    assert "complaints: 9" in text and "robocalls: 4" in text
    source = report_json["sources"]["usacallerlookup"]
    assert source["verdict"] == "flagged" and source["label"] == DEBT

    outputs = checked.output + json.dumps(status) + text + json.dumps(report_json)
    error_status = json.dumps(by_number["+13125550188"])
    assert PASSWORD not in outputs and PASSWORD not in error_status
    files = sorted(tmp_path.glob("cidrep.db*"))
    assert files and files[0].stat().st_size > 0
    assert all(PASSWORD.encode() not in p.read_bytes() for p in files)


def test_off_until_the_user_opts_in():
    """It sends numbers to an unofficial third party: never by default."""
    from cidrep_plugins.usacallerlookup.settings import UsaCallerLookupSettings

    assert UsaCallerLookupSettings().enabled is False
