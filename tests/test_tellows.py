"""The ``tellows`` checker: respx unit tests, pure mapping tables, one CLI integration test."""

from __future__ import annotations

import asyncio
import hashlib
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
from cidrep_plugins.tellows import answer
from cidrep_plugins.tellows.checker import NO_ENTRY, NOT_E164, TellowsChecker
from cidrep_plugins.tellows.number import path_segment, same_number, to_tellows
from cidrep_plugins.tellows.settings import TellowsSettings
from cidrep_plugins.tellows.verdict import (
    SCORE_100,
    category_of,
    cidrep_score,
    judge,
    label_and_category,
    searches_bucket,
)

PLUGIN = "cidrep_plugins.tellows"
PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugins" / "tellows"

PARTNER = "acme-partner-7731"
KEY = "tk-Zq8sekrit-4711-abcdef"
KEY_MD5 = hashlib.md5(KEY.encode()).hexdigest()
SECRETS = (PARTNER, KEY, KEY_MD5)
BASE = "https://www.tellows.de"
A, B = "+12025550143", "+13125550188"
URL_A = f"{BASE}/basic/num/%2B12025550143"
URL_B = f"{BASE}/basic/num/%2B13125550188"
HTML = {"Content-Type": "text/html; charset=UTF-8"}  # how tellows serves its JSON
FAST = {"backoff_initial": "0.01s", "backoff_max": "0.05s", "rate_limit": "1000/s"}
MALFORMED = "tellows returned a malformed response: "


def tellows(score: object = "8", **fields: Any) -> str:
    """A tellows answer: the reconstructed fixture of sources.md §5 with overrides."""
    record = {
        "number": A,
        "normalizedNumber": A,
        "score": score,
        "searches": 412,
        "comments": 17,
        "location": "Washington DC",
        "callerTypes": {
            "caller": [{"name": "Telemarketer", "count": 9}, {"name": "Unknown", "count": 4}]
        },
        "callerNames": {"caller": ["ACME Solar"]},
    }
    record.update(fields)
    return json.dumps({"tellows": {k: v for k, v in record.items() if v is not None}})


def make_settings(**overrides: object) -> TellowsSettings:
    values = {**FAST, "max_attempts": 3, "partner": PARTNER, "api_key": KEY, **overrides}
    return TellowsSettings(**values)


def lookup(
    numbers: Sequence[str],
    settings: TellowsSettings | None = None,
    waits: list[float] | None = None,
) -> list[Observation]:
    checker = TellowsChecker(settings or make_settings())

    async def sleep(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)

    async def go() -> list[Observation]:
        http = HttpSession("tellows", checker.settings, sleep=sleep)
        try:
            return list(await checker.lookup(numbers, http))
        finally:
            await http.aclose()

    return asyncio.run(go())


def fail(number: str = A, settings: TellowsSettings | None = None, cost: float = 1.0) -> str:
    """The number is an error (one line, no secret, the given cost); return the message."""
    [obs] = lookup([number], settings)
    assert obs.verdict is Verdict.ERROR, obs
    assert obs.error and "\n" not in obs.error and len(obs.error) <= 300
    assert obs.cost_units == cost
    assert (obs.label, obs.category, obs.score, obs.evidence) == (None, None, None, {})
    assert not any(secret in obs.error for secret in SECRETS)
    return obs.error


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


# --- registration, settings, preflight -----------------------------------------------


def test_registers_through_the_plugin_door(monkeypatch):
    from cidrep.plugins import get_checkers, reset_cache

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", PLUGIN)
    reset_cache()
    assert get_checkers()["tellows"] is TellowsChecker
    assert TellowsChecker(make_settings()).batch_size == 1
    assert "tellows" in TellowsChecker.disclosure and "API key" in TellowsChecker.disclosure


def test_settings_defaults_and_descriptions():
    s = TellowsSettings()
    assert (s.base_url, s.partner, s.api_key, s.key_param) == (BASE, None, None, "apikey")
    assert (s.country, s.flag_min_score) == ("", 7)
    assert (str(s.rate_limit), s.concurrency) == ("1/s", 2)
    assert (s.interval.total_seconds(), s.timeout.total_seconds()) == (86400, 15)
    assert int(s.max_response_bytes) == 1_000_000 and s.daily_budget is None
    own = ["partner", "api_key", "key_param", "country", "flag_min_score"]
    assert all(TellowsSettings.model_fields[name].description for name in own)
    assert TellowsSettings(country=" US ").country == "us"


@pytest.mark.parametrize(
    "bad",
    [
        {"flag_min_score": 5},  # neutral would flag unrated numbers
        {"flag_min_score": 10},
        {"country": "usa"},
        {"key_param": "md5"},
        {"base_url": "ftp://www.tellows.de"},
        {"api_key": "key-with-newline\n"},
        {"partner": "two words"},
        {"surprise": 1},
    ],
)
def test_settings_reject_bad_values(bad):
    with pytest.raises(ValidationError):
        TellowsSettings(**bad)


def test_plain_source_settings_are_upgraded_keeping_what_was_set():
    checker = TellowsChecker(SourceSettings(rate_limit="5/s", max_attempts=2))
    assert isinstance(checker.settings, TellowsSettings)
    assert (str(checker.settings.rate_limit), checker.settings.max_attempts) == ("5/s", 2)
    assert checker.settings.base_url == BASE


@pytest.mark.parametrize(
    ("given_", "reason"),
    [
        ({}, "no partner or api_key configured"),
        ({"api_key": KEY}, "no partner configured"),
        ({"partner": PARTNER}, "no api_key configured"),
        ({"partner": "", "api_key": KEY}, "no partner configured"),  # empty env var
        ({"partner": PARTNER, "api_key": KEY}, None),
    ],
)
def test_preflight_skips_until_both_credentials_are_set(given_, reason):
    assert TellowsChecker(TellowsSettings(**given_)).preflight() == reason


def test_preflight_reads_credentials_from_the_environment(tmp_path, monkeypatch):
    from cidrep.config import load_config
    from cidrep.plugins import get_checkers, reset_cache

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", PLUGIN)
    reset_cache()
    config = tmp_path / "env.toml"
    config.write_text("")
    config.chmod(0o600)
    checkers = get_checkers()
    settings = load_config(config, checkers).settings.source("tellows")
    assert TellowsChecker(settings).preflight() == "no partner or api_key configured"
    monkeypatch.setenv("CIDREP_SOURCES__TELLOWS__PARTNER", PARTNER)
    monkeypatch.setenv("CIDREP_SOURCES__TELLOWS__API_KEY", KEY)
    settings = load_config(config, checkers).settings.source("tellows")
    assert TellowsChecker(settings).preflight() is None
    assert KEY not in repr(settings) and PARTNER not in repr(settings)


def test_unconfigured_checker_never_sends_half_a_login(api):
    route = api.get(URL_A).respond(200, text=tellows())
    [obs] = lookup([A], make_settings(partner=None))
    assert route.call_count == 0
    assert obs.verdict is Verdict.ERROR and obs.error == "tellows: no partner configured"
    assert obs.cost_units == 0


# --- verdicts ------------------------------------------------------------------------


def test_flagged_served_as_text_html(api):
    route = api.get(URL_A).respond(200, text=tellows(), headers=HTML)
    [obs] = lookup([A])
    assert route.call_count == 1
    assert obs.verdict is Verdict.FLAGGED
    assert (obs.score, obs.label, obs.category) == (88, "Telemarketer", "telemarketing")
    assert obs.evidence == {
        "tellows_score": 8,
        "comments": 17,
        "searches": "100+",
        "caller_types": {"Telemarketer": 9, "Unknown": 4},
        "caller_names": "ACME Solar",
        "location": "Washington DC",
    }
    assert obs.url == "https://www.tellows.de/num/%2B12025550143"
    assert obs.cost_units == 1 and obs.error is None


def test_clean_number(api):
    types = {"caller": [{"name": "Trustworthy number", "count": "6"}]}
    api.get(URL_A).respond(200, text=tellows(2, comments="6", callerTypes=types), headers=HTML)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.CLEAN and obs.score == 13
    assert (obs.label, obs.category) == (None, None)  # label and category only when flagged
    assert obs.evidence["caller_types"] == {"Trustworthy number": 6}
    assert obs.cost_units == 1


def test_unrated_number_is_clean_with_the_neutral_score(api):
    empty = {"tellows": {"number": A, "normalizedNumber": A, "score": 5, "searches": 0,
                         "comments": 0, "callerTypes": [], "callerNames": []}}  # fmt: skip
    api.get(URL_A).respond(200, text=json.dumps(empty), headers=HTML)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.CLEAN and obs.score == 50 and obs.label is None
    assert obs.evidence == {"tellows_score": 5, "comments": 0, "searches": "0"}


def test_flagged_without_caller_types_is_labelled_with_the_score(api):
    api.get(URL_A).respond(200, text=tellows(9, callerTypes=None, callerNames=None))
    [obs] = lookup([A])
    assert (obs.verdict, obs.score) == (Verdict.FLAGGED, 100)
    assert (obs.label, obs.category) == ("tellows score 9", "spam")


def test_caller_names_and_single_caller_fields(api):
    names = {"caller": ["ACME Solar", {"name": "Acme Inc"}]}
    body = tellows(
        7, callerNames=names, callername="Solar Co", callerTypes=None, callertype="Werbung"
    )
    api.get(URL_A).respond(200, text=body)
    [obs] = lookup([A])
    assert obs.evidence["caller_names"] == "ACME Solar; Acme Inc; Solar Co"
    assert (obs.label, obs.category) == ("Werbung", "telemarketing")


def test_flag_min_score_is_honoured(api):
    api.get(URL_A).respond(200, text=tellows(6))
    assert lookup([A])[0].verdict is Verdict.CLEAN
    assert lookup([A], make_settings(flag_min_score=6))[0].verdict is Verdict.FLAGGED


def test_unchanged_answers_give_identical_observations(api):
    """Only the search count moves between checks (ours included): one history row."""
    route = api.get(URL_A)
    route.side_effect = [
        httpx.Response(200, text=tellows(searches=412)),
        httpx.Response(200, text=tellows(searches=413)),
    ]
    assert lookup([A]) == lookup([A])


def test_404_is_no_entry_unknown_never_clean(api):
    api.get(URL_A).respond(404, text="")
    [obs] = lookup([A])
    assert obs.verdict is Verdict.UNKNOWN and obs.evidence == {"reason": NO_ENTRY}
    assert obs.score is None and obs.cost_units == 1


def test_404_web_page_is_an_error_not_unknown(api):
    api.get(URL_A).respond(404, text="<!DOCTYPE html><html><body>Not Found</body></html>")
    assert "check sources.tellows.base_url" in fail()


def test_404_speaking_of_credentials_is_an_error(api):
    api.get(URL_A).respond(404, text=f"Partner Data not correct for {KEY}")
    message = fail()
    assert message.startswith("tellows answered HTTP 404: Partner Data not correct for ***")


def test_non_e164_is_unknown_without_a_request(api):
    route = api.get(url__startswith=BASE).respond(200, text=tellows())
    [obs] = lookup(["2025550143"])
    assert route.call_count == 0
    assert obs.verdict is Verdict.UNKNOWN and obs.evidence == {"reason": NOT_E164}
    assert obs.cost_units == 0


def test_international_numbers_are_asked_too(api):
    german = "+491636209692"
    record = tellows(7, number="01636209692", normalizedNumber="+4901636209692")
    route = api.get(f"{BASE}/basic/num/%2B491636209692").respond(200, text=record)
    [obs] = lookup([german])
    assert route.call_count == 1 and obs.verdict is Verdict.FLAGGED


def test_several_numbers_keep_their_order(api):
    api.get(URL_A).respond(200, text=tellows())
    api.get(URL_B).respond(200, text=tellows(1, normalizedNumber=B))
    result = lookup([B, "bogus", A])
    assert [o.number for o in result] == [B, "bogus", A]
    assert [o.verdict for o in result] == [Verdict.CLEAN, Verdict.UNKNOWN, Verdict.FLAGGED]


# --- the request ---------------------------------------------------------------------


def test_request_shape(api):
    route = api.get(URL_A).respond(200, text=tellows())
    lookup([A])
    request = route.calls[0].request
    assert request.url.raw_path.startswith(b"/basic/num/%2B12025550143?")
    assert dict(request.url.params) == {"json": "1", "partner": PARTNER, "apikey": KEY}


def test_md5_key_and_country(api):
    route = api.get(URL_A).respond(200, text=tellows())
    lookup([A], make_settings(key_param="apikeyMd5", country="us"))
    params = dict(route.calls[0].request.url.params)
    assert params == {"json": "1", "partner": PARTNER, "apikeyMd5": KEY_MD5, "country": "us"}
    assert KEY not in str(route.calls[0].request.url)


@pytest.mark.parametrize("key_param", ["apikey", "apikeyMd5"])
def test_credentials_never_follow_a_redirect_to_another_host(api, key_param):
    api.get(URL_A).respond(302, headers={"Location": "https://evil.example/steal"})
    evil = api.get(url__startswith="https://evil.example").respond(200, text=tellows())
    message = fail(settings=make_settings(key_param=key_param), cost=0)
    assert evil.call_count == 0 and "not following it with credentials" in message


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_names_the_settings_and_never_the_key(api, status):
    api.get(URL_A).respond(status, text=f"apikey {KEY} for partner {PARTNER} is not valid")
    message = fail()
    assert message.startswith(f"tellows rejected the credentials (HTTP {status}): check ")
    assert "sources.tellows.partner" in message and "sources.tellows.api_key" in message
    assert "apikey *** for partner *** is not valid" in message


@pytest.mark.parametrize(
    "body",
    [
        "Partner Data not correct" + tellows(),  # before the JSON
        tellows() + "Partner Data not correct",  # after it
        "Partner Data not correct\n" + tellows() + "\nPartner Data not correct",
        f"Warning: apikey {KEY} expired " + tellows(),
    ],
)
def test_credential_warning_around_the_json_is_an_error_in_200(api, body):
    api.get(URL_A).respond(200, text=body, headers=HTML)
    message = fail()
    assert message.startswith('tellows did not accept the credentials ("')
    assert "check sources.tellows.partner and sources.tellows.api_key" in message


def test_other_stray_text_around_the_json_is_tolerated(api):
    notice = "<br />\n<b>Deprecated</b>: Function each() is deprecated on line 12<br />\n"
    api.get(URL_A).respond(200, text=notice + tellows() + "\n<!-- 0.02s -->", headers=HTML)
    [obs] = lookup([A])
    assert obs.verdict is Verdict.FLAGGED and obs.score == 88


def test_latin1_body_is_read(api):
    body = tellows(7, callerTypes={"caller": [{"name": "Beläst", "count": 2}]})
    api.get(URL_A).respond(200, content=body.replace("\\u00e4", "\xe4").encode("latin-1"))
    [obs] = lookup([A])
    assert obs.label == "Beläst" and obs.category == "harassment"


def test_throttle_retry_after_is_honoured(api):
    route = api.get(URL_A)
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(200, text=tellows()),
    ]
    waits: list[float] = []
    [obs] = lookup([A], make_settings(), waits)
    assert route.call_count == 2 and obs.verdict is Verdict.FLAGGED
    assert any(6.5 <= w <= 7.5 for w in waits), waits  # the server's pause, not our backoff


def test_throttle_exhausted_is_an_error_without_cost(api):
    route = api.get(URL_A).respond(429, headers={"Retry-After": "1"})
    message = fail(cost=0)
    assert route.call_count == 3 and "throttled by www.tellows.de (HTTP 429)" in message


def test_retry_after_beyond_the_ceiling_stops_the_source(api):
    route = api.get(URL_A).respond(429, headers={"Retry-After": "3600"})
    message = fail(cost=0)
    assert route.call_count == 1 and "exceeds retry_after_max" in message


def test_server_errors_and_transport_failures(api):
    api.get(URL_A).respond(503, text="upstream down")
    assert "answered HTTP 503 after 3 attempts" in fail(cost=0)
    api.get(URL_A).mock(side_effect=httpx.ConnectError("refused"))
    assert "www.tellows.de" in fail(cost=0)


def test_other_status_is_an_error_with_an_excerpt(api):
    api.get(URL_A).respond(418, text=f"teapot {KEY} " + "x" * 500)
    message = fail()
    assert message.startswith("tellows answered HTTP 418: teapot *** xxx")
    assert message.endswith("...") and len(message) < 160


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        ("   \n", "empty body"),
        ("<html><body>Service Unavailable</body></html>", "not JSON"),
        ("Partner Data not correct", "not JSON"),  # the warning alone: no JSON at all
        ('{"tellows": {"score": 8, "comments"', "the tellows JSON object does not decode"),
        ('{"error": "x", "message": "y"}', "a JSON object without 'tellows' (keys: error, m"),
        ("[1, 2]", "expected a JSON object with 'tellows', got an array"),
        ('{"tellows": [1]}', "'tellows' is an array, not an object"),
        ('{"tellows": null}', "'tellows' is null, not an object"),
        ('{"tellows": {}}', "the 'tellows' object is empty"),
        (tellows(None), "no 'score'"),
        (tellows(""), "no 'score'"),
        (tellows(0), "'score' 0 is not 1-9"),
        (tellows("10"), "'score' 10 is not 1-9"),
        (tellows("high"), "'score' is a string that is not a whole number"),
        (tellows(True), "'score' is a boolean, not a count"),
        (tellows(8.5), "'score' is a number that is not a whole number"),
        (tellows(-3), "'score' is negative"),
        (tellows(comments="many"), "'comments' is a string that is not a whole number"),
        (tellows(searches=-1), "'searches' is negative"),
        ('{"tellows": ' * 5000, "the tellows JSON object does not decode"),
        ("[" * 100_000, "not JSON"),  # nested past the decoder's recursion limit
    ],
)
def test_malformed_body_is_an_error_not_a_verdict(api, body, reason):
    api.get(URL_A).respond(200, text=body, headers=HTML)
    message = fail()
    assert message.startswith(MALFORMED + reason), message


def test_answer_for_another_number_is_an_error(api):
    api.get(URL_A).respond(200, text=tellows(normalizedNumber="+4912025550143"))
    assert fail() == "tellows answered for another number (+4912025550143); not used"


def test_hostile_echo_never_leaks_a_secret(api):
    """A server echoing every credential into every field: nothing of it survives."""
    echo = f"{PARTNER} {KEY} {KEY_MD5}"
    body = tellows(8, location=echo, callerTypes={"caller": [{"name": echo, "count": 3}]})
    api.get(URL_A).respond(200, text=body)
    checker = TellowsChecker(make_settings(key_param="apikeyMd5"))
    assert set(SECRETS) <= set(checker.settings.secrets())
    [obs] = lookup([A], checker.settings)
    # The runner redacts observations with the source's secrets (checked_observation).
    from cidrep.runner.validate import checked_observation

    stored = checked_observation(obs, A, checker.settings.redactor())
    text = json.dumps([stored.label, stored.evidence, stored.url, stored.category])
    assert not any(secret in text for secret in SECRETS)
    assert stored.label == "*** *** ***"


# --- cost ----------------------------------------------------------------------------


def test_cost_estimate_counts_numbers_that_will_be_sent():
    checker = TellowsChecker(make_settings())
    assert checker.cost_estimate([]) == 0
    assert checker.cost_estimate([A, B, "bogus"]) == 2.0


# --- pure mapping --------------------------------------------------------------------

TRUTH = {  # tellows score: (cidrep score, verdict at the default flag_min_score 7)
    1: (0, Verdict.CLEAN),
    2: (13, Verdict.CLEAN),
    3: (25, Verdict.CLEAN),
    4: (38, Verdict.CLEAN),
    5: (50, Verdict.CLEAN),
    6: (63, Verdict.CLEAN),
    7: (75, Verdict.FLAGGED),
    8: (88, Verdict.FLAGGED),
    9: (100, Verdict.FLAGGED),
}


@pytest.mark.parametrize(("score", "expected"), sorted(TRUTH.items()))
def test_score_and_verdict_truth_table(score, expected):
    assert (cidrep_score(score), judge(score, 7)) == expected
    assert SCORE_100[score] == expected[0]


@given(st.integers(1, 9), st.integers(1, 9), st.integers(6, 9))
def test_mapping_properties(a, b, flag_min):
    assert 0 <= cidrep_score(a) <= 100
    assert (a <= b) == (cidrep_score(a) <= cidrep_score(b))  # strictly monotonic
    assert cidrep_score(a) == int((a - 1) * 12.5 + 0.5)  # linear, rounded half up
    assert (judge(a, flag_min) is Verdict.FLAGGED) == (a >= flag_min)
    assert judge(a, flag_min) in (Verdict.FLAGGED, Verdict.CLEAN)


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("Telemarketer", "telemarketing"),
        ("Aggressive advertising", "telemarketing"),
        ("Werbung", "telemarketing"),
        ("Gewinnspiel", "telemarketing"),
        ("Cost trap", "scam"),
        ("Kostenfalle", "scam"),
        ("Ping call", "scam"),
        ("Teleshopping", "telemarketing"),  # not "ping"
        ("Fraud", "fraud"),
        ("Betrug", "fraud"),
        ("Robocall", "robocall"),
        ("Bandansage", "robocall"),
        ("Debt collection", "debt_collection"),
        ("Inkasso", "debt_collection"),
        ("Survey", "survey"),
        ("Harassment call", "harassment"),
        ("Telefonterror", "harassment"),
        ("Charity", "charity"),
        ("Something else", "spam"),
        (None, "spam"),
    ],
)
def test_category_of(name, category):
    assert category_of(name) == category


def _record(score: int, *types: tuple[str, int], single: str | None = None) -> answer.Record:
    return answer.Record(score=score, caller_types=types, caller_type=single)


@pytest.mark.parametrize(
    ("record", "verdict", "expected"),
    [
        (_record(8, ("Unknown", 9), ("Cost trap", 3)), Verdict.FLAGGED, ("Cost trap", "scam")),
        (_record(8, ("Unbekannt", 9)), Verdict.FLAGGED, ("tellows score 8", "spam")),
        (_record(8, ("Seriöse Nummer", 9)), Verdict.FLAGGED, ("tellows score 8", "spam")),
        (_record(8, ("Survey", 2), ("Fraud", 2)), Verdict.FLAGGED, ("Survey", "survey")),  # tie
        (_record(7, single="Werbung"), Verdict.FLAGGED, ("Werbung", "telemarketing")),
        (_record(3, ("Telemarketer", 2)), Verdict.CLEAN, (None, None)),
    ],
)
def test_label_and_category(record, verdict, expected):
    assert label_and_category(record, verdict) == expected


@pytest.mark.parametrize(
    ("searches", "bucket"),
    [
        (0, "0"),
        (1, "1+"),
        (9, "1+"),
        (10, "10+"),
        (412, "100+"),
        (413, "100+"),
        (10**6, "1000000+"),
    ],
)
def test_searches_bucket(searches, bucket):
    assert searches_bucket(searches) == bucket


def test_caller_lists_in_every_shape():
    assert answer.caller_types([]) == () and answer.caller_types("") == ()
    assert answer.caller_types({"caller": {"name": "Werbung", "count": "3"}}) == (("Werbung", 3),)
    mixed = [{"name": " Telemarketer "}, {"count": 2}, "x", {"name": "Fraud", "count": "lots"}]
    assert answer.caller_types({"caller": mixed}) == (("Telemarketer", 0), ("Fraud", 0))
    names = {"caller": ["ACME", {"name": "Acme Inc"}, {"nope": 1}, "ACME", 7]}
    assert answer.caller_names(names) == ("ACME", "Acme Inc")


PLAIN = st.text(alphabet=st.characters(blacklist_characters="{"), max_size=40).filter(
    lambda text: answer.credential_warning(" ".join(text.split())) is None
)


@given(PLAIN, PLAIN, st.integers(1, 9))
def test_json_is_found_among_harmless_stray_text(prefix, suffix, score):
    record = answer.parse(prefix + tellows(score) + suffix)
    assert record.score == score and record.comments == 17


@given(st.text(max_size=300))
def test_any_text_is_a_record_or_a_recorded_failure(text):
    try:
        record = answer.parse(text)
    except (answer.Malformed, answer.CredentialWarning):
        return
    assert 1 <= record.score <= 9


# --- E.164 conversion ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("e164", "sent", "segment"),
    [
        ("+12025550143", "+12025550143", "%2B12025550143"),
        ("+491636209692", "+491636209692", "%2B491636209692"),
        ("+442079460123", "+442079460123", "%2B442079460123"),
        ("2025550143", None, None),
        ("+0123456789", None, None),
        ("+1 202 555 0143", None, None),
        ("+1234", None, None),
        ("+1202555014312345", None, None),
        ("", None, None),
    ],
)
def test_e164_conversion(e164, sent, segment):
    assert to_tellows(e164) == sent and path_segment(e164) == segment


@pytest.mark.parametrize(
    ("reported", "e164", "same"),
    [
        ("+12025550143", A, True),
        ("12025550143", A, True),
        ("0012025550143", A, True),
        ("+1 (202) 555-0143", A, True),
        (None, A, True),
        ("", A, True),
        ("+4901636209692", "+491636209692", True),  # a trunk 0 kept after the country code
        ("01636209692", "+491636209692", True),  # national form
        ("+4912025550143", A, False),  # the digits read as a German number
        ("012025550143", A, False),
        ("+12025550144", A, False),
        ("+13125550188", A, False),
    ],
)
def test_same_number(reported, e164, same):
    assert same_number(reported, e164) is same


# --- integration: the real CLI against a local tellows ----------------------------------

FLAGGED_NUMBER, CLEAN_NUMBER, UNRATED_NUMBER = "+12025550143", "+13125550188", "+16175550121"


def _local_tellows(request: Request) -> Reply:
    """A stand-in for www.tellows.de: JSON as text/html, answers keyed by the path."""
    params = {k: v[0] for k, v in request.query.items()}
    if params.get("partner") != PARTNER or params.get("apikey") != KEY:
        return Reply(200, "Partner Data not correct" + tellows(5), HTML)
    number = "+" + request.path.rsplit("%2B", 1)[-1]
    if number == FLAGGED_NUMBER:
        return Reply(200, tellows("8", number=number, normalizedNumber=number), HTML)
    if number == CLEAN_NUMBER:
        types = {"caller": [{"name": "Trustworthy number", "count": 3}]}
        body = tellows(2, number=number, normalizedNumber=number, callerTypes=types)
        return Reply(200, body, HTML)
    return Reply(404, "", HTML)


def test_cidrep_check_against_a_local_tellows(tmp_path, monkeypatch):
    cli = cli_invoker(tmp_path, monkeypatch, PLUGIN)
    with LocalServer() as server:
        for number in (FLAGGED_NUMBER, CLEAN_NUMBER, UNRATED_NUMBER):
            server.route(f"/basic/num/%2B{number[1:]}", _local_tellows)
        config = (
            f'[sources.tellows]\nbase_url = "{server.url}"\npartner = "{PARTNER}"\n'
            f'api_key = "{KEY}"\nrate_limit = "50/s"\ndaily_budget = 100\n'
        )
        assert cli("numbers", "add", FLAGGED_NUMBER, CLEAN_NUMBER, UNRATED_NUMBER).exit_code == 0
        result = cli("check", "--json", config_text=config)
        assert result.exit_code == 1, result.output  # a flagged number
        run = json.loads(result.output)["sources"]["tellows"]
        assert run["verdicts"] == {"clean": 1, "flagged": 1, "unknown": 1, "error": 0}
        assert run["cost_units"] == 3 and run["errors"] == 0
        assert len(server.requests) == 3
        assert {r.query["json"][0] for r in server.requests} == {"1"}

        status = {
            row["number"]: row for row in json.loads(cli("status", "--json").output)["numbers"]
        }
        verdicts = {n: row["sources"]["tellows"]["verdict"] for n, row in status.items()}
        assert verdicts == {
            FLAGGED_NUMBER: "flagged",
            CLEAN_NUMBER: "clean",
            UNRATED_NUMBER: "unknown",
        }
        assert status[FLAGGED_NUMBER]["verdict_sources"] == ["tellows"]

        report = cli("report", "202-555-0143")
        assert report.exit_code == 0
        assert "tellows: flagged since" in report.output
        assert "label: Telemarketer" in report.output and "score: 88" in report.output
        rjson = json.loads(cli("report", FLAGGED_NUMBER, "--json").output)
        assert rjson["sources"]["tellows"]["evidence"]["tellows_score"] == 8

        sources = {s["name"]: s for s in json.loads(cli("sources", "list", "--json").output)}
        assert sources["tellows"]["spent_today"] == 3  # one unit per answered lookup

        # Wrong credentials: the warning in a 200 is an error, the verdicts stay.
        bad = config.replace(f'api_key = "{KEY}"', 'api_key = "wrong-key-123"')
        again = cli("check", "--force", "--json", config_text=bad)
        assert again.exit_code == 4, again.output  # still flagged, and the source failing
        failed = json.loads(again.output)["sources"]["tellows"]
        assert failed["errors"] == 3 and failed["verdicts"]["error"] == 3
        assert failed["messages"][0].startswith(
            'tellows did not accept the credentials ("Partner Data not correct")'
        )
        after = {
            row["number"]: row for row in json.loads(cli("status", "--json").output)["numbers"]
        }
        assert after[FLAGGED_NUMBER]["verdict"] == "flagged"
        assert after[FLAGGED_NUMBER]["failing"] == ["tellows"]

    outputs = result.output + report.output + again.output
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("cidrep.db*"))
    for secret in (PARTNER, KEY, "wrong-key-123"):
        assert secret not in outputs
        assert secret.encode() not in stored
    with sqlite3.connect(tmp_path / "cidrep.db") as db:
        dump = "\n".join(db.iterdump())
    assert not any(secret in dump for secret in (PARTNER, KEY, "wrong-key-123"))


def test_daily_budget_holds_back_paid_lookups(tmp_path, monkeypatch):
    cli = cli_invoker(tmp_path, monkeypatch, PLUGIN)
    with LocalServer() as server:
        for number in (FLAGGED_NUMBER, CLEAN_NUMBER):
            server.route(f"/basic/num/%2B{number[1:]}", _local_tellows)
        config = (
            f'[sources.tellows]\nbase_url = "{server.url}"\npartner = "{PARTNER}"\n'
            f'api_key = "{KEY}"\ndaily_budget = 1\nconcurrency = 1\n'
        )
        cli("numbers", "add", FLAGGED_NUMBER, CLEAN_NUMBER)
        result = cli("check", "--json", config_text=config)
        assert len(server.requests) == 1
        run = json.loads(result.output)["sources"]["tellows"]
        assert (run["checks"], run["cost_units"], run["stats"]["budget_held_back"]) == (1, 1, 1)
        assert "daily budget of 1 reached" in run["reason"]
