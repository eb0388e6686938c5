"""Parsing FTC daily CSVs: junk rows, date formats, stable keys, data minimisation."""

from __future__ import annotations

import pytest

from cidrep.contract import SourceError
from cidrep_plugins.ftc.csvfile import (
    national_number,
    parse_complaints,
    parse_day,
    target_index,
)

A = "+12025550143"
B = "+13125550188"
C = "+16175550100"  # monitored, but never complained about
TARGETS = target_index([A, B, C, "+442079460000"])

# BOM, odd header casing/spacing, and every kind of bad row the real files carry.
CSV = (
    "\ufeffcompany_PHONE_number, Created Date ,Violation_Date,CONSUMER_CITY,Consumer_State,"
    "Consumer_Area_Code,Subject,Recorded_Message_Or_Robocall\n"
    "2025550143,2026-11-19 14:03:00,2026-11-18 16:00:00,Earlysville,Virginia,434,"
    "Computer & technical support,Y\n"
    "12025550143,2026-11-19T09:30:00,2026-11-19 09:00:00,Austin,Texas,512,Imposters,N\n"
    '"(312) 555-0188",11/18/2026 09:15,,Tacoma,Washington,253,Other,\n'
    "5550143,2026-11-19 10:00:00,,Dayton,Ohio,937,Other,N\n"  # 7 digits
    "202555014,2026-11-19 10:00:00,,Dayton,Ohio,937,Other,N\n"  # 9 digits
    "22025550143,2026-11-19 10:00:00,,Dayton,Ohio,937,Other,N\n"  # 11, no leading 1
    "120255501431234,2026-11-19 10:00:00,,Dayton,Ohio,937,Other,N\n"  # 15 digits
    ",2026-11-19 10:00:00,,Dayton,Ohio,937,Other,N\n"  # empty
    "2026-11-19,2026-11-19 10:00:00,,Dayton,Ohio,937,Other,N\n"  # a date as the number
    "CALL2025550143,2026-11-19 10:00:00,,Dayton,Ohio,937,Other,N\n"  # letters
    "3125550188,yesterday,,Boise,Idaho,208,Other,N\n"  # bad created date
    "3125550188,2026-11-17 08:00:00,2026-11-17 07:55:00,Boise,Idaho,208,Warranties,Y\n"
    "3125550188,2026-11-17 08:00:00,2026-11-17 07:55:00,Boise,Idaho,208,Warranties,Y\n"
    "8085550199,2026-11-19 11:00:00,,Tampa,Florida,813,Other,N\n"  # valid, not monitored
    "\n"
)


def by_number(parsed):
    out: dict[str, list] = {}
    for s in parsed.sightings:
        out.setdefault(s.number, []).append(s)
    return out


def test_matches_targets_and_counts_junk():
    parsed = parse_complaints(CSV, "DNC_Complaint_Numbers_2026-11-20.csv", TARGETS)
    found = by_number(parsed)
    assert sorted(found) == [A, B]
    assert len(found[A]) == 2  # the 11-digit 1NXX... row matches too
    assert len(found[B]) == 3  # punctuated number + two identical complaints
    assert parsed.rows == 14  # the blank line is not a row
    assert parsed.junk_rows == 8  # 7 bad numbers + 1 bad date
    assert parsed.bad_dates == 1
    assert parsed.stats() == {"rows": 14, "junk_rows": 8, "bad_dates": 1, "matched": 5}


def test_sighting_fields_and_data_minimisation():
    parsed = parse_complaints(CSV, "f.csv", TARGETS)
    first = next(
        s for s in parsed.sightings if s.detail["subject"] == "Computer & technical support"
    )
    assert first.number == A
    assert first.occurred_at == "2026-11-19"
    assert first.detail == {
        "subject": "Computer & technical support",
        "robocall": True,
        "violation_date": "2026-11-18",
    }
    us_format = next(s for s in parsed.sightings if s.occurred_at == "2026-11-18")
    assert us_format.number == B
    assert us_format.detail == {"subject": "Other", "robocall": None, "violation_date": None}
    for s in parsed.sightings:
        assert set(s.detail) == {"subject", "robocall", "violation_date"}
        text = repr((s.number, s.occurred_at, s.detail))  # the key is a hash, so not it
        for consumer_value in ("Earlysville", "Virginia", "434", "Austin", "Texas", "Boise"):
            assert consumer_value not in text


def test_keys_are_stable_and_distinct_for_identical_rows():
    one = parse_complaints(CSV, "DNC_Complaint_Numbers_2026-11-20.csv", TARGETS)
    again = parse_complaints(CSV.encode("utf-8"), "renamed copy.csv", TARGETS)
    assert [s.key for s in one.sightings] == [s.key for s in again.sightings]
    keys = [s.key for s in one.sightings]
    assert len(set(keys)) == len(keys)
    twins = [s for s in one.sightings if s.detail["subject"] == "Warranties"]
    assert len(twins) == 2 and twins[0].key != twins[1].key


def test_key_survives_reordered_columns_and_leading_one():
    header = "Company_Phone_Number,Created_Date,Subject,Recorded_Message_Or_Robocall"
    row = "2025550143,2026-11-19 14:03:00,Other,Y"
    reordered = "Subject,Recorded_Message_Or_Robocall,Created_Date,Company_Phone_Number\n"
    reordered += "Other,Y,2026-11-19 14:03:00,12025550143\n"
    a = parse_complaints(f"{header}\n{row}\n", "a.csv", TARGETS).sightings
    b = parse_complaints(reordered, "b.csv", TARGETS).sightings
    assert len(a) == len(b) == 1 and a[0].key == b[0].key
    other = parse_complaints(f"{header}\n{row.replace('Other', 'Imposters')}\n", "c", TARGETS)
    assert other.sightings[0].key != a[0].key


def test_missing_required_column_names_it_and_lists_found():
    text = "Company_Phone_Number,Subject\n2025550143,Other\n"
    with pytest.raises(SourceError) as err:
        parse_complaints(text, "DNC_Complaint_Numbers_2026-11-20.csv", TARGETS)
    message = str(err.value)
    assert "DNC_Complaint_Numbers_2026-11-20.csv" in message
    assert "created_date" in message
    assert "Company_Phone_Number, Subject" in message


def test_empty_file_is_an_error():
    with pytest.raises(SourceError, match="empty"):
        parse_complaints(b"", "x.csv", TARGETS)


def test_header_only_file_has_no_rows():
    parsed = parse_complaints("Company_Phone_Number,Created_Date\n", "x.csv", TARGETS)
    assert parsed.stats() == {"rows": 0, "junk_rows": 0, "bad_dates": 0, "matched": 0}


def test_short_rows_are_junk_not_crashes():
    text = "Company_Phone_Number,Subject,Created_Date\n2025550143,Other\n2025550143\n"
    parsed = parse_complaints(text, "x.csv", TARGETS)
    assert parsed.rows == 2 and parsed.junk_rows == 2 and parsed.matched == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-20 14:03:00", "2026-11-20"),
        ("2026-11-20T14:03:00", "2026-11-20"),
        ("2026-11-20", "2026-11-20"),
        ("11/20/2026 14:03", "2026-11-20"),
        ("11/20/2026 14:03:59", "2026-11-20"),
        ("1/2/2026", "2026-01-02"),
        (" 11/20/2026 ", "2026-11-20"),
        ("2026-02-30 10:00:00", None),
        ("13/01/2026", None),
        ("11/20/2026 25:00", None),
        ("20261120", None),
        ("", None),
        ("N/A", None),
    ],
)
def test_parse_day(raw, expected):
    parsed = parse_day(raw)
    assert (parsed.isoformat() if parsed else None) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025550143", "2025550143"),
        ("12025550143", "2025550143"),
        ("+1 (202) 555-0143", "2025550143"),
        ("202.555.0143", "2025550143"),
        ("5550143", None),
        ("202555014", None),
        ("22025550143", None),
        ("120255501431234", None),
        ("", None),
        ("unknown", None),
        ("2026-11-19 10:00:00", None),
        ("\uff12\uff10\uff12" + "\uff15" * 3 + "\uff10\uff11\uff14\uff13", None),  # full-width
    ],
)
def test_national_number(raw, expected):
    assert national_number(raw) == expected


def test_target_index_skips_non_nanp():
    assert target_index([A, "+442079460000", "+1202"]) == {"2025550143": A}
