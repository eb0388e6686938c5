"""Verdicts for complaint-count sources (FTC, FCC, and any like them).

Public complaint data has no label of its own: a number is "flagged" by a rule over
its complaints, by default at least one complaint in the last 30 days. The rule is
configurable per source because sources differ in lag and volume. This module is
pure: parsing happens in the plugins, storage in the runner.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pydantic import Field

from cidrep.contract import Observation, SourceSettings, Verdict


@dataclass(frozen=True)
class Complaint:
    """One complaint about a number, reduced to what a verdict needs."""

    reported: date
    subject: str | None = None
    robocall: bool | None = None


class ComplaintRuleSettings(SourceSettings):
    """Settings shared by complaint sources: the flag rule."""

    flag_min_complaints: int = Field(
        default=1, ge=1, description="complaints in the window that flag a number"
    )
    flag_window_days: int = Field(default=30, ge=1, description="the window, in days up to today")


@dataclass(frozen=True)
class ComplaintRule:
    min_complaints: int = 1
    window_days: int = 30

    @classmethod
    def from_settings(cls, settings: ComplaintRuleSettings) -> ComplaintRule:
        return cls(settings.flag_min_complaints, settings.flag_window_days)


def categorize(subject: str | None, robocall: bool | None) -> str:
    """Map a complaint subject to a small normalised category."""
    text = (subject or "").lower()
    if robocall or "robocall" in text or "prerecorded" in text:
        return "robocall"
    if any(word in text for word in ("fraud", "scam", "imposter", "spoof")):
        return "scam"
    return "telemarketing"


def assess_complaints(
    number: str,
    complaints: Iterable[Complaint],
    now: datetime,
    rule: ComplaintRule,
    url: str | None = None,
) -> Observation:
    """Flag ``number`` when at least ``rule.min_complaints`` fall in the window.

    The window ends at ``now`` and covers ``rule.window_days`` whole days. With no
    complaints at all the verdict is clean: the source looked and found nothing.
    Evidence is a stable summary so unchanged data stores run-length.
    """
    items = sorted(complaints, key=lambda c: c.reported)
    if not items:
        return Observation(
            number=number, verdict=Verdict.CLEAN, evidence={"complaints": 0}, url=url
        )
    today = now.astimezone(UTC).date()
    window_start = today - timedelta(days=rule.window_days - 1)
    recent = [c for c in items if window_start <= c.reported <= today]
    subjects = Counter(c.subject for c in items if c.subject)
    robocall = any(c.robocall for c in items)
    top_subject = subjects.most_common(1)[0][0] if subjects else None
    flagged = len(recent) >= rule.min_complaints
    evidence = {
        "complaints": len(items),
        "complaints_in_window": len(recent),
        "window_days": rule.window_days,
        "first_reported": items[0].reported.isoformat(),
        "last_reported": items[-1].reported.isoformat(),
        "robocall": robocall,
        "subjects": dict(sorted(subjects.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    return Observation(
        number=number,
        verdict=Verdict.FLAGGED if flagged else Verdict.CLEAN,
        label=top_subject if flagged else None,
        category=categorize(top_subject, robocall) if flagged else None,
        evidence=evidence,
        url=url,
    )
