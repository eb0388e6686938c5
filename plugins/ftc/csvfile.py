"""Parsing one FTC Do Not Call "Reported Calls" CSV file into sightings (pure).

The FTC publishes one CSV per weekday with the columns ``Company_Phone_Number,
Created_Date, Violation_Date, Consumer_City, Consumer_State, Consumer_Area_Code,
Subject, Recorded_Message_Or_Robocall``. The caller number column is what consumers
typed, so about one row in a hundred is not a usable number (7-digit local numbers,
9 or 15 digits, a date in the wrong column). Those rows are counted as junk and
skipped, never guessed at: a wrong guess would pin a complaint on someone's number.

Rules, in order, for each row:

1. phone: strip everything but ASCII digits; 10 digits is the NANP national number,
   11 digits starting with ``1`` drops the ``1``; anything else (or any letter in the
   field) is junk;
2. created date: one of ``YYYY-MM-DD[ HH:MM:SS]``, ``YYYY-MM-DDTHH:MM:SS``,
   ``MM/DD/YYYY[ HH:MM[:SS]]``; anything else makes the row junk;
3. match the national number against the monitored targets (a dict lookup: a real
   day is ~5k rows and 90 days ~340k, so nothing per row may call phonenumbers).

Only the matched rows become ``Sighting``s, and they keep only what a verdict needs
(subject, robocall flag, violation date): consumer city, state and area code are
personal data about the person who complained and are never stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from cidrep.contract import Sighting, SourceError, excerpt, nanp_digits
from cidrep_plugins.ftc.stream import BLOCK_BYTES, MAX_RECORD_CHARS, RecordSplitter

FTC_HEADER: tuple[str, ...] = (
    "Company_Phone_Number",
    "Created_Date",
    "Violation_Date",
    "Consumer_City",
    "Consumer_State",
    "Consumer_Area_Code",
    "Subject",
    "Recorded_Message_Or_Robocall",
)
PHONE = "company_phone_number"
CREATED = "created_date"
VIOLATION = "violation_date"
SUBJECT = "subject"
ROBOCALL = "recorded_message_or_robocall"
REQUIRED_COLUMNS: tuple[str, ...] = (PHONE, CREATED)

MAX_SUBJECT = 200  # subjects are short category names; bound what a bad row can store

_NOT_DIGITS = re.compile(r"[^0-9]+")
_LETTER = re.compile(r"[A-Za-z]")
_HEADER_SEPARATORS = re.compile(r"[\s\-]+")
_US_DATE = re.compile(
    r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"
    r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)
_ROBOCALL_VALUES = {"y": True, "yes": True, "true": True, "n": False, "no": False, "false": False}


@dataclass
class ParsedFile:
    """The sightings matched in one file, plus counts for the run report.

    ``junk_rows`` counts every row skipped as unusable (bad phone or bad created
    date); ``bad_dates`` is the part of it caused by the created date.
    """

    sightings: list[Sighting] = field(default_factory=list)
    rows: int = 0
    junk_rows: int = 0
    bad_dates: int = 0

    @property
    def matched(self) -> int:
        return len(self.sightings)

    def stats(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "junk_rows": self.junk_rows,
            "bad_dates": self.bad_dates,
            "matched": self.matched,
        }


def target_index(targets: Iterable[str]) -> dict[str, str]:
    """Map the 10-digit national form of each NANP target to its E.164 form.

    Built once per pull. Non-NANP targets are left out: the FTC data only names
    US/NANP numbers, so they can never match.
    """
    index: dict[str, str] = {}
    for e164 in targets:
        national = nanp_digits(e164)
        if national is not None:
            index[national] = e164
    return index


def normalize_header(name: str) -> str:
    """``"\\ufeffCompany Phone-Number "`` -> ``"company_phone_number"``."""
    return _HEADER_SEPARATORS.sub("_", name.replace("\ufeff", "").strip()).lower()


def national_number(raw: str) -> str | None:
    """The 10-digit NANP national number in a phone field, or None when it is junk."""
    if len(raw) == 10 and raw.isascii() and raw.isdigit():
        return raw  # the common case: the FTC writes 10 bare digits
    if _LETTER.search(raw):
        return None  # a word or a misaligned field, never a number to guess from
    digits = _NOT_DIGITS.sub("", raw)
    if len(digits) == 10:
        return digits
    if len(digits) == 11 and digits[0] == "1":
        return digits[1:]
    return None


def parse_day(raw: str) -> date | None:
    """The calendar date of an FTC timestamp, or None when it is not one.

    The FTC's timestamps carry no time zone (they are most likely US Eastern), so
    only the date is kept: claiming a UTC instant would be a guess, and the flag
    rule counts whole days anyway.
    """
    text = raw.strip()
    if len(text) >= 10 and text[4:5] == "-":
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            return None
    m = _US_DATE.fullmatch(text)
    if m is None:
        return None
    hour, minute, second = int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    try:
        return date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        return None


def parse_robocall(raw: str) -> bool | None:
    return _ROBOCALL_VALUES.get(raw.strip().lower())


class ComplaintParser:
    """The row rules above, applied to one file's rows as they arrive, header first.

    State that spans the whole file (the columns, and how often each matched row
    was seen, for its key) lives here, so a file parsed in pieces gives exactly the
    sightings of a whole-file parse. Matched sightings accumulate in
    ``result.sightings`` until the caller takes them.
    """

    def __init__(self, name: str, targets: Mapping[str, str]) -> None:
        self.name = name
        self.targets = targets
        self.result = ParsedFile()
        self._columns: list[str] | None = None
        # occurrences per matched row, keyed by a digest so a file with many matches
        # holds 16 bytes per distinct complaint, not the row text
        self._seen: dict[bytes, int] = {}

    def add_rows(self, rows: Iterable[list[str]]) -> None:
        """Apply the rules to ``rows`` (the first row of the file is its header)."""
        it = iter(rows)
        if self._columns is None:
            header = next(it, None)
            if header is None:
                return
            self._set_header(header)
        columns = self._columns
        assert columns is not None
        i_phone, i_created = self._i_phone, self._i_created
        width, targets, result = len(columns), self.targets, self.result
        for row in it:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line, not a row
            result.rows += 1
            national = national_number(row[i_phone]) if i_phone < len(row) else None
            if national is None:
                result.junk_rows += 1
                continue
            created = parse_day(row[i_created]) if i_created < len(row) else None
            if created is None:
                result.junk_rows += 1
                result.bad_dates += 1
                continue
            e164 = targets.get(national)
            if e164 is None:
                continue
            cells = row + [""] * (width - len(row))
            result.sightings.append(self._sighting(cells, national, e164, created))

    def finish(self) -> None:
        """End of file: a file without even a header is an error."""
        if self._columns is None:
            raise SourceError(f"FTC file {self.name} is empty (no CSV header)")

    def _set_header(self, header: list[str]) -> None:
        if not any(cell.strip() for cell in header):
            raise SourceError(f"FTC file {self.name} is empty (no CSV header)")
        columns = [normalize_header(cell) for cell in header]
        missing = [column for column in REQUIRED_COLUMNS if column not in columns]
        if missing:
            found = excerpt(", ".join(cell.strip() or "(blank)" for cell in header), 200)
            raise SourceError(
                f"FTC file {self.name} has no {' or '.join(missing)} column "
                f"(columns found: {found})"
            )
        at = {column: i for i, column in reversed(list(enumerate(columns)))}  # first wins
        self._i_phone, self._i_created = at[PHONE], at[CREATED]
        self._i_violation, self._i_subject = at.get(VIOLATION), at.get(SUBJECT)
        self._i_robocall = at.get(ROBOCALL)
        self._key_order = sorted(range(len(columns)), key=lambda i: (columns[i], i))
        self._columns = columns

    def _sighting(self, cells: list[str], national: str, e164: str, created: date) -> Sighting:
        assert self._columns is not None
        canonical = _canonical_row(cells, self._columns, self._key_order, self._i_phone, national)
        digest = hashlib.blake2b(canonical.encode(), digest_size=16).digest()
        occurrence = self._seen.get(digest, 0)
        self._seen[digest] = occurrence + 1
        return Sighting(
            number=e164,
            key=row_key(canonical, occurrence),
            occurred_at=created.isoformat(),
            detail=_detail(cells, self._i_violation, self._i_subject, self._i_robocall),
        )


class FileParser:
    """One FTC file, parsed block by block in bounded memory.

    ``feed`` each block of bytes as it arrives, then ``finish``. Complete records go
    through ``csv.reader`` and the row rules; matched sightings wait in
    ``pending`` until ``take``n, so the caller can hand them on in bounded chunks.
    A malformed record (``csv.Error``: a field over the csv module's limit, etc.)
    or an overlong one is a ``SourceError`` naming the file and the line.
    """

    def __init__(
        self, name: str, targets: Mapping[str, str], max_record: int = MAX_RECORD_CHARS
    ) -> None:
        self.name = name
        self.splitter = RecordSplitter(name, max_record)
        self.rules = ComplaintParser(name, targets)
        self._reported = ParsedFile()  # counts already handed out by take()

    @property
    def pending(self) -> list[Sighting]:
        return self.rules.result.sightings

    def feed(self, data: bytes) -> None:
        first_line = self.splitter.lines + 1
        self._parse(self.splitter.feed(data), first_line)

    def finish(self) -> None:
        first_line = self.splitter.lines + 1
        self._parse(self.splitter.finish(), first_line)
        self.rules.finish()

    def take(self, limit: int | None = None) -> tuple[list[Sighting], dict[str, int]]:
        """Up to ``limit`` pending sightings, and the counts not reported before."""
        sightings = self.pending
        taken = sightings[:limit] if limit is not None else sightings[:]
        del sightings[: len(taken)]
        done, now = self._reported, self.rules.result
        stats = {
            "rows": now.rows - done.rows,
            "junk_rows": now.junk_rows - done.junk_rows,
            "bad_dates": now.bad_dates - done.bad_dates,
            "matched": len(taken),
        }
        done.rows, done.junk_rows, done.bad_dates = now.rows, now.junk_rows, now.bad_dates
        return taken, stats

    def _parse(self, text: str, first_line: int) -> None:
        if not text:
            return
        reader = csv.reader(io.StringIO(text))
        try:
            self.rules.add_rows(reader)
        except csv.Error as exc:
            line = first_line + max(reader.line_num, 1) - 1
            raise SourceError(f"FTC file {self.name}, line {line}: malformed CSV ({exc})") from None


def parse_complaints(data: bytes | str, name: str, targets: Mapping[str, str]) -> ParsedFile:
    """Parse one whole FTC CSV and return the rows naming a target as sightings.

    A convenience over ``FileParser`` (the feed itself streams): ``targets`` is
    ``target_index(...)``'s national -> E.164 map; ``name`` only labels error
    messages. Raises ``SourceError`` when the file has no header or lacks a
    required column (that is a format change to report, not junk to skip).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parser = FileParser(name, targets)
    view = memoryview(raw)
    for start in range(0, len(raw), BLOCK_BYTES):
        parser.feed(bytes(view[start : start + BLOCK_BYTES]))
    parser.finish()
    return parser.rules.result


def row_key(canonical: str, occurrence: int) -> str:
    """A complaint's stable identity: hash of the normalised row + its occurrence index.

    It depends only on the row's content (not the file name or row position), so a
    re-read or a renamed copy of a file gives the same keys and stores nothing twice;
    the occurrence index keeps two identical complaints in one file as two.
    """
    digest = hashlib.sha256(f"{canonical}#{occurrence}".encode()).hexdigest()
    return digest[:32]


def _canonical_row(
    cells: list[str], columns: list[str], order: list[int], i_phone: int, national: str
) -> str:
    """All columns as ``name=value`` sorted by column name, whitespace collapsed.

    Sorting by name makes the key survive a re-export with reordered columns; the
    phone is the normalised national number so ``1NXX...`` and ``NXX...`` agree.
    """
    parts = []
    for i in order:
        value = national if i == i_phone else " ".join(cells[i].split())
        parts.append(f"{columns[i]}={value}")
    parts.extend(" ".join(extra.split()) for extra in cells[len(columns) :])
    return "\x1f".join(parts)


def _detail(
    cells: list[str], i_violation: int | None, i_subject: int | None, i_robocall: int | None
) -> dict[str, object]:
    subject = " ".join(cells[i_subject].split())[:MAX_SUBJECT] if i_subject is not None else ""
    violation = parse_day(cells[i_violation]) if i_violation is not None else None
    return {
        "subject": subject or None,
        "robocall": parse_robocall(cells[i_robocall]) if i_robocall is not None else None,
        "violation_date": violation.isoformat() if violation else None,
    }
