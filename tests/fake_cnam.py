"""A fake lookup source that watches a caller name, for the ``changed`` alert tests.

Load with ``CIDREP_LOAD_PLUGINS=fake_cnam`` (the tests dir is on sys.path). Like
Twilio without its add-on, it answers ``unknown`` with the CNAM as evidence; the
test's config file decides each number's name:

- ``names``: E.164 -> caller name (a number not listed has ``caller_name`` null);
- ``fail``: numbers whose check fails (an error, no evidence);
- ``omit``: numbers answered without the ``caller_name`` key at all;
- ``line_type``: evidence that is not watched (changing it is not news).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field

from cidrep.contract import Http, LookupChecker, Observation, SourceSettings, Verdict
from cidrep.hookspecs import hookimpl


class FakeCnamSettings(SourceSettings):
    names: dict[str, str] = Field(default_factory=dict)
    fail: list[str] = Field(default_factory=list)
    omit: list[str] = Field(default_factory=list)
    line_type: str = "landline"


class FakeCnam(LookupChecker):
    name = "fakecnam"
    description = "fake caller-name lookup for tests"
    disclosure = "sends numbers nowhere (test double)"
    settings_model = FakeCnamSettings
    watched_evidence: ClassVar[dict[str, str]] = {"caller_name": "caller name (CNAM)"}

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        s: FakeCnamSettings = self.settings  # type: ignore[assignment]
        found: list[Observation] = []
        for number in numbers:
            if number in s.fail:
                found.append(Observation.failed(number, "fake CNAM lookup timed out"))
                continue
            evidence: dict[str, Any] = {"line_type": s.line_type}
            if number not in s.omit:
                evidence["caller_name"] = s.names.get(number)
            found.append(Observation(number, Verdict.UNKNOWN, evidence=evidence))
        return found


@hookimpl
def register_checkers(register: Any) -> None:
    register(FakeCnam)
