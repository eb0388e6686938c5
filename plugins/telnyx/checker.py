"""The ``telnyx`` source: Telnyx Number Reputation (Hiya-backed spam risk of your own numbers).

Telnyx reports, for each phone number an Enterprise enrolled in Number Reputation,
the spam risk Hiya sees (``low``/``medium``/``high``), a category and four 0-100
scores (sources.md §6b). Only **your own** numbers can be checked: US numbers, in
service, in your Telnyx inventory, enrolled under an enterprise whose reputation
``status`` and ``loa_status`` are both ``approved``.

Rules, and why:

- **One request per number**: ``GET {base_url}/enterprises/{id}/reputation/numbers/
  {phone}`` with ``Authorization: Bearer``. Telnyx also takes up to 100 numbers per
  ``POST``, but that call enrolls them (billable, atomic), and cidrep's ``Http`` is
  GET-only by design; the per-number GET is the read Telnyx documents.
- **The number's format is converted in one place** (``source_number``): E.164 with
  the ``+`` percent-encoded as ``%2B`` in the path, as Telnyx requires. A number
  outside NANP is ``unknown`` without a request: Telnyx covers US numbers only.
- **Cached by default, fresh on request**: a cached read is free; ``fresh = true``
  adds ``?fresh=true``, billed per number. ``cost_estimate`` reserves 1 unit per
  number sent **in both modes**, because Telnyx fetches a never-checked number live
  (billed) even on a cached read, and which numbers those are is not known
  beforehand. ``cost_units`` reports what the answer shows (``verdict.cached_cost``);
  a request that failed without an answer we could read (timeout, connection, a
  throttle or 5xx outlasting the retries) counts its estimate, 1: it may have been
  served and billed. So does a 200 we cannot read (malformed, or an ``errors`` list):
  the cost rule needs the answer. An HTTP 4xx answer was refused, so it costs 0.
- **The enterprise is checked once per run** (``verify_enterprise``, free): a
  reputation ``status`` or ``loa_status`` other than ``approved`` (LOA not approved,
  activation pending or rejected), a 404 (wrong ``enterprise_id`` or reputation not
  enabled) or a refused key becomes one error for every number, and no number is
  asked. The answer is kept for the run; a transport failure is not (the next
  number tries again).
- **A number Telnyx cannot judge is ``unknown``** with a fixed reason: HTTP 404 (the
  number is not enrolled for this enterprise: not on Telnyx, or never added),
  HTTP 422 (Telnyx rejects the number, e.g. not a US number), and a 200 with
  ``reputation_data: null`` (enrolled, not refreshed yet).
- **Everything else the server does wrong is an error, never a verdict**: 401/403
  (refused key, or a 403/422 whose text speaks of the LOA or approval), a throttle
  (429 with ``x-ratelimit-*``; the session retries with backoff and honours a
  ``Retry-After`` if one is sent), 5xx, an ``errors`` list in a 200, a body that is
  not JSON or not a reputation of the number asked (``schema``). Each is one line;
  server text in it goes through ``Checker.excerpt`` (secrets redacted, then cut).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import quote

from cidrep.contract import (
    Http,
    LookupChecker,
    Observation,
    SourceError,
    SourceSettings,
    Verdict,
    nanp_digits,
)

from . import schema
from .settings import TelnyxSettings
from .verdict import assess, cached_cost

__all__ = [
    "NOT_COVERED",
    "NOT_ENROLLED",
    "NO_DATA_YET",
    "REJECTED_NUMBER",
    "TelnyxChecker",
    "TelnyxSettings",
    "source_number",
]

SOURCE = "Telnyx"
NOT_COVERED = "Telnyx Number Reputation covers US numbers only"
NOT_ENROLLED = (
    "not enrolled in Telnyx Number Reputation for this enterprise (HTTP 404): only numbers "
    "in your Telnyx inventory, added to reputation monitoring, can be checked"
)
REJECTED_NUMBER = (
    "Telnyx Number Reputation rejected the number (HTTP 422): it takes in-service US "
    "numbers in your Telnyx inventory"
)
NO_DATA_YET = "enrolled, but Telnyx has no reputation data for it yet (first refresh pending)"
MESSAGE_CHARS = 300
# Text of a 403/422 that is about the enterprise's approval gates, not the number.
APPROVAL_WORDS = re.compile(
    r"\bloa\b|letter of authori[sz]ation|not approved|pending approval|not enabled|"
    r"terms of service",
    re.IGNORECASE,
)


def source_number(e164: str) -> str | None:
    """E.164 to the path segment Telnyx takes, the one conversion: ``+12025550143``
    -> ``%2B12025550143``; None outside NANP (Telnyx covers US numbers only)."""
    digits = nanp_digits(e164)
    if digits is None or not (digits.isascii() and digits.isdigit() and len(digits) == 10):
        return None
    return quote(f"+1{digits}", safe="")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TelnyxChecker(LookupChecker):
    """Reads each number's Number Reputation from Telnyx, one GET per number.

    ``clock`` returns the aware "now" used when an answer has no ``Date`` header (for
    the cost of a cached read); tests replace it (the runner constructs checkers as
    ``cls(settings)``).
    """

    name: ClassVar[str] = "telnyx"
    description: ClassVar[str] = (
        "Telnyx Number Reputation (Hiya spam risk of your own Telnyx numbers; paid)"
    )
    disclosure: ClassVar[str] = (
        "Sends each monitored NANP number (E.164, in the URL path) with your API key and "
        "enterprise id to Telnyx (api.telnyx.com) to read its Number Reputation; "
        "fresh reads are billed by Telnyx."
    )
    settings_model: ClassVar[type[SourceSettings]] = TelnyxSettings

    settings: TelnyxSettings

    def __init__(self, settings: SourceSettings) -> None:
        super().__init__(settings)
        self.clock: Callable[[], datetime] = _utcnow
        self._verified: SourceError | bool = False  # True: approved; an error: not usable
        self._verify_lock = asyncio.Lock()

    def preflight(self) -> str | None:
        s = self.settings
        if s.api_key is None or not s.api_key.get_secret_value():
            return "no api_key configured"
        if not s.enterprise_id:
            return "no enterprise_id configured"
        if not s.base_url.strip():
            return "no base_url configured"
        return None

    def cost_estimate(self, numbers: Sequence[str]) -> float:
        """1 unit per number that will be sent, cached or fresh (see the module doc)."""
        return float(sum(1 for number in numbers if source_number(number) is not None))

    # -- URLs and headers ---------------------------------------------------------

    @property
    def enterprise_url(self) -> str:
        base = self.settings.base_url.rstrip("/")
        return f"{base}/enterprises/{self.settings.enterprise_id}/reputation"

    def number_url(self, segment: str) -> str:
        return f"{self.enterprise_url}/numbers/{segment}"

    def _headers(self) -> dict[str, str]:
        key = self.settings.api_key
        secret = key.get_secret_value() if key is not None else ""
        return {"Authorization": f"Bearer {secret}", "Accept": "application/json"}

    # -- lookup -------------------------------------------------------------------

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        """One observation per number, in order; never raises ``SourceError``."""
        return [await self._one(number, http) for number in numbers]

    async def _one(self, number: str, http: Http) -> Observation:
        segment = source_number(number)
        if segment is None:
            return Observation(number, Verdict.UNKNOWN, evidence={"reason": NOT_COVERED})
        try:
            await self._verify(http)
        except SourceError as exc:
            return Observation.failed(number, self.excerpt(str(exc), MESSAGE_CHARS))
        params = {"fresh": "true"} if self.settings.fresh else None
        try:
            response = await http.get(
                self.number_url(segment), params=params, headers=self._headers()
            )
        except SourceError as exc:
            # No answer we could read: it may have been served (and billed) all the same.
            return Observation.failed(number, self.excerpt(str(exc), MESSAGE_CHARS), cost_units=1.0)
        return self._read(number, response)

    def _read(self, number: str, response: Any) -> Observation:
        """The observation for one final response (the session already retried 429/5xx)."""
        status = int(response.status_code)
        body = response.content
        if status == 200:
            try:
                rep = schema.parse_number(body, number, self.excerpt)
            except schema.ErrorAnswer as exc:
                message = f"{SOURCE} answered HTTP 200 with an error: {exc}"
                return Observation.failed(number, message, cost_units=1.0)
            except schema.Malformed as exc:
                message = f"{SOURCE} returned a malformed response: {self.excerpt(str(exc))}"
                return Observation.failed(number, message, cost_units=1.0)
            cost = 1.0 if self.settings.fresh else None
            if rep is None:
                return Observation(
                    number,
                    Verdict.UNKNOWN,
                    evidence={"reason": NO_DATA_YET},
                    cost_units=cost if cost is not None else cached_cost(None, self._now(response)),
                )
            if cost is None:
                cost = cached_cost(rep.last_refreshed_at, self._now(response))
            return assess(number, rep, self.settings.flag_at, cost)
        code, text = schema.error_body(body, self.excerpt)
        if status == 404:
            return Observation(number, Verdict.UNKNOWN, evidence=_reason(NOT_ENROLLED, code))
        if status == 422 and not _about_approval(text):
            return Observation(number, Verdict.UNKNOWN, evidence=_reason(REJECTED_NUMBER, code))
        return Observation.failed(number, self._status_error(status, code, text))

    def _now(self, response: Any) -> datetime:
        """When Telnyx answered: its ``Date`` header (same clock as its timestamps),
        else ours."""
        value = response.headers.get("date") if response.headers is not None else None
        if value:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                return when if when.tzinfo else when.replace(tzinfo=UTC)
        return self.clock()

    def _status_error(self, status: int, code: str | None, text: str | None) -> str:
        """One line for a final non-200 answer (for numbers and the enterprise check)."""
        what = f"HTTP {status}{', code ' + code if code else ''}"
        detail = f": {text}" if text else ""
        if status in (403, 422) and _about_approval(text):
            return (
                f"{SOURCE} Number Reputation is not approved for enterprise "
                f"{self.settings.enterprise_id} ({what}){detail}; reputation status and "
                "loa_status must both read approved"
            )
        if status == 401:
            return f"{SOURCE} rejected the API key ({what}){detail}: check sources.telnyx.api_key"
        if status == 403:
            return (
                f"{SOURCE} refused access ({what}){detail}: check that sources.telnyx.api_key "
                f"may use enterprise {self.settings.enterprise_id}"
            )
        return f"{SOURCE} answered {what}{detail}"

    # -- the enterprise check -----------------------------------------------------

    async def _verify(self, http: Http) -> None:
        """Raise ``SourceError`` unless the enterprise's reputation is approved.

        Asked once per checker (one run); a definitive answer is kept, a transport
        failure is not.
        """
        if not self.settings.verify_enterprise or self._verified is True:
            return
        async with self._verify_lock:
            if isinstance(self._verified, SourceError):
                raise self._verified
            if self._verified is True:
                return
            response = await http.get(self.enterprise_url, headers=self._headers())
            problem = self._enterprise_problem(response)
            if problem is None:
                self._verified = True
                return
            self._verified = SourceError(problem)
            raise self._verified

    def _enterprise_problem(self, response: Any) -> str | None:
        """Why the enterprise's reputation settings make checks impossible, or None."""
        status = int(response.status_code)
        body = response.content
        ent = self.settings.enterprise_id
        if status == 200:
            try:
                found = schema.parse_enterprise(body, self.excerpt)
            except schema.ErrorAnswer as exc:
                return f"{SOURCE} answered HTTP 200 with an error for enterprise {ent}: {exc}"
            except schema.Malformed as exc:
                return (
                    f"{SOURCE} returned malformed reputation settings for enterprise {ent}: "
                    f"{self.excerpt(str(exc))}"
                )
            gates = {"status": found.status, "loa_status": found.loa_status}
            pending = {k: v for k, v in gates.items() if v is not None and v != "approved"}
            if not pending:
                return None
            states = ", ".join(f"{k} {v}" for k, v in pending.items())
            reasons = f" (rejection reasons: {'; '.join(found.rejection_reasons)})"
            return (
                f"{SOURCE} Number Reputation is not approved for enterprise {ent}: {states}; "
                "reputation status and loa_status must both read approved"
                + (reasons if found.rejection_reasons else "")
            )
        code, text = schema.error_body(body, self.excerpt)
        if status == 404:
            detail = f": {text}" if text else ""
            return (
                f"{SOURCE} has no Number Reputation for enterprise {ent} (HTTP 404){detail}; "
                "check sources.telnyx.enterprise_id, and that reputation is enabled for it"
            )
        return self._status_error(status, code, text)


def _about_approval(text: str | None) -> bool:
    """Whether an error's text is about the enterprise's approval (LOA, activation, ToS)."""
    return bool(text and APPROVAL_WORDS.search(text))


def _reason(reason: str, code: str | None) -> dict[str, Any]:
    """Evidence for an ``unknown``: the fixed reason, and Telnyx's error code if any."""
    return {"reason": reason, "telnyx_code": code} if code else {"reason": reason}
