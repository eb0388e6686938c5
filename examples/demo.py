"""A real check cycle on local sample data, with alerts: no network, no API key.

Generates today's FTC-format complaint file into examples/demo/ftc/, writes a
config that reads it as an offline mirror (the FCC source, which needs the
network, is disabled) and sends alerts to a signed-webhook channel: a receiver
this script starts on 127.0.0.1, which checks each signature the way README
"Webhook payload" shows. Imports examples/numbers.csv, runs `cidrep check` (two
numbers flagged: two alerts delivered), `cidrep check` again (nothing changed:
no output, no alert), then `status`, `report`, `alerts list` and `channels list`.
Exits non-zero unless all of that happened, so it doubles as a smoke test.

    python examples/demo.py
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from cidrep_plugins.ftc.sample import write_sample

HERE = Path(__file__).resolve().parent
WORK = HERE / "demo"

# Two of the four sample numbers drew complaints in the last few days; the other
# two must come out clean, so the generated filler complaints never name them.
COMPLAINTS = {"+12025550143": 3, "+13125550110": 1}
ROBOCALLS = {"+12025550143"}
CLEAN = {"+12025550178", "+13125550199"}
SECRET = "demo-secret-0123456789abcdef"  # the webhook's HMAC key (a real one: random)


def verify(secret: bytes, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (README "Webhook payload"): recompute the HMAC-SHA256 of
    "<t>.<body>" and compare in constant time; refuse old timestamps (replays)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    t, sent = fields.get("t", ""), fields.get("v1", "")
    if not t.isdigit() or abs(time.time() - int(t)) > tolerance:
        return False
    expected = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, sent)


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver standing in for the user's endpoint (Slack, SIEM, ...)."""

    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        signature = self.headers.get("X-Cidrep-Signature", "")
        Receiver.received.append(
            {
                "alert": json.loads(body),
                "key": self.headers.get("X-Cidrep-Idempotency-Key"),
                "verified": verify(SECRET.encode(), signature, body),
            }
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def cidrep(*args: str, config: Path, show: bool = True) -> subprocess.CompletedProcess[str]:
    if show:
        print(f"\n$ cidrep {' '.join(args)}", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIDREP_")}
    env["CIDREP_CONFIG"] = str(config)
    result = subprocess.run(
        [sys.executable, "-m", "cidrep", *args], env=env, capture_output=True, text=True
    )
    if show:
        print(result.stdout, end="")
        print(result.stderr, end="", file=sys.stderr)
        print(f"[exit code {result.returncode}]")
    return result


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "ftc").mkdir(parents=True)
    today = datetime.now(UTC).date()
    sample = write_sample(
        WORK / "ftc", today, COMPLAINTS, robocall=ROBOCALLS, junk_rows=6, clean=CLEAN
    )
    print(f"generated {sample.relative_to(HERE.parent)}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver_url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cidrep"
    print(f"webhook receiver listening on {receiver_url}")
    config = WORK / "config.toml"
    config.write_text(
        f'db = "{(WORK / "cidrep.db").as_posix()}"\n\n'
        "[sources.ftc]\n"
        f'path = "{(WORK / "ftc").as_posix()}"  # offline mirror instead of www.ftc.gov\n\n'
        "[sources.fcc]\n"
        "enabled = false  # needs the network\n\n"
        "[channels.local]\n"
        'type = "webhook"\n'
        f'url = "{receiver_url}"\n'
        f'secret = "{SECRET}"\n'
    )
    config.chmod(0o600)

    cidrep("numbers", "import", str(HERE / "numbers.csv"), config=config)
    check = cidrep("check", config=config)
    delivered = list(Receiver.received)
    for got in delivered:
        alert = got["alert"]
        print(
            f"  receiver got {alert['kind']!r}: {alert['title']} "
            f"(signature {'verified' if got['verified'] else 'INVALID'}, key {got['key'][:8]}...)"
        )
    again = cidrep("check", config=config)
    cidrep("status", config=config)
    cidrep("report", "202-555-0143", config=config)
    cidrep("alerts", "list", config=config)
    cidrep("channels", "list", config=config)
    cidrep("privacy", config=config)
    server.shutdown()

    status = json.loads(cidrep("status", "--json", config=config, show=False).stdout)["numbers"]
    verdicts = {n["number"]: n["verdict"] for n in status}
    expected = {**{n: "flagged" for n in COMPLAINTS}, **{n: "clean" for n in CLEAN}}
    alerted = {got["alert"]["number"] for got in delivered if got["alert"]["kind"] == "flagged"}
    problems = []
    if check.returncode != 1 or verdicts != expected:
        problems.append(f"verdicts: expected {expected}, got {verdicts}")
    if alerted != set(COMPLAINTS) or len(delivered) != len(COMPLAINTS):
        problems.append(f"alerts: expected one per flagged number, got {len(delivered)}")
    if not all(got["verified"] for got in delivered):
        problems.append("a webhook signature did not verify")
    if again.stdout or len(Receiver.received) != len(delivered):
        problems.append("the unchanged second check printed or sent something")
    if problems:
        print("\ndemo FAILED: " + "; ".join(problems), flush=True)
        return 1
    print(
        "\ndemo OK: 2 numbers flagged by the FTC feed, 2 clean; 2 signed alerts delivered "
        "once each; the unchanged re-run said nothing",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
