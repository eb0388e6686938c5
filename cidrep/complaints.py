"""Verdicts for complaint-count sources (FTC, FCC, and any like them).

Public complaint data has no label of its own: a number is "flagged" by a rule over
its complaints, by default at least one complaint in the last 30 days. The rule is
configurable per source because sources differ in lag and volume. This module is
pure: parsing happens in the plugins, storage in the runner.

The rule, and why:

- **Counting.** A ``Complaint`` carries a ``count`` (default 1): a source that can only
  afford per-day aggregates (FCC) passes one entry per (day, subject, robocall) with
  its count, a row-level source (FTC) passes one entry per complaint; repeated equal
  entries simply add up. Both give the same observation for the same complaints, in
  one pass and without expanding counts.
- **Flag.** Flagged when at least ``min_complaints`` complaints fall in the window (the
  last ``window_days`` whole UTC days up to ``now``), else clean. No complaints at all
  is clean: the source looked and found nothing.
- **Label and category come from the complaints the rule counted** (those in the
  window), because they say why the number is flagged now: the label is the most
  frequent subject among them; the category is the most frequent ``categorize``
  result among them (so a flag for this month's telemarketing is not called
  "robocall" because of one robocall complaint months ago). Ties go to the one
  reported most recently, then to the alphabetically first, so equal data always
  gives the same label. A clean number has neither.
- **Evidence** summarises everything the source holds in its lookback, with stable
  keys: ``complaints``, ``complaints_in_window``, ``window_days``, ``first_reported``,
  ``last_reported``, ``robocall`` (any complaint was a robocall) and ``subjects``
  (counts, most frequent first). Identical data gives identical evidence, which
  history stores run-length; nothing volatile (such as the check time) goes in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pydantic import Field, model_validator

# Only names the contract defines above its own re-export of this module.
from cidrep.contract import Observation, SourceSettings, Verdict


@dataclass(frozen=True)
class Complaint:
    """``count`` complaints (default one) about a number on ``reported``, reduced to
    what a verdict needs. ``count`` must be a positive ``int``."""

    reported: date
    subject: str | None = None
    robocall: bool | None = None
    count: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"complaint count must be a positive integer, not {self.count!r}")


class ComplaintRuleSettings(SourceSettings):
    """Settings shared by complaint sources: the flag rule and how far back to read.

    The flag window may not be longer than the lookback: complaints older than the
    lookback are never read, so a longer window would silently count fewer complaints
    than it says. Sources override the defaults (and bounds) of these fields.
    """

    flag_min_complaints: int = Field(
        default=1, ge=1, description="complaints in the window that flag a number"
    )
    flag_window_days: int = Field(default=30, ge=1, description="the window, in days up to today")
    lookback_days: int = Field(default=30, ge=1, description="how many days of data are read")

    # Complaint counts in a window are data, not a flaky per-call label: one check
    # that meets the rule is a real change, so these sources confirm at once.
    confirm_after: int | None = Field(default=1, ge=1, le=100)
    recover_after: int | None = Field(default=1, ge=1, le=100)

    def history_days(self) -> int:
        return self.flag_window_days

    @model_validator(mode="after")
    def _lookback_covers_window(self) -> ComplaintRuleSettings:
        if self.lookback_days < self.flag_window_days:
            raise ValueError(
                f"lookback_days ({self.lookback_days}) must be at least "
                f"flag_window_days ({self.flag_window_days})"
            )
        return self


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


class _Tally:
    """Counts per name, with the latest date each name was seen (for tie-breaks)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.latest: dict[str, date] = {}

    def add(self, name: str, count: int, reported: date) -> None:
        self.counts[name] = self.counts.get(name, 0) + count
        if name not in self.latest or reported > self.latest[name]:
            self.latest[name] = reported

    def top(self) -> str | None:
        """Most frequent; ties to the most recent, then to the alphabetically first."""
        if not self.counts:
            return None
        return min(
            self.counts,
            key=lambda name: (-self.counts[name], -self.latest[name].toordinal(), name),
        )


def assess_complaints(
    number: str,
    complaints: Iterable[Complaint],
    now: datetime,
    rule: ComplaintRule,
    url: str | None = None,
) -> Observation:
    """Flag ``number`` when at least ``rule.min_complaints`` fall in the window.

    See the module docstring for the window, the label and category rule, and the
    evidence keys. ``complaints`` is read once (a generator is fine).
    """
    today = now.astimezone(UTC).date()
    window_start = today - timedelta(days=rule.window_days - 1)
    total = in_window = 0
    first: date | None = None
    last: date | None = None
    robocall = False
    subjects: Counter[str] = Counter()
    labels, categories = _Tally(), _Tally()
    category_of: dict[tuple[str | None, bool | None], str] = {}
    for c in complaints:
        total += c.count
        first = c.reported if first is None or c.reported < first else first
        last = c.reported if last is None or c.reported > last else last
        robocall = robocall or bool(c.robocall)
        if c.subject:
            subjects[c.subject] += c.count
        if window_start <= c.reported <= today:
            in_window += c.count
            if c.subject:
                labels.add(c.subject, c.count, c.reported)
            kind = (c.subject, c.robocall)
            if kind not in category_of:
                category_of[kind] = categorize(c.subject, c.robocall)
            categories.add(category_of[kind], c.count, c.reported)
    if first is None or last is None:
        return Observation(
            number=number, verdict=Verdict.CLEAN, evidence={"complaints": 0}, url=url
        )
    flagged = in_window >= rule.min_complaints
    evidence = {
        "complaints": total,
        "complaints_in_window": in_window,
        "window_days": rule.window_days,
        "first_reported": first.isoformat(),
        "last_reported": last.isoformat(),
        "robocall": robocall,
        "subjects": dict(sorted(subjects.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    return Observation(
        number=number,
        verdict=Verdict.FLAGGED if flagged else Verdict.CLEAN,
        label=labels.top() if flagged else None,
        category=categories.top() if flagged else None,
        evidence=evidence,
        url=url,
    )
