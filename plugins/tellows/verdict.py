"""From a validated tellows record to cidrep's verdict, score, label and evidence (pure).

The tellows score runs 1-9: 1 trustworthy, 5 neutral (also what an unrated number
gets), 9 dangerous; tellows colours 7-9 red and third-party blockers act at 6 or 7.

- **Score**: 1-9 maps linearly onto 0-100, ``(s - 1) * 12.5`` rounded half up
  (``SCORE_100``), so 5 is 50 and the ends are 0 and 100.
- **Verdict**: ``flagged`` from ``flag_min_score`` (default 7), else ``clean``. A
  number nobody has rated (score 5, no comments) is ``clean``: tellows looked and
  has nothing against it, as with an FCC number without complaints. ``unknown`` is
  left for numbers tellows cannot be asked about or has no entry for (the checker).
- **Label and category** only for a flagged number, as in cidrep's complaint rule:
  the label is the most reported caller type as tellows names it ("Telemarketer",
  "Kostenfalle"), skipping "unknown" and "trustworthy" types, ties to the first
  listed; with none, "tellows score N" as tellows shows it. The category is that
  type normalised (``category_of``), ``spam`` when it says nothing more.
- **Evidence** holds stable facts only. ``searches`` counts every lookup of the
  number, ours included, so it would change on every check and split history into
  one row per check: it is kept as an order of magnitude (``"100+"``) instead.
  Caller names are one ``"; "``-joined string, which ``cidrep report`` shows as is.
"""

from __future__ import annotations

from typing import Any

from cidrep.contract import Observation, Verdict

from .answer import Record

__all__ = [
    "SCORE_100",
    "assess",
    "category_of",
    "cidrep_score",
    "evidence",
    "judge",
    "label_and_category",
    "searches_bucket",
]

SCORE_100: dict[int, int] = {1: 0, 2: 13, 3: 25, 4: 38, 5: 50, 6: 63, 7: 75, 8: 88, 9: 100}

# Caller types that say nothing against a number (English and German spellings).
UNKNOWN_WORDS = ("unknown", "unbekannt", "keine angabe", "not specified")
TRUSTED_WORDS = ("trust", "seriös", "serioes", "reputable", "legitimate", "vertrauens")

# First match wins, so the specific (fraud) goes before the general (telemarketing).
CATEGORY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fraud", ("fraud", "betrug", "betrüger", "identity theft")),
    (
        "scam",
        (
            "scam",
            "cost trap",
            "kostenfalle",
            "abzocke",
            "phishing",
            "ping call",
            "ping-anruf",
            "ping anruf",
            "lockanruf",
        ),
    ),
    ("robocall", ("robocall", "recorded", "automated", "bandansage", "tonband", "computer")),
    ("debt_collection", ("debt", "inkasso", "collection agency", "collector")),
    ("survey", ("survey", "umfrage", "poll")),
    ("harassment", ("harass", "terror", "beläst", "threat", "drohung", "stalk", "prank")),
    ("charity", ("charity", "donation", "spende")),
    (
        "telemarketing",
        (
            "telemarket",
            "call center",
            "callcenter",
            "advertis",
            "werbung",
            "sales",
            "verkauf",
            "sweepstake",
            "lotter",
            "gewinnspiel",
            "marketing",
            "shopping",
        ),
    ),
)


def cidrep_score(score: int) -> int:
    """The 0-100 score for a tellows score 1-9 (``SCORE_100``)."""
    return SCORE_100[score]


def judge(score: int, flag_min_score: int) -> Verdict:
    """``flagged`` from ``flag_min_score``, else ``clean``."""
    return Verdict.FLAGGED if score >= flag_min_score else Verdict.CLEAN


def _says_nothing(name: str) -> bool:
    text = name.casefold()
    return any(word in text for word in (*UNKNOWN_WORDS, *TRUSTED_WORDS))


def category_of(name: str | None) -> str:
    """A caller type normalised; ``spam`` when it says nothing more specific."""
    text = (name or "").casefold()
    for category, words in CATEGORY_WORDS:
        if any(word in text for word in words):
            return category
    return "spam"


def top_type(record: Record) -> str | None:
    """The most reported caller type that says something against the number."""
    best: tuple[int, str] | None = None
    for name, count in record.caller_types:
        if _says_nothing(name):
            continue
        if best is None or count > best[0]:
            best = (count, name)
    if best is not None:
        return best[1]
    single = record.caller_type
    return single if single is not None and not _says_nothing(single) else None


def label_and_category(record: Record, verdict: Verdict) -> tuple[str | None, str | None]:
    """Label and category of a flagged number; (None, None) otherwise."""
    if verdict is not Verdict.FLAGGED:
        return None, None
    name = top_type(record)
    return (name or f"tellows score {record.score}"), category_of(name)


def searches_bucket(searches: int) -> str:
    """An order of magnitude: 0, "1+", "10+", "100+", ... (stable between checks)."""
    if searches <= 0:
        return "0"
    return f"{10 ** (len(str(searches)) - 1)}+"


def evidence(record: Record) -> dict[str, Any]:
    """Stable facts of the answer; absent fields are left out."""
    found: dict[str, Any] = {"tellows_score": record.score}
    if record.comments is not None:
        found["comments"] = record.comments
    if record.searches is not None:
        found["searches"] = searches_bucket(record.searches)
    if record.caller_types:
        ordered = sorted(enumerate(record.caller_types), key=lambda item: (-item[1][1], item[0]))
        found["caller_types"] = {name: count for _, (name, count) in ordered}
    if record.caller_names:
        found["caller_names"] = "; ".join(record.caller_names)
    if record.location:
        found["location"] = record.location
    return found


def assess(
    number: str,
    record: Record,
    flag_min_score: int,
    url: str | None = None,
    cost_units: float = 0.0,
) -> Observation:
    """The observation for ``number`` from its tellows record."""
    verdict = judge(record.score, flag_min_score)
    label, category = label_and_category(record, verdict)
    return Observation(
        number=number,
        verdict=verdict,
        label=label,
        category=category,
        score=cidrep_score(record.score),
        evidence=evidence(record),
        url=url,
        cost_units=cost_units,
    )
