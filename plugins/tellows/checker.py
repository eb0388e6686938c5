"""The ``tellows`` source: the tellows community score (1-9) of each number.

One request per number: ``GET {base_url}/basic/num/%2B<E.164 digits>?json=1&partner=
...&apikey=...`` (sources.md §5). The answer is read by ``answer`` (JSON served as
text/html, warnings around it) and judged by ``verdict`` (score bands, label).

Truthful state under faults, per number; ``lookup`` never raises:

- a 200 whose body is not the expected JSON, that carries a credential warning
  (``Partner Data not correct``), or that names another number: ``error``;
- 401/403: ``error`` naming the credential settings;
- 404: third-party clients read it as "tellows has no data for this number", so it
  is ``unknown`` (never ``clean``); but a 404 that is a web page, or that speaks of
  the credentials, is what a wrong ``base_url`` or proxy answers: ``error``;
- 429 and 5xx are retried by the session (Retry-After honoured); when it gives up,
  or the transport fails, ``error``; any other status: ``error``.

Cost: tellows is paid per query, so each number is one cost unit. An observation
reports 1 when tellows answered (whatever the status: it may have counted the
query) and 0 when no request was sent or no answer came back; ``cost_estimate``
reserves 1 per number that will be sent, so the spend guard never under-reserves.

Error messages are one line; server text in them goes through ``Checker.excerpt``
(secrets redacted, then cut), so neither credential nor the key's MD5 is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from cidrep.contract import (
    Http,
    LookupChecker,
    Observation,
    SourceError,
    SourceSettings,
    Verdict,
)

from . import answer
from .number import path_segment, same_number
from .settings import TellowsSettings
from .verdict import assess

__all__ = ["COST_PER_LOOKUP", "NOT_E164", "NO_ENTRY", "TellowsChecker", "public_base"]

COST_PER_LOOKUP = 1.0
NOT_E164 = "not an E.164 number; tellows cannot be asked about it"
NO_ENTRY = "tellows has no entry for this number (HTTP 404)"
MESSAGE_CHARS = 200
SERVER_CHARS = 100
CHECK_CREDENTIALS = "check sources.tellows.partner and sources.tellows.api_key"


def public_base(base_url: str) -> str:
    """``base_url`` without userinfo, query or fragment, and no trailing slash."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class TellowsChecker(LookupChecker):
    """Asks tellows for the community score of each number, one request per number."""

    name: ClassVar[str] = "tellows"
    description: ClassVar[str] = "tellows community score (1-9) of the number (paid partner API)"
    disclosure: ClassVar[str] = (
        "Sends each monitored number (+E.164), with your tellows partner name and API key, "
        "to tellows (www.tellows.de) to read its community score."
    )
    settings_model: ClassVar[type[SourceSettings]] = TellowsSettings

    settings: TellowsSettings

    def preflight(self) -> str | None:
        """Skip (not an error) until both credentials are configured."""
        missing = self.settings.missing()
        if missing:
            return f"no {' or '.join(missing)} configured"
        return None

    def cost_estimate(self, numbers: Sequence[str]) -> float:
        """One cost unit per number that will be sent (every E.164 number)."""
        return COST_PER_LOOKUP * sum(1 for n in numbers if path_segment(n) is not None)

    def endpoint(self, segment: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/basic/num/{segment}"

    def number_url(self, segment: str) -> str:
        """The number's public page at tellows (no credentials, no userinfo)."""
        return f"{public_base(self.settings.base_url)}/num/{segment}"

    def params(self) -> dict[str, str]:
        """The query: JSON, the partner, the key (or its MD5), and the country if set."""
        s = self.settings
        params = {"json": "1"}
        partner, key = s.partner, s.key_value()
        if partner is not None and partner.get_secret_value():
            params["partner"] = partner.get_secret_value()
        if key is not None:
            params[s.key_param] = key
        if s.country:
            params["country"] = s.country
        return params

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        """One observation per number, in order; failures are error observations."""
        return [await self._one(number, http) for number in numbers]

    async def _one(self, number: str, http: Http) -> Observation:
        segment = path_segment(number)
        if segment is None:
            return Observation(number, Verdict.UNKNOWN, evidence={"reason": NOT_E164})
        reason = self.preflight()
        if reason is not None:  # the runner skips us first; never send half a login
            return Observation.failed(number, f"tellows: {reason}")
        try:
            response = await http.get(self.endpoint(segment), params=self.params())
        except SourceError as exc:
            return Observation.failed(number, self.excerpt(str(exc), MESSAGE_CHARS))
        return self.read(number, segment, response)

    def read(self, number: str, segment: str, response: Any) -> Observation:
        """The observation for one answered request (cost: one unit, whatever it says)."""
        cost = COST_PER_LOOKUP
        status = int(response.status_code)
        body: bytes = response.content
        if status == 200:
            try:
                record = answer.parse(body)
            except answer.CredentialWarning as exc:
                text = self.excerpt(exc.warning, SERVER_CHARS)
                message = f'tellows did not accept the credentials ("{text}"): {CHECK_CREDENTIALS}'
                return Observation.failed(number, message, cost)
            except answer.Malformed as exc:
                message = f"tellows returned a malformed response: {self.excerpt(str(exc))}"
                return Observation.failed(number, message, cost)
            if not same_number(record.normalized_number, number):
                other = self.excerpt(record.normalized_number or "", 40)
                message = f"tellows answered for another number ({other}); not used"
                return Observation.failed(number, message, cost)
            return assess(
                number,
                record,
                self.settings.flag_min_score,
                url=self.number_url(segment),
                cost_units=cost,
            )
        text = answer.decode(body)
        detail = self.excerpt(text, SERVER_CHARS) if text.strip() else ""
        suffix = f": {detail}" if detail else ""
        if status in (401, 403):
            message = f"tellows rejected the credentials (HTTP {status}): {CHECK_CREDENTIALS}"
            message += f" ({detail})" if detail else ""
        elif status == 404 and answer.looks_like_html(body):
            message = (
                "tellows answered HTTP 404 with a web page, not the API: "
                "check sources.tellows.base_url"
            )
        elif status == 404 and answer.credential_warning(" ".join(text.split())):
            message = f"tellows answered HTTP 404{suffix}; {CHECK_CREDENTIALS}"
        elif status == 404:
            return Observation(
                number,
                Verdict.UNKNOWN,
                evidence={"reason": NO_ENTRY},
                url=self.number_url(segment),
                cost_units=cost,
            )
        else:
            message = f"tellows answered HTTP {status}{suffix}"
        return Observation.failed(number, self.excerpt(message, MESSAGE_CHARS * 2), cost)
