"""The ``telnyx`` checker: mocked API (respx), pure rules, and one real CLI run.

Fixtures follow sources.md §6b (DOC): the reputation answer with its field names and
types, the enterprise reputation settings, the ``errors`` list with a string code,
and the 429 with ``x-ratelimit-*`` headers.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from cidrep.contract import Observation, SourceSettings, Verdict
from cidrep.runner.http import HttpSession
from cidrep_plugins.telnyx import schema
from cidrep_plugins.telnyx.checker import (
    NO_DATA_YET,
    NOT_COVERED,
    NOT_ENROLLED,
    REJECTED_NUMBER,
    TelnyxChecker,
    TelnyxSettings,
    source_number,
)
from cidrep_plugins.telnyx.verdict import (
    BANDS,
    LIVE_WINDOW,
    cached_cost,
    decide,
    label,
    normalise_category,
    risk_score,
)

MODULE = "cidrep_plugins.telnyx"
PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugins" / "telnyx"
BASE = "https://api.telnyx.com/v2"
KEY = "KEY01TLX-9sekrit-4711abcdef"
ENT = "4a6192a4-573d-446d-b3ce-aff9117272a6"
SETTINGS_URL = f"{BASE}/enterprises/{ENT}/reputation"
A, B = "+12025550143", "+13125550188"
FOREIGN = "+442079460123"
A_URL = f"{SETTINGS_URL}/numbers/%2B12025550143"
B_URL = f"{SETTINGS_URL}/numbers/%2B13125550188"
NOW = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
DATE = {"Date": format_datetime(NOW, usegmt=True)}
FAST = {"backoff_initial": "0.01s", "backoff_max": "0.05s", "rate_limit": "1000/s"}

APPROVED = {
    "data": {
        "enterprise_id": ENT,
        "loa_document_id": "2a7e8337-e803-4057-a4ae-26c40eb0bc6c",
        "loa_status": "approved",
        "status": "approved",
        "check_frequency": "business_daily",
        "rejection_reasons": [],
        "created_at": "2026-04-01T12:00:00Z",
        "updated_at": "2026-04-02T12:00:00Z",
    }
}
THROTTLED = {
    "errors": [
        {
            "code": "10011",
            "title": "Too many requests",
            "detail": "You have exceeded the maximum number of allowed requests.",
        }
    ]
}
RATE_HEADERS = {"x-ratelimit-limit": "20", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "7"}


def answer(number: str = A, **rep: Any) -> dict[str, Any]:
    """The documented high-risk example for ``number``, ``reputation_data`` overridden
    (``reputation_data=None`` for a number not refreshed yet)."""
    data: dict[str, Any] = {
        "spam_risk": "high",
        "spam_category": "Telemarketer",
        "maturity_score": 40,
        "connection_score": 22,
        "engagement_score": 35,
        "sentiment_score": 18,
        "last_refreshed_at": "2026-05-02T06:00:00Z",
    }
    if "reputation_data" in rep:
        reputation = rep.pop("reputation_data")
    else:
        data.update(rep)
        reputation = data
    return {
        "data": {
            "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
            "phone_number": number,
            "enterprise_id": ENT,
            "created_at": "2026-04-01T12:00:00Z",
            "updated_at": "2026-05-02T06:00:00Z",
            "reputation_data": reputation,
        }
    }


def clean_answer(number: str = B) -> dict[str, Any]:
    return answer(
        number,
        spam_risk="low",
        spam_category=None,
        maturity_score=72,
        connection_score=80,
        engagement_score=64,
        sentiment_score=75,
    )


def err(code: str, detail: str, title: str = "Error") -> dict[str, Any]:
    return {"errors": [{"code": code, "title": title, "detail": detail}]}


def make_settings(**overrides: Any) -> TelnyxSettings:
    values: dict[str, Any] = {
        **FAST,
        "max_attempts": 3,
        "api_key": KEY,
        "enterprise_id": ENT,
        **overrides,
    }
    return TelnyxSettings(**values)


def lookup(
    numbers: Sequence[str],
    s: TelnyxSettings | None = None,
    waits: list[float] | None = None,
) -> list[Observation]:
    """Run the checker through the real ``HttpSession``; ``waits`` records its sleeps."""
    checker = TelnyxChecker(s or make_settings())
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


def fail(numbers: Sequence[str], s: TelnyxSettings | None = None) -> list[Observation]:
    """Every number is an error with the same one-line message, no verdict fields."""
    result = lookup(numbers, s)
    assert [o.number for o in result] == list(numbers)
    assert all(o.verdict is Verdict.ERROR for o in result), result
    assert len({o.error for o in result}) == 1
    for o in result:
        assert o.error and "\n" not in o.error and len(o.error) <= 300
        assert o.label is o.category is o.score is None
        assert KEY not in o.error and KEY[:12] not in o.error
    return result


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def approved(api):
    """The enterprise check passes; returns the route to count its calls."""
    return api.get(SETTINGS_URL).respond(200, json=APPROVED)


# --- registration, imports, settings ------------------------------------------------


def test_registers_through_the_plugin_door(monkeypatch):
    from cidrep.plugins import get_checkers, reset_cache

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", MODULE)
    reset_cache()
    assert get_checkers()["telnyx"] is TelnyxChecker
    assert "api.telnyx.com" in TelnyxChecker.disclosure
    assert TelnyxChecker(make_settings()).batch_size == 1


def test_settings_defaults():
    s = TelnyxSettings()
    assert s.base_url == BASE
    assert s.api_key is None and s.enterprise_id is None
    assert s.fresh is False and s.flag_at == "high" and s.verify_enterprise is True
    assert (str(s.rate_limit), s.concurrency) == ("2/s", 2)
    assert s.interval == timedelta(hours=24) and s.timeout == timedelta(seconds=20)
    assert (s.backoff_initial, s.backoff_max) == (timedelta(seconds=2), timedelta(seconds=60))
    assert s.daily_budget is None
    for name, field in TelnyxSettings.model_fields.items():
        assert field.description, f"{name} has no description"


@pytest.mark.parametrize(
    "bad",
    [
        {"enterprise_id": "../../numbers"},
        {"enterprise_id": "abc def"},
        {"enterprise_id": "a?b=1"},
        {"api_key": "key with space"},
        {"api_key": "key\n"},
        {"flag_at": "low"},
        {"base_url": "ftp://api.telnyx.com"},
        {"unknown_option": 1},
    ],
)
def test_settings_reject_bad_values(bad):
    with pytest.raises(ValidationError):
        TelnyxSettings(**bad)


def test_blank_enterprise_id_is_unset_and_a_real_one_is_kept():
    assert TelnyxSettings(enterprise_id="  ").enterprise_id is None
    assert TelnyxSettings(enterprise_id=f" {ENT} ").enterprise_id == ENT


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    from cidrep.config import load_config

    monkeypatch.setenv("CIDREP_SOURCES__TELNYX__API_KEY", KEY)
    monkeypatch.setenv("CIDREP_SOURCES__TELNYX__ENTERPRISE_ID", ENT)
    config = tmp_path / "c.toml"
    config.write_text("[sources.telnyx]\nfresh = true\ndaily_budget = 50\n")
    config.chmod(0o600)
    s = load_config(config, {"telnyx": TelnyxChecker}).settings.source("telnyx")
    assert isinstance(s.api_key, SecretStr) and s.api_key.get_secret_value() == KEY
    assert (s.enterprise_id, s.fresh, s.daily_budget) == (ENT, True, 50)
    assert KEY not in repr(s) and KEY not in str(s.model_dump())


def test_plain_source_settings_are_upgraded_keeping_what_was_set():
    checker = TelnyxChecker(SourceSettings(rate_limit="5/s", max_attempts=2))
    assert isinstance(checker.settings, TelnyxSettings)
    assert (str(checker.settings.rate_limit), checker.settings.max_attempts) == ("5/s", 2)


def test_preflight_skips_until_key_and_enterprise_are_set():
    assert TelnyxChecker(make_settings(api_key=None)).preflight() == "no api_key configured"
    assert TelnyxChecker(make_settings(api_key="")).preflight() == "no api_key configured"
    assert TelnyxChecker(make_settings(enterprise_id=None)).preflight() == (
        "no enterprise_id configured"
    )
    assert TelnyxChecker(make_settings(base_url="")).preflight() == "no base_url configured"
    assert TelnyxChecker(make_settings()).preflight() is None


# --- the number format ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "segment"),
    [
        (A, "%2B12025550143"),
        ("+18005550100", "%2B18005550100"),
        (FOREIGN, None),
        ("+33123456789", None),
    ],
)
def test_source_number(e164, segment):
    assert source_number(e164) == segment


@given(st.from_regex(r"[2-9][0-8][0-9][2-9][0-9]{6}", fullmatch=True))
def test_source_number_is_the_e164_with_plus_encoded(digits):
    segment = source_number(f"+1{digits}")
    assert segment == f"%2B1{digits}"
    assert "+" not in segment and "/" not in segment


def test_the_plus_reaches_the_server_as_2b(api, approved):
    route = api.get(A_URL).respond(200, json=answer(), headers=DATE)
    lookup([A])
    request = route.calls.last.request
    assert b"/numbers/%2B12025550143" in request.url.raw_path
    assert request.url.query == b""  # cached: no fresh parameter at all
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert approved.calls.last.request.headers["Authorization"] == f"Bearer {KEY}"


def test_a_number_outside_nanp_is_unknown_without_any_request(api):
    route = api.route().respond(500)
    [obs] = lookup([FOREIGN])
    assert obs.verdict is Verdict.UNKNOWN and obs.evidence == {"reason": NOT_COVERED}
    assert obs.cost_units == 0 and route.call_count == 0


# --- answers: signal, clean, empty ---------------------------------------------------


def test_high_risk_is_flagged_with_score_label_category_and_evidence(api, approved):
    api.get(A_URL).respond(200, json=answer(), headers=DATE)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.FLAGGED
    assert obs.label == "Telemarketer (spam risk high)"
    assert obs.category == "telemarketing"
    assert obs.score == 91  # 67 + round(33 * (100 - mean(40, 22, 35, 18)) / 100)
    assert obs.evidence == {
        "spam_risk": "high",
        "spam_category": "Telemarketer",
        "maturity_score": 40,
        "connection_score": 22,
        "engagement_score": 35,
        "sentiment_score": 18,
    }
    assert obs.url is None and obs.error is None
    assert obs.cost_units == 0  # cached, refreshed 6 h before the answer


def test_low_risk_is_clean(api, approved):
    api.get(B_URL).respond(200, json=clean_answer(), headers=DATE)
    [obs] = lookup([B])
    assert obs.verdict is Verdict.CLEAN
    assert obs.label == "spam risk low" and obs.category is None
    assert obs.score == 9  # 0 + round(33 * (100 - 72.75) / 100)
    assert obs.evidence["spam_risk"] == "low" and "spam_category" not in obs.evidence


def test_medium_is_clean_by_default_and_flagged_with_flag_at_medium(api, approved):
    body = answer(spam_risk="Medium", spam_category=None)
    api.get(A_URL).respond(200, json=body, headers=DATE)
    [default] = lookup([A])
    [eager] = lookup([A], make_settings(flag_at="medium"))
    assert default.verdict is Verdict.CLEAN and default.category is None
    assert eager.verdict is Verdict.FLAGGED and eager.category == "spam"
    assert default.score == eager.score == 57  # 34 + round(32 * 71.25 / 100)
    assert default.label == eager.label == "spam risk medium"


def test_null_scores_are_left_out_and_the_band_middle_is_the_score(api, approved):
    body = answer(
        maturity_score=None, connection_score=None, engagement_score=None, sentiment_score=None
    )
    api.get(A_URL).respond(200, json=body, headers=DATE)
    [obs] = lookup([A])
    assert obs.score == 84
    assert obs.evidence == {"spam_risk": "high", "spam_category": "Telemarketer"}


def test_no_reputation_data_yet_is_unknown(api, approved):
    api.get(A_URL).respond(200, json=answer(reputation_data=None), headers=DATE)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.UNKNOWN and obs.evidence == {"reason": NO_DATA_YET}
    assert obs.score is None and obs.label is None
    assert obs.cost_units == 1  # a cached read without data may have been fetched live


def test_a_number_not_enrolled_is_unknown(api, approved):
    body = err("10005", "Resource not found", "Not found")
    api.get(A_URL).respond(404, json=body)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.UNKNOWN
    assert obs.evidence == {"reason": NOT_ENROLLED, "telnyx_code": "10005"}
    assert obs.cost_units == 0


def test_a_bare_404_is_unknown_without_a_code(api, approved):
    api.get(A_URL).respond(404, text="not found")
    [obs] = lookup([A])
    assert obs.verdict is Verdict.UNKNOWN and obs.evidence == {"reason": NOT_ENROLLED}


def test_a_number_telnyx_rejects_is_unknown(api, approved):
    body = err("10015", "Phone number must be a US number", "Invalid phone number")
    api.get(A_URL).respond(422, json=body)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.UNKNOWN
    assert obs.evidence == {"reason": REJECTED_NUMBER, "telnyx_code": "10015"}


def test_evidence_ignores_refresh_timestamps(api, approved):
    """An unchanged reputation refreshed again is the same observation (one history row)."""
    later = answer()
    later["data"]["reputation_data"]["last_refreshed_at"] = "2026-05-01T06:00:00Z"
    later["data"]["updated_at"] = "2026-05-01T06:00:00Z"
    api.get(A_URL).mock(
        side_effect=[
            httpx.Response(200, json=answer(), headers=DATE),
            httpx.Response(200, json=later, headers=DATE),
        ]
    )
    [first] = lookup([A])
    [second] = lookup([A])
    assert first == second


# --- the enterprise check: auth, LOA, wrong id -----------------------------------------


def test_the_enterprise_is_checked_once_per_run(api, approved):
    api.get(A_URL).respond(200, json=answer(), headers=DATE)
    api.get(B_URL).respond(200, json=clean_answer(), headers=DATE)
    result = lookup([A, B, FOREIGN])
    assert [o.verdict for o in result] == [Verdict.FLAGGED, Verdict.CLEAN, Verdict.UNKNOWN]
    assert approved.call_count == 1


def test_refused_key_fails_every_number_and_asks_no_number(api):
    echo = err("10009", f"Authentication failed for key {KEY}", "Authentication failed")
    settings_route = api.get(SETTINGS_URL).respond(401, json=echo)
    numbers = api.get(url__startswith=f"{SETTINGS_URL}/numbers").respond(200, json=answer())
    result = fail([A, B])
    assert settings_route.call_count == 1 and numbers.call_count == 0
    message = result[0].error
    assert message.startswith("Telnyx rejected the API key (HTTP 401, code 10009")
    assert "check sources.telnyx.api_key" in message
    assert all(o.cost_units == 0 for o in result)


def test_loa_not_approved_is_one_clear_error(api):
    body = copy.deepcopy(APPROVED)
    body["data"]["loa_status"] = "pending"
    api.get(SETTINGS_URL).respond(200, json=body)
    numbers = api.get(url__startswith=f"{SETTINGS_URL}/numbers").respond(200, json=answer())
    [obs] = fail([A])
    assert numbers.call_count == 0
    assert obs.error == (
        f"Telnyx Number Reputation is not approved for enterprise {ENT}: loa_status pending; "
        "reputation status and loa_status must both read approved"
    )


def test_rejected_activation_names_the_reasons(api):
    body = copy.deepcopy(APPROVED)
    body["data"]["status"] = "rejected"
    body["data"]["rejection_reasons"] = ["Business address could not be verified"]
    api.get(SETTINGS_URL).respond(200, json=body)
    [obs] = fail([A])
    assert "status rejected" in obs.error and "loa_status" in obs.error
    assert "(rejection reasons: Business address could not be verified)" in obs.error


def test_settings_without_loa_status_leave_that_gate_to_the_number_reads(api):
    body = copy.deepcopy(APPROVED)
    del body["data"]["loa_status"]
    api.get(SETTINGS_URL).respond(200, json=body)
    api.get(A_URL).respond(200, json=answer(), headers=DATE)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.FLAGGED


def test_unknown_enterprise_is_an_error_naming_the_setting(api):
    api.get(SETTINGS_URL).respond(404, json=err("10005", "Resource not found"))
    [obs] = fail([A])
    assert obs.error.startswith(f"Telnyx has no Number Reputation for enterprise {ENT} (HTTP 404)")
    assert "check sources.telnyx.enterprise_id" in obs.error


@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b'{"data": {"loa_status": "approved"}}', b'{"data": []}'],
)
def test_malformed_enterprise_settings_are_an_error(api, body):
    api.get(SETTINGS_URL).respond(200, content=body)
    [obs] = fail([A])
    assert obs.error.startswith(
        f"Telnyx returned malformed reputation settings for enterprise {ENT}: "
    )


def test_a_transport_failure_of_the_check_is_not_kept(api):
    settings_route = api.get(SETTINGS_URL).mock(
        side_effect=[httpx.ConnectError("refused")] * 3 + [httpx.Response(200, json=APPROVED)]
    )
    api.get(B_URL).respond(200, json=clean_answer(), headers=DATE)
    first, second = lookup([A, B])
    assert first.verdict is Verdict.ERROR and "cannot reach api.telnyx.com" in first.error
    assert first.cost_units == 0  # the number itself was never asked
    assert second.verdict is Verdict.CLEAN
    assert settings_route.call_count == 4


def test_verify_enterprise_false_asks_only_the_numbers(api):
    settings_route = api.get(SETTINGS_URL).respond(500)
    api.get(A_URL).respond(200, json=answer(), headers=DATE)
    [obs] = lookup([A], make_settings(verify_enterprise=False))
    assert obs.verdict is Verdict.FLAGGED and settings_route.call_count == 0


def test_a_403_about_the_loa_on_a_number_says_so(api):
    body = err("10010", "Letter of Authorization (LOA) is not approved", "Forbidden")
    api.get(A_URL).respond(403, json=body)
    [obs] = fail([A], make_settings(verify_enterprise=False))
    assert obs.error.startswith(
        f"Telnyx Number Reputation is not approved for enterprise {ENT} (HTTP 403, code 10010"
    )


def test_a_422_about_approval_is_an_error_not_unknown(api, approved):
    api.get(A_URL).respond(422, json=err("10015", "Number reputation is not enabled"))
    [obs] = fail([A])
    assert "is not approved for enterprise" in obs.error


def test_a_plain_403_on_a_number_is_an_access_error(api, approved):
    api.get(A_URL).respond(403, json=err("10010", "Forbidden"))
    [obs] = fail([A])
    assert obs.error == (
        "Telnyx refused access (HTTP 403, code 10010): Forbidden: check that "
        f"sources.telnyx.api_key may use enterprise {ENT}"
    )
    assert obs.cost_units == 0


# --- throttle and server failures -------------------------------------------------


def test_throttle_honours_retry_after_then_succeeds(api, approved):
    route = api.get(A_URL).mock(
        side_effect=[
            httpx.Response(429, headers={**RATE_HEADERS, "Retry-After": "30"}, json=THROTTLED),
            httpx.Response(200, json=answer(), headers=DATE),
        ]
    )
    waits: list[float] = []
    [obs] = lookup([A], waits=waits)
    assert route.call_count == 2 and obs.verdict is Verdict.FLAGGED
    assert any(29 < w <= 30 for w in waits), waits  # the session honoured Retry-After


def test_throttle_with_only_ratelimit_headers_waits_for_the_reset(api, approved):
    route = api.get(A_URL).mock(
        side_effect=[
            httpx.Response(429, headers=RATE_HEADERS, json=THROTTLED),
            httpx.Response(200, json=answer(), headers=DATE),
        ]
    )
    waits: list[float] = []
    [obs] = lookup([A], waits=waits)
    assert route.call_count == 2 and obs.verdict is Verdict.FLAGGED
    reset = float(RATE_HEADERS["x-ratelimit-reset"])
    assert waits and max(waits) == pytest.approx(reset, abs=0.5)  # the session honours it


def test_throttle_that_outlasts_the_retries_is_an_error_that_may_have_cost(api, approved):
    route = api.get(A_URL).respond(429, headers=RATE_HEADERS, json=THROTTLED)
    [obs] = fail([A])
    assert route.call_count == 3
    assert obs.error == "throttled by api.telnyx.com (HTTP 429) after 3 attempts"
    assert obs.cost_units == 1  # no answer read: counted as its estimate


def test_unexpected_status_is_an_error(api, approved):
    api.get(A_URL).respond(400, json=err("10001", "Bad request", "Invalid"))
    [obs] = fail([A])
    assert obs.error == "Telnyx answered HTTP 400, code 10001: Bad request"


# --- malformed answers -------------------------------------------------------------


def _bad(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"data": {"phone_number": "+1202', "not JSON"),
        (b"<html><body>502 Bad Gateway</body></html>", "not JSON"),
        (b"", "empty body"),
        (b"\xff\xfe", "not UTF-8"),
        ([answer()], "expected a JSON object, got an array"),
        ({"result": {}}, "'data' is null, not an object"),
        (answer(B), "answer is about '+13125550188', not the number asked"),
        ({"data": {"phone_number": A}}, "no 'data.reputation_data'"),
        (answer(spam_risk="severe"), "spam_risk is 'severe', not low, medium or high"),
        (answer(spam_risk=None), "spam_risk is 'null'"),
        (answer(spam_category=7), "spam_category is a number"),
        (answer(maturity_score=True), "maturity_score is a boolean"),
        (answer(sentiment_score=101), "sentiment_score is 101, outside 0-100"),
        (answer(engagement_score=35.5), "engagement_score is not a whole number"),
        (answer(connection_score="22"), "connection_score is a string"),
        (answer(reputation_data=[1]), "'reputation_data' is an array"),
    ],
)
def test_malformed_answers_are_errors(api, approved, body, why):
    api.get(A_URL).respond(200, content=_bad(body), headers=DATE)
    [obs] = fail([A])
    assert obs.error.startswith("Telnyx returned a malformed response: ")
    assert why in obs.error
    assert obs.cost_units == 1  # a 200 we cannot read may have been billed


def test_a_whole_float_score_is_accepted(api, approved):
    api.get(A_URL).respond(200, json=answer(maturity_score=40.0), headers=DATE)
    [obs] = lookup([A])
    assert obs.evidence["maturity_score"] == 40 and obs.score == 91


def test_an_error_in_a_200_is_an_error(api, approved):
    body = {"data": None, **err("10007", "Unexpected error", "Internal")}
    api.get(A_URL).respond(200, json=body)
    [obs] = fail([A])
    assert obs.error == "Telnyx answered HTTP 200 with an error: 10007, Unexpected error"


def test_server_text_in_errors_is_redacted_and_cut(api, approved):
    long = f"key {KEY} was " + "x" * 500
    api.get(A_URL).respond(400, json=err("10001", long))
    [obs] = fail([A])
    assert KEY not in obs.error and len(obs.error) < 300


# --- cost ----------------------------------------------------------------------------


def test_cost_estimate_is_one_unit_per_number_sent_in_both_modes():
    for fresh in (False, True):
        checker = TelnyxChecker(make_settings(fresh=fresh))
        assert checker.cost_estimate([A, B, FOREIGN]) == 2.0
        assert checker.cost_estimate([FOREIGN]) == 0.0
        assert checker.cost_estimate([]) == 0.0


def test_fresh_reads_ask_for_fresh_data_and_cost_one_unit(api, approved):
    route = api.get(A_URL, params={"fresh": "true"}).respond(200, json=answer(), headers=DATE)
    api.get(B_URL, params={"fresh": "true"}).respond(
        200, json=answer(B, reputation_data=None), headers=DATE
    )
    flagged, pending = lookup([A, B], make_settings(fresh=True))
    assert route.calls.last.request.url.params["fresh"] == "true"
    assert flagged.verdict is Verdict.FLAGGED and flagged.cost_units == 1
    assert pending.verdict is Verdict.UNKNOWN and pending.cost_units == 1


def test_a_cached_read_refreshed_just_now_counts_as_a_live_fetch(api, approved):
    recent = answer(last_refreshed_at="2026-05-02T11:59:58Z")
    api.get(A_URL).respond(200, json=recent, headers=DATE)
    [obs] = lookup([A])
    assert obs.cost_units == 1


def test_without_a_date_header_the_local_clock_judges_the_cost(api, approved):
    api.get(A_URL).mock(
        side_effect=[
            httpx.Response(200, json=answer(last_refreshed_at="2026-05-02T11:55:00Z")),
            httpx.Response(200, json=answer(last_refreshed_at="2026-05-01T11:55:00Z")),
        ]
    )
    [recent] = lookup([A])
    [old] = lookup([A])
    assert (recent.cost_units, old.cost_units) == (1, 0)


@pytest.mark.parametrize(
    ("refreshed", "cost"),
    [
        (None, 1.0),
        (NOW, 1.0),
        (NOW - LIVE_WINDOW, 1.0),
        (NOW - LIVE_WINDOW - timedelta(seconds=1), 0.0),
        (NOW - timedelta(days=3), 0.0),
        (NOW + timedelta(minutes=1), 1.0),  # a clock ahead of the Date header: live
    ],
)
def test_cached_cost_truth_table(refreshed, cost):
    assert cached_cost(refreshed, NOW) == cost


def test_an_unreadable_refresh_time_costs_one(api, approved):
    api.get(A_URL).respond(200, json=answer(last_refreshed_at="yesterday"), headers=DATE)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.FLAGGED and obs.cost_units == 1


# --- the mapping as pure functions ---------------------------------------------------


@pytest.mark.parametrize(
    ("risk", "flag_at", "verdict"),
    [
        ("low", "high", Verdict.CLEAN),
        ("medium", "high", Verdict.CLEAN),
        ("high", "high", Verdict.FLAGGED),
        ("low", "medium", Verdict.CLEAN),
        ("medium", "medium", Verdict.FLAGGED),
        ("high", "medium", Verdict.FLAGGED),
    ],
)
def test_decide_truth_table(risk, flag_at, verdict):
    assert decide(risk, flag_at) is verdict


@pytest.mark.parametrize(
    ("risk", "scores", "score"),
    [
        ("low", (100, 100, 100, 100), 0),
        ("low", (0, 0, 0, 0), 33),
        ("low", (None, None, None, None), 17),
        ("low", (72, 80, 64, 75), 9),
        ("medium", (100, None, None, None), 34),
        ("medium", (0, None, None, None), 66),
        ("medium", (None, None, None, None), 50),
        ("medium", (50, 50, 50, 50), 50),
        ("high", (100, 100, 100, 100), 67),
        ("high", (0, 0, 0, 0), 100),
        ("high", (None, None, None, None), 84),
        ("high", (40, 22, 35, 18), 91),
        ("high", (50, None, None, None), 84),  # 67 + 16.5, half up
    ],
)
def test_risk_score_truth_table(risk, scores, score):
    assert risk_score(risk, scores) == score


def test_the_bands_tile_0_to_100_in_risk_order():
    assert BANDS["low"][0] == 0 and BANDS["high"][1] == 100
    assert BANDS["low"][1] + 1 == BANDS["medium"][0]
    assert BANDS["medium"][1] + 1 == BANDS["high"][0]


SCORE = st.one_of(st.none(), st.integers(0, 100))


@given(st.sampled_from(["low", "medium", "high"]), st.tuples(SCORE, SCORE, SCORE, SCORE))
def test_the_score_stays_in_its_band(risk, scores):
    lo, hi = BANDS[risk]
    assert lo <= risk_score(risk, scores) <= hi


@given(
    st.sampled_from(["low", "medium", "high"]),
    st.tuples(SCORE, SCORE, SCORE, SCORE),
    st.integers(0, 3),
    st.integers(1, 100),
)
def test_a_worse_telnyx_score_never_lowers_ours(risk, scores, index, drop):
    value = scores[index]
    if value is None:
        return
    worse = list(scores)
    worse[index] = max(0, value - drop)
    assert risk_score(risk, tuple(worse)) >= risk_score(risk, scores)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Telemarketer", "telemarketing"),
        ("Survey", "survey"),
        ("Debt Collector", "debt_collection"),
        ("Nonprofit", "nonprofit"),
        ("Political", "political"),
        ("Scam Likely", "scam"),
        ("Fraud", "fraud"),
        ("Robocaller", "robocall"),
        ("Spam", "spam"),
        ("Healthcare", "other"),
        (None, None),
    ],
)
def test_category_normalisation(text, category):
    assert normalise_category(text) == category


def test_label_uses_the_sources_words():
    assert label("high", "Telemarketer") == "Telemarketer (spam risk high)"
    assert label("low", None) == "spam risk low"


def test_parse_number_reads_the_documented_example():
    rep = schema.parse_number(json.dumps(answer()).encode(), A, lambda t, n: t[:n])
    assert rep is not None and rep.spam_risk == "high"
    assert rep.last_refreshed_at == datetime(2026, 5, 2, 6, 0, tzinfo=UTC)


# --- secrets ---------------------------------------------------------------------------


def test_the_key_is_never_in_an_observation(api, approved):
    api.get(A_URL).respond(200, json=answer(spam_category=f"echo {KEY}"), headers=DATE)
    api.get(B_URL).respond(401, json=err("10009", f"bad key {KEY}"))
    result = lookup([A, B])
    text = repr(result)
    assert KEY not in text


# --- one real run of the CLI against a local server -------------------------------------


def test_cli_check_status_and_report_against_a_local_server(tmp_path, monkeypatch):
    from clitools import cli_invoker
    from localserver import LocalServer, Reply

    c = "+16282017751"
    base_path = f"/v2/enterprises/{ENT}/reputation"
    cli = cli_invoker(tmp_path, monkeypatch, MODULE)
    with LocalServer() as server:
        server.route(base_path, Reply(200, json.dumps(APPROVED)))
        server.route(f"{base_path}/numbers/%2B12025550143", Reply(200, json.dumps(answer())))
        server.route(f"{base_path}/numbers/%2B13125550188", Reply(200, json.dumps(clean_answer())))
        echo = err("10005", f"Resource not found (key {KEY})", "Not found")
        server.route(f"{base_path}/numbers/%2B16282017751", Reply(404, json.dumps(echo)))
        monkeypatch.setenv("CIDREP_SOURCES__TELNYX__API_KEY", KEY)
        monkeypatch.setenv("CIDREP_SOURCES__TELNYX__BASE_URL", f"{server.url}/v2")
        config = f"[sources.telnyx]\nenterprise_id = '{ENT}'\nrate_limit = '100/s'\n"
        added = cli("numbers", "add", A, B, c, FOREIGN, "-l", "Sales line")
        assert added.exit_code == 0, added.output
        checked = cli("check", config_text=config)
        status = json.loads(cli("status", "--json").output)["numbers"]
        report = cli("report", "202-555-0143")
        report_json = json.loads(cli("report", A, "--json").output)
        requests = list(server.requests)
        # A second, forced run with billed fresh reads and a budget of 2 units: the
        # spend guard sends two numbers and holds the third back until tomorrow.
        budgeted = config + "fresh = true\ndaily_budget = 2\nconcurrency = 1\n"
        second = cli("check", "--force", "--json", config_text=budgeted)
        listed = cli("sources", "list")
        fresh_requests = server.requests[len(requests) :]
    assert checked.exit_code == 1, checked.output  # a number flagged, no source error
    paths = sorted(r.path for r in requests)
    assert paths == sorted(
        [base_path] + [f"{base_path}/numbers/%2B1{n[2:]}" for n in (A, B, c)]
    )  # the enterprise checked once; the foreign number never sent
    assert all(r.headers.get("Authorization") == f"Bearer {KEY}" for r in requests)
    assert all(not r.query for r in requests)  # cached reads

    by_number = {row["number"]: row for row in status}
    assert by_number[A]["verdict"] == "flagged"
    assert by_number[A]["verdict_sources"] == ["telnyx"]
    assert by_number[B]["verdict"] == "clean"
    assert by_number[c]["verdict"] == "unknown"
    assert by_number[FOREIGN]["verdict"] == "unknown"

    run = json.loads(second.output)
    telnyx = run["sources"]["telnyx"]
    assert telnyx["cost_units"] == 2 and telnyx["stats"]["budget_held_back"] == 1
    number_asks = [r for r in fresh_requests if "/numbers/" in r.path]
    assert len(number_asks) == 2 and all(r.query == {"fresh": ["true"]} for r in number_asks)
    assert "daily budget 2: 2 spent today" in listed.output, listed.output

    text = report.output
    assert report.exit_code in (0, 1), text
    assert "telnyx: flagged since" in text
    assert "label: Telemarketer (spam risk high)" in text
    assert "category: telemarketing" in text and "score: 91" in text
    assert "spam risk: high" in text and "sentiment score: 18" in text
    source = report_json["sources"]["telnyx"]
    assert source["verdict"] == "flagged" and source["score"] == 91
    (tmp_path / "report.txt").write_text(text)  # for the docs' sample

    outputs = checked.output + json.dumps(status) + text + json.dumps(report_json)
    outputs += second.output + listed.output
    assert KEY not in outputs
    files = sorted(tmp_path.glob("cidrep.db*"))
    assert files and files[0].stat().st_size > 0
    assert all(KEY.encode() not in p.read_bytes() for p in files)


# --- docs ------------------------------------------------------------------------------


def test_docs_example_config_lists_every_option_and_is_valid_uncommented(tmp_path):
    import re

    from cidrep.config import load_config

    page = (PLUGIN_DIR.parent.parent / "docs" / "sources" / "telnyx.md").read_text()
    block = page.split("## Example config", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    options = set(re.findall(r"^# ([a-z_]+) = ", block, re.M))
    assert options == set(TelnyxSettings.model_fields)
    text = "\n".join(re.sub(r"^# ([a-z_]+ = .*)$", r"\1", line) for line in block.splitlines())
    config = tmp_path / "example.toml"
    config.write_text(text)
    config.chmod(0o600)
    s = load_config(config, {"telnyx": TelnyxChecker}).settings.source("telnyx")
    defaults = TelnyxSettings()
    for name in TelnyxSettings.model_fields:
        if name not in ("api_key", "daily_budget", "confirm_after", "recover_after"):  # unset
            assert getattr(s, name) == getattr(defaults, name), name
    assert TelnyxChecker(s).preflight() == "no api_key configured"
