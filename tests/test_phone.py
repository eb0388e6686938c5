"""Phone normalisation: new NANP area codes, and properties that hold for any input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cidrep.phone import InvalidNumber, normalize, normalize_noted

E164 = re.compile(r"\+[1-9]\d{1,14}")
REGIONS = st.sampled_from(["US", "CA", "GB", "DE", "IT", "FR", "JP", "BR", "AU", "IN"])


def test_new_area_code_is_accepted_with_a_note():
    e164, note = normalize_noted("+1 624 234 5678", "US")
    assert e164 == "+16242345678"
    assert note is not None
    assert note.startswith("+16242345678 is not in this phone-number metadata (a new area code?)")
    assert "accepted as a possible NANP number" in note
    assert "\n" not in note
    assert normalize("(624) 234-5678", "US") == "+16242345678"  # normalize() accepts it too
    assert normalize_noted("624.234.5678", "CA")[0] == "+16242345678"


def test_known_numbers_have_no_note():
    assert normalize_noted("(202) 555-0143", "US") == ("+12025550143", None)
    assert normalize_noted("020 7946 0958", "GB") == ("+442079460958", None)


@pytest.mark.parametrize(
    "raw",
    [
        "+1 999 555 0100",  # N9X: reserved for expanding the plan, never an area code
        "+1 911 234 5678",  # N11 service code
        "+1 124 234 5678",  # an area code cannot start with 0 or 1
        "+1 624 034 5678",  # nor can an exchange
        "+1 624 911 5678",  # N11 exchange
        "+1 624 234 567",  # 9 digits
        "624 234 5678",  # no +1 and region GB: not a NANP number at all
    ],
)
def test_numbers_without_nanp_shape_are_still_refused(raw):
    with pytest.raises(InvalidNumber):
        normalize(raw, "GB" if not raw.startswith("+") else "US")


def test_e164_never_exceeds_fifteen_digits():
    # phonenumbers calls this 16-digit German number valid; caller ID cannot carry it.
    with pytest.raises(InvalidNumber, match=r"E\.164 has 15 digits"):
        normalize("30000000000000", "DE")


def test_a_huge_input_gets_a_short_message():
    with pytest.raises(InvalidNumber) as err:
        normalize("9" * 100_000, "US")
    assert len(str(err.value)) < 160
    assert "100000 characters" in str(err.value)


@settings(max_examples=400, deadline=None)
@given(st.text(), REGIONS)
def test_any_text_only_raises_invalid_number(raw, region):
    try:
        normalize_noted(raw, region)
    except InvalidNumber as exc:
        assert "\n" not in str(exc)


PHONEISH = st.one_of(
    st.from_regex(r"(\+|00|011)?[0-9 ().\-]{4,22}", fullmatch=True),
    st.from_regex(r"\+?[0-9]{3,17}", fullmatch=True),
)


@settings(max_examples=600, deadline=None)
@given(PHONEISH, REGIONS)
def test_valid_output_is_e164_and_idempotent(raw, region):
    try:
        e164 = normalize(raw, region)
    except InvalidNumber:
        return
    assert E164.fullmatch(e164), (raw, e164)
    assert normalize(e164, region) == e164
    assert normalize(e164, "US") == e164  # an E.164 string carries its own country


NPA = st.from_regex(r"[2-9][0-8][0-9]", fullmatch=True).filter(lambda s: s[1:] != "11")
NXX = st.from_regex(r"[2-9][0-9]{2}", fullmatch=True).filter(lambda s: s[1:] != "11")
LINE = st.from_regex(r"[0-9]{4}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(NPA, NXX, LINE)
def test_formatting_variants_of_one_nanp_number_agree(npa, nxx, line):
    variants = [
        f"({npa}) {nxx}-{line}",
        f"{npa}.{nxx}.{line}",
        f"+1 {npa} {nxx} {line}",
        f"1-{npa}-{nxx}-{line}",
        f"{npa}{nxx}{line}",
    ]
    results = {normalize(v, "US") for v in variants}
    assert results == {f"+1{npa}{nxx}{line}"}
