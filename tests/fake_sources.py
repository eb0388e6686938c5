"""Fake checkers registered through the real plugin door, for runner and CLI tests.

Load with ``CIDREP_LOAD_PLUGINS=fake_sources`` (the tests dir is on sys.path).
Behaviour is driven by their settings, so a test's config file decides outcomes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import Field, SecretStr

from cidrep.contract import (
    FeedChecker,
    FeedChunk,
    FeedRequest,
    Http,
    LookupChecker,
    Observation,
    Sighting,
    SourceError,
    SourceSettings,
    Verdict,
)
from cidrep.hookspecs import hookimpl


class FakeSettings(SourceSettings):
    flag: list[str] = Field(default_factory=list)  # E.164 numbers to flag
    fail: bool = False  # raise SourceError for every batch
    crash: bool = False  # raise an unexpected exception (a plugin bug)
    echo_key: bool = False  # a hostile server echoing the key into labels and evidence
    garbage: bool = False  # return malformed observations
    ping: str | None = None  # GET this URL before answering (slow-server tests)
    api_key: SecretStr | None = None
    batch: int = 1
    needs_key: bool = False
    cost: float = 0.0  # cost units per number looked up (a paid source)
    actual_cost: float | None = None  # what a lookup really costs, if not ``cost``


class FakeLookup(LookupChecker):
    name = "fake"
    description = "fake lookup source for tests"
    disclosure = "sends numbers nowhere (test double)"
    settings_model = FakeSettings
    calls: ClassVar[list[list[str]]] = []

    @property
    def batch_size(self) -> int:
        return self.settings.batch  # type: ignore[attr-defined]

    def preflight(self) -> str | None:
        s: FakeSettings = self.settings  # type: ignore[assignment]
        if s.needs_key and s.api_key is None:
            return "no api_key configured"
        return None

    def cost_estimate(self, numbers: Sequence[str]) -> float:
        return self.settings.cost * len(numbers)  # type: ignore[attr-defined]

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        s: FakeSettings = self.settings  # type: ignore[assignment]
        FakeLookup.calls.append(list(numbers))
        if s.cost or s.actual_cost is not None:
            paid = s.cost if s.actual_cost is None else s.actual_cost
            return [
                Observation(n, Verdict.FLAGGED if n in s.flag else Verdict.CLEAN, cost_units=paid)
                for n in numbers
            ]
        if s.ping:
            await http.get(s.ping)
        if s.fail:
            key = s.api_key.get_secret_value() if s.api_key else ""
            raise SourceError(f"fake source refused key {key}")
        key = s.api_key.get_secret_value() if s.api_key else ""
        if s.crash:
            raise RuntimeError(f"boom {key}".strip())
        if s.echo_key:
            return [
                Observation(
                    n,
                    Verdict.FLAGGED,
                    label=f"Spam {key}",
                    category=f"key={key}",
                    evidence={"note": f"caller said {key}", "list": [key]},
                    url=f"https://example.test/n?k={key}",
                )
                for n in numbers
            ]
        if s.garbage:
            return [Observation(n, Verdict.CLEAN, score=250) for n in numbers]
        return [
            Observation(n, Verdict.FLAGGED, label="Spam Likely", category="spam", score=90)
            if n in s.flag
            else Observation(n, Verdict.CLEAN, score=5)
            for n in numbers
        ]


class FakeFeedSettings(SourceSettings):
    records: list[str] = Field(default_factory=list)  # "E164|YYYY-MM-DD" served records
    fail: bool = False


class FakeFeed(FeedChecker):
    name = "fakefeed"
    description = "fake feed source for tests"
    disclosure = "downloads nothing (test double)"
    settings_model = FakeFeedSettings
    pulls: ClassVar[list[FeedRequest]] = []

    async def pull(self, request: FeedRequest, http: Http) -> AsyncIterator[FeedChunk]:
        s: FakeFeedSettings = self.settings  # type: ignore[assignment]
        FakeFeed.pulls.append(request)
        sightings = []
        for record in s.records:
            number, day = record.split("|")
            sightings.append(Sighting(number, key=record, occurred_at=day))
        yield FeedChunk(sightings[:1], cursor="1", stats={"rows": 1})
        if s.fail:
            raise SourceError("feed file 2 is corrupt")
        yield FeedChunk(sightings[1:], cursor="2", stats={"rows": len(sightings) - 1})

    def assess(self, number: str, sightings: Sequence[Sighting], now: datetime) -> Observation:
        if sightings:
            return Observation(
                number,
                Verdict.FLAGGED,
                label=f"{len(sightings)} reports",
                evidence={"reports": len(sightings)},
            )
        return Observation(number, Verdict.CLEAN, evidence={"reports": 0})


@hookimpl
def register_checkers(register):  # type: ignore[no-untyped-def]
    register(FakeLookup)
    register(FakeFeed)
