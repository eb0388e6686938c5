"""Fault suite: a hostile, seeded loopback stand-in for the FCC, over 300 numbers, 3 runs.

The real ``fcc`` checker, the real HTTP session and the real runner and database talk
to a server on 127.0.0.1 that speaks the FCC's grouped-query contract but, at random
with a fixed seed, answers: 429 with Retry-After (seconds, HTTP date, and once longer
than ``retry_after_max``), 500/502/503, connection resets, hangs past the deadline,
truncated JSON, an HTML page with 200, a JSON object where a list belongs, rows with
wrong field types, and an oversized body. The fault of a request is a hash of (seed,
run, the batch's numbers, the attempt), so the suite is the same whatever the order in
which the worker threads arrive.

Must hold, run after run: every run completes; every number has a verdict or a
recorded error from that run; every verdict ever stored is the truth the server holds
(no fault ever becomes a verdict, so no false "clean"); an error never changes a
verdict; a Retry-After pauses the whole source, not only the request that got it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from fixtures_fcc import EXPECTED_GROUP, grouped
from localserver import LocalServer, Reply, Request

from cidrep.config import load_config
from cidrep.plugins import get_checkers, reset_cache
from cidrep.runner.engine import CheckOptions, run_cycle
from cidrep.store import open_db
from cidrep.store import state as state_store
from cidrep.store.numbers import NumberEntry, add_numbers

SEED = 20261123
RUNS = 3
NUMBERS = [f"+1202555{i:04d}" for i in range(1000, 1300)]  # 300 numbers
FLAGGED = {n for i, n in enumerate(NUMBERS) if i % 3 == 0}
TIMEOUT = 0.4

FAULTS = [  # (name, weight)
    ("ok", 44),
    ("429-seconds", 3),
    ("429-date", 2),
    ("500", 4),
    ("502", 3),
    ("503", 3),
    ("reset", 5),
    ("hang", 4),
    ("truncated", 6),
    ("html", 6),
    ("object", 6),
    ("wrong-types", 8),
    ("oversized", 6),
]


def _dashed(e164: str) -> str:
    d = e164[2:]
    return f"{d[:3]}-{d[3:6]}-{d[6:]}"


def _truth_rows() -> list[dict[str, str]]:
    """Two recent robocall complaints about every third number; none about the rest."""
    day = (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m-%dT00:00:00.000")
    return [
        {
            "issue_date": day,
            "issue": "Robocalls",
            "caller_id_number": _dashed(n),
            "type_of_call_or_messge": "Prerecorded Voice",
        }
        for n in sorted(FLAGGED)
        for _ in range(2)
    ]


class HostileFcc:
    def __init__(self) -> None:
        self.rows = _truth_rows()
        self.run = 0
        self.attempts: dict[tuple[int, str], int] = {}
        self.sent: list[tuple[float, str]] = []  # (monotonic time, fault) per answer
        self.arrivals: list[float] = []
        self.long_retry_after_sent = False
        self.lock = threading.Lock()

    def _fault(self, key: str) -> str:
        with self.lock:
            attempt = self.attempts.get((self.run, key), 0)
            self.attempts[(self.run, key)] = attempt + 1
        digest = hashlib.sha256(f"{SEED}|{self.run}|{key}|{attempt}".encode()).digest()
        point = int.from_bytes(digest[:4], "big") % sum(w for _, w in FAULTS)
        for name, weight in FAULTS:
            if point < weight:
                return name
            point -= weight
        raise AssertionError("unreachable")

    def __call__(self, request: Request) -> Reply:
        self.arrivals.append(time.monotonic())
        params = {k: v[0] for k, v in request.query.items()}
        assert params["$group"] == EXPECTED_GROUP
        asked = sorted(set(re.findall(r"'(\d{3}-\d{3}-\d{4})'", params["$where"])))
        key = ",".join(asked) + "|" + params["$offset"]
        fault = self._fault(key)
        if self.run == 2 and not self.long_retry_after_sent and fault != "ok":
            self.long_retry_after_sent = True  # once: longer than retry_after_max
            fault = "429-long"
        reply = self._reply(fault, asked, params)
        self.sent.append((time.monotonic(), fault))
        return reply

    def _reply(self, fault: str, asked: list[str], params: dict[str, str]) -> Reply:
        hits = [r for r in self.rows if r["caller_id_number"] in asked]
        offset, limit = int(params["$offset"]), int(params["$limit"])
        body = json.dumps(grouped(hits)[offset : offset + limit])
        if fault == "ok":
            return Reply(200, body, {"Content-Type": "application/json"})
        if fault == "429-seconds":
            return Reply(429, "", {"Retry-After": "1"})
        if fault == "429-date":
            when = datetime.now(UTC) + timedelta(seconds=2)
            return Reply(429, "", {"Retry-After": format_datetime(when, usegmt=True)})
        if fault == "429-long":
            return Reply(429, "", {"Retry-After": "3600"})
        if fault in ("500", "502", "503"):
            return Reply(int(fault), "upstream trouble")
        if fault == "reset":
            return Reply(reset=True)
        if fault == "hang":
            return Reply(200, chunks=[body.encode()], delay=TIMEOUT * 3)
        if fault == "truncated":
            return Reply(200, body[: max(1, len(body) // 2)] if len(body) > 2 else "[{")
        if fault == "html":
            return Reply(200, "<html><body>Service unavailable</body></html>")
        if fault == "object":
            return Reply(200, json.dumps({"data": json.loads(body)}))
        if fault == "wrong-types":
            rows = grouped(hits) or [{"caller_id_number": asked[0], "day": "x", "n": "1"}]
            broken = [
                {**rows[0], "day": 1700000000000},  # a date as epoch milliseconds
                {**rows[0], "n": {"value": 2}},  # a number field as an object
                {**rows[0], "caller_id_number": 2025551000},  # a phone as an integer
            ]
            return Reply(200, json.dumps(broken[int(asked[0][-1]) % 3 :]))
        if fault == "oversized":
            return Reply(200, "[" + ",".join(['{"n":"1"}'] * 4000) + "]")
        raise AssertionError(fault)


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", "cidrep_plugins.fcc")
    reset_cache()
    db = open_db(tmp_path / "faults.db")
    add_numbers(db, 1, [NumberEntry(n) for n in NUMBERS], "T")
    return db, tmp_path


def test_a_hostile_source_never_turns_a_fault_into_a_verdict(world):
    db, tmp_path = world
    hostile = HostileFcc()
    ids = {r["e164"]: r["id"] for r in db.query("SELECT id, e164 FROM numbers")}
    truth = {n: ("flagged" if n in FLAGGED else "clean") for n in NUMBERS}
    previous: dict[str, str | None] = dict.fromkeys(NUMBERS)
    started = time.monotonic()
    with LocalServer() as server:
        server.route("/resource/3xyp-aqkj.json", hostile)
        config = tmp_path / "c.toml"
        config.write_text(
            "[sources.fcc]\n"
            f'base_url = "{server.url}"\n'
            f'batch_size = 10\ntimeout = "{TIMEOUT}s"\nmax_attempts = 3\n'
            'backoff_initial = "0.01s"\nbackoff_max = "0.05s"\nretry_after_max = "3s"\n'
            'rate_limit = "1000/s"\nconcurrency = 4\nmax_response_bytes = "20KB"\n'
        )
        settings = load_config(config, get_checkers()).settings
        for run in range(RUNS):
            hostile.run = run
            now = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=run)
            result = run_cycle(db, settings, get_checkers(), CheckOptions(now=now, force=True))
            stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            states = state_store.load(db, "fcc", ids.values())
            for number in NUMBERS:
                state = states[ids[number]]
                assert state.last_checked == stamp, (run, number)  # a verdict or an error
                assert state.verdict in (None, truth[number]), (run, number, state)
                if state.verdict != previous[number]:
                    assert state.last_success == stamp, (run, number)  # only a success changes it
                previous[number] = state.verdict
            assert result.checks == len(NUMBERS)
    elapsed = time.monotonic() - started

    stored = {
        (r["e164"], r["verdict"])
        for r in db.query(
            "SELECT n.e164, o.verdict FROM observations o JOIN numbers n ON n.id = o.number_id"
        )
    }
    assert all(verdict in ("error", truth[n]) for n, verdict in stored)
    faults = {fault for _, fault in hostile.sent}
    assert faults >= {name for name, _ in FAULTS} | {"429-long"}, faults  # every fault was served
    assert sum(1 for v in previous.values() if v) > len(NUMBERS) // 2  # most got a real verdict
    errors = db.execute("SELECT count(*) FROM observations WHERE verdict = 'error'").fetchone()[0]
    assert errors > 0
    assert elapsed < 50, elapsed

    # A Retry-After of 1 s pauses the whole source: after it was sent, no new request
    # arrives for most of that second (requests already on the wire may land at once).
    pauses = [t for t, fault in hostile.sent if fault == "429-seconds"]
    assert pauses
    for sent in pauses:
        inside = [a for a in hostile.arrivals if sent + 0.15 < a < sent + 0.85]
        assert inside == [], (sent, inside)
