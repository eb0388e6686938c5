"""A fake lookup source that answers per carrier, for per-carrier storage tests.

Load with ``CIDREP_LOAD_PLUGINS=fake_carriers``. ``answers`` maps an E.164 number to
``{carrier: label}`` (label "" = clean); ``own`` adds the source's own answer
(flagged when any carrier flags, for tests of the sum); numbers absent from
``answers`` get no answer at all (the runner records an error); ``fail_carrier``
names a carrier whose answer is an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from cidrep.contract import Http, LookupChecker, Observation, SourceSettings, Verdict
from cidrep.hookspecs import hookimpl


class CarrierSettings(SourceSettings):
    answers: dict[str, dict[str, str]] = Field(default_factory=dict)
    own: bool = False
    fail_carrier: str | None = None
    blank_carrier: bool = False  # a malformed answer: carrier "  "


class FakeCarriers(LookupChecker):
    name = "fakecarrier"
    description = "fake per-carrier source for tests"
    disclosure = "sends numbers nowhere (test double)"
    settings_model = CarrierSettings

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        s: CarrierSettings = self.settings  # type: ignore[assignment]
        out: list[Observation] = []
        for number in numbers:
            lanes = s.answers.get(number)
            if lanes is None:
                continue
            for carrier, label in lanes.items():
                if carrier == s.fail_carrier:
                    out.append(
                        Observation(number, Verdict.ERROR, error="lane down", carrier=carrier)
                    )
                    continue
                verdict = Verdict.FLAGGED if label else Verdict.CLEAN
                name = "  " if s.blank_carrier else carrier
                out.append(Observation(number, verdict, label=label or None, carrier=name))
            if s.own:
                flagged = any(lanes.values())
                out.append(
                    Observation(
                        number,
                        Verdict.FLAGGED if flagged else Verdict.CLEAN,
                        evidence={"overall": "high" if flagged else "clean"},
                        cost_units=1.0,
                    )
                )
        return out


@hookimpl
def register_checkers(register):  # type: ignore[no-untyped-def]
    register(FakeCarriers)
