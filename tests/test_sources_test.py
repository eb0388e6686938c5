"""``cidrep sources test NAME [NUMBER]``: one real request to one source, shown with every
secret masked, its status, time and parsed answer, and nothing stored.

The CLI runs for real against a server on 127.0.0.1 (``localserver``); the masking and
exit-code rules of ``cidrep.check.probe`` are also tested on their own.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from clitools import cli_invoker
from localserver import LocalServer, Reply, Request

from cidrep.check.probe import DEFAULT_NUMBER, exit_code, lookup_status
from cidrep.check.recording import Exchange, masked_headers, masked_url
from cidrep.contract import Observation, Verdict
from cidrep.errors import ExitCode
from cidrep.redaction import Redactor

PLUGINS = "cidrep_plugins.ipqs,cidrep_plugins.twilio,cidrep_plugins.ftc"
# A key that URL-encoding changes: the raw and the %-encoded spelling must both be masked.
IPQS_KEY = "Zq8/IPQS+sekrit=KEY4711abcdef"
SID = "AC" + "0f1e2d3c4b5a6978" * 2
TOKEN = "tokZq8sekrit4711" * 2
BASIC = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
FTC_KEY = "ftcZq8sekrit-4711-key"
SECRETS = (IPQS_KEY, SID, TOKEN, BASIC, FTC_KEY)
A, A_DIGITS = "+18005550143", "18005550143"
FAST = 'rate_limit = "1000/s"\nmax_attempts = 2\nbackoff_initial = "0.01s"\nbackoff_max = "0.02s"\n'

IPQS_RISKY = {
    "success": True,
    "message": "Success.",
    "formatted": A,
    "valid": True,
    "fraud_score": 92,
    "recent_abuse": True,
    "VOIP": True,
    "prepaid": False,
    "risky": True,
    "active": True,
    "carrier": "Bandwidth",
    "line_type": "VOIP",
    "country": "US",
    "spammer": True,
    "request_id": "4WDY2lSb7y",
}


def leaks(text: str) -> list[str]:
    """The secrets found in ``text`` in any spelling that could show."""
    found = []
    for secret in SECRETS:
        forms = {secret, quote(secret, safe=""), quote(secret), json.dumps(secret)[1:-1]}
        if any(form in text for form in forms):
            found.append(secret)
    return found


def ipqs_path(digits: str) -> str:
    return f"/api/json/phone/{quote(IPQS_KEY, safe='')}/{digits}"


def ipqs_config(url: str, key: bool = True) -> str:
    text = f'[sources.ipqs]\nbase_url = "{url}"\n{FAST}'
    return text + (f'api_key = "{IPQS_KEY}"\n' if key else "")


def db_files(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(tmp_path.glob("cidrep.db*"))}


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    return cli_invoker(tmp_path, monkeypatch, PLUGINS)


# --- lookups: ipqs (key in the URL path), twilio (Authorization header) -------------


def test_ipqs_shows_the_request_with_the_path_key_masked_and_the_parsed_answer(cli, tmp_path):
    with LocalServer() as server:
        server.route(ipqs_path(A_DIGITS), Reply(200, json.dumps(IPQS_RISKY)))
        added = cli("numbers", "add", A, config_text=ipqs_config(server.url))
        assert added.exit_code == 0, added.output
        before = db_files(tmp_path)
        result = cli("sources", "test", "ipqs", "800-555-0143")
        as_json = cli("sources", "test", "ipqs", A, "--json")
        after = db_files(tmp_path)
        sent = [r.path for r in server.requests]
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"GET {server.url}/api/json/phone/***/{A_DIGITS}?strictness=0" in out
    assert "-> HTTP 200 in " in out and " ms" in out
    assert "verdict: flagged" in out and "score: 92" in out and "category: spam" in out
    assert "label: spammer, recent abuse, frequent abuse" in out
    assert "carrier: Bandwidth" in out and "cost units: 1" in out
    assert out.rstrip().endswith("OK")
    assert sent == [ipqs_path(A_DIGITS)] * 2  # one real request per test, key in the path
    assert leaks(out) == [] and leaks(as_json.output) == []
    # nothing stored: the database is byte-identical (no run, no observation)
    assert before and after == before

    data = json.loads(as_json.output)
    assert as_json.exit_code == 0
    assert set(data) == {
        "source",
        "shape",
        "status",
        "exit_code",
        "reason",
        "enabled",
        "number",
        "default_number",
        "requests",
        "observations",
        "cost_units",
        "feed",
    }
    assert (data["source"], data["shape"], data["status"], data["exit_code"]) == (
        "ipqs",
        "lookup",
        "ok",
        0,
    )
    assert (data["number"], data["default_number"], data["cost_units"]) == (A, False, 1.0)
    [request] = data["requests"]
    assert set(request) == {"method", "url", "headers", "status", "elapsed_ms", "retries", "error"}
    assert request["method"] == "GET" and request["status"] == 200 and request["error"] is None
    assert request["url"] == f"{server.url}/api/json/phone/***/{A_DIGITS}?strictness=0"
    assert isinstance(request["elapsed_ms"], int) and request["retries"] == 0
    assert request["headers"]["user-agent"].startswith("cidrep/")
    [obs] = data["observations"]
    assert obs["verdict"] == "flagged" and obs["score"] == 92 and obs["category"] == "spam"
    assert obs["evidence"]["carrier"] == "Bandwidth" and obs["carrier"] is None
    assert data["feed"] is None


def test_without_a_number_a_lookup_uses_the_default_test_number_even_if_disabled(cli, tmp_path):
    digits = DEFAULT_NUMBER[1:]
    invalid = {"success": True, "formatted": "N/A", "valid": False, "fraud_score": 100}
    with LocalServer() as server:
        server.route(ipqs_path(digits), Reply(200, json.dumps(invalid)))
        config = ipqs_config(server.url) + "enabled = false\n"
        result = cli("sources", "test", "ipqs", config_text=config)
        sent = [r.path for r in server.requests]
    assert result.exit_code == 0, result.output
    assert sent == [ipqs_path(digits)]
    assert "number: +1 202-555-0143 (default test number, fictional" in result.output
    assert "verdict: unknown" in result.output
    assert "disabled in config: `cidrep check` skips it; tested anyway" in result.output
    assert not tmp_path.joinpath("cidrep.db").exists()  # the database is never opened


def test_twilio_masks_the_authorization_header(cli, tmp_path):
    seen: list[str | None] = []

    def v2(request: Request) -> Reply:
        seen.append(request.headers.get("Authorization"))
        body = {
            "phone_number": "+12025550143",
            "country_code": "US",
            "valid": True,
            "validation_errors": [],
            "caller_name": {"caller_name": "ACME CORP", "caller_type": "BUSINESS"},
            "line_type_intelligence": {"carrier_name": "Verizon", "type": "landline"},
        }
        return Reply(200, json.dumps(body), {"Content-Type": "application/json"})

    config = (
        f'[sources.twilio]\nbase_url = "{{url}}"\naccount_sid = "{SID}"\n'
        f'auth_token = "{TOKEN}"\n{FAST}'
    )
    with LocalServer() as server:
        server.route("/v2/PhoneNumbers/%2B12025550143", v2)
        text = config.replace("{url}", server.url)
        result = cli("sources", "test", "twilio", "202-555-0143", config_text=text)
        as_json = cli("sources", "test", "twilio", "202-555-0143", "--json")
    assert result.exit_code == 0, result.output
    assert seen == [f"Basic {BASIC}"] * 2  # the real credential went to the server ...
    out = result.output
    assert "  authorization: Basic ***" in out  # ... and only its scheme is shown
    assert f"{server.url}/v2/PhoneNumbers/%2B12025550143?Fields=caller_name" in out
    assert "caller_name: ACME CORP" in out and "verdict: unknown" in out
    assert "cost units: 2" in out
    assert leaks(out) == [] and leaks(as_json.output) == []
    headers = json.loads(as_json.output)["requests"][0]["headers"]
    assert headers["authorization"] == "Basic ***"


# --- a feed: ftc in API mode, one page ------------------------------------------------


class DncApi:
    """The FTC DNC complaints endpoint: ``per_day`` filler records a day, 50 a page, and
    one complaint about ``A`` on ``first``."""

    def __init__(self, first: date, per_day: int) -> None:
        self.first = first
        self.per_day = per_day

    def __call__(self, request: Request) -> Reply:
        day = date.fromisoformat(request.query["created_date_from"][0].strip('"'))
        offset = int(request.query["offset"][0])
        phones = [f"415555{i:04d}" for i in range(self.per_day)]
        if day == self.first:
            phones.append(A_DIGITS[1:])
        records = [self.record(day, phone, i) for i, phone in enumerate(phones)]
        page = records[offset : offset + 50]
        body = {"data": page, "meta": {"records-this-page": len(page)}}
        return Reply(200, json.dumps(body), {"Content-Type": "application/json"})

    @staticmethod
    def record(day: date, phone: str, i: int) -> dict[str, Any]:
        attributes = {
            "company-phone-number": phone,
            "created-date": f"{day.isoformat()} 10:{i % 60:02d}:00",
            "violation-date": f"{day.isoformat()} 09:00:00",
            "consumer-city": "Earlysville",
            "consumer-state": "Virginia",
            "consumer-area-code": "434",
            "subject": "Imposters",
            "recorded-message-or-robocall": "Y",
        }
        return {"type": "dnc_complaint", "id": f"{day}-{i}", "attributes": attributes}


def ftc_config(url: str) -> str:
    return (
        f'[sources.ftc]\nmode = "api"\napi_key = "{FTC_KEY}"\nbase_url = "{url}/v0/"\n'
        f"lookback_days = 5\nflag_window_days = 5\n{FAST}"
    )


def test_ftc_api_reads_one_day_of_one_page_and_stores_nothing(cli, tmp_path):
    first = datetime.now(UTC).date() - timedelta(days=4)  # the lookback's first day
    with LocalServer() as server:
        server.route("/v0/dnc-complaints", DncApi(first, per_day=3))
        cli("numbers", "add", A, config_text=ftc_config(server.url))
        before = db_files(tmp_path)
        result = cli("sources", "test", "ftc", A)
        as_json = cli("sources", "test", "ftc", A, "--json")
        requests = list(server.requests)
        after = db_files(tmp_path)
    assert result.exit_code == 0, result.output
    assert len(requests) == 2  # one page per test: the first day had fewer than 50
    assert all(r.headers.get("X-Api-Key") == FTC_KEY for r in requests)
    out = result.output
    assert "  x-api-key: ***" in out
    assert f"created_date_from=%22{first.isoformat()}%22" in out
    assert "feed: first chunk read (nothing stored, cursor not moved)" in out
    assert "sightings of +1 800-555-0143: 1" in out and "rows: 4" in out
    assert '"subject": "Imposters"' in out
    assert leaks(out) == [] and leaks(as_json.output) == []
    assert after == before  # no sighting, no feed cursor, no done item stored
    feed = json.loads(as_json.output)["feed"]
    assert feed["chunks"] == 1 and feed["matched"] == 1 and feed["stopped"] is None
    assert feed["sightings"][0]["detail"]["subject"] == "Imposters"


def test_ftc_api_stops_after_the_first_full_page(cli, tmp_path):
    first = datetime.now(UTC).date() - timedelta(days=4)
    with LocalServer() as server:
        server.route("/v0/dnc-complaints", DncApi(first, per_day=120))  # three pages a day
        result = cli("sources", "test", "ftc", "--json", config_text=ftc_config(server.url))
        offsets = [r.query["offset"] for r in server.requests]
    assert result.exit_code == 0, result.output
    assert offsets == [["0"]]  # the second page is never asked for
    data = json.loads(result.output)
    assert data["number"] is None and data["requests"][0]["status"] == 200
    assert data["feed"]["stopped"].startswith("stopped after the first page")
    assert not tmp_path.joinpath("cidrep.db").exists()


# --- skipped, failing, bad input ------------------------------------------------------


def test_a_source_without_its_key_is_skipped_with_the_setting_to_fill(cli, tmp_path):
    with LocalServer() as server:
        result = cli("sources", "test", "ipqs", A, config_text=ipqs_config(server.url, key=False))
        as_json = cli("sources", "test", "ipqs", A, "--json")
        sent = list(server.requests)
    assert result.exit_code == ExitCode.USAGE == 2
    assert sent == []
    assert (
        "SKIPPED: no api_key configured: set sources.ipqs.api_key in the config file "
        "(or CIDREP_SOURCES__IPQS__API_KEY)" in result.output
    )
    data = json.loads(as_json.output)
    assert as_json.exit_code == 2 and data["status"] == "skipped" and data["requests"] == []


def test_twilio_names_every_missing_credential(cli):
    result = cli("sources", "test", "twilio", config_text="")
    assert result.exit_code == 2
    assert "SKIPPED: no account_sid and auth_token configured: set sources.twilio.account_sid" in (
        result.output
    )
    assert "CIDREP_SOURCES__TWILIO__AUTH_TOKEN" in result.output


def test_a_failing_server_is_one_line_and_exit_3(cli, tmp_path):
    echo = f"backend down for key {IPQS_KEY}"
    with LocalServer() as server:
        server.route(ipqs_path(A_DIGITS), Reply(503, echo))
        result = cli("sources", "test", "ipqs", A, config_text=ipqs_config(server.url))
        as_json = cli("sources", "test", "ipqs", A, "--json")
        attempts = len(server.requests)
    assert result.exit_code == ExitCode.SOURCE_ERRORS == 3, result.output
    assert attempts == 4  # max_attempts = 2, twice
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED: ")]
    assert len(failed) == 1 and "HTTP 503" in failed[0]
    assert "-> no response in " in result.output and "1 retry" in result.output
    assert "Traceback" not in result.output and leaks(result.output) == []
    data = json.loads(as_json.output)
    assert data["status"] == "failed" and data["exit_code"] == 3
    assert "HTTP 503" in data["requests"][0]["error"] and data["requests"][0]["status"] is None


def test_an_unreachable_server_is_one_line_and_exit_3(cli):
    with LocalServer() as server:
        url = server.url  # closed when the block ends: nothing listens there any more
    result = cli("sources", "test", "ipqs", A, config_text=ipqs_config(url))
    assert result.exit_code == 3, result.output
    [failed] = [line for line in result.output.splitlines() if line.startswith("FAILED: ")]
    assert "cannot reach 127.0.0.1" in failed
    assert "Traceback" not in result.output and leaks(result.output) == []


def test_a_number_the_source_does_not_cover_sends_nothing_and_is_not_ok(cli):
    config = f'[sources.twilio]\naccount_sid = "{SID}"\nauth_token = "{TOKEN}"\n'
    result = cli("sources", "test", "twilio", "+442079460123", config_text=config)
    assert result.exit_code == 2
    assert "no HTTP request sent" in result.output
    assert "UNTESTED: answered without sending a request (Twilio CNAM" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("sources", "test", "nope"), "error: unknown source 'nope' (known: "),
        (("sources", "test", "ipqs", "555-12"), "error: "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, args, message):
    with LocalServer() as server:
        result = cli(*args, config_text=ipqs_config(server.url))
        sent = list(server.requests)
    assert result.exit_code == 2
    assert result.stdout == "" and sent == []
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), lines
    assert not tmp_path.joinpath("cidrep.db").exists()


# --- the pure rules ---------------------------------------------------------------


def test_masked_url_masks_every_spelling_and_credential_parameters():
    redact = Redactor([IPQS_KEY])
    raw = f"https://h.example/api/{quote(IPQS_KEY, safe='')}/1?strictness=0"
    assert masked_url(raw, redact) == "https://h.example/api/***/1?strictness=0"
    assert masked_url(f"https://h/x?key={IPQS_KEY}&a=1", redact) == "https://h/x?key=***&a=1"
    unknown = "https://h/x?apikey=abc&Access_Token=t0k&page=2&partner=p"
    assert masked_url(unknown, Redactor()) == (
        "https://h/x?apikey=***&Access_Token=***&page=2&partner=p"
    )
    assert masked_url("https://me:pw@h/x", Redactor()) == "https://me:***@h/x"


def test_masked_headers_keep_the_scheme_and_mask_credential_headers():
    pairs = [
        ("authorization", f"Basic {BASIC}"),
        ("x-api-key", "abc"),
        ("loginId", "someone"),
        ("accept", "application/json"),
        ("x-echo", f"id {TOKEN}"),
    ]
    assert masked_headers(pairs, Redactor([TOKEN])) == {
        "authorization": "Basic ***",
        "x-api-key": "***",
        "loginId": "***",
        "accept": "application/json",
        "x-echo": "id ***",
    }


def test_exit_codes_follow_the_outcome():
    assert exit_code("ok") == ExitCode.OK
    assert exit_code("skipped") == ExitCode.USAGE
    assert exit_code("untested") == ExitCode.USAGE
    assert exit_code("failed") == ExitCode.SOURCE_ERRORS


def test_lookup_status_table():
    sent = [Exchange("GET", "https://h/", {}, 200)]
    clean = Observation(A, Verdict.CLEAN)
    error = Observation.failed(A, "boom")
    uncovered = Observation(A, Verdict.UNKNOWN, evidence={"reason": "US only"})
    assert lookup_status([], sent) == ("failed", "the source gave no answer")
    assert lookup_status([clean, error], sent) == ("failed", "boom")
    assert lookup_status([error], []) == ("failed", "boom")
    assert lookup_status([clean], sent) == ("ok", None)
    status, reason = lookup_status([uncovered], [])
    assert status == "untested" and "(US only)" in (reason or "")
