"""``cidrep restore FILE``: load an export into this database, all or nothing.

- **Formats**: a JSONL export is read line by line; a JSON export is read with a
  streaming parser (ijson), one record at a time, so neither is held in memory whole.
  The format is told from the first line (a JSONL header line is a whole object with
  ``"type": "header"``).
- **Validation**: every record is checked against the models of
  ``cidrep.privacy.schema`` (the same ones ``docs/export.schema.json`` is made from).
  The first bad record stops the restore with one line naming the file, the record
  (line number, or section and index) and the field; nothing is written.
- **Where it may go**: a database without the export's accounts, or where they exist
  but hold no numbers or routing (the ``default`` account of a new database). An
  account, number or flip already present is refused, so restoring the same export
  twice cannot duplicate history.
- **Ids**: run ids are kept when free (so export → restore into an empty database →
  export gives the same document); history links are rebuilt from positions.
- One write transaction, then one audit entry (in the same transaction).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError
from sqlite_utils import Database

from cidrep.errors import CidrepError
from cidrep.privacy import os_user
from cidrep.privacy.schema import FORMAT, LINE_TYPES, SCHEMA_VERSION, SECTIONS
from cidrep.store import audit, load
from cidrep.store.database import write

SECTION_TYPES = dict(SECTIONS)
ORDER = ["header", *SECTION_TYPES.values(), "end"]


@dataclass
class Restored:
    counts: dict[str, int] = field(default_factory=dict)
    scope: str = ""
    refs: list[str] = field(default_factory=list)
    audit_ref: str = ""

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n


def restore(db: Database, source: str, *, now: str) -> Restored:
    """Restore the export at ``source`` (``-``: stdin) in one transaction."""
    name = "stdin" if source == "-" else source
    if source == "-":
        return _restore(db, sys.stdin.buffer, name, now)
    try:
        handle = Path(source).expanduser().open("rb")
    except OSError as exc:
        raise CidrepError(f"cannot read {source}: {exc.strerror or exc}") from None
    with handle:
        return _restore(db, handle, name, now)


def _restore(db: Database, stream: IO[bytes], name: str, now: str) -> Restored:
    done = Restored()
    accounts: dict[str, int] = {}
    ids = load.RunIds()
    seen = 0
    with write(db):
        for line_type, record, where in _records(stream, name):
            rank = ORDER.index(line_type)
            if rank < seen:
                raise CidrepError(f"{where}: a {line_type} record after the {ORDER[seen]}s")
            seen = rank
            try:
                _apply(db, line_type, record, accounts, ids, done)
            except sqlite3.IntegrityError as exc:
                raise CidrepError(
                    f"{where}: already in this database ({exc}); restore into a database "
                    "without this data"
                ) from None
            except CidrepError as exc:
                raise CidrepError(f"{where}: {exc.message}") from None
        if seen == 0:
            raise CidrepError(f"{name}: no records after the header")
        done.audit_ref = audit.record(
            db,
            at=now,
            os_user=os_user(),
            action="restore",
            scope=done.scope,
            refs=done.refs,
            counts=done.counts,
        )
    return done


def _apply(
    db: Database,
    line_type: str,
    record: dict[str, Any],
    accounts: dict[str, int],
    ids: load.RunIds,
    done: Restored,
) -> None:
    if line_type == "header":
        done.scope = record["scope"]["kind"]
        done.refs = list(record["scope"]["refs"])
    elif line_type == "account":
        accounts[record["ref"]] = load.account(db, record)
        done.add("accounts")
    elif line_type == "run":
        load.run(db, record, ids)
        done.add("runs")
    elif line_type == "number":
        if record["account"] not in accounts:
            raise CidrepError(f"number names account {record['account']}, not in the export")
        load.number(db, record, accounts[record["account"]], ids)
        done.add("numbers")
        done.add("history", len(record["history"]))
        done.add("sightings", len(record["sightings"]))
        done.add("flips", len(record["flips"]))
        done.add("deliveries", sum(len(f["deliveries"]) for f in record["flips"]))
    elif line_type == "notice":
        load.flip_row(db, record, None, ids)
        done.add("notices")
    elif line_type == "audit" and audit.load(db, record):
        done.add("audit_entries")


def _records(stream: IO[bytes], name: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(type, validated record, where) for every record, the header first."""
    first = stream.readline()
    if not first.strip():
        raise CidrepError(f"{name}: empty file, not a cidrep export")
    head = _jsonl_header(first)
    raw = _jsonl(first, stream, name) if head else _document(first, stream, name)
    header_seen = False
    for line_type, record, where in raw:
        if not header_seen:
            if line_type != "header":
                raise CidrepError(f"{where}: expected the export header first")
            _check_header(record, where)
            header_seen = True
        yield line_type, _validated(line_type, record, where), where


def _jsonl_header(line: bytes) -> bool:
    try:
        data = json.loads(line)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") == "header"


def _jsonl(first: bytes, stream: IO[bytes], name: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    number = 0
    seen: dict[str, int] = {}
    ended = False
    for line in _chain(first, stream):
        number += 1
        where = f"{name} line {number}"
        if not line.strip():
            continue
        if ended:
            raise CidrepError(f"{where}: a record after the end line")
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise CidrepError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(data, dict) or data.get("type") not in LINE_TYPES:
            raise CidrepError(f"{where}: not a record of a cidrep export (no known 'type')")
        line_type = data.pop("type")
        if line_type == "end":
            ended = True
            _check_end(data, seen, where)
        elif line_type != "header":
            seen[line_type] = seen.get(line_type, 0) + 1
        yield line_type, data, where
    if not ended:
        read = ", ".join(f"{t} records: {n}" for t, n in seen.items()) or "nothing"
        raise CidrepError(
            f"{name}: the file ends before its end line: it was cut short "
            f"(read {read}); nothing was restored"
        )


def _check_end(data: dict[str, Any], seen: dict[str, int], where: str) -> None:
    expected = data.get("records")
    if not isinstance(expected, dict):
        return  # the schema check names the problem
    wrong = [
        f"{t}: {expected.get(t, 0)} listed, {seen.get(t, 0)} read"
        for t in sorted(set(expected) | set(seen))
        if expected.get(t, 0) != seen.get(t, 0)
    ]
    if wrong:
        raise CidrepError(f"{where}: the end line does not match the file ({'; '.join(wrong)})")


def _chain(first: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    yield first
    yield from stream


class _Joined:
    """The first line and the rest of the stream, as one file for ijson."""

    def __init__(self, first: bytes, stream: IO[bytes]) -> None:
        self.pending, self.stream = first, stream

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes the type with read(0)
            return b""
        if self.pending:
            chunk, self.pending = self.pending, b""
            return chunk
        return self.stream.read(size)


def _document(
    first: bytes, stream: IO[bytes], name: str
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Records of a JSON export, streamed: header fields first, then each section item."""
    import ijson

    header: dict[str, Any] = {}
    depth, key, section, index = 0, None, None, 0
    builder: Any = None
    level = 0
    header_sent = False
    try:
        for _prefix, event, value in ijson.parse(_Joined(first, stream), use_float=True):
            if builder is not None:
                builder.event(event, value)
                if event in ("start_map", "start_array"):
                    level += 1
                elif event in ("end_map", "end_array"):
                    level -= 1
                if level == 0:
                    if section is None:
                        header[key] = builder.value
                    else:
                        where = f"{name} {section}[{index}]"
                        index += 1
                        yield SECTION_TYPES[section], builder.value, where
                    builder = None
                continue
            if depth == 0:
                if event != "start_map":
                    raise CidrepError(f"{name}: not a cidrep export (not a JSON object)")
                depth = 1
            elif depth == 1:
                if event == "map_key":
                    key = value
                elif event == "end_map":
                    depth = 0
                elif key in SECTION_TYPES and event == "start_array":
                    if not header_sent:
                        yield "header", header, f"{name} header"
                        header_sent = True
                    section, index, depth = key, 0, 2
                elif key in SECTION_TYPES:
                    raise CidrepError(f"{name}: {key!r} is not a list")
                elif event in ("start_map", "start_array"):
                    builder, level = ijson.ObjectBuilder(), 1
                    builder.event(event, value)
                else:
                    header[key] = value
            elif depth == 2:
                if event == "end_array":
                    section, depth = None, 1
                elif event == "start_map":
                    builder, level = ijson.ObjectBuilder(), 1
                    builder.event(event, value)
                else:
                    raise CidrepError(f"{name} {section}[{index}]: not an object")
    except ijson.JSONError as exc:
        place = f"{name} {section}[{index}]" if section else name
        reason = str(exc).splitlines()[0].strip() if str(exc).strip() else "not valid JSON"
        raise CidrepError(
            f"{place}: not valid JSON ({reason}); the file is damaged or cut short"
        ) from None
    if not header_sent:
        yield "header", header, f"{name} header"


def _check_header(record: dict[str, Any], where: str) -> None:
    if record.get("format") != FORMAT:
        raise CidrepError(f"{where}: not a cidrep export (format is not {FORMAT!r})")
    version = record.get("schema_version")
    if version != SCHEMA_VERSION:
        raise CidrepError(
            f"{where}: schema_version {version!r}; this cidrep reads version {SCHEMA_VERSION}"
            + (
                " (the export was written by a newer cidrep: upgrade)"
                if isinstance(version, int) and version > SCHEMA_VERSION
                else ""
            )
        )


def _validated(line_type: str, record: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return LINE_TYPES[line_type].model_validate(record).model_dump()
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(p) for p in error["loc"]) or "record"
        raise CidrepError(f"{where}: {loc}: {error['msg']}") from None
