"""Pure helpers for the FCC consumer-complaints dataset on Socrata (SODA 2.x).

Nothing here does I/O, so every rule is unit-testable without HTTP:

- phone numbers are sent as ``NNN-NNN-NNNN`` (the form the FCC stores) and read back
  leniently (``"None"``, bare digits or a leading ``1`` also occur in old rows);
- the ``$where`` clause asks both phone columns in one query per batch and bounds
  ``issue_date`` to the lookback window, so a batch costs one request per 1000 rows
  rather than one per number;
- a page must be a JSON array of objects; anything else is a malformed answer, never
  "no complaints" (reading an error page as an empty result would report a false clean);
- error bodies carry a SoQL code (``code`` or ``errorCode``) and a ``message``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

# The Socrata "4x4" dataset identifier, e.g. ``3xyp-aqkj``.
DATASET_ID = re.compile(r"[a-z0-9]{4}-[a-z0-9]{4}")

CALLER_COLUMN = "caller_id_number"
ADVERTISER_COLUMN = "advertiser_business_phone_number"
DATE_COLUMN = "issue_date"
ISSUE_COLUMN = "issue"
CALL_TYPE_COLUMN = "type_of_call_or_messge"  # sic: the FCC's own spelling
ROW_ID = ":id"

# Only what a verdict needs: less data per page, and no complainant location.
SELECT_COLUMNS: tuple[str, ...] = (
    ROW_ID,
    DATE_COLUMN,
    ISSUE_COLUMN,
    CALLER_COLUMN,
    ADVERTISER_COLUMN,
    CALL_TYPE_COLUMN,
)

EXCERPT_CHARS = 100
_PHONE_SEPARATORS = re.compile(r"[\s().+\-]")
_ISSUE_DATE = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


class MalformedPage(ValueError):
    """A response body that is not a Socrata row list; the message is a short reason."""


def dashed(digits: str) -> str:
    """``2025550143`` -> ``202-555-0143``: the FCC's stored phone format."""
    if len(digits) != 10 or not digits.isdigit():
        raise ValueError(f"expected 10 digits, got {digits!r}")
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def soql_string(value: str) -> str:
    """Quote ``value`` as a SoQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def since_timestamp(now: datetime, lookback_days: int) -> str:
    """Floating timestamp of the first day of the lookback window (UTC days).

    The window ends today and covers ``lookback_days`` whole days, the same convention
    as the flag window in ``cidrep.complaints``, so equal settings mean equal windows.
    Midnight keeps the query identical all day long.
    """
    first = now.astimezone(UTC).date() - timedelta(days=lookback_days - 1)
    return f"{first.isoformat()}T00:00:00"


def build_where(numbers: Iterable[str], since: str) -> str:
    """SoQL ``$where`` matching any of ``numbers`` (dashed) in either phone column.

    ``(caller_id_number in (...) OR advertiser_business_phone_number in (...))
    AND issue_date >= '<since>'``. Rows without an ``issue_date`` never match, which
    is fine: an undated complaint cannot be placed in any window.
    """
    values = ", ".join(soql_string(n) for n in numbers)
    if not values:
        raise ValueError("no numbers to query")
    return (
        f"({CALLER_COLUMN} in ({values}) OR {ADVERTISER_COLUMN} in ({values})) "
        f"AND {DATE_COLUMN} >= {soql_string(since)}"
    )


def build_params(numbers: Iterable[str], since: str, limit: int, offset: int) -> dict[str, str]:
    """Query parameters for one page, ordered by ``:id`` so offsets are stable."""
    return {
        "$select": ", ".join(SELECT_COLUMNS),
        "$where": build_where(numbers, since),
        "$order": ROW_ID,
        "$limit": str(limit),
        "$offset": str(offset),
    }


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Whitespace-collapsed text capped at ``limit`` characters (``...`` when cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def _decode(body: bytes | str) -> str:
    return body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body


def parse_page(body: bytes | str) -> list[dict[str, Any]]:
    """Decode one page: a JSON array of objects, else ``MalformedPage``.

    The reason never quotes more than ``EXCERPT_CHARS`` characters of the body.
    """
    text = _decode(body)
    try:
        data = json.loads(text)
    except ValueError:
        shown = excerpt(text, 40)
        raise MalformedPage(f"not JSON ({shown!r})" if shown else "empty body") from None
    if not isinstance(data, list):
        raise MalformedPage(f"expected a JSON array of rows, got {json_type(data)}")
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise MalformedPage(f"row {index + 1} is {json_type(row)}, not an object")
    return data


def phone_digits(cell: object) -> str | None:
    """A phone cell as 10 NANP digits, or None when it holds no usable number.

    Accepts ``202-555-0143``, ``2025550143``, ``1-202-555-0143``, ``(202) 555-0143``;
    ``"None"``, a missing cell, extensions and foreign numbers give None.
    """
    if not isinstance(cell, str):
        return None
    digits = _PHONE_SEPARATORS.sub("", cell)
    if not digits.isdigit():
        return None
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else None


def row_numbers(row: dict[str, Any]) -> set[str]:
    """The distinct 10-digit numbers a row names in either phone column."""
    cells = (row.get(CALLER_COLUMN), row.get(ADVERTISER_COLUMN))
    return {digits for digits in map(phone_digits, cells) if digits is not None}


def parse_issue_date(cell: object) -> date | None:
    """``2016-05-01T00:00:00.000`` (or a bare date) -> date; None if absent or unreadable."""
    if not isinstance(cell, str):
        return None
    match = _ISSUE_DATE.fullmatch(cell.strip())
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def row_key(row: dict[str, Any]) -> str | None:
    """The row's Socrata identifier (``:id``, else the FCC ticket ``id``), if any."""
    for key in (ROW_ID, "id"):
        value = row.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def is_robocall(row: dict[str, Any]) -> bool | None:
    """True when the call type says prerecorded or the issue says robocall.

    None when the row has neither column, so a missing field is not read as "no".
    """
    call_type, issue = row.get(CALL_TYPE_COLUMN), row.get(ISSUE_COLUMN)
    if not isinstance(call_type, str) and not isinstance(issue, str):
        return None
    prerecorded = isinstance(call_type, str) and "prerecorded" in call_type.lower()
    robocall = isinstance(issue, str) and "robocall" in issue.lower()
    return prerecorded or robocall


def error_detail(body: bytes | str) -> tuple[str | None, str | None]:
    """``(code, message)`` from a Socrata error body; either may be None.

    SODA 2.x uses ``code``; newer endpoints use ``errorCode``. The message is capped.
    """
    try:
        data = json.loads(_decode(body))
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    code = next(
        (v for k in ("code", "errorCode") if isinstance(v := data.get(k), str) and v.strip()),
        None,
    )
    message = data.get("message")
    if not isinstance(message, str) or not message.strip():
        message = None
    return (
        excerpt(code, 60) if code else None,
        excerpt(message) if message else None,
    )
