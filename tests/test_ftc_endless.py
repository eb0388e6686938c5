"""A local FTC path that never ends (a FIFO, a device) ends the pull with a SourceError:
``max_response_bytes`` applies to local files too, and a record cannot grow forever."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from localserver import LocalServer, Reply

from cidrep.contract import FeedRequest, SourceError
from cidrep.runner.http import HttpSession
from cidrep_plugins.ftc.checker import FtcChecker, FtcSettings
from cidrep_plugins.ftc.csvfile import FTC_HEADER
from cidrep_plugins.ftc.sample import write_sample

A = "+12025550143"
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
NAME = "DNC_Complaint_Numbers_2026-11-20.csv"
ROW = b"3125550000,2026-11-19 10:00:00,,Austin,Texas,512,Other,N\n"  # not monitored

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")


def pull(settings: FtcSettings) -> list:
    request = FeedRequest(None, frozenset({A}), True, NOW)

    async def run() -> list:
        return [chunk async for chunk in FtcChecker(settings).pull(request, http=None)]

    return asyncio.run(asyncio.wait_for(run(), timeout=60))  # a hang is a failure too


def endless_writer(fifo: Path) -> threading.Thread:
    """A thread writing valid FTC rows into ``fifo`` until the reader goes away."""

    def write() -> None:
        try:
            with fifo.open("wb") as out:
                out.write((",".join(FTC_HEADER) + "\n").encode())
                while True:
                    out.write(ROW * 1000)
        except (BrokenPipeError, ValueError, OSError):
            return

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@needs_fifo
def test_a_fifo_that_never_ends_stops_at_max_response_bytes(tmp_path: Path):
    fifo = tmp_path / NAME
    os.mkfifo(fifo)
    writer = endless_writer(fifo)
    with pytest.raises(SourceError) as err:
        pull(FtcSettings(path=fifo, max_response_bytes="3MB"))
    assert str(err.value) == (
        f"FTC file {NAME} is larger than max_response_bytes (3.0MB); "
        "raise it if the file is really that big"
    )
    writer.join(timeout=10)
    assert not writer.is_alive()  # the reader closed the FIFO: nothing is left hanging


@needs_dev_zero
def test_dev_zero_behind_a_csv_name_stops_at_the_cap(tmp_path: Path):
    link = tmp_path / NAME
    link.symlink_to("/dev/zero")
    with pytest.raises(SourceError, match=r"larger than max_response_bytes \(500.0KB\)"):
        pull(FtcSettings(path=link, max_response_bytes="500kB"))


@needs_dev_zero
def test_dev_zero_with_the_default_cap_stops_at_the_record_bound(tmp_path: Path):
    link = tmp_path / NAME
    link.symlink_to("/dev/zero")
    with pytest.raises(SourceError, match=rf"{NAME}, line 1: a record longer than 1,000,000"):
        pull(FtcSettings(path=link))


def test_a_regular_file_over_the_cap_is_refused_and_under_it_read(tmp_path: Path):
    path = write_sample(tmp_path, NOW.date(), {A: 3}, filler_rows=2_000)
    size = path.stat().st_size
    with pytest.raises(SourceError, match="max_response_bytes"):
        pull(FtcSettings(path=path, max_response_bytes=size - 1))
    chunks = pull(FtcSettings(path=path, max_response_bytes=size))
    assert sum(len(c.sightings) for c in chunks) == 3


@needs_fifo
def test_a_mirror_folder_reads_regular_files_only(tmp_path: Path):
    os.mkfifo(tmp_path / NAME)  # nobody writes it: opening it would block forever
    (tmp_path / "DNC_Complaint_Numbers_2026-11-19.csv").symlink_to("/dev/zero")
    write_sample(tmp_path, NOW.date(), {A: 2})
    chunks = pull(FtcSettings(path=tmp_path))
    assert [(c.done, len(c.sightings)) for c in chunks] == [("2026-11-23", 2)]


DONE = {"2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"}


def test_url_mode_file_over_max_response_bytes_is_a_source_error(tmp_path: Path):
    body = write_sample(tmp_path, NOW.date(), {A: 1}, filler_rows=5_000).read_bytes()
    settings = FtcSettings(
        lookback_days=4, flag_window_days=4, max_response_bytes=len(body) - 1, rate_limit="1000/s"
    )
    with LocalServer() as server:
        server.route("/files/DNC_Complaint_Numbers_2026-11-23.csv", Reply(200, body))
        settings = settings.model_copy(update={"base_url": server.url + "/files/"})
        request = FeedRequest("2026-11-22", frozenset({A}), False, NOW, frozenset(DONE))

        async def run():
            http = HttpSession("ftc", settings)
            try:
                return [c async for c in FtcChecker(settings).pull(request, http)]
            finally:
                await http.aclose()

        with pytest.raises(SourceError, match="max_response_bytes"):
            asyncio.run(run())
