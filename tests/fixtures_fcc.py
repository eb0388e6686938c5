"""Canned FCC Socrata answers (reference/sources.md §2) with fictional 555-01XX numbers.

Rows keep the real column names (including the FCC's ``type_of_call_or_messge``
misspelling); every value is a string and null cells are omitted, as Socrata does.

The checker asks for complaint COUNTS (a grouped SoQL query), so tests either answer
with ``group`` rows directly or let ``FakeSocrata`` evaluate the query over raw
``row``s the way the server would: exact match of the dashed number in either phone
column, ``issue_date`` bound, grouping by both phone columns, issue, call type and
day, ordering by the group key, ``$limit``/``$offset`` paging.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
# 365 days ending 2024-06-01 (inclusive) start on 2023-06-03 (2024 is a leap year).
SINCE = "2023-06-03T00:00:00"

ENDPOINT = "https://opendata.fcc.gov/resource/3xyp-aqkj.json"

A = "+12025550143"  # 202-555-0143
B = "+13125550188"  # 312-555-0188
C = "+16175550121"  # 617-555-0121

ROBOCALLS = "Robocalls"
TELEMARKETING = "Telemarketing (including do not call and spoofing)"


def row(
    row_id: str,
    issue_date: str | None,
    caller: str | None = "202-555-0143",
    advertiser: str | None = None,
    issue: str | None = ROBOCALLS,
    call_type: str | None = "Prerecorded Voice",
) -> dict[str, Any]:
    """One row as ``$select`` returns it; None cells are left out."""
    cells = {
        ":id": row_id,
        "issue_date": issue_date,
        "issue": issue,
        "caller_id_number": caller,
        "advertiser_business_phone_number": advertiser,
        "type_of_call_or_messge": call_type,
    }
    return {key: value for key, value in cells.items() if value is not None}


def group(
    day: str,
    n: int | str = 1,
    caller: str | None = "202-555-0143",
    advertiser: str | None = None,
    issue: str | None = ROBOCALLS,
    call_type: str | None = "Prerecorded Voice",
) -> dict[str, Any]:
    """One row of the grouped query as Socrata returns it (strings; None cells left out)."""
    cells = {
        "caller_id_number": caller,
        "advertiser_business_phone_number": advertiser,
        "issue": issue,
        "type_of_call_or_messge": call_type,
        "day": day if "T" in day else f"{day}T00:00:00.000",
        "n": str(n),
    }
    return {key: value for key, value in cells.items() if value is not None}


_KEY = ("caller_id_number", "advertiser_business_phone_number", "issue", "type_of_call_or_messge")
_WHERE = re.compile(
    r"\(caller_id_number in \((?P<a>.*?)\) OR advertiser_business_phone_number in "
    r"\((?P<b>.*?)\)\) AND issue_date >= '(?P<since>[^']*)'"
)
EXPECTED_SELECT = (
    "caller_id_number, advertiser_business_phone_number, issue, type_of_call_or_messge, "
    "date_trunc_ymd(issue_date) AS day, count(*) AS n"
)
EXPECTED_GROUP = (
    "caller_id_number, advertiser_business_phone_number, issue, type_of_call_or_messge, "
    "date_trunc_ymd(issue_date)"
)


def grouped(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Raw rows aggregated as the grouped query would, in the query's order."""
    counts: Counter[tuple[str | None, ...]] = Counter()
    for item in rows:
        if "issue_date" in item:
            day = item["issue_date"][:10] + "T00:00:00.000"
            counts[(*(item.get(k) for k in _KEY), day)] += 1
    out = []
    for key in sorted(counts, key=lambda k: tuple(v or "" for v in k)):
        cells = dict(zip((*_KEY, "day"), key, strict=True))
        out.append({k: v for k, v in cells.items() if v is not None} | {"n": str(counts[key])})
    return out


class FakeSocrata:
    """A respx side effect answering the grouped query over ``rows`` like the server."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.rows = list(rows)
        self.asked: list[list[str]] = []  # the numbers of each request, in order

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert params["$select"] == EXPECTED_SELECT
        assert params["$group"] == params["$order"] == EXPECTED_GROUP
        match = _WHERE.fullmatch(params["$where"])
        assert match and match["a"] == match["b"], params["$where"]
        numbers = re.findall(r"'([^']*)'", match["a"])
        self.asked.append(numbers)
        hits = [
            r
            for r in self.rows
            if (r.get("caller_id_number") in numbers)
            or (r.get("advertiser_business_phone_number") in numbers)
        ]
        hits = [r for r in hits if r.get("issue_date", "") >= match["since"]]
        offset, limit = int(params["$offset"]), int(params["$limit"])
        return httpx.Response(200, json=grouped(hits)[offset : offset + limit])


# Three complaints about A: two inside the 90-day flag window (which starts 2024-03-04).
FLAGGED_ROWS = [
    row("row-aaaa-0001", "2024-01-15T00:00:00.000"),
    row("row-aaaa-0002", "2024-04-02T00:00:00.000", issue=TELEMARKETING, call_type="Live Voice"),
    row("row-aaaa-0003", "2024-05-20T00:00:00.000"),
]

# Two complaints about A, both before the flag window but inside the lookback.
OLD_ROWS = [
    row("row-bbbb-0001", "2023-09-10T00:00:00.000", issue=TELEMARKETING, call_type="Live Voice"),
    row("row-bbbb-0002", "2024-01-15T00:00:00.000", issue=TELEMARKETING, call_type="Live Voice"),
]

# Socrata-style error bodies.
FORBIDDEN_BODY = {"code": "permission_denied", "error": True, "message": "Invalid app_token"}
SOQL_ERROR_BODY = {
    "code": "query.soql.no-such-column",
    "error": True,
    "message": 'No such column: foo; position: Map(row -> 1, column -> 8, line -> "foo")',
    "data": {"column": "foo", "dataset": "alpha.3xyp-aqkj"},
}
SOQL_ERROR_CODE_BODY = {
    "errorCode": "query.soql.type-mismatch",
    "message": "Type mismatch for op$>=, is number/text",
}


def dumps(value: object) -> str:
    return json.dumps(value)
