"""Pure helpers for the FCC consumer-complaints dataset on Socrata (SODA 2.x).

Nothing here does I/O, so every rule is unit-testable without HTTP:

- phone numbers are sent as ``NNN-NNN-NNNN`` (the form the FCC stores) and read back
  leniently (``"None"``, bare digits or a leading ``1`` also occur in old rows);
- one query per batch asks both phone columns and bounds ``issue_date`` to the
  lookback window, and asks for COUNTS, not rows: complaints are grouped by both
  phone columns, issue, call type and day, so a number with 20,000 complaints costs
  a few hundred groups rather than 20 pages of rows (which used to fail its whole
  batch). Per-day counts by subject are exactly what the complaint rule needs;
- the order is every grouped expression, so ``$offset`` paging is stable;
- error bodies carry a SoQL code (``code`` or ``errorCode``) and a ``message``;
- server text quoted in an error goes through a caller-supplied ``cut`` that redacts
  the source's secrets BEFORE cutting (cutting first can leave a token's prefix that
  no longer matches the secret, and so escapes redaction).

Validating the answer's rows is ``schema``'s job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

# The Socrata "4x4" dataset identifier, e.g. ``3xyp-aqkj``.
DATASET_ID = re.compile(r"[a-z0-9]{4}-[a-z0-9]{4}")

CALLER_COLUMN = "caller_id_number"
ADVERTISER_COLUMN = "advertiser_business_phone_number"
DATE_COLUMN = "issue_date"
ISSUE_COLUMN = "issue"
CALL_TYPE_COLUMN = "type_of_call_or_messge"  # sic: the FCC's own spelling
DAY_ALIAS = "day"
COUNT_ALIAS = "n"

DAY_EXPRESSION = f"date_trunc_ymd({DATE_COLUMN})"
# What one complaint group is keyed by; only what a verdict needs (no location).
GROUP_COLUMNS: tuple[str, ...] = (
    CALLER_COLUMN,
    ADVERTISER_COLUMN,
    ISSUE_COLUMN,
    CALL_TYPE_COLUMN,
    DAY_EXPRESSION,
)
SELECT = ", ".join(
    (*GROUP_COLUMNS[:-1], f"{DAY_EXPRESSION} AS {DAY_ALIAS}", f"count(*) AS {COUNT_ALIAS}")
)
GROUP_BY = ", ".join(GROUP_COLUMNS)

EXCERPT_CHARS = 100
CODE_CHARS = 60

# ``cut(text, limit)``: ``text`` with the source's secrets redacted, then capped.
Cut = Callable[[str, int], str]

_PHONE_SEPARATORS = re.compile(r"[\s().+\-]")
_ISSUE_DATE = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


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
    """Query parameters for one page of complaint counts per (numbers, issue, type, day).

    Ordered by every grouped expression, so each group has one fixed place and
    ``$offset`` pages neither skip nor repeat groups while the data stands still.
    """
    return {
        "$select": SELECT,
        "$where": build_where(numbers, since),
        "$group": GROUP_BY,
        "$order": GROUP_BY,
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


def decode(body: bytes | str) -> str:
    """A body as text (invalid UTF-8 replaced, never an exception)."""
    return body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body


def phone_digits(cell: object) -> str | None:
    """A phone cell as 10 NANP digits, or None when it holds no usable number.

    Accepts ``202-555-0143``, ``2025550143``, ``1-202-555-0143``, ``(202) 555-0143``;
    ``"None"``, a missing cell, extensions and foreign numbers give None.
    """
    if not isinstance(cell, str):
        return None
    digits = _PHONE_SEPARATORS.sub("", cell)
    if not (digits.isascii() and digits.isdigit()):
        return None
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else None


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


def is_robocall(call_type: str | None, issue: str | None) -> bool | None:
    """True when the call type says prerecorded or the issue says robocall.

    None when both are missing, so a missing field is not read as "no".
    """
    if call_type is None and issue is None:
        return None
    prerecorded = call_type is not None and "prerecorded" in call_type.lower()
    robocall = issue is not None and "robocall" in issue.lower()
    return prerecorded or robocall


def error_detail(body: bytes | str, cut: Cut) -> tuple[str | None, str | None]:
    """``(code, message)`` from a Socrata error body; either may be None.

    SODA 2.x uses ``code``; newer endpoints use ``errorCode``. Both are server text,
    so both go through ``cut`` (redact, then cap), never through a plain slice.
    """
    try:
        data = json.loads(decode(body))
    except (ValueError, RecursionError):
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
        cut(code, CODE_CHARS) if code else None,
        cut(message, EXCERPT_CHARS) if message else None,
    )
