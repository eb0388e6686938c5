"""Number normalisation and CSV import (detection, bad rows, all-or-nothing)."""

from __future__ import annotations

import csv
import io
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cidrep.errors import CidrepError
from cidrep.importer import (
    MAX_CELL,
    MAX_LINE,
    parse_numbers_csv,
    parse_numbers_stream,
    read_numbers_csv,
)
from cidrep.phone import InvalidNumber, display, nanp_digits, normalize


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("202-555-0143", "US", "+12025550143"),
        ("(202) 555-0143", "US", "+12025550143"),
        ("1 202 555 0143", "US", "+12025550143"),
        ("+1.202.555.0143", "GB", "+12025550143"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("  8005550100 ", "US", "+18005550100"),
    ],
)
def test_normalize_to_e164(raw, region, e164):
    assert normalize(raw, region) == e164


@pytest.mark.parametrize("raw", ["555-1234", "abc", "", "+1 999 555 0100", "12345678901234567"])
def test_invalid_numbers_are_rejected_with_the_input_quoted(raw):
    with pytest.raises(InvalidNumber) as err:
        normalize(raw, "US")
    if raw:
        assert repr(raw) in str(err.value)


def test_nanp_helpers():
    assert nanp_digits("+12025550143") == "2025550143"
    assert nanp_digits("+442079460958") is None
    assert display("+12025550143") == "+1 202-555-0143"


def test_header_detection_label_and_tags():
    text = "Name,Phone Number,Tags\nSales,202-555-0143,campaign:a;team:x\nSupport,(202) 555-0199,\n"
    parsed = parse_numbers_csv(text, "US", tags=("imported",))
    assert parsed.column == "Phone Number"
    assert [e.e164 for e in parsed.entries] == ["+12025550143", "+12025550199"]
    assert parsed.entries[0].label == "Sales"
    assert parsed.entries[0].tags == ("campaign:a", "imported", "team:x")
    assert parsed.entries[1].tags == ("imported",)
    assert parsed.bad == []


def test_column_detected_by_content_without_header():
    parsed = parse_numbers_csv("x,202-555-0143\ny,202-555-0199\n", "US")
    assert parsed.column == "column 2"
    assert len(parsed.entries) == 2


def test_column_detected_by_content_with_unknown_header():
    parsed = parse_numbers_csv("who;line\nA;202-555-0143\nB;202-555-0199\n", "US")
    assert parsed.column == "line"  # semicolon dialect sniffed, column chosen by content


def test_every_bad_row_is_reported_with_its_line_number():
    text = "number\n202-555-0143\n555-1234\n\nnot a number\n202-555-0199\n,\n"
    parsed = parse_numbers_csv(text, "US")
    assert [(b.line, b.value) for b in parsed.bad] == [(3, "555-1234"), (5, "not a number")]
    assert "'555-1234'" in parsed.bad[0].reason
    assert len(parsed.entries) == 2


def test_explicit_column_by_name_or_index_and_unknown_column():
    text = "a,b\n202-555-0143,202-555-0199\n"
    assert parse_numbers_csv(text, "US", column="b").entries[0].e164 == "+12025550199"
    assert parse_numbers_csv(text, "US", column="B").entries[0].e164 == "+12025550199"
    headerless = "202-555-0143,202-555-0199\n"
    assert parse_numbers_csv(headerless, "US", column="2").entries[0].e164 == "+12025550199"
    with pytest.raises(CidrepError, match=r"no column 'c' \(columns: a, b\)"):
        parse_numbers_csv(text, "US", column="c")


def test_ambiguous_columns_ask_for_column():
    with pytest.raises(CidrepError, match="cannot tell which column"):
        parse_numbers_csv("a,b\n202-555-0143,202-555-0199\n", "US")


def test_empty_file():
    with pytest.raises(CidrepError, match="has no rows"):
        parse_numbers_csv("\n\n", "US", source="x.csv")


# -- the header rule, stray quotes, bounds, line endings, encodings --------------------


def parse_bytes(data: bytes, **kw):
    return parse_numbers_stream(io.BytesIO(data), "US", **kw)


def test_a_headerless_file_with_a_bad_first_number_reports_that_row():
    parsed = parse_numbers_csv("555-1234,x\n202-555-0143,y\n202-555-0199,z\n", "US")
    assert [(b.line, b.value) for b in parsed.bad] == [(1, "555-1234")]
    assert parsed.column == "column 1" and parsed.rows == 3


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("number,ext 100\n202-555-0143,1\n", "number"),  # a known name wins over digits
        ("who;line\nA;202-555-0143\nB;202-555-0199\n", "line"),  # no digits at all
        ("id2024,callerid\n1,202-555-0143\n", "callerid"),
    ],
)
def test_first_row_is_a_header_when_the_rule_says_so(text, column):
    parsed = parse_numbers_csv(text, "US")
    assert parsed.column == column
    assert parsed.bad == []


def test_a_named_column_makes_its_row_a_header():
    parsed = parse_numbers_csv("line 100,x\n202-555-0143,a\n", "US", column="line 100")
    assert [e.e164 for e in parsed.entries] == ["+12025550143"]


def test_a_stray_quote_is_a_bad_row_and_the_lines_it_swallowed_are_read_alone():
    text = 'phone,label\n202-555-0143,"stray\n202-555-0199,z\n202-555-0101,w\n'
    parsed = parse_numbers_csv(text, "US")
    assert [str(b) for b in parsed.bad] == [
        "line 2: a quoted field runs across lines 2-4 (stray quote?)"
    ]
    assert [e.e164 for e in parsed.entries] == ["+12025550199", "+12025550101"]


def test_a_stray_quote_running_to_the_cell_limit_is_one_bad_row():
    data = b'phone,label\n202-555-0143,"' + b"x\n" * 40_000 + b"202-555-0199,z\n"
    parsed = parse_bytes(data)
    assert "cell is longer than 65536 characters" in parsed.bad[0].reason
    assert "lines 2-" in parsed.bad[0].reason and "stray quote?" in parsed.bad[0].reason
    assert [e.e164 for e in parsed.entries] == ["+12025550199"]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_lf_crlf_and_cr_only_line_endings(ending):
    data = ending.join([b"phone,label", b"202-555-0143,a", b"", b"202-555-0199,b", b""])
    parsed = parse_bytes(data)
    assert [(e.e164, e.label) for e in parsed.entries] == [
        ("+12025550143", "a"),
        ("+12025550199", "b"),
    ]
    assert parsed.bad == []


def test_utf8_bom_and_no_final_newline():
    parsed = parse_bytes(b"\xef\xbb\xbfPhone,label\n202-555-0143,a")
    assert parsed.column == "Phone" and len(parsed.entries) == 1


def test_a_ten_megabyte_line_is_one_bad_row():
    data = b"phone,label\n202-555-0143," + b"x" * (10 * 1024 * 1024) + b"\n202-555-0199,z\n"
    parsed = parse_bytes(data)
    assert [str(b) for b in parsed.bad] == [f"line 2: line is longer than {MAX_LINE} bytes"]
    assert [e.e164 for e in parsed.entries] == ["+12025550199"]


def test_a_megabyte_cell_is_one_bad_row_and_the_field_limit_is_restored():
    before = csv.field_size_limit()
    data = b"phone,label\n202-555-0143," + b"x" * 1_000_000 + b"\n202-555-0199,z\n"
    parsed = parse_bytes(data)
    assert [str(b) for b in parsed.bad] == [f"line 2: a cell is longer than {MAX_CELL} characters"]
    assert len(parsed.entries) == 1
    assert csv.field_size_limit() == before


def test_a_huge_file_is_streamed_not_read_whole(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("wb") as f:
        f.write(b"phone\n202-555-0143\n")
        for _ in range(3):
            f.write(b"y" * (10 * 1024 * 1024) + b"\n")
    tracemalloc.start()
    try:
        parsed = read_numbers_csv(path, "US")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [b.line for b in parsed.bad] == [3, 4, 5]
    assert peak < 8 * 1024 * 1024  # the file is 30 MB


def test_not_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"phone,label\n202-555-0143,a\n202-555-0199,caf\xe9\n")
    with pytest.raises(CidrepError) as err:
        read_numbers_csv(path, "US")
    assert err.value.message.startswith(f"{path}:3: not UTF-8 text (byte 0xe9")
    assert "\n" not in err.value.message


def test_unreadable_paths_are_one_error(tmp_path):
    with pytest.raises(CidrepError, match=r"cannot read .*nope\.csv"):
        read_numbers_csv(tmp_path / "nope.csv", "US")
    with pytest.raises(CidrepError, match="cannot read"):
        read_numbers_csv(tmp_path, "US")


def test_new_area_code_rows_are_imported_with_a_note():
    parsed = parse_numbers_csv("number\n202-555-0143\n624-234-5678\n", "US")
    assert [e.e164 for e in parsed.entries] == ["+12025550143", "+16242345678"]
    assert [(n.line, "new area code" in n.message) for n in parsed.notes] == [(3, True)]


def test_bad_rows_stay_in_line_order_and_long_values_are_cut():
    text = 'number\n"x\n202-555-0143\nnope\n' + "9" * 5000 + "\n"
    parsed = parse_numbers_csv(text, "US")
    assert [b.line for b in parsed.bad] == [2, 4, 5]
    assert all(len(b.value) <= 80 and len(b.reason) < 200 for b in parsed.bad)


PIECES = st.lists(
    st.one_of(
        st.sampled_from(
            [b",", b";", b"\t", b'"', b"\n", b"\r", b"\r\n", b"202-555-0143", b"phone", b"label",
             b"tags", b"a;b", b"\xef\xbb\xbf", b" ", b"555-1234", b"\x00", b"\xff"]
        ),
        st.binary(max_size=5),
    ),
    max_size=50,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(PIECES, st.sampled_from([None, "1", "2", "phone"]))
def test_any_bytes_give_rows_or_one_clean_error(pieces, column):
    try:
        parsed = parse_bytes(b"".join(pieces), column=column)
    except CidrepError as exc:
        assert "\n" not in exc.message
        return
    assert parsed.rows == len(parsed.entries) + len(parsed.bad)
    assert all("\n" not in b.reason for b in parsed.bad)
