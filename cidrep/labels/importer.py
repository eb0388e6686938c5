"""Reading label exports (carrier portals, dialers, other vendors) into ``Recorded`` items.

Pure parsing, no database: bytes in, dated per-carrier items and line-numbered
problems out. The file is read with the same streaming CSV reader as ``cidrep numbers
import`` (``cidrep.importer``: LF/CRLF/CR, a UTF-8 BOM, the delimiter sniffed among
``, ; tab |``, a bad line named by its number, bounded memory), so a file that
imports as numbers imports as labels.

Rules, and why:

- The first row is the header: a label export always has one, and the columns can
  only be told apart by name. Columns are found by name (case, spaces and hyphens
  ignored; ``HEADERS``) or named with ``--map number=COL,carrier=COL,label=COL,date=COL``
  (a header name or a 1-based index). A ``--map`` key or column that does not exist
  is a usage error before any row is read.
- One row is one observation: a number, a carrier, a label as shown ("Scam Likely";
  "Clean", "No label" or an empty cell mean no label, ``label_verdict``), a date.
  ``--carrier`` names the carrier of every row when the file has no carrier column,
  and fills the empty carrier cells when it has one. Without a date column every row
  is dated ``now`` (the caller says so).
- A per-carrier "wide" export (TrustCall: ``VerizonScore, ATTScore, TMobileScore``
  with Clean/Flagged) has no label and no carrier column but one column per known
  carrier (``<carrier>Score``/``Status``/``Label``/``Flag``): each such cell is one
  observation for that carrier.
- A cell saying the vendor has not checked yet ("Processing", "Pending", "Unknown"),
  and an empty cell of a wide export, is no observation: skipped and counted, since
  recording it as a flag (or as clean) would be inventing an answer.
- Identical rows collapse to one (exports repeat rows); two rows giving the same
  number, carrier and date different labels are a bad row: which is true is unknown.
- Every other problem is a bad row naming its line: no number, a number that does
  not parse, no date or a date that does not parse, no carrier, an over-long
  carrier or label. The caller writes nothing unless every row is valid, or drops
  the bad rows when asked to (``--skip-invalid``).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cidrep.disputes import carrier_key
from cidrep.errors import CidrepError
from cidrep.importer import (
    MAX_CELL,
    MAX_LISTED_COLUMNS,
    NUMBER_HEADERS,
    SNIFF_CHARS,
    BadRow,
    ParsedImport,
    RowNote,
    _Feed,
    _Lines,
    _looks_like_number,
    _norm,
    _records,
)
from cidrep.labels.dates import parse_when
from cidrep.labels.record import Recorded, label_verdict
from cidrep.phone import InvalidNumber, normalize_noted, quote

ROLES = ("number", "carrier", "label", "date")


def _names(text: str) -> set[str]:
    return set(text.split())


# Header names (lower case, spaces and hyphens as _) that name each role.
HEADERS: dict[str, set[str]] = {
    "number": NUMBER_HEADERS
    | _names("phone_no telephone_number caller_id_number calling_number from"),
    "carrier": _names("carrier carrier_name network operator provider"),
    "label": _names(
        "label status flag display display_label call_label spam_label label_status result"
    ),
    "date": _names(
        "date checked checked_at checked_on date_checked last_checked seen seen_at last_seen "
        "timestamp datetime date_time when observed_at"
    ),
}
NOT_CHECKED = {"processing", "pending", "unknown", "not checked"}
_WIDE = re.compile(r"^(?P<carrier>.+?)_?(score|status|label|flag)$")
MAX_CARRIER = 60
MAX_LABEL = 200
CACHE = 65536  # distinct number and date cells remembered (exports repeat them a lot)


@dataclass
class ParsedLabels:
    items: list[Recorded] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    notes: list[RowNote] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # role -> header as written
    wide: dict[str, str] = field(default_factory=dict)  # header -> carrier (wide export)
    dated: bool = True  # False: no date column, every row dated now
    rows: int = 0  # data rows read (good and bad)
    duplicates: int = 0  # items equal to an earlier row's, collapsed
    unchecked: int = 0  # cells the vendor had not checked yet, skipped


def parse_map(values: Iterable[str]) -> dict[str, str]:
    """``--map`` options (``number=Phone,label=Status``, repeatable) as role -> column.

    An unknown key, a pair without ``=`` or an empty column, and a key given twice are
    usage errors."""
    mapping: dict[str, str] = {}
    for value in values:
        for pair in value.split(","):
            if not pair.strip():
                continue
            key, sep, column = pair.partition("=")
            key, column = key.strip().lower(), column.strip()
            if not sep or not column:
                raise CidrepError(f"--map: {quote(pair.strip())} is not KEY=COLUMN")
            if key not in ROLES:
                raise CidrepError(f"--map: unknown key {quote(key)} (keys: {', '.join(ROLES)})")
            if key in mapping:
                raise CidrepError(f"--map: {key} is given twice")
            mapping[key] = column
    return mapping


def read_labels_csv(
    path: Path,
    region: str,
    now: str,
    mapping: dict[str, str] | None = None,
    carrier: str | None = None,
    carriers: Iterable[str] = (),
    canonical: Callable[[str], str] = str.strip,
) -> ParsedLabels:
    """Stream ``path`` (see ``parse_labels_stream``); an unreadable file is a ``CidrepError``."""
    try:
        with path.open("rb") as stream:
            return parse_labels_stream(
                stream, region, now, mapping, carrier, carriers, canonical, str(path)
            )
    except OSError as exc:
        raise CidrepError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse_labels_csv(text: str, region: str, now: str, **options: object) -> ParsedLabels:
    """Parse CSV held in a string (tests, small inputs); same rules as a file."""
    data = text.encode("utf-8", "surrogateescape")
    return parse_labels_stream(io.BytesIO(data), region, now, **options)  # type: ignore[arg-type]


def parse_labels_stream(
    stream: BinaryIO,
    region: str,
    now: str,
    mapping: dict[str, str] | None = None,
    carrier: str | None = None,
    carriers: Iterable[str] = (),
    canonical: Callable[[str], str] = str.strip,
    source: str = "CSV",
) -> ParsedLabels:
    """Parse a binary CSV stream of labels (module docstring).

    ``now`` (ISO UTC) dates every row of a file without a date column; ``carriers``
    are the known carrier names (for wide exports); ``canonical`` spells a carrier as
    configured ("tmobile" -> "T-Mobile")."""
    previous = csv.field_size_limit(MAX_CELL)
    try:
        return _parse(stream, region, now, mapping or {}, carrier, carriers, canonical, source)
    finally:
        csv.field_size_limit(previous)


def _parse(
    stream: BinaryIO,
    region: str,
    now: str,
    mapping: dict[str, str],
    carrier: str | None,
    carriers: Iterable[str],
    canonical: Callable[[str], str],
    source: str,
) -> ParsedLabels:
    lines = _Lines(stream, source)
    line_iter = iter(lines)
    feed = _Feed(line_iter)
    size = 0
    for item in line_iter:
        feed.pending.append(item)
        size += len(item[1])
        if size >= SNIFF_CHARS:
            break
    sample = "".join(text for _, text in feed.pending)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    broken = ParsedImport()  # _records puts unreadable rows in broken.bad
    records = _records(csv.reader(feed, dialect), feed, lines.too_long, broken)
    first = next(records, None)
    if broken.bad:
        bad = broken.bad[0]
        raise CidrepError(f"{source}:line {bad.line}: cannot read the header: {bad.reason}")
    if first is None:
        raise CidrepError(f"{source} is empty (a header row naming the columns is needed)")
    header_line, header = first
    index, wide = _columns(header, header_line, region, mapping, carrier, carriers, source)
    result = ParsedLabels(
        columns={role: header[i].strip() for role, i in index.items()},
        wide={header[i].strip(): name for i, name in wide.items()},
        dated="date" in index,
    )
    fill = canonical(carrier) if carrier and carrier.strip() else None
    cells = _Cells(
        functools.lru_cache(CACHE)(functools.partial(_number, region=region)),
        functools.lru_cache(CACHE)(_date),
    )
    seen: dict[tuple[str, str, str], tuple[int, str | None]] = {}
    for line, row in records:
        result.rows += 1
        found = _row(line, row, cells, now, index, wide, fill, canonical, result)
        conflict = next(
            (
                (item, seen[_key(item)][0])
                for item in found
                if _key(item) in seen and seen[_key(item)][1] != _shown(item)
            ),
            None,
        )
        if conflict is not None:
            item, earlier = conflict
            reason = f"line {earlier} gives {item.number} on {item.carrier} at {item.at} "
            result.bad.append(BadRow(line, item.number, reason + "another label"))
            continue
        for item in found:
            if _key(item) in seen:
                result.duplicates += 1
                continue
            seen[_key(item)] = (line, _shown(item))
            result.items.append(item)
    result.rows += len(broken.bad)
    result.bad.extend(broken.bad)
    result.bad.sort(key=lambda bad: bad.line)
    return result


@dataclass(frozen=True)
class _Cells:
    """Reading a number cell and a date cell: (value, note, problem), cached per file
    (parsing a number is most of an import's time, and exports repeat numbers)."""

    number: Callable[[str], tuple[str, str | None, str | None]]
    date: Callable[[str], tuple[str, str | None, str | None]]


def _number(raw: str, region: str) -> tuple[str, str | None, str | None]:
    try:
        e164, note = normalize_noted(raw, region)
    except InvalidNumber as exc:
        return "", None, str(exc)
    return e164, note, None


def _date(text: str) -> tuple[str, str | None, str | None]:
    try:
        return parse_when(text), None, None
    except ValueError:
        shown = quote(text)
        return (
            "",
            None,
            f"{shown} is not a date (use 2026-11-20, 2026-11-20T14:05:00Z or 11/20/2026)",
        )


def _key(item: Recorded) -> tuple[str, str, str]:
    return item.number, item.carrier, item.at


def _shown(item: Recorded) -> str | None:
    return label_verdict(item.label)[1]


def _columns(
    header: list[str],
    line: int,
    region: str,
    mapping: dict[str, str],
    carrier: str | None,
    carriers: Iterable[str],
    source: str,
) -> tuple[dict[str, int], dict[int, str]]:
    """Which column plays which role, and the wide export's carrier columns.

    Usage errors (``CidrepError``) before any row: a first row holding a number (no
    header), a ``--map`` column not in the header, two roles on one column, no number
    column, no label column (and no carrier columns), no carrier column without
    ``--carrier``."""
    cell = next((c for c in header if _looks_like_number(c, region)), None)
    if cell is not None:
        raise CidrepError(
            f"{source}:line {line}: the first row holds a number ({quote(cell.strip())}), "
            "not column names; add a header row such as number,carrier,label,date"
        )
    names = [_norm(h) for h in header]
    listing = ", ".join(h.strip()[:40] for h in header[:MAX_LISTED_COLUMNS])
    if len(header) > MAX_LISTED_COLUMNS:
        listing += f", ... ({len(header)} columns)"
    index: dict[str, int] = {}
    for role, column in mapping.items():
        if _norm(column) in names:
            index[role] = names.index(_norm(column))
        elif column.isdigit() and 1 <= int(column) <= len(header):
            index[role] = int(column) - 1
        else:
            raise CidrepError(
                f"--map {role}={column}: {source} has no column {quote(column)} "
                f"(columns: {listing})"
            )
        other = next((r for r, i in index.items() if i == index[role] and r != role), None)
        if other is not None:
            raise CidrepError(f"--map: {other} and {role} are the same column {quote(column)}")
    for role in ROLES:
        if role not in index:
            used = set(index.values())
            found = (i for i, n in enumerate(names) if n in HEADERS[role] and i not in used)
            hit = next(found, None)
            if hit is not None:
                index[role] = hit
    if "number" not in index:
        raise CidrepError(
            f"cannot tell which column of {source} holds the numbers; name it with "
            f"--map number=COLUMN (columns: {listing})"
        )
    wide: dict[int, str] = {}
    if "label" not in index and "carrier" not in index and not carrier:
        known = {carrier_key(c): c for c in carriers}
        used = set(index.values())
        for i, name in enumerate(names):
            match = _WIDE.match(name)
            key = carrier_key(match["carrier"]) if match and i not in used else ""
            if key in known:
                if known[key] in wide.values():
                    raise CidrepError(f"{source} has two columns for {known[key]}")
                wide[i] = known[key]
    if "label" not in index and not wide:
        raise CidrepError(
            f"cannot tell which column of {source} holds the labels; name it with "
            f"--map label=COLUMN (columns: {listing})"
        )
    if not wide and "carrier" not in index and not (carrier and carrier.strip()):
        raise CidrepError(
            f"{source} has no carrier column; name it with --map carrier=COLUMN, "
            "or give --carrier NAME for every row"
        )
    return index, wide


def _row(
    line: int,
    row: list[str],
    cells: _Cells,
    now: str,
    index: dict[str, int],
    wide: dict[int, str],
    fill: str | None,
    canonical: Callable[[str], str],
    result: ParsedLabels,
) -> list[Recorded]:
    """One data row as items (one per carrier it answers); a bad row goes to
    ``result.bad`` and gives none."""

    def cell(i: int | None) -> str:
        return row[i].strip() if i is not None and i < len(row) else ""

    def bad(reason: str, value: str = "") -> list[Recorded]:
        result.bad.append(BadRow(line, value[:80], reason))
        return []

    raw = cell(index["number"])
    if not raw:
        return bad("no number in this row")
    e164, note, problem = cells.number(raw)
    if problem:
        return bad(problem, raw)
    at = now
    if "date" in index:
        text = cell(index["date"])
        if not text:
            return bad("no date in this row")
        at, _, problem = cells.date(text)
        if problem:
            return bad(problem, text)
    if wide:
        pairs = [(name, cell(i)) for i, name in wide.items()]
        checked = [(c, label) for c, label in pairs if label and label.lower() not in NOT_CHECKED]
        result.unchecked += len(pairs) - len(checked)
    else:
        name = cell(index.get("carrier")) or fill
        if not name:
            return bad("no carrier in this row (fill it in, or give --carrier NAME)")
        label = cell(index["label"])
        if label.lower() in NOT_CHECKED:
            result.unchecked += 1
            return []
        checked = [(canonical(name), label)]
    for name, label in checked:
        if len(name) > MAX_CARRIER or not name.isprintable():
            return bad(
                f"carrier {quote(name)} is not a carrier name (at most {MAX_CARRIER} "
                "printable characters)"
            )
        shown = label_verdict(label)[1] or ""
        if len(shown) > MAX_LABEL or not shown.isprintable():
            return bad(
                f"label {quote(shown)} is not a label (at most {MAX_LABEL} printable characters)"
            )
    if note:
        result.notes.append(RowNote(line, note))
    return [Recorded(e164, name, label, at, line=line) for name, label in checked]
