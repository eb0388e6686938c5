"""Phone-number normalisation: everything stored and compared is E.164.

phonenumbers (Google's libphonenumber metadata) decides validity, so a number
that carriers could never present as caller ID is rejected at the door instead
of producing years of meaningless "unknown" history.
"""

from __future__ import annotations


class InvalidNumber(ValueError):
    """A number that cannot be normalised; the message quotes the input."""


def normalize(raw: str, region: str = "US") -> str:
    """Return ``raw`` as E.164 (``+12025550143``) or raise ``InvalidNumber``.

    ``region`` is used for numbers written without a country code; numbers with
    ``+`` or ``00`` prefixes carry their own.
    """
    import phonenumbers  # lazy: ~40 ms of metadata, only when numbers are touched

    text = (raw or "").strip()
    if not text:
        raise InvalidNumber("empty phone number")
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{raw!r} is not a phone number ({_reason(exc)})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(
            f"{raw!r} is not a valid phone number"
            + ("" if text.startswith("+") else f" in region {region.upper()}")
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


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
