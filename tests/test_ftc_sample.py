"""The sample-file generator used by the README demo: realistic, exact, deterministic."""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cidrep.contract import FeedRequest
from cidrep_plugins.ftc.checker import FtcChecker, FtcSettings
from cidrep_plugins.ftc.csvfile import FTC_HEADER, parse_complaints, target_index
from cidrep_plugins.ftc.sample import write_sample

A = "+12025550143"
B = "+13125550188"
C = "+16175550100"
DAY = date(2026, 11, 23)


def test_sample_parses_to_the_requested_counts(tmp_path: Path):
    path = write_sample(tmp_path, DAY, {A: 7, B: 2, C: 0}, robocall={A}, junk_rows=5, seed=3)
    assert path.name == "DNC_Complaint_Numbers_2026-11-23.csv"
    parsed = parse_complaints(path.read_bytes(), path.name, target_index([A, B, C]))
    assert Counter(s.number for s in parsed.sightings) == {A: 7, B: 2}
    assert parsed.junk_rows == 5 and parsed.bad_dates == 0
    assert parsed.rows == 7 + 2 + 20 + 5
    assert {s.detail["robocall"] for s in parsed.sightings if s.number == A} == {True}
    assert {s.detail["robocall"] for s in parsed.sightings if s.number == B} == {False}
    days = {date.fromisoformat(s.occurred_at) for s in parsed.sightings}
    assert all(DAY - timedelta(days=3) <= d < DAY for d in days)
    assert len({s.key for s in parsed.sightings}) == 9


def test_sample_has_the_real_header_and_every_junk_kind(tmp_path: Path):
    path = write_sample(tmp_path, DAY, {A: 1}, junk_rows=5, filler_rows=0)
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == FTC_HEADER
    phones = sorted(row[0] for row in rows[1:])
    lengths = sorted(len(p) for p in phones if p.isdigit() and p not in {A[2:], "1" + A[2:]})
    assert lengths == [7, 9, 11, 15]
    assert "2026-11-22" in phones
    eleven = next(p for p in phones if len(p) == 11 and p not in {"1" + A[2:]})
    assert not eleven.startswith("1")


def test_sample_is_deterministic_by_seed(tmp_path: Path):
    one = write_sample(tmp_path / "a", DAY, {A: 3}, seed=1).read_bytes()
    same = write_sample(tmp_path / "b", DAY, {A: 3}, seed=1).read_bytes()
    other = write_sample(tmp_path / "c", DAY, {A: 3}, seed=2).read_bytes()
    assert one == same and one != other


def test_sample_rejects_non_nanp_numbers(tmp_path: Path):
    with pytest.raises(ValueError, match="NANP"):
        write_sample(tmp_path, DAY, {"+442079460000": 1})


def test_sample_folder_feeds_the_checker(tmp_path: Path):
    for offset in (3, 0):
        write_sample(tmp_path, DAY - timedelta(days=offset), {A: 2}, seed=offset)
    checker = FtcChecker(FtcSettings(path=tmp_path))
    now = datetime.combine(DAY, datetime.min.time(), UTC)

    async def run():
        request = FeedRequest(cursor=None, targets=frozenset({A}), backfill=False, now=now)
        return [chunk async for chunk in checker.pull(request, http=None)]

    chunks = asyncio.run(run())
    assert [c.cursor for c in chunks] == ["2026-11-20", "2026-11-23"]
    assert [c.stats["matched"] for c in chunks] == [2, 2]
    assert [c.stats["junk_rows"] for c in chunks] == [5, 5]
