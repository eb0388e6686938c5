"""Loopback stand-ins for every source of ``DEFAULT_PLUGINS`` at once: the mixed run.

Each lookup source gets a ``LocalServer`` of its own speaking that source's contract,
with the answer shapes of the source's own test module (``test_ipqs``, ``test_tellows``,
...). Each monitored number gets what ``PLAN`` says for that source: flagged, clean,
or an error for that source only (a malformed body or an HTTP 500, by source). The
``ftc`` feed's server is down: its ``base_url`` names a port that is bound but not
listening, so every connection is refused.

Every server checks its source's fake credential and refuses without it, so a
verdict proves the credential travelled; some error answers echo the credential back
(as real servers do), and the tests check that none was stored or printed.
``asked[source]`` lists the numbers each server was asked about, one entry per
request (a retried 500 shows twice).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import test_ipqs as ipqs
import test_tellows as tellows
import test_telnyx as telnyx
import test_trustcall as trustcall
import test_twilio as twilio
import test_usacallerlookup as ucl
from fixtures_fcc import FakeSocrata, row
from localserver import LocalServer, Reply, Request

from cidrep_plugins.twilio.settings import basic_credentials

# Six numbers in E.164 order (the order due numbers are checked in).
NUMBERS: tuple[str, ...] = (
    "+12025550143",
    "+13125550188",
    "+13862847537",
    "+16175550121",
    "+16282017751",
    "+17867056421",
)
N0, N1, N2, N3, N4, N5 = NUMBERS
FLAGGED, CLEAN, ERROR = "flagged", "clean", "error"

# Per lookup source: the numbers that are not clean. Every source flags some numbers,
# finds others clean, and fails on exactly one number (a different one per source).
PLAN: dict[str, dict[str, str]] = {
    "ipqs": {N0: FLAGGED, N3: FLAGGED, N5: ERROR},  # malformed: HTML in a 200
    "tellows": {N1: FLAGGED, N4: ERROR},  # HTTP 500
    "telnyx": {N2: FLAGGED, N0: ERROR},  # malformed: cut-off JSON
    "twilio": {N3: FLAGGED, N1: ERROR},  # HTTP 500 from Lookup v2
    "usacallerlookup": {N4: FLAGGED, N2: ERROR},  # an error object in a 200
    "trustcall": {N5: FLAGGED, N2: FLAGGED, N3: ERROR},  # N3: an unreadable CurrScore
    "fcc": {N1: FLAGGED, N5: FLAGGED, N2: ERROR},  # HTTP 500 for N2's query
}
DOWN = "ftc"  # connection refused for everything

# TrustCall: N2 is clean overall but T-Mobile flags it (the carrier's flag wins); N0
# is clean but T-Mobile's value is unreadable (an error on that carrier only).
CARRIERS = ("Verizon", "AT&T", "T-Mobile", "RoboKiller", "Nomorobo")
CARRIER_ONLY_FLAG = (N2, "T-Mobile")
CARRIER_ERROR = (N0, "T-Mobile")

# Fake credentials, one per source (twilio's SID must look like one).
IPQS_KEY = "mixIPQSkey0sekrit4711abcd"
TELLOWS_PARTNER = "mix-partner-0815sekrit"
TELLOWS_KEY = "mixTellowsKey-sekrit-42"
TELNYX_KEY = "KEYmixTelnyx0sekrit99xyz"
TWILIO_SID = "AC" + "9a8b7c6d5e4f3a2b" * 2
TWILIO_TOKEN = "mixTwilioTok0sekrit" * 2
UCL_PASSWORD = "mixProxyPass-sekrit-77"
TRUSTCALL_LOGIN = "mixTrustcallLoginSEKRIT01"
FCC_TOKEN = "mixFccAppToken0sekrit"
FTC_KEY = "mixFtcApiKey0sekrit31"
SECRETS: tuple[str, ...] = (
    IPQS_KEY,
    TELLOWS_PARTNER,
    TELLOWS_KEY,
    hashlib.md5(TELLOWS_KEY.encode(), usedforsecurity=False).hexdigest(),
    TELNYX_KEY,
    TWILIO_SID,
    TWILIO_TOKEN,
    basic_credentials(TWILIO_SID, TWILIO_TOKEN),
    UCL_PASSWORD,
    base64.b64encode(f"proxyuser:{UCL_PASSWORD}".encode()).decode(),
    TRUSTCALL_LOGIN,
    FCC_TOKEN,
    FTC_KEY,
)

# Fast retries for every source: a 500 or a refused connection costs milliseconds.
FAST = 'rate_limit = "1000/s"\nbackoff_initial = "0.01s"\nbackoff_max = "0.05s"\nmax_attempts = 2\n'
JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html; charset=UTF-8"}
TELNYX_BASE = f"/v2/enterprises/{telnyx.ENT}/reputation"
FCC_PATH = "/resource/3xyp-aqkj.json"


def expected(source: str, number: str) -> str:
    """The source-level verdict ``PLAN`` gives ``number`` at ``source``."""
    return PLAN[source].get(number, CLEAN)


def leaked(blob: str | bytes) -> list[str]:
    """The fake credentials that show up in ``blob``, whole or their first 12
    characters (a cut message), in any letter case."""
    data = (blob.encode() if isinstance(blob, str) else blob).lower()
    return [s for s in SECRETS if s[:12].lower().encode() in data]


def _json(body: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(body), JSON)


class MixedWorld:
    """Every lookup source's server, and a closed port for the source that is down."""

    def __init__(self) -> None:
        self.servers = {name: LocalServer() for name in PLAN}
        self.asked: dict[str, list[str]] = {name: [] for name in PLAN}
        self.fcc_rows = [
            row(f"row-{i:04d}", _days_ago(10), caller=_dashed(number))
            for i, number in enumerate(n for n, v in PLAN["fcc"].items() if v == FLAGGED)
        ]
        # Bound, never listening: connecting is refused, and no other process can
        # take the port while the test runs.
        self._closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._closed.bind(("127.0.0.1", 0))

    @property
    def closed_port(self) -> int:
        return int(self._closed.getsockname()[1])

    def __enter__(self) -> MixedWorld:
        for server in self.servers.values():
            server.__enter__()
        self._route()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers.values():
            server.__exit__(*exc)
        self._closed.close()

    def url(self, source: str) -> str:
        return self.servers[source].url

    def config(self, **extra: dict[str, object]) -> str:
        """The config.toml: every source at its server with its fake credential, fast
        retries; ``extra[source]`` adds options (e.g. ``daily_budget``)."""
        host = self.url("usacallerlookup").removeprefix("http://")
        sections = {
            "ipqs": f'base_url = "{self.url("ipqs")}"\napi_key = "{IPQS_KEY}"\n',
            "tellows": (
                f'base_url = "{self.url("tellows")}"\npartner = "{TELLOWS_PARTNER}"\n'
                f'api_key = "{TELLOWS_KEY}"\n'
            ),
            "telnyx": (
                f'base_url = "{self.url("telnyx")}/v2"\napi_key = "{TELNYX_KEY}"\n'
                f'enterprise_id = "{telnyx.ENT}"\n'
            ),
            "twilio": (
                f'base_url = "{self.url("twilio")}"\naccount_sid = "{TWILIO_SID}"\n'
                f'auth_token = "{TWILIO_TOKEN}"\nnomorobo_spamscore = true\n'
            ),
            "usacallerlookup": (
                "enabled = true\n"
                f'base_url = "http://proxyuser:{UCL_PASSWORD}@{host}/wp-json/ucl/v1"\n'
            ),
            "trustcall": (
                f'base_url = "{self.url("trustcall")}/v1.5/TrustCall"\n'
                f'login_id = "{TRUSTCALL_LOGIN}"\n'
            ),
            "fcc": f'base_url = "{self.url("fcc")}"\napp_token = "{FCC_TOKEN}"\nbatch_size = 1\n',
            "ftc": (
                f'mode = "api"\napi_key = "{FTC_KEY}"\n'
                f'base_url = "http://127.0.0.1:{self.closed_port}/v0/"\n'
                "lookback_days = 3\nflag_window_days = 3\n"
            ),
        }
        text = ""
        for name, body in sections.items():
            more = "".join(f"{k} = {v}\n" for k, v in extra.get(name, {}).items())
            text += f"[sources.{name}]\n{body}{FAST}{more}\n"
        return text

    # -- the servers ---------------------------------------------------------------

    def _route(self) -> None:
        s = self.servers
        for number in NUMBERS:
            digits = number[1:]
            one = self._one
            s["ipqs"].route(f"/api/json/phone/{IPQS_KEY}/{digits}", one("ipqs", number, _ipqs))
            s["tellows"].route(f"/basic/num/%2B{digits}", one("tellows", number, _tellows))
            s["telnyx"].route(f"{TELNYX_BASE}/numbers/%2B{digits}", one("telnyx", number, _telnyx))
            for version in ("v1", "v2"):
                s["twilio"].route(f"/{version}/PhoneNumbers/%2B{digits}", self._twilio)
            s["usacallerlookup"].route(
                f"/wp-json/ucl/v1/number/{number[2:]}", one("usacallerlookup", number, _ucl)
            )
        s["telnyx"].route(TELNYX_BASE, self._telnyx_enterprise)
        s["trustcall"].route("/v1.5/TrustCall/Get", self._trustcall)
        s["fcc"].route(FCC_PATH, self._fcc)

    def _one(
        self, source: str, number: str, answer: Callable[[str], Reply]
    ) -> Callable[[Request], Reply]:
        """The handler of ``number``'s path at a one-number-per-request source: the
        credential is checked, the request counted, then ``answer`` answers."""

        def handle(request: Request) -> Reply:
            if not _authorized(source, request):
                return _json({"error": "unauthorized"}, 401)
            self.asked[source].append(number)
            return answer(number)

        return handle

    def _telnyx_enterprise(self, request: Request) -> Reply:
        if not _authorized("telnyx", request):
            return _json(telnyx.err("10009", "Authentication failed"), 401)
        return _json(telnyx.APPROVED)

    def _twilio(self, request: Request) -> Reply:
        if not _authorized("twilio", request):
            return _json(twilio.twilio_error(20003, "Authenticate", 401), 401)
        version, _, segment = request.path.strip("/").split("/")
        number = "+" + segment.removeprefix("%2B")
        outcome = expected("twilio", number)
        if version == "v2":
            self.asked["twilio"].append(number)
            if outcome == ERROR:
                return _json(twilio.twilio_error(20500, "Internal Server Error", 500), 500)
            return _json(twilio.v2_body(number=number))
        score = 1 if outcome == FLAGGED else 0
        return _json(twilio.addon_body(number=number, score=score))

    def _trustcall(self, request: Request) -> Reply:
        if not _authorized("trustcall", request):
            return _json(trustcall.AUTH_DENIED, 401)
        asked = request.query.get("phoneList", [""])[0].split(",")
        records = []
        for digits in asked:
            number = "+1" + digits
            self.asked["trustcall"].append(number)
            outcome = expected("trustcall", number)
            if number == CARRIER_ONLY_FLAG[0]:
                record = {**trustcall.CLEAN, "TMobileScore": "Flagged"}
            elif number == CARRIER_ERROR[0]:
                record = {**trustcall.CLEAN, "TMobileScore": "Sometimes"}
            elif outcome == ERROR:
                record = {**trustcall.CLEAN, "CurrScore": TRUSTCALL_LOGIN}  # echoed back
            elif outcome == FLAGGED:
                record = trustcall.FLAGGED
            else:
                record = trustcall.CLEAN
            records.append({**record, "Phone": digits})
        return _json(records)

    def _fcc(self, request: Request) -> Reply:
        if not _authorized("fcc", request):
            return _json({"code": "permission_denied", "error": True, "message": "no"}, 403)
        where = request.query.get("$where", [""])[0]
        numbers = ["+1" + d.replace("-", "") for d in re.findall(r"'(\d{3}-\d{3}-\d{4})'", where)]
        self.asked["fcc"].extend(dict.fromkeys(numbers))
        if any(expected("fcc", n) == ERROR for n in numbers):
            return _json({"code": "internal", "error": True, "message": "Internal error"}, 500)
        params = {key: values[0] for key, values in request.query.items()}
        url = httpx.URL(f"http://fcc.test{request.path}", params=params)
        response = FakeSocrata(self.fcc_rows)(httpx.Request("GET", url))
        return Reply(response.status_code, response.content, JSON)


def _authorized(source: str, request: Request) -> bool:
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = {k: v[0] for k, v in request.query.items()}
    if source == "ipqs":
        return IPQS_KEY in request.path  # the key travels in the path
    if source == "tellows":
        return query.get("partner") == TELLOWS_PARTNER and query.get("apikey") == TELLOWS_KEY
    if source == "telnyx":
        return headers.get("authorization") == f"Bearer {TELNYX_KEY}"
    if source == "twilio":
        return (
            headers.get("authorization") == f"Basic {basic_credentials(TWILIO_SID, TWILIO_TOKEN)}"
        )
    if source == "usacallerlookup":
        basic = base64.b64encode(f"proxyuser:{UCL_PASSWORD}".encode()).decode()
        return headers.get("authorization") == f"Basic {basic}"
    if source == "trustcall":
        return headers.get("loginid") == TRUSTCALL_LOGIN
    if source == "fcc":
        return headers.get("x-app-token") == FCC_TOKEN
    return False


def _ipqs(number: str) -> Reply:
    outcome = expected("ipqs", number)
    if outcome == ERROR:
        return Reply(200, f"key {IPQS_KEY} hit an upstream hiccup <html></html>", HTML)
    body = ipqs.RISKY if outcome == FLAGGED else ipqs.CLEAN
    return _json({**body, "formatted": number})


def _tellows(number: str) -> Reply:
    outcome = expected("tellows", number)
    if outcome == ERROR:
        return Reply(500, "Internal Server Error", HTML)
    if outcome == FLAGGED:
        return Reply(200, tellows.tellows("8", number=number, normalizedNumber=number), HTML)
    types = {"caller": [{"name": "Trustworthy number", "count": 3}]}
    body = tellows.tellows(2, number=number, normalizedNumber=number, callerTypes=types)
    return Reply(200, body, HTML)


def _telnyx(number: str) -> Reply:
    outcome = expected("telnyx", number)
    if outcome == ERROR:
        return Reply(200, '{"data": {"phone_number": ', JSON)
    return _json(telnyx.answer(number) if outcome == FLAGGED else telnyx.clean_answer(number))


def _ucl(number: str) -> Reply:
    outcome = expected("usacallerlookup", number)
    digits = number[2:]
    if outcome == ERROR:
        said = f"upstream refused proxyuser:{UCL_PASSWORD}"
        return _json({"error": "server_error", "message": said})
    if outcome == FLAGGED:
        return _json(
            ucl.profile(digits, first_seen=_days_ago(60)[:10], last_seen=_days_ago(3)[:10])
        )
    return _json(ucl.no_complaints(digits))


def _days_ago(days: int) -> str:
    day = datetime.now(UTC).date() - timedelta(days=days)
    return f"{day.isoformat()}T00:00:00.000"


def _dashed(number: str) -> str:
    d = number[2:]
    return f"{d[:3]}-{d[3:6]}-{d[6:]}"
