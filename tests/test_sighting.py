"""``cidrep sighting``: a label a called party saw, recorded per carrier; the carrier and
engine map (``[carriers]``/``[engines]``) and the alerts that say where to dispute."""

from __future__ import annotations

import json

import pytest
from clitools import cli_invoker

from cidrep.disputes import FREE_CALLER_REGISTRY, CarrierMap, carrier_key, flagged_carriers
from cidrep.labels.dates import parse_when
from cidrep.labels.record import label_verdict
from cidrep.store import open_db

A, B = "+12025550143", "+13125550188"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    invoke = cli_invoker(tmp_path, monkeypatch, "cidrep_plugins.ftc")
    assert invoke("numbers", "add", A, B, config_text="").exit_code == 0
    return invoke


def rows(tmp_path, sql):
    db = open_db(tmp_path / "cidrep.db")
    try:
        return [tuple(r.values()) for r in db.query(sql)]
    finally:
        db.close()


def test_a_sighting_is_a_dated_observation_for_its_carrier(cli, tmp_path):
    out = cli(
        "sighting",
        A,
        "--carrier",
        "tmobile",
        "--label",
        "Scam Likely",
        "--at",
        "2026-11-20",
        "--note",
        "caller read it out",
    )
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith(
        'recorded: +12025550143 flagged on T-Mobile ("Scam Likely") at 2026-11-20T00:00:00Z'
    )
    assert "FLAGGED +1 202-555-0143 flagged" in out.stdout  # an alert, like any source
    assert rows(
        tmp_path,
        "SELECT carrier, verdict, label, first_seen FROM observations WHERE carrier IS NOT NULL",
    ) == [("T-Mobile", "flagged", "Scam Likely", "2026-11-20T00:00:00Z")]
    report = json.loads(cli("report", A, "--json").stdout)
    manual = report["sources"]["manual"]
    assert manual["carriers"][0]["carrier"] == "T-Mobile"
    assert manual["carriers"][0]["since"] == "2026-11-20T00:00:00Z"
    assert report["flagged_on"] == ["manual: T-Mobile"]
    assert manual["health"] == "ok"  # recorded: never stale, however old


def test_recording_the_same_sighting_twice_changes_nothing(cli, tmp_path):
    args = ("sighting", A, "-c", "AT&T", "-l", "Spam Risk", "--at", "2026-11-20T10:00:00Z")
    assert cli(*args).exit_code == 0
    before = rows(tmp_path, "SELECT * FROM observations WHERE carrier IS NOT NULL")
    runs = rows(tmp_path, "SELECT * FROM runs")
    again = cli(*args)
    assert again.exit_code == 0 and again.stdout.startswith("already recorded: ")
    assert rows(tmp_path, "SELECT * FROM observations WHERE carrier IS NOT NULL") == before
    assert rows(tmp_path, "SELECT * FROM runs") == runs  # not even a run row


def test_clean_on_one_carrier_does_not_clear_another(cli, tmp_path):
    cli("sighting", A, "-c", "T-Mobile", "-l", "Scam Likely", "--at", "2026-11-20")
    out = cli("sighting", A, "-c", "Verizon", "-l", "none", "--at", "2026-11-21")
    assert "clean on Verizon (no label)" in out.stdout
    report = json.loads(cli("report", A, "--json").stdout)
    assert report["verdict"] == "flagged"
    assert [(c["carrier"], c["verdict"]) for c in report["sources"]["manual"]["carriers"]] == [
        ("T-Mobile", "flagged"),
        ("Verizon", "clean"),
    ]


def test_the_alert_says_where_it_is_flagged_and_which_engine_to_ask(cli, tmp_path):
    cli("sighting", A, "-c", "Verizon", "-l", "none", "--at", "2026-11-19")
    cli("sighting", A, "-c", "T-Mobile", "-l", "Scam Likely", "--at", "2026-11-20")
    [alert] = [
        json.loads(a) for (a,) in rows(tmp_path, "SELECT alert FROM flips WHERE kind = 'flagged'")
    ]
    assert '"Scam Likely on T-Mobile"' in alert["title"]
    assert "manual: flagged" in alert["text"]
    assert "(flagged on T-Mobile; clean on Verizon)" in alert["text"]
    names = [d["name"] for d in alert["dispute"]]
    assert names[0] == "First Orion (T-Mobile): ask for a review"
    assert names[-1] == FREE_CALLER_REGISTRY.name and len(names) == 2


def test_the_carrier_map_in_config_changes_where_to_dispute(cli, tmp_path):
    config = (
        '[carriers]\n"US Cellular" = "TNS"\n"T-Mobile" = "Hiya"\n'
        '[engines]\n"Hiya" = "https://hiya.example/review"\n'
    )
    assert cli("status", config_text=config).exit_code == 0
    cli("sighting", A, "-c", "t mobile", "-l", "Scam Likely")
    [(alert,)] = rows(tmp_path, "SELECT alert FROM flips WHERE kind = 'flagged'")
    dispute = json.loads(alert)["dispute"]
    assert dispute[0] == {
        "name": "Hiya (AT&T, T-Mobile): ask for a review",
        "url": "https://hiya.example/review",
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[carriers]\n"US Cellular" = "Nope"\n', "carriers: 'US Cellular' names engine 'Nope'"),
        ('[engines]\n"TNS" = "http://x"\n', "engines: the review portal of 'TNS' must be"),
    ],
)
def test_a_bad_carrier_map_is_one_line_and_exit_2(cli, config, message):
    out = cli("status", config_text=config)
    assert out.exit_code == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((A, "-c", "T-Mobile", "-l", "x", "--at", "tomorrow"), "--at: 'tomorrow' is not a date"),
        ((A, "-c", "T-Mobile", "-l", "x", "--at", "2099-01-01"), "is in the future"),
        (("+12025550199", "-c", "T-Mobile", "-l", "x"), "+12025550199 is not monitored"),
        ((A, "-c", " ", "-l", "x"), "carrier must be 1 to 50 characters"),
        (("12", "-c", "T-Mobile", "-l", "x"), "12"),
        ((A, "-l", "x"), "--carrier"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(cli, tmp_path, args, message):
    out = cli("sighting", *args)
    assert out.exit_code == 2
    assert message in out.stderr
    assert "Traceback" not in out.output
    assert rows(tmp_path, "SELECT count(*) FROM observations") == [(0,)]
    assert rows(tmp_path, "SELECT count(*) FROM runs") == [(0,)]


def test_a_sighting_is_for_the_scoped_account_only(cli, tmp_path):
    assert cli("accounts", "add", "east").exit_code == 0
    out = cli("--account", "east", "sighting", A, "-c", "T-Mobile", "-l", "x")
    assert out.exit_code == 2 and "is not monitored" in out.stderr


# -- pure rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "verdict", "shown"),
    [
        ("Scam Likely", "flagged", "Scam Likely"),
        ("  Spam   Risk ", "flagged", "Spam Risk"),
        ("none", "clean", None),
        ("No Label", "clean", None),
        ("", "clean", None),
        (None, "clean", None),
        ("-", "clean", None),
        ("Flagged", "flagged", "Flagged"),
    ],
)
def test_label_verdict(label, verdict, shown):
    got = label_verdict(label)
    assert (got[0].value, got[1]) == (verdict, shown)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-11-20", "2026-11-20T00:00:00Z"),
        ("2026-11-20T14:05:00Z", "2026-11-20T14:05:00Z"),
        ("2026-11-20T16:05:00+02:00", "2026-11-20T14:05:00Z"),
        ("2026-11-20T14:05:00", "2026-11-20T14:05:00Z"),
        ("11/20/2026", "2026-11-20T00:00:00Z"),
        ("11/20/2026 14:05:09", "2026-11-20T14:05:09Z"),
    ],
)
def test_parse_when(text, iso):
    assert parse_when(text) == iso


def test_parse_when_refuses_what_it_cannot_read():
    for bad in ("20/11/2026", "yesterday", "", "2026-13-01"):
        with pytest.raises(ValueError, match="is not a date"):
            parse_when(bad)


def test_carrier_map_truth_table():
    cmap = CarrierMap(
        carriers={"AT&T": "Hiya", "Verizon": "TNS", "T-Mobile": "First Orion", "Cricket": "Hiya"},
        engines={"Hiya": "https://h", "TNS": "https://t", "First Orion": "https://f"},
    )
    assert carrier_key("T-Mobile") == carrier_key("t mobile") == "tmobile"
    assert cmap.canonical("att") == "AT&T" and cmap.canonical(" RoboKiller ") == "RoboKiller"
    # mapped carriers: their engines once each, in order, then the registry
    got = cmap.disputes(["T-Mobile", "AT&T", "Cricket"])
    assert [d.url for d in got] == ["https://f", "https://h", FREE_CALLER_REGISTRY.url]
    assert got[1].name == "Hiya (AT&T, Cricket): ask for a review"
    # nothing mapped (an app, or complaint data): the registry, then every engine
    none = cmap.disputes(["RoboKiller"])
    assert [d.url for d in none] == [
        FREE_CALLER_REGISTRY.url,
        "https://h",
        "https://t",
        "https://f",
    ]
    assert cmap.disputes([]) == none


def test_flagged_carriers_reads_only_the_per_carrier_sum():
    evidence = {
        "carriers": {"T-Mobile": {"verdict": "flagged"}, "Verizon": {"verdict": "clean"}},
        "carrier": "AT&T",
    }
    assert flagged_carriers(evidence) == ["T-Mobile"]
    assert flagged_carriers({"carrier": "AT&T"}) == []  # the number's own carrier


def test_a_recorded_source_is_never_stale_but_a_polled_one_is(cli, tmp_path):
    cli("sighting", A, "-c", "T-Mobile", "-l", "Scam Likely", "--at", "2026-01-02")
    db = open_db(tmp_path / "cidrep.db")
    db.execute(
        "UPDATE source_state SET last_checked = '2026-01-02T00:00:00Z',"
        " last_success = '2026-01-02T00:00:00Z'"
    )
    db.execute(
        """INSERT INTO source_state (number_id, source, verdict, since, last_checked,
           last_success, checks) VALUES (1, 'ftc', 'clean', '2026-01-02T00:00:00Z',
           '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z', 1)"""
    )
    db.conn.commit()
    db.close()
    report = json.loads(cli("report", A, "--json").stdout)
    assert report["sources"]["manual"]["health"] == "ok"
    assert report["sources"]["ftc"]["health"] == "stale"
    assert report["stale"] == ["ftc"]


def test_the_example_config_shows_the_real_defaults():
    import tomllib
    from pathlib import Path

    from cidrep.disputes import DEFAULT_CARRIERS, DEFAULT_ENGINES

    text = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text()
    start = text.index("# [carriers]")
    end = text.index("\n\n", start)
    block = "\n".join(line.removeprefix("# ") for line in text[start:end].splitlines())
    parsed = tomllib.loads(block.replace("#\n", "\n"))
    parsed["carriers"].pop("Example MVNO")
    assert parsed == {"carriers": DEFAULT_CARRIERS, "engines": DEFAULT_ENGINES}
