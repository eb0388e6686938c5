"""Truthful state under faults for the ``fcc`` checker (respx-mocked Socrata).

Each test pins one rule: a heavy number does not fail its batch; page overflow bisects
down to the one number that alone overflows; non-NANP numbers stay ``unknown`` when a
batch fails; a malformed answer is an error, never a verdict; server text is redacted
before it is cut.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest
import respx
from fixtures_fcc import ENDPOINT, NOW, ROBOCALLS, TELEMARKETING, A, B, C, FakeSocrata, group, row

from cidrep.contract import Observation, Verdict
from cidrep.runner.http import HttpSession
from cidrep_plugins.fcc.checker import FccChecker, FccSettings

TOKEN = "tok-Zq8sekrit-4711"
FAST = {"backoff_initial": "0.01s", "backoff_max": "0.05s", "rate_limit": "1000/s"}
FOREIGN = "+442079460123"
FIFTY = [f"+1202555{100 + i:04}" for i in range(50)]  # fictional 202-555-0100..0149


def make_settings(**overrides: object) -> FccSettings:
    return FccSettings(**{**FAST, "max_attempts": 2, **overrides})


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


def no_token_prefix(message: str, token: str = TOKEN) -> bool:
    """True when no prefix of ``token`` of 6 or more characters appears in ``message``."""
    return all(token[:size] not in message for size in range(6, len(token) + 1))


@pytest.fixture
def api():
    with respx.mock(assert_all_called=False) as router:
        yield router


def dashed(e164: str) -> str:
    return f"{e164[2:5]}-{e164[5:8]}-{e164[8:]}"


# --- a heavy number no longer fails its batch -----------------------------------------


def test_batch_of_50_with_a_20000_complaint_number_is_all_assessed(api):
    heavy = A  # 202-555-0143, one of the fifty
    rows = [
        row(
            f"h{i}",
            f"2024-{1 + i % 5:02}-{1 + i % 28:02}T00:00:00.000",
            issue=(ROBOCALLS, TELEMARKETING)[i % 2],
        )
        for i in range(20_000)
    ]
    rows += [row(f"o{i}", "2024-05-20", caller=dashed(n)) for i, n in enumerate(FIFTY[:10])]
    fake = FakeSocrata(rows)
    route = api.get(ENDPOINT).mock(side_effect=fake)
    result = lookup(FIFTY)
    assert route.call_count == 1  # a few hundred groups: one page of counts
    assert [o.number for o in result] == FIFTY
    assert all(o.verdict in (Verdict.CLEAN, Verdict.FLAGGED) for o in result)
    by_number = {o.number: o for o in result}
    assert by_number[heavy].evidence["complaints"] == 20_000
    assert by_number[heavy].verdict is Verdict.FLAGGED
    assert [by_number[n].evidence["complaints"] for n in FIFTY[:10]] == [1] * 10
    assert sum(o.verdict is Verdict.CLEAN for o in result) == 39


def test_page_overflow_bisects_down_to_the_heavy_number(api):
    numbers = FIFTY[40:48]  # eight numbers; A (0143) is the fourth
    heavy = A
    rows = [row(f"h{day}", f"2024-05-{day:02}") for day in range(1, 11)]  # ten groups
    rows += [row(f"o{i}", "2024-05-20", caller=dashed(n)) for i, n in enumerate(numbers)]
    # one complaint names the heavy number and a light one: the light one still gets it
    rows.append(row("both", "2024-05-21", caller=dashed(heavy), advertiser=dashed(numbers[0])))
    fake = FakeSocrata(rows)
    api.get(ENDPOINT).mock(side_effect=fake)
    result = lookup(numbers, make_settings(page_size=3, max_pages=2, batch_size=8))
    by_number = {o.number: o for o in result}
    assert [o.number for o in result] == numbers
    failed = [o.number for o in result if o.verdict is Verdict.ERROR]
    assert failed == [heavy]
    assert "for this number alone" in (by_number[heavy].error or "")
    assert "sources.fcc.max_pages" in (by_number[heavy].error or "")
    for number in numbers:
        if number != heavy:
            expected = 2 if number == numbers[0] else 1
            assert by_number[number].evidence["complaints"] == expected, number
            assert by_number[number].verdict is Verdict.FLAGGED
    # halves, first half first, down to the heavy number alone
    batches = [tuple(n[-4:] for n in asked) for asked in dict.fromkeys(map(tuple, fake.asked))]
    assert batches == [
        ("0140", "0141", "0142", "0143", "0144", "0145", "0146", "0147"),
        ("0140", "0141", "0142", "0143"),
        ("0140", "0141"),
        ("0142", "0143"),
        ("0142",),
        ("0143",),
        ("0144", "0145", "0146", "0147"),
    ]


def test_overflow_of_two_heavy_numbers_fails_only_those(api):
    numbers = [A, B, C]
    rows = [row(f"a{d}", f"2024-05-{d:02}") for d in range(1, 6)]
    rows += [row(f"b{d}", f"2024-05-{d:02}", caller=dashed(B)) for d in range(1, 6)]
    rows.append(row("c1", "2024-05-20", caller=dashed(C)))
    api.get(ENDPOINT).mock(side_effect=FakeSocrata(rows))
    result = lookup(numbers, make_settings(page_size=2, max_pages=2))
    assert [o.verdict for o in result] == [Verdict.ERROR, Verdict.ERROR, Verdict.FLAGGED]


# --- non-NANP numbers stay unknown when a batch fails ---------------------------------


def test_non_nanp_is_unknown_and_nanp_errors_when_the_batch_fails(api):
    api.get(ENDPOINT).respond(500, text="boom")
    result = lookup([FOREIGN, A, B])
    assert [o.number for o in result] == [FOREIGN, A, B]
    assert [o.verdict for o in result] == [Verdict.UNKNOWN, Verdict.ERROR, Verdict.ERROR]
    assert result[0].evidence == {"reason": "FCC complaint data covers US/NANP numbers only"}
    assert result[1].error == result[2].error and "500" in (result[1].error or "")


def test_one_failed_batch_leaves_the_other_batches_assessed(api):
    def answer(request: httpx.Request) -> httpx.Response:
        if "312-555-0188" in request.url.params["$where"]:
            return httpx.Response(403, json={"message": "nope"})
        return httpx.Response(200, json=[group("2024-05-20", caller="617-555-0121")])

    api.get(ENDPOINT).mock(side_effect=answer)
    result = lookup([FOREIGN, B, C], make_settings(batch_size=1))
    assert [o.verdict for o in result] == [Verdict.UNKNOWN, Verdict.ERROR, Verdict.FLAGGED]
    assert "HTTP 403" in (result[1].error or "")


# --- malformed answers never become verdicts ------------------------------------------

GOOD = group("2024-05-20")


def _with(**cells: object) -> dict[str, object]:
    return {**GOOD, **cells}


def _without(name: str) -> dict[str, object]:
    return {k: v for k, v in GOOD.items() if k != name}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        # the hostile stand-in of the issue: row-level answers with type-confused cells
        (
            {"issue_date": 1700000000000, "caller_id_number": "202-555-0143"},
            "row 2 has no 'day'",
        ),
        (_with(day=1700000000000), "row 2: 'day' is a number, not a string"),
        (_with(caller_id_number=2025550143), "row 2: 'caller_id_number' is a number"),
        (_with(advertiser_business_phone_number={"p": 1}), "is an object, not a string"),
        (_with(n={"count": 3}), "row 2: 'n' is an object, not a string"),
        (_with(n=3), "row 2: 'n' is a number, not a string"),
        (_with(n="3.0"), "row 2: 'n' is not a count"),
        (_with(n="0"), "row 2: 'n' is not a count"),
        (_with(n="-1"), "row 2: 'n' is not a count"),
        (_with(n="١٢"), "row 2: 'n' is not a count"),  # non-ASCII digits
        (_with(n="9" * 40), "row 2: 'n' is not a count"),
        (_with(n=None), "row 2: 'n' is null, not a string"),
        (_without("n"), "row 2 has no 'n'"),
        (_with(day="05/20/2024"), "row 2: 'day' is not a date"),
        (_with(day=None), "row 2: 'day' is null, not a string"),
        (_with(issue=["Robocalls"]), "row 2: 'issue' is an array, not a string"),
        (_with(type_of_call_or_messge=True), "'type_of_call_or_messge' is a boolean"),
    ],
)
def test_type_confused_rows_give_errors_for_the_whole_batch(api, bad, reason):
    api.get(ENDPOINT).respond(json=[GOOD, bad])
    result = lookup([FOREIGN, A, B, C])
    assert result[0].verdict is Verdict.UNKNOWN
    for obs in result[1:]:
        assert obs.verdict is Verdict.ERROR, obs
        assert obs.error is not None and obs.error.startswith("FCC returned a malformed response: ")
        assert reason in obs.error
        assert "\n" not in obs.error and len(obs.error) < 160


def test_hostile_row_level_answer_is_not_a_false_clean(api):
    # "0 complaints, 3 undated" used to come back as clean for all of them
    hostile = [
        {"issue_date": 1700000000000, "caller_id_number": "202-555-0143", "issue": "Robocalls"},
        {"issue_date": "2024-05-01", "caller_id_number": 3125550188},
        {"issue_date": "2024-05-01", "caller_id_number": {"n": "617-555-0121"}},
    ]
    api.get(ENDPOINT).respond(json=hostile)
    assert all(o.verdict is Verdict.ERROR for o in lookup([A, B, C]))


def test_extra_keys_and_explicit_nulls_in_optional_cells_are_fine(api):
    api.get(ENDPOINT).respond(
        json=[_with(issue=None, type_of_call_or_messge=None, extra={"x": [1]}, city="X")]
    )
    [obs] = lookup([A])
    assert obs.verdict is Verdict.FLAGGED and obs.evidence["robocall"] is False


# --- redact first, then cut -----------------------------------------------------------


def test_non_json_200_echoing_the_token_is_redacted_before_the_cut(api):
    # the token straddles the 40-character excerpt: cutting first leaked its prefix
    api.get(ENDPOINT).respond(200, text="x" * 20 + TOKEN + "y" * 60)
    [obs] = lookup([A], make_settings(app_token=TOKEN))
    assert obs.verdict is Verdict.ERROR and obs.error is not None
    assert "not JSON" in obs.error and "***" in obs.error
    assert no_token_prefix(obs.error), obs.error


@pytest.mark.parametrize("status", [400, 401, 403, 410])
def test_error_message_echoing_the_token_is_redacted_before_the_cut(api, status):
    # the token straddles the 100-character message excerpt
    body = {"code": "query.soql.type-mismatch", "message": "m" * 90 + " " + TOKEN + " tail"}
    api.get(ENDPOINT).respond(status, json=body)
    [obs] = lookup([A], make_settings(app_token=TOKEN, max_attempts=1))
    assert obs.verdict is Verdict.ERROR and obs.error is not None
    assert "***" in obs.error, obs.error
    assert no_token_prefix(obs.error), obs.error


def test_error_code_echoing_the_token_is_redacted(api):
    api.get(ENDPOINT).respond(400, json={"errorCode": "c" * 50 + TOKEN, "message": "bad"})
    [obs] = lookup([A], make_settings(app_token=TOKEN))
    assert obs.error is not None and no_token_prefix(obs.error), obs.error
