"""The ``trustcall`` checker: DNCScrub TrustCall per-carrier labels against a mocked API
(respx), its pure rules (number format, answer reading, verdicts), the login ID never
leaving its host or reaching text, and one real ``cidrep check`` against a local server."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from cidrep.contract import Observation, SourceSettings, Verdict
from cidrep.runner.credentials import carries
from cidrep.runner.http import HttpSession
from cidrep_plugins.trustcall import answer
from cidrep_plugins.trustcall.answer import answered_phone, ftc_day, source_number
from cidrep_plugins.trustcall.checker import NOT_COVERED, TrustcallChecker, TrustcallSettings
from cidrep_plugins.trustcall.verdict import (
    PROCESSING,
    carrier_verdict,
    judge,
    observations,
    overall_label,
)

MODULE = "cidrep_plugins.trustcall"
KEY = "Tc7LoginIdSEKRIT0042abcdef"
HOST = "https://dataapi.dncscrub.com"
BASE = f"{HOST}/v1.5/TrustCall"
GET = f"{BASE}/Get"
A, B, C = "+17867056421", "+13862847537", "+12025550143"
A10, B10, C10 = "7867056421", "3862847537", "2025550143"
UK = "+442079460123"
FAST = {"backoff_initial": "0.01s", "backoff_max": "0.05s", "rate_limit": "1000/s"}
CARRIERS = ["Verizon", "AT&T", "T-Mobile", "RoboKiller", "Nomorobo"]
F, CL, U, E = Verdict.FLAGGED, Verdict.CLEAN, Verdict.UNKNOWN, Verdict.ERROR

# Reconstructed answers (sources.md §7e; docs.dncscrub.com "Get Spam Scores"): the real
# field names and types, made-up values.
COMPLAINT = {
    "FTCComplaintId": "79923e06b1c74d47e6ad5826b7554046",
    "Phone": A10,
    "CreatedDate": "08/15/2022 22:22:39",
    "ViolationDate": "07/29/2022 12:04:00",
    "City": "Jackson",
    "State": "New Jersey",
    "AreaCode": "732",
    "Subject": "Dropped call or no message",
    "RecordedMessageOrRobocall": "Y",
}
FLAGGED = {
    "Response": "Phone number current score",
    "Phone": A10,
    "CurrScore": "High",
    "MaxScore": "High",
    "HistoricalScore": "5",
    "VerizonScore": "Flagged",
    "ATTScore": "Flagged",
    "TMobileScore": "Clean",
    "RoboKillerStatus": "Clean",
    "NomoroboStatus": "Flagged",
    "FTCComplaints": [
        COMPLAINT,
        {
            **COMPLAINT,
            "FTCComplaintId": "a0b1",
            "CreatedDate": "03/02/2023 08:01:00",
            "Subject": "Reducing your debt (credit cards, mortgage, student loans)",
            "RecordedMessageOrRobocall": "N",
        },
    ],
}
CLEAN = {
    "Response": "Phone number current score",
    "Phone": B10,
    "CurrScore": "Clean",
    "MaxScore": "Clean",
    "HistoricalScore": "0",
    "VerizonScore": "Clean",
    "ATTScore": "Clean",
    "TMobileScore": "Clean",
    "RoboKillerStatus": "Clean",
    "NomoroboStatus": "Clean",
    "FTCComplaints": None,
}
PROCESSING_RECORD = {
    **CLEAN,
    "Response": "Phone number added to monitor",
    "Phone": C10,
    **{
        key: "Processing"
        for key in (
            "CurrScore",
            "MaxScore",
            "VerizonScore",
            "ATTScore",
            "TMobileScore",
            "RoboKillerStatus",
            "NomoroboStatus",
        )
    },
}
FLAGGED_EVIDENCE = {
    "curr_score": "High",
    "max_score": "High",
    "historical_score": 5,
    "ftc_complaints": 2,
    "ftc_robocalls": 1,
    "ftc_first_reported": "2022-08-15",
    "ftc_last_reported": "2023-03-02",
    "ftc_subjects": [
        "Dropped call or no message",
        "Reducing your debt (credit cards, mortgage, student loans)",
    ],
}
AUTH_DENIED = {"Message": "Authorization has been denied for this request."}
IIS_403 = (
    "<!DOCTYPE html><html><head><title>403 - Forbidden: Access is denied.</title></head>"
    "<body><h2>You do not have permission to view this directory or page.</h2></body></html>"
)


def make_settings(**overrides: object) -> TrustcallSettings:
    return TrustcallSettings(**{**FAST, "max_attempts": 3, "login_id": KEY, **overrides})


def lookup(
    numbers: Sequence[str],
    settings: TrustcallSettings | None = None,
    session: HttpSession | None = None,
) -> list[Observation]:
    checker = TrustcallChecker(settings or make_settings())

    async def go() -> list[Observation]:
        http = session or HttpSession("trustcall", checker.settings)
        try:
            return list(await checker.lookup(numbers, http))
        finally:
            await http.aclose()

    return asyncio.run(go())


def keyed(result: Sequence[Observation]) -> dict[tuple[str, str | None], Observation]:
    """Observations by (number, carrier); no pair twice."""
    found = {(o.number, o.carrier): o for o in result}
    assert len(found) == len(result), result
    return found


def verdicts(result: Sequence[Observation], number: str) -> dict[str | None, Verdict]:
    return {o.carrier: o.verdict for o in result if o.number == number}


def failed_all(result: Sequence[Observation], numbers: Sequence[str]) -> str:
    """Every number has exactly one observation, the same one-line error, no carrier."""
    assert [o.number for o in result] == list(numbers), result
    assert all(o.verdict is E and o.carrier is None for o in result), result
    errors = {o.error for o in result}
    assert len(errors) == 1
    [error] = errors
    assert error and "\n" not in error and len(error) < 400
    return error


def leaks(text: str) -> bool:
    return KEY.lower() in text.lower() or KEY[:12].lower() in text.lower()


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


def answering(records: list[dict[str, Any]]) -> Any:
    """A respx side effect answering each GET with the records of the numbers asked."""

    def respond(request: httpx.Request) -> httpx.Response:
        asked = request.url.params["phoneList"].split(",")
        return httpx.Response(200, json=[r for r in records if r["Phone"] in asked])

    return respond


# --- registration, settings ---------------------------------------------------------


def test_registers_through_the_plugin_door(monkeypatch):
    from cidrep.plugins import DEFAULT_PLUGINS, get_checkers, reset_cache

    assert MODULE in DEFAULT_PLUGINS
    assert DEFAULT_PLUGINS.index(MODULE) < DEFAULT_PLUGINS.index("cidrep_plugins.slack")
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", MODULE)
    reset_cache()
    assert get_checkers()["trustcall"] is TrustcallChecker
    assert TrustcallChecker.name == "trustcall" and TrustcallChecker.shape == "lookup"
    assert "dataapi.dncscrub.com" in TrustcallChecker.disclosure
    assert "login ID" in TrustcallChecker.disclosure and "10 digits" in TrustcallChecker.disclosure


def test_settings_defaults_and_descriptions():
    s = TrustcallSettings()
    assert (s.base_url, s.login_id, s.batch_size, s.flag_at) == (BASE, None, 200, "high")
    assert (str(s.rate_limit), s.concurrency, s.interval.total_seconds()) == ("100/min", 1, 86400)
    assert (s.timeout.total_seconds(), int(s.max_response_bytes)) == (60, 10_000_000)
    assert s.daily_budget is None
    own = ["login_id", "batch_size", "flag_at"]
    assert all(TrustcallSettings.model_fields[name].description for name in own)
    assert TrustcallChecker(make_settings()).batch_size == 200


@pytest.mark.parametrize(
    "bad",
    [
        {"batch_size": 0},
        {"batch_size": 201},
        {"flag_at": "low"},
        {"base_url": ""},
        {"base_url": "ftp://dataapi.dncscrub.com"},
        {"login_id": f"{KEY}\n"},  # a pasted line break
        {"login_id": "id with space"},
        {"daily_budget": 0},
        {"surprise": 1},
    ],
)
def test_settings_reject_bad_values(bad):
    with pytest.raises(ValidationError):
        TrustcallSettings(**bad)


def test_plain_source_settings_are_upgraded_keeping_what_was_set():
    checker = TrustcallChecker(SourceSettings(rate_limit="5/s", max_attempts=2))
    assert isinstance(checker.settings, TrustcallSettings)
    assert (str(checker.settings.rate_limit), checker.settings.max_attempts) == ("5/s", 2)
    assert checker.settings.base_url == BASE


def test_preflight_skips_without_a_login_id():
    assert TrustcallChecker(TrustcallSettings()).preflight() == "no login_id configured"
    assert TrustcallChecker(TrustcallSettings(login_id="")).preflight() == "no login_id configured"
    assert TrustcallChecker(make_settings()).preflight() is None


def test_without_a_login_id_nothing_is_sent(api):
    route = api.get(url__regex=r".*").respond(json=[FLAGGED])
    result = lookup([A, UK], TrustcallSettings(**FAST))
    assert route.call_count == 0
    assert keyed(result)[(UK, None)].verdict is U
    assert failed_all(result[:1], [A]) == "TrustCall: no login_id configured"


# --- answers over HTTP ----------------------------------------------------------------


def test_signal_per_carrier_and_overall(api):
    route = api.get(url__startswith=GET).mock(side_effect=answering([FLAGGED, CLEAN]))
    result = lookup([A, B])
    assert route.call_count == 1
    found = keyed(result)
    assert verdicts(result, A) == {
        None: F,
        "Verizon": F,
        "AT&T": F,
        "T-Mobile": CL,
        "RoboKiller": CL,
        "Nomorobo": F,
    }
    own = found[(A, None)]
    assert (own.label, own.category, own.score) == ("High spam score", "spam", None)
    assert own.evidence == FLAGGED_EVIDENCE
    assert own.cost_units == 1.0 and own.url is None and own.error is None
    verizon = found[(A, "Verizon")]
    assert (verizon.label, verizon.category, verizon.evidence) == (
        "Flagged",
        "spam",
        {"status": "Flagged"},
    )
    tmobile = found[(A, "T-Mobile")]
    assert (tmobile.label, tmobile.category, tmobile.evidence) == (None, None, {"status": "Clean"})
    assert all(o.cost_units == 0.0 for o in result if o.carrier is not None)
    # the overall answer comes first for each number, carriers in TrustCall's field order
    assert [o.carrier for o in result if o.number == A] == [None, *CARRIERS]


def test_clean(api):
    api.get(url__startswith=GET).respond(json=[CLEAN])
    result = lookup([B])
    assert verdicts(result, B) == {None: CL, **{c: CL for c in CARRIERS}}
    own = keyed(result)[(B, None)]
    assert own.label is None and own.category is None
    assert own.evidence == {
        "curr_score": "Clean",
        "max_score": "Clean",
        "historical_score": 0,
        "ftc_complaints": 0,
    }
    assert sum(o.cost_units for o in result) == 1.0


def test_processing_is_unknown_with_a_reason_everywhere(api):
    api.get(url__startswith=GET).respond(json=[PROCESSING_RECORD])
    result = lookup([C])
    assert verdicts(result, C) == {None: U, **{c: U for c in CARRIERS}}
    found = keyed(result)
    assert found[(C, None)].evidence["reason"] == PROCESSING
    assert found[(C, None)].evidence["curr_score"] == "Processing"
    assert found[(C, "AT&T")].evidence == {
        "status": "Processing",
        "reason": "TrustCall has not finished checking this number with AT&T (Processing)",
    }


def test_medium_flags_only_with_flag_at_medium(api):
    medium = {**CLEAN, "CurrScore": "Medium", "TMobileScore": "Flagged"}
    api.get(url__startswith=GET).respond(json=[medium])
    default = keyed(lookup([B]))
    assert default[(B, None)].verdict is CL and default[(B, None)].label == "Medium spam score"
    assert default[(B, "T-Mobile")].verdict is F  # the carrier's own flag stands
    strict = keyed(lookup([B], make_settings(flag_at="medium")))[(B, None)]
    assert (strict.verdict, strict.label, strict.category) == (F, "Medium spam score", "spam")


def test_empty_answer_answers_nothing(api):
    """No record, no observation: cidrep records "gave no answer" for those numbers."""
    route = api.get(url__startswith=GET).respond(json=[])
    result = lookup([A, UK, B])
    assert route.call_count == 1
    assert [(o.number, o.verdict) for o in result] == [(UK, U)]
    assert result[0].evidence == {"reason": NOT_COVERED}


def test_a_number_left_out_is_not_answered_the_others_are(api):
    api.get(url__startswith=GET).respond(json=[CLEAN])
    result = lookup([A, B])
    assert {o.number for o in result} == {B}


def test_records_for_numbers_not_asked_are_ignored(api):
    api.get(url__startswith=GET).respond(json=[FLAGGED, CLEAN])
    result = lookup([B])
    assert {o.number for o in result} == {B}


def test_non_nanp_numbers_are_unknown_without_a_request(api):
    route = api.get(url__regex=r".*").respond(json=[])
    result = lookup([UK, "+4930123456", "2025550143"])
    assert route.call_count == 0
    assert [(o.verdict, o.carrier, o.cost_units) for o in result] == [(U, None, 0.0)] * 3


def test_volatile_fields_do_not_change_the_observations(api):
    """Complaint ids, times of day, cities and the Response wording of Add vs Get say
    nothing new about the number: identical observations, one history row."""
    moved = copy.deepcopy(FLAGGED)
    moved["Response"] = "Phone number added to monitor"
    moved["FTCComplaints"] = [
        {**c, "CreatedDate": c["CreatedDate"][:11] + "01:02:03", "City": "Elsewhere"}
        for c in reversed(moved["FTCComplaints"])
    ]
    api.get(url__startswith=GET).mock(
        side_effect=[httpx.Response(200, json=[FLAGGED]), httpx.Response(200, json=[moved])]
    )
    first, second = lookup([A]), lookup([A])
    assert first == second
    assert "Jackson" not in json.dumps([o.evidence for o in first])


# --- the request ----------------------------------------------------------------------


def test_request_shape_digits_commas_and_the_login_header(api):
    route = api.get(url__startswith=GET).respond(json=[])
    lookup([A, UK, B, C])
    request = route.calls[0].request
    assert request.url.path == "/v1.5/TrustCall/Get"
    assert request.url.query.decode() == f"phoneList={A10},{B10},{C10}"  # literal commas
    assert request.headers["loginId"] == KEY
    assert request.headers["accept"] == "application/json"
    assert KEY not in str(request.url)


def test_batches_are_split_at_batch_size_and_the_budget(api):
    route = api.get(url__startswith=GET).respond(json=[])
    numbers = [f"+1202555{n:04d}" for n in range(5)]
    lookup(numbers, make_settings(batch_size=2))
    sizes = [len(call.request.url.params["phoneList"].split(",")) for call in route.calls]
    assert sizes == [2, 2, 1]
    assert TrustcallChecker(make_settings(daily_budget=50)).batch_size == 50
    assert TrustcallChecker(make_settings(daily_budget=0.5)).batch_size == 1
    assert TrustcallChecker(make_settings(daily_budget=500, batch_size=20)).batch_size == 20


def test_base_url_with_a_path_prefix(api):
    route = api.get(url__startswith="https://proxy.example.test/tc/Get").respond(json=[CLEAN])
    result = lookup([B], make_settings(base_url="https://proxy.example.test/tc/"))
    assert route.call_count == 1 and keyed(result)[(B, None)].verdict is CL


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_status(api, status):
    route = api.get(url__startswith=GET).respond(status, json=AUTH_DENIED)
    result = lookup([A, B, UK])
    assert route.call_count == 1  # never retried
    error = failed_all(result[:2], [A, B])
    assert error == (
        f"TrustCall rejected the login ID (HTTP {status}) (Authorization has been denied "
        "for this request.): check sources.trustcall.login_id"
    )
    assert all(o.cost_units == 0.0 for o in result)
    assert result[2].number == UK and result[2].verdict is U  # still not asked, not failed


def test_auth_failure_as_an_html_page(api):
    api.get(url__startswith=GET).respond(403, text=IIS_403, headers={"Content-Type": "text/html"})
    assert failed_all(lookup([A]), [A]) == (
        "TrustCall rejected the login ID (HTTP 403) (403 - Forbidden: Access is denied.): "
        "check sources.trustcall.login_id"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            AUTH_DENIED,
            "TrustCall refused the request (Authorization has been denied for this "
            "request.): check sources.trustcall.login_id",
        ),
        (
            {"Message": "Invalid LoginId"},
            "TrustCall refused the request (Invalid LoginId): check sources.trustcall.login_id",
        ),
        (
            {"Message": "An error has occurred."},
            "TrustCall answered with an error instead of scores: An error has occurred.",
        ),
        ({}, "TrustCall answered with an error instead of scores: no message"),
        ("Service paused", "TrustCall answered with an error instead of scores: Service paused"),
    ],
)
def test_error_object_in_a_200_is_an_error_for_the_batch(api, body, expected):
    api.get(url__startswith=GET).respond(200, json=body)
    result = lookup([A, B])
    assert failed_all(result, [A, B]) == expected
    assert all(o.cost_units == 0.0 for o in result)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            404,
            "<html><title>Not Found</title></html>",
            "TrustCall answered HTTP 404 (Not Found): check sources.trustcall.base_url",
        ),
        (
            400,
            '{"Message": "phoneList is required"}',
            "TrustCall answered HTTP 400 (phoneList is required)",
        ),
        (302, "", "TrustCall answered HTTP 302"),  # a redirect without Location
    ],
)
def test_other_statuses(api, status, body, expected):
    api.get(url__startswith=GET).respond(status, text=body)
    assert failed_all(lookup([A]), [A]) == expected


def test_throttle_retry_after_is_honoured_by_the_session(api):
    route = api.get(url__startswith=GET).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json=[FLAGGED]),
        ]
    )
    waits: list[float] = []
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    settings = make_settings()
    session = HttpSession("trustcall", settings, sleep=fake_sleep, clock=lambda: now[0])
    result = lookup([A], settings, session)
    assert route.call_count == 2 and waits == [7.0]
    assert verdicts(result, A)[None] is F


def test_throttle_exhausts_retries(api):
    route = api.get(url__startswith=GET).respond(429, json={"Message": "Too many requests"})
    result = lookup([A, B])
    assert route.call_count == 3  # max_attempts
    error = failed_all(result, [A, B])
    assert error == "throttled by dataapi.dncscrub.com (HTTP 429) after 3 attempts"
    assert all(o.cost_units == 0.0 for o in result)


def test_server_error_html_page_is_retried_then_one_line(api):
    page = "<html><head><title>500 - Internal server error.</title></head>" + "x" * 3000
    route = api.get(url__startswith=GET).respond(500, text=page)
    error = failed_all(lookup([A]), [A])
    assert route.call_count == 3
    assert error.startswith("dataapi.dncscrub.com answered HTTP 500")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (IIS_403, "an HTML page ('403 - Forbidden: Access is denied.'), not JSON"),
        ("<html><body>Service Unavailable" + "x" * 5000, "an HTML page, not JSON"),
        ("", "empty body"),
        ("   \n", "empty body"),
        ("Phone number current score", "not JSON ('Phone number current score')"),
        ("42", "expected a JSON array, got a number"),
        ("null", "expected a JSON array, got null"),
        ("[1]", "answer 1 is a number, not an object"),
        (json.dumps([CLEAN, "x"]), "answer 2 is a string, not an object"),
        (json.dumps([{**CLEAN, "Phone": None}]), "answer 1 has no readable 'Phone'"),
        (json.dumps([{**CLEAN, "Phone": "555-0143"}]), "answer 1 has no readable 'Phone'"),
        (json.dumps([{**CLEAN, "Phone": True}]), "answer 1 has no readable 'Phone'"),
        (json.dumps([{**CLEAN, "Phone": "+44 20 7946 0123"}]), "answer 1 has no readable"),
        ("[[[[[[[[[[" * 20_000, "not JSON"),  # nested past the decoder's recursion limit
    ],
)
def test_malformed_body_is_an_error_for_the_batch(api, body, reason):
    api.get(url__startswith=GET).respond(200, text=body)
    result = lookup([B, C])
    error = failed_all(result, [B, C])
    assert error.startswith(f"TrustCall returned a malformed response: {reason}"), error
    assert len(error) < 160
    assert all(o.cost_units == 1.0 for o in result)  # served: it may have been billed


def test_body_over_the_cap_is_an_error(api):
    api.get(url__startswith=GET).respond(200, text="x" * 2000)
    error = failed_all(lookup([A], make_settings(max_response_bytes="1KB")), [A])
    assert "sent more than 1 KB" in error


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            "Phone number not monitored",
            "TrustCall answered 'Phone number not monitored' instead of a score",
        ),
        ("Invalid phone number", "TrustCall answered 'Invalid phone number' instead of a score"),
        (7, "TrustCall returned a malformed answer for the number: 'Response' is a number"),
    ],
)
def test_unknown_response_values_fail_that_number_only(api, response, error):
    odd = {**FLAGGED, "Response": response}
    api.get(url__startswith=GET).respond(json=[odd, CLEAN])
    result = lookup([A, B])
    [own] = [o for o in result if o.number == A]  # no carrier verdicts from it
    assert (own.verdict, own.carrier, own.error, own.cost_units) == (E, None, error, 1.0)
    assert verdicts(result, B) == {None: CL, **{c: CL for c in CARRIERS}}


@pytest.mark.parametrize(
    ("value", "shown"), [("Low", "'Low'"), (None, "null"), (3, "a number"), ("", "''")]
)
def test_unreadable_curr_score_is_an_error_not_a_verdict(api, value, shown):
    api.get(url__startswith=GET).respond(json=[{**FLAGGED, "CurrScore": value}])
    [own] = lookup([A])
    assert own.verdict is E and own.carrier is None
    assert own.error == (
        f"TrustCall returned a malformed answer for the number: CurrScore is {shown}, "
        "not Clean, Medium, High or Processing"
    )


def test_unreadable_carrier_value_fails_that_carrier_only(api):
    api.get(url__startswith=GET).respond(json=[{**FLAGGED, "ATTScore": "Spam?", "TMobileScore": 1}])
    result = lookup([A])
    found = keyed(result)
    assert verdicts(result, A) == {
        None: F,
        "Verizon": F,
        "RoboKiller": CL,
        "Nomorobo": F,
        "AT&T": E,
        "T-Mobile": E,
    }
    assert found[(A, "AT&T")].error == (
        "TrustCall gave AT&T the value 'Spam?', not Clean, Flagged or Processing"
    )
    assert found[(A, "T-Mobile")].error == (
        "TrustCall gave T-Mobile the value a number, not Clean, Flagged or Processing"
    )


# --- quirks -----------------------------------------------------------------------------


@pytest.mark.parametrize("phone", [int(B10), "(386) 284-7537", "1" + B10, "+1 386-284-7537"])
def test_phone_written_otherwise_is_still_the_number(api, phone):
    api.get(url__startswith=GET).respond(json=[{**CLEAN, "Phone": phone}])
    assert verdicts(lookup([B]), B)[None] is CL


def test_a_single_record_not_wrapped_in_an_array(api):
    api.get(url__startswith=GET).respond(json=FLAGGED)
    assert verdicts(lookup([A]), A)[None] is F


def test_the_first_record_for_a_number_wins(api):
    api.get(url__startswith=GET).respond(json=[CLEAN, {**CLEAN, "CurrScore": "High"}])
    result = lookup([B])
    assert verdicts(result, B)[None] is CL and len(result) == 6


def test_values_in_any_case_and_with_spaces(api):
    shouting = {**FLAGGED, "CurrScore": " HIGH ", "VerizonScore": "flagged", "ATTScore": "CLEAN"}
    shouting["Response"] = "PHONE NUMBER CURRENT SCORE."
    api.get(url__startswith=GET).respond(json=[shouting])
    result = lookup([A])
    assert verdicts(result, A)[None] is F
    assert verdicts(result, A)["Verizon"] is F and verdicts(result, A)["AT&T"] is CL


def test_basic_service_without_carrier_fields_answers_overall_only(api):
    basic = {k: v for k, v in FLAGGED.items() if not k.endswith(("Score", "Status"))}
    basic.update(CurrScore="Medium", VerizonScore=None)
    api.get(url__startswith=GET).respond(json=[basic])
    [own] = lookup([A])
    assert (own.verdict, own.carrier, own.label) == (CL, None, "Medium spam score")


def test_response_absent_is_read(api):
    record = {k: v for k, v in CLEAN.items() if k != "Response"}
    api.get(url__startswith=GET).respond(json=[record])
    assert verdicts(lookup([B]), B)[None] is CL


def test_evidence_fields_of_the_wrong_type_are_left_out(api):
    odd = {**FLAGGED, "MaxScore": 3, "HistoricalScore": "9", "FTCComplaints": "none"}
    api.get(url__startswith=GET).respond(json=[odd])
    own = keyed(lookup([A]))[(A, None)]
    assert own.verdict is F and own.evidence == {"curr_score": "High"}


def test_ftc_complaints_counted_once_per_id(api):
    twice = {**FLAGGED, "FTCComplaints": [COMPLAINT, COMPLAINT, "junk", {"Subject": 5}]}
    api.get(url__startswith=GET).respond(json=[twice])
    own = keyed(lookup([A]))[(A, None)]
    assert own.evidence["ftc_complaints"] == 2  # the id once, and the one without an id
    assert own.evidence["ftc_robocalls"] == 1
    assert own.evidence["ftc_first_reported"] == own.evidence["ftc_last_reported"] == "2022-08-15"


# --- the login ID never leaks or travels ------------------------------------------------


def test_the_session_treats_the_login_header_as_a_credential():
    forms = make_settings().redactor().forms
    with_id = httpx.Request("GET", GET, headers={"loginId": KEY})
    without = httpx.Request("GET", GET, headers={"Accept": "application/json"})
    assert carries(forms, with_id, GET, None)
    assert not carries(forms, without, GET, None)


def test_login_id_is_never_sent_to_a_host_other_than_base_url(api):
    route = api.get(url__regex=r".*").respond(json=[FLAGGED])
    checker = TrustcallChecker(make_settings(base_url="https://proxy.example.test/tc"))

    async def go() -> list[Observation]:
        http = HttpSession("trustcall", make_settings())  # trusts dataapi.dncscrub.com only
        try:
            return list(await checker.lookup([A], http))
        finally:
            await http.aclose()

    result = asyncio.run(go())
    assert route.call_count == 0
    assert failed_all(result, [A]) == (
        "not sending a credential to proxy.example.test: "
        "only https://dataapi.dncscrub.com (base_url) may receive it"
    )


def test_redirect_to_another_host_is_not_followed_with_the_login_id(api):
    api.get(url__startswith=GET).respond(302, headers={"Location": "https://evil.test/Get"})
    elsewhere = api.get(url__startswith="https://evil.test/").respond(json=[FLAGGED])
    error = failed_all(lookup([A]), [A])
    assert elsewhere.call_count == 0
    assert error == (
        "dataapi.dncscrub.com redirected to another host (evil.test); "
        "not following it with credentials"
    )


def test_redirect_within_the_origin_is_followed(api):
    api.get(url__startswith=GET).respond(301, headers={"Location": "/v1.6/TrustCall/Get?x=1"})
    moved = api.get(url__startswith=f"{HOST}/v1.6/").respond(json=[FLAGGED])
    assert verdicts(lookup([A]), A)[None] is F
    assert moved.calls[0].request.headers["loginId"] == KEY


@pytest.mark.parametrize(
    "respond",
    [
        lambda: httpx.Response(401, json={"Message": f"LoginId {KEY} is not valid"}),
        lambda: httpx.Response(200, json={"Message": f"Invalid login {KEY}"}),
        lambda: httpx.Response(200, text=f"<html><title>bad {KEY}</title></html>"),
        lambda: httpx.Response(200, text=f"{KEY[:20]}"),  # a prefix of the ID, cut
        lambda: httpx.Response(200, json=[{**FLAGGED, "Response": f"no {KEY}"}]),
        lambda: httpx.Response(200, json=[{**FLAGGED, "CurrScore": KEY}]),
        lambda: httpx.Response(500, text=f"error for {KEY}"),
    ],
)
def test_login_id_in_any_server_text_never_reaches_an_observation(api, respond):
    api.get(url__startswith=GET).mock(side_effect=lambda _request: respond())
    result = lookup([A])
    assert all(o.verdict is E for o in result)
    assert not any(leaks(repr(o)) for o in result), result


def test_login_id_in_answer_fields_is_redacted(api):
    odd = {**FLAGGED, "FTCComplaints": [{**COMPLAINT, "Subject": f"Caller {KEY}"}]}
    api.get(url__startswith=GET).respond(json=[odd])
    own = keyed(lookup([A]))[(A, None)]
    assert own.evidence["ftc_subjects"] == ["Caller ***"]


def test_transport_error_quoting_the_request_is_redacted(api):
    api.get(url__startswith=GET).mock(side_effect=httpx.ConnectError(f"refused, loginId: {KEY}"))
    error = failed_all(lookup([A]), [A])
    assert error.startswith("cannot reach dataapi.dncscrub.com") and not leaks(error)


def test_settings_never_show_the_login_id():
    s = make_settings()
    assert KEY not in repr(s) and KEY not in str(s.model_dump())
    assert s.secrets() == [KEY]
    assert isinstance(s.login_id, SecretStr)


# --- cost -------------------------------------------------------------------------------


def test_cost_estimate_is_one_per_number_sent():
    checker = TrustcallChecker(make_settings())
    assert checker.cost_estimate([A]) == 1.0
    assert checker.cost_estimate([A, B, UK, "x", A]) == 2.0
    assert checker.cost_estimate([]) == 0.0


def test_cost_units_never_exceed_the_estimate(api):
    api.get(url__startswith=GET).respond(
        json=[FLAGGED, CLEAN, {**CLEAN, "Phone": C10, "CurrScore": "?"}]
    )
    numbers = [A, B, C, UK, "+12025550199"]
    result = lookup(numbers)
    per_number = {n: sum(o.cost_units for o in result if o.number == n) for n in numbers}
    assert per_number == {A: 1.0, B: 1.0, C: 1.0, UK: 0.0, "+12025550199": 0.0}
    assert sum(per_number.values()) <= TrustcallChecker(make_settings()).cost_estimate(numbers)


# --- pure rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("curr", "flag_at", "verdict"),
    [
        ("clean", "high", CL),
        ("medium", "high", CL),
        ("high", "high", F),
        ("processing", "high", U),
        ("clean", "medium", CL),
        ("medium", "medium", F),
        ("high", "medium", F),
        ("processing", "medium", U),
    ],
)
def test_judge_truth_table(curr, flag_at, verdict):
    assert judge(curr, flag_at) is verdict


@pytest.mark.parametrize(("value", "verdict"), [("clean", CL), ("flagged", F), ("processing", U)])
def test_carrier_verdict_truth_table(value, verdict):
    assert carrier_verdict(value) is verdict


@pytest.mark.parametrize(
    ("curr", "label"),
    [
        ("clean", None),
        ("medium", "Medium spam score"),
        ("high", "High spam score"),
        ("processing", None),
    ],
)
def test_overall_label(curr, label):
    assert overall_label(curr) == label


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+12025550143", "2025550143"),
        ("+18005550143", "8005550143"),
        ("+442079460123", None),
        ("+1202555014", None),
        ("+120255501433", None),
        ("12025550143", None),
        ("+1202555014\uff13", None),  # a non-ASCII (fullwidth) digit
        ("", None),
    ],
)
def test_source_number(number, expected):
    assert source_number(number) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025550143", "2025550143"),
        (2025550143, "2025550143"),
        ("12025550143", "2025550143"),
        ("(202) 555-0143", "2025550143"),
        ("202.555.0143", "2025550143"),
        ("22025550143", None),
        ("202555014", None),
        ("202-555-0143 ext 5", None),
        (True, None),
        (None, None),
        (2025550143.0, None),
    ],
)
def test_answered_phone(value, expected):
    assert answered_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("08/15/2022 22:22:39", "2022-08-15"),
        ("8/5/2022 2:02:09", "2022-08-05"),
        ("08/15/2022", "2022-08-15"),
        ("2022-08-15", None),
        ("13/45/2022 00:00:00", None),
        (None, None),
    ],
)
def test_ftc_day(value, day):
    assert ftc_day(value) == day


@given(st.from_regex(r"[2-9][0-9]{9}", fullmatch=True))
def test_number_round_trip(digits):
    assert source_number(f"+1{digits}") == digits
    assert answered_phone(digits) == answered_phone(int(digits)) == digits


flag_ats = st.sampled_from(["high", "medium"])
levels = st.sampled_from(["Clean", "Medium", "High", "Processing", "clean", "X", "", None, 1])
carrier_values = st.sampled_from(["Clean", "Flagged", "Processing", "flagged", "?", None, 0])


@given(curr=levels, carriers=st.lists(carrier_values, min_size=5, max_size=5), flag_at=flag_ats)
def test_a_record_gives_one_overall_answer_and_one_per_reported_carrier(curr, carriers, flag_at):
    item = {**CLEAN, "CurrScore": curr}
    fields = ["VerizonScore", "ATTScore", "TMobileScore", "RoboKillerStatus", "NomoroboStatus"]
    item.update(zip(fields, carriers, strict=True))
    [record] = answer.parse(json.dumps([item]), lambda text, limit: text[:limit])
    result = observations(B, record, flag_at, 1.0)
    own, rest = result[0], result[1:]
    assert own.carrier is None and own.cost_units == 1.0
    if own.verdict is E:
        assert rest == [] and own.error
        return
    assert [o.carrier for o in rest] == [
        name for name, value in zip(CARRIERS, carriers, strict=True) if value is not None
    ]
    for obs in rest:
        assert obs.cost_units == 0.0
        assert (obs.label == "Flagged") == (obs.verdict is F)
        assert (obs.verdict is E) == (obs.error is not None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
records = st.fixed_dictionaries(
    {"Phone": st.sampled_from([B10, int(B10), "x", None])},
    optional={
        "Response": st.sampled_from(["Phone number current score", "odd"]) | json_values,
        "CurrScore": levels | json_values,
        "MaxScore": levels | json_values,
        "HistoricalScore": st.sampled_from(["0", "5", 3, "9"]) | json_values,
        "TMobileScore": carrier_values | json_values,
        "FTCComplaints": st.none() | st.lists(json_values | st.just(COMPLAINT), max_size=3),
    },
)


@given(body=st.lists(records, max_size=3) | records | json_values)
def test_any_json_is_records_or_one_clear_reason(body):
    cut = TrustcallChecker(make_settings()).excerpt
    try:
        parsed = answer.parse(json.dumps(body), cut)
    except (answer.Malformed, answer.ErrorAnswer) as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for record in parsed:
        assert record.phone == B10
        for obs in observations(B, record, "high", 1.0):
            assert obs.verdict in (F, CL, U, E)
            json.dumps(obs.evidence, allow_nan=False)


# --- one real run: the CLI against a local HTTP server ------------------------------------


def _db_rows(path: Any, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return [tuple(row) for row in db.execute(sql)]


def test_cli_check_stores_per_carrier_state_against_a_local_server(tmp_path, monkeypatch):
    from clitools import cli_invoker
    from localserver import LocalServer, Reply

    # B: TrustCall's overall score is Clean, but T-Mobile labels it; C is left out.
    tmobile_only = {**CLEAN, "TMobileScore": "Flagged"}

    def get(request: Any) -> Reply:
        asked = request.query.get("phoneList", [""])[0].split(",")
        records = [r for r in (FLAGGED, tmobile_only) if r["Phone"] in asked]
        return Reply(200, json.dumps(records), {"Content-Type": "application/json"})

    cli = cli_invoker(tmp_path, monkeypatch, MODULE)
    with LocalServer() as server:
        server.route("/v1.5/TrustCall/Get", get)
        added = cli("numbers", "add", A, B, C, UK, "-l", "Sales line")
        assert added.exit_code == 0, added.output
        base = (
            f"[sources.trustcall]\nbase_url = '{server.url}/v1.5/TrustCall'\nrate_limit = '100/s'\n"
        )

        # 1. no login ID: skipped with its reason, nothing sent
        skipped = json.loads(cli("check", "--json", config_text=base).output)
        assert skipped["sources"]["trustcall"]["status"] == "skipped"
        assert "no login_id configured" in json.dumps(skipped["sources"]["trustcall"])
        assert server.requests == []

        # 2. the login ID from the environment: one request for the three NANP numbers
        monkeypatch.setenv("CIDREP_SOURCES__TRUSTCALL__LOGIN_ID", KEY)
        checked = cli("check", "--json", config_text=base)
        requests = list(server.requests)
        status = json.loads(cli("status", "--json").output)["numbers"]
        listed = cli("sources", "list")
        report = cli("report", B)

    assert len(requests) == 1, requests
    [request] = requests
    assert request.path == "/v1.5/TrustCall/Get"
    assert sorted(request.query["phoneList"][0].split(",")) == sorted([A10, B10, C10])
    sent = {name.lower(): value for name, value in request.headers.items()}
    assert sent["loginid"] == KEY
    assert checked.exit_code == 4, checked.output  # flagged, and a number without an answer

    db = tmp_path / "cidrep.db"
    lanes = _db_rows(
        db,
        """SELECT n.e164, c.carrier, c.verdict FROM carrier_state c
           JOIN numbers n ON n.id = c.number_id WHERE c.source = 'trustcall'""",
    )
    assert sorted(lanes) == sorted(
        [
            (A, carrier, v)
            for carrier, v in zip(
                CARRIERS, ["flagged", "flagged", "clean", "clean", "flagged"], strict=True
            )
        ]
        + [(B, carrier, "flagged" if carrier == "T-Mobile" else "clean") for carrier in CARRIERS]
    )
    own = dict(
        _db_rows(
            db,
            """SELECT n.e164, s.verdict FROM source_state s
               JOIN numbers n ON n.id = s.number_id WHERE s.source = 'trustcall'""",
        )
    )
    assert own[A] == "flagged"
    assert own[B] == "flagged"  # summed up: T-Mobile's flag outranks TrustCall's Clean
    assert own[UK] == "unknown"
    assert own.get(C) is None  # left out of the answer: an error, never a verdict
    errors = dict(
        _db_rows(
            db,
            """SELECT n.e164, s.last_error FROM source_state s
               JOIN numbers n ON n.id = s.number_id WHERE s.source = 'trustcall'""",
        )
    )
    assert "no answer" in (errors[C] or "")

    by_number = {row["number"]: row for row in status}
    assert by_number[A]["verdict"] == "flagged" and by_number[B]["verdict"] == "flagged"
    assert report.exit_code == 0, report.output
    assert "T-Mobile" in report.output

    outputs = [checked.output, json.dumps(status), listed.output, report.output]
    assert not any(leaks(blob) for blob in outputs)
    files = sorted(tmp_path.glob("cidrep.db*"))
    assert files and not any(leaks(p.read_bytes().decode("latin-1")) for p in files)
