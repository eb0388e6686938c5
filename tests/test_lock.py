"""The run lock under contention, with two real processes.

The first ``cidrep check`` blocks inside a request to a local HTTP server; while it
holds the lock, a second one must exit at once with code 75 and a message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from localserver import LocalServer, Reply

TESTS = Path(__file__).parent


def cidrep(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cidrep", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_second_check_exits_75_while_first_holds_the_lock(tmp_path):
    release = threading.Event()
    arrived = threading.Event()

    def slow(_request):
        arrived.set()
        release.wait(timeout=60)
        return Reply(200, "ok")

    with LocalServer() as server:
        server.route("/slow", slow)
        config = tmp_path / "config.toml"
        config.write_text(
            f'[sources.fakefeed]\nenabled = false\n[sources.fake]\nping = "{server.url}/slow"\n'
        )
        env = {
            **os.environ,
            "CIDREP_CONFIG": str(config),
            "CIDREP_DB": str(tmp_path / "lock.db"),
            "CIDREP_LOAD_PLUGINS": "fake_sources",
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        }
        add = subprocess.run(
            [sys.executable, "-m", "cidrep", "numbers", "add", "202-555-0101"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert add.returncode == 0, add.stderr
        first = cidrep("check", env=env)
        try:
            assert arrived.wait(timeout=60), "first check never reached the server"
            started = time.monotonic()
            second = subprocess.run(
                [sys.executable, "-m", "cidrep", "check"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 75
            assert "another cidrep check is already running" in second.stderr
            assert f"pid {first.pid}" in second.stderr
            assert time.monotonic() - started < 30  # it did not wait for the first
            assert first.poll() is None  # the first is still running
        finally:
            release.set()
        _out, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
        # once released, the lock is free again
        third = subprocess.run(
            [sys.executable, "-m", "cidrep", "check", "--force"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert third.returncode == 0, third.stderr
