"""Pure rules for IPQualityScore phone answers: the number format, reading an answer,
and the verdict. Nothing here does I/O, so every rule is unit-testable without HTTP.

- The number: IPQS takes the digits with the country code and no ``+``
  (``12025550143``) in the URL path. ``ipqs_phone`` is the one place E.164 becomes that.
  IPQS covers numbers worldwide, so any E.164 number is asked; only text that is not
  E.164 at all is never sent.
- Errors come as HTTP 200 with ``{"success": false, "message": "..."}``, so ``success``
  is read before anything else; an answer without a boolean ``success`` is malformed.
  A refusal is never a verdict (``Refusal``), and neither is an answer whose signal
  fields have the wrong type (``MalformedAnswer``): a ``"true"`` string or a missing
  ``fraud_score`` must not become "clean".
- The verdict (``judge``): ``valid: false`` means IPQS cannot place the number, and its
  high fraud_score then says "not a real number", not "spam": ``unknown``. Otherwise
  ``spammer``, ``recent_abuse`` or a ``fraud_score`` at or above the threshold flag it;
  anything else is clean. ``score`` is ``fraud_score`` itself (0-100).
- Evidence keeps stable facts about the number only: never ``request_id``, the
  ``message`` text, or anything else that changes from one check to the next.

Server text quoted in an error goes through a caller-supplied ``cut`` that redacts the
source's secrets BEFORE cutting (cutting first could leave a key prefix unredacted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cidrep.contract import Verdict

# ``cut(text, limit)``: ``text`` with the source's secrets redacted, then capped.
Cut = Callable[[str, int], str]

E164 = re.compile(r"\+([1-9][0-9]{6,14})")
# "Invalid or unauthorized key" (observed), and its obvious variants; not any message
# that merely mentions a key ("Invalid request for key ...").
KEY_REFUSED = re.compile(r"\b(?:invalid|unauthori[sz]ed)(?: or unauthori[sz]ed)?(?: api)? key\b")
MESSAGE_CHARS = 120
NOT_JSON_CHARS = 40

# IPQS's own fraud_score bands (documentation, "Phone Number Validation API"):
# 75+ suspicious, 85+ high risk, 90+ recent verified or frequent abusive behavior.
BANDS: tuple[tuple[int, str], ...] = ((90, "frequent abuse"), (85, "high risk"), (75, "suspicious"))
LOW = "low"

# Facts kept as evidence: the answer's key -> the evidence key. Booleans and short
# strings that describe the number, not the request.
FLAGS = {"spammer": "spammer", "recent_abuse": "recent_abuse", "risky": "risky"}
FACTS_BOOL = {"valid": "valid", "active": "active", "VOIP": "voip", "prepaid": "prepaid"}
FACTS_TEXT = {"line_type": "line_type", "carrier": "carrier", "country": "country"}
NOT_AVAILABLE = {"", "n/a", "na", "unknown"}
TEXT_CHARS = 80


class MalformedAnswer(ValueError):
    """A body that is not an IPQS phone answer; the message is one short reason.

    ``billed`` is true when the body said ``success: true`` (IPQS counted the lookup)
    but its fields are unusable, so the cost is still reported.
    """

    def __init__(self, reason: str, billed: bool = False) -> None:
        super().__init__(reason)
        self.billed = billed


@dataclass(frozen=True)
class Refusal:
    """``success: false``: IPQS declined the lookup (bad key, quota, bad request)."""

    message: str | None  # server text, already redacted and cut

    @property
    def kind(self) -> str:
        """``key``, ``quota`` or ``other``, from the documented message wordings."""
        text = (self.message or "").lower()
        if "quota" in text or "credits" in text:
            return "quota"
        if KEY_REFUSED.search(text):
            return "key"
        return "other"


@dataclass(frozen=True)
class Answer:
    """A successful answer, its types checked."""

    fraud_score: int
    spammer: bool | None
    recent_abuse: bool | None
    valid: bool | None
    formatted: str | None
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """When an answer flags a number (from ``IpqsSettings``)."""

    flag_fraud_score: int = 85
    flag_spammer: bool = True
    flag_recent_abuse: bool = True


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    score: int | None
    label: str | None
    category: str | None


def ipqs_phone(number: str) -> str | None:
    """E.164 ``+12025550143`` -> ``12025550143`` (what IPQS takes); None if not E.164."""
    match = E164.fullmatch(number) if isinstance(number, str) else None
    return match.group(1) if match else None


def band(fraud_score: int) -> str:
    """IPQS's name for the range ``fraud_score`` falls in (``low`` below 75)."""
    for floor, name in BANDS:
        if fraud_score >= floor:
            return name
    return LOW


def judge(answer: Answer, rule: Rule) -> Judgement:
    """The verdict, score, label and category for a successful answer (pure).

    | valid | spammer | recent_abuse | fraud_score      | verdict | category |
    |-------|---------|--------------|------------------|---------|----------|
    | false | any     | any          | any              | unknown | none     |
    | other | true    | any          | any              | flagged | spam     |
    | other | other   | true         | any              | flagged | fraud    |
    | other | other   | other        | >= threshold     | flagged | fraud    |
    | other | other   | other        | < threshold      | clean   | none     |

    (``spammer``/``recent_abuse`` flag only when their ``flag_*`` option is on; a flagged
    number IPQS marks ``spammer`` is category spam whichever signal flagged it.) The
    label names what flagged it, as IPQS words it: "spammer", "recent abuse", and the
    score's band when it is at least "suspicious" (e.g. "spammer, high risk"), or
    "fraud score N" when a threshold below 75 flagged it.
    """
    if answer.valid is False:
        return Judgement(Verdict.UNKNOWN, None, None, None)
    spam = rule.flag_spammer and answer.spammer is True
    abuse = rule.flag_recent_abuse and answer.recent_abuse is True
    risky = answer.fraud_score >= rule.flag_fraud_score
    if not (spam or abuse or risky):
        return Judgement(Verdict.CLEAN, answer.fraud_score, None, None)
    parts = []
    if answer.spammer is True:
        parts.append("spammer")
    if answer.recent_abuse is True:
        parts.append("recent abuse")
    if band(answer.fraud_score) != LOW:
        parts.append(band(answer.fraud_score))
    elif risky:  # a threshold set below IPQS's own bands: name the score itself
        parts.append(f"fraud score {answer.fraud_score}")
    return Judgement(
        Verdict.FLAGGED,
        answer.fraud_score,
        ", ".join(parts),
        "spam" if answer.spammer is True else "fraud",
    )


def parse(body: bytes | str, cut: Cut) -> Answer | Refusal:
    """Read one 200 body: an ``Answer``, a ``Refusal``, or ``MalformedAnswer``."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        shown = cut(text, NOT_JSON_CHARS)
        raise MalformedAnswer(f"not JSON ({shown!r})" if shown else "empty body") from None
    if not isinstance(data, dict):
        raise MalformedAnswer(f"expected a JSON object, got {_json_type(data)}")
    success = data.get("success")
    if not isinstance(success, bool):
        raise MalformedAnswer("no 'success' flag")
    if not success:
        return Refusal(server_message(data, cut))
    try:
        return Answer(
            fraud_score=_score(data.get("fraud_score")),
            spammer=_flag(data, "spammer"),
            recent_abuse=_flag(data, "recent_abuse"),
            valid=_flag(data, "valid"),
            formatted=data.get("formatted") if isinstance(data.get("formatted"), str) else None,
            evidence=_evidence(data, cut),
        )
    except MalformedAnswer as exc:
        raise MalformedAnswer(str(exc), billed=True) from None


def evidence(answer: Answer, judgement: Judgement) -> dict[str, Any]:
    """The observation's evidence: the answer's facts, plus the score's band when the
    score counts (an invalid number's fraud_score says nothing about its reputation)."""
    if judgement.score is None:
        return dict(answer.evidence)
    return {**answer.evidence, "risk": band(judgement.score)}


def server_message(data: object, cut: Cut) -> str | None:
    """``message`` (else the first of ``errors``) of an IPQS body, redacted and cut."""
    if not isinstance(data, dict):
        return None
    candidates = [data.get("message")]
    errors = data.get("errors")
    if isinstance(errors, list):
        candidates += errors
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return cut(value, MESSAGE_CHARS)
    return None


def answered_digits(formatted: str | None) -> str | None:
    """The digits of ``formatted`` ("+1 202-555-0143" -> "12025550143") when it is a
    ``+`` number, else None (``"N/A"`` and the like say nothing)."""
    if formatted is None or not formatted.strip().startswith("+"):
        return None
    digits = "".join(c for c in formatted if c.isascii() and c.isdigit())
    return digits or None


def _score(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedAnswer(
            "no 'fraud_score'" if value is None else f"'fraud_score' is {_json_type(value)}"
        )
    if not 0 <= value <= 100:  # NaN and infinities fail this too
        raise MalformedAnswer("'fraud_score' is outside 0-100")
    return round(value)


def _flag(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise MalformedAnswer(f"{key!r} is {_json_type(value)}, not a boolean")
    return value


def _evidence(data: dict[str, Any], cut: Cut) -> dict[str, Any]:
    """Stable facts: the signal flags, validity and line facts (present ones only)."""
    facts: dict[str, Any] = {}
    for key, name in {**FLAGS, **FACTS_BOOL}.items():
        value = _flag(data, key)
        if value is not None:
            facts[name] = value
    for key, name in FACTS_TEXT.items():
        value = data.get(key)
        if isinstance(value, str) and value.strip().lower() not in NOT_AVAILABLE:
            facts[name] = cut(value, TEXT_CHARS)
    return facts


def _json_type(value: object) -> str:
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
