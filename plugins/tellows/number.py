"""The one place where cidrep's E.164 numbers meet tellows' number format.

tellows takes a number in the URL path, national with a leading 0 or international
with ``+`` (sources.md §5, §8). cidrep holds E.164, so the international form is sent
as is, with the ``+`` percent-encoded (``%2B``): a bare ``+`` in a URL is read as a
space by form decoders, and a number read as ``" 1202..."`` could be taken for a
national number of another country. tellows is international, so any E.164 number
is sent; only a string that is not E.164 at all is refused (``None``).

tellows echoes the number it answered for as ``normalizedNumber``. ``same_number``
checks it against the number asked, so an answer about another number (a misread
country) never becomes this number's verdict.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["E164", "path_segment", "same_number", "to_tellows"]

E164 = re.compile(r"\+[1-9]\d{6,14}")
MAX_TRUNK_AT = 4  # a country code has 1-3 digits; a trunk 0 may follow it


def to_tellows(e164: str) -> str | None:
    """The number as tellows takes it (``+CC...``), or None if ``e164`` is not E.164."""
    if not isinstance(e164, str) or not E164.fullmatch(e164):
        return None
    return e164


def path_segment(e164: str) -> str | None:
    """``to_tellows`` encoded for the URL path: ``+12025550143`` -> ``%2B12025550143``."""
    number = to_tellows(e164)
    return None if number is None else quote(number, safe="")


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isdigit())


def same_number(reported: str | None, e164: str) -> bool:
    """Does tellows' ``normalizedNumber`` name the number asked?

    Lenient about spelling: punctuation is ignored, an ``00`` international prefix is
    dropped, one national trunk ``0`` kept after the country code (tellows writes
    ``+4901636209692``) is accepted, and so is the national form (``0`` and the
    national number, the country code left out). No digits at all (absent, ``""``)
    is no claim, so it does not contradict.
    """
    if reported is None:
        return True
    got = _digits(reported)
    if not got:
        return True
    want = _digits(e164)
    if got.startswith("00") and not reported.lstrip().startswith("+"):
        got = got[2:]
    if got == want:
        return True
    if got.startswith("0") and not got.startswith("00"):
        national = got[1:]
        if len(national) >= 6 and want.endswith(national) and 1 <= len(want) - len(national) <= 3:
            return True
    return any(
        got[:at] == want[:at] and got[at] == "0" and got[at + 1 :] == want[at:]
        for at in range(1, min(MAX_TRUNK_AT, len(got) - 1))
    )
