"""The ``ipqs`` source: IPQualityScore phone reputation (fraud_score, spammer, recent_abuse).

One GET per number: ``{base_url}/api/json/phone/{api_key}/{digits}?strictness=N``
(sources.md §3). The rules, and why:

- The key is in the URL PATH. It is percent-encoded as one segment (a ``/`` or ``?`` in
  a pasted key must not change the path), which is one of the spellings the redactor
  knows, so: the session sends it only to ``base_url``'s origin and refuses a redirect
  that would take it elsewhere; every error line is redacted (the session's own, and
  ours through ``Checker.excerpt``); ``url`` is never set, and no request URL is ever
  quoted in a message, stored or logged by this plugin.
- Errors arrive as HTTP 200 with ``success: false`` and a ``message``; they become an
  error observation naming the problem (key refused, quota spent, other), never a
  verdict. So do other statuses, an unreadable or malformed body, and an answer about
  another number than the one asked (``formatted`` differs).
- 429 and 5xx are retried by the session (Retry-After honoured); when it gives up, its
  one-line ``SourceError`` becomes the number's error.
- Cost: a lookup IPQS answered with ``success: true`` costs 1 unit (it counts against
  the IPQS quota); refusals, HTTP errors and transport failures cost 0.
  ``cost_estimate`` reserves 1 per number that will be sent, so ``daily_budget`` holds.
- A text that is not E.164 is never sent: ``unknown``. Everything else is asked: IPQS
  covers numbers worldwide.

``lookup`` never raises ``SourceError``: every number gets its own observation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from cidrep.contract import (
    Http,
    LookupChecker,
    Observation,
    SourceError,
    SourceSettings,
    Verdict,
)

from .answer import (
    MalformedAnswer,
    Refusal,
    Rule,
    answered_digits,
    evidence,
    ipqs_phone,
    judge,
    parse,
    server_message,
)
from .settings import IpqsSettings

__all__ = ["NOT_E164", "IpqsChecker", "IpqsSettings"]

NOT_E164 = "not an E.164 number; IPQS was not asked"
LOOKUP_COST = 1.0
MESSAGE_CHARS = 300
NUMBER_CHARS = 20


class IpqsChecker(LookupChecker):
    """Asks IPQS about each number, one request per number."""

    name: ClassVar[str] = "ipqs"
    description: ClassVar[str] = (
        "IPQualityScore phone reputation (fraud_score, spammer, recent_abuse); needs api_key"
    )
    disclosure: ClassVar[str] = (
        "Sends each monitored number (digits with country code) and your API key to "
        "IPQualityScore (www.ipqualityscore.com), one request per number; each lookup "
        "counts against your IPQS quota."
    )
    settings_model: ClassVar[type[SourceSettings]] = IpqsSettings

    settings: IpqsSettings

    def preflight(self) -> str | None:
        return None if self._key() else "no api_key configured"

    def cost_estimate(self, numbers: Sequence[str]) -> float:
        """One unit per number that will be sent (not-E.164 text is never sent)."""
        return LOOKUP_COST * sum(1 for number in numbers if ipqs_phone(number) is not None)

    def endpoint(self, digits: str) -> str:
        """The lookup URL; it HOLDS THE KEY, so it is never shown, stored or logged."""
        key = quote(self._key() or "", safe="")
        return f"{self.settings.base_url.rstrip('/')}/api/json/phone/{key}/{digits}"

    @property
    def rule(self) -> Rule:
        s = self.settings
        return Rule(s.flag_fraud_score, s.flag_spammer, s.flag_recent_abuse)

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        """One observation per number, in order; never raises ``SourceError``."""
        return [await self._one(number, http) for number in numbers]

    async def _one(self, number: str, http: Http) -> Observation:
        digits = ipqs_phone(number)
        if digits is None:
            return Observation(number, Verdict.UNKNOWN, evidence={"reason": NOT_E164})
        if not self._key():
            return Observation.failed(number, "IPQS: no api_key configured")
        params = {"strictness": str(self.settings.strictness)}
        try:
            response = await http.get(self.endpoint(digits), params=params)
        except SourceError as exc:
            return Observation.failed(number, self.excerpt(str(exc), MESSAGE_CHARS))
        status = int(response.status_code)
        if status != 200:
            return Observation.failed(number, self._status_error(status, response.content))
        try:
            answer = parse(response.content, self.excerpt)
        except MalformedAnswer as exc:
            cost = LOOKUP_COST if exc.billed else 0.0
            return Observation.failed(
                number, f"IPQS returned a malformed response: {exc}", cost_units=cost
            )
        if isinstance(answer, Refusal):
            return Observation.failed(number, self._refusal_error(answer))
        answered = answered_digits(answer.formatted)
        if answer.valid is not False and answered is not None and answered != digits:
            shown = self.excerpt(answered, NUMBER_CHARS)
            return Observation.failed(
                number,
                f"IPQS answered about another number (+{shown}, asked +{digits})",
                cost_units=LOOKUP_COST,
            )
        judgement = judge(answer, self.rule)
        return Observation(
            number,
            judgement.verdict,
            label=judgement.label,
            category=judgement.category,
            score=judgement.score,
            evidence=evidence(answer, judgement),
            cost_units=LOOKUP_COST,
        )

    def _key(self) -> str | None:
        key = self.settings.api_key
        return key.get_secret_value() if key is not None and key.get_secret_value() else None

    def _refusal_error(self, refusal: Refusal) -> str:
        """One line for ``success: false`` (the HTTP 200 error envelope)."""
        said = refusal.message
        if refusal.kind == "key":
            return f"IPQS rejected the API key ({said}): check sources.ipqs.api_key"
        if refusal.kind == "quota":
            return (
                f"IPQS quota exhausted ({said}); lookups resume when it renews "
                "(sources.ipqs.daily_budget spreads it)"
            )
        if said:
            return f"IPQS refused the lookup: {said}"
        return "IPQS refused the lookup (success: false, no message)"

    def _status_error(self, status: int, body: bytes) -> str:
        """One line for a status other than 200 that the session did not retry."""
        said = server_message(_json(body), self.excerpt)
        detail = f" ({said})" if said else ""
        if status in (401, 403):
            return f"IPQS rejected the API key (HTTP {status}){detail}: check sources.ipqs.api_key"
        if status == 404:
            return f"IPQS answered HTTP 404{detail}: check sources.ipqs.base_url"
        return f"IPQS answered HTTP {status}{detail}"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
