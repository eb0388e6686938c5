"""Streaming FTC files: pieces parse exactly like the whole, records are bounded, and
memory does not grow with the file."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cidrep.contract import FeedRequest, SourceError
from cidrep_plugins.ftc.checker import FtcChecker, FtcSettings
from cidrep_plugins.ftc.csvfile import (
    FTC_HEADER,
    ComplaintParser,
    FileParser,
    ParsedFile,
    parse_complaints,
    target_index,
)
from cidrep_plugins.ftc.stream import BLOCK_BYTES, RecordSplitter

A = "+12025550143"
B = "+13125550188"
TARGETS = target_index([A, B])
BOM = b"\xef\xbb\xbf"

# Cells a real file (or a broken export) can hold: separators, quotes, "" escapes,
# embedded LF/CRLF, multi-byte UTF-8 that a block boundary can cut in two.
PIECES = ["a", "b", " ", ",", '"', '""', "\n", "\r\n", "\r", "é", "€", "😀", "Other", "x y"]
PHONES = ["2025550143", "12025550143", "(312) 555-0188", "3125550188", "5550143", "", "N/A"]
CREATED = ["2026-11-19 14:03:00", "11/18/2026 09:15", "2026-11-19", "yesterday", ""]


def cell(value: str, force_quotes: bool) -> str:
    """RFC 4180: quote a cell holding a separator, quote or line break; double quotes."""
    if force_quotes or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def ftc_files(draw: st.DrawFn) -> bytes:
    text = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(FTC_HEADER)]
    for _ in range(draw(st.integers(0, 25))):
        if draw(st.integers(0, 9)) == 0:
            lines.append("")  # a blank line
            continue
        row = [
            draw(st.sampled_from(PHONES)),
            draw(st.sampled_from(CREATED)),
            draw(text),  # violation date: usually junk, must not matter
            draw(text),  # consumer city
            "Texas",
            "512",
            draw(text),  # subject
            draw(st.sampled_from(["Y", "N", "", "yes"])),
        ]
        width = draw(st.integers(1, len(row)))  # short rows happen
        lines.append(",".join(cell(v, draw(st.booleans())) for v in row[:width]))
    data = eol.join(lines) + (eol if draw(st.booleans()) else "")
    return (BOM if draw(st.booleans()) else b"") + data.encode()


def whole_file(data: bytes) -> ParsedFile:
    """The reference: decode everything, one csv.reader over all of it (the old way)."""
    rules = ComplaintParser("f.csv", TARGETS)
    rules.add_rows(csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace"))))
    rules.finish()
    return rules.result


def in_pieces(data: bytes, cuts: list[int], take: int | None = None) -> tuple[list, dict]:
    """Feed ``data`` cut at ``cuts``; take sightings ``take`` at a time as they come."""
    parser = FileParser("f.csv", TARGETS)
    sightings: list = []
    totals: dict[str, int] = {}

    def drain(limit: int | None) -> None:
        while parser.pending:
            taken, stats = parser.take(limit)
            sightings.extend(taken)
            for key, value in stats.items():
                totals[key] = totals.get(key, 0) + value

    bounds = [0, *sorted(cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        parser.feed(data[start:end])
        if take:
            drain(take)
    parser.finish()
    drain(take)
    _, rest = parser.take()
    for key, value in rest.items():
        totals[key] = totals.get(key, 0) + value
    return sightings, totals


def facts(sightings: list) -> list[tuple]:
    return [(s.number, s.key, s.occurred_at, s.detail) for s in sightings]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=ftc_files(), draw=st.data())
def test_any_split_parses_like_the_whole_file(data: bytes, draw: st.DataObject):
    cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=12), label="cuts")
    take = draw.draw(st.sampled_from([None, 1, 2]), label="take")
    reference = whole_file(data)
    sightings, totals = in_pieces(data, cuts, take)
    assert facts(sightings) == facts(reference.sightings)
    assert totals == reference.stats()


@settings(max_examples=200, deadline=None)
@given(data=ftc_files(), draw=st.data())
def test_splitter_hands_out_exactly_the_decoded_text(data: bytes, draw: st.DataObject):
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=12)))
    splitter = RecordSplitter("f.csv")
    bounds = [0, *cuts, len(data)]
    out = [splitter.feed(data[a:b]) for a, b in itertools.pairwise(bounds)]
    out.append(splitter.finish())
    assert "".join(out) == data.decode("utf-8-sig")
    assert splitter.lines == data.count(b"\n")
    for piece in out[:-1]:  # every piece but the tail ends a record: even quotes
        assert piece == "" or (piece.endswith("\n") and piece.count('"') % 2 == 0)


def test_bom_and_multibyte_characters_split_across_blocks():
    body = (
        ",".join(FTC_HEADER) + "\r\n"
        '2025550143,2026-11-19 10:00:00,,"Saint-Étienne, \r\nQC",x,1,"Imposters ""€""",Y\r\n'
    ).encode()
    data = BOM + body
    for cuts in ([1], [2], [1, 2], [data.index("€".encode()) + 1], list(range(len(data)))):
        sightings, _ = in_pieces(data, cuts)
        assert facts(sightings) == facts(whole_file(data).sightings)
        assert [s.detail["subject"] for s in sightings] == ['Imposters "€"']


def test_invalid_utf8_split_across_blocks_is_replaced_like_a_whole_decode():
    data = (",".join(FTC_HEADER) + "\n").encode() + b"2025550143,2026-11-19,,Ca\xe9n\xc3,x,1,"
    data += b"\xf0\x9f\x98 Other,Y\n"
    for cut in range(len(data)):
        assert facts(in_pieces(data, [cut])[0]) == facts(whole_file(data).sightings)


def header() -> bytes:
    return (",".join(FTC_HEADER) + "\n").encode()


def test_a_stray_quote_swallowing_the_file_is_a_source_error_naming_file_and_line():
    good = "2025550143,2026-11-19 10:00:00,,Austin,Texas,512,Other,N\n"
    stray = '"2025550143,2026-11-19 10:00:00,,Austin,Texas,512,Other,N\n'  # never closed
    data = header() + (good * 3 + stray + good * 20_000).encode()
    assert len(data) > 1_000_000
    name = "DNC_Complaint_Numbers_2026-11-20.csv"
    with pytest.raises(SourceError) as err:
        parse_complaints(data, name, TARGETS)
    message = str(err.value)
    assert name in message and "line 5" in message and "unclosed quote" in message


def test_a_record_over_the_bound_fails_even_when_it_ends_later():
    splitter = RecordSplitter("f.csv", max_record=100)
    assert splitter.feed(b"a,b\nc,d\n") == "a,b\nc,d\n"
    assert splitter.feed(b'"' + b"x" * 60) == ""
    with pytest.raises(SourceError, match=r"f\.csv, line 3: a record longer than 100"):
        splitter.feed(b"y" * 60 + b'"\nshort,row\n')  # closes, but 122 characters long


def test_a_record_just_under_the_bound_is_fine():
    splitter = RecordSplitter("f.csv", max_record=100)
    splitter.feed(b'"' + b"x" * 50)
    assert splitter.feed(b"x" * 46 + b'"\n') == '"' + "x" * 96 + '"\n'


def test_a_field_over_the_csv_limit_is_a_source_error_with_the_line():
    data = header() + b"2025550143,2026-11-19,,Austin,Texas,512,Other,N\n"
    data += b"2025550143,2026-11-19,,Austin,Texas,512," + b"S" * 200_000 + b",N\n"
    with pytest.raises(SourceError) as err:
        parse_complaints(data, "big.csv", TARGETS)
    message = str(err.value)
    assert message.startswith("big.csv") is False and "FTC file big.csv, line 3" in message
    assert "field larger than field limit" in message


def test_the_same_errors_come_out_of_a_pull_as_source_errors(tmp_path: Path):
    file = tmp_path / "DNC_Complaint_Numbers_2026-11-20.csv"
    file.write_bytes(header() + b'"2025550143,2026-11-19' + b"x" * 1_100_000)
    checker = FtcChecker(FtcSettings(path=file))
    request = FeedRequest(None, frozenset({A}), True, datetime(2026, 11, 23, tzinfo=UTC))

    async def pull() -> list:
        return [chunk async for chunk in checker.pull(request, http=None)]

    with pytest.raises(SourceError, match=r"DNC_Complaint_Numbers_2026-11-20\.csv, line 2"):
        asyncio.run(pull())


def big_file(path: Path, megabytes: int) -> int:
    """An FTC-format file of about ``megabytes``, one row in 1,000 naming A."""
    rows = []
    for i in range(megabytes * 9_000):
        phone = A[2:] if i % 1000 == 0 else f"3{i:09d}"
        rows.append(
            f"{phone},2026-11-{10 + i % 9:02d} 10:{i % 60:02d}:00,2026-11-09 09:00:00,"
            f'Springfield,Illinois,217,"Reducing your debt (credit cards, mortgage)",N\n'
        )
    path.write_bytes(header() + "".join(rows).encode())
    return len(rows)


def test_memory_does_not_grow_with_the_file(tmp_path: Path):
    file = tmp_path / "DNC_Complaint_Numbers_2026-11-20.csv"
    rows = big_file(file, 20)
    size = file.stat().st_size
    assert size > 16 * BLOCK_BYTES
    checker = FtcChecker(FtcSettings(path=file))
    request = FeedRequest(None, frozenset({A}), True, datetime(2026, 11, 23, tzinfo=UTC))

    async def pull() -> tuple[int, int]:
        count = total = 0
        async for chunk in checker.pull(request, http=None):
            count += len(chunk.sightings)
            total += chunk.stats["rows"]
        return count, total

    tracemalloc.start()
    try:
        matched, seen = asyncio.run(pull())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (matched, seen) == (rows // 1000, rows)
    # whole-file reading held the bytes, the text and a StringIO copy: several times
    # the file; streaming holds about one block's worth, whatever the file size
    assert peak < 12 * BLOCK_BYTES < size
