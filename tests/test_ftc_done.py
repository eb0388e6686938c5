"""The FTC feed never skips a day: done dates, late files, backfills, bounded chunks.

``Runner`` below applies chunks the way the real runner does (sightings stored once
by key, cursor and done dates committed with each chunk, done dates handed back in
the next ``FeedRequest``), so several pulls can be chained without a database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from cidrep.contract import FeedChunk, FeedRequest, SourceError
from cidrep_plugins.ftc.checker import CHUNK_SIGHTINGS, FtcChecker, FtcSettings
from cidrep_plugins.ftc.csvfile import parse_complaints, target_index
from cidrep_plugins.ftc.sample import write_sample

A = "+12025550143"
B = "+13125550188"
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # a Monday
LOCAL = {"lookback_days": 5, "flag_window_days": 5}


def iso(day: date) -> str:
    return day.isoformat()


def days_before(n: int) -> str:
    return iso(NOW.date() - timedelta(days=n))


@dataclass
class Runner:
    """What the runner keeps for a feed between pulls (see the module docstring)."""

    cursor: str | None = None
    done: set[str] = field(default_factory=set)
    sightings: dict[tuple[str, str], str] = field(default_factory=dict)
    chunks: list[FeedChunk] = field(default_factory=list)

    def pull(self, checker: FtcChecker, http=None, backfill=False, now=NOW, targets=(A, B)):
        request = FeedRequest(self.cursor, frozenset(targets), backfill, now, frozenset(self.done))
        self.chunks = []

        async def run() -> None:
            async for chunk in checker.pull(request, http):
                if isinstance(http, FakeHttp) and http.open:
                    http.open_during_yield = True
                self.chunks.append(chunk)
                for s in chunk.sightings:
                    self.sightings.setdefault((s.number, s.key), s.occurred_at)
                self.cursor = chunk.cursor
                if chunk.done:
                    self.done.add(chunk.done)

        asyncio.run(run())
        return [c.done for c in self.chunks if c.done]


def folder_checker(folder: Path, **options) -> FtcChecker:
    return FtcChecker(FtcSettings(path=folder, **{**LOCAL, **options}))


# --- late files, backfill, window -------------------------------------------------


def test_a_late_file_for_an_earlier_date_is_read_on_the_next_pull_and_counted_once(
    tmp_path: Path,
):
    for n in (7, 6, 3, 0):  # Mon 16, Tue 17, Fri 20, Mon 23; Wed 18 is not out yet
        write_sample(tmp_path, NOW.date() - timedelta(days=n), {A: 1}, seed=n)
    runner = Runner()
    checker = folder_checker(tmp_path, lookback_days=10, flag_window_days=10)
    assert runner.pull(checker) == [days_before(n) for n in (7, 6, 3, 0)]
    assert runner.cursor == days_before(0)
    write_sample(tmp_path, NOW.date() - timedelta(days=5), {A: 2, B: 1}, seed=5)  # late
    later = NOW + timedelta(hours=6)
    assert runner.pull(checker, now=later) == [days_before(5)]
    assert runner.cursor == days_before(0)  # the cursor does not move back
    assert len(runner.sightings) == 4 + 3
    assert runner.pull(checker, now=later + timedelta(hours=6)) == []
    assert len(runner.sightings) == 7


def test_url_mode_requests_a_missing_date_again_until_it_is_published(tmp_path: Path):
    files = {day: sample_bytes(tmp_path, day, {A: 1}) for day in (4, 3, 0)}
    http = FakeHttp({days_before(n): body for n, body in files.items()})
    runner = Runner()
    checker = url_checker()
    assert runner.pull(checker, http) == [days_before(4), days_before(3), days_before(0)]
    assert http.requested == [days_before(n) for n in (4, 3, 2, 1, 0)]
    http.files[days_before(1)] = sample_bytes(tmp_path, 1, {B: 1})  # a late Sunday file
    http.requested = []
    assert runner.pull(checker, http) == [days_before(1)]
    assert http.requested == [days_before(2), days_before(1)]  # only dates not done
    assert sorted(n for n, _ in runner.sightings) == [A, A, A, B]


def test_a_backfill_reads_the_union_of_the_cursor_and_lookback_windows(tmp_path: Path):
    for n in range(23):
        write_sample(tmp_path, NOW.date() - timedelta(days=n), {A: 1}, filler_rows=0, seed=n)
    checker = folder_checker(tmp_path)  # lookback: the last 5 days
    stale = Runner(cursor=days_before(12), done={days_before(n) for n in range(12, 23)})
    read = stale.pull(checker, backfill=True)  # idle 12 days: nothing may be skipped
    assert read == [days_before(n) for n in range(11, -1, -1)]
    recent = Runner(cursor=days_before(0), done={days_before(n) for n in range(23)})
    read = recent.pull(checker, backfill=True)  # a new number: the done lookback again
    assert read == [days_before(n) for n in range(4, -1, -1)]
    assert recent.pull(checker) == []  # no backfill: everything is done


def test_flag_window_longer_than_lookback_is_a_config_error():
    with pytest.raises(ValidationError, match=r"lookback_days \(10\) must be at least"):
        FtcSettings(lookback_days=10, flag_window_days=30)
    assert FtcSettings(lookback_days=30, flag_window_days=30).lookback_days == 30


def test_all_files_of_a_date_are_read_before_it_is_done(tmp_path: Path):
    day = NOW.date() - timedelta(days=3)
    write_sample(tmp_path, day, {A: 1})
    (tmp_path / f"dnc_complaint_numbers_{iso(day)}.csv").write_text("Number,When\n1,2\n")
    runner = Runner()
    with pytest.raises(SourceError, match="created_date"):
        runner.pull(folder_checker(tmp_path))
    assert [c.done for c in runner.chunks] == [None]  # the first file, not the date
    assert runner.done == set()


def test_holidays_among_done_dates_are_no_sign_that_the_files_moved(tmp_path: Path):
    # Thanksgiving week: Wed-Fri 18-20 have no file, but they are before the cursor
    present = [7, 6, 0]
    http = FakeHttp({days_before(n): sample_bytes(tmp_path, n, {A: 1}) for n in present})
    checker = url_checker(lookback_days=10, flag_window_days=10)
    done = {days_before(n) for n in (9, 8, *present)}
    runner = Runner(cursor=days_before(0), done=done)
    assert runner.pull(checker, http) == []
    assert days_before(4) in http.requested  # still retried, in case it comes late
    moved = Runner(cursor=days_before(7), done={days_before(n) for n in (9, 8, 7)})
    with pytest.raises(SourceError, match=r"no FTC file found .* \(4 weekdays\)"):
        moved.pull(checker, FakeHttp({}))


# --- bounded chunks -----------------------------------------------------------------


def test_a_big_file_comes_in_bounded_chunks_and_only_the_last_is_done(tmp_path: Path):
    day = NOW.date() - timedelta(days=1)
    path = write_sample(tmp_path, day, {A: 7_000, B: 5_000}, filler_rows=300, seed=1)
    runner = Runner(cursor=days_before(9), done={days_before(n) for n in range(2, 10)})
    runner.pull(folder_checker(tmp_path))
    sizes = [len(c.sightings) for c in runner.chunks]
    assert len(sizes) >= 3 and max(sizes) <= CHUNK_SIGHTINGS and sum(sizes) == 12_000
    assert [c.done for c in runner.chunks] == [None] * (len(sizes) - 1) + [iso(day)]
    assert [c.cursor for c in runner.chunks] == [days_before(9)] * (len(sizes) - 1) + [iso(day)]
    assert ["files" in c.stats for c in runner.chunks] == [False] * (len(sizes) - 1) + [True]
    assert sum(c.stats["rows"] for c in runner.chunks) == 12_000 + 300 + 5
    assert sum(c.stats["matched"] for c in runner.chunks) == 12_000
    assert len(runner.sightings) == 12_000
    whole = parse_complaints(path.read_bytes(), path.name, target_index([A, B]))
    keys = [s.key for c in runner.chunks for s in c.sightings]
    assert keys == [s.key for s in whole.sightings]


def test_url_mode_chunks_are_bounded_and_handed_on_after_the_request(tmp_path: Path):
    body = sample_bytes(tmp_path, 1, {A: 11_000}, filler_rows=0)
    http = FakeHttp({days_before(1): body}, piece=4096)
    runner = Runner(cursor=days_before(2), done={days_before(n) for n in (4, 3, 2)})
    runner.pull(url_checker(), http)
    assert [len(c.sightings) for c in runner.chunks] == [5_000, 5_000, 1_000]
    assert [c.done for c in runner.chunks] == [None, None, days_before(1)]
    assert http.open_during_yield is False  # no chunk was yielded inside http.stream()


def test_url_mode_streams_the_body_and_parses_it_like_a_whole_file(tmp_path: Path):
    body = sample_bytes(tmp_path, 0, {A: 30, B: 4}, robocall={B}, junk_rows=12, filler_rows=500)
    for piece in (1, 7, 1000, len(body)):
        http = FakeHttp({days_before(0): body}, piece=piece)
        runner = Runner(cursor=days_before(1), done={days_before(n) for n in (4, 3, 2, 1)})
        runner.pull(url_checker(), http)
        whole = parse_complaints(body, "f.csv", target_index([A, B]))
        got = [(s.key, s.detail) for c in runner.chunks for s in c.sightings]
        assert got == [(s.key, s.detail) for s in whole.sightings]
        assert runner.chunks[-1].stats["junk_rows"] == 12


def test_url_mode_html_body_without_content_type_is_refused(tmp_path: Path):
    http = FakeHttp({days_before(0): b"\n  <!DOCTYPE html><html>moved</html>"}, piece=3)
    runner = Runner(cursor=days_before(1), done={days_before(n) for n in (4, 3, 2, 1)})
    with pytest.raises(SourceError, match="HTML page"):
        runner.pull(url_checker(), http)


# --- helpers: a fake Http that streams, and sample bodies ------------------------


def sample_bytes(tmp_path: Path, days_ago: int, complaints: dict[str, int], **kw) -> bytes:
    day = NOW.date() - timedelta(days=days_ago)
    return write_sample(tmp_path / "served" / str(days_ago), day, complaints, **kw).read_bytes()


def url_checker(**options) -> FtcChecker:
    settings = {"lookback_days": 5, "flag_window_days": 5, **options}
    return FtcChecker(FtcSettings(base_url="https://files.example/ftc/", **settings))


class FakeResponse:
    def __init__(self, status: int, body: bytes, piece: int, http: FakeHttp) -> None:
        self.status_code = status
        self.headers = {"content-type": "text/csv" if status == 200 else "text/plain"}
        self._body, self._piece, self._http = body, piece, http

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), self._piece):
            await asyncio.sleep(0)
            yield self._body[start : start + self._piece]


class FakeHttp:
    """Serves ``files`` (date -> body) at ``.../DNC_Complaint_Numbers_<date>.csv``."""

    def __init__(self, files: dict[str, bytes], piece: int = 64) -> None:
        self.files = files
        self.piece = piece
        self.requested: list[str] = []
        self.open = False
        self.open_during_yield = False

    async def get(self, url: str, **kwargs: object) -> object:
        raise AssertionError("the FTC feed must stream its files, not get() them whole")

    @asynccontextmanager
    async def stream(self, url: str, *, params=None, headers=None) -> AsyncIterator[FakeResponse]:
        assert url.startswith("https://files.example/ftc/DNC_Complaint_Numbers_")
        day = url.rsplit("_", 1)[1].removesuffix(".csv")
        self.requested.append(day)
        body = self.files.get(day)
        self.open = True
        try:
            yield FakeResponse(404 if body is None else 200, body or b"", self.piece, self)
        finally:
            self.open = False
