"""The ``trustcall`` source: DNCScrub TrustCall, the spam label per carrier and app.

TrustCall (Contact Center Compliance, DNCScrub) monitors numbers you added to it and
reports, per number, whether Verizon, AT&T and T-Mobile label it as spam, whether the
RoboKiller and Nomorobo apps flag it, its average ``CurrScore`` and its FTC complaints
(sources.md §7e). Rules, and why:

- **One GET per batch of up to 200 numbers**: ``{base_url}/Get?phoneList=N1,N2,...``
  with the ``loginId`` header (the DNCScrub API key). The numbers are 10 digits, no
  ``1`` or ``+`` (``answer.source_number``, the one conversion), joined by literal
  commas as DNCScrub documents. A number outside NANP is ``unknown`` without a
  request: TrustCall covers NANP numbers only.
- **The login ID is a credential**: it rides in a header, and the session recognises
  any header carrying a configured secret, so it is sent only to ``base_url``'s
  origin and a redirect elsewhere is refused; every message is redacted
  (``Checker.excerpt``), and no URL is stored (``url`` stays unset).
- **Per carrier**: each answered number gets one observation per carrier or app field
  plus one overall (``verdict``). A number the answer leaves out is simply not
  answered: cidrep records an error for it ("gave no answer").
- **A failed request is one error line for every number of its batch**, never a
  verdict: 401/403 (login ID refused), other statuses, an error object in a 200, a
  body that is not JSON (an HTML error page is named by its title) or not an array
  of records (``answer``). ``lookup`` never raises: numbers outside NANP stay
  ``unknown`` whatever happens to the request. 429 and 5xx are retried by the session
  with backoff, honouring ``Retry-After``; when it gives up, its one line is the error.
- **Cost** (an estimate: DNCScrub bills TrustCall by subscription, not per read):
  ``cost_estimate`` reserves 1 unit per number that will be sent; each answered
  number reports 1 on its overall observation (0 per carrier), and so does each number
  of a 200 we could not read (it may have been served); HTTP errors, transport
  failures and numbers left out of the answer cost 0. ``batch_size`` never exceeds
  ``daily_budget``, so a small budget still lets a smaller batch through.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from cidrep.contract import (
    Http,
    LookupChecker,
    Observation,
    SourceError,
    SourceSettings,
    Verdict,
)

from . import answer
from .answer import source_number
from .settings import TrustcallSettings
from .verdict import observations

__all__ = ["NOT_COVERED", "TrustcallChecker", "TrustcallSettings", "source_number"]

SOURCE = "TrustCall"
NOT_COVERED = "TrustCall covers NANP (+1) numbers only; it was not asked"
LOOKUP_COST = 1.0
MESSAGE_CHARS = 300


class TrustcallChecker(LookupChecker):
    """Reads TrustCall's per-carrier labels for batches of up to 200 numbers."""

    name: ClassVar[str] = "trustcall"
    description: ClassVar[str] = (
        "DNCScrub TrustCall: spam labels per carrier (Verizon, AT&T, T-Mobile) and app "
        "(RoboKiller, Nomorobo), plus FTC complaints; paid, needs login_id"
    )
    disclosure: ClassVar[str] = (
        "Sends each monitored NANP number (10 digits, up to 200 per request) with your "
        "DNCScrub login ID to DNCScrub (dataapi.dncscrub.com) to read its TrustCall "
        "carrier labels; TrustCall is a paid DNCScrub service."
    )
    settings_model: ClassVar[type[SourceSettings]] = TrustcallSettings

    settings: TrustcallSettings

    def preflight(self) -> str | None:
        return None if self._login_id() else "no login_id configured"

    @property
    def batch_size(self) -> int:
        """``batch_size``, but never more than ``daily_budget`` allows (a batch that can
        never fit the budget would never be sent)."""
        size = self.settings.batch_size
        budget = self.settings.daily_budget
        if budget is not None:
            size = min(size, max(1, math.floor(budget / LOOKUP_COST)))
        return size

    def cost_estimate(self, numbers: Sequence[str]) -> float:
        """1 unit per number that will be sent (numbers outside NANP never are)."""
        return LOOKUP_COST * len({d for d in map(source_number, numbers) if d is not None})

    def get_url(self, digits: Sequence[str]) -> str:
        """The Get URL for a batch; commas literal, as documented (no secret in it)."""
        return f"{self.settings.base_url.rstrip('/')}/Get?phoneList={','.join(digits)}"

    def _headers(self) -> dict[str, str]:
        """The request headers; they HOLD THE LOGIN ID, so they are never shown or stored."""
        return {"loginId": self._login_id() or "", "Accept": "application/json"}

    def _login_id(self) -> str | None:
        secret = self.settings.login_id
        return (
            secret.get_secret_value() if secret is not None and secret.get_secret_value() else None
        )

    # -- lookup -------------------------------------------------------------------

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        """Every observation for the numbers, grouped by number in the order given;
        never raises ``SourceError``. Numbers TrustCall leaves out get none."""
        found: dict[str, list[Observation]] = {}
        wanted: dict[str, str] = {}  # 10 digits -> E.164
        for number in numbers:
            digits = source_number(number)
            if digits is None:
                reason = {"reason": NOT_COVERED}
                found[number] = [Observation(number, Verdict.UNKNOWN, evidence=reason)]
            elif digits not in wanted:
                wanted[digits] = number
        ordered = list(wanted)
        size = self.settings.batch_size
        for start in range(0, len(ordered), size):
            batch = {d: wanted[d] for d in ordered[start : start + size]}
            for number, answers in (await self._batch(batch, http)).items():
                found[number] = answers
        return [obs for number in dict.fromkeys(numbers) for obs in found.get(number, [])]

    async def _batch(self, batch: dict[str, str], http: Http) -> dict[str, list[Observation]]:
        """Ask about one batch (10 digits -> E.164); the observations per E.164 number."""
        try:
            records = await self._ask(list(batch), http)
        except _Failed as failed:
            return {
                number: [Observation.failed(number, failed.message, cost_units=failed.cost)]
                for number in batch.values()
            }
        result: dict[str, list[Observation]] = {}
        for record in records:
            number = batch.get(record.phone)
            if number is None or number in result:
                continue  # not asked (ignored), or a second record (the first one wins)
            result[number] = observations(number, record, self.settings.flag_at, LOOKUP_COST)
        return result

    async def _ask(self, digits: list[str], http: Http) -> list[answer.Record]:
        """The records of one GET, or ``_Failed`` with one line for the whole batch."""
        if not self._login_id():
            raise _Failed(f"{SOURCE}: no login_id configured", 0.0)
        try:
            response = await http.get(self.get_url(digits), headers=self._headers())
        except SourceError as exc:
            raise _Failed(self.excerpt(str(exc), MESSAGE_CHARS), 0.0) from None
        status = int(response.status_code)
        if status != 200:
            raise _Failed(self._status_error(status, response.content), 0.0)
        try:
            return answer.parse(response.content, self.excerpt)
        except answer.ErrorAnswer as exc:
            raise _Failed(self._error_answer(exc.message), 0.0) from None
        except answer.Malformed as exc:
            message = f"{SOURCE} returned a malformed response: {exc}"
            raise _Failed(message, LOOKUP_COST) from None

    def _status_error(self, status: int, body: bytes) -> str:
        """One line for a final status other than 200 (429/5xx were already retried)."""
        said = answer.error_text(body, self.excerpt)
        detail = f" ({said})" if said else ""
        if status in (401, 403):
            return (
                f"{SOURCE} rejected the login ID (HTTP {status}){detail}: "
                "check sources.trustcall.login_id"
            )
        if status == 404:
            return f"{SOURCE} answered HTTP 404{detail}: check sources.trustcall.base_url"
        return f"{SOURCE} answered HTTP {status}{detail}"

    def _error_answer(self, message: str | None) -> str:
        """One line for an error object in a 200 (no records at all)."""
        said = message or "no message"
        text = said.lower()
        if any(word in text for word in ("login", "denied", "unauthori", "api key", "apikey")):
            return f"{SOURCE} refused the request ({said}): check sources.trustcall.login_id"
        return f"{SOURCE} answered with an error instead of scores: {said}"


class _Failed(Exception):
    """A request whose whole batch failed: the message and the cost per number."""

    def __init__(self, message: str, cost: float) -> None:
        super().__init__(message)
        self.message = message
        self.cost = cost
