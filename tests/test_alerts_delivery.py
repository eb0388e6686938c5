"""Alerts end to end through ``cidrep check``: a real HTTP server on 127.0.0.1 stands in
for Slack and for a webhook receiver. Success, throttling, a failing receiver that
recovers, a permanent failure, a flapping number, mute/unmute, and a SIGKILL between
send and record: each alert is delivered once (at most twice after a kill, with one
idempotency key), and an unchanged re-run says and sends nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clitools import cli_invoker
from localserver import LocalServer, Reply

A, B = "+12025550101", "+12025550102"
HOOK = "/services/T0/B0/hooksecretpart"
PLUGINS = "fake_sources,cidrep_plugins.slack,cidrep_plugins.webhook"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    return cli_invoker(tmp_path, monkeypatch, PLUGINS)


def config(url: str, flag: list[str], extra: str = "") -> str:
    return (
        "[sources.fakefeed]\nenabled = false\n"
        f"[sources.fake]\nflag = {json.dumps(flag)}\nconfirm_after = 1\nrecover_after = 1\n"
        f'[channels.ops]\ntype = "slack"\nurl = "{url}{HOOK}"\n' + extra
    )


def posts(server: LocalServer) -> list:
    return [r for r in server.requests if r.method == "POST"]


def deliveries(tmp_path: Path) -> list[dict]:
    conn = sqlite3.connect(tmp_path / "cidrep.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM deliveries ORDER BY id")]
    finally:
        conn.close()


def test_a_flag_is_delivered_once_and_an_unchanged_rerun_says_nothing(cli, tmp_path):
    with LocalServer() as server:
        server.route(HOOK, Reply(200, "ok"))
        cli("numbers", "add", A, B)
        first = cli("check", config_text=config(server.url, [A]))
        assert first.exit_code == 1
        assert first.output.startswith("FLAGGED ") and "-> ops" in first.output
        assert len(posts(server)) == 1
        sent = posts(server)[0]
        body = json.loads(sent.body)
        assert body["blocks"] and "+1 202-555-0101" in body["text"]
        key = sent.headers["X-Cidrep-Idempotency-Key"]
        assert [d["status"] for d in deliveries(tmp_path)] == ["delivered"]

        again = cli("check", "--force")
        assert again.exit_code == 1 and again.output == ""
        assert len(posts(server)) == 1
        listed = json.loads(cli("alerts", "list", "--json").output)
        assert [a["kind"] for a in listed if a["kind"] != "confirmed"] == ["flagged"]
        assert listed[0]["key"] == key and listed[0]["deliveries"][0]["status"] == "delivered"


def test_429_retry_after_is_waited_within_the_run_or_left_for_a_later_one(cli, tmp_path):
    answers = [Reply(429, "rate_limited", {"Retry-After": "1"}), Reply(200, "ok")]
    with LocalServer() as server:
        server.route(HOOK, lambda _r: answers.pop(0) if answers else Reply(200, "ok"))
        cli("numbers", "add", A)
        started = time.monotonic()
        result = cli("check", config_text=config(server.url, [A]))
        assert time.monotonic() - started >= 1.0  # the Retry-After was honoured
        assert len(posts(server)) == 2 and "DELIVERY FAILING" not in result.output
        assert deliveries(tmp_path)[0]["status"] == "delivered"

        answers.extend([Reply(429, "rate_limited", {"Retry-After": "3600"})])
        cli("check", "--force", config_text=config(server.url, []))  # cleared: a new alert
        row = deliveries(tmp_path)[1]
        assert row["status"] == "pending" and "retry after 3600s" in row["last_error"]
        assert row["next_try"] > row["created_at"]
        count = len(posts(server))
        cli("check")  # the hour has not passed: nothing is sent
        assert len(posts(server)) == count


def test_500_on_one_run_then_recovery_delivers_exactly_once(cli, tmp_path):
    failing = {"on": True}
    with LocalServer() as server:
        server.route(
            HOOK, lambda _r: Reply(500, "rollup_error") if failing["on"] else Reply(200, "ok")
        )
        cli("numbers", "add", A)
        text = config(server.url, [A], '[alerts]\nretry_initial = "1s"\n')
        first = cli("check", config_text=text)
        assert "DELIVERY FAILING ops:" in first.output and "retrying after" in first.output
        assert deliveries(tmp_path)[0]["status"] == "pending"
        failing["on"] = False
        time.sleep(1.1)  # the backoff
        second = cli("check")
        assert second.output == ""  # no new change, and the delivery went through
        cli("check")
        keys = [r.headers["X-Cidrep-Idempotency-Key"] for r in posts(server)]
        assert len(keys) == 2 and len(set(keys)) == 1  # one failed try, one delivery
        row = deliveries(tmp_path)[0]
        assert row["status"] == "delivered" and row["attempts"] == 2


def test_404_is_permanent_and_the_channel_shows_failing(cli, tmp_path):
    with LocalServer() as server:
        server.route(HOOK, Reply(404, "no_service"))
        cli("numbers", "add", A)
        result = cli("check", config_text=config(server.url, [A]))
        assert "DELIVERY FAILING ops:" in result.output and "permanent" in result.output
        assert deliveries(tmp_path)[0]["status"] == "failed"
        status = cli("status").output
        assert "channel ops (slack) failing" in status and "no_service" in status
        listed = json.loads(cli("channels", "list", "--json").output)
        assert listed[0]["health"] == "failing" and listed[0]["permanent"] is True
        assert "hooksecretpart" not in status + json.dumps(listed)
        cli("check", "--force")
        assert len(posts(server)) == 1  # a failed delivery is never retried


def test_a_flapping_number_sends_one_notice_then_holds(cli, tmp_path):
    with LocalServer() as server:
        server.route(HOOK, Reply(200, "ok"))
        cli("numbers", "add", A)
        kinds = []
        for i in range(8):
            flagged = [A] if i % 2 == 0 else []
            cli("check", "--force", config_text=config(server.url, flagged))
        for request in posts(server):
            kinds.append(json.loads(request.body)["text"])
        # flap_max = 3: three per-flip alerts, the fourth flip is one "flapping"
        # notice, then nothing until the number has been stable for a day.
        assert len(kinds) == 4
        assert "flapping" in kinds[3]
        held = [a for a in json.loads(cli("alerts", "list", "--json").output) if a["held"]]
        assert len(held) == 5 and all(a["deliveries"] == [] for a in held)


def test_mute_then_unmute_with_the_state_unchanged_sends_nothing(cli, tmp_path):
    calm = "[alerts]\nflap_max = 10\n"  # four flips here: not flapping

    with LocalServer() as server:
        server.route(HOOK, Reply(200, "ok"))
        cli("numbers", "add", A, B)
        cli("check", config_text=config(server.url, [A], calm))
        assert len(posts(server)) == 1
        assert "muted 1 number(s)" in cli("mute", A, "--for", "6h").output
        cli("check", "--force", config_text=config(server.url, [], calm))  # cleared: held
        cli("check", "--force", config_text=config(server.url, [A], calm))  # flagged: held
        assert len(posts(server)) == 1
        out = cli("unmute", A).output
        assert "0 alert(s)" in out and len(posts(server)) == 1  # same as last announced

        cli("mute", A, "--for", "6h")
        cli("check", "--force", config_text=config(server.url, [], calm))  # cleared while muted
        out = cli("unmute", A).output
        assert "1 alert(s)" in out and "CLEARED" in out
        assert (
            len(posts(server)) == 2 and "after a mute" in json.loads(posts(server)[1].body)["text"]
        )


def test_sigkill_between_send_and_record_resends_at_most_once_with_one_key(tmp_path):
    path = tmp_path / "config.toml"
    env = {
        **os.environ,
        "CIDREP_CONFIG": str(path),
        "CIDREP_DB": str(tmp_path / "cidrep.db"),
        "CIDREP_LOAD_PLUGINS": PLUGINS,
        "PYTHONPATH": str(Path(__file__).parent),
    }
    run = [sys.executable, "-m", "cidrep"]
    victim: dict[str, subprocess.Popen] = {}

    def receive(_request):
        proc = victim.pop("proc", None)
        if proc is not None:  # the first delivery: the sender dies before recording it
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        return Reply(200, "ok")

    with LocalServer() as server:
        server.route(HOOK, receive)
        path.write_text(config(server.url, [A]))
        subprocess.run([*run, "numbers", "add", A, B], env=env, check=True, timeout=60)
        victim["proc"] = proc = subprocess.Popen([*run, "check"], env=env)
        assert proc.wait(timeout=60) == -signal.SIGKILL
        assert [d["status"] for d in deliveries(tmp_path)] == ["sending"]

        again = subprocess.run([*run, "check"], env=env, capture_output=True, text=True)
        assert again.returncode == 1, again.stderr
        subprocess.run([*run, "check"], env=env, capture_output=True, timeout=60)
        keys = [r.headers["X-Cidrep-Idempotency-Key"] for r in posts(server)]
        assert len(keys) == 2 and len(set(keys)) == 1
        row = deliveries(tmp_path)[0]
        assert row["status"] == "delivered" and "re-sent" in row["last_error"]
