"""Reading TrustCall answers: the number format, the answer array, error bodies.

Pure functions over bytes, so every rule here is tested without HTTP. The shape comes
from sources.md §7e (DOC): ``GET .../Get?phoneList=7867056421,3862847537`` answers an
array of ``{Response, Phone, CurrScore, MaxScore, HistoricalScore, VerizonScore,
ATTScore, TMobileScore, RoboKillerStatus, NomoroboStatus, FTCComplaints}``.

Rules, and why:

- **The number**: TrustCall takes and returns 10 digits, no ``1`` and no ``+``
  (sources.md §8). ``source_number`` is the one place E.164 becomes that; a number
  outside NANP has no such form and is never sent.
- **The body must be an array of objects, each with a readable ``Phone``**; otherwise
  the whole body is ``Malformed`` (an answer that cannot be attributed to a number
  cannot be trusted for any). Quirks accepted, because they lose nothing: ``Phone``
  as a JSON number, formatted (``(202) 555-0143``) or with a leading ``1``; a single
  record not wrapped in an array. The first record for a phone wins.
- **A JSON object that is not a record** (``{"Message": "..."}``, the usual ASP.NET
  error shape) is ``ErrorAnswer``: an error, never an empty answer.
- **Each record is read strictly where the verdict depends on it**: ``Response``
  must be absent or a known wording; ``CurrScore`` one of Clean, Medium, High,
  Processing (any case). Anything else makes that one number an error (``Record.
  problem``), never a verdict made of defaults. A carrier field that is absent or
  null is not reported (TrustCall's basic service has no carrier scores); one with
  a value other than Clean, Flagged or Processing is an error on that carrier only.
- **Evidence** keeps stable facts only: ``CurrScore``, ``MaxScore`` (the highest in
  the last 15 days), ``HistoricalScore`` (0-5), and the FTC complaints summed up
  (count, robocalls, first and last report date, subjects). Never the complaint ids,
  times of day, cities or anything that changes from one read to the next without
  the number's reputation changing. Evidence fields of the wrong type are left out.

Server text quoted anywhere goes through a caller-supplied ``cut`` that redacts the
source's secrets BEFORE cutting (cutting first could leave a key prefix unredacted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cidrep.contract import json_kind, nanp_digits

Cut = Callable[[str, int], str]

# CurrScore and MaxScore: the average (resp. 15-day highest) carrier spam score.
LEVELS = ("clean", "medium", "high")
CURR_SCORES = (*LEVELS, "processing")
# Per-carrier and per-app fields, and the names their observations carry.
CARRIERS: tuple[tuple[str, str], ...] = (
    ("VerizonScore", "Verizon"),
    ("ATTScore", "AT&T"),
    ("TMobileScore", "T-Mobile"),
    ("RoboKillerStatus", "RoboKiller"),
    ("NomoroboStatus", "Nomorobo"),
)
CARRIER_VALUES = ("clean", "flagged", "processing")
# ``Response`` wordings that come with a score: Get's, and Add's (same record shape).
KNOWN_RESPONSES = ("phone number current score", "phone number added to monitor")
FTC_DATE_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")
HISTORICAL = range(0, 6)
TEXT_CHARS = 60
SUBJECTS = 5
MESSAGE_CHARS = 120
BAD_RECORD = "TrustCall returned a malformed answer for the number: "
NOT_JSON_CHARS = 40
MESSAGE_KEYS = ("Message", "message", "error_description", "error", "Error", "Response", "detail")
TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class Malformed(Exception):
    """The body is not a TrustCall answer we can read; the message says why (one line)."""


class ErrorAnswer(Exception):
    """The body is an error message, not an answer (its text, redacted and cut)."""

    def __init__(self, message: str | None) -> None:
        super().__init__(message or "no message")
        self.message = message


@dataclass(frozen=True)
class Record:
    """One number's answer, read.

    ``problem`` is set (one line) when the record cannot be judged: then only the error
    is reported for the number. ``carriers`` holds the carrier and app fields present,
    in TrustCall's field order.
    """

    phone: str
    curr_score: str | None  # one of CURR_SCORES, None when ``problem``
    problem: str | None = None
    carriers: tuple[CarrierField, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CarrierField:
    """One carrier or app field: its canonical value (``clean``/``flagged``/
    ``processing``), or None with ``shown`` (the value, cut, or its type) when unreadable."""

    carrier: str
    value: str | None
    shown: str = ""


def source_number(e164: str) -> str | None:
    """E.164 ``+12025550143`` -> ``2025550143`` (what TrustCall takes); None outside NANP."""
    digits = nanp_digits(e164) if isinstance(e164, str) else None
    if digits is None or not (digits.isascii() and digits.isdigit() and len(digits) == 10):
        return None
    return digits


def answered_phone(value: object) -> str | None:
    """The 10 digits of a ``Phone`` as TrustCall may write it, else None.

    ``"2025550143"``, ``2025550143`` (a JSON number), ``"(202) 555-0143"`` and
    ``"12025550143"`` all read as ``2025550143``; anything that is not 10 digits (or 11
    starting with 1) once punctuation is dropped is unreadable.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str) and re.fullmatch(r"[0-9+()\-. ]{10,20}", value.strip()):
        text = re.sub(r"[^0-9]", "", value)
    else:
        return None
    if len(text) == 11 and text.startswith("1"):
        text = text[1:]
    return text if len(text) == 10 else None


def parse(body: bytes | str, cut: Cut) -> list[Record]:
    """Read one 200 body: its records, ``Malformed`` or ``ErrorAnswer``."""
    data = load_json(body, cut)
    if isinstance(data, dict):
        if "Phone" not in data:
            raise ErrorAnswer(server_message(data, cut))
        data = [data]  # one record, not wrapped in an array
    if isinstance(data, str):
        raise ErrorAnswer(cut(data, MESSAGE_CHARS) or None)
    if not isinstance(data, list):
        raise Malformed(f"expected a JSON array, got {json_kind(data)}")
    records = []
    for index, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise Malformed(f"answer {index} is {json_kind(item)}, not an object")
        phone = answered_phone(item.get("Phone"))
        if phone is None:
            raise Malformed(f"answer {index} has no readable 'Phone'")
        records.append(read_record(phone, item, cut))
    return records


def read_record(phone: str, item: dict[str, Any], cut: Cut) -> Record:
    """One record: its verdict inputs checked, its evidence gathered."""
    response = item.get("Response")
    if response is not None:
        if not isinstance(response, str):
            return Record(phone, None, problem=f"{BAD_RECORD}'Response' is {json_kind(response)}")
        if " ".join(response.lower().split()).rstrip(".") not in KNOWN_RESPONSES:
            said = cut(response, MESSAGE_CHARS)
            return Record(phone, None, problem=f"TrustCall answered {said!r} instead of a score")
    curr = _level(item.get("CurrScore"), CURR_SCORES)
    if curr is None:
        raw = item.get("CurrScore")
        shown = repr(cut(raw, 20)) if isinstance(raw, str) else json_kind(raw)
        return Record(
            phone,
            None,
            problem=f"{BAD_RECORD}CurrScore is {shown}, not Clean, Medium, High or Processing",
        )
    carriers = []
    for key, name in CARRIERS:
        raw = item.get(key)
        if raw is None:
            continue
        value = _level(raw, CARRIER_VALUES)
        shown = "" if value else repr(cut(raw, 20)) if isinstance(raw, str) else json_kind(raw)
        carriers.append(CarrierField(name, value, shown))
    return Record(phone, curr, None, tuple(carriers), evidence(item, curr, cut))


def evidence(item: dict[str, Any], curr: str, cut: Cut) -> dict[str, Any]:
    """Stable facts of a record: the scores and the FTC complaints summed up."""
    facts: dict[str, Any] = {"curr_score": curr.capitalize()}
    best = _level(item.get("MaxScore"), CURR_SCORES)
    if best is not None:
        facts["max_score"] = best.capitalize()
    historical = _historical(item.get("HistoricalScore"))
    if historical is not None:
        facts["historical_score"] = historical
    if "FTCComplaints" in item:
        facts.update(ftc_evidence(item["FTCComplaints"], cut))
    return facts


def ftc_evidence(value: Any, cut: Cut) -> dict[str, Any]:
    """``FTCComplaints`` summed up: null is none; absent or not a list says nothing.

    Complaints are counted once per ``FTCComplaintId`` (a repeated id is one complaint);
    dates are the days they were reported (``CreatedDate``), times of day dropped.
    """
    if value is None:
        return {"ftc_complaints": 0}
    if not isinstance(value, list):
        return {}
    seen: set[str] = set()
    count = robocalls = 0
    days: list[str] = []
    subjects: set[str] = set()
    for complaint in value:
        if not isinstance(complaint, dict):
            continue
        ident = complaint.get("FTCComplaintId")
        if isinstance(ident, str) and ident:
            if ident in seen:
                continue
            seen.add(ident)
        count += 1
        if str(complaint.get("RecordedMessageOrRobocall", "")).strip().upper() == "Y":
            robocalls += 1
        day = ftc_day(complaint.get("CreatedDate"))
        if day is not None:
            days.append(day)
        subject = complaint.get("Subject")
        if isinstance(subject, str) and subject.strip():
            subjects.add(cut(" ".join(subject.split()), TEXT_CHARS))
    facts: dict[str, Any] = {"ftc_complaints": count}
    if count:
        facts["ftc_robocalls"] = robocalls
    if days:
        facts["ftc_first_reported"] = min(days)
        facts["ftc_last_reported"] = max(days)
    if subjects:
        facts["ftc_subjects"] = sorted(subjects)[:SUBJECTS]
    return facts


def ftc_day(value: object) -> str | None:
    """``"08/15/2022 22:22:39"`` -> ``"2022-08-15"``; None when unreadable."""
    if not isinstance(value, str):
        return None
    for pattern in FTC_DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), pattern).date().isoformat()
        except ValueError:
            continue
    return None


# -- error bodies ------------------------------------------------------------------


def load_json(body: bytes | str, cut: Cut) -> Any:
    """The JSON in ``body``, or ``Malformed`` saying what it is instead."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Malformed(not_json(text, cut)) from None


def not_json(text: str, cut: Cut) -> str:
    """What a body that is not JSON is, in a few words: empty, an HTML page, text."""
    stripped = text.strip()
    if not stripped:
        return "empty body"
    if looks_like_html(stripped):
        title = html_title(stripped, cut)
        return f"an HTML page ({title!r}), not JSON" if title else "an HTML page, not JSON"
    return f"not JSON ({cut(stripped, NOT_JSON_CHARS)!r})"


def looks_like_html(text: str) -> bool:
    head = text[:200].lstrip().lower()
    return head.startswith(("<!doctype html", "<html", "<head", "<body", "<?xml")) or (
        head.startswith("<") and "<html" in text[:2000].lower()
    )


def html_title(text: str, cut: Cut) -> str | None:
    """The ``<title>`` of an HTML page, on one line (an IIS or proxy error page says
    what went wrong there), else None."""
    match = TITLE.search(text[:20_000])
    if not match:
        return None
    title = " ".join(re.sub(r"<[^>]*>", " ", match.group(1)).split())
    return cut(title, 80) if title else None


def server_message(data: object, cut: Cut) -> str | None:
    """The message of an error body (JSON object or string), redacted and cut."""
    if isinstance(data, str):
        return cut(data, MESSAGE_CHARS) if data.strip() else None
    if not isinstance(data, dict):
        return None
    for key in MESSAGE_KEYS:
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("Message")
        if isinstance(value, str) and value.strip():
            return cut(value, MESSAGE_CHARS)
    return None


def error_text(body: bytes, cut: Cut) -> str | None:
    """What a non-200 body says, in one short line: its message, an HTML page's title,
    or its text; None when empty."""
    try:
        data = load_json(body, cut)
    except Malformed:
        text = body.decode("utf-8", errors="replace").strip()
        if not text:
            return None
        if looks_like_html(text):
            return html_title(text, cut)
        return cut(text, MESSAGE_CHARS)
    return server_message(data, cut)


# -- small readers -------------------------------------------------------------------


def _level(value: object, allowed: tuple[str, ...]) -> str | None:
    if not isinstance(value, str):
        return None
    lowered = value.strip().lower()
    return lowered if lowered in allowed else None


def _historical(value: object) -> int | None:
    """``HistoricalScore`` 0-5, a string in the docs ("5"); an integer is read too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and value in HISTORICAL:
        return value
    return None
