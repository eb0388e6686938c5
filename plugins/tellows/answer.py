"""Reading a tellows answer: the JSON wrapper out of whatever surrounds it, then its fields.

tellows serves its JSON as ``Content-Type: text/html`` and, at least when the partner
data is wrong, puts a warning such as ``Partner Data not correct`` before or after it
(sources.md §5). So the rules are:

- the Content-Type is ignored; the body is decoded as UTF-8 (Latin-1 if that fails);
- the answer is the first ``{"tellows": ...}`` object in the body, decoded with
  ``raw_decode`` from where it starts; text before and after it is kept apart;
- that surrounding text is a *credential warning* when it speaks of the partner, the
  key, access or a limit (``CREDENTIAL_WARNING``): then the answer is an error, because
  with wrong credentials tellows may answer for a public or test account and its
  numbers must never become a verdict; any other stray text (a server notice) is
  tolerated, since the JSON itself is complete;
- no wrapper object, a wrapper that is not an object, or a ``score`` that is missing or
  not 1-9 is ``Malformed``: recorded as an error, never a verdict. Counts that are
  present must be whole numbers >= 0, for the same reason.
- The secondary lists (``callerTypes``, ``callerNames``) only feed the label and the
  evidence, so entries in an unexpected shape are skipped, not fatal; PHP encodes an
  empty list as ``[]``, one entry sometimes as a bare object, both are accepted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cidrep.contract import json_kind

__all__ = [
    "CREDENTIAL_WARNING",
    "Answer",
    "CredentialWarning",
    "Malformed",
    "Record",
    "credential_warning",
    "extract",
    "looks_like_html",
    "parse",
]

WRAPPER = re.compile(r'\{\s*"tellows"\s*:')
CREDENTIAL_WARNING = re.compile(
    r"partner|api\s*-?key|not\s+correct|unauthori[sz]ed|invalid|denied|forbidden|"
    r"expired|quota|limit|credit|login",
    re.IGNORECASE,
)
HTML = re.compile(r"<\s*(!doctype|html|head|body)\b", re.IGNORECASE)
WHOLE = re.compile(r"\s*\d{1,12}\s*")
MIN_SCORE, MAX_SCORE = 1, 9


class Malformed(Exception):
    """The body is not the expected tellows JSON; the message says what is wrong."""


class CredentialWarning(Exception):
    """tellows put a warning about the partner credentials around its JSON."""

    def __init__(self, warning: str) -> None:
        super().__init__(warning)
        self.warning = warning


@dataclass(frozen=True)
class Answer:
    """The ``tellows`` object of a body, and the text found around the JSON."""

    record: dict[str, Any]
    stray: str


@dataclass(frozen=True)
class Record:
    """The fields of a tellows answer that cidrep uses, validated."""

    score: int  # tellows 1-9
    comments: int | None = None
    searches: int | None = None
    normalized_number: str | None = None
    location: str | None = None
    caller_types: tuple[tuple[str, int], ...] = ()  # (name, count) in the source's order
    caller_names: tuple[str, ...] = ()
    caller_type: str | None = None  # the single ``callertype`` some answers carry


def decode(body: bytes | str) -> str:
    """Body text: UTF-8 (BOM dropped), else Latin-1, which cannot fail."""
    if isinstance(body, str):
        return body.lstrip("\ufeff")
    try:
        return body.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def looks_like_html(body: bytes | str) -> bool:
    """True for a web page (an error page from a proxy or a wrong ``base_url``)."""
    return bool(HTML.search(decode(body)[:2000]))


def extract(body: bytes | str) -> Answer:
    """The first ``{"tellows": {...}}`` object of ``body`` and the text around it.

    Raises ``Malformed`` when there is none, or it does not decode.
    """
    text = decode(body)
    if not text.strip():
        raise Malformed("empty body")
    match = WRAPPER.search(text)
    if match is None:
        raise Malformed(_why_not(text))
    try:
        outer, end = json.JSONDecoder().raw_decode(text, match.start())
    except (ValueError, RecursionError):
        raise Malformed("the tellows JSON object does not decode (truncated?)") from None
    record = outer.get("tellows")
    if not isinstance(record, dict):
        raise Malformed(f"'tellows' is {json_kind(record)}, not an object")
    stray = " ".join((text[: match.start()] + " " + text[end:]).split())
    return Answer(record=record, stray=stray)


def _why_not(text: str) -> str:
    """Why a body without the wrapper is not the expected JSON."""
    start = text.lstrip()[:1]
    if start not in ("{", "["):
        return "not JSON (no tellows object in the answer)"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return "not JSON (no tellows object in the answer)"
    if isinstance(value, dict):
        keys = ", ".join(sorted(map(str, value))[:5]) or "none"
        return f"a JSON object without 'tellows' (keys: {keys})"
    return f"expected a JSON object with 'tellows', got {json_kind(value)}"


def credential_warning(stray: str) -> str | None:
    """The stray text when it is a warning about the credentials or access, else None."""
    return stray if stray and CREDENTIAL_WARNING.search(stray) else None


def whole(value: object, name: str) -> int | None:
    """A count: an int or a string of digits, >= 0; absent (None, "") is None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Malformed(f"'{name}' is a boolean, not a count")
    if isinstance(value, int):
        if value < 0:
            raise Malformed(f"'{name}' is negative")
        return value
    if isinstance(value, str) and WHOLE.fullmatch(value):
        return int(value)
    raise Malformed(f"'{name}' is {json_kind(value)} that is not a whole number")


def tellows_score(value: object) -> int:
    """The 1-9 score; an int or a digit string (tellows sends both)."""
    if value is None or value == "":
        raise Malformed("no 'score'")
    score = whole(value, "score")
    if score is None or not MIN_SCORE <= score <= MAX_SCORE:
        raise Malformed(f"'score' {score} is not 1-9")
    return score


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def _entries(container: object) -> list[object]:
    """The items of ``{"caller": [...]}``, ``{"caller": {...}}``, a bare list, or nothing."""
    if isinstance(container, dict):
        container = container.get("caller", [])
    if isinstance(container, dict):
        return [container]
    if isinstance(container, list):
        return container
    return []


def caller_types(container: object) -> tuple[tuple[str, int], ...]:
    """``(name, count)`` pairs; entries without a name are skipped, a bad count is 0."""
    found: list[tuple[str, int]] = []
    for entry in _entries(container):
        if not isinstance(entry, dict):
            continue
        name = _text(entry.get("name"))
        if name is None:
            continue
        try:
            count = whole(entry.get("count"), "count") or 0
        except Malformed:
            count = 0
        found.append((name, count))
    return tuple(found)


def caller_names(container: object) -> tuple[str, ...]:
    """Caller names; entries may be strings or ``{"name": ...}`` objects."""
    names: list[str] = []
    for entry in _entries(container):
        name = _text(entry.get("name")) if isinstance(entry, dict) else _text(entry)
        if name is not None and name not in names:
            names.append(name)
    return tuple(names)


def parse(body: bytes | str) -> Record:
    """The validated record of a 200 answer.

    Raises ``Malformed`` (not the expected JSON) or ``CredentialWarning`` (the JSON came
    with a warning about the credentials).
    """
    answer = extract(body)
    warning = credential_warning(answer.stray)
    if warning is not None:
        raise CredentialWarning(warning)
    data = answer.record
    if not data:
        raise Malformed("the 'tellows' object is empty")
    names = caller_names(data.get("callerNames"))
    single = _text(data.get("callername"))
    if single is not None and single not in names:
        names = (*names, single)
    return Record(
        score=tellows_score(data.get("score")),
        comments=whole(data.get("comments"), "comments"),
        searches=whole(data.get("searches"), "searches"),
        normalized_number=_text(data.get("normalizedNumber")),
        location=_text(data.get("location")),
        caller_types=caller_types(data.get("callerTypes")),
        caller_names=names,
        caller_type=_text(data.get("callertype")),
    )
