"""From a Telnyx reputation to an observation: verdict, score, label, category, cost.

Pure (no I/O; times passed in), so every rule is tested as a truth table.

- **Verdict** from ``spam_risk`` alone, the level Telnyx (from Hiya) documents:
  ``high`` ("likely flagged as spam by carriers") is ``flagged``; ``low`` is
  ``clean``; ``medium`` is ``clean`` unless ``flag_at = "medium"``. A number with a
  ``spam_category`` but low risk stays clean: the category (e.g. "Nonprofit") is
  what a labelled caller ID would say, not a risk level, and it is kept in the label
  and the evidence, so a category appearing is still a new history row.
- **Score** 0-100, higher is worse, always inside the band of the risk level, so it
  never contradicts the verdict: ``low`` 0-33, ``medium`` 34-66, ``high`` 67-100.
  Within the band the position is the shortfall of the four Telnyx scores (each 0-100,
  higher is healthier: maturity, connection, engagement, sentiment): their mean,
  over the scores Telnyx gave, is ``health``; the score is
  ``lo + round((hi - lo) * (100 - health) / 100)``, half up. With no score given
  (all null: "not enough data") it is the band's middle, rounded half up
  (17, 50, 84).
- **Label**: the source's own words, ``"<spam_category> (spam risk <level>)"``, or
  ``"spam risk <level>"`` without a category.
- **Category**: ``spam_category`` normalised by keywords (telemarketing, scam, fraud,
  robocall, debt_collection, survey, political, nonprofit, spam; else ``other``).
  Without one: ``spam`` when flagged, none otherwise.
- **Evidence**: ``spam_risk``, ``spam_category`` and the four scores, the ones Telnyx
  gave (nulls left out); never ``last_refreshed_at``, which changes on every refresh
  with the same data and would make a history row a day.
- **Cost** (``cached_cost``): see the function.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cidrep.contract import Observation, Verdict

from .schema import RISKS, Reputation

BANDS: dict[str, tuple[int, int]] = {"low": (0, 33), "medium": (34, 66), "high": (67, 100)}
# Keyword (in the lowercased category) -> normalised category; first match wins, so
# the more specific words come first ("Scam Telemarketer" is a scam).
CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("scam", "scam"),
    ("fraud", "fraud"),
    ("robo", "robocall"),
    ("telemarket", "telemarketing"),
    ("sales", "telemarketing"),
    ("debt", "debt_collection"),
    ("collect", "debt_collection"),
    ("survey", "survey"),
    ("poll", "survey"),
    ("politic", "political"),
    ("nonprofit", "nonprofit"),
    ("non-profit", "nonprofit"),
    ("non profit", "nonprofit"),
    ("charit", "nonprofit"),
    ("spam", "spam"),
)
# A cached read whose data was refreshed this recently (before the answer) may have
# been the live fetch Telnyx makes for a number it has no data for, which it bills.
LIVE_WINDOW = timedelta(minutes=10)


def decide(spam_risk: str, flag_at: str) -> Verdict:
    """``flagged`` when ``spam_risk`` is at least ``flag_at`` (low < medium < high)."""
    return Verdict.FLAGGED if RISKS.index(spam_risk) >= RISKS.index(flag_at) else Verdict.CLEAN


def risk_score(spam_risk: str, scores: tuple[int | None, ...]) -> int:
    """The 0-100 score: the risk's band, placed within it by the scores' shortfall."""
    lo, hi = BANDS[spam_risk]
    given = [s for s in scores if s is not None]
    width = hi - lo
    if not given:
        return lo + (width + 1) // 2
    shortfall = 100 * len(given) - sum(given)  # (100 - mean) * count, exact
    return lo + (2 * width * shortfall + 100 * len(given)) // (200 * len(given))


def normalise_category(text: str | None) -> str | None:
    """``"Telemarketer"`` -> ``telemarketing``; unknown words -> ``other``; None -> None."""
    if text is None:
        return None
    lowered = text.lower()
    for word, category in CATEGORY_WORDS:
        if word in lowered:
            return category
    return "other"


def label(spam_risk: str, spam_category: str | None) -> str:
    if spam_category:
        return f"{spam_category} (spam risk {spam_risk})"
    return f"spam risk {spam_risk}"


def assess(number: str, rep: Reputation, flag_at: str, cost: float) -> Observation:
    """The observation for a number Telnyx has reputation data for."""
    verdict = decide(rep.spam_risk, flag_at)
    category = normalise_category(rep.spam_category)
    if category is None and verdict is Verdict.FLAGGED:
        category = "spam"
    evidence: dict[str, Any] = {"spam_risk": rep.spam_risk}
    if rep.spam_category:
        evidence["spam_category"] = rep.spam_category
    for name, value in rep.scores:
        if value is not None:
            evidence[name] = value
    return Observation(
        number=number,
        verdict=verdict,
        label=label(rep.spam_risk, rep.spam_category),
        category=category,
        score=risk_score(rep.spam_risk, tuple(v for _, v in rep.scores)),
        evidence=evidence,
        cost_units=cost,
    )


def cached_cost(refreshed: datetime | None, answered: datetime) -> float:
    """Cost units of a cached read (no ``?fresh=true``), from what its answer shows.

    Telnyx documents cached reads as free, except that a number with no cached data
    is fetched live, which is billed like a fresh read. The answer does not say which
    happened, so: 0 only when the data was refreshed well before the answer
    (``LIVE_WINDOW``); 1 when it was refreshed within it (it may have been our live
    fetch, or a scheduled refresh just before), and 1 when the answer has no readable
    ``last_refreshed_at`` (no data, or a live fetch that found none). Counting a free
    read as 1 only makes the spend guard stop early; the reverse would overspend.
    """
    if refreshed is None:
        return 1.0
    return 1.0 if answered - refreshed <= LIVE_WINDOW else 0.0
