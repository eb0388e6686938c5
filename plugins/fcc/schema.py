"""The shape of one page of FCC complaint counts, and nothing looser.

Rule: an answer is either entirely well-formed or it is an error; it never becomes
a verdict by being half-read. Socrata returns a JSON array of flat objects in which
every value is a JSON string and null cells are omitted. So, per row:

- ``caller_id_number``, ``advertiser_business_phone_number``, ``issue`` and
  ``type_of_call_or_messge`` are strings when present (an explicit ``null`` is read
  as absent; a number, object or boolean is malformed);
- ``day`` (``date_trunc_ymd(issue_date)``) is required and must be a string that
  parses as a date: a group that cannot be placed in time cannot be counted in any
  window, and used to be silently skipped, which turned a broken answer into a
  false "clean";
- ``n`` (``count(*)``) is required and must be a string of 1 to 9 ASCII digits, at
  least 1: no real group is empty, and a count sent as a JSON number or an object
  means the server is not speaking Socrata;
- other keys are ignored (the schema grows over the years).

One row that does not match makes the whole page ``MalformedPage``. Messages name the
row and field but never quote a value, except the start of a non-JSON body, which
goes through the caller's ``cut`` (redact, then cap).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from . import socrata

NOT_JSON_CHARS = 40
MAX_COUNT_DIGITS = 9
_COUNT = re.compile(rf"[0-9]{{1,{MAX_COUNT_DIGITS}}}")


class MalformedPage(ValueError):
    """A response body that is not a valid page of complaint groups; a short reason."""


class _Problem(ValueError):
    """What is wrong with a field's value (a ``ValueError``, so pydantic reports it)."""


def _text(value: object) -> object:
    if value is not None and not isinstance(value, str):
        raise _Problem("not a string")
    return value


def _day(value: object) -> date:
    if not isinstance(value, str):
        raise _Problem("not a string")
    parsed = socrata.parse_issue_date(value)
    if parsed is None:
        raise _Problem("not a date")
    return parsed


def _count(value: object) -> int:
    if not isinstance(value, str):
        raise _Problem("not a string")
    if not _COUNT.fullmatch(value) or int(value) < 1:
        raise _Problem(f"not a count (1 to {MAX_COUNT_DIGITS} digits, at least 1)")
    return int(value)


Text = Annotated[str | None, BeforeValidator(_text)]


class GroupRow(BaseModel):
    """One row of the grouped query: how many complaints share these cells on ``day``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    caller_id_number: Text = None
    advertiser_business_phone_number: Text = None
    issue: Text = None
    type_of_call_or_messge: Text = None
    day: Annotated[date, BeforeValidator(_day)]
    n: Annotated[int, BeforeValidator(_count)]

    def numbers(self) -> set[str]:
        """The distinct 10-digit numbers the group names in either phone column."""
        cells = (self.caller_id_number, self.advertiser_business_phone_number)
        return {d for d in map(socrata.phone_digits, cells) if d is not None}

    @property
    def subject(self) -> str | None:
        return (self.issue.strip() or None) if self.issue is not None else None

    @property
    def robocall(self) -> bool | None:
        return socrata.is_robocall(self.type_of_call_or_messge, self.issue)

    @property
    def key(self) -> tuple[object, ...]:
        """What identifies the group; a correct server never sends one twice."""
        return (
            self.caller_id_number,
            self.advertiser_business_phone_number,
            self.issue,
            self.type_of_call_or_messge,
            self.day,
        )


_PAGE = TypeAdapter(list[GroupRow])


def parse_page(body: bytes | str, cut: socrata.Cut) -> list[GroupRow]:
    """Decode and validate one page: a JSON array of group rows, else ``MalformedPage``."""
    text = socrata.decode(body)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        shown = cut(text, NOT_JSON_CHARS)
        raise MalformedPage(f"not JSON ({shown!r})" if shown else "empty body") from None
    if not isinstance(data, list):
        raise MalformedPage(f"expected a JSON array of rows, got {socrata.json_type(data)}")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise MalformedPage(f"row {index + 1} is {socrata.json_type(item)}, not an object")
    try:
        return _PAGE.validate_python(data)
    except ValidationError as exc:
        raise MalformedPage(_reason(exc.errors(include_url=False), data)) from None


def _reason(errors: list[Any], data: list[Any]) -> str:
    """One short line for the first problem: row number, field, what is wrong."""
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    if len(loc) < 2 or not isinstance(loc[0], int):
        return "a row is not a complaint group"
    row, field = loc[0] + 1, str(loc[1])
    if first.get("type") == "missing":
        return f"row {row} has no {field!r}"
    value = data[row - 1].get(field)
    if not isinstance(value, str):
        return f"row {row}: {field!r} is {socrata.json_type(value)}, not a string"
    problem = (first.get("ctx") or {}).get("error")
    detail = str(problem) if isinstance(problem, _Problem) else "not valid"
    return f"row {row}: {field!r} is {detail}"
