"""``status --json`` and ``runs --json``, version 1: one definition for the output
and the docs.

``docs/status.schema.json`` and ``docs/runs.schema.json`` are generated from these
models (``python -m cidrep.reports.fleet_schema status > docs/status.schema.json``,
the same with ``runs``); a test fails when a file is stale, and real output is
validated against it.

``status --json`` is one object, written as it streams: ``schema_version``,
``generated_at``, ``filters``, then ``numbers`` (one item per number, in the order
asked for), then ``summary`` (the counts of what was listed), last because it is
counted while the numbers stream by.

Versioning: a change that a version-1 reader could misread (a field removed,
renamed or changing meaning) bumps ``schema_version``; new fields may be added.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# one definition of a source's view for ``report`` and ``status`` (both print
# ``cidrep.reports.current.source_view``)
from cidrep.reports.schema import SourceView

SCHEMA_VERSION = 1

Verdict = Literal["clean", "flagged", "unknown", "error"]
Timestamp = str  # ISO 8601, UTC, "Z"
__all__ = ["SCHEMA_VERSION", "RunsDocument", "SourceView", "StatusDocument", "json_schema"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NumberItem(_Record):
    """One monitored number: its worst current verdict and each source's view."""

    number: str = Field(description="E.164")
    account: str = Field(description="the account's name")
    label: str | None
    tags: list[str]
    paused: bool
    verdict: Verdict | None = Field(
        description="worst current verdict (flagged > clean > unknown); error only when no "
        "source has given a real verdict and one is failing; null: never checked"
    )
    since: Timestamp | None = Field(
        description="when the verdict began: the earliest 'since' of the sources holding it"
    )
    verdict_sources: list[str] = Field(description="the sources giving the verdict")
    flagged_on: list[str] = Field(
        description="where a flag shows: 'source: carrier' per flagged carrier, else 'source'"
    )
    failing: list[str] = Field(description="sources whose latest attempt failed")
    stale: list[str] = Field(description="sources with no success within interval + margin")
    as_of: Timestamp | None = Field(description="the oldest last success among its sources")
    sources: dict[str, SourceView]


class Filters(_Record):
    account: str | None
    tag: str | None
    source: str | None = Field(description="with a source, every verdict is that source's")
    verdict: Literal["clean", "flagged", "unknown", "error", "unchecked"] | None
    failing: bool = Field(description="only numbers with a source failing or stale")
    sort: Literal["verdict", "since", "number", "label"] | None


class VerdictCounts(_Record):
    flagged: int
    error: int
    unknown: int
    clean: int
    unchecked: int = Field(description="never checked by any source (in scope)")


class Summary(_Record):
    """Counts over the numbers listed (after the filters)."""

    numbers: int
    verdicts: VerdictCounts
    paused: int
    flagged_on: dict[str, int] = Field(
        description="per source (or 'source: carrier'), how many listed numbers it flags"
    )
    failing: dict[str, int] = Field(description="per source, how many numbers it is failing for")
    stale: dict[str, int] = Field(description="per source, how many numbers it is stale for")


class StatusDocument(_Record):
    """``cidrep status --json``."""

    schema_version: Literal[1]
    generated_at: Timestamp
    filters: Filters
    numbers: list[NumberItem]
    summary: Summary


class RunSource(_Record):
    """What one source did in a run."""

    source: str
    status: str = Field(description="ran, idle (nothing due), skipped or failed")
    reason: str | None = Field(description="why skipped, or why numbers were held back")
    checks: int
    clean: int
    flagged: int
    unknown: int
    errors: int
    cost_units: float
    held_back: int = Field(description="numbers not checked: the daily budget was reached")
    message: str | None = Field(description="error messages, '; '-joined")
    stats: dict[str, Any]


class Run(_Record):
    id: int
    started_at: Timestamp
    finished_at: Timestamp | None
    duration_seconds: float | None
    status: Literal["running", "finished", "failed", "abandoned"]
    account: str | None = Field(description="the account the run was scoped to; null: all")
    forced: bool
    checks: int
    flagged: int
    errors: int
    exit_code: int | None
    sources: list[RunSource]


class RunsDocument(_Record):
    """``cidrep runs --json``: the most recent runs, newest first."""

    schema_version: Literal[1]
    runs: list[Run]


DOCUMENTS: dict[str, type[_Record]] = {"status": StatusDocument, "runs": RunsDocument}


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of ``status --json`` or ``runs --json``."""
    schema = DOCUMENTS[name].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://github.com/cidrep/cidrep/docs/{name}.schema.json"
    schema["title"] = f"cidrep {name} --json, schema_version {SCHEMA_VERSION}"
    return schema


if __name__ == "__main__":
    print(
        json.dumps(
            json_schema(sys.argv[1] if len(sys.argv) > 1 else "status"), indent=2, sort_keys=True
        )
    )
