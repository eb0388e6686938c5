"""An FTC source that finds no file at all over a window that should have some is an
error, not a run of false "clean" verdicts (the FTC has moved its files before)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from localserver import LocalServer

from cidrep.contract import FeedRequest, SourceError
from cidrep.runner.http import HttpSession
from cidrep_plugins.ftc.checker import FtcChecker, FtcSettings
from cidrep_plugins.ftc.sample import write_sample

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday
NUMBER = "+12025550143"


def pull(settings: FtcSettings, cursor: str | None, backfill: bool = False) -> list:
    checker = FtcChecker(settings)
    request = FeedRequest(cursor, frozenset({NUMBER}), backfill, NOW)

    async def go() -> list:
        session = HttpSession("ftc", settings)
        try:
            return [chunk async for chunk in checker.pull(request, session)]
        finally:
            await session.aclose()

    return asyncio.run(go())


def test_url_mode_all_404_over_a_week_is_an_error():
    with LocalServer() as server:  # serves nothing: every file is a 404
        settings = FtcSettings(base_url=server.url + "/files/", rate_limit="1000/s")
        with pytest.raises(SourceError, match=r"no FTC file found .* \(\d+ weekdays\) at 127\.0"):
            pull(settings, cursor=None)
        assert len(server.requests) == 30


def test_url_mode_only_today_missing_is_normal():
    with LocalServer() as server:
        settings = FtcSettings(base_url=server.url + "/files/", rate_limit="1000/s")
        assert pull(settings, cursor="2026-11-19") == []  # today's file not out yet
        assert pull(settings, cursor="2026-11-17") == []  # Wed, Thu missing: 2 weekdays


def test_folder_mode_empty_mirror_is_an_error_but_a_dated_file_is_fine(tmp_path):
    settings = FtcSettings(path=tmp_path)
    with pytest.raises(SourceError, match="no FTC file found"):
        pull(settings, cursor=None)
    write_sample(tmp_path, NOW.date(), {NUMBER: 1})
    chunks = pull(settings, cursor=None)
    assert [c.cursor for c in chunks] == ["2026-11-20"]
    assert [s.number for s in chunks[0].sightings] == [NUMBER]
