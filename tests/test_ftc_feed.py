"""The ftc feed: date window and cursor, local mirror and URL modes, assessment, plugin."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from localserver import LocalServer, Reply
from pydantic import ValidationError

from cidrep.contract import FeedChunk, FeedRequest, Sighting, SourceError, Verdict
from cidrep.runner.http import HttpSession
from cidrep_plugins.ftc.checker import NOT_COVERED, FtcChecker, FtcSettings
from cidrep_plugins.ftc.sample import write_sample

A = "+12025550143"
B = "+13125550188"
TARGETS = frozenset({A, B, "+442079460000"})
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # a Monday
HEADER = (
    "Company_Phone_Number,Created_Date,Violation_Date,Consumer_City,Consumer_State,"
    "Consumer_Area_Code,Subject,Recorded_Message_Or_Robocall\n"
)
FAST = {"rate_limit": "1000/s", "backoff_initial": "0.01s", "backoff_max": "0.05s"}


def day_csv(day: str, *phones: str) -> str:
    """An FTC file whose complaints were created the day before ``day``."""
    created = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    rows = [f"{p},{created} 10:00:00,,Austin,Texas,512,Other,N\n" for p in phones]
    return HEADER + "".join(rows) + f"5550143,{created} 11:00:00,,Austin,Texas,512,Other,N\n"


class NoHttp:
    """Local mode must never download anything."""

    async def get(self, url: str, **kwargs: object) -> object:
        raise AssertionError(f"unexpected download of {url}")


async def collect(checker, http, cursor=None, backfill=False, now=NOW, targets=TARGETS, done=()):
    """Run a pull; return the chunks yielded before it ended and the error, if any."""
    chunks: list[FeedChunk] = []
    request = FeedRequest(cursor, targets, backfill, now, frozenset(done))
    try:
        async for chunk in checker.pull(request, http):
            chunks.append(chunk)
    except SourceError as exc:
        return chunks, exc
    return chunks, None


def pull_local(path: Path, **kwargs):
    checker = FtcChecker(FtcSettings(path=path, lookback_days=10, flag_window_days=10))
    chunks, error = asyncio.run(collect(checker, NoHttp(), **kwargs))
    assert error is None
    return chunks


LOOKBACK_FILES = ["2026-11-16", "2026-11-17", "2026-11-20", "2026-11-23"]


# --- local mirror ------------------------------------------------------------------


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    folder = tmp_path / "mirror"
    folder.mkdir()
    files = {
        "DNC_Complaint_Numbers_2026-10-01.csv": day_csv("2026-10-01", A),  # before lookback
        "DNC_Complaint_Numbers_2026-11-16.csv": day_csv("2026-11-16", A),
        "dnc_complaint_numbers_2026-11-17.csv": day_csv("2026-11-17", B),  # older naming
        "DNC_Complaint_Numbers_2026-11-20.csv": day_csv("2026-11-20", A, "12025550143"),
        "DNC_Complaint_Numbers_2026-11-23.csv": day_csv("2026-11-23", B),
        "DNC_Complaint_Numbers_2026-11-30.csv": day_csv("2026-11-30", A),  # future
        "DNC_Complaint_Numbers_latest.csv": day_csv("2026-11-21", A),
        "notes.csv": day_csv("2026-11-21", A),
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "DNC_Complaint_Numbers_2026-11-18.csv").mkdir()  # a folder, not a file
    return folder


def test_folder_first_run_reads_lookback_window_in_date_order(mirror: Path):
    chunks = pull_local(mirror)
    assert [c.cursor for c in chunks] == LOOKBACK_FILES
    assert [c.done for c in chunks] == LOOKBACK_FILES
    assert [[s.number for s in c.sightings] for c in chunks] == [[A], [B], [A, A], [B]]
    assert [s.occurred_at for s in chunks[2].sightings] == ["2026-11-19", "2026-11-19"]
    assert chunks[2].stats == {"files": 1, "rows": 3, "junk_rows": 1, "bad_dates": 0, "matched": 2}


def test_folder_reads_only_dates_not_done(mirror: Path):
    chunks = pull_local(mirror, cursor="2026-11-17", done={"2026-11-16", "2026-11-17"})
    assert [c.done for c in chunks] == ["2026-11-20", "2026-11-23"]
    assert pull_local(mirror, cursor="2026-11-23", done=LOOKBACK_FILES) == []


def test_folder_backfill_rereads_window_with_same_keys(mirror: Path):
    first = pull_local(mirror)
    again = pull_local(mirror, cursor="2026-11-23", backfill=True, done=LOOKBACK_FILES)
    assert [c.cursor for c in again] == ["2026-11-23"] * 4  # the cursor never goes back
    assert [c.done for c in again] == [c.done for c in first]
    assert [s.key for c in again for s in c.sightings] == [
        s.key for c in first for s in c.sightings
    ]


def test_single_file_is_ingested_every_pull_with_its_date_as_done(mirror: Path):
    file = mirror / "DNC_Complaint_Numbers_2026-10-01.csv"
    chunks = pull_local(file, cursor="2026-11-20", done={"2026-10-01"})
    assert [(c.done, c.cursor) for c in chunks] == [("2026-10-01", "2026-11-20")]
    assert [s.number for s in chunks[0].sightings] == [A]
    assert [(c.done, c.cursor) for c in pull_local(file)] == [("2026-10-01", "2026-10-01")]


def test_single_undated_file_keeps_the_request_cursor(mirror: Path):
    chunks = pull_local(mirror / "notes.csv", cursor="2026-11-20")
    assert [(c.cursor, c.done) for c in chunks] == [("2026-11-20", None)]
    assert chunks[0].stats["matched"] == 1


def test_missing_mirror_path_is_a_clear_source_error(tmp_path: Path):
    missing = tmp_path / "not-mounted"
    checker = FtcChecker(FtcSettings(path=missing))
    chunks, error = asyncio.run(collect(checker, NoHttp()))
    assert chunks == []
    assert str(error) == f"FTC mirror path {missing} does not exist"


def test_malformed_file_in_folder_stops_after_committed_chunks(mirror: Path):
    (mirror / "DNC_Complaint_Numbers_2026-11-23.csv").write_text("Number,When\n1,2\n")
    checker = FtcChecker(FtcSettings(path=mirror, lookback_days=10, flag_window_days=10))
    chunks, error = asyncio.run(collect(checker, NoHttp()))
    assert [c.done for c in chunks] == ["2026-11-16", "2026-11-17", "2026-11-20"]
    assert "DNC_Complaint_Numbers_2026-11-23.csv" in str(error)
    assert "company_phone_number" in str(error)


# --- URL mode, against a real HTTP server on 127.0.0.1 ------------------------------


def url_pull(server: LocalServer, **kwargs):
    settings = FtcSettings(
        base_url=server.url + "/files", lookback_days=4, flag_window_days=4, **FAST
    )

    async def run():
        http = HttpSession("ftc", settings)
        try:
            return await collect(FtcChecker(settings), http, **kwargs)
        finally:
            await http.aclose()

    return asyncio.run(run())


def path_for(day: str) -> str:
    return f"/files/DNC_Complaint_Numbers_{day}.csv"


WEEK_DONE = {"2026-11-20", "2026-11-21"}


def test_url_mode_skips_missing_dates_and_requests_each_day_in_order():
    with LocalServer() as server:
        server.route(path_for("2026-11-20"), Reply(200, day_csv("2026-11-20", A)))
        server.route(path_for("2026-11-23"), Reply(200, day_csv("2026-11-23", A, B)))
        chunks, error = url_pull(server)
    assert error is None
    assert [r.path for r in server.requests] == [
        path_for("2026-11-20"),
        path_for("2026-11-21"),  # weekend: 404, skipped
        path_for("2026-11-22"),
        path_for("2026-11-23"),
    ]
    assert [c.cursor for c in chunks] == ["2026-11-20", "2026-11-23"]
    assert [c.done for c in chunks] == ["2026-11-20", "2026-11-23"]  # 404s are not done
    assert [sorted(s.number for s in c.sightings) for c in chunks] == [[A], [A, B]]
    assert "missing_files" not in chunks[0].stats
    assert chunks[1].stats["missing_files"] == 2


def test_url_mode_requests_only_dates_not_done():
    with LocalServer() as server:
        server.route(path_for("2026-11-23"), Reply(200, day_csv("2026-11-23", B)))
        done = {"2026-11-20", "2026-11-22"}
        chunks, error = url_pull(server, cursor="2026-11-22", done=done)
    assert error is None
    assert [r.path for r in server.requests] == [path_for("2026-11-21"), path_for("2026-11-23")]
    assert [(c.cursor, c.done) for c in chunks] == [("2026-11-23", "2026-11-23")]


def test_url_mode_403_is_a_source_error_after_earlier_chunks():
    with LocalServer() as server:
        server.route(path_for("2026-11-20"), Reply(200, day_csv("2026-11-20", A)))
        server.route(path_for("2026-11-23"), Reply(403, "Access denied"))
        chunks, error = url_pull(server)
    assert [c.cursor for c in chunks] == ["2026-11-20"]
    assert str(error) == "FTC file for 2026-11-23: HTTP 403 from 127.0.0.1"


def test_url_mode_retries_a_503_then_reads_the_file():
    calls: list[int] = []

    def flaky(_request):
        calls.append(1)
        return Reply(503, "busy") if len(calls) == 1 else Reply(200, day_csv("2026-11-22", B))

    with LocalServer() as server:
        server.route(path_for("2026-11-22"), flaky)
        chunks, error = url_pull(server, cursor="2026-11-21", done=WEEK_DONE)
    assert error is None
    assert [r.path for r in server.requests].count(path_for("2026-11-22")) == 2
    assert [c.cursor for c in chunks] == ["2026-11-22"]
    assert [s.number for s in chunks[0].sightings] == [B]


def test_url_mode_persistent_503_propagates_the_session_error():
    with LocalServer() as server:
        server.route(path_for("2026-11-23"), Reply(503, "busy"))
        chunks, error = url_pull(server, cursor="2026-11-22", done=WEEK_DONE)
    assert chunks == []
    assert "HTTP 503" in str(error) and "127.0.0.1" in str(error)


def test_url_mode_html_page_instead_of_csv_is_an_error():
    page = Reply(200, "<!DOCTYPE html><html>Page not found</html>", {"Content-Type": "text/html"})
    with LocalServer() as server:
        server.route(path_for("2026-11-23"), page)
        chunks, error = url_pull(server, cursor="2026-11-22", done=WEEK_DONE)
    assert chunks == []
    assert "2026-11-23" in str(error) and "HTML" in str(error)


def test_url_mode_nothing_published_yields_nothing():
    with LocalServer() as server:
        chunks, error = url_pull(server)
    assert error is None and chunks == []
    assert len(server.requests) == 4


# --- settings, preflight, window ----------------------------------------------------


def test_settings_defaults():
    s = FtcSettings()
    assert s.base_url == "https://www.ftc.gov/sites/default/files/"
    assert s.path is None
    assert s.file_pattern == "DNC_Complaint_Numbers_{date}.csv"
    assert s.lookback_days == 30
    assert s.interval == timedelta(hours=6)
    assert str(s.rate_limit) == "1/s"
    assert s.concurrency == 1
    assert (s.flag_min_complaints, s.flag_window_days) == (1, 30)
    assert s.max_response_bytes == 500_000_000  # a 90-day mirror file is ~220 MB
    assert FtcSettings(max_response_bytes="1GB").max_response_bytes == 1_000_000_000
    names = ("base_url", "path", "file_pattern", "lookback_days", "interval", "rate_limit")
    for name in (*names, "max_response_bytes"):
        assert FtcSettings.model_fields[name].description


@pytest.mark.parametrize(
    "pattern", ["complaints.csv", "{day}.csv", "{date}_{date}.csv", "a/{date}"]
)
def test_file_pattern_must_hold_one_date_field(pattern: str):
    with pytest.raises(ValidationError, match="file_pattern"):
        FtcSettings(file_pattern=pattern)


def test_custom_pattern_drives_folder_matching(tmp_path: Path):
    (tmp_path / "ftc-2026-11-20.csv").write_text(day_csv("2026-11-20", A))
    (tmp_path / "DNC_Complaint_Numbers_2026-11-21.csv").write_text(day_csv("2026-11-21", A))
    checker = FtcChecker(FtcSettings(path=tmp_path, file_pattern="ftc-{date}.csv"))
    chunks, error = asyncio.run(collect(checker, NoHttp()))
    assert error is None and [c.cursor for c in chunks] == ["2026-11-20"]


def test_base_url_gets_a_trailing_slash_and_preflight():
    assert (
        FtcSettings(base_url="http://mirror.example/ftc").base_url == "http://mirror.example/ftc/"
    )
    assert FtcChecker(FtcSettings()).preflight() is None
    assert FtcChecker(FtcSettings(base_url="")).preflight()
    assert FtcChecker(FtcSettings(base_url="", path=Path("/srv/ftc"))).preflight() is None


@pytest.mark.parametrize(
    ("cursor", "backfill", "start"),
    [
        (None, False, "2026-10-25"),
        ("2026-11-20", False, "2026-10-25"),  # at least the lookback: late files
        ("2026-11-20", True, "2026-10-25"),
        ("2026-09-01", False, "2026-09-02"),  # never skips a day after the cursor
        ("2026-09-01", True, "2026-09-02"),
        ("garbage", False, "2026-10-25"),
    ],
)
def test_window(cursor, backfill, start):
    checker = FtcChecker(FtcSettings())
    request = FeedRequest(cursor=cursor, targets=TARGETS, backfill=backfill, now=NOW)
    assert checker.window(request) == (date.fromisoformat(start), date(2026, 11, 23))


# --- assess ---------------------------------------------------------------------------


def sighting(day: str, subject: str = "Other", robocall: bool | None = False) -> Sighting:
    detail = {"subject": subject, "robocall": robocall, "violation_date": None}
    return Sighting(number=A, key=f"k-{day}-{subject}", occurred_at=day, detail=detail)


def rule_checker() -> FtcChecker:
    return FtcChecker(FtcSettings(flag_min_complaints=2, flag_window_days=7))


def test_assess_flags_enough_recent_complaints():
    obs = rule_checker().assess(
        A,
        [sighting("2026-11-19", "Imposters"), sighting("2026-11-22", "Imposters", True)],
        NOW,
    )
    assert obs.verdict is Verdict.FLAGGED
    assert obs.label == "Imposters"
    assert obs.category == "robocall"
    assert obs.url is None
    assert obs.evidence["complaints"] == 2
    assert obs.evidence["complaints_in_window"] == 2
    assert obs.evidence["last_reported"] == "2026-11-22"
    assert set(obs.evidence) == {
        "complaints",
        "complaints_in_window",
        "window_days",
        "first_reported",
        "last_reported",
        "robocall",
        "subjects",
    }


def test_assess_clean_with_old_or_too_few_complaints():
    old = rule_checker().assess(A, [sighting("2026-10-01"), sighting("2026-10-02")], NOW)
    assert old.verdict is Verdict.CLEAN
    assert old.evidence["complaints"] == 2 and old.evidence["complaints_in_window"] == 0
    one = rule_checker().assess(A, [sighting("2026-11-22")], NOW)
    assert one.verdict is Verdict.CLEAN and one.label is None
    none = rule_checker().assess(A, [], NOW)
    assert none.verdict is Verdict.CLEAN and none.evidence == {"complaints": 0}


def test_assess_non_nanp_is_unknown():
    obs = FtcChecker(FtcSettings()).assess("+442079460000", [], NOW)
    assert obs.verdict is Verdict.UNKNOWN
    assert obs.evidence == {"reason": NOT_COVERED}
    assert NOT_COVERED == "FTC data covers US/NANP numbers only"


def test_pull_then_assess_end_to_end(mirror: Path):
    chunks = pull_local(mirror)
    stored = [s for c in chunks for s in c.sightings if s.number == A]
    obs = FtcChecker(FtcSettings()).assess(A, stored, NOW)
    assert obs.verdict is Verdict.FLAGGED
    assert obs.evidence["complaints"] == 3


# --- plugin registration ------------------------------------------------------------


def test_registered_through_the_plugin_manager():
    from cidrep.plugins import get_checkers

    checker = get_checkers()["ftc"]
    assert checker is FtcChecker
    assert checker.shape == "feed" and checker.settings_model is FtcSettings
    assert "nothing about your numbers" in checker.disclosure


def test_url_mode_streams_a_big_file_through_the_session_in_bounded_chunks(tmp_path: Path):
    path = write_sample(tmp_path, date(2026, 11, 23), {A: 11_000, B: 10}, filler_rows=20_000)
    with LocalServer() as server:
        server.route(path_for("2026-11-23"), Reply(200, path.read_bytes()))
        chunks, error = url_pull(server, cursor="2026-11-22", done=WEEK_DONE | {"2026-11-22"})
    assert error is None
    assert [len(c.sightings) for c in chunks] == [5_000, 5_000, 1_010]
    assert [c.done for c in chunks] == [None, None, "2026-11-23"]
    assert sum(c.stats["rows"] for c in chunks) == 11_010 + 20_000 + 5
