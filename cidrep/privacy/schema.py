"""The export format, version 1: one definition for writing, reading and the docs.

``docs/export.schema.json`` is generated from these models (``python -m
cidrep.privacy.schema > docs/export.schema.json``; a test fails when it is stale),
and ``restore`` validates every record with them, so the file, the docs and the
reader cannot disagree.

A JSON export is one object: the header fields, then ``accounts``, ``runs``,
``numbers``, ``notices`` and ``audit``, in that order. A JSONL export is the same
records one per line, each with a ``type`` (``header`` first, ``end`` last: the count
of each type, so a file cut at a line boundary is told from a whole one). Internal row ids
never appear: a number is named by its ``ref``, a history row by its position in
``history``, a run by the id it had where it was exported.

Versioning: a change that a version-1 reader could misread bumps ``schema_version``;
``restore`` refuses a version it does not know rather than guess.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
FORMAT = "cidrep-export"

Verdict = Literal["clean", "flagged", "unknown", "error"]
Timestamp = str  # ISO 8601, UTC


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scope(_Record):
    kind: Literal["all", "account", "numbers"]
    refs: list[str] = Field(description="opaque refs of the accounts or numbers named")


class Header(_Record):
    format: Literal["cidrep-export"]
    schema_version: Literal[1]
    cidrep_version: str
    exported_at: Timestamp
    scope: Scope


class Account(_Record):
    ref: str
    name: str
    email: str | None
    created_at: Timestamp
    channels: list[str] = Field(description="channel names this account's alerts go to")


class RunSource(_Record):
    source: str
    status: str
    reason: str | None
    checks: int
    clean: int
    flagged: int
    unknown: int
    errors: int
    cost_units: float
    message: str | None
    stats: dict[str, Any]


class Run(_Record):
    id: int = Field(description="the run's id where it was exported; history names it")
    started_at: Timestamp
    finished_at: Timestamp | None
    status: str
    account: str | None
    forced: int
    checks: int
    flagged: int
    errors: int
    exit_code: int | None
    sources: list[RunSource]


class HistoryEntry(_Record):
    """A stretch of identical checks of one source (run-length history)."""

    source: str
    verdict: Verdict
    label: str | None
    category: str | None
    score: int | None = Field(ge=0, le=100)
    url: str | None
    error: str | None
    fingerprint: str
    first_seen: Timestamp
    last_seen: Timestamp
    checks: int = Field(ge=1)
    evidence: dict[str, Any]
    first_run: int | None
    last_run: int | None
    carrier: str | None = Field(
        default=None, description="the carrier or app this row is about; null: the source's own"
    )


class Current(_Record):
    """The current state of one source (or one carrier at a source) for the number."""

    source: str
    verdict: Verdict | None
    since: Timestamp | None
    streak: int
    fingerprint: str | None
    last_checked: Timestamp | None
    last_success: Timestamp | None
    last_failure: Timestamp | None
    last_error: str | None
    error_streak: int
    checks: int
    entry: int | None = Field(description="index in history of the latest row")
    verdict_entry: int | None = Field(description="index in history where the verdict began")
    carrier: str | None = Field(
        default=None, description="the carrier or app; null: the source's own verdict"
    )


class Sighting(_Record):
    """A feed record that named the number (e.g. an FTC complaint)."""

    source: str
    key: str
    occurred_at: str
    detail: dict[str, Any]
    run: int | None


class AlertState(_Record):
    state: Literal["flagged", "clean"] | None
    since: Timestamp | None
    notified: str | None
    notified_at: Timestamp | None
    flapping_since: Timestamp | None
    muted_until: Timestamp | None
    reminded_at: Timestamp | None
    flagged_at: Timestamp | None
    flips: list[Any]


class Confirmed(_Record):
    source: str
    state: Literal["flagged", "clean"] | None
    since: Timestamp | None


class Delivery(_Record):
    channel: str
    status: Literal["pending", "sending", "delivered", "failed", "expired"]
    attempts: int
    created_at: Timestamp
    next_try: Timestamp
    claimed_at: Timestamp | None
    delivered_at: Timestamp | None
    last_error: str | None


class Flip(_Record):
    """A change, and the message sent for it (``alert``: docs/alert.schema.json)."""

    key: str
    at: Timestamp
    kind: str
    source: str | None
    old_state: str | None
    new_state: str | None
    held: str | None
    run: int | None
    alert: dict[str, Any] | None
    deliveries: list[Delivery]


class Number(_Record):
    ref: str
    account: str = Field(description="the ref of its account")
    e164: str
    label: str | None
    tags: list[str]
    paused_at: Timestamp | None
    created_at: Timestamp
    history: list[HistoryEntry]
    current: list[Current]
    sightings: list[Sighting]
    alert: AlertState | None
    confirmed: list[Confirmed]
    flips: list[Flip]


class AuditEntry(_Record):
    ref: str
    at: Timestamp
    os_user: str
    action: Literal["export", "restore", "delete", "prune"]
    scope: Literal["all", "account", "numbers", "retention"]
    refs: list[str]
    counts: dict[str, int]
    detail: dict[str, Any]


class End(_Record):
    """The last line of a JSONL export: how many records of each type came before it.

    A JSONL file cut at a line boundary is still valid line by line; without this
    record a restore could not tell it from a whole export."""

    records: dict[str, int] = Field(description="records per type, the header excluded")


class Document(Header):
    """A JSON export (``--format json``)."""

    accounts: list[Account]
    runs: list[Run]
    numbers: list[Number]
    notices: list[Flip] = Field(description="flips about no number: --all only")
    audit: list[AuditEntry]


# JSONL: each line is one of these, with its type.
LINE_TYPES: dict[str, type[_Record]] = {
    "header": Header,
    "account": Account,
    "run": Run,
    "number": Number,
    "notice": Flip,
    "audit": AuditEntry,
    "end": End,
}
# The JSON document's lists, in order, and the JSONL type of their items.
SECTIONS = (
    ("accounts", "account"),
    ("runs", "run"),
    ("numbers", "number"),
    ("notices", "notice"),
    ("audit", "audit"),
)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a JSON export; ``$defs`` also name each JSONL line type."""
    schema = Document.model_json_schema()
    for model in (Header, End):  # the JSONL line types the document itself does not name
        own = model.model_json_schema(ref_template="#/$defs/{model}")
        schema["$defs"].update(own.pop("$defs", {}))
        schema["$defs"][model.__name__] = own
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/cidrep/cidrep/docs/export.schema.json"
    schema["title"] = "cidrep export, schema_version 1"
    schema["description"] = (
        "A JSON export is this object. A JSONL export holds the same records one per "
        "line, each with a 'type' (header, account, run, number, notice, audit, end): "
        "$defs Header, Account, Run, Number, Flip (notice), AuditEntry and End. The "
        "header line comes first and the end line last."
    )
    return schema


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
