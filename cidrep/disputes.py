"""Which analytics engine labels calls on which carrier, and where to ask for a review.

A "Spam Likely" on a T-Mobile phone is First Orion's label; on AT&T it is Hiya's,
on Verizon TNS's. Disputing with the wrong engine does nothing, so reports and
alerts name the engine behind each flagged carrier and its review portal, from the
``[carriers]`` and ``[engines]`` config tables (defaults below; users add MVNOs or
override a portal). The Free Caller Registry reaches all three engines with one
form, so it is always offered too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cidrep.channels import Dispute

FREE_CALLER_REGISTRY = Dispute(
    "Free Caller Registry (Hiya, TNS, First Orion)", "https://www.freecallerregistry.com/"
)

DEFAULT_CARRIERS: dict[str, str] = {"AT&T": "Hiya", "Verizon": "TNS", "T-Mobile": "First Orion"}
DEFAULT_ENGINES: dict[str, str] = {
    "Hiya": "https://www.att.com/reviewmycalllabel",
    "TNS": "https://www.tnsresponsecenter.com/",
    "First Orion": "https://callreporting.t-mobile.com/",
}


def carrier_key(name: str) -> str:
    """A carrier name compared loosely: letters and digits only, lower case
    ("T-Mobile", "tmobile", "T Mobile" -> "tmobile"; "AT&T", "att" -> "att")."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


class CarrierMap(BaseModel):
    """``[carriers]`` (carrier -> engine) and ``[engines]`` (engine -> review portal).

    What a config file names is added to the defaults (and overrides a default of the
    same name), so mapping an MVNO never loses the three big carriers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    carriers: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CARRIERS))
    engines: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ENGINES))

    @field_validator("engines")
    @classmethod
    def _https(cls, value: dict[str, str]) -> dict[str, str]:
        for engine, url in value.items():
            if not url.startswith("https://"):
                raise ValueError(f"the review portal of {engine!r} must be an https:// URL")
        return value

    @model_validator(mode="after")
    def _engines_known(self) -> CarrierMap:
        known = {carrier_key(e) for e in self.engines}
        for carrier, engine in self.carriers.items():
            if carrier_key(engine) not in known:
                raise ValueError(
                    f"{carrier!r} names engine {engine!r}, which has no review portal in "
                    f"[engines] (known: {', '.join(sorted(self.engines))})"
                )
        return self

    def canonical(self, name: str) -> str:
        """The configured spelling of a carrier a user or file typed ("tmobile" ->
        "T-Mobile"); an unknown name (an app such as RoboKiller) is kept as typed,
        trimmed."""
        key = carrier_key(name)
        return next((c for c in self.carriers if carrier_key(c) == key), name.strip())

    def engine(self, carrier: str) -> str | None:
        """The engine behind a carrier's labels, or None for an unmapped carrier/app."""
        key = carrier_key(carrier)
        return next((e for c, e in self.carriers.items() if carrier_key(c) == key), None)

    def portal(self, engine: str) -> Dispute:
        key = carrier_key(engine)
        url = next(u for e, u in self.engines.items() if carrier_key(e) == key)
        carriers = [c for c, e in self.carriers.items() if carrier_key(e) == key]
        return Dispute(f"{engine} ({', '.join(carriers)}): ask for a review", url)

    def disputes(self, flagged_carriers: Iterable[str]) -> list[Dispute]:
        """Where to dispute, given the carriers a number is flagged on (pure).

        ===============================  ===============================================
        flagged carriers                 result
        ===============================  ===============================================
        some map to engines              those engines' portals (once each, in order),
                                         then the Free Caller Registry
        none map (apps, or no carrier:   the Free Caller Registry, then every engine's
        complaint data names none)       portal: the label could be on any of them
        ===============================  ===============================================
        """
        engines = [e for e in (self.engine(c) for c in flagged_carriers) if e]
        if engines:
            return [*(self.portal(e) for e in dict.fromkeys(engines)), FREE_CALLER_REGISTRY]
        return [FREE_CALLER_REGISTRY, *(self.portal(e) for e in self.engines)]


def flagged_carriers(evidence: Mapping[str, object]) -> list[str]:
    """The carriers a source-level row says the number is flagged on (the ``carriers``
    evidence that ``cidrep.carriers.summarize`` writes). A lookup's ``carrier`` fact
    (Twilio, Telnyx) is the carrier the number belongs to, not the one showing the
    label to the called party, so it says nothing about where to dispute."""
    lanes = evidence.get("carriers")
    if not isinstance(lanes, Mapping):
        return []
    return [
        str(c) for c, v in lanes.items() if isinstance(v, Mapping) and v.get("verdict") == "flagged"
    ]
