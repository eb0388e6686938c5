"""Reading monitored numbers from a CSV file (pure: text in, entries and problems out).

The number column is found by its header name, or by which column's values parse
as phone numbers, or named with ``--column``. Every bad row is reported with its
line number; the caller writes nothing unless every row is valid (or the user
asked to skip invalid rows).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from cidrep.errors import CidrepError
from cidrep.phone import InvalidNumber, normalize
from cidrep.store.numbers import NumberEntry

NUMBER_HEADERS = {
    "number",
    "numbers",
    "phone",
    "phone_number",
    "phonenumber",
    "telephone",
    "tel",
    "caller_id",
    "callerid",
    "cid",
    "cli",
    "ani",
    "did",
    "tn",
    "e164",
    "msisdn",
    "mobile",
}
LABEL_HEADERS = {"label", "name", "description"}
TAG_HEADERS = {"tags", "tag"}
SNIFF_ROWS = 50


@dataclass
class BadRow:
    line: int
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ParsedImport:
    entries: list[NumberEntry] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    column: str = ""
    rows: int = 0


def _norm(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lower().lstrip("\ufeff"))


def _looks_like_number(value: str, region: str) -> bool:
    if not re.search(r"\d{3}", value or ""):
        return False
    try:
        normalize(value, region)
    except InvalidNumber:
        return False
    return True


def parse_numbers_csv(
    text: str,
    region: str,
    column: str | None = None,
    tags: tuple[str, ...] = (),
    source: str = "CSV",
) -> ParsedImport:
    text = text.lstrip("\ufeff")
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise CidrepError(f"{source} has no rows")
    first = rows[0][1]
    has_header = not any(_looks_like_number(cell, region) for cell in first)
    headers = [_norm(h) for h in first] if has_header else []
    data = rows[1:] if has_header else rows
    width = max(len(r) for _, r in rows)
    names = headers or [str(i + 1) for i in range(width)]
    index = _number_column(names, headers, data, region, column, source)
    label_i = next((i for i, h in enumerate(headers) if h in LABEL_HEADERS and i != index), None)
    tags_i = next((i for i, h in enumerate(headers) if h in TAG_HEADERS and i != index), None)

    result = ParsedImport(column=first[index].strip() if has_header else f"column {index + 1}")
    for line, row in data:
        result.rows += 1
        value = row[index].strip() if index < len(row) else ""
        if not value:
            result.bad.append(BadRow(line, value, "no number in this row"))
            continue
        try:
            e164 = normalize(value, region)
        except InvalidNumber as exc:
            result.bad.append(BadRow(line, value, str(exc)))
            continue
        label = row[label_i].strip() or None if label_i is not None and label_i < len(row) else None
        row_tags = tags
        if tags_i is not None and tags_i < len(row):
            row_tags = tags + tuple(t.strip() for t in re.split(r"[;,]", row[tags_i]) if t.strip())
        result.entries.append(NumberEntry(e164, label, tuple(sorted(set(row_tags)))))
    return result


def _number_column(
    names: list[str],
    headers: list[str],
    data: list[tuple[int, list[str]]],
    region: str,
    column: str | None,
    source: str,
) -> int:
    listing = ", ".join(names)
    if column is not None:
        wanted = _norm(column)
        if wanted in headers:
            return headers.index(wanted)
        if column.isdigit() and 1 <= int(column) <= len(names):
            return int(column) - 1
        raise CidrepError(f"{source} has no column {column!r} (columns: {listing})")
    for i, header in enumerate(headers):
        if header in NUMBER_HEADERS:
            return i
    scores = []
    for i in range(len(names)):
        cells = [row[i] for _, row in data[:SNIFF_ROWS] if i < len(row) and row[i].strip()]
        hits = sum(_looks_like_number(c, region) for c in cells)
        scores.append((hits / len(cells) if cells else 0.0, i))
    best = sorted(scores, reverse=True)
    if best and best[0][0] >= 0.5 and (len(best) == 1 or best[0][0] > best[1][0]):
        return best[0][1]
    raise CidrepError(
        f"cannot tell which column of {source} holds the numbers; "
        f"name it with --column (columns: {listing})"
    )
