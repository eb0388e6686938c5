"""Phone-number normalisation: everything stored and compared is E.164.

phonenumbers (Google's libphonenumber metadata) decides validity, so a number
that carriers could never present as caller ID is rejected at the door instead
of producing years of meaningless "unknown" history.

One exception, because metadata lags reality: NANP opens new area codes every
year (e.g. 624 in 2025), and a bundled metadata file that predates one would
refuse a real, working caller ID with no way around it. A +1 number that
phonenumbers calls *possible* but not *valid*, and that has the NANP shape
(area code ``[2-9][0-8]X`` not ``N11``, exchange ``[2-9]XX`` not ``N11``, 10
digits), is accepted with a note saying so. ``normalize_noted`` returns that
note so the CLI can print it; ``normalize`` accepts the same numbers silently.
"""

from __future__ import annotations

import re

# Area code: N = 2-9; a middle digit 9 is reserved for expanding the plan, and N11
# codes are service codes (211, 911), never area codes. Exchanges: no N11 either.
NANP_SHAPE = re.compile(r"(?!\d11)[2-9][0-8]\d(?!\d11)[2-9]\d{2}\d{4}")
E164 = re.compile(r"\+[1-9]\d{1,14}")
QUOTE_LIMIT = 40


class InvalidNumber(ValueError):
    """A number that cannot be normalised; the message quotes (the start of) the input."""


def normalize_noted(raw: str, region: str = "US") -> tuple[str, str | None]:
    """Return ``(e164, note)`` for ``raw``, or raise ``InvalidNumber``.

    ``note`` is None for a number the metadata knows. For a possible NANP number on
    an area code newer than the metadata it is one line for the user, e.g.
    ``+16242345678 is not in this phone-number metadata (a new area code?); accepted
    as a possible NANP number``. ``region`` is used for numbers written without a
    country code; numbers with ``+`` or ``00`` prefixes carry their own.

    Any text in, only ``InvalidNumber`` out; an accepted result is ``+`` and at most
    15 digits, and normalising it again returns it unchanged (tests/test_phone.py
    checks both with hypothesis).
    """
    import phonenumbers  # lazy: ~40 ms of metadata, only when numbers are touched

    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise InvalidNumber("empty phone number")
    where = "" if text.startswith("+") else f" in region {region.upper()}"
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{quote(raw)} is not a phone number ({_reason(exc)})") from None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    note = None
    if not phonenumbers.is_valid_number(parsed):
        if not _possible_nanp(parsed, e164):
            raise InvalidNumber(f"{quote(raw)} is not a valid phone number{where}")
        note = (
            f"{e164} is not in this phone-number metadata (a new area code?); "
            "accepted as a possible NANP number"
        )
    if not E164.fullmatch(e164):
        # phonenumbers calls some 16-digit numbers valid; E.164 (and caller ID) stops at 15.
        raise InvalidNumber(f"{quote(raw)} is too long for a phone number (E.164 has 15 digits)")
    return e164, note


def normalize(raw: str, region: str = "US") -> str:
    """Return ``raw`` as E.164 (``+12025550143``) or raise ``InvalidNumber``.

    Same acceptance as ``normalize_noted`` (new NANP area codes included), minus
    the note, for callers that only need the number.
    """
    return normalize_noted(raw, region)[0]


def _possible_nanp(parsed: object, e164: str) -> bool:
    import phonenumbers

    return (
        getattr(parsed, "country_code", None) == 1
        and phonenumbers.is_possible_number(parsed)
        and e164.startswith("+1")
        and NANP_SHAPE.fullmatch(e164[2:]) is not None
    )


def quote(raw: object) -> str:
    """``repr`` of the input, cut to ``QUOTE_LIMIT`` characters: one short line, always."""
    text = raw if isinstance(raw, str) else str(raw)
    if len(text) <= QUOTE_LIMIT:
        return repr(text)
    return repr(text[:QUOTE_LIMIT]) + f"... ({len(text)} characters)"


def nanp_digits(e164: str) -> str | None:
    """The 10-digit national form of a NANP (+1) number, else None.

    US public complaint data (FTC, FCC) only carries NANP numbers in this form.
    """
    if e164.startswith("+1") and len(e164) == 12:
        return e164[2:]
    return None


def display(e164: str) -> str:
    """Human form for terminals: ``+1 202-555-0143`` for NANP, E.164 otherwise."""
    digits = nanp_digits(e164)
    if digits:
        return f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return e164


def _reason(exc: Exception) -> str:
    text = str(exc)
    # "(1) The string supplied did not seem to be a phone number." -> readable tail
    return text.split(") ", 1)[-1].rstrip(".").lower() if ") " in text else text
