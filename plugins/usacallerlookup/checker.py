"""The ``usacallerlookup`` source: FTC complaint profiles from USACallerLookup's free API.

USACallerLookup (an unofficial third party, sources.md §7a) serves, for one NANP number
at ``GET {base_url}/number/{phone}``, the FTC Do Not Call complaints naming it: total,
robocalls, first and last dates, reporting states, top subjects. No key; 60 requests
per minute per IP, then HTTP 429 with ``Retry-After`` (the runner's session honours
it and pauses the whole source; a longer one than ``retry_after_max`` ends the run's
requests to it).

Rules, per number, and why:

- **The number's format is converted in one place** (``source_number``): E.164
  ``+1NXXNXXXXXX`` becomes the 10 digits the service echoes back as ``digits``. A
  number outside NANP, or one the service's own pattern (``[2-9]XX[2-9]XXXXXX``) would
  reject, is ``unknown`` without a request: the service cannot judge it.
- **A 400 ``invalid_number``** is the service saying it cannot judge the number (its
  registry may lag a new area code): ``unknown``, with a fixed reason, not an error
  that would show the source failing forever for that one number.
- **Everything else the server does wrong is an error, never a verdict**: a throttle
  or 5xx that outlasts the retries, a refusal (401/403: the API has no key, so a
  firewall or IP block is in the way), a missing route (404: wrong ``base_url``), an
  error object in a 200, a body that is not JSON or not a consistent profile of the
  number asked (see ``profile``). Each is one line; server text in it goes through
  ``Checker.excerpt`` (redacted, then cut).
- **The number's page** (``url``) is built from ``base_url``'s origin, without any
  userinfo, not copied from the answer: a link in a report is never server-chosen
  and never carries a proxy password.
- **Free**: ``cost_units`` is 0 on every observation and ``cost_estimate`` is 0, so a
  ``daily_budget`` never holds it back; ``rate_limit`` is what keeps it polite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from cidrep.contract import (
    Http,
    LookupChecker,
    Observation,
    SourceError,
    SourceSettings,
    Verdict,
    nanp_digits,
)

from .profile import ErrorAnswer, Malformed, error_body, parse_profile
from .settings import UsaCallerLookupSettings
from .verdict import Rule, assess

__all__ = [
    "NOT_COVERED",
    "REJECTED",
    "UsaCallerLookupChecker",
    "UsaCallerLookupSettings",
    "dashed",
    "public_origin",
    "source_number",
]

SOURCE = "USACallerLookup"
NOT_COVERED = "USACallerLookup covers US/NANP numbers only"
REJECTED = "USACallerLookup does not accept this number (HTTP 400 invalid_number)"
MESSAGE_CHARS = 300
# The service's own pattern for ``digits``: area code and exchange start with 2-9.
SOURCE_DIGITS = re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}")


def source_number(e164: str) -> str | None:
    """E.164 to the service's format, the one conversion: ``+12025550143`` ->
    ``2025550143``; None for a number the service cannot judge (not NANP, or not of
    its ``[2-9]XX[2-9]XXXXXX`` shape)."""
    digits = nanp_digits(e164)
    if digits is None or not SOURCE_DIGITS.fullmatch(digits):
        return None
    return digits


def dashed(digits: str) -> str:
    """``2025550143`` -> ``202-555-0143`` (how the service writes numbers and pages)."""
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def public_origin(base_url: str) -> str:
    """``scheme://host[:port]`` of ``base_url``: no userinfo, path, query or fragment."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class UsaCallerLookupChecker(LookupChecker):
    """Asks USACallerLookup about one number per request.

    ``clock`` returns the aware "now" whose UTC date ends the flag window; tests
    replace it (the runner constructs checkers as ``cls(settings)``).
    """

    name: ClassVar[str] = "usacallerlookup"
    description: ClassVar[str] = (
        "USACallerLookup (free, unofficial): FTC Do Not Call complaints naming the number"
    )
    disclosure: ClassVar[str] = (
        "Sends each monitored NANP number (10 digits, in the URL path) to USACallerLookup "
        "(www.usacallerlookup.com), an unofficial third-party API built on FTC complaint data."
    )
    settings_model: ClassVar[type[SourceSettings]] = UsaCallerLookupSettings

    settings: UsaCallerLookupSettings

    def __init__(self, settings: SourceSettings) -> None:
        super().__init__(settings)
        self.clock: Callable[[], datetime] = _utcnow

    def preflight(self) -> str | None:
        """No key to miss; only an emptied ``base_url`` leaves nothing to ask."""
        if not self.settings.base_url.strip():
            return "no base_url configured"
        return None

    def cost_estimate(self, numbers: Sequence[str]) -> float:
        return 0.0  # free: nothing to reserve against a daily_budget

    def endpoint(self, digits: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/number/{digits}"

    def page_url(self, digits: str) -> str:
        """The number's public page on the site, e.g. ``.../202-555-0143/``."""
        return f"{public_origin(self.settings.base_url)}/{dashed(digits)}/"

    @property
    def rule(self) -> Rule:
        return Rule(self.settings.flag_min_complaints, self.settings.flag_window_days)

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        """One observation per number, in order; never raises ``SourceError``."""
        today = self.clock().astimezone(UTC).date()
        return [await self._one(number, today, http) for number in numbers]

    async def _one(self, number: str, today: date, http: Http) -> Observation:
        digits = source_number(number)
        if digits is None:
            return Observation(number, Verdict.UNKNOWN, evidence={"reason": NOT_COVERED})
        try:
            response = await http.get(self.endpoint(digits), headers={"Accept": "application/json"})
        except SourceError as exc:
            return Observation.failed(number, self.excerpt(str(exc), MESSAGE_CHARS))
        return self._read(number, digits, response, today)

    def _read(self, number: str, digits: str, response: Any, today: date) -> Observation:
        """The observation for one final response (the session already retried 429/5xx)."""
        status = int(response.status_code)
        body = response.content
        if status == 200:
            try:
                profile = parse_profile(body, digits, self.excerpt)
            except ErrorAnswer as exc:
                detail = ", ".join(part for part in (exc.code, exc.message) if part)
                return Observation.failed(
                    number, f"{SOURCE} answered HTTP 200 with an error: {detail}"
                )
            except Malformed as exc:
                return Observation.failed(
                    number, f"{SOURCE} returned a malformed response: {self.excerpt(str(exc))}"
                )
            return assess(number, profile, today, self.rule, url=self.page_url(digits))
        code, message = error_body(body, self.excerpt)
        if status == 400 and code == "invalid_number":
            return Observation(number, Verdict.UNKNOWN, evidence={"reason": REJECTED})
        return Observation.failed(number, self._status_error(status, code, message))

    def _status_error(self, status: int, code: str | None, message: str | None) -> str:
        """One line for a final non-200 answer."""
        what = f"HTTP {status}{', ' + code if code else ''}"
        detail = f": {message}" if message else ""
        if status in (401, 403):
            return (
                f"{SOURCE} refused the request ({what}); the API needs no key, so a firewall, "
                f"proxy or block on this IP is in the way{detail}"
            )
        if status == 404:
            return (
                f"{SOURCE} has no such API route ({what}): check "
                f"sources.{self.name}.base_url{detail}"
            )
        if status == 400:
            return f"{SOURCE} rejected the request ({what}){detail}"
        return f"{SOURCE} answered {what}{detail}"
