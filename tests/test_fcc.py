"""The ``fcc`` checker against a mocked Socrata API (respx) and its pure SoQL helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import httpx
import pytest
import respx
from fixtures_fcc import (
    ENDPOINT,
    EXPECTED_GROUP,
    EXPECTED_SELECT,
    FLAGGED_ROWS,
    FORBIDDEN_BODY,
    NOW,
    OLD_ROWS,
    ROBOCALLS,
    SINCE,
    SOQL_ERROR_BODY,
    SOQL_ERROR_CODE_BODY,
    TELEMARKETING,
    A,
    B,
    C,
    FakeSocrata,
    group,
    grouped,
    row,
)
from pydantic import ValidationError

from cidrep.contract import Observation, SourceSettings, Verdict
from cidrep.runner.http import HttpSession
from cidrep_plugins.fcc import socrata
from cidrep_plugins.fcc.checker import FccChecker, FccSettings

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugins" / "fcc"

TOKEN = "tok-Zq8sekrit-4711"
FAST = {"backoff_initial": "0.01s", "backoff_max": "0.05s", "rate_limit": "1000/s"}


def make_settings(**overrides: object) -> FccSettings:
    return FccSettings(**{**FAST, "max_attempts": 3, **overrides})


def lookup(numbers: Sequence[str], settings: FccSettings | None = None) -> list[Observation]:
    checker = FccChecker(settings or make_settings())
    checker.clock = lambda: NOW

    async def go() -> list[Observation]:
        http = HttpSession("fcc", checker.settings)
        try:
            return list(await checker.lookup(numbers, http))
        finally:
            await http.aclose()

    return asyncio.run(go())


def fail(numbers: Sequence[str], settings: FccSettings | None = None) -> str:
    """Every number is an error with the same one-line message; return that message."""
    result = lookup(numbers, settings)
    assert [o.number for o in result] == list(numbers)
    assert all(o.verdict is Verdict.ERROR for o in result), result
    messages = {o.error for o in result}
    assert len(messages) == 1
    [message] = messages
    assert message and "\n" not in message
    return message


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


# --- registration, settings ---------------------------------------------------------


def test_registers_through_the_plugin_door():
    from cidrep.plugins import get_checkers

    assert get_checkers()["fcc"] is FccChecker
    checker = FccChecker(FccSettings(batch_size=7))
    assert checker.batch_size == 7 and checker.preflight() is None
    assert "opendata.fcc.gov" in FccChecker.disclosure


def test_settings_defaults_and_descriptions():
    s = FccSettings()
    assert (s.base_url, s.dataset, s.app_token) == ("https://opendata.fcc.gov", "3xyp-aqkj", None)
    assert (s.batch_size, s.lookback_days, s.page_size, s.max_pages) == (50, 365, 1000, 10)
    assert (str(s.rate_limit), s.concurrency, s.interval.total_seconds()) == ("2/s", 2, 86400)
    assert (s.flag_min_complaints, s.flag_window_days) == (1, 90)
    own = ["dataset", "app_token", "batch_size", "lookback_days", "page_size", "max_pages"]
    assert all(FccSettings.model_fields[name].description for name in own)


@pytest.mark.parametrize(
    "bad",
    [
        {"dataset": "3xyp_aqkj"},
        {"dataset": "3xyp-aqkj.json"},
        {"batch_size": 0},
        {"batch_size": 101},
        {"page_size": 0},
        {"max_pages": 0},
        {"lookback_days": 30},  # shorter than the 90-day flag window
        {"base_url": "ftp://opendata.fcc.gov"},
        {"surprise": 1},
    ],
)
def test_settings_reject_bad_values(bad):
    with pytest.raises(ValidationError):
        FccSettings(**bad)


def test_dataset_id_is_normalised():
    assert FccSettings(dataset=" SR6C-SYDA ").dataset == "sr6c-syda"


def test_plain_source_settings_are_upgraded_keeping_what_was_set():
    checker = FccChecker(SourceSettings(rate_limit="5/s", max_attempts=2))
    assert isinstance(checker.settings, FccSettings)
    assert (str(checker.settings.rate_limit), checker.settings.max_attempts) == ("5/s", 2)
    assert checker.settings.base_url == "https://opendata.fcc.gov"


# --- verdicts -----------------------------------------------------------------------


def test_flagged_with_evidence(api):
    route = api.get(ENDPOINT).respond(json=grouped(FLAGGED_ROWS))
    [obs] = lookup([A])
    assert route.call_count == 1
    assert obs.verdict is Verdict.FLAGGED
    assert obs.label == ROBOCALLS and obs.category == "robocall"
    assert obs.evidence == {
        "complaints": 3,
        "complaints_in_window": 2,
        "window_days": 90,
        "first_reported": "2024-01-15",
        "last_reported": "2024-05-20",
        "robocall": True,
        "subjects": {ROBOCALLS: 2, TELEMARKETING: 1},
        "lookback_days": 365,
    }
    assert obs.url == f"{ENDPOINT}?caller_id_number=202-555-0143"


def test_clean_when_complaints_are_older_than_the_flag_window(api):
    api.get(ENDPOINT).respond(json=grouped(OLD_ROWS))
    [obs] = lookup([A])
    assert obs.verdict is Verdict.CLEAN and obs.label is None and obs.category is None
    assert obs.evidence["complaints"] == 2 and obs.evidence["complaints_in_window"] == 0
    assert obs.evidence["robocall"] is False
    assert obs.evidence["last_reported"] == "2024-01-15"


def test_empty_result_is_clean(api):
    api.get(ENDPOINT).respond(json=[])
    [obs] = lookup([A])
    assert obs.verdict is Verdict.CLEAN
    assert obs.evidence == {"complaints": 0, "lookback_days": 365}


def test_counts_are_multiplied_out(api):
    api.get(ENDPOINT).respond(
        json=[group("2024-05-20", n=7), group("2024-01-02", n="12", issue=TELEMARKETING)]
    )
    [obs] = lookup([A])
    assert obs.verdict is Verdict.FLAGGED
    assert (obs.evidence["complaints"], obs.evidence["complaints_in_window"]) == (19, 7)
    assert obs.evidence["subjects"] == {TELEMARKETING: 12, ROBOCALLS: 7}
    assert obs.label == ROBOCALLS  # the counted (in-window) complaints decide the label


def test_group_without_a_day_is_an_error_not_clean(api):
    no_day = {k: v for k, v in group("2024-05-20").items() if k != "day"}
    api.get(ENDPOINT).respond(json=[no_day])
    message = fail([A])
    assert message == "FCC returned a malformed response: row 1 has no 'day'"


def test_group_with_an_unreadable_day_is_an_error(api):
    api.get(ENDPOINT).respond(json=[group("2024-05-20"), group("not a date")])
    assert fail([A]) == "FCC returned a malformed response: row 2: 'day' is not a date"


def test_matches_either_column_and_credits_both_numbers(api):
    groups = [
        # caller A advertising B: one complaint about each
        group("2024-05-01", caller="202-555-0143", advertiser="312-555-0188"),
        # B only in the advertiser column, caller "None"
        group("2024-05-02", n=2, caller="None", advertiser="(312) 555-0188"),
        # A as bare digits with a leading 1, same number in both columns: counted once each
        group("2024-05-03", n=3, caller="12025550143", advertiser="202-555-0143"),
        # A with a number nobody asked about
        group("2024-05-04", caller="617-555-0121", advertiser="202-555-0143"),
    ]
    api.get(ENDPOINT).respond(json=groups)
    obs_a, obs_b = lookup([A, B])
    assert (obs_a.number, obs_b.number) == (A, B)
    assert obs_a.evidence["complaints"] == 5 and obs_a.evidence["last_reported"] == "2024-05-04"
    assert obs_b.evidence["complaints"] == 3 and obs_b.evidence["first_reported"] == "2024-05-01"
    assert obs_a.verdict is obs_b.verdict is Verdict.FLAGGED


def test_group_naming_none_of_the_asked_numbers_is_an_error(api):
    # Our $where cannot produce it: the server answered another question.
    api.get(ENDPOINT).respond(json=[group("2024-05-04", caller="617-555-0121")])
    message = fail([A, B])
    assert "row 1 names none of the numbers asked" in message


def test_non_nanp_number_is_unknown_without_a_request(api):
    route = api.get(ENDPOINT).respond(json=[])
    [obs] = lookup(["+442079460123"])
    assert route.call_count == 0
    assert obs.verdict is Verdict.UNKNOWN
    assert obs.evidence == {"reason": "FCC complaint data covers US/NANP numbers only"}


def test_mixed_batch_keeps_order_and_queries_only_nanp(api):
    route = api.get(ENDPOINT).respond(json=[group("2024-05-20")])
    result = lookup(["+442079460123", A, C])
    assert [o.number for o in result] == ["+442079460123", A, C]
    assert [o.verdict for o in result] == [Verdict.UNKNOWN, Verdict.FLAGGED, Verdict.CLEAN]
    assert route.call_count == 1
    where = route.calls[0].request.url.params["$where"]
    assert "'202-555-0143', '617-555-0121'" in where and "4420" not in where


def test_more_numbers_than_batch_size_are_split_without_double_counting(api):
    # The complaint names A and C, which land in different batches: each query returns it.
    both = row("r1", "2024-05-20", caller="202-555-0143", advertiser="617-555-0121")
    fake = FakeSocrata([both])
    route = api.get(ENDPOINT).mock(side_effect=fake)
    result = lookup([A, B, C], make_settings(batch_size=2))
    assert route.call_count == 2
    assert fake.asked == [["202-555-0143", "312-555-0188"], ["617-555-0121"]]
    assert [o.evidence["complaints"] for o in result] == [1, 0, 1]


# --- the query ----------------------------------------------------------------------


def test_query_shape_without_token(api):
    route = api.get(ENDPOINT).respond(json=[])
    lookup([A, B])
    request = route.calls[0].request
    params = request.url.params
    in_list = "('202-555-0143', '312-555-0188')"
    assert params["$where"] == (
        f"(caller_id_number in {in_list} OR advertiser_business_phone_number in {in_list}) "
        f"AND issue_date >= '{SINCE}'"
    )
    assert params["$select"] == (
        "caller_id_number, advertiser_business_phone_number, issue, type_of_call_or_messge, "
        "date_trunc_ymd(issue_date) AS day, count(*) AS n"
    )
    assert params["$select"] == EXPECTED_SELECT
    assert params["$group"] == params["$order"] == EXPECTED_GROUP
    assert (params["$limit"], params["$offset"]) == ("1000", "0")
    assert set(params) == {"$select", "$where", "$group", "$order", "$limit", "$offset"}
    assert "x-app-token" not in request.headers


def test_app_token_sent_as_header_only(api):
    route = api.get(ENDPOINT).respond(json=[])
    [obs] = lookup([A], make_settings(app_token=TOKEN))
    request = route.calls[0].request
    assert request.headers["x-app-token"] == TOKEN
    assert TOKEN not in str(request.url) and TOKEN not in (obs.url or "")


def test_url_drops_userinfo_and_query():
    s = FccSettings(base_url="https://user:pw@data.example.org:8443/soda/?x=1")
    assert FccChecker(s).number_url("2025550143") == (
        "https://data.example.org:8443/soda/resource/3xyp-aqkj.json?caller_id_number=202-555-0143"
    )


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_names_the_setting_and_never_the_token(api, status):
    body = {**FORBIDDEN_BODY, "message": f"Invalid app_token {TOKEN}"}
    api.get(ENDPOINT).respond(status, json=body)
    message = fail([A], make_settings(app_token=TOKEN))
    assert f"FCC rejected the request (HTTP {status})" in message
    assert "sources.fcc.app_token" in message and "Invalid app_token" in message
    assert TOKEN not in message


def test_soql_error_shows_code_and_message(api):
    api.get(ENDPOINT).respond(400, json=SOQL_ERROR_BODY)
    message = fail([A])
    assert message.startswith(
        "FCC rejected the query (HTTP 400, query.soql.no-such-column): No such column: foo"
    )
    assert len(message) < 200


def test_soql_error_with_error_code_key_and_echoed_token(api):
    body = {**SOQL_ERROR_CODE_BODY, "message": f"bad literal near {TOKEN}"}
    api.get(ENDPOINT).respond(400, json=body)
    message = fail([A], make_settings(app_token=TOKEN))
    assert "(HTTP 400, query.soql.type-mismatch): bad literal near ***" in message
    assert TOKEN not in message


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, "FCC dataset '3xyp-aqkj' not found (HTTP 404)"),
        (202, "FCC is still processing the query (HTTP 202); will retry next run"),
        (410, "FCC answered HTTP 410"),
    ],
)
def test_other_statuses(api, status, expected):
    api.get(ENDPOINT).respond(status, text="<html>gone</html>")
    assert fail([A]).startswith(expected)


def test_throttle_exhausts_retries(api):
    route = api.get(ENDPOINT).respond(429)
    message = fail([A])
    assert route.call_count == 3  # max_attempts
    assert "429" in message and "opendata.fcc.gov" in message


def test_throttle_then_success(api):
    route = api.get(ENDPOINT).mock(
        side_effect=[httpx.Response(429), httpx.Response(200, json=grouped(FLAGGED_ROWS))]
    )
    [obs] = lookup([A])
    assert route.call_count == 2 and obs.verdict is Verdict.FLAGGED


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<html><body>Service Unavailable" + "x" * 5000, "not JSON"),
        ("", "empty body"),
        ('{"rows": []}', "expected a JSON array of rows, got an object"),
        ('["202-555-0143", "2024-05-20"]', "row 1 is a string, not an object"),
        ('[{"issue": "Robocalls"}, null]', "row 2 is null, not an object"),
        ('[{"issue": "Robocalls"}]', "row 1 has no 'day'"),
        ("[[[[[[[[[[" * 20_000, "not JSON"),  # nested past the decoder's recursion limit
    ],
)
def test_malformed_body_is_an_error_not_clean(api, body, reason):
    api.get(ENDPOINT).respond(200, text=body)
    message = fail([A])
    assert message.startswith(f"FCC returned a malformed response: {reason}")
    assert len(message) < 160


def test_malformed_body_never_echoes_the_token(api):
    api.get(ENDPOINT).respond(200, text=f"oops {TOKEN} oops")
    message = fail([A], make_settings(app_token=TOKEN))
    assert "malformed" in message and TOKEN not in message


# --- paging -------------------------------------------------------------------------


def _paged(pages: list[list[dict[str, str]]]):
    def respond(request: httpx.Request) -> httpx.Response:
        index = int(request.url.params["$offset"]) // int(request.url.params["$limit"])
        return httpx.Response(200, json=pages[index] if index < len(pages) else [])

    return respond


def test_full_page_then_short_page(api):
    rows = [row(f"r{i}", f"2024-05-0{i}T00:00:00.000") for i in (1, 2)]
    rows.append(row("r3", "2024-05-03T00:00:00.000", caller=None, advertiser="312-555-0188"))
    route = api.get(ENDPOINT).mock(side_effect=FakeSocrata(rows))
    obs_a, obs_b = lookup([A, B], make_settings(page_size=2))
    assert [c.request.url.params["$offset"] for c in route.calls] == ["0", "2"]
    assert obs_a.evidence["complaints"] == 2 and obs_b.evidence["complaints"] == 1


def test_full_pages_then_empty_page(api):
    repeated = group("2024-05-02")  # on both pages (groups shifted): counted once
    pages = [[group("2024-05-01"), repeated], [group("2024-05-03"), repeated]]
    route = api.get(ENDPOINT).mock(side_effect=_paged(pages))
    [obs] = lookup([A], make_settings(page_size=2))
    assert route.call_count == 3
    assert obs.evidence["complaints"] == 3


def test_ignored_offset_is_detected(api):
    route = api.get(ENDPOINT).respond(json=[group("2024-05-01"), group("2024-05-02")])
    message = fail([A], make_settings(page_size=2))
    assert route.call_count == 2 and "ignored the paging offset" in message


def test_too_many_pages_for_one_number_is_an_error(api):
    def endless(request: httpx.Request) -> httpx.Response:
        day = 1 + int(request.url.params["$offset"]) // 2
        return httpx.Response(
            200, json=[group(f"2024-05-{day:02}"), group(f"2024-05-{day:02}", issue="Other")]
        )

    route = api.get(ENDPOINT).mock(side_effect=endless)
    message = fail([A], make_settings(page_size=2, max_pages=3))
    assert route.call_count == 3
    assert "more than 3 pages" in message and "this number alone" in message
    assert "max_pages" in message


# --- pure helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "digits"),
    [
        ("202-555-0143", "2025550143"),
        ("2025550143", "2025550143"),
        ("1-202-555-0143", "2025550143"),
        ("+1 (202) 555-0143", "2025550143"),
        ("None", None),
        ("", None),
        (None, None),
        (2025550143, None),
        ("202-555-0143 x12", None),
        ("44-20-7946-0123", None),
        ("22025550143", None),
    ],
)
def test_phone_digits(cell, digits):
    assert socrata.phone_digits(cell) == digits


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2016-05-01T00:00:00.000", date(2016, 5, 1)),
        ("2016-05-01", date(2016, 5, 1)),
        ("2016-05-01T13:45:00Z", date(2016, 5, 1)),
        ("2016-02-30T00:00:00.000", None),
        ("05/01/2016", None),
        (None, None),
    ],
)
def test_parse_issue_date(cell, expected):
    assert socrata.parse_issue_date(cell) == expected


def test_where_quotes_values_and_rejects_empty():
    where = socrata.build_where(["a'b"], SINCE)
    assert "in ('a''b')" in where and where.endswith(f"issue_date >= '{SINCE}'")
    with pytest.raises(ValueError):
        socrata.build_where([], SINCE)
    with pytest.raises(ValueError):
        socrata.dashed("202555014")


def cut(text: str, limit: int) -> str:
    return FccChecker(make_settings()).excerpt(text, limit)


def test_error_detail_tolerates_odd_bodies():
    assert socrata.error_detail(b"<html>", cut) == (None, None)
    assert socrata.error_detail("[1]", cut) == (None, None)
    assert socrata.error_detail("[" * 100_000, cut) == (None, None)
    code, message = socrata.error_detail('{"code": "x", "message": "%s"}' % ("m" * 500), cut)
    assert code == "x" and message is not None and len(message) == socrata.EXCERPT_CHARS


def test_is_robocall_distinguishes_missing_from_no():
    assert socrata.is_robocall("Prerecorded Voice", None) is True
    assert socrata.is_robocall("Live", "Robocalls") is True
    assert socrata.is_robocall(None, TELEMARKETING) is False
    assert socrata.is_robocall(None, None) is None
