"""``cidrep vet``: one-shot checks of numbers that are not monitored.

The CLI runs for real against two lookup sources served on 127.0.0.1 (IPQS, paid,
one unit per lookup; USACallerLookup, free) and, for one test, the FTC feed reading
a mirror folder. The ranking rules are pure and tested by their truth tables; the
per-carrier summing goes through ``vet`` with a checker that answers per carrier.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from clitools import cli_invoker
from localserver import LocalServer, Reply

from cidrep.check.vetresult import NO_DATA, NOT_CHECKED, overall, rank_key, stored_answer, tier
from cidrep.contract import Checker, Http, LookupChecker, Observation, SourceSettings, Verdict
from cidrep.errors import ExitCode

PLUGINS = "cidrep_plugins.ipqs,cidrep_plugins.usacallerlookup"
KEY = "Zq8IPQSvetKEY4711abcdef0123456"
UCL = "/wp-json/ucl/v1/number"

CLEAN = "+12025550143"  # ipqs 0, ucl clean
LOW = "+13125550188"  # ipqs 20, ucl clean
ODD = "+16175550123"  # ipqs 10, ucl cannot judge it: unknown
BAD = "+14155550199"  # ipqs 92 spammer: flagged
FRAUD = {CLEAN: 0, LOW: 20, ODD: 10, BAD: 92}


def spellings(e164: str) -> list[str]:
    """How a NANP number may appear in bytes: E.164, digits, dashed, display."""
    d = e164[2:]
    return [e164, e164[1:], d, f"{d[:3]}-{d[3:6]}-{d[6:]}", f"{d[:3]}{d[3:6]}-{d[6:]}"]


def ipqs_path(e164: str) -> str:
    return f"/api/json/phone/{KEY}/{e164[1:]}"


def ipqs_answer(e164: str, fraud: int) -> dict[str, Any]:
    return {
        "success": True,
        "message": "Success.",
        "formatted": e164,
        "valid": True,
        "fraud_score": fraud,
        "spammer": fraud >= 85,
        "recent_abuse": False,
        "carrier": "Verizon Wireless",
        "line_type": "Wireless",
        "request_id": "x",
    }


def ucl_answer(e164: str) -> dict[str, Any]:
    d = e164[2:]
    return {
        "phone": f"{d[:3]}-{d[3:6]}-{d[6:]}",
        "digits": d,
        "complaints": {"total": 0, "robocalls": 0, "first_seen": None, "last_seen": None},
        "community_reports": {},
    }


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The CLI with both sources on a local server: ``world.cli(*args, config=...)``."""
    cli = cli_invoker(tmp_path, monkeypatch, PLUGINS)
    with LocalServer() as server:
        for number, fraud in FRAUD.items():
            server.route(ipqs_path(number), Reply(200, json.dumps(ipqs_answer(number, fraud))))
            if number == ODD:
                body = {"error": "invalid_number", "message": "Expected a 10-digit NANP number."}
                server.route(f"{UCL}/{number[2:]}", Reply(400, json.dumps(body)))
            else:
                server.route(f"{UCL}/{number[2:]}", Reply(200, json.dumps(ucl_answer(number))))
        monkeypatch.setenv("CIDREP_SOURCES__IPQS__API_KEY", KEY)

        class World:
            db = tmp_path / "cidrep.db"
            requests = server.requests
            route = server.route

            @staticmethod
            def config(ipqs: str = "", ucl: str = "", extra: str = "") -> str:
                return (
                    f"[sources.ipqs]\nbase_url = '{server.url}'\nrate_limit = '1000/s'\n{ipqs}"
                    f"[sources.usacallerlookup]\nenabled = true\nbase_url = '{server.url}"
                    f"/wp-json/ucl/v1'\nrate_limit = '1000/s'\nmax_attempts = 1\n{ucl}{extra}"
                )

            @staticmethod
            def cli(*args: str, config: str | None = None) -> Any:
                text = World.config() if config is None else config
                return cli(*args, config_text=text)

            @staticmethod
            def asked(source: str) -> list[str]:
                """E.164 numbers asked of a source, in order."""
                prefix, country = (ipqs_path(""), "+") if source == "ipqs" else (UCL, "+1")
                paths = [r.path for r in server.requests if r.path.startswith(prefix)]
                return [country + path.rsplit("/", 1)[1] for path in paths]

        yield World


def table_rows(output: str) -> list[list[str]]:
    lines = output.splitlines()
    end = lines.index("") if "" in lines else len(lines)
    return [line.split() for line in lines[1:end]]


# --- the pure rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [("clean", 0), ("unknown", 1), (NO_DATA, 1), (NOT_CHECKED, 1), ("error", 2), ("flagged", 3)],
)
def test_tier_truth_table(state, expected):
    assert tier(state) == expected


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], Verdict.UNKNOWN),
        (["clean", "clean"], Verdict.CLEAN),
        (["clean", NO_DATA], Verdict.UNKNOWN),
        (["clean", NOT_CHECKED], Verdict.UNKNOWN),
        (["clean", "unknown", "error"], Verdict.ERROR),
        (["error", "flagged"], Verdict.FLAGGED),
    ],
)
def test_overall_truth_table(states, expected):
    assert overall(states) is expected


def test_rank_key_orders_clean_unknown_error_flagged_then_score_then_number():
    keys = [
        rank_key("flagged", 92, "+12025550100"),
        rank_key("clean", 5, "+12025550101"),
        rank_key("error", None, "+12025550102"),
        rank_key("flagged", 40, "+12025550103"),
        rank_key("clean", None, "+12025550104"),
        rank_key("unknown", 0, "+12025550105"),
        rank_key("clean", 5, "+12025550099"),
    ]
    assert [k[2][-3:] for k in sorted(keys)] == ["104", "099", "101", "105", "102", "103", "100"]


def test_stored_answer_picks_the_freshest_account_and_says_no_data_without_a_verdict():
    def row(number_id: int, verdict: str | None, success: str | None, **kw: Any) -> dict:
        base = {
            "e164": CLEAN,
            "number_id": number_id,
            "verdict": verdict,
            "last_success": success,
            "last_failure": None,
            "last_error": None,
            "label": None,
            "category": None,
            "score": None,
            "url": None,
        }
        return {**base, **kw}

    older = row(1, "flagged", "2026-01-01T00:00:00Z", label="6 complaints")
    newer = row(2, "clean", "2026-02-01T00:00:00Z")
    assert stored_answer("ftc", [older, newer], NO_DATA, local=True).state == "clean"
    same_time = row(3, "flagged", "2026-02-01T00:00:00Z", label="2 complaints")
    picked = stored_answer("ftc", [newer, same_time], NO_DATA, local=True)
    assert (picked.state, picked.label) == ("flagged", "2 complaints")
    assert picked.as_of == "2026-02-01T00:00:00Z"
    assert stored_answer("ftc", [], NO_DATA, local=True).state == NO_DATA
    assert stored_answer("ftc", [row(4, None, None)], NO_DATA, local=True).state == NO_DATA
    failing = row(5, None, None, last_failure="2026-02-02T00:00:00Z", last_error="HTTP 500")
    assert stored_answer("ipqs", [failing], NOT_CHECKED, local=False).state == "error"
    assert stored_answer("ftc", [failing], NO_DATA, local=True).state == NO_DATA


# --- the real CLI against local servers ---------------------------------------------------


def test_ranks_cleanest_first_with_one_column_per_source(world):
    result = world.cli("vet", BAD, "(617) 555-0123", LOW, CLEAN, "202-555-0143")
    assert result.exit_code == ExitCode.FLAGGED, result.output
    rows = table_rows(result.output)
    header = "RANK NUMBER VERDICT SCORE IPQS USACALLERLOOKUP"
    assert result.output.splitlines()[0].split() == header.split()
    assert [(r[0], r[1] + " " + r[2], r[3], r[4]) for r in rows] == [
        ("1", "+1 202-555-0143", "clean", "0"),
        ("2", "+1 312-555-0188", "clean", "20"),
        ("3", "+1 617-555-0123", "unknown", "10"),
        ("4", "+1 415-555-0199", "flagged", "92"),
    ]
    assert rows[3][5:] == ["flagged", "92", "clean"]
    assert "FLAGGED +1 415-555-0199  ipqs 'spammer, frequent abuse' (spam)" in result.output
    # the duplicate (two spellings of one number) was asked once
    assert sorted(world.asked("ipqs")) == sorted(FRAUD)
    assert sorted(world.asked("usacallerlookup")) == sorted(FRAUD)
    assert KEY not in result.output


def test_json_shape(world):
    result = world.cli("vet", LOW, BAD, CLEAN, "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert set(data) == {"exit_code", "kept", "numbers", "sources"}
    assert data["exit_code"] == 1 and data["kept"] is None
    assert [n["number"] for n in data["numbers"]] == [CLEAN, LOW, BAD]
    assert [n["rank"] for n in data["numbers"]] == [1, 2, 3]
    bad = data["numbers"][2]
    assert (bad["verdict"], bad["score"]) == ("flagged", 92)
    assert list(bad["sources"]) == ["ipqs", "usacallerlookup"]
    ipqs = bad["sources"]["ipqs"]
    keys = "verdict label category score url error carriers flagged_carriers local as_of cost_units"
    assert set(ipqs) == set(keys.split())
    assert (ipqs["verdict"], ipqs["category"], ipqs["cost_units"]) == ("flagged", "spam", 1.0)
    assert bad["sources"]["usacallerlookup"]["verdict"] == "clean"
    sources = data["sources"]
    assert sources["ipqs"]["status"] == "ran" and sources["ipqs"]["cost_units"] == 3
    assert sources["ipqs"]["verdicts"]["flagged"] == 1
    assert sources["usacallerlookup"]["cost_units"] == 0


def test_source_filter_asks_only_the_named_source(world):
    result = world.cli("vet", CLEAN, BAD, "--source", "usacallerlookup", "--json")
    assert result.exit_code == 0, result.output  # ipqs (the one that flags) was not asked
    data = json.loads(result.output)
    assert list(data["sources"]) == ["usacallerlookup"]
    assert all(list(n["sources"]) == ["usacallerlookup"] for n in data["numbers"])
    assert world.asked("ipqs") == []
    assert sorted(world.asked("usacallerlookup")) == [CLEAN, BAD]

    unknown = world.cli("vet", CLEAN, "--source", "nosuch")
    assert unknown.exit_code == 2
    assert unknown.output.strip().splitlines() == [
        "error: unknown source 'nosuch' (known: ipqs, usacallerlookup)"
    ]


def test_a_named_source_that_is_not_configured_is_shown_skipped_not_asked(world, monkeypatch):
    monkeypatch.delenv("CIDREP_SOURCES__IPQS__API_KEY")
    result = world.cli("vet", CLEAN, "-s", "ipqs", "-s", "usacallerlookup")
    assert result.exit_code == 0, result.output
    assert "SKIPPED ipqs: no api_key configured" in result.output
    only_feeds = world.cli("vet", CLEAN, "-s", "ipqs")
    assert "NOTE no lookup source was asked" in only_feeds.output
    assert "IPQS" not in result.output.splitlines()[0]
    assert world.asked("ipqs") == []


def test_a_failing_source_shows_an_error_and_the_other_still_answers(world):
    broken = world.config(ucl="").replace("/wp-json/ucl/v1'", "/nowhere'")
    result = world.cli("vet", CLEAN, LOW, config=broken)
    assert result.exit_code == ExitCode.SOURCE_ERRORS, result.output
    rows = table_rows(result.output)
    assert [r[3:] for r in rows] == [
        ["error", "0", "clean", "0", "error"],  # ipqs answered; usacallerlookup failed
        ["error", "20", "clean", "20", "error"],
    ]
    errors = [line for line in result.output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 2 and all("usacallerlookup" in e and "404" in e for e in errors)

    flagged_too = world.cli("vet", CLEAN, BAD, "--json", config=broken)
    assert flagged_too.exit_code == ExitCode.FLAGGED_AND_ERRORS


def spent(db: Path, source: str) -> float:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT coalesce(sum(cost_units), 0) FROM run_sources WHERE source = ?", [source]
        ).fetchone()[0]
    finally:
        conn.close()


def test_the_daily_budget_holds_numbers_back_and_vet_spend_counts_against_it(world):
    budget = world.config(ipqs="daily_budget = 2\nconcurrency = 1\n")
    first = world.cli("vet", LOW, CLEAN, BAD, "--json", config=budget)
    data = json.loads(first.output)
    assert world.asked("ipqs") == [LOW, CLEAN]  # input order, until the budget is spent
    by_number = {n["number"]: n for n in data["numbers"]}
    assert by_number[BAD]["sources"]["ipqs"]["verdict"] == "not_checked"
    assert by_number[BAD]["verdict"] == "unknown"  # not checked is not clean
    assert by_number[BAD]["sources"]["usacallerlookup"]["verdict"] == "clean"  # free: asked
    ipqs = data["sources"]["ipqs"]
    assert (ipqs["cost_units"], ipqs["held_back"]) == (2, 1)
    assert "daily budget of 2 reached (2 spent today)" in ipqs["reason"]
    assert first.exit_code == 0  # nothing flagged, nothing failed
    assert spent(world.db, "ipqs") == 2

    text = world.cli("vet", BAD, config=budget)
    assert "unknown  -      not checked  clean" in text.output.splitlines()[1]
    assert "NOT CHECKED ipqs: daily budget of 2 reached (2 spent today)" in text.output
    listed = world.cli("sources", "list", config=budget)
    assert "daily budget 2: 2 spent today" in listed.output, listed.output
    assert world.asked("ipqs") == [LOW, CLEAN]  # nothing more was sent

    # a check later the same day sees the vet's spend: its number waits too
    world.cli("numbers", "add", ODD, config=budget)
    checked = json.loads(world.cli("check", "--json", config=budget).output)
    assert checked["sources"]["ipqs"]["stats"]["budget_held_back"] == 1
    assert world.asked("ipqs") == [LOW, CLEAN]


def companions(db: Path) -> list[Path]:
    return [db.with_name(db.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def test_nothing_about_vetted_numbers_is_stored_without_keep(world):
    control, echo = "+12125550188", "+16465550143"
    assert world.cli("numbers", "add", control, "-l", "Control line").exit_code == 0
    # an error that quotes the number: IPQS answers about another number, and
    # USACallerLookup has no route for it (both errors name the number asked)
    other = json.dumps(ipqs_answer("+12025550100", 5))
    world.route(ipqs_path(echo), Reply(200, other))
    idle = sqlite3.connect(world.db, isolation_level=None)  # has read once: holds the WAL
    idle.execute("SELECT count(*) FROM sqlite_master").fetchone()
    try:
        result = world.cli("vet", CLEAN, BAD, LOW, ODD, echo, "--json")
        assert result.exit_code == ExitCode.FLAGGED_AND_ERRORS, result.output
        assert "asked +16465550143" in result.output  # shown, never stored
        files = [p for p in companions(world.db) if p.exists()]
        assert world.db.with_name("cidrep.db-wal") in files  # the WAL was kept to be scanned
        data = b"".join(p.read_bytes() for p in files)
        assert control.encode() in data  # the scan can see a stored number
        assert KEY.encode() not in data
        for number in (CLEAN, BAD, LOW, ODD, echo, "+12025550100"):
            for spelling in spellings(number):
                assert spelling.encode() not in data, spelling
        for label in (b"spammer", b"Verizon"):
            assert label not in data
        conn = sqlite3.connect(world.db)
        runs = conn.execute("SELECT status, checks FROM runs").fetchall()
        sources = conn.execute("SELECT source, message, cost_units FROM run_sources").fetchall()
        tables = ("observations", "source_state", "sightings")
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]
        conn.close()
    finally:
        idle.close()
    assert runs == [("finished", 10)]
    assert sorted(sources) == [("ipqs", None, 5.0), ("usacallerlookup", None, 0.0)]
    assert counts == [0, 0, 0]
    listed = json.loads(world.cli("numbers", "list", "--json").output)
    assert [n["number"] for n in listed] == [control]


def test_keep_adds_the_numbers_and_stores_their_observations(world):
    assert world.cli("accounts", "add", "pool").exit_code == 0
    result = world.cli("--account", "pool", "vet", CLEAN, BAD, "--keep", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["kept"] == {"account": "pool", "added": [CLEAN, BAD], "already_monitored": []}
    assert [n["number"] for n in data["numbers"]] == [CLEAN, BAD]
    assert data["numbers"][1]["sources"]["ipqs"]["verdict"] == "flagged"
    listed = json.loads(world.cli("numbers", "list", "--json").output)
    assert sorted((n["number"], n["account"]) for n in listed) == [(CLEAN, "pool"), (BAD, "pool")]
    status = {r["number"]: r for r in json.loads(world.cli("status", "--json").output)["numbers"]}
    assert status[BAD]["verdict"] == "flagged" and status[CLEAN]["verdict"] == "clean"
    assert sorted(world.asked("ipqs")) == sorted([CLEAN, BAD])  # asked once, by the check

    again = world.cli("--account", "pool", "vet", CLEAN, "--keep")
    assert again.exit_code == 0, again.output
    assert "kept in account 'pool': 0 added, 1 already monitored" in again.output


def test_invalid_input_is_one_line_exit_2_and_nothing_is_asked(world, tmp_path):
    bad = world.cli("vet", CLEAN, "12345")
    assert bad.exit_code == 2
    assert len(bad.output.strip().splitlines()) == 1
    assert "'12345'" in bad.output and bad.output.startswith("error: ")

    listing = tmp_path / "pool.txt"
    listing.write_text(f"{CLEAN}\n{LOW}\nnot a number\n")
    from_file = world.cli("vet", "--file", str(listing))
    assert from_file.exit_code == 2
    assert from_file.output.strip().splitlines() == [
        f"error: {listing}:3: 'not a number' is not a phone number "
        "(the string supplied did not seem to be a phone number)"
    ]
    assert world.requests == []

    nothing = world.cli("vet")
    assert nothing.exit_code == 2 and "nothing to vet" in nothing.output


def test_a_csv_file_with_a_number_column_and_duplicates(world, tmp_path):
    pool = tmp_path / "pool.csv"
    pool.write_text(f"did,region\n{LOW},IL\n(202) 555-0143,DC\n312-555-0188,IL\n")
    result = world.cli("vet", "--file", str(pool), "--json")
    assert result.exit_code == 0, result.output
    assert [n["number"] for n in json.loads(result.output)["numbers"]] == [CLEAN, LOW]
    assert sorted(world.asked("ipqs")) == [CLEAN, LOW]


def test_a_monitored_number_uses_its_local_feed_state(tmp_path, monkeypatch):
    from cidrep_plugins.ftc.sample import write_sample

    cli = cli_invoker(tmp_path, monkeypatch, PLUGINS + ",cidrep_plugins.ftc")
    write_sample(tmp_path / "ftc", datetime.now(UTC).date(), {BAD: 6}, filler_rows=3)
    with LocalServer() as server:
        for number, fraud in ((BAD, 10), (CLEAN, 0)):
            server.route(ipqs_path(number), Reply(200, json.dumps(ipqs_answer(number, fraud))))
        monkeypatch.setenv("CIDREP_SOURCES__IPQS__API_KEY", KEY)
        config = (
            f"[sources.ipqs]\nbase_url = '{server.url}'\nrate_limit = '1000/s'\n"
            f"[sources.ftc]\npath = '{(tmp_path / 'ftc').as_posix()}'\n"
        )
        assert cli("numbers", "add", BAD, config_text=config).exit_code == 0
        checked = cli("check", "--source", "ftc", config_text=config)
        assert checked.exit_code == 1, checked.output  # the FTC file flags it
        asked_before = len(server.requests)
        result = cli("vet", CLEAN, BAD, "--json")
        text = cli("vet", CLEAN, BAD)
    data = json.loads(result.output)
    assert result.exit_code == 1, result.output
    by_number = {n["number"]: n for n in data["numbers"]}
    ftc = by_number[BAD]["sources"]["ftc"]
    assert (ftc["verdict"], ftc["local"]) == ("flagged", True)
    assert ftc["label"] and ftc["as_of"]
    assert by_number[BAD]["sources"]["ipqs"]["verdict"] == "clean"  # asked live
    assert by_number[CLEAN]["sources"]["ftc"]["verdict"] == NO_DATA
    assert by_number[CLEAN]["verdict"] == "unknown"  # no data is never clean
    assert [n["number"] for n in data["numbers"]] == [CLEAN, BAD]
    assert data["sources"]["ftc"]["status"] == "local"
    assert len(server.requests) == asked_before + 4  # two vets, two ipqs lookups each
    assert "flagged*" in text.output and "no data" in text.output
    assert "[local data, as of" in text.output


# --- per-carrier answers ----------------------------------------------------------------


class CarrierSettings(SourceSettings):
    pass


class CarrierLookup(LookupChecker):
    """Answers per carrier: BAD is 'Scam Likely' on T-Mobile only; one carrier fails."""

    name = "carrierfake"
    description = "per-carrier test double"
    disclosure = "sends nothing"
    settings_model = CarrierSettings
    calls: ClassVar[list[list[str]]] = []

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        CarrierLookup.calls.append(list(numbers))
        found = []
        for n in numbers:
            flagged = n == BAD
            found += [
                Observation(
                    n,
                    Verdict.FLAGGED if flagged else Verdict.CLEAN,
                    label="Scam Likely" if flagged else None,
                    score=80 if flagged else 3,
                    carrier="T-Mobile",
                    cost_units=0.5,
                ),
                Observation(n, Verdict.CLEAN, carrier="Verizon", cost_units=0.5),
                Observation(n, Verdict.ERROR, error="AT&T timed out", carrier="AT&T"),
            ]
        return found


def test_per_carrier_answers_are_summed_up_and_flagged_carriers_named(tmp_path):
    from cidrep.check.vet import vet
    from cidrep.config import load_config
    from cidrep.store import open_db

    checkers: dict[str, type[Checker]] = {"carrierfake": CarrierLookup}
    (tmp_path / "c.toml").write_text("[sources.carrierfake]\ndaily_budget = 10\n")
    settings = load_config(tmp_path / "c.toml", checkers).settings
    db = open_db(tmp_path / "v.db")
    report = vet(db, settings, checkers, [BAD, CLEAN], None, datetime.now(UTC))
    assert [r.number for r in report.numbers] == [CLEAN, BAD]
    bad = report.numbers[1].answers["carrierfake"]
    assert (bad.state, bad.label, bad.score) == ("flagged", "Scam Likely on T-Mobile", 80)
    assert bad.flagged_carriers == ["T-Mobile"]
    assert bad.carriers == {
        "T-Mobile": {"verdict": "flagged", "label": "Scam Likely"},
        "Verizon": {"verdict": "clean", "label": None},
    }  # a carrier that failed has no verdict to show
    assert bad.cost_units == 1.0  # every carrier's answer counts
    clean = report.numbers[0].answers["carrierfake"]
    assert (clean.state, clean.flagged_carriers) == ("clean", [])
    assert report.exit_code == ExitCode.FLAGGED
    assert spent(tmp_path / "v.db", "carrierfake") == 2.0


def test_keep_stores_per_carrier_answers_and_reads_the_flagged_carriers_back(tmp_path):
    from cidrep.check.vet import vet_and_keep
    from cidrep.config import load_config
    from cidrep.store import open_db
    from cidrep.store.numbers import get_account

    checkers: dict[str, type[Checker]] = {"carrierfake": CarrierLookup}
    (tmp_path / "c.toml").write_text("")
    settings = load_config(tmp_path / "c.toml", checkers).settings
    db = open_db(tmp_path / "v.db")
    account = get_account(db, "default")
    report = vet_and_keep(
        db, settings, checkers, [BAD, CLEAN], None, datetime.now(UTC), account, {}
    )
    assert report.kept == {"account": "default", "added": [BAD, CLEAN], "already_monitored": []}
    bad = report.numbers[1].answers["carrierfake"]
    assert (bad.state, bad.label) == ("flagged", "Scam Likely on T-Mobile")
    assert bad.flagged_carriers == ["T-Mobile"]
    assert report.numbers[0].answers["carrierfake"].state == "clean"
    lanes = db.execute(
        """SELECT c.carrier FROM carrier_state c JOIN numbers n ON n.id = c.number_id
           WHERE n.e164 = ? ORDER BY c.carrier""",
        [BAD],
    ).fetchall()
    assert [lane[0] for lane in lanes] == ["AT&T", "T-Mobile", "Verizon"]


class PaidLookup(LookupChecker):
    """One unit per number; from its second batch on, reads what the database already
    says was spent (as a check starting now, or after a kill, would)."""

    name = "paidfake"
    description = "paid test double"
    disclosure = "sends nothing"
    db: ClassVar[Path]
    seen: ClassVar[list[float]] = []

    def cost_estimate(self, numbers: Sequence[str]) -> float:
        return float(len(numbers))

    async def lookup(self, numbers: Sequence[str], http: Http) -> Sequence[Observation]:
        PaidLookup.seen.append(spent(PaidLookup.db, "paidfake"))
        return [Observation(n, Verdict.CLEAN, cost_units=1.0) for n in numbers]


def test_each_batch_s_cost_is_committed_before_the_next_is_sent(tmp_path):
    from cidrep.check.vet import vet
    from cidrep.config import load_config
    from cidrep.store import open_db

    checkers: dict[str, type[Checker]] = {"paidfake": PaidLookup}
    (tmp_path / "c.toml").write_text("[sources.paidfake]\nconcurrency = 1\ndaily_budget = 9\n")
    settings = load_config(tmp_path / "c.toml", checkers).settings
    PaidLookup.db, PaidLookup.seen = tmp_path / "v.db", []
    db = open_db(PaidLookup.db)
    report = vet(db, settings, checkers, [CLEAN, LOW, ODD], None, datetime.now(UTC))
    assert PaidLookup.seen == [0, 1, 2]  # a vet killed mid-way still counts its spend
    assert report.exit_code == 0 and spent(PaidLookup.db, "paidfake") == 3
