"""The mixed run: every source of ``DEFAULT_PLUGINS`` at once, through the real
``cidrep check``, each against a loopback server of its own (``mixed_servers``).

Six numbers, mixed outcomes: per source some flagged, some clean, one number that
source fails on (a malformed body or a 500, for that source only), TrustCall's
carriers each with their own answer (one unreadable), and the ``ftc`` feed's server
down (connection refused). What must hold afterwards, read from the database:

- every (number, source) has exactly one result from this run: one source-level
  observation row of this run, or, for a source that failed as a whole, a recorded
  failure at the run's time in ``source_state``; errors are recorded as errors;
- every TrustCall carrier that answered has its own state and one row of this run;
- the run finished, and its exit code says flagged and failing (4);
- no credential is in the database, on stdout or on stderr;
- the spend guard stops a paid source at its ``daily_budget`` while every other
  source checks every number; the numbers held back have no result at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from clitools import cli_invoker
from mixed_servers import (
    CARRIER_ERROR,
    CARRIER_ONLY_FLAG,
    CARRIERS,
    DOWN,
    ERROR,
    FLAGGED,
    NUMBERS,
    PLAN,
    MixedWorld,
    expected,
    leaked,
)

from cidrep.errors import ExitCode
from cidrep.phone import display
from cidrep.plugins import DEFAULT_PLUGINS, get_checkers

SOURCES = sorted([*PLAN, DOWN])


def rows(tmp_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    db = sqlite3.connect(tmp_path / "cidrep.db")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(sql, params)]
    finally:
        db.close()


def the_run(tmp_path: Path) -> dict[str, Any]:
    [run] = rows(tmp_path, "SELECT * FROM runs")
    return run


def own_rows(tmp_path: Path, run_id: int) -> dict[tuple[str, str], list[str]]:
    """(number, source) -> verdicts of this run's source-level history rows."""
    found: dict[tuple[str, str], list[str]] = {}
    for r in rows(
        tmp_path,
        """SELECT n.e164, o.source, o.verdict FROM observations o
           JOIN numbers n ON n.id = o.number_id
           WHERE o.last_run_id = ? AND o.carrier IS NULL""",
        (run_id,),
    ):
        found.setdefault((r["e164"], r["source"]), []).append(r["verdict"])
    return found


def states(tmp_path: Path, table: str = "source_state") -> dict[tuple[str, ...], dict[str, Any]]:
    """(number, source[, carrier]) -> the current-state row."""
    carrier = ", c.carrier" if table == "carrier_state" else ""
    found = {}
    for r in rows(
        tmp_path,
        f"""SELECT n.e164, c.source{carrier}, c.* FROM {table} c
            JOIN numbers n ON n.id = c.number_id""",
    ):
        key = (r["e164"], r["source"], r["carrier"]) if carrier else (r["e164"], r["source"])
        found[key] = r
    return found


def stored_bytes(tmp_path: Path) -> bytes:
    files = sorted(tmp_path.glob("cidrep.db*"))
    assert files and files[0].stat().st_size > 0
    return b"".join(p.read_bytes() for p in files)


def assert_no_secret(tmp_path: Path, results: list[Any]) -> None:
    for result in results:
        assert not leaked(result.stdout), result.stdout
        assert not leaked(result.stderr), result.stderr
    assert not leaked(stored_bytes(tmp_path))


@pytest.fixture
def cli(tmp_path, monkeypatch):
    return cli_invoker(tmp_path, monkeypatch, ",".join(DEFAULT_PLUGINS))


def test_the_mixed_run_covers_every_registered_source():
    """A source added to DEFAULT_PLUGINS must get a server here too."""
    assert sorted(get_checkers()) == SOURCES


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_mixed_run_records_exactly_one_result_per_number_and_source(cli, tmp_path, as_json):
    with MixedWorld() as world:
        added = cli("numbers", "add", *NUMBERS, config_text=world.config())
        assert added.exit_code == 0, added.output
        checked = cli("check", *(["--json"] if as_json else []))
        asked = {source: list(numbers) for source, numbers in world.asked.items()}
    assert checked.exit_code == ExitCode.FLAGGED_AND_ERRORS, checked.output
    assert checked.stderr == ""  # no traceback, no warning
    run = the_run(tmp_path)
    assert run["status"] == "finished" and run["finished_at"] is not None
    assert run["exit_code"] == ExitCode.FLAGGED_AND_ERRORS
    for source in PLAN:  # every server was asked about every number
        assert set(asked[source]) == set(NUMBERS), source

    own = own_rows(tmp_path, run["id"])
    state = states(tmp_path)
    assert_one_result_each(own, state, run["started_at"])
    carrier_rows = assert_carriers(tmp_path, run, state)
    [stored] = rows(tmp_path, "SELECT count(*) AS n FROM observations")
    assert stored["n"] == len(own) + carrier_rows  # nothing else was written

    # The run's per-source tally (run_sources) is what the database holds.
    tally = {r["source"]: r for r in rows(tmp_path, "SELECT * FROM run_sources")}
    assert sorted(tally) == SOURCES
    for source in PLAN:
        verdicts = tallied(own, source)
        t = tally[source]
        assert (t["status"], t["checks"], t["flagged"], t["errors"]) == (
            "ran",
            len(NUMBERS),
            verdicts[FLAGGED],
            verdicts[ERROR],
        ), source
    assert (tally[DOWN]["status"], tally[DOWN]["checks"], tally[DOWN]["errors"]) == ("failed", 0, 1)

    if as_json:
        summary = json.loads(checked.stdout)
        assert summary["run_id"] == run["id"] and summary["exit_code"] == 4
        assert sorted(summary["sources"]) == SOURCES
        for source in PLAN:
            got, verdicts = summary["sources"][source], tallied(own, source)
            assert got["status"] == "ran"
            assert got["checks"] == sum(verdicts.values()) == len(NUMBERS)
            assert {k: v for k, v in got["verdicts"].items() if v} == dict(verdicts), source
            assert got["errors"] == verdicts[ERROR] == 1
            assert got["cost_units"] == tally[source]["cost_units"]
        down = summary["sources"][DOWN]
        assert (down["status"], down["checks"], down["errors"]) == ("failed", 0, 1)
        assert down["messages"] == [state[(NUMBERS[0], DOWN)]["last_error"]]
        flagged = {(f["number"], f["source"]) for f in summary["flagged"]}
        assert flagged == {key for key, verdicts in own.items() if verdicts == [FLAGGED]}
        assert summary["failing_or_stale"] == SOURCES  # each source failed somewhere
        assert summary["checks"] == len(NUMBERS) * len(PLAN)
    else:  # the cron output: one line per newly flagged number, naming its sources
        flagging: dict[str, set[str]] = {}
        for (number, source), verdicts in own.items():
            if verdicts == [FLAGGED]:
                flagging.setdefault(display(number), set()).add(source)
        said = {
            " ".join(line.split()[1:3]): set(line.rsplit(" by ", 1)[1].split(", "))
            for line in checked.stdout.splitlines()
            if line.startswith("FLAGGED")
        }
        assert said == flagging, checked.stdout
    assert_no_secret(tmp_path, [added, checked])


def tallied(own: dict[tuple[str, str], list[str]], source: str) -> Counter[str]:
    return Counter(v for (_, s), verdicts in own.items() if s == source for v in verdicts)


def assert_one_result_each(
    own: dict[tuple[str, str], list[str]], state: dict[tuple[str, ...], dict[str, Any]], at: str
) -> None:
    """Exactly one result of this run per (number, source): a history row with the
    planned verdict (an error is one too), or the down source's recorded failure."""
    for number in NUMBERS:
        for source in PLAN:
            want = expected(source, number)
            assert own.get((number, source)) == [want], (number, source)
            s = state[(number, source)]
            assert s["last_checked"] == at and s["checks"] == 1
            if want == ERROR:
                assert (s["last_failure"], s["last_success"], s["verdict"]) == (at, None, None)
                assert s["last_error"] and "\n" not in s["last_error"]
            else:
                assert (s["last_success"], s["last_failure"], s["last_error"]) == (at, None, None)
                assert s["verdict"] == want
        # The source that is down failed as a whole: its failure is recorded per
        # number, without a history row and without a verdict.
        assert (number, DOWN) not in own
        s = state[(number, DOWN)]
        assert (s["last_failure"], s["last_checked"], s["checks"]) == (at, at, 1)
        assert s["last_success"] is None and s["verdict"] is None
        assert "cannot reach 127.0.0.1" in s["last_error"]
    assert len(own) == len(NUMBERS) * len(PLAN)
    assert len(state) == len(NUMBERS) * len(SOURCES)


def assert_carriers(
    tmp_path: Path, run: dict[str, Any], state: dict[tuple[str, ...], dict[str, Any]]
) -> int:
    """TrustCall: one state per (number, carrier) and one history row of this run each
    (an answer or the carrier's error); the number whose whole record was unreadable
    has none (its error is the number's). Returns how many carrier rows there are."""
    at = run["started_at"]
    lanes = states(tmp_path, "carrier_state")
    answered = [n for n in NUMBERS if expected("trustcall", n) != ERROR]
    assert set(lanes) == {(n, "trustcall", c) for n in answered for c in CARRIERS}
    carrier_rows = Counter(
        (r["e164"], r["carrier"])
        for r in rows(
            tmp_path,
            """SELECT n.e164, o.carrier FROM observations o JOIN numbers n ON n.id = o.number_id
               WHERE o.last_run_id = ? AND o.carrier IS NOT NULL""",
            (run["id"],),
        )
    )
    assert carrier_rows == Counter((n, c) for n in answered for c in CARRIERS)
    for (number, _, carrier), lane in lanes.items():
        assert lane["last_checked"] == at and lane["checks"] == 1
        if (number, carrier) == CARRIER_ERROR:
            assert (lane["last_failure"], lane["verdict"]) == (at, None) and lane["last_error"]
        else:
            assert (lane["last_success"], lane["last_error"]) == (at, None)
    number, carrier = CARRIER_ONLY_FLAG
    assert lanes[(number, "trustcall", carrier)]["verdict"] == FLAGGED
    assert state[(number, "trustcall")]["verdict"] == FLAGGED  # the carrier's flag wins
    assert state[(CARRIER_ERROR[0], "trustcall")]["verdict"] == "clean"  # its error alone
    return sum(carrier_rows.values())


@pytest.mark.parametrize(("paid", "budget"), [("ipqs", 3), ("trustcall", 4)])
def test_the_spend_guard_stops_a_paid_source_while_the_run_completes(cli, tmp_path, paid, budget):
    held = NUMBERS[budget:]  # due numbers go in E.164 order
    with MixedWorld() as world:
        config = world.config(**{paid: {"daily_budget": budget, "concurrency": 1}})
        added = cli("numbers", "add", *NUMBERS, config_text=config)
        assert added.exit_code == 0, added.output
        checked = cli("check", "--json")
        listed = cli("sources", "list")
        listed_json = cli("sources", "list", "--json")
        asked = {source: list(numbers) for source, numbers in world.asked.items()}
        requests = len(world.servers[paid].requests)
    assert checked.exit_code == ExitCode.FLAGGED_AND_ERRORS, checked.output
    run = the_run(tmp_path)
    assert run["status"] == "finished"

    # The paid source asked only what the budget allows: one unit per number.
    assert asked[paid] == list(NUMBERS[:budget])
    assert requests == (budget if paid == "ipqs" else 1)  # trustcall: one batch
    own = own_rows(tmp_path, run["id"])
    state = states(tmp_path)
    for number in NUMBERS[:budget]:
        assert own[(number, paid)] == [expected(paid, number)]
    for number in held:  # no result at all: not checked, not an error
        assert (number, paid) not in own
        assert (number, paid) not in state
    [paid_rows] = rows(
        tmp_path,
        "SELECT count(DISTINCT number_id) AS n FROM observations WHERE source = ?",
        (paid,),
    )
    assert paid_rows["n"] == budget  # held back: nothing stored, in any run
    lanes = states(tmp_path, "carrier_state")
    assert not any(number in held and source == paid for number, source, _ in lanes)

    # Every other source checked every number.
    for source in PLAN:
        if source != paid:
            assert set(asked[source]) == set(NUMBERS), source
            assert all(own[(n, source)] == [expected(source, n)] for n in NUMBERS), source
    assert all(state[(n, DOWN)]["last_failure"] == run["started_at"] for n in NUMBERS)

    summary = json.loads(checked.stdout)["sources"]
    got = summary[paid]
    errors = sum(expected(paid, n) == ERROR for n in NUMBERS[:budget])
    assert (got["status"], got["checks"], got["errors"]) == ("ran", budget, errors)
    assert sum(got["verdicts"].values()) == budget
    assert got["cost_units"] == budget
    assert got["stats"]["budget_held_back"] == len(held)
    assert got["reason"] == (
        f"daily budget of {budget} reached ({budget} spent today): "
        f"{len(held)} number(s) wait for tomorrow"
    )
    for source in PLAN:
        if source != paid:
            assert summary[source]["checks"] == len(NUMBERS), source
            assert "budget_held_back" not in summary[source]["stats"]

    assert listed.exit_code == 0, listed.output
    assert (
        f"daily budget {budget}: {budget} spent today (UTC), reached: paid lookups stop "
        "until tomorrow"
    ) in listed.stdout
    entry = {s["name"]: s for s in json.loads(listed_json.stdout)}[paid]
    assert (entry["daily_budget"], entry["spent_today"]) == (budget, budget)
    assert_no_secret(tmp_path, [added, checked, listed, listed_json])
