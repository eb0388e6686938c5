"""Realistic, fictional FTC daily files for the README demo and for tests.

``write_sample`` writes one ``DNC_Complaint_Numbers_YYYY-MM-DD.csv`` with the FTC's
real header: the requested complaints about your numbers, filler complaints about
fictional 555-01XX numbers, and the junk the real files contain (numbers consumers
mistyped). Output depends only on the arguments, so a demo or a test can rely on
exact counts. No real complaint data is used or needed.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Collection, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path

from cidrep.contract import nanp_digits
from cidrep_plugins.ftc.csvfile import FTC_HEADER
from cidrep_plugins.ftc.settings import DEFAULT_PATTERN

# Subject categories as the FTC's complaint form shows them.
SUBJECTS: tuple[str, ...] = (
    "Computer & technical support",
    "Lotteries, prizes & sweepstakes",
    "Reducing your debt (credit cards, mortgage, student loans)",
    "Dropped call or no message",
    "Warranties & protection plans",
    "Imposters",
    "Medical & prescriptions",
    "Other",
)
# (consumer city, state, area code): filler for the columns cidrep never stores.
CONSUMERS: tuple[tuple[str, str, str], ...] = (
    ("Earlysville", "Virginia", "434"),
    ("Springfield", "Illinois", "217"),
    ("Austin", "Texas", "512"),
    ("Tacoma", "Washington", "253"),
    ("Dayton", "Ohio", "937"),
    ("Tampa", "Florida", "813"),
    ("Albany", "New York", "518"),
    ("Boise", "Idaho", "208"),
)
FILLER_AREA_CODES: tuple[str, ...] = ("202", "312", "415", "617", "713", "305", "646", "808")
JUNK_KINDS: tuple[str, ...] = ("7 digits", "9 digits", "11 digits", "15 digits", "date")


def write_sample(
    folder: Path,
    day: date,
    complaints: Mapping[str, int],
    robocall: Collection[str] = frozenset(),
    junk_rows: int = 5,
    filler_rows: int = 20,
    seed: int = 0,
    clean: Collection[str] = frozenset(),
) -> Path:
    """Write the FTC file for ``day`` into ``folder`` and return its path.

    ``complaints`` maps E.164 NANP numbers (``+1...``) to how many complaint rows
    name them; numbers in ``robocall`` are reported as robocalls. Created dates fall
    on the 1-3 days before ``day`` (the file is published after the complaints), and
    about one row in ten writes the number with a leading ``1``, as consumers do.
    ``junk_rows`` rows carry an unusable number (7, 9, 11 digits not starting with
    1, 15 digits, a date), cycling in that order; ``filler_rows`` name fictional
    555-01XX numbers that are neither in ``complaints`` nor in ``clean`` (numbers
    that must come out with no complaint, e.g. the demo's clean numbers).
    """
    rng = random.Random(seed)
    monitored: dict[str, str] = {}
    for number, count in complaints.items():
        national = nanp_digits(number)
        if national is None:
            raise ValueError(f"{number!r} is not a +1 (NANP) number in E.164 form")
        if count < 0:
            raise ValueError(f"negative complaint count for {number}")
        monitored[national] = number

    avoid = set(monitored) | {n for n in map(nanp_digits, clean) if n}
    rows: list[list[str]] = []
    for national, number in sorted(monitored.items()):
        flagged_robocall = number in robocall
        for _ in range(complaints[number]):
            phone = "1" + national if rng.random() < 0.1 else national
            rows.append(_row(rng, day, phone, robocall=flagged_robocall))
    for _ in range(filler_rows):
        rows.append(_row(rng, day, _filler_number(rng, avoid), robocall=rng.random() < 0.4))
    for i in range(junk_rows):
        rows.append(_row(rng, day, _junk_number(rng, JUNK_KINDS[i % len(JUNK_KINDS)], day)))
    rng.shuffle(rows)

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DEFAULT_PATTERN.format(date=day.isoformat())
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FTC_HEADER)
        writer.writerows(rows)
    return path


def _row(rng: random.Random, day: date, phone: str, robocall: bool = False) -> list[str]:
    created = _moment(rng, day - timedelta(days=rng.randint(1, 3)))
    violation = created - timedelta(days=rng.randint(0, 3), minutes=rng.randint(5, 600))
    city, state, area_code = rng.choice(CONSUMERS)
    return [
        phone,
        created.strftime("%Y-%m-%d %H:%M:%S"),
        violation.strftime("%Y-%m-%d %H:%M:%S"),
        city,
        state,
        area_code,
        rng.choice(SUBJECTS),
        "Y" if robocall else "N",
    ]


def _moment(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 21), rng.randint(0, 59), rng.randint(0, 59)))


def _filler_number(rng: random.Random, avoid: Collection[str]) -> str:
    """A fictional 555-01XX number (reserved for fiction) not among ``avoid``."""
    for _ in range(10_000):
        national = f"{rng.choice(FILLER_AREA_CODES)}55501{rng.randint(0, 99):02d}"
        if national not in avoid:
            return national
    raise ValueError("every fictional 555-01XX filler number is excluded")


def _junk_number(rng: random.Random, kind: str, day: date) -> str:
    """A phone field no rule can turn into a NANP number."""
    digits = "".join(str(rng.randint(0, 9)) for _ in range(15))
    if kind == "7 digits":
        return str(rng.randint(2, 9)) + digits[:6]
    if kind == "9 digits":
        return str(rng.randint(2, 9)) + digits[:8]
    if kind == "11 digits":
        return str(rng.randint(2, 9)) + digits[:10]  # 11 digits, not a leading 1
    if kind == "15 digits":
        return str(rng.randint(2, 9)) + digits[:14]
    return (day - timedelta(days=1)).isoformat()  # a date typed into the number column
