"""Property tests: no body makes the ``fcc`` checker crash or invent a verdict.

- ``schema.parse_page`` on any JSON (or any text) returns rows or raises
  ``MalformedPage``, nothing else;
- ``lookup`` over any answer (status and body) returns exactly one observation per
  number, ``unknown`` outside NANP, and a verdict for a NANP number only when the body
  was a valid page of groups for the numbers asked;
- a valid grouped answer gives the same observation as the row-level rule over the
  complaints it aggregates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import httpx
from fixtures_fcc import NOW, A, B, grouped, row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cidrep.contract import Complaint, ComplaintRule, Observation, Verdict, assess_complaints
from cidrep_plugins.fcc import schema
from cidrep_plugins.fcc.checker import FccChecker, FccSettings

FOREIGN = "+442079460123"
NUMBERS = [FOREIGN, A, B]
ASKED = {"2025550143", "3125550188"}
STATUSES = [200, 200, 200, 202, 400, 401, 403, 404, 410, 500]
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cut(text: str, limit: int) -> str:
    return FccChecker(FccSettings()).excerpt(text, limit)


class FakeHttp:
    """An ``Http`` that answers every request with one canned response (no retries)."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body
        self.calls = 0

    async def get(self, url: str, *, params: Any = None, headers: Any = None) -> httpx.Response:
        self.calls += 1
        return httpx.Response(self.status, content=self.body)

    def stream(self, url: str, **kwargs: Any) -> Any:  # pragma: no cover - unused
        raise NotImplementedError


def run_lookup(numbers: Sequence[str], http: FakeHttp, **overrides: object) -> list[Observation]:
    checker = FccChecker(FccSettings(**overrides))
    checker.clock = lambda: NOW
    return list(asyncio.run(checker.lookup(numbers, http)))


# --- strategies ----------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
FIELDS = [
    "caller_id_number",
    "advertiser_business_phone_number",
    "issue",
    "type_of_call_or_messge",
    "day",
    "n",
]
good_cells = {
    "caller_id_number": st.sampled_from(["202-555-0143", "312-555-0188", "None", "1-202-555-0143"]),
    "advertiser_business_phone_number": st.sampled_from(["312-555-0188", "617-555-0121", ""]),
    "issue": st.sampled_from(["Robocalls", "Telemarketing", " ", "Junk Faxes"]),
    "type_of_call_or_messge": st.sampled_from(["Prerecorded Voice", "Live Voice"]),
    "day": st.dates(date(2023, 6, 3), date(2024, 6, 1)).map(lambda d: f"{d}T00:00:00.000"),
    "n": st.integers(1, 50).map(str),
}
# rows that look like groups, each cell either well-formed, absent, or arbitrary JSON
row_like = st.fixed_dictionaries(
    {},
    optional={
        name: st.one_of(strategy, strategy, json_values) for name, strategy in good_cells.items()
    },
)
valid_rows = st.fixed_dictionaries(
    {"day": good_cells["day"], "n": good_cells["n"], "caller_id_number": st.just("202-555-0143")},
    optional={k: v for k, v in good_cells.items() if k not in ("day", "n", "caller_id_number")},
)
bodies = st.one_of(
    json_values.map(json.dumps),
    st.lists(row_like, max_size=5).map(json.dumps),
    st.lists(valid_rows, max_size=5).map(json.dumps),
    st.text(max_size=60),
).map(str.encode) | st.binary(max_size=60)


def page_is_valid(body: bytes) -> bool:
    """The oracle: a valid page of groups, each naming a number asked."""
    try:
        groups = schema.parse_page(body, cut)
    except schema.MalformedPage:
        return False
    return all(group.numbers() & ASKED for group in groups)


# --- properties ----------------------------------------------------------------------


@PROPERTY
@given(json_values | st.lists(row_like, max_size=6))
def test_parse_page_gives_rows_or_malformed_page(value):
    try:
        groups = schema.parse_page(json.dumps(value), cut)
    except schema.MalformedPage as exc:
        reason = str(exc)
        assert reason and "\n" not in reason and len(reason) < 120
        return
    assert isinstance(value, list) and len(groups) == len(value)
    for group, item in zip(groups, value, strict=True):
        assert isinstance(item, dict) and isinstance(item["day"], str)
        assert isinstance(item["n"], str) and group.n == int(item["n"]) >= 1
        for name in FIELDS[:4]:
            assert item.get(name) is None or isinstance(item[name], str)


@PROPERTY
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_parse_page_on_any_text(body):
    with contextlib.suppress(schema.MalformedPage):
        schema.parse_page(body, cut)


@PROPERTY
@given(st.sampled_from(STATUSES), bodies)
def test_lookup_gives_one_observation_per_number_and_verdicts_only_from_valid_pages(status, body):
    http = FakeHttp(status, body)
    result = run_lookup(NUMBERS, http, page_size=1000)
    assert [o.number for o in result] == NUMBERS
    assert result[0].verdict is Verdict.UNKNOWN
    valid = status == 200 and page_is_valid(body)
    for obs in result[1:]:
        if valid:
            assert obs.verdict in (Verdict.CLEAN, Verdict.FLAGGED), obs
        else:
            assert obs.verdict is Verdict.ERROR, obs
            assert obs.error and "\n" not in obs.error


complaint_rows = st.lists(
    st.builds(
        lambda i, days, who, issue, kind: row(
            f"r{i}",
            f"{NOW.date() - timedelta(days=days)}T00:00:00.000",
            caller=who[0],
            advertiser=who[1],
            issue=issue,
            call_type=kind,
        ),
        st.integers(0, 10**6),
        st.integers(0, 364),
        st.sampled_from(
            [
                ("202-555-0143", None),
                ("202-555-0143", "202-555-0143"),
                ("None", "312-555-0188"),
                ("202-555-0143", "312-555-0188"),
            ]
        ),
        st.sampled_from(["Robocalls", "Telemarketing", None]),
        st.sampled_from(["Prerecorded Voice", "Live Voice", None]),
    ),
    max_size=40,
)


@PROPERTY
@given(complaint_rows, st.integers(1, 5))
def test_grouped_answer_matches_the_row_level_rule(rows, minimum):
    http = FakeHttp(200, json.dumps(grouped(rows)).encode())
    result = run_lookup([A, B], http, flag_min_complaints=minimum)
    rule = ComplaintRule(minimum, 90)
    for obs, dashed in zip(result, ["202-555-0143", "312-555-0188"], strict=True):
        complaints = [
            Complaint(
                date.fromisoformat(r["issue_date"][:10]),
                r.get("issue"),
                None
                if "issue" not in r and "type_of_call_or_messge" not in r
                else "Prerecorded" in r.get("type_of_call_or_messge", "")
                or "Robocall" in r.get("issue", ""),
            )
            for r in rows
            if dashed in (r.get("caller_id_number"), r.get("advertiser_business_phone_number"))
        ]
        expected = assess_complaints(obs.number, complaints, NOW, rule)
        assert (obs.verdict, obs.label, obs.category) == (
            expected.verdict,
            expected.label,
            expected.category,
        )
        assert obs.evidence == {**expected.evidence, "lookback_days": 365}
