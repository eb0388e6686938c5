"""The shared complaint rule (``cidrep.complaints``): window, counts, labels, evidence."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cidrep.contract import Complaint, ComplaintRule, Verdict, assess_complaints

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
RULE = ComplaintRule(min_complaints=1, window_days=30)  # window: 2024-05-03 .. 2024-06-01
N = "+12025550143"
ROBO, TELE, SCAM = "Robocalls", "Telemarketing", "Imposter scam"
OLD, RECENT = date(2024, 1, 10), date(2024, 5, 20)


def assess(complaints, rule: ComplaintRule = RULE, **kwargs):
    return assess_complaints(N, complaints, NOW, rule, **kwargs)


# --- the flag, the window, the evidence --------------------------------------------


def test_no_complaints_is_clean_with_stable_evidence():
    obs = assess([])
    assert obs.verdict is Verdict.CLEAN and obs.evidence == {"complaints": 0}
    assert obs.label is None and obs.category is None


def test_window_bounds_are_inclusive_and_future_is_outside():
    first_day = TODAY - timedelta(days=29)
    inside = [Complaint(first_day), Complaint(TODAY)]
    outside = [Complaint(first_day - timedelta(days=1)), Complaint(TODAY + timedelta(days=1))]
    obs = assess(inside + outside, ComplaintRule(min_complaints=3, window_days=30))
    assert obs.evidence["complaints"] == 4 and obs.evidence["complaints_in_window"] == 2
    assert obs.verdict is Verdict.CLEAN
    assert assess(inside, ComplaintRule(2, 30)).verdict is Verdict.FLAGGED


def test_evidence_keys_are_stable():
    obs = assess([Complaint(RECENT, ROBO, True), Complaint(OLD, TELE, False)], url="u")
    assert obs.evidence == {
        "complaints": 2,
        "complaints_in_window": 1,
        "window_days": 30,
        "first_reported": "2024-01-10",
        "last_reported": "2024-05-20",
        "robocall": True,
        "subjects": {ROBO: 1, TELE: 1},
    }
    assert obs.url == "u"


def test_signature_is_backwards_compatible():
    complaints = [Complaint(RECENT, ROBO, True)]
    positional = assess_complaints(N, complaints, NOW, RULE, None)
    keyword = assess_complaints(N, complaints, NOW, RULE, url=None)
    generator = assess_complaints(N, (c for c in complaints), NOW, RULE)
    assert positional == keyword == generator


# --- multiplicity ------------------------------------------------------------------


def test_a_count_equals_repeated_entries():
    counted = [Complaint(RECENT, ROBO, True, count=3), Complaint(OLD, TELE, False, count=2)]
    repeated = [Complaint(RECENT, ROBO, True)] * 3 + [Complaint(OLD, TELE, False)] * 2
    random.Random(1).shuffle(repeated)
    assert assess(counted) == assess(repeated)
    assert assess(counted).evidence["complaints"] == 5


def test_huge_counts_are_not_expanded():
    started = time.perf_counter()
    obs = assess([Complaint(RECENT, ROBO, True, count=10**9)] * 1000)
    assert obs.evidence["complaints"] == 10**12
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("count", [0, -1, True, 1.5, "2", None])
def test_count_must_be_a_positive_int(count):
    with pytest.raises(ValueError):
        Complaint(RECENT, count=count)


# --- label and category come from the counted complaints ---------------------------


def test_label_and_category_ignore_complaints_outside_the_window():
    # three old robocalls, one recent telemarketing call: flagged for telemarketing
    complaints = [Complaint(OLD, ROBO, True, count=3), Complaint(RECENT, TELE, False)]
    obs = assess(complaints)
    assert obs.verdict is Verdict.FLAGGED
    assert (obs.label, obs.category) == (TELE, "telemarketing")
    assert obs.evidence["robocall"] is True  # evidence still describes all the data


def test_label_is_the_most_frequent_counted_subject():
    complaints = [
        Complaint(RECENT, TELE, False, count=2),
        Complaint(RECENT + timedelta(days=1), ROBO, True),
    ]
    obs = assess(complaints)
    assert obs.label == TELE and obs.category == "telemarketing"


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize(("older", "newer"), [(TELE, SCAM), (SCAM, TELE)])
def test_ties_go_to_the_most_recent(reverse, older, newer):
    complaints = [Complaint(RECENT, older), Complaint(RECENT + timedelta(days=2), newer)]
    obs = assess(complaints[::-1] if reverse else complaints)
    assert obs.label == newer
    assert obs.category == ("scam" if newer == SCAM else "telemarketing")


def test_full_ties_go_to_the_alphabetically_first():
    complaints = [Complaint(RECENT, "b subject"), Complaint(RECENT, "a subject")]
    assert assess(complaints).label == "a subject"
    assert assess(complaints[::-1]).label == "a subject"


def test_category_is_the_most_frequent_among_counted_complaints():
    # two live telemarketing calls and one prerecorded: telemarketing, not "any robocall"
    complaints = [Complaint(RECENT, TELE, False, count=2), Complaint(RECENT, TELE, True)]
    assert assess(complaints).category == "telemarketing"
    complaints = [Complaint(RECENT, TELE, False), Complaint(RECENT, TELE, True, count=2)]
    assert assess(complaints).category == "robocall"


def test_no_subject_in_window_gives_no_label_but_a_category():
    obs = assess([Complaint(OLD, ROBO, True), Complaint(RECENT, None, None)])
    assert obs.verdict is Verdict.FLAGGED
    assert obs.label is None and obs.category == "telemarketing"


# --- properties --------------------------------------------------------------------

# Few subjects, small counts and a few weeks of dates, so that ties (where the
# recency tie-break matters) are common.
complaints_strategy = st.lists(
    st.builds(
        Complaint,
        reported=st.dates(min_value=TODAY - timedelta(days=40), max_value=TODAY + timedelta(2)),
        subject=st.sampled_from([ROBO, TELE, SCAM, "", None]),
        robocall=st.one_of(st.none(), st.booleans()),
        count=st.integers(min_value=1, max_value=3),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(complaints_strategy, st.integers(1, 3), st.integers(1, 40), st.randoms())
def test_counts_match_expanded_entries_in_any_order(complaints, minimum, days, rnd):
    rule = ComplaintRule(minimum, days)
    expanded = [
        Complaint(c.reported, c.subject, c.robocall) for c in complaints for _ in range(c.count)
    ]
    rnd.shuffle(expanded)
    obs = assess(complaints, rule)
    assert obs == assess(expanded, rule)

    start = TODAY - timedelta(days=days - 1)
    counted = [c for c in expanded if start <= c.reported <= TODAY]
    assert obs.evidence["complaints"] == len(expanded)
    if not expanded:
        assert obs.verdict is Verdict.CLEAN and obs.evidence == {"complaints": 0}
        return
    assert obs.evidence["complaints_in_window"] == len(counted)
    assert sum(obs.evidence["subjects"].values()) == sum(1 for c in expanded if c.subject)
    flagged = len(counted) >= minimum
    assert obs.verdict is (Verdict.FLAGGED if flagged else Verdict.CLEAN)
    if flagged:
        subjects = [c.subject for c in counted if c.subject]
        if subjects:
            best = max(subjects.count(s) for s in set(subjects))
            latest = max(c.reported for c in counted if subjects.count(c.subject) == best)
            assert subjects.count(obs.label) == best
            assert max(c.reported for c in counted if c.subject == obs.label) == latest
        else:
            assert obs.label is None
        assert obs.category in {"robocall", "scam", "telemarketing"}
    else:
        assert obs.label is None and obs.category is None
