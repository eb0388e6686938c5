"""Reading USACallerLookup answers: the number profile, and the error bodies.

Pure functions over bytes, so every rule here is tested without HTTP. The shapes come
from the service's OpenAPI (sources.md §7a):

- 200: ``{"phone", "digits", "toll_free", "location", "complaints": {"total",
  "robocalls", "first_seen", "last_seen", "states_reporting", "top_subjects":
  [{"subject", "complaints"}]}, "community_reports": {type: count}, "page",
  "attribution"}``;
- errors: ``{"error": "invalid_number" | "rate_limited" | ..., "message"}``, or the
  WordPress shape ``{"code": "rest_no_route", "message", "data": {"status"}}``.

Rules, and why:

- **Only what the verdict and the evidence use is read**, and it is read strictly: a
  count that is not a non-negative integer (a JSON ``true`` is not 1), a date that is
  not ``YYYY-MM-DD``, more robocalls than complaints, a first complaint after the
  last, complaints but no last date. Any of these raises ``Malformed``: a server
  answering something else must give an error, never a "clean" made of defaults.
  ``location``, ``page`` and ``attribution`` are not read, so a toll-free number
  (``location: null``) or a changed attribution cannot fail a check.
- ``states_reporting`` and ``community_reports`` only feed the evidence: absent is
  accepted (left out), present but malformed is not.
- **The answer must be about the number asked**: ``digits`` must equal the 10 digits
  sent. A proxy or cache answering for another number must not lend it its verdict.
- **An error in a 200** (a body with an ``error`` key, or the WordPress ``code`` shape
  without ``complaints``) is ``ErrorAnswer``, never a profile.
- With zero complaints the dates and subjects are not checked further: there is
  nothing to judge, so the number is clean whatever placeholders come with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from cidrep.contract import json_kind

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_COUNT = 10**12  # larger than any real complaint count; guards absurd numbers


class Malformed(Exception):
    """The body is not a number profile we can trust; the message says why (one line)."""


class ErrorAnswer(Exception):
    """The body is one of the service's error objects: ``code`` and ``message``."""

    def __init__(self, code: str | None, message: str | None) -> None:
        super().__init__(code or message or "error")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Profile:
    """What one ``/number`` answer says about the complaints against a number."""

    digits: str
    total: int
    robocalls: int
    first_seen: date | None
    last_seen: date | None
    states_reporting: int | None = None
    subjects: tuple[tuple[str, int], ...] = ()  # (subject, complaints), as listed
    community_reports: tuple[tuple[str, int], ...] = ()  # (report type, count), sorted


def load_json(body: bytes | str) -> Any:
    """The decoded JSON value of ``body``; ``Malformed`` when it is not JSON."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("not JSON (not UTF-8 text)") from None
    if not body.strip():
        raise Malformed("empty body")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested past the decoder's limit
        raise Malformed("not JSON") from None


def error_detail(value: Any, cut: Callable[[str, int], str]) -> tuple[str | None, str | None]:
    """``(code, message)`` of an error object in either shape, each cut by ``cut``;
    ``(None, None)`` when ``value`` is not one."""
    if not isinstance(value, dict):
        return None, None
    code = value.get("error")
    if not isinstance(code, str):
        code = value.get("code")
    message = value.get("message")
    code_text = cut(code, 60) if isinstance(code, str) and code.strip() else None
    message_text = cut(message, 160) if isinstance(message, str) and message.strip() else None
    return code_text, message_text


def error_body(body: bytes | str, cut: Callable[[str, int], str]) -> tuple[str | None, str | None]:
    """``(code, message)`` of an error response body, or ``(None, None)`` (e.g. HTML)."""
    try:
        value = load_json(body)
    except Malformed:
        return None, None
    return error_detail(value, cut)


def parse_profile(body: bytes | str, asked: str, cut: Callable[[str, int], str]) -> Profile:
    """The profile in a 200 body for the 10 digits ``asked``.

    Raises ``ErrorAnswer`` for an error object and ``Malformed`` for anything else
    that is not a consistent profile of that number (see the module docstring).
    """
    value = load_json(body)
    if not isinstance(value, dict):
        raise Malformed(f"expected a JSON object, got {json_kind(value)}")
    if "error" in value or ("code" in value and "complaints" not in value):
        raise ErrorAnswer(*error_detail(value, cut))
    digits = value.get("digits")
    if not isinstance(digits, str):
        raise Malformed("no 'digits'")
    if digits != asked:
        raise Malformed(f"answer is about {cut(digits, 20)!r}, not the number asked")
    complaints = value.get("complaints")
    if not isinstance(complaints, dict):
        raise Malformed(f"'complaints' is {json_kind(complaints)}, not an object")
    total = _count(complaints, "total", "complaints.total")
    robocalls = _count(complaints, "robocalls", "complaints.robocalls")
    if robocalls > total:
        raise Malformed(f"complaints.robocalls ({robocalls}) exceeds complaints.total ({total})")
    states = None
    if complaints.get("states_reporting") is not None:
        states = _count(complaints, "states_reporting", "complaints.states_reporting")
    reports = _community_reports(value.get("community_reports"), cut)
    if total == 0:
        return Profile(digits, 0, 0, None, None, states, (), reports)
    first = _date(complaints.get("first_seen"), "complaints.first_seen")
    last = _date(complaints.get("last_seen"), "complaints.last_seen")
    if last is None:
        raise Malformed(f"{total} complaints but complaints.last_seen is null")
    if first is not None and first > last:
        raise Malformed("complaints.first_seen is after complaints.last_seen")
    subjects = _subjects(complaints.get("top_subjects"), cut)
    return Profile(digits, total, robocalls, first, last, states, subjects, reports)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def _count(container: dict[str, Any], key: str, name: str) -> int:
    if key not in container:
        raise Malformed(f"no {name!r}")
    value = container[key]
    if not _is_count(value):
        raise Malformed(f"{name} is not a non-negative integer")
    return int(value)


def _date(value: Any, name: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str) or not DATE.fullmatch(value):
        raise Malformed(f"{name} is not a YYYY-MM-DD date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Malformed(f"{name} is not a YYYY-MM-DD date") from None


def _subjects(value: Any, cut: Callable[[str, int], str]) -> tuple[tuple[str, int], ...]:
    """``top_subjects`` as (subject, complaints) pairs; absent or null is none."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise Malformed(f"complaints.top_subjects is {json_kind(value)}, not an array")
    pairs = []
    for index, item in enumerate(value, 1):
        if not isinstance(item, dict):
            raise Malformed(f"complaints.top_subjects item {index} is {json_kind(item)}")
        subject, count = item.get("subject"), item.get("complaints")
        if not isinstance(subject, str) or not subject.strip():
            raise Malformed(f"complaints.top_subjects item {index} has no subject")
        if not _is_count(count):
            raise Malformed(f"complaints.top_subjects item {index} has no complaint count")
        pairs.append((cut(subject, 200), int(count)))
    return tuple(pairs)


def _community_reports(value: Any, cut: Callable[[str, int], str]) -> tuple[tuple[str, int], ...]:
    """``community_reports`` as sorted (type, count) pairs with a positive count."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise Malformed(f"community_reports is {json_kind(value)}, not an object")
    pairs = {}
    for kind, count in value.items():
        if not _is_count(count):
            raise Malformed("community_reports has a count that is not a non-negative integer")
        if count:
            key = cut(kind, 60)
            pairs[key] = pairs.get(key, 0) + int(count)
    return tuple(sorted(pairs.items()))
