"""The ``cidrep report NUMBER --json`` format, version 1: one definition for the docs
and the tests.

``docs/report.schema.json`` is generated from these models (``python -m
cidrep.reports.schema > docs/report.schema.json``; a test fails when it is stale,
and another validates real report output against the file). The report itself is
built as plain dicts (``cidrep.reports.number``), so printing it never pays for
validation; every model forbids unknown keys, so a key added to the output without
being added here fails the tests.

Times are ISO 8601 UTC strings (``2026-11-20T09:00:00Z``); durations are whole
seconds. Versioning: a change that a version-1 reader could misread (a key removed,
renamed or given another meaning) bumps ``schema_version``; new keys may be added.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["clean", "flagged", "unknown", "error"]
Health = Literal["ok", "failing", "stale", "never"]
Timestamp = str  # ISO 8601, UTC


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CarrierView(_Record):
    """One carrier's (or app's) current word at a source."""

    carrier: str
    verdict: Verdict | None
    since: Timestamp | None
    label: str | None
    score: int | None
    last_checked: Timestamp | None
    last_success: Timestamp | None
    last_error: str | None = Field(description="set while this carrier's checks fail")


class SourceView(_Record):
    """What one source currently says about the number."""

    carriers: list[CarrierView] = Field(description="empty for a source without carriers")
    verdict: Verdict | None = Field(
        description="the latest real verdict; an error never replaces it"
    )
    health: Health
    since: Timestamp | None
    label: str | None = Field(description="the label as the source shows it")
    category: str | None
    score: int | None
    url: str | None
    evidence: dict[str, Any] | None
    last_checked: Timestamp | None
    last_success: Timestamp | None
    last_failure: Timestamp | None
    last_error: str | None
    error_streak: int
    checks: int


class NeverChecked(_Record):
    """A registered source that has not checked the number yet."""

    verdict: None
    health: Literal["never"]
    checks: Literal[0]


class Event(_Record):
    """A lane's verdict change (kind ``verdict``) or a flip the alerts recorded:
    ``confirmed`` (a source's change counted, after hysteresis), or a number notice
    (``flagged``, ``cleared``, ``reminder``, ``flapping``)."""

    at: Timestamp
    kind: str
    source: str | None
    carrier: str | None
    old: str | None = Field(description="the state before; null: the lane's first verdict")
    new: str | None
    label: str | None
    held: str | None = Field(description="why a notice was not sent (muted, flapping)")


class IntervalView(_Record):
    verdict: Literal["clean", "flagged", "unknown"]
    start: Timestamp
    end: Timestamp | None = Field(description="null: still holds")
    label: str | None
    via_carriers: bool = Field(
        description="a source-level flag its carriers explain (not counted twice)"
    )


class ErrorView(_Record):
    start: Timestamp
    end: Timestamp | None = Field(description="the next success; null: still failing")
    error: str | None


class Lane(_Record):
    """One source (``carrier`` null) or one carrier at a source, over time."""

    source: str
    carrier: str | None
    intervals: list[IntervalView]
    errors: list[ErrorView]


class StretchView(_Record):
    source: str
    carrier: str | None
    label: str | None
    start: Timestamp
    end: Timestamp | None
    seconds: int


class LabelView(_Record):
    """A stretch of time with at least one source or carrier flagging the number."""

    start: Timestamp
    end: Timestamp | None = Field(description="when the last lane cleared; null: not yet")
    cleared: bool
    seconds: int = Field(description="time to clear; for an open label, the time so far")
    relapse: bool
    since_previous_clear_seconds: int | None
    stretches: list[StretchView]


class WindowView(_Record):
    days: int
    first_day: str = Field(description="YYYY-MM-DD, UTC")
    last_day: str = Field(description="YYYY-MM-DD, UTC: today")
    days_counted: int = Field(description="window days on or after the day it was added")
    days_flagged: int
    share_flagged: float | None = Field(ge=0, le=1)


class Lifecycle(_Record):
    added: Timestamp
    first_label: Timestamp | None
    time_to_first_label_seconds: int | None
    relapse_days: int
    relapses: int
    open: bool = Field(description="the latest label is not cleared yet")
    labels: list[LabelView]
    window: WindowView


class Dispute(_Record):
    name: str
    url: str


class WhatToDo(_Record):
    flagged_carriers: list[str]
    disputes: list[Dispute] = Field(description="empty when the number is not flagged")
    notes: list[str]


class NotChecked(_Record):
    source: str
    reason: str


class Report(_Record):
    """``cidrep report NUMBER --json``."""

    schema_version: Literal[1]
    generated_at: Timestamp
    number: str = Field(description="E.164")
    account: str
    label: str | None
    tags: list[str]
    paused: bool
    added: Timestamp
    verdict: Verdict | None = Field(description="the worst current verdict")
    verdict_sources: list[str]
    flagged_on: list[str] = Field(description='"trustcall: T-Mobile", or a source name')
    failing: list[str]
    stale: list[str]
    as_of: Timestamp | None = Field(description="the oldest last success")
    sources: dict[str, SourceView | NeverChecked]
    timeline: list[Event]
    lanes: list[Lane]
    lifecycle: Lifecycle
    what_to_do: WhatToDo
    not_checked: list[NotChecked] = Field(description="sources disabled or without a key")


def json_schema() -> dict[str, Any]:
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/cidrep/cidrep/docs/report.schema.json"
    schema["title"] = "cidrep report NUMBER --json, schema_version 1"
    schema["description"] = (
        "One monitored number: each source's current word, the timeline of changes, "
        "each lane's intervals, the lifecycle figures (README 'Lifecycle figures') and "
        "where to ask for a review. Times are ISO 8601 UTC; durations are seconds."
    )
    return schema


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
