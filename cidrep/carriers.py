"""Per-carrier verdicts: how a source that reports per carrier sums up to one verdict.

Some sources answer per carrier or app (TrustCall: Verizon, AT&T, T-Mobile,
RoboKiller, Nomorobo; a manual sighting: "T-Mobile showed Scam Likely"). Each
(number, source, carrier) keeps its own history and current state, so a report can
say "flagged on T-Mobile, clean on Verizon". The source's own verdict for the number,
which due selection, the exit code and the alert quorum read, is ``summarize``d from
the current state of all its carriers: one place, one rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cidrep.contract import SEVERITY, Observation, Verdict

REAL = (Verdict.CLEAN, Verdict.FLAGGED, Verdict.UNKNOWN)


@dataclass(frozen=True)
class Lane:
    """One carrier's current state at a source: its latest real verdict and label."""

    carrier: str
    verdict: str | None  # None: the carrier has only failed so far
    label: str | None = None
    score: int | None = None
    category: str | None = None


def summarize(number: str, own: Observation | None, lanes: Iterable[Lane]) -> Observation:
    """The source-level observation of ``number`` from its own answer and its carriers.

    ``own`` is this check's answer without a carrier (None when the source only
    answered per carrier); ``lanes`` is the current state of every carrier the source
    has reported for the number (including carriers this check did not mention: a
    manual sighting on T-Mobile does not clear a Verizon label).

    ========================================  ==========================================
    inputs                                    result
    ========================================  ==========================================
    own real, no lane with a verdict          ``own`` unchanged
    lanes with verdicts (own real or None)    verdict = worst of own and the lanes
                                              (flagged > clean > unknown)
    own is an error                           ``own`` (the lookup failed for the number:
                                              carrier verdicts stay as they were)
    own None, no lane with a verdict          error: "no carrier answered"
    ========================================  ==========================================

    When flagged, the label is ``own``'s if it flags, else each flagged carrier's
    label "Scam Likely on T-Mobile" joined by "; " (sorted by carrier, so the text is
    stable and identical checks stay one history row); the score is the highest of
    the flagged answers. Evidence gains ``carriers``: carrier -> verdict and label.
    """
    if own is not None and own.verdict == Verdict.ERROR:
        return own
    known = sorted((lane for lane in lanes if lane.verdict), key=lambda lane: lane.carrier)
    if not known:
        if own is not None:
            return own
        return Observation.failed(number, "no carrier answered")
    verdicts = [Verdict(lane.verdict) for lane in known if lane.verdict in REAL]
    if own is not None:
        verdicts.append(own.verdict)
    verdict = max(verdicts, key=SEVERITY.__getitem__) if verdicts else Verdict.UNKNOWN
    flagged = [lane for lane in known if lane.verdict == Verdict.FLAGGED]
    own_flags = own is not None and own.verdict == Verdict.FLAGGED
    if verdict == Verdict.FLAGGED:
        label = (
            own.label
            if own_flags and own is not None
            else "; ".join(f"{lane.label or 'flagged'} on {lane.carrier}" for lane in flagged)
        )
        scores = [lane.score for lane in flagged if lane.score is not None]
        if own_flags and own is not None and own.score is not None:
            scores.append(own.score)
        score = max(scores) if scores else None
        category = (own.category if own_flags and own is not None else None) or next(
            (lane.category for lane in flagged if lane.category), None
        )
    else:
        label = own.label if own is not None else None
        score = own.score if own is not None else None
        category = own.category if own is not None else None
    evidence = dict(own.evidence) if own is not None else {}
    evidence["carriers"] = {
        lane.carrier: {"verdict": lane.verdict, "label": lane.label} for lane in known
    }
    return Observation(
        number=number,
        verdict=verdict,
        label=label,
        category=category,
        score=score,
        evidence=evidence,
        url=own.url if own is not None else None,
    )


def by_carrier(observations: Iterable[Observation]) -> tuple[Observation | None, list[Observation]]:
    """Split one number's answers into its own (no carrier) and its per-carrier ones.

    The first answer per carrier wins; carrier names are compared as given (plugins
    name carriers consistently; ``normal_carrier`` is for user-typed names)."""
    own: Observation | None = None
    seen: dict[str, Observation] = {}
    for obs in observations:
        if obs.carrier is None:
            own = own or obs
        elif obs.carrier not in seen:
            seen[obs.carrier] = obs
    return own, list(seen.values())


def this_check(answers: Sequence[Observation]) -> Observation:
    """One number's answers from one check summed up on their own (for a run's tally:
    carriers that this check did not mention are not consulted)."""
    own, carriers = by_carrier(answers)
    lanes = [
        Lane(o.carrier or "", o.verdict.value, o.label, o.score, o.category)
        for o in carriers
        if o.verdict != Verdict.ERROR
    ]
    if not lanes and own is None:
        return carriers[0]  # every carrier failed: the first failure says why
    return summarize(answers[0].number, own, lanes)
