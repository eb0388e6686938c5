"""Reading Twilio's answers (pure): Lookup v2 facts, the Nomorobo add-on, error bodies.

Rules, and why:

- Anything that is not the documented shape raises ``Malformed`` with a short reason:
  a body we cannot read must become an error, never a verdict and never "no CNAM".
- Lookup v2 (``Fields=caller_name,line_type_intelligence``) gives facts, not a
  verdict: CNAM and line type go into the evidence (``LineFacts.evidence``). A valid
  answer must be about the number asked (``phone_number``), or the server answered
  another question.
- Evidence holds only stable facts, so an unchanged answer stays one history row and
  a changed CNAM (hijacked or reassigned display name) starts a new one. The CNAM is
  whitespace-collapsed (a trailing blank must not look like a change) but keeps its
  case and spelling: that is what phones display.
- The Nomorobo add-on's ``score`` is binary in practice (1 robocaller/spam, 0 not).
  Its failure comes back as HTTP 200 with ``status: failed``: ``AddonFailed``, an
  error (``nomorobo_verdict`` documents the mapping).
- ``cost`` counts the paid items present in a 200 answer: each requested v2 package
  that came back as an object (Twilio bills Caller Name even when it finds no name)
  and the add-on entry, succeeded or not. Counting what came back, not what was
  asked, is as close as the answer lets us get; counting a failed add-on keeps the
  count on the safe (high) side.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cidrep.contract import Verdict

__all__ = [
    "ADDON",
    "FIELDS",
    "FLAG_THRESHOLD",
    "AddonFailed",
    "LineFacts",
    "Malformed",
    "error_detail",
    "nomorobo_verdict",
    "parse_addon",
    "parse_v2",
]

FIELDS = ("caller_name", "line_type_intelligence")
ADDON = "nomorobo_spamscore"
FLAG_THRESHOLD = 0.5  # Nomorobo score at or above which a number is flagged
EXCERPT_CHARS = 120

Cut = Callable[[str, int], str]


class Malformed(Exception):
    """The answer is not the documented shape; the message says what is wrong."""


class AddonFailed(Exception):
    """Twilio answered 200 but the add-on reported a failure (error-in-200)."""


def nomorobo_verdict(score: object) -> tuple[Verdict, int, str | None]:
    """``(verdict, cidrep score 0-100, category)`` for a Nomorobo spam score.

    ==========================  =========  =====  =========
    Nomorobo ``score``          verdict    score  category
    ==========================  =========  =====  =========
    1 (robocaller/spammer)      flagged    100    robocall
    0 (not known as such)       clean      0      none
    x in [0.5, 1] (fractional)  flagged    100x   robocall
    x in [0, 0.5)               clean      100x   none
    anything else               ``Malformed`` (an error, never a verdict)
    ==========================  =========  =====  =========

    The add-on is documented as binary; fractions follow Nomorobo's own 0..1 scale
    (its direct v1 API), split at one half. Booleans, strings, NaN and values
    outside [0, 1] are refused: guessing would turn a changed format into a verdict.
    """
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise Malformed(f"Nomorobo score is {_kind(score)}, not a number")
    if not math.isfinite(score) or not 0 <= score <= 1:
        raise Malformed(f"Nomorobo score {score!r} is outside 0..1")
    percent = round(score * 100)
    if score >= FLAG_THRESHOLD:
        return Verdict.FLAGGED, percent, "robocall"
    return Verdict.CLEAN, percent, None


@dataclass(frozen=True)
class LineFacts:
    """What Lookup v2 said about one number (``valid`` False: nothing else is read)."""

    valid: bool
    validation_errors: tuple[str, ...] = ()
    caller_name: str | None = None
    caller_type: str | None = None
    caller_name_error: int | str | None = None
    line_type: str | None = None
    line_carrier: str | None = None
    line_type_error: int | str | None = None
    cost: int = 0

    def evidence(self) -> dict[str, Any]:
        """Stable facts only. ``caller_name`` is always present (None: no CNAM on file),
        so "the name disappeared" is a change too. The number's own carrier is
        ``line_carrier``, not ``carrier`` (that key names the carrier labelling calls)."""
        if not self.valid:
            return {"valid": False, "validation_errors": list(self.validation_errors)}
        found: dict[str, Any] = {
            "caller_name": self.caller_name,
            "caller_type": self.caller_type,
            "line_type": self.line_type,
            "line_carrier": self.line_carrier,
        }
        if self.caller_name_error is not None:
            found["caller_name_error"] = self.caller_name_error
        if self.line_type_error is not None:
            found["line_type_error"] = self.line_type_error
        return found


def load_object(body: bytes | str, cut: Cut) -> dict[str, Any]:
    """The JSON object in ``body``, or ``Malformed`` (empty, not JSON, not an object)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if not text.strip():
        raise Malformed("empty body")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Malformed(f"not JSON: {cut(text, 60)}") from None
    if not isinstance(data, dict):
        raise Malformed(f"expected a JSON object, got {_kind(data)}")
    return data


def parse_v2(body: bytes | str, asked: str, cut: Cut) -> LineFacts:
    """Lookup v2's answer for ``asked`` (E.164) with both ``FIELDS`` requested."""
    data = load_object(body, cut)
    valid = data.get("valid")
    if not isinstance(valid, bool):
        raise Malformed("no boolean 'valid'" if valid is None else "'valid' is not a boolean")
    if not valid:
        errors = data.get("validation_errors") or []
        if not isinstance(errors, list) or not all(isinstance(e, str) for e in errors):
            raise Malformed("'validation_errors' is not a list of strings")
        return LineFacts(valid=False, validation_errors=tuple(errors))
    _same_number(data, asked)
    caller = _package(data, "caller_name")
    line = _package(data, "line_type_intelligence")
    return LineFacts(
        valid=True,
        caller_name=_name(_text(caller, "caller_name", "caller_name")),
        caller_type=_text(caller, "caller_type", "caller_name"),
        caller_name_error=_code(caller, "caller_name"),
        line_type=_text(line, "type", "line_type_intelligence"),
        line_carrier=_name(_text(line, "carrier_name", "line_type_intelligence")),
        line_type_error=_code(line, "line_type_intelligence"),
        cost=sum(1 for package in (caller, line) if package is not None),
    )


def parse_addon(body: bytes | str, asked: str, cut: Cut) -> tuple[int | float, int]:
    """``(Nomorobo score, cost)`` from a v1 ``AddOns=nomorobo_spamscore`` answer.

    ``AddonFailed`` when the add-ons envelope or the Nomorobo entry did not succeed;
    its cost is then in ``AddonFailed.args[1]``.
    """
    data = load_object(body, cut)
    _same_number(data, asked)
    envelope = data.get("add_ons")
    if not isinstance(envelope, dict):
        raise Malformed(
            f"no 'add_ons' object (is the {ADDON} add-on installed in the Twilio Marketplace?)"
        )
    results = envelope.get("results")
    entry = results.get(ADDON) if isinstance(results, dict) else None
    cost = 1 if isinstance(entry, dict) else 0
    if envelope.get("status") != "successful":
        raise AddonFailed(_failure("Twilio add-ons", envelope, cut), cost)
    if not isinstance(entry, dict):
        raise Malformed(
            f"no '{ADDON}' in add_ons.results (is it installed in the Twilio Marketplace?)"
        )
    if entry.get("status") != "successful":
        raise AddonFailed(_failure("Twilio's Nomorobo add-on", entry, cut), cost)
    result = entry.get("result")
    if not isinstance(result, dict) or "score" not in result:
        raise Malformed(f"add_ons.results.{ADDON}.result has no 'score'")
    score = result["score"]
    nomorobo_verdict(score)  # refuses a score that cannot be mapped
    return score, cost


def error_detail(body: bytes | str, cut: Cut) -> tuple[int | None, str | None]:
    """``(code, message)`` of a Twilio error body ``{"code", "message", ...}``, if any."""
    try:
        data = load_object(body, cut)
    except Malformed:
        return None, None
    code = data.get("code")
    message = data.get("message")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        cut(message, EXCERPT_CHARS) if isinstance(message, str) and message.strip() else None,
    )


# -- helpers -----------------------------------------------------------------------


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), f"a {type(value).__name__}")


def _same_number(data: dict[str, Any], asked: str) -> None:
    number = data.get("phone_number")
    if number != asked:
        shown = f"{number!r}"[:40] if number is not None else "none"
        raise Malformed(f"the answer is about another number ({shown}, asked {asked})")


def _package(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Malformed(f"'{name}' is {_kind(value)}, not an object")
    return value


def _text(package: dict[str, Any] | None, key: str, where: str) -> str | None:
    if package is None:
        return None
    value = package.get(key)
    if value is None or isinstance(value, str):
        return value
    raise Malformed(f"'{where}.{key}' is {_kind(value)}, not text")


def _code(package: dict[str, Any] | None, where: str) -> int | str | None:
    if package is None:
        return None
    value = package.get("error_code")
    if value is None or (isinstance(value, int | str) and not isinstance(value, bool)):
        return value
    raise Malformed(f"'{where}.error_code' is {_kind(value)}")


def _name(value: str | None) -> str | None:
    """Whitespace collapsed; an empty name is no name."""
    if value is None:
        return None
    return " ".join(value.split()) or None


def _failure(what: str, part: dict[str, Any], cut: Cut) -> str:
    code = part.get("code")
    message = part.get("message")
    detail = f" (code {code})" if isinstance(code, int | str) and not isinstance(code, bool) else ""
    text = f": {cut(message, EXCERPT_CHARS)}" if isinstance(message, str) and message else ""
    return f"{what} failed{detail}{text}"
