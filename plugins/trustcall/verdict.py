"""From a TrustCall record to observations: one per carrier or app, and the overall one.

Pure (no I/O), so every rule is tested as a truth table. TrustCall answers per
carrier (Verizon, AT&T, T-Mobile) and per app (RoboKiller, Nomorobo), plus its own
average ``CurrScore``. So a number gets:

- **one observation per carrier or app field in the answer** (``carrier`` set), from
  ``carrier_verdict``: ``Flagged`` is ``flagged`` with the label ``"Flagged"`` (the
  word TrustCall uses: it does not say which label the carrier shows, so none is
  invented) and category ``spam``; ``Clean`` is ``clean``; ``Processing`` (not checked
  with that carrier yet) is ``unknown`` with a reason. A field with any other value is
  an error on that carrier only; a field TrustCall left out is not reported;
- **one observation without a carrier**, TrustCall's own answer, from ``judge``; it
  carries the evidence (the scores, the FTC complaints summed up) and the cost, so
  one number costs one unit however many carriers answered. When the record cannot
  be judged (an unknown ``Response`` or ``CurrScore``) this is an error and nothing
  is said per carrier: a record we do not understand is trusted for nothing.

The source's verdict for the number is not decided here: cidrep sums the carriers up
with this overall answer (worst wins; ``cidrep.carriers.summarize``).
"""

from __future__ import annotations

from cidrep.contract import Observation, Verdict

from .answer import LEVELS, Record

FLAGGED_LABEL = "Flagged"
CATEGORY = "spam"
PROCESSING = (
    "TrustCall has not finished checking this number with the carriers "
    "(Processing; a newly added number takes up to 24 hours)"
)
PROCESSING_CARRIER = "TrustCall has not finished checking this number with {carrier} (Processing)"
CARRIER_VERDICTS = {
    "clean": Verdict.CLEAN,
    "flagged": Verdict.FLAGGED,
    "processing": Verdict.UNKNOWN,
}


def judge(curr_score: str, flag_at: str) -> Verdict:
    """TrustCall's own verdict from ``CurrScore`` (its average over the carriers).

    ============  ===============  =================
    CurrScore     flag_at "high"   flag_at "medium"
    ============  ===============  =================
    Clean         clean            clean
    Medium        clean            flagged
    High          flagged          flagged
    Processing    unknown          unknown
    ============  ===============  =================

    ``Processing`` means TrustCall has no score yet (a number added less than a day
    ago): nothing to judge, so ``unknown``, never ``clean``.
    """
    if curr_score == "processing":
        return Verdict.UNKNOWN
    flagged = LEVELS.index(curr_score) >= LEVELS.index(flag_at)
    return Verdict.FLAGGED if flagged else Verdict.CLEAN


def carrier_verdict(value: str) -> Verdict:
    """A carrier or app field: Clean -> clean, Flagged -> flagged, Processing -> unknown."""
    return CARRIER_VERDICTS[value]


def overall_label(curr_score: str) -> str | None:
    """``"High spam score"``/``"Medium spam score"``; None for Clean and Processing."""
    return f"{curr_score.capitalize()} spam score" if curr_score in ("medium", "high") else None


def own_observation(number: str, record: Record, flag_at: str, cost: float) -> Observation:
    """The observation without a carrier: TrustCall's overall answer, or the error."""
    if record.problem is not None or record.curr_score is None:
        return Observation.failed(number, record.problem or "no CurrScore", cost_units=cost)
    verdict = judge(record.curr_score, flag_at)
    evidence = dict(record.evidence)
    if verdict is Verdict.UNKNOWN:
        evidence["reason"] = PROCESSING
    return Observation(
        number,
        verdict,
        label=overall_label(record.curr_score),
        category=CATEGORY if verdict is Verdict.FLAGGED else None,
        evidence=evidence,
        cost_units=cost,
    )


def carrier_observation(number: str, carrier: str, value: str) -> Observation:
    """One carrier's or app's observation from its canonical value."""
    verdict = carrier_verdict(value)
    evidence: dict[str, str] = {"status": value.capitalize()}
    if verdict is Verdict.UNKNOWN:
        evidence["reason"] = PROCESSING_CARRIER.format(carrier=carrier)
    flagged = verdict is Verdict.FLAGGED
    return Observation(
        number,
        verdict,
        label=FLAGGED_LABEL if flagged else None,
        category=CATEGORY if flagged else None,
        evidence=evidence,
        carrier=carrier,
    )


def observations(number: str, record: Record, flag_at: str, cost: float) -> list[Observation]:
    """Everything a record says about ``number``: the overall answer first, then one per
    carrier or app field, in TrustCall's order (an error on a carrier whose value is
    unreadable)."""
    own = own_observation(number, record, flag_at, cost)
    if own.verdict is Verdict.ERROR:
        return [own]
    found = []
    for lane in record.carriers:
        if lane.value is None:
            message = (
                f"TrustCall gave {lane.carrier} the value {lane.shown}, "
                "not Clean, Flagged or Processing"
            )
            found.append(Observation(number, Verdict.ERROR, error=message, carrier=lane.carrier))
        else:
            found.append(carrier_observation(number, lane.carrier, lane.value))
    return [own, *found]
