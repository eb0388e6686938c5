"""The ``twilio`` source: Twilio Lookup v2 caller name (CNAM) and line type, and the
optional Nomorobo Spam Score add-on.

Per number (Twilio answers one number per request):

1. ``GET {base_url}/v2/PhoneNumbers/%2B1NNNNNNNNNN?Fields=caller_name,line_type_intelligence``
   with HTTP Basic auth (``account_sid:auth_token``). CNAM and line type are facts,
   not a verdict: a name alone cannot say spam. They go into the evidence, so a
   changed CNAM (hijacked or reassigned display name) starts a new history row.
2. Only when ``nomorobo_spamscore`` is on and v2 called the number valid:
   ``GET {base_url}/v1/PhoneNumbers/%2B1NNNNNNNNNN?AddOns=nomorobo_spamscore``. Its
   score is the verdict (``schema.nomorobo_verdict``). Without the add-on the
   verdict is ``unknown``.

Truthful state under faults:

- outside NANP: ``unknown`` without a request (CNAM and Nomorobo are US data; a
  paid lookup that cannot judge the number would be money for nothing);
- v2 ``valid: false``, or HTTP 404 with Twilio code 20404: ``unknown`` (not a valid
  number); a 404 without that code (a wrong ``base_url``) is an error;
- 401 (code 20003) or 403: an error naming the settings, and no further request in
  this run: the other numbers get the same error (asking again cannot succeed, and
  a flood of bad logins can get an account locked);
- 429 (code 20429) and 5xx are retried by the session (Retry-After honoured); when
  retries run out, an error;
- a malformed or non-JSON body, an answer about another number, or an add-on that
  failed inside HTTP 200: an error, never a verdict. ``lookup`` never raises.

Cost: one unit per paid item Twilio answered (``schema`` says which count): 2 per
number for v2, plus 1 with the add-on. An error keeps what was spent before it.
Error messages are one line; server text in them is redacted of the credentials
(all spellings, the Basic-auth one too) before it is cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, cast

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
from .settings import TwilioSettings, basic_credentials

__all__ = ["NOT_COVERED", "TwilioChecker", "TwilioSettings", "path_number"]

NOT_COVERED = "Twilio CNAM and Nomorobo cover US/NANP numbers only; not looked up"
INVALID = 20404  # Twilio's "not found": the number is not a valid phone number
MESSAGE_CHARS = 300
V2 = "Lookup v2"
V1 = "Nomorobo add-on (Lookup v1)"
V2_PARAMS = {"Fields": ",".join(schema.FIELDS)}
V1_PARAMS = {"AddOns": schema.ADDON}


def path_number(e164: str) -> str | None:
    """The number as Twilio's path segment, ``+12025550143`` -> ``%2B12025550143``.

    The one place the E.164 form is converted: ``+`` percent-encoded (a bare ``+``
    in a URL may be read as a space), NANP only (None otherwise, see module doc).
    """
    digits = nanp_digits(e164)
    if digits is None or not (len(digits) == 10 and digits.isascii() and digits.isdigit()):
        return None
    return f"%2B1{digits}"


class _Failed(SourceError):
    """One number's check failed; ``refused``: the credentials were turned down."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class _NotANumber(Exception):
    """HTTP 404 with Twilio code 20404: Twilio says this is not a valid number."""


class TwilioChecker(LookupChecker):
    """Twilio Lookup: CNAM and line type as evidence, Nomorobo (optional) as verdict."""

    name: ClassVar[str] = "twilio"
    description: ClassVar[str] = (
        "Twilio Lookup v2 caller name (CNAM) and line type; optional Nomorobo spam score (paid)"
    )
    disclosure: ClassVar[str] = (
        "Sends each monitored US/NANP number (E.164), with your Twilio credentials, to Twilio "
        "Lookup at lookups.twilio.com for its caller name and line type, and, when "
        "nomorobo_spamscore is on, to the Nomorobo add-on through Twilio. Paid per lookup."
    )
    settings_model: ClassVar[type[SourceSettings]] = TwilioSettings
    # A changed CNAM is news (a hijacked or reassigned display name): a ``changed`` alert.
    watched_evidence: ClassVar[dict[str, str]] = {"caller_name": "caller name (CNAM)"}

    settings: TwilioSettings

    def __init__(self, settings: SourceSettings) -> None:
        super().__init__(settings)
        self._redactor = self.settings.redactor()
        # Set by a 401/403: this run asks nothing more and repeats the message.
        self.refused: str | None = None

    def preflight(self) -> str | None:
        s = self.settings
        missing = [
            name
            for name, value in (("account_sid", s.account_sid), ("auth_token", s.auth_token))
            if value is None or not value.get_secret_value()
        ]
        if not missing:
            return None
        return f"no {' and '.join(missing)} configured"

    @property
    def units_per_number(self) -> int:
        """Cost units of one full check: caller_name + line_type_intelligence (+ add-on)."""
        return len(schema.FIELDS) + (1 if self.settings.nomorobo_spamscore else 0)

    def cost_estimate(self, numbers: Sequence[str]) -> float:
        """Every NANP number may cost a full check; others are never sent (0)."""
        return float(sum(self.units_per_number for n in numbers if path_number(n)))

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        """One observation per number, in order; never raises."""
        return [await self._check(number, http) for number in numbers]

    async def _check(self, number: str, http: Http) -> Observation:
        segment = path_number(number)
        if segment is None:
            return Observation(number, Verdict.UNKNOWN, evidence={"reason": NOT_COVERED})
        if self.refused is not None:
            return Observation.failed(number, self.refused)
        spent = 0
        where = V2
        try:
            try:
                body = await self._get(http, f"/v2/PhoneNumbers/{segment}", V2_PARAMS, V2)
            except _NotANumber:
                return Observation(
                    number, Verdict.UNKNOWN, evidence={"valid": False, "twilio_error": INVALID}
                )
            facts = schema.parse_v2(body, number, self.excerpt)
            spent += facts.cost
            # Server text (a CNAM) is redacted here already, not only by the runner.
            evidence = cast(dict[str, Any], self._redactor.value(facts.evidence()))
            if not facts.valid or not self.settings.nomorobo_spamscore:
                return Observation(number, Verdict.UNKNOWN, evidence=evidence, cost_units=spent)
            where = V1
            body = await self._get(http, f"/v1/PhoneNumbers/{segment}", V1_PARAMS, V1)
            score, cost = schema.parse_addon(body, number, self.excerpt)
            spent += cost
            verdict, percent, category = schema.nomorobo_verdict(score)
            evidence["nomorobo_score"] = score
            return Observation(
                number,
                verdict,
                category=category,
                score=percent,
                evidence=evidence,
                cost_units=spent,
            )
        except schema.AddonFailed as exc:
            message, cost = exc.args
            return self._failed(number, message, spent + cost)
        except schema.Malformed as exc:
            return self._failed(number, f"Twilio returned a malformed {where} answer: {exc}", spent)
        except _Failed as exc:
            if exc.refused and self.refused is None:
                self.refused = self._line(str(exc))
            return self._failed(number, str(exc), spent)
        except SourceError as exc:  # the session: throttled, timeout, unreachable, too big
            return self._failed(number, str(exc), spent)

    def _failed(self, number: str, message: str, spent: int) -> Observation:
        return Observation.failed(number, self._line(message), cost_units=spent)

    def _line(self, message: str) -> str:
        return self.excerpt(message, MESSAGE_CHARS)

    async def _get(self, http: Http, path: str, params: dict[str, str], what: str) -> bytes:
        """The body of a 200 answer; any other status raises (see ``_status_error``)."""
        url = f"{self.settings.base_url.rstrip('/')}{path}"
        response = await http.get(url, params=params, headers=self._headers())
        status = int(response.status_code)
        body: bytes = response.content
        if status == 200:
            return body
        code, message = schema.error_detail(body, self.excerpt)
        if status == 404 and code == INVALID and what == V2:
            raise _NotANumber
        raise self._status_error(status, code, message, what)

    def _headers(self) -> dict[str, str]:
        pair = self.settings.credentials()
        if pair is None:
            raise _Failed(f"Twilio: {self.preflight()}")
        return {"Authorization": f"Basic {basic_credentials(*pair)}", "Accept": "application/json"}

    def _status_error(
        self, status: int, code: int | None, message: str | None, what: str
    ) -> _Failed:
        """One line per non-200 answer, naming the setting to fix where there is one."""
        said = f"HTTP {status}" + (f", code {code}" if code is not None else "")
        detail = f": {message}" if message else ""
        if status == 401:
            return _Failed(
                f"Twilio rejected the credentials ({said}{detail}): check "
                "sources.twilio.account_sid and sources.twilio.auth_token",
                refused=True,
            )
        if status == 403:
            return _Failed(f"Twilio refused the {what} request ({said}){detail}", refused=True)
        if status == 404 and what == V1:
            return _Failed(
                f"Twilio answered {said} for the {what}{detail}: check that {schema.ADDON} is "
                "installed in the Twilio Marketplace and sources.twilio.base_url"
            )
        if status == 404:
            return _Failed(
                f"Twilio has no such resource ({said}){detail}: check sources.twilio.base_url"
            )
        if status == 400:
            return _Failed(f"Twilio rejected the {what} request ({said}){detail}")
        return _Failed(f"Twilio answered {said} to the {what} request{detail}")
