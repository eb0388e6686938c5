"""SIGKILL part-way through a run: the database stays sound and the next run finishes.

A real ``cidrep check`` checks 40 numbers one request at a time against a loopback
server that answers slowly; it is killed with SIGKILL after the writer's time-based
commit has stored some results. Then: ``PRAGMA integrity_check`` is ok, there are no
duplicate history rows, the lock is free, the killed run is marked abandoned, and the
next run checks exactly the numbers the killed one had not stored.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from localserver import LocalServer, Reply

NUMBERS = [f"+1202555{i:04d}" for i in range(100, 140)]
DELAY = 0.15


def _env(tmp_path: Path, config: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(config)
    return {
        **os.environ,
        "CIDREP_CONFIG": str(path),
        "CIDREP_DB": str(tmp_path / "k.db"),
        "CIDREP_LOAD_PLUGINS": "fake_sources",
        "PYTHONPATH": str(Path(__file__).parent),
    }


def _stored(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM source_state").fetchone()[0]
    finally:
        conn.close()


def test_sigkill_mid_run_leaves_a_sound_database_and_the_next_run_completes(tmp_path):
    def slow(_request):
        time.sleep(DELAY)
        return Reply(200, "ok")

    with LocalServer() as server:
        server.route("/slow", slow)
        config = (
            "[sources.fakefeed]\nenabled = false\n"
            f'[sources.fake]\nping = "{server.url}/slow"\nconcurrency = 1\nrate_limit = "100/s"\n'
        )
        env = _env(tmp_path, config)
        run = [sys.executable, "-m", "cidrep"]
        subprocess.run([*run, "numbers", "add", *NUMBERS], env=env, check=True, timeout=60)
        db = tmp_path / "k.db"
        first = subprocess.Popen(
            [*run, "check"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        while _stored(db) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)  # the writer commits every 2 s, not only every 500 rows
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = _stored(db)
        assert 0 < killed_at < len(NUMBERS), killed_at

        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT number_id, source, count(*) c FROM observations"
            " GROUP BY number_id, source HAVING c > 1)"
        ).fetchone()[0]
        assert dupes == 0
        assert conn.execute("SELECT status FROM runs").fetchone()[0] == "running"
        conn.close()

        requests_before = len(server.requests)
        second = subprocess.run(
            [*run, "check"], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 0, second.stderr  # the lock was free
        assert len(server.requests) - requests_before == len(NUMBERS) - killed_at

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    statuses = [r[0] for r in conn.execute("SELECT status FROM runs ORDER BY id")]
    assert statuses == ["abandoned", "finished"]
    assert conn.execute("SELECT count(*) FROM source_state").fetchone()[0] == len(NUMBERS)
    assert conn.execute("SELECT count(*) FROM observations").fetchone()[0] == len(NUMBERS)
    conn.close()
