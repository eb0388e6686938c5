"""``cidrep export``: everything held about a scope, streamed, in a versioned format.

- **Scope**: ``all``, one or more accounts, or numbers (in every account holding them,
  or in one). See ``cidrep.store.scope``.
- **Content**: the accounts' fields and routing; each number with its label, tags,
  history, current state, sightings, alert state, flips and deliveries; the runs
  those rows name; the audit entries about the scope; for ``all``, the notices about
  no number (source failing, digests). Secrets are never stored, so none appear.
- **Streaming**: records are written as they are read (one number in memory at a
  time), from one read snapshot, so a 100,000-number account exports in bounded
  memory and a check running meanwhile cannot tear it.
- **Files**: written ``0600`` to a temporary file beside the target and renamed into
  place at the end, so a failed export leaves nothing half-written; ``-`` writes to
  stdout.
- The export is recorded in the audit log (scope as refs, counts), after it is
  complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlite_utils import Database

from cidrep.errors import CidrepError
from cidrep.privacy import os_user
from cidrep.privacy.schema import FORMAT, SCHEMA_VERSION, SECTIONS
from cidrep.store import audit, dump, scope
from cidrep.store.database import write

FORMATS = ("json", "jsonl")


@dataclass
class Exported:
    """What was written: counts by kind (also the audit entry's counts)."""

    counts: dict[str, int] = field(default_factory=dict)
    audit_ref: str = ""

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


class _Writer:
    """Writes the sections as JSON (one object) or JSONL (one record per line)."""

    def __init__(self, out: IO[str], fmt: str) -> None:
        self.out, self.fmt = out, fmt
        self.records: dict[str, int] = {}

    def header(self, header: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.out.write(_dumps({"type": "header", **header}) + "\n")
        else:
            self.out.write(_dumps(header)[:-1] + ",\n")

    def section(self, name: str, kind: str, records: Iterator[dict[str, Any]], last: bool) -> None:
        if self.fmt == "jsonl":
            self.records[kind] = 0
            for record in records:
                self.out.write(_dumps({"type": kind, **record}) + "\n")
                self.records[kind] += 1
            if last:  # the end line: a file cut at a line boundary is not a whole export
                self.out.write(_dumps({"type": "end", "records": self.records}) + "\n")
            return
        self.out.write(f'"{name}": [')
        first = True
        for record in records:
            self.out.write(("\n" if first else ",\n") + _dumps(record))
            first = False
        self.out.write(("]" if first else "\n]") + ("}\n" if last else ",\n"))


def export(
    db: Database,
    out: IO[str],
    *,
    kind: str,
    account_ids: tuple[int, ...] = (),
    e164s: tuple[str, ...] = (),
    fmt: str = "json",
    now: str,
    version: str,
    destination: str = "file",
) -> Exported:
    """Write the export of the scope to ``out``; record it in the audit log."""
    if fmt not in FORMATS:
        raise CidrepError(f"unknown export format {fmt!r}; use json or jsonl")
    done = Exported()
    writer = _Writer(out, fmt)
    db.conn.execute("BEGIN")  # one snapshot for every query of the export
    try:
        selected = scope.select(db, kind, account_ids, e164s)
        if kind == "numbers" and (gone := scope.missing(db)):
            raise CidrepError(f"not monitored: {', '.join(gone)}")
        writer.header(
            {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "cidrep_version": version,
                "exported_at": now,
                "scope": {"kind": kind, "refs": list(selected.refs)},
            }
        )
        sources = {
            "accounts": _counted(dump.accounts(db), done, "accounts"),
            "runs": _counted(dump.runs(db, all_runs=kind == "all"), done, "runs"),
            "numbers": _numbers(dump.numbers(db), done),
            "notices": _counted(dump.notices(db) if kind == "all" else iter(()), done, "notices"),
            "audit": _counted(_audit(db, kind), done, "audit_entries"),
        }
        for i, (name, line_type) in enumerate(SECTIONS):
            writer.section(name, line_type, sources[name], last=i == len(SECTIONS) - 1)
        out.flush()
    finally:
        scope.drop(db)
        db.conn.execute("COMMIT")
    with write(db):
        done.audit_ref = audit.record(
            db,
            at=now,
            os_user=os_user(),
            action="export",
            scope=kind,
            refs=selected.refs,
            counts=done.counts,
            detail={"format": fmt, "to": destination},
        )
    return done


def _audit(db: Database, kind: str) -> Iterator[dict[str, Any]]:
    return audit.entries(db) if kind == "all" else audit.entries_about(db, "temp.scope_refs")


def _counted(records: Iterator[dict[str, Any]], done: Exported, kind: str) -> Iterator[dict]:
    for record in records:
        done.add(kind)
        yield record


def _numbers(records: Iterator[dict[str, Any]], done: Exported) -> Iterator[dict[str, Any]]:
    for record in records:
        done.add("numbers")
        done.add("history", len(record["history"]))
        done.add("sightings", len(record["sightings"]))
        done.add("flips", len(record["flips"]))
        done.add("deliveries", sum(len(f["deliveries"]) for f in record["flips"]))
        yield record


@contextlib.contextmanager
def open_target(target: str) -> Iterator[IO[str]]:
    """stdout for ``-``; else a ``0600`` temporary file renamed onto ``target`` only
    when the export completed (so a failure leaves no partial file)."""
    if target == "-":
        yield sys.stdout
        return
    path = Path(target).expanduser()
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CidrepError(f"cannot write export to {path}: it is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise CidrepError(f"cannot write export to {path}: {exc.strerror or exc}") from None
    os.fchmod(fd, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
