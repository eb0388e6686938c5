"""Reading monitored numbers from a CSV file (streamed: bytes in, entries and problems out).

The number column is found by its header name, or by which column's values parse
as phone numbers, or named with ``--column``. Every bad row is reported with its
line number; the caller writes nothing unless every row is valid (or the user
asked to skip invalid rows).

Rules, and why:

- The file is streamed line by line and never read whole; a physical line over
  ``MAX_LINE`` bytes and a cell over ``MAX_CELL`` characters are bad rows, so a
  corrupt or hostile file costs bounded memory and still gets one line per problem.
- Lines end in LF, CRLF or CR alone (old Mac exports); a UTF-8 BOM is ignored.
  Lines are split on bytes and decoded one by one, so a file that is not UTF-8 is
  one error naming the exact line.
- A record that spans physical lines is a bad row: in a list of numbers it is
  almost always a stray quote that swallowed the following numbers into one cell,
  and importing "successfully" would silently lose them.
- The first row is a header only if none of its cells looks like a number and
  either one is a known header name or none holds three digits in a row: a
  headerless file whose first number is mistyped reports that row as bad instead
  of silently dropping it as a "header".
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cidrep.errors import CidrepError
from cidrep.phone import InvalidNumber, normalize, normalize_noted, quote
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
KNOWN_HEADERS = NUMBER_HEADERS | LABEL_HEADERS | TAG_HEADERS
SNIFF_ROWS = 50
SNIFF_CHARS = 4096
MAX_LINE = 1024 * 1024  # bytes in one physical line
MAX_CELL = 64 * 1024  # characters in one cell (csv.field_size_limit while reading)
MAX_LISTED_COLUMNS = 20
_BLOCK = 64 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass
class BadRow:
    line: int
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class RowNote:
    """A row that was accepted with a warning (e.g. a new NANP area code)."""

    line: int
    message: str


@dataclass
class ParsedImport:
    entries: list[NumberEntry] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    notes: list[RowNote] = field(default_factory=list)
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


class _Lines:
    """Physical lines of a binary stream as ``(line number, text)``, bounded and decoded.

    Lines are split on bytes (LF, CRLF or a lone CR) before decoding, so a decoding
    error names its exact line. A line over ``MAX_LINE`` bytes is never held whole:
    it is dropped as it streams in and comes out as a blank, its number recorded in
    ``too_long``.
    """

    def __init__(self, stream: BinaryIO, source: str) -> None:
        self.stream = stream
        self.source = source
        self.too_long: set[int] = set()

    def __iter__(self) -> Iterator[tuple[int, str]]:
        for number, (raw, too_long) in enumerate(self._split(), start=1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if too_long:
                self.too_long.add(number)
                yield number, "\n"
                continue
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CidrepError(
                    f"{self.source}:{number}: not UTF-8 text (byte "
                    f"0x{raw[exc.start]:02x} at column {exc.start + 1}); save the file as UTF-8"
                ) from None

    def _split(self) -> Iterator[tuple[bytes, bool]]:
        buffer, pos = b"", 0
        skipping = False  # inside an over-long line: drop bytes until its end
        while True:
            block = self.stream.read(_BLOCK)
            buffer = buffer[pos:] + block
            pos = 0
            while True:
                cut = _line_end(buffer, pos, final=not block)
                if cut is None:
                    break
                line, pos = buffer[pos:cut], cut
                if skipping or len(line) > MAX_LINE:
                    skipping = False
                    yield b"", True
                else:
                    yield line, False
            if len(buffer) - pos > MAX_LINE:
                skipping, buffer, pos = True, b"", 0
            if not block:
                if skipping:
                    yield b"", True
                return


def _line_end(buffer: bytes, pos: int, final: bool) -> int | None:
    """Index just past the first line ending at or after ``pos``; None if incomplete."""
    lf, cr = buffer.find(b"\n", pos), buffer.find(b"\r", pos)
    if cr != -1 and (lf == -1 or cr < lf):
        if cr + 1 < len(buffer):
            return cr + 2 if buffer[cr + 1] == 0x0A else cr + 1
        return cr + 1 if final else None  # a CR ending a block may be half of CRLF
    if lf != -1:
        return lf + 1
    return len(buffer) if final and pos < len(buffer) else None


class _Feed:
    """The lines given to ``csv.reader``, with the lines of the current record kept.

    When a record turns out to span several lines (a quoted field ran on), the lines
    after its first are pushed back and read again on their own: a stray quote then
    costs its own row, not every row it swallowed.
    """

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self.lines = lines
        self.pending: deque[tuple[int, str]] = deque()
        self.record: list[tuple[int, str]] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        item = self.pending.popleft() if self.pending else next(self.lines)
        self.record.append(item)
        return item[1]

    def push_back(self, items: list[tuple[int, str]]) -> None:
        self.pending.extendleft(reversed(items))


def read_numbers_csv(
    path: Path,
    region: str,
    column: str | None = None,
    tags: tuple[str, ...] = (),
) -> ParsedImport:
    """Stream ``path``; every problem with the file itself is one ``CidrepError``."""
    try:
        with path.open("rb") as stream:
            return parse_numbers_stream(stream, region, column, tags, source=str(path))
    except OSError as exc:
        raise CidrepError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse_numbers_csv(
    text: str,
    region: str,
    column: str | None = None,
    tags: tuple[str, ...] = (),
    source: str = "CSV",
) -> ParsedImport:
    """Parse CSV held in a string (tests, small inputs); same rules as a file."""
    data = text.encode("utf-8", "surrogateescape")
    return parse_numbers_stream(io.BytesIO(data), region, column, tags, source)


def parse_numbers_stream(
    stream: BinaryIO,
    region: str,
    column: str | None = None,
    tags: tuple[str, ...] = (),
    source: str = "CSV",
) -> ParsedImport:
    """Parse a binary CSV stream; see the module docstring for the rules."""
    previous = csv.field_size_limit(MAX_CELL)
    try:
        return _parse(stream, region, column, tags, source)
    finally:
        csv.field_size_limit(previous)


def _parse(
    stream: BinaryIO, region: str, column: str | None, tags: tuple[str, ...], source: str
) -> ParsedImport:
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
    result = ParsedImport()
    records = _records(csv.reader(feed, dialect), feed, lines.too_long, result)

    first: tuple[int, list[str]] | None = next(records, None)
    if first is None:
        if result.bad:
            result.rows = len(result.bad)
            return result
        raise CidrepError(f"{source} has no rows")
    has_header = not result.bad and _is_header(first[1], region, column)
    headers = [_norm(h) for h in first[1]] if has_header else []
    buffered = [] if has_header else [first]
    for record in records:
        buffered.append(record)
        if len(buffered) >= SNIFF_ROWS:
            break
    width = max((len(r) for _, r in [first, *buffered]), default=0)
    names = headers or [str(i + 1) for i in range(width)]
    index = _number_column(names, headers, buffered, region, column, source)
    label_i = next((i for i, h in enumerate(headers) if h in LABEL_HEADERS and i != index), None)
    tags_i = next((i for i, h in enumerate(headers) if h in TAG_HEADERS and i != index), None)

    result.column = first[1][index].strip() if has_header else f"column {index + 1}"
    for line, row in itertools.chain(buffered, records):
        value = row[index].strip() if index < len(row) else ""
        if not value:
            result.bad.append(BadRow(line, value, "no number in this row"))
            continue
        try:
            e164, note = normalize_noted(value, region)
        except InvalidNumber as exc:
            result.bad.append(BadRow(line, value[:80], str(exc)))
            continue
        if note:
            result.notes.append(RowNote(line, note))
        label = row[label_i].strip() or None if label_i is not None and label_i < len(row) else None
        row_tags = tags
        if tags_i is not None and tags_i < len(row):
            row_tags = tags + tuple(t.strip() for t in re.split(r"[;,]", row[tags_i]) if t.strip())
        result.entries.append(NumberEntry(e164, label, tuple(sorted(set(row_tags)))))
    result.rows += len(result.bad) + len(result.entries)
    result.bad.sort(key=lambda bad: bad.line)
    return result


def _records(
    reader: Iterator[list[str]], feed: _Feed, too_long: set[int], result: ParsedImport
) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with their line number; broken ones go to ``result.bad``.

    A record over more than one physical line (a quoted field ran across a line
    end), an over-long line and an over-long cell are bad rows naming their line(s)
    and are never passed on as data; the lines after a broken record's first are
    read again on their own (``_Feed``).
    """
    while True:
        feed.record = []
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row = None
            error = str(exc)
        numbers = [number for number, _ in feed.record]
        if not numbers:
            return
        start, end = numbers[0], numbers[-1]
        if start in too_long:
            result.bad.append(BadRow(start, "", f"line is longer than {MAX_LINE} bytes"))
        elif row is None and "field larger than field limit" in error:
            reason = f"a cell is longer than {MAX_CELL} characters"
            if end > start:
                reason += f" (a quoted field runs across {_span(start, end)}; stray quote?)"
            result.bad.append(BadRow(start, "", reason))
        elif row is None:
            result.bad.append(BadRow(start, "", f"cannot read this row ({error})"))
        elif end > start:
            reason = f"a quoted field runs across {_span(start, end)} (stray quote?)"
            result.bad.append(BadRow(start, "", reason))
        elif any(cell.strip() for cell in row):
            yield start, row
        if len(feed.record) > 1:
            feed.push_back(feed.record[1:])


def _span(start: int, end: int) -> str:
    return f"line {start}" if end <= start else f"lines {start}-{end}"


def _is_header(cells: list[str], region: str, column: str | None) -> bool:
    """The header rule (module docstring): no number, and a known name or no 3 digits."""
    if any(_looks_like_number(cell, region) for cell in cells):
        return False
    names = {_norm(cell) for cell in cells}
    if names & KNOWN_HEADERS:
        return True
    if column is not None and not column.isdigit() and _norm(column) in names:
        return True
    return not any(re.search(r"\d{3}", cell) for cell in cells)


def _number_column(
    names: list[str],
    headers: list[str],
    data: list[tuple[int, list[str]]],
    region: str,
    column: str | None,
    source: str,
) -> int:
    listing = ", ".join(n if len(n) <= 40 else n[:37] + "..." for n in names[:MAX_LISTED_COLUMNS])
    if len(names) > MAX_LISTED_COLUMNS:
        listing += f", ... ({len(names)} columns)"
    if column is not None:
        wanted = _norm(column)
        if wanted in headers:
            return headers.index(wanted)
        if column.isdigit() and 1 <= int(column) <= len(names):
            return int(column) - 1
        raise CidrepError(f"{source} has no column {quote(column)} (columns: {listing})")
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
