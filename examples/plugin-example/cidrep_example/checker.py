"""The ``example`` source: one GET per number to a tiny JSON reputation API.

``GET {base_url}/numbers/{e164}`` (the ``+`` percent-encoded as ``%2B``), with the
key, when set, in the ``X-Api-Key`` header. Rules, and why:

- The runner hands ``lookup`` an ``Http`` session that already applies the rate limit,
  concurrency, retries (429, 5xx, ``Retry-After``), the deadline and the size cap, and
  sends the key to ``base_url``'s host only. So this checker makes plain requests and
  never retries, sleeps or opens a client of its own.
- A text that is not E.164 is never sent: ``unknown`` (the API cannot judge it).
- 200: ``answer.parse`` then ``answer.judge``. 401/403: the key was refused, and the
  message names the option to fix. Any other status, a failure the session gave up on
  (``SourceError``) and a malformed body: an error observation of one line, never a
  verdict. ``lookup`` never raises, so every number gets its own observation.
- Free: ``cost_units`` stays 0, so a ``daily_budget`` never holds it back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import quote

from cidrep.contract import Http, LookupChecker, Observation, SourceError, SourceSettings, Verdict

from .answer import LABEL_CHARS, MalformedAnswer, judge, parse
from .settings import ExampleSettings

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
NOT_E164 = "not an E.164 number; the example API was not asked"
MESSAGE_CHARS = 200


class ExampleChecker(LookupChecker):
    """Asks the example API about each number, one request per number."""

    name: ClassVar[str] = "example"  # its [sources.example] section, and its name in reports
    description: ClassVar[str] = "Example JSON reputation API (a template for plugin authors)"
    disclosure: ClassVar[str] = (
        "Sends each monitored number (E.164, in the URL path), and your API key if set "
        "(X-Api-Key header), to the host in sources.example.base_url, one request per number."
    )
    settings_model: ClassVar[type[SourceSettings]] = ExampleSettings

    settings: ExampleSettings

    def preflight(self) -> str | None:
        """Skip (not fail) until there is somewhere to ask; side-effect free."""
        return None if self.settings.base_url.strip() else "no base_url configured"

    def endpoint(self, number: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}/numbers/{quote(number, safe='')}"

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        """One observation per number, in order; never raises."""
        return [await self._one(number, http) for number in numbers]

    async def _one(self, number: str, http: Http) -> Observation:
        if not E164.fullmatch(number):
            return Observation(number, Verdict.UNKNOWN, evidence={"reason": NOT_E164})
        try:
            response = await http.get(self.endpoint(number), headers=self._headers())
        except SourceError as exc:  # the session's own line, already redacted
            return Observation.failed(number, self.excerpt(str(exc), MESSAGE_CHARS))
        status = int(response.status_code)
        if status in (401, 403):
            return Observation.failed(
                number,
                f"example API rejected the API key (HTTP {status}): check sources.example.api_key",
            )
        if status != 200:
            return Observation.failed(number, f"example API answered HTTP {status}")
        try:
            answer = parse(response.content)
        except MalformedAnswer as exc:
            return Observation.failed(number, f"example API returned a malformed answer: {exc}")
        verdict = judge(answer, self.settings.flag_score)
        return Observation(
            number,
            verdict,
            label=self.excerpt(answer.label, LABEL_CHARS) if answer.label else None,
            score=answer.score,
            evidence={"spam": answer.spam},  # facts about the number only, nothing volatile
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        key = self.settings.api_key
        if key is not None and key.get_secret_value():
            headers["X-Api-Key"] = key.get_secret_value()
        return headers
