"""Reading Telnyx answers: a number's reputation, the enterprise's settings, error bodies.

Pure functions over bytes, so every rule here is tested without HTTP. The shapes come
from sources.md §6b (DOC):

- number: ``{"data": {"id", "phone_number", "enterprise_id", "created_at",
  "updated_at", "reputation_data": null | {"spam_risk": "low"|"medium"|"high",
  "spam_category": str|null, "maturity_score", "connection_score",
  "engagement_score", "sentiment_score": 0-100|null, "last_refreshed_at"}}}``;
- enterprise settings: ``{"data": {"enterprise_id", "status", "loa_status",
  "rejection_reasons": [...], "check_frequency", ...}}``;
- errors: ``{"errors": [{"code": "10011", "title", "detail", "source", "meta"}]}``
  (the code is a string).

Rules, and why:

- **Read strictly what the verdict uses**: ``spam_risk`` must be one of the three
  documented levels (any case), each score an integer 0-100 or null (a JSON ``true``
  is not a score, 40.0 is 40), ``spam_category`` a string or null (kept on one
  line, at most 80 characters, redacted of the source's secrets). Anything else
  raises ``Malformed``: a changed or broken answer must give an error, never a
  verdict made of defaults.
- **The answer must be about the number asked**: ``data.phone_number`` must equal
  the E.164 number sent, so a proxy or cache answering for another number cannot
  lend it its verdict.
- **An error in a 200** (a non-empty ``errors`` list) is ``ErrorAnswer``.
- ``reputation_data: null`` is a real state ("not refreshed yet"), returned as
  ``None``: the number is enrolled but Telnyx has nothing to judge it by.
- ``last_refreshed_at`` is read only for the cost rule (see ``verdict.cached_cost``);
  unreadable, it is ``None``, never an error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cidrep.contract import json_kind

RISKS = ("low", "medium", "high")
SCORE_FIELDS = ("maturity_score", "connection_score", "engagement_score", "sentiment_score")

Cut = Callable[[str, int], str]


class Malformed(Exception):
    """The body is not an answer we can trust; the message says why (one line)."""


class ErrorAnswer(Exception):
    """The body carries Telnyx ``errors``: the first one's code and text."""

    def __init__(self, code: str | None, text: str | None) -> None:
        super().__init__(", ".join(part for part in (code, text) if part) or "error")
        self.code = code
        self.text = text


@dataclass(frozen=True)
class Reputation:
    """What Telnyx says about one number's spam reputation."""

    spam_risk: str  # low | medium | high (lowercased)
    spam_category: str | None
    scores: tuple[tuple[str, int | None], ...]  # (field, value) in SCORE_FIELDS order
    last_refreshed_at: datetime | None = None


@dataclass(frozen=True)
class EnterpriseReputation:
    """The enterprise's Number Reputation settings: both gates, and why not approved."""

    status: str
    loa_status: str | None
    rejection_reasons: tuple[str, ...] = ()


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


def first_error(value: Any, cut: Cut) -> tuple[str | None, str | None]:
    """``(code, text)`` of the first entry of a Telnyx ``errors`` list, each cut by
    ``cut`` (text: ``detail``, else ``title``); ``(None, None)`` when there is none."""
    if not isinstance(value, dict):
        return None, None
    errors = value.get("errors")
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None, None
    entry = errors[0]
    code = entry.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)  # documented as a string; a number still identifies it
    code_text = cut(code, 20) if isinstance(code, str) and code.strip() else None
    text = None
    for key in ("detail", "title"):
        item = entry.get(key)
        if isinstance(item, str) and item.strip():
            text = cut(item, 160)
            break
    return code_text, text


def error_body(body: bytes | str, cut: Cut) -> tuple[str | None, str | None]:
    """``(code, text)`` of an error response body, or ``(None, None)`` (e.g. HTML)."""
    try:
        value = load_json(body)
    except Malformed:
        return None, None
    return first_error(value, cut)


def _data(body: bytes | str, cut: Cut) -> dict[str, Any]:
    """The ``data`` object of a 200 body; ``ErrorAnswer``/``Malformed`` otherwise."""
    value = load_json(body)
    if not isinstance(value, dict):
        raise Malformed(f"expected a JSON object, got {json_kind(value)}")
    errors = value.get("errors")
    if errors not in (None, []):
        raise ErrorAnswer(*first_error(value, cut))
    data = value.get("data")
    if not isinstance(data, dict):
        raise Malformed(f"'data' is {json_kind(data)}, not an object")
    return data


def parse_number(body: bytes | str, asked: str, cut: Cut) -> Reputation | None:
    """The reputation in a 200 body for the E.164 number ``asked``; ``None`` when
    Telnyx has no data for it yet (``reputation_data: null``)."""
    data = _data(body, cut)
    phone = data.get("phone_number")
    if not isinstance(phone, str):
        raise Malformed("no 'data.phone_number'")
    if phone != asked:
        raise Malformed(f"answer is about {cut(phone, 20)!r}, not the number asked")
    if "reputation_data" not in data:
        raise Malformed("no 'data.reputation_data'")
    rep = data["reputation_data"]
    if rep is None:
        return None
    if not isinstance(rep, dict):
        raise Malformed(f"'reputation_data' is {json_kind(rep)}, not an object")
    risk = rep.get("spam_risk")
    if not isinstance(risk, str) or risk.strip().lower() not in RISKS:
        shown = cut(risk, 20) if isinstance(risk, str) else json_kind(risk)
        raise Malformed(f"spam_risk is {shown!r}, not low, medium or high")
    category = rep.get("spam_category")
    if category is not None and not isinstance(category, str):
        raise Malformed(f"spam_category is {json_kind(category)}, not a string or null")
    if isinstance(category, str):
        category = cut(category, 80) or None  # one line, bounded, secrets redacted
    scores = tuple((name, _score(rep.get(name), name)) for name in SCORE_FIELDS)
    refreshed = parse_time(rep.get("last_refreshed_at"))
    return Reputation(risk.strip().lower(), category, scores, refreshed)


def parse_enterprise(body: bytes | str, cut: Cut) -> EnterpriseReputation:
    """The reputation settings in a 200 body of ``GET /enterprises/{id}/reputation``.

    ``status`` is required; ``loa_status`` is read when present (an answer without it,
    like the documented enable response, leaves that gate to the number reads).
    """
    data = _data(body, cut)
    status = data.get("status")
    if not isinstance(status, str) or not status.strip():
        raise Malformed("no reputation 'status'")
    loa = data.get("loa_status")
    if loa is not None and not isinstance(loa, str):
        raise Malformed(f"loa_status is {json_kind(loa)}, not a string")
    reasons_value = data.get("rejection_reasons")
    reasons: tuple[str, ...] = ()
    if isinstance(reasons_value, list):
        reasons = tuple(cut(r, 120) for r in reasons_value if isinstance(r, str) and r.strip())
    return EnterpriseReputation(
        cut(status.strip().lower(), 30),
        cut(loa.strip().lower(), 30) if isinstance(loa, str) and loa.strip() else None,
        reasons,
    )


def _score(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed(f"{name} is {json_kind(value)}, not a number 0-100 or null")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise Malformed(f"{name} is not a whole number")
    if not 0 <= value <= 100:
        raise Malformed(f"{name} is {value}, outside 0-100")
    return int(value)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime, or None when absent/unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
