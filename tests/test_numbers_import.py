"""Number normalisation and CSV import (detection, bad rows, all-or-nothing)."""

from __future__ import annotations

import pytest

from cidrep.errors import CidrepError
from cidrep.importer import parse_numbers_csv
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
