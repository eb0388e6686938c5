"""From a USACallerLookup profile to an observation: verdict, label, category, evidence.

Pure (no I/O, "today" passed in), so the mapping is tested as a truth table.

The service gives all-time FTC complaint totals and the dates of the first and last
complaint, not complaints per day, so the shared per-complaint rule of the ``ftc`` and
``fcc`` sources cannot be applied. The rule here, and why:

- **Flagged** when the number has at least ``min_complaints`` complaints in total and
  the most recent one (``last_seen``) falls in the window: the last ``window_days``
  whole UTC days up to today (a date after today, from a server clock ahead of ours,
  counts as recent). Recency matters because an old complaint says little about how
  carriers label the number now; the totals are all the service gives to count.
- **Clean** otherwise: no complaints at all, too few, or the last one too old. The
  source looked and found nothing recent against the number.
- **No score**: the service has none, and a number made up here would look like one.
- **Label** (flagged only): the most frequent subject in ``top_subjects``, as the
  service writes it; a tie goes to the alphabetically first so the same data always
  gives the same label. None when the service lists no subject.
- **Category** (flagged only): ``robocall`` when at least half the complaints are
  robocalls (the FTC's "recorded message" flag); else from the label's words:
  ``scam`` for impostor, fraud or scam subjects ("Calls pretending to be government,
  businesses, or family and friends"), ``robocall`` for robocall or prerecorded ones,
  otherwise ``telemarketing``. Close to what the shared rule gives per complaint.
- **Evidence** holds only what the service says about the number, with stable keys:
  ``complaints``, ``robocalls``, ``first_reported``, ``last_reported``,
  ``states_reporting``, ``subjects`` (most frequent first), ``community_reports`` and
  the ``window_days`` that judged it; never anything about the check itself, so an
  unchanged answer stays one history row. Keys the service did not give are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cidrep.contract import Observation, Verdict

from .profile import Profile

SCAM_WORDS = ("pretending", "impost", "fraud", "scam", "spoof")
ROBOCALL_WORDS = ("robocall", "prerecorded", "recorded message")


@dataclass(frozen=True)
class Rule:
    """The flag rule: ``min_complaints`` in total, the last within ``window_days``."""

    min_complaints: int = 1
    window_days: int = 30


def window_start(today: date, window_days: int) -> date:
    """First day of the window: ``window_days`` whole days ending with ``today``."""
    return today - timedelta(days=window_days - 1)


def decide(total: int, last_seen: date | None, today: date, rule: Rule) -> Verdict:
    """``flagged`` or ``clean`` (the truth table of the module docstring)."""
    if total < rule.min_complaints or last_seen is None:
        return Verdict.CLEAN
    if last_seen < window_start(today, rule.window_days):
        return Verdict.CLEAN
    return Verdict.FLAGGED


def subject_counts(subjects: tuple[tuple[str, int], ...]) -> dict[str, int]:
    """Complaints per subject (a repeated subject adds up), most frequent first,
    then alphabetical: the order shown in evidence, and the first is the label."""
    counts: dict[str, int] = {}
    for subject, count in subjects:
        counts[subject] = counts.get(subject, 0) + count
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def top_subject(subjects: tuple[tuple[str, int], ...]) -> str | None:
    """The label: the most frequent subject, ties to the alphabetically first."""
    counts = subject_counts(subjects)
    return next(iter(counts), None)


def categorize(total: int, robocalls: int, subject: str | None) -> str:
    """The normalised category of a flagged number (see the module docstring)."""
    if total > 0 and robocalls * 2 >= total:
        return "robocall"
    text = (subject or "").lower()
    if any(word in text for word in SCAM_WORDS):
        return "scam"
    if any(word in text for word in ROBOCALL_WORDS):
        return "robocall"
    return "telemarketing"


def evidence(profile: Profile, rule: Rule) -> dict[str, Any]:
    """The stable facts about the number (see the module docstring)."""
    facts: dict[str, Any] = {"complaints": profile.total}
    if profile.total:
        facts["robocalls"] = profile.robocalls
        if profile.first_seen is not None:
            facts["first_reported"] = profile.first_seen.isoformat()
        if profile.last_seen is not None:
            facts["last_reported"] = profile.last_seen.isoformat()
        if profile.states_reporting is not None:
            facts["states_reporting"] = profile.states_reporting
        if profile.subjects:
            facts["subjects"] = subject_counts(profile.subjects)
        facts["window_days"] = rule.window_days
    if profile.community_reports:
        facts["community_reports"] = dict(profile.community_reports)
    return facts


def assess(
    number: str, profile: Profile, today: date, rule: Rule, url: str | None = None
) -> Observation:
    """The observation for ``number`` (E.164) from its profile."""
    verdict = decide(profile.total, profile.last_seen, today, rule)
    label = category = None
    if verdict is Verdict.FLAGGED:
        label = top_subject(profile.subjects)
        category = categorize(profile.total, profile.robocalls, label)
    return Observation(
        number=number,
        verdict=verdict,
        label=label,
        category=category,
        score=None,
        evidence=evidence(profile, rule),
        url=url,
        cost_units=0.0,
    )
