"""Canned FCC Socrata answers (reference/sources.md §2) with fictional 555-01XX numbers.

Rows keep the real column names (including the FCC's ``type_of_call_or_messge``
misspelling); every value is a string and null cells are omitted, as Socrata does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

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
