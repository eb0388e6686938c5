"""Every rule in runner/validate.py: what a checker returns is checked and redacted."""

from __future__ import annotations

import math

import pytest

from cidrep.contract import Observation, Sighting, Verdict
from cidrep.runner.validate import MAX_TEXT, Redactor, checked_observation, checked_sighting

N = "+12025550143"
R = Redactor(["tok_SECRET123"])


def _bad(**fields):
    obs = Observation(N, Verdict.CLEAN)
    object.__setattr__(obs, "__dict__", {**obs.__dict__, **fields})
    return obs


PROBLEMS = [
    ("not an observation", {"x": 1}, "expected Observation, got dict"),
    ("wrong number", Observation("+12025550000", Verdict.CLEAN), "answer for '+12025550000'"),
    ("unknown verdict", _bad(verdict="suspicious"), "unknown verdict 'suspicious'"),
    ("score above 100", _bad(score=250), "score 250 is not an integer 0-100"),
    ("negative score", _bad(score=-1), "score -1 is not an integer 0-100"),
    ("float score", _bad(score=5.5), "score 5.5 is not an integer 0-100"),
    ("bool score", _bad(score=True), "score True is not an integer 0-100"),
    ("error without message", _bad(verdict=Verdict.ERROR, error=None), "error verdict without"),
    ("label not text", _bad(label=42), "label is int, not text"),
    ("url not text", _bad(url=["x"]), "url is list, not text"),
    ("evidence not a mapping", _bad(evidence=[1, 2]), "evidence is not a mapping"),
    ("evidence not JSON", _bad(evidence={"x": object()}), "evidence is not JSON-serialisable"),
    ("evidence NaN", _bad(evidence={"x": math.nan}), "evidence is not JSON-serialisable"),
    ("negative cost", _bad(cost_units=-1), "cost_units -1 is not a non-negative number"),
    ("infinite cost", _bad(cost_units=math.inf), "cost_units inf is not"),
    ("text cost", _bad(cost_units="1"), "cost_units '1' is not"),
]


@pytest.mark.parametrize(("case", "obs", "message"), PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_a_malformed_observation_becomes_an_error_never_a_verdict(case, obs, message):
    checked = checked_observation(obs, N, R)
    assert checked.verdict == Verdict.ERROR, case
    assert checked.number == N
    assert message in (checked.error or ""), checked.error


def test_a_good_observation_passes_with_every_text_redacted():
    obs = Observation(
        N,
        "flagged",  # a plain string verdict is accepted and normalised
        label="Spam tok_SECRET123",
        category="tok_SECRET123",
        score=80,
        evidence={"note": "echo tok_SECRET123", "nested": [{"k": "tok_SECRET123"}]},
        url="https://x.test/?k=tok_SECRET123",
        cost_units=1,
    )
    checked = checked_observation(obs, N, R)
    assert checked.verdict is Verdict.FLAGGED and checked.score == 80
    assert "SECRET" not in repr(checked)
    assert checked.label == "Spam ***"
    assert checked.evidence == {"note": "echo ***", "nested": [{"k": "***"}]}


def test_error_messages_are_one_redacted_line():
    checked = checked_observation(Observation.failed(N, "bad\ntok_SECRET123\n"), N, R)
    assert checked.error == "bad ***"


def test_long_labels_are_cut():
    checked = checked_observation(Observation(N, Verdict.FLAGGED, label="x" * 5000), N, R)
    assert checked.label is not None and len(checked.label) == MAX_TEXT


def test_a_sighting_detail_is_redacted():
    s = Sighting(N, "k", "2026-11-01", {"subject": "call tok_SECRET123 now", "robocall": True})
    assert checked_sighting(s, R).detail == {"subject": "call *** now", "robocall": True}
    assert checked_sighting(s, Redactor([])) is s
