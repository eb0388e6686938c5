"""Per-carrier history and state: the sum rule, the writer, the engine, the schema
migration, export/restore, retention and deletion.

A source answering per carrier ("flagged on T-Mobile, clean on Verizon") keeps a
history row and a ``carrier_state`` row per (number, source, carrier); its
source-level row (what due selection, the exit code and alerts read) is summed up
from all the number's carriers by ``cidrep.carriers.summarize``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations
from typer.testing import CliRunner

from cidrep.carriers import Lane, summarize, this_check
from cidrep.cli import make_app
from cidrep.config import load_config
from cidrep.contract import Observation, Verdict
from cidrep.history import fingerprint
from cidrep.plugins import get_checkers, reset_cache
from cidrep.runner.engine import CheckOptions, run_cycle
from cidrep.store import open_db
from cidrep.store.history import ObservationWriter
from cidrep.store.migrations import m001_initial, m002_current_state, m003_alerts, m004_privacy
from cidrep.store.numbers import NumberEntry, add_numbers

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
A, B = "+12025550101", "+12025550102"


# -- the sum rule (pure) ------------------------------------------------------------


def test_summarize_takes_the_worst_carrier_and_names_where_it_is_flagged():
    lanes = [
        Lane("Verizon", "clean"),
        Lane("T-Mobile", "flagged", "Scam Likely", 90, "scam"),
        Lane("AT&T", "flagged", "Spam Risk", 70),
    ]
    obs = summarize(A, None, lanes)
    assert obs.verdict == Verdict.FLAGGED
    assert obs.label == "Spam Risk on AT&T; Scam Likely on T-Mobile"  # sorted by carrier
    assert obs.score == 90 and obs.category == "scam"
    assert obs.evidence["carriers"] == {
        "AT&T": {"verdict": "flagged", "label": "Spam Risk"},
        "T-Mobile": {"verdict": "flagged", "label": "Scam Likely"},
        "Verizon": {"verdict": "clean", "label": None},
    }
    # the order the lanes arrive in does not change the sum (one history row)
    assert summarize(A, None, list(reversed(lanes))) == obs


def test_summarize_truth_table_rows():
    own_clean = Observation(A, Verdict.CLEAN, evidence={"overall": "clean"}, url="u")
    own_flag = Observation(A, Verdict.FLAGGED, label="High", score=80)
    own_error = Observation.failed(A, "timeout")
    clean_lanes = [Lane("Verizon", "clean")]
    # own real, no lane with a verdict: own unchanged
    assert summarize(A, own_clean, [Lane("X", None)]) == own_clean
    # own error: the lookup failed, carriers stay
    assert summarize(A, own_error, [Lane("T-Mobile", "flagged", "Scam")]) == own_error
    # no own, no lane with a verdict: an error
    failed = summarize(A, None, [Lane("X", None)])
    assert failed.verdict == Verdict.ERROR and failed.error == "no carrier answered"
    # own flags while carriers are clean: flagged with own's label and score
    both = summarize(A, own_flag, clean_lanes)
    assert (both.verdict, both.label, both.score) == (Verdict.FLAGGED, "High", 80)
    # own clean, carriers clean: clean, own's evidence and url kept with the carriers
    calm = summarize(A, own_clean, clean_lanes)
    assert calm.verdict == Verdict.CLEAN and calm.url == "u"
    assert calm.evidence["overall"] == "clean" and "Verizon" in calm.evidence["carriers"]
    # unknown carriers only: unknown, not clean
    assert summarize(A, None, [Lane("X", "unknown")]).verdict == Verdict.UNKNOWN


def test_this_check_counts_a_number_once():
    answers = [
        Observation(A, Verdict.CLEAN, carrier="Verizon"),
        Observation(A, Verdict.FLAGGED, label="Scam Likely", carrier="T-Mobile"),
    ]
    assert this_check(answers).verdict == Verdict.FLAGGED
    down = [Observation(A, Verdict.ERROR, error="lane down", carrier="Verizon")]
    assert this_check(down).error == "lane down"


# -- the engine and the writer -------------------------------------------------------


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", "fake_carriers")
    reset_cache()
    db = open_db(tmp_path / "c.db")
    add_numbers(db, 1, [NumberEntry(n) for n in (A, B)], "T")

    def run(answers: dict[str, dict[str, str]], at: datetime = T0, extra: str = ""):
        lines = ["[sources.fakecarrier]", extra]
        for number, lanes in answers.items():
            lines.append(f'[sources.fakecarrier.answers."{number}"]')
            lines += [f'"{c}" = "{label}"' for c, label in lanes.items()]
        (tmp_path / "c.toml").write_text("\n".join(lines) + "\n")
        settings = load_config(tmp_path / "c.toml", get_checkers()).settings
        return run_cycle(db, settings, get_checkers(), CheckOptions(now=at, force=True))

    return db, run


def lanes(db, number=A):
    return {
        r["carrier"]: (r["verdict"], r["since"], r["checks"])
        for r in db.query(
            """SELECT c.* FROM carrier_state c JOIN numbers n ON n.id = c.number_id
               WHERE n.e164 = ? AND c.source = 'fakecarrier'""",
            [number],
        )
    }


def source_row(db, number=A):
    return next(
        iter(
            db.query(
                """SELECT s.verdict, s.since, o.label, o.evidence, s.last_error
                   FROM source_state s JOIN numbers n ON n.id = s.number_id
                   LEFT JOIN observations o ON o.id = s.verdict_obs_id
                   WHERE n.e164 = ? AND s.source = 'fakecarrier'""",
                [number],
            )
        )
    )


def history(db, number=A):
    return [
        (r["carrier"], r["verdict"], r["label"], r["checks"])
        for r in db.query(
            """SELECT o.* FROM observations o JOIN numbers n ON n.id = o.number_id
               WHERE n.e164 = ? ORDER BY o.id""",
            [number],
        )
    ]


def test_each_carrier_keeps_its_own_history_and_state(env):
    db, run = env
    result = run({A: {"T-Mobile": "Scam Likely", "Verizon": ""}, B: {"T-Mobile": ""}})
    assert result.sources[0].verdicts["flagged"] == 1  # A counted once, not per carrier
    assert result.sources[0].checks == 2
    assert lanes(db) == {
        "T-Mobile": ("flagged", "2026-11-02T09:00:00Z", 1),
        "Verizon": ("clean", "2026-11-02T09:00:00Z", 1),
    }
    row = source_row(db)
    assert row["verdict"] == "flagged" and row["label"] == "Scam Likely on T-Mobile"
    assert json.loads(row["evidence"])["carriers"]["Verizon"]["verdict"] == "clean"
    assert source_row(db, B)["verdict"] == "clean"

    # the same answers an hour later: run-length, no new rows anywhere
    run(
        {A: {"T-Mobile": "Scam Likely", "Verizon": ""}, B: {"T-Mobile": ""}},
        T0 + timedelta(hours=1),
    )
    assert [h[3] for h in history(db)] == [2, 2, 2]
    assert lanes(db)["T-Mobile"][2] == 2

    # Verizon flags too: one new Verizon row and one new sum; T-Mobile only extends
    later = T0 + timedelta(hours=2)
    run({A: {"T-Mobile": "Scam Likely", "Verizon": "Spam Risk"}, B: {"T-Mobile": ""}}, later)
    assert lanes(db)["Verizon"] == ("flagged", "2026-11-02T11:00:00Z", 3)
    assert lanes(db)["T-Mobile"] == ("flagged", "2026-11-02T09:00:00Z", 3)
    assert source_row(db)["label"] == "Scam Likely on T-Mobile; Spam Risk on Verizon"
    assert source_row(db)["since"] == "2026-11-02T09:00:00Z"  # flagged all along
    assert len(history(db)) == 5


def test_a_carrier_that_fails_keeps_its_verdict_and_a_number_without_answers_is_an_error(env):
    db, run = env
    run({A: {"T-Mobile": "", "Verizon": ""}, B: {"T-Mobile": ""}})
    run(
        {A: {"T-Mobile": "", "Verizon": ""}},
        T0 + timedelta(hours=1),
        extra='fail_carrier = "Verizon"',
    )
    verizon = next(
        iter(db.query("SELECT * FROM carrier_state WHERE carrier = 'Verizon' AND number_id = 1"))
    )
    assert verizon["verdict"] == "clean" and verizon["last_error"] == "lane down"
    assert source_row(db)["verdict"] == "clean"  # the sum still stands on its carriers
    b = source_row(db, B)
    assert b["verdict"] == "clean"  # the error never replaces the last real verdict
    assert "gave no answer" in b["last_error"]
    assert lanes(db, B) == {"T-Mobile": ("clean", "2026-11-02T09:00:00Z", 1)}


def test_a_blank_carrier_name_is_an_invalid_answer(env):
    db, run = env
    run({A: {"T-Mobile": "Scam"}}, extra="blank_carrier = true")
    assert lanes(db) == {}
    row = next(iter(db.query("SELECT last_error FROM source_state WHERE number_id = 1")))
    assert "carrier" in row["last_error"] and "invalid observation" in row["last_error"]


def test_dated_answers_in_and_out_of_order_and_recorded_twice(tmp_path):
    db = open_db(tmp_path / "d.db")
    add_numbers(db, 1, [NumberEntry(A)], "T")

    def add(label: str | None, at: str, run: int, carrier: str = "T-Mobile") -> ObservationWriter:
        writer = ObservationWriter(db, run, f"2026-11-23T00:00:0{run}Z")
        verdict = Verdict.FLAGGED if label else Verdict.CLEAN
        writer.add_answers([1], "vendor", [Observation(A, verdict, label, carrier=carrier)], at=at)
        writer.flush()
        return writer

    add("Scam Likely", "2026-11-10T00:00:00Z", 1)
    add(None, "2026-11-15T00:00:00Z", 2)
    state = next(iter(db.query("SELECT * FROM carrier_state")))
    assert (state["verdict"], state["since"]) == ("clean", "2026-11-15T00:00:00Z")

    again = add("Scam Likely", "2026-11-10T00:00:00Z", 3)  # the same record again
    assert again.known == 1 and again.inserted == 0

    older = add("Spam Risk", "2026-11-01T00:00:00Z", 4)  # news from before: history only
    assert older.inserted == 1
    state = next(iter(db.query("SELECT * FROM carrier_state")))
    assert (state["verdict"], state["since"]) == ("clean", "2026-11-15T00:00:00Z")
    dates = [
        (r["label"], r["first_seen"])
        for r in db.query(
            "SELECT * FROM observations WHERE carrier IS NOT NULL ORDER BY first_seen"
        )
    ]
    assert dates == [
        ("Spam Risk", "2026-11-01T00:00:00Z"),
        ("Scam Likely", "2026-11-10T00:00:00Z"),
        (None, "2026-11-15T00:00:00Z"),
    ]
    assert add("Spam Risk", "2026-11-01T00:00:00Z", 5).known == 1  # and that one is known too
    total = db.execute("SELECT count(*) FROM observations").fetchone()[0]
    assert total == 3 + 2  # three carrier rows; the sum: flagged, then clean


# -- schema migration ------------------------------------------------------------------


def test_upgrading_keeps_every_row_and_reads_old_rows_as_the_sources_own(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    before = Migrations("cidrep")
    for step in (m001_initial, m002_current_state, m003_alerts, m004_privacy):
        before()(step)
    before.apply(old)
    fp = fingerprint(Observation(A, Verdict.FLAGGED, "Robocall"))
    old.execute("INSERT INTO numbers (account_id, e164, created_at) VALUES (1, ?, 'T0')", [A])
    old.execute(
        """INSERT INTO observations (number_id, source, verdict, label, fingerprint,
           first_seen, last_seen, checks) VALUES (1, 'ftc', 'flagged', 'Robocall', ?,
           '2026-10-01T00:00:00Z', '2026-10-02T00:00:00Z', 2)""",
        [fp],
    )
    old.execute(
        """INSERT INTO source_state (number_id, source, verdict, since, obs_id,
           verdict_obs_id, fingerprint, last_checked, last_success, checks)
           VALUES (1, 'ftc', 'flagged', '2026-10-01T00:00:00Z', 1, 1, ?,
           '2026-10-02T00:00:00Z', '2026-10-02T00:00:00Z', 2)""",
        [fp],
    )
    old.conn.commit()
    old.close()

    db = open_db(path)
    rows = list(db.query("SELECT source, carrier, label, checks FROM observations"))
    assert rows == [{"source": "ftc", "carrier": None, "label": "Robocall", "checks": 2}]
    assert db.execute("SELECT verdict FROM source_state").fetchone()[0] == "flagged"
    assert db.execute("SELECT count(*) FROM carrier_state").fetchone()[0] == 0
    # the old row is extended by an identical new check, as before the upgrade
    writer = ObservationWriter(db, 9, "2026-10-03T00:00:00Z")
    writer.add([1], "ftc", Observation(A, Verdict.FLAGGED, "Robocall"))
    writer.flush()
    assert writer.inserted == 0
    assert db.execute("SELECT count(*) FROM observations").fetchone()[0] == 1


# -- export, restore, retention, deletion -----------------------------------------------


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", "fake_carriers")
    reset_cache()
    config = tmp_path / "config.toml"

    def invoke(*args: str):
        result = CliRunner().invoke(make_app(), list(args), catch_exceptions=False)
        return result

    config.write_text(
        "[sources.fakecarrier]\n"
        f'[sources.fakecarrier.answers."{A}"]\n"T-Mobile" = "Scam Likely"\n"Verizon" = ""\n'
        f'[sources.fakecarrier.answers."{B}"]\n"AT&T" = ""\n'
    )
    assert invoke("numbers", "add", A, B).exit_code == 0
    assert invoke("check").exit_code == 1
    return invoke


def test_report_and_status_say_where_a_number_is_flagged(cli):
    report = json.loads(cli("report", A, "--json").stdout)
    view = report["sources"]["fakecarrier"]
    assert [(c["carrier"], c["verdict"]) for c in view["carriers"]] == [
        ("T-Mobile", "flagged"),
        ("Verizon", "clean"),
    ]
    assert report["flagged_on"] == ["fakecarrier: T-Mobile"]
    text = cli("report", A).stdout
    assert 'T-Mobile: flagged "Scam Likely"' in text and "Verizon: clean" in text
    assert "fakecarrier: T-Mobile" in cli("status").stdout


def test_export_and_restore_keep_every_carrier(cli, tmp_path):
    first = tmp_path / "first.json"
    assert cli("export", "--all", "-o", str(first)).exit_code == 0
    doc = json.loads(first.read_text())
    current = doc["numbers"][0]["current"]
    assert [c["carrier"] for c in current] == [None, "T-Mobile", "Verizon"]
    assert {h["carrier"] for h in doc["numbers"][0]["history"]} == {None, "T-Mobile", "Verizon"}

    target = tmp_path / "restored.db"
    assert cli("--db", str(target), "restore", str(first)).exit_code == 0
    second = tmp_path / "second.json"
    assert cli("--db", str(target), "export", "--all", "-o", str(second)).exit_code == 0
    again = json.loads(second.read_text())
    assert again["numbers"] == doc["numbers"]
    restored = json.loads(cli("--db", str(target), "report", A, "--json").stdout)
    assert restored["flagged_on"] == ["fakecarrier: T-Mobile"]


def test_retention_keeps_the_rows_carrier_state_points_at(cli, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text().replace(
            "[sources.fakecarrier]\n", "retention_days = 1\n[sources.fakecarrier]\n", 1
        )
    )
    db = open_db(tmp_path / "cidrep.db")
    db.execute(
        "UPDATE observations SET first_seen = '2020-01-01T00:00:00Z',"
        " last_seen = '2020-01-01T00:00:00Z'"
    )
    db.conn.commit()
    assert cli("prune").exit_code == 0
    db = open_db(tmp_path / "cidrep.db")
    kept = db.execute("SELECT count(*) FROM observations WHERE carrier IS NOT NULL").fetchone()[0]
    assert kept == 3  # T-Mobile, Verizon, AT&T: each carrier's current row
    assert json.loads(cli("report", A, "--json").stdout)["flagged_on"] == ["fakecarrier: T-Mobile"]


def test_deleting_a_number_deletes_its_carriers(cli, tmp_path):
    assert cli("delete", "--number", A, "--yes").exit_code == 0
    db = open_db(tmp_path / "cidrep.db")
    assert db.execute("SELECT count(*) FROM carrier_state").fetchone()[0] == 1  # B's AT&T
    assert (
        db.execute("SELECT count(*) FROM observations WHERE carrier = 'T-Mobile'").fetchone()[0]
        == 0
    )
