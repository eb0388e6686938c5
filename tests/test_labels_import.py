"""``cidrep labels import``: label exports (carrier portals, dialers, other vendors) as
dated per-carrier observations; all-or-nothing, idempotent, line-numbered problems."""

from __future__ import annotations

import csv
import io
import json

import pytest
from clitools import cli_invoker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cidrep.errors import CidrepError
from cidrep.labels.importer import HEADERS, parse_labels_csv, parse_map
from cidrep.store import open_db

A, B = "+12025550143", "+13125550188"
STRANGER = "+14155550199"  # a valid number nobody monitors
NOW = "2024-06-01T00:00:00Z"
CARRIERS = ("AT&T", "Verizon", "T-Mobile")

PORTAL = (
    "Phone Number,Carrier,Label,Date Checked\n"
    "(202) 555-0143,Verizon,Spam Risk,2024-03-01\n"
    "202-555-0143,AT&T,Clean,03/01/2024\n"
    "+1 312 555 0188,tmobile,Scam Likely,2024-03-02T10:00:00Z\n"
    "312-555-0188,Verizon,,2024-03-02\n"
)
STATE_TABLES = ("observations", "carrier_state", "source_state")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    invoke = cli_invoker(tmp_path, monkeypatch, "cidrep_plugins.ftc,cidrep_plugins.trustcall")
    assert invoke("numbers", "add", A, B, config_text="").exit_code == 0
    return invoke


def rows(tmp_path, sql):
    db = open_db(tmp_path / "cidrep.db")
    try:
        return [tuple(r.values()) for r in db.query(sql)]
    finally:
        db.close()


def dump(tmp_path):
    """Every row of the history and state tables: equal dumps, nothing changed."""
    return {t: sorted(rows(tmp_path, f"SELECT * FROM {t}"), key=repr) for t in STATE_TABLES}


def labels_now(tmp_path):
    """(carrier, label) of each carrier's current state."""
    return rows(
        tmp_path,
        "SELECT c.carrier, o.label FROM carrier_state c JOIN observations o ON o.id = c.obs_id "
        "ORDER BY c.source, c.carrier",
    )


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def carriers(report, source):
    return {c["carrier"]: (c["verdict"], c["label"], c["since"]) for c in report[source]}


def test_an_import_is_per_carrier_state_in_report_and_status(cli, tmp_path):
    path = write(tmp_path, "portal.csv", PORTAL)
    out = cli("labels", "import", path, "--source", "carrier-portal")
    assert out.exit_code == 0, out.output
    assert "columns: number=Phone Number, carrier=Carrier, label=Label, date=Date Checked" in (
        out.stdout
    )
    assert (
        f"imported 4 label(s) for 2 number(s) from {path} into source carrier-portal "
        "(0 already recorded, 0 skipped)" in out.stdout
    )
    report = json.loads(cli("report", A, "--json").stdout)["sources"]
    assert carriers(report["carrier-portal"], "carriers") == {
        "Verizon": ("flagged", "Spam Risk", "2024-03-01T00:00:00Z"),
        "AT&T": ("clean", None, "2024-03-01T00:00:00Z"),
    }
    assert report["carrier-portal"]["health"] == "ok"  # recorded: never stale
    report_b = json.loads(cli("report", B, "--json").stdout)["sources"]
    assert carriers(report_b["carrier-portal"], "carriers") == {
        "T-Mobile": ("flagged", "Scam Likely", "2024-03-02T10:00:00Z"),  # "tmobile" spelled
        "Verizon": ("clean", None, "2024-03-02T00:00:00Z"),
    }
    status = cli("status").stdout
    assert "carrier-portal: Verizon" in status and "carrier-portal: T-Mobile" in status
    assert rows(tmp_path, "SELECT source, kind FROM recorded_sources") == [
        ("carrier-portal", "import")
    ]


def test_an_imported_flag_alerts_like_a_check(cli, tmp_path):
    path = write(tmp_path, "p.csv", PORTAL)
    out = cli("labels", "import", path, "--source", "carrier-portal")
    assert "FLAGGED +1 202-555-0143 flagged" in out.stdout
    flips = rows(
        tmp_path,
        "SELECT n.e164, f.alert FROM flips f JOIN numbers n ON n.id = f.number_id "
        "WHERE f.kind = 'flagged' ORDER BY n.e164",
    )
    assert [e164 for e164, _ in flips] == [A, B]
    assert json.loads(flips[0][1])["changed_by"] == ["carrier-portal"]


def test_reimporting_the_same_file_changes_nothing(cli, tmp_path):
    path = write(tmp_path, "portal.csv", PORTAL)
    assert cli("labels", "import", path, "--source", "portal").exit_code == 0
    before = dump(tmp_path)
    assert before["observations"]  # something to compare
    again = cli("labels", "import", path, "--source", "portal")
    assert again.exit_code == 0, again.output
    assert "imported 0 label(s) for 2 number(s)" in again.stdout
    assert "(4 already recorded, 0 skipped)" in again.stdout
    assert "FLAGGED" not in again.stdout  # no second alert
    assert dump(tmp_path) == before
    summary = json.loads(cli("labels", "import", path, "--source", "portal", "--json").stdout)
    assert (summary["imported"], summary["known"], summary["numbers"]) == (0, 4, 2)
    assert dump(tmp_path) == before


def test_an_extended_file_adds_only_the_new_rows(cli, tmp_path):
    path = write(tmp_path, "portal.csv", PORTAL)
    cli("labels", "import", path, "--source", "portal")
    count = len(dump(tmp_path)["observations"])
    longer = PORTAL + "202-555-0143,Verizon,Clean,2024-03-05\n202-555-0143,AT&T,Clean,2024-03-05\n"
    path = write(tmp_path, "portal.csv", longer)
    out = cli("labels", "import", path, "--source", "portal")
    assert "imported 2 label(s) for 2 number(s)" in out.stdout
    assert "(4 already recorded, 0 skipped)" in out.stdout
    # Verizon went clean: a new history row; AT&T stayed clean: its row is extended.
    assert len(dump(tmp_path)["observations"]) == count + 1 + 1  # + the source-level sum
    report = json.loads(cli("report", A, "--json").stdout)["sources"]["portal"]
    assert carriers(report, "carriers")["Verizon"] == ("clean", None, "2024-03-05T00:00:00Z")
    assert "CLEARED" in out.stdout


def test_out_of_order_rows_keep_the_newest_as_state_and_all_as_history(cli, tmp_path):
    text = (
        "number,carrier,label,date\n"
        f"{A},T-Mobile,Clean,2024-03-10\n"
        f"{A},T-Mobile,Scam Likely,2024-03-01\n"
    )
    assert cli("labels", "import", write(tmp_path, "a.csv", text), "-s", "v").exit_code == 0
    older = f"number,carrier,label,date\n{A},T-Mobile,Spam Risk,2024-02-01\n"
    assert cli("labels", "import", write(tmp_path, "b.csv", older), "-s", "v").exit_code == 0
    history = rows(
        tmp_path,
        "SELECT verdict, label, first_seen FROM observations WHERE carrier = 'T-Mobile' "
        "ORDER BY first_seen",
    )
    assert history == [
        ("flagged", "Spam Risk", "2024-02-01T00:00:00Z"),
        ("flagged", "Scam Likely", "2024-03-01T00:00:00Z"),
        ("clean", None, "2024-03-10T00:00:00Z"),
    ]
    report = json.loads(cli("report", A, "--json").stdout)["sources"]["v"]
    assert carriers(report, "carriers") == {"T-Mobile": ("clean", None, "2024-03-10T00:00:00Z")}


def test_a_bad_row_writes_nothing_and_names_its_line(cli, tmp_path):
    cli("labels", "import", write(tmp_path, "ok.csv", PORTAL), "-s", "portal")
    db_file = tmp_path / "cidrep.db"
    before, raw = dump(tmp_path), db_file.read_bytes()
    text = PORTAL + "202-555-0143,Verizon,Spam Risk,2024-13-45\n"  # line 6
    text = text.replace("202-555-0143,AT&T,Clean,03/01/2024", "202-555-0143,AT&T,Clean,03/07/2024")
    lines = text.splitlines()
    lines.insert(4, "555-12,AT&T,Clean,2024-03-03")  # line 5
    path = write(tmp_path, "bad.csv", "\n".join(lines) + "\n")
    out = cli("labels", "import", path, "-s", "portal")
    assert out.exit_code == 2
    assert f"{path}:line 5: '555-12'" in out.stderr
    assert f"{path}:line 7: '2024-13-45' is not a date" in out.stderr
    assert "2 of 6 rows" in out.stderr and "nothing imported" in out.stderr
    assert "Traceback" not in out.output
    assert db_file.read_bytes() == raw and dump(tmp_path) == before


def test_skip_invalid_records_the_other_rows(cli, tmp_path):
    text = PORTAL + f"{STRANGER},AT&T,Clean,2024-03-03\n" + "nonsense,AT&T,Clean,2024-03-03\n"
    path = write(tmp_path, "p.csv", text)
    strict = cli("labels", "import", path, "-s", "portal")
    assert strict.exit_code == 2
    assert f"{path}:line 6: {STRANGER} is not monitored" in strict.stderr
    assert not rows(tmp_path, "SELECT * FROM observations")
    out = cli("labels", "import", path, "-s", "portal", "--skip-invalid")
    assert out.exit_code == 0, out.output
    assert "imported 4 label(s) for 2 number(s)" in out.stdout
    assert "(0 already recorded, 2 skipped)" in out.stdout
    assert f"skipped {path}:line 6: {STRANGER} is not monitored" in out.stderr
    assert f"skipped {path}:line 7: 'nonsense'" in out.stderr
    assert len(rows(tmp_path, "SELECT * FROM carrier_state")) == 4


def test_at_most_twenty_problems_are_listed(cli, tmp_path):
    text = "number,carrier,label,date\n" + "".join(f"{A},AT&T,Clean,bad{i}\n" for i in range(25))
    out = cli("labels", "import", write(tmp_path, "p.csv", text), "-s", "portal")
    assert out.exit_code == 2
    assert out.stderr.count("is not a date") == 20
    assert "... and 5 more" in out.stderr
    assert "25 of 25 rows" in out.stderr


def test_dry_run_validates_and_writes_nothing(cli, tmp_path):
    before = dump(tmp_path)
    path = write(tmp_path, "p.csv", PORTAL)
    out = cli("labels", "import", path, "-s", "portal", "--dry-run")
    assert out.exit_code == 0, out.output
    assert "dry run: would import 4 label(s) for 2 number(s)" in out.stdout
    assert "nothing written" in out.stdout
    assert dump(tmp_path) == before
    assert not rows(tmp_path, "SELECT * FROM recorded_sources")
    bad = write(tmp_path, "b.csv", PORTAL + f"{STRANGER},AT&T,Clean,2024-03-03\n")
    assert cli("labels", "import", bad, "-s", "portal", "--dry-run").exit_code == 2


def test_map_names_custom_columns(cli, tmp_path):
    text = "Caller;Where;What they saw;When\n2025550143;T-Mobile;Scam Likely;2024-03-01\n"
    path = write(tmp_path, "custom.csv", text)
    out = cli("labels", "import", path, "-s", "dialer", "--map", "number=Caller,carrier=where")
    assert out.exit_code == 2  # label and date cannot be told
    assert "--map label=COLUMN" in out.stderr
    out = cli(
        "labels",
        "import",
        path,
        "-s",
        "dialer",
        "--map",
        "number=Caller,carrier=where",
        "--map",
        "label=What they saw,date=4",
    )
    assert out.exit_code == 0, out.output
    assert "columns: number=Caller, carrier=Where, label=What they saw, date=When" in out.stdout
    assert labels_now(tmp_path) == [("T-Mobile", "Scam Likely")]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("phone=Caller", "--map: unknown key 'phone' (keys: number, carrier, label, date)"),
        ("number=Nope", "--map number=Nope: "),
        ("number", "--map: 'number' is not KEY=COLUMN"),
        ("number=Caller,label=Caller", "--map: number and label are the same column"),
    ],
)
def test_a_bad_map_is_a_usage_error_before_any_row(cli, tmp_path, option, message):
    path = write(tmp_path, "c.csv", "Caller,Where,What,When\n2025550143,AT&T,x,2024-03-01\n")
    out = cli("labels", "import", path, "-s", "dialer", "--map", option)
    assert out.exit_code == 2
    assert message in out.stderr
    assert "line 2" not in out.stderr
    assert not rows(tmp_path, "SELECT * FROM observations")


def test_carrier_option_for_every_row_or_empty_cells(cli, tmp_path):
    no_column = f"number,label,date\n{A},Scam Likely,2024-03-01\n"
    path = write(tmp_path, "tmo.csv", no_column)
    out = cli("labels", "import", path, "-s", "tmo-portal")
    assert out.exit_code == 2 and "has no carrier column" in out.stderr
    assert cli("labels", "import", path, "-s", "tmo-portal", "--carrier", "t mobile").exit_code == 0
    some_empty = f"number,carrier,label,date\n{B},Verizon,Clean,2024-03-01\n{B},,Clean,2024-03-01\n"
    path = write(tmp_path, "mixed.csv", some_empty)
    out = cli("labels", "import", path, "-s", "dialer")
    assert out.exit_code == 2 and ":line 3: no carrier in this row" in out.stderr
    assert cli("labels", "import", path, "-s", "dialer", "--carrier", "att").exit_code == 0
    assert sorted(rows(tmp_path, "SELECT source, carrier FROM carrier_state")) == [
        ("dialer", "AT&T"),
        ("dialer", "Verizon"),
        ("tmo-portal", "T-Mobile"),
    ]


def test_without_a_date_column_rows_are_dated_now(cli, tmp_path):
    path = write(tmp_path, "now.csv", f"phone,network,flag\n{A},AT&T,Flagged\n")
    out = cli("labels", "import", path, "-s", "dialer")
    assert out.exit_code == 0, out.output
    assert f"no date column in {path}: every row dated now" in out.stdout
    (since,) = rows(tmp_path, "SELECT since FROM carrier_state")[0][:1]
    assert since > "2024-06-01"


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        ("2024-03-01", "2024-03-01T00:00:00Z"),
        ("2024-03-01T14:05:00Z", "2024-03-01T14:05:00Z"),
        ("2024-03-01T14:05:00+02:00", "2024-03-01T12:05:00Z"),
        ("2024-03-01 14:05", "2024-03-01T14:05:00Z"),
        ("03/01/2024", "2024-03-01T00:00:00Z"),
        ("3/1/2024 14:05", "2024-03-01T14:05:00Z"),
    ],
)
def test_date_formats(cli, tmp_path, cell, stored):
    path = write(tmp_path, "d.csv", f"number,carrier,label,date\n{A},AT&T,Spam,{cell}\n")
    assert cli("labels", "import", path, "-s", "dialer").exit_code == 0
    assert rows(tmp_path, "SELECT first_seen FROM observations WHERE carrier = 'AT&T'") == [
        (stored,)
    ]


def test_a_utf8_bom_tab_separated_crlf_file(cli, tmp_path):
    text = (
        "\ufeffNumber\tCarrier\tStatus\tSeen\r\n"
        "2025550143\tVerizon\tSpam Risk \u00b7 TNS\t2024-03-01\r\n"
    )
    out = cli("labels", "import", write(tmp_path, "export.tsv", text), "-s", "dialer")
    assert out.exit_code == 0, out.output
    assert labels_now(tmp_path) == [("Verizon", "Spam Risk \u00b7 TNS")]


def test_a_file_that_is_not_utf8_is_one_error_naming_its_line(cli, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"number,carrier,label,date\n{A},AT&T,Spam,2024-03-01\n".encode())
    path.write_bytes(path.read_bytes() + f"{A},AT&T,Spém,2024-03-02\n".encode("latin-1"))
    out = cli("labels", "import", str(path), "-s", "dialer")
    assert out.exit_code == 2 and f"{path}:3: not UTF-8 text" in out.stderr
    assert not rows(tmp_path, "SELECT * FROM observations")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("manual", "--source manual is reserved for cidrep sighting"),
        ("Carrier Portal", "a source name is 1 to 40 lowercase letters, digits, - and _"),
        ("x" * 41, "a source name is 1 to 40"),
        ("", "a source name is 1 to 40"),
    ],
)
def test_reserved_or_invalid_source_names(cli, tmp_path, name, message):
    out = cli("labels", "import", write(tmp_path, "p.csv", PORTAL), "--source", name)
    assert out.exit_code == 2 and message in out.stderr
    assert not rows(tmp_path, "SELECT * FROM observations")


def test_importing_under_a_plugin_name_continues_its_history(cli, tmp_path):
    wide = (
        "Phone,Date,CurrScore,VerizonScore,ATTScore,TMobileScore,RoboKillerStatus\n"
        f"{A},03/01/2024,High,Clean,Flagged,Processing,Clean\n"
        f"{B},03/01/2024,Clean,Clean,Clean,Clean,Clean\n"
    )
    out = cli("labels", "import", write(tmp_path, "tc.csv", wide), "--source", "trustcall")
    assert out.exit_code == 0, out.output
    assert "one per carrier: VerizonScore=Verizon, ATTScore=AT&T, TMobileScore=T-Mobile" in (
        out.stdout
    )
    assert "1 label(s) not checked yet by the vendor (Processing) left out" in out.stdout
    assert "imported 5 label(s) for 2 number(s)" in out.stdout
    report = json.loads(cli("report", A, "--json").stdout)["sources"]["trustcall"]
    assert carriers(report, "carriers") == {
        "AT&T": ("flagged", "Flagged", "2024-03-01T00:00:00Z"),
        "Verizon": ("clean", None, "2024-03-01T00:00:00Z"),
    }


def test_map_still_wins_over_per_carrier_columns(cli, tmp_path):
    text = f"Phone,Date,ATTScore,Shown,Net\n{A},2024-03-01,Flagged,Scam Likely,T-Mobile\n"
    out = cli(
        "labels",
        "import",
        write(tmp_path, "x.csv", text),
        "-s",
        "vendor",
        "--map",
        "label=Shown,carrier=Net",
    )
    assert out.exit_code == 0, out.output
    assert labels_now(tmp_path) == [("T-Mobile", "Scam Likely")]


def test_repeated_rows_collapse_and_contradicting_rows_are_bad(cli, tmp_path):
    text = PORTAL + "202-555-0143,Verizon,Spam Risk,2024-03-01\n"
    out = cli("labels", "import", write(tmp_path, "dup.csv", text), "-s", "p", "--json")
    summary = json.loads(out.stdout)
    assert (summary["imported"], summary["duplicates"], summary["skipped"]) == (4, 1, [])
    text = PORTAL + "202-555-0143,Verizon,Clean,2024-03-01\n"
    out = cli("labels", "import", write(tmp_path, "contra.csv", text), "-s", "q")
    assert out.exit_code == 2
    assert ":line 6: line 2 gives +12025550143 on Verizon" in out.stderr


def test_json_summary(cli, tmp_path):
    text = PORTAL + f"{STRANGER},AT&T,Clean,2024-03-03\n"
    out = cli(
        "labels", "import", write(tmp_path, "p.csv", text), "-s", "p", "--skip-invalid", "--json"
    )
    summary = json.loads(out.stdout)
    assert summary["imported"] == 4 and summary["known"] == 0 and summary["rows"] == 5
    assert summary["skipped"] == [
        {"line": 6, "reason": f"{STRANGER} is not monitored (add it with cidrep numbers add)"}
    ]
    assert summary["columns"]["date"] == "Date Checked" and summary["dated_now"] is None
    assert [a["kind"] for a in summary["alerts"]] == ["flagged", "flagged"]


# -- the parser alone -------------------------------------------------------------------


def test_parse_map():
    assert parse_map(["number=Phone, label = Shown Label", "date=3"]) == {
        "number": "Phone",
        "label": "Shown Label",
        "date": "3",
    }
    with pytest.raises(CidrepError, match="given twice"):
        parse_map(["number=a", "number=b"])


def test_a_header_only_file_imports_nothing(cli, tmp_path):
    out = cli(
        "labels", "import", write(tmp_path, "h.csv", "number,carrier,label,date\n"), "-s", "p"
    )
    assert out.exit_code == 0 and "imported 0 label(s) for 0 number(s)" in out.stdout
    assert not rows(tmp_path, "SELECT * FROM runs")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        (f"{A},AT&T,Clean\n", "the first row holds a number"),
        ("a,b\nc,d\n", "cannot tell which column of CSV holds the numbers"),
    ],
)
def test_files_without_a_usable_header(text, message):
    with pytest.raises(CidrepError, match=message):
        parse_labels_csv(text, "US", NOW, carriers=CARRIERS)


NUMBERS = ("+12025550143", "+13125550188", "+16465550100")
SPELLINGS = {"+12025550143": "(202) 555-0143", "+13125550188": "312.555.0188"}
LABELS = ("Scam Likely", "Spam Risk", "Clean", "", "No label", "Flagged")
DATES = {"2024-03-01": "2024-03-01T00:00:00Z", "03/02/2024": "2024-03-02T00:00:00Z"}


def _header(role):
    return st.sampled_from(sorted(HEADERS[role] - {"from"})).flatmap(
        lambda name: st.sampled_from(
            [name, name.upper(), name.replace("_", " ").title(), name.replace("_", "-")]
        )
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.tuples(*(_header(r) for r in ("number", "carrier", "label", "date"))),
    order=st.permutations(range(4)),
    delimiter=st.sampled_from([",", ";", "\t"]),
    data=st.lists(
        st.tuples(
            st.sampled_from(NUMBERS),
            st.sampled_from(CARRIERS),
            st.sampled_from(sorted(DATES)),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_any_header_spelling_and_column_order_reads_the_same_items(headers, order, delimiter, data):
    def label(number, carrier, date):  # one label per key: repeats are true duplicates
        return LABELS[(NUMBERS.index(number) * 7 + CARRIERS.index(carrier) * 3 + len(date)) % 6]

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow([headers[i] for i in order])
    for number, carrier, date in data:
        cells = [SPELLINGS.get(number, number), carrier.lower(), label(number, carrier, date), date]
        writer.writerow([cells[i] for i in order])
    parsed = parse_labels_csv(buffer.getvalue(), "US", NOW, carriers=CARRIERS, canonical=_canonical)
    assert parsed.bad == []
    assert list(parsed.columns) == ["number", "carrier", "label", "date"]
    expected = list(dict.fromkeys((n, c, label(n, c, d), DATES[d]) for n, c, d in data))
    got = [(i.number, i.carrier, i.label, i.at) for i in parsed.items]
    assert got == expected
    assert parsed.duplicates == len(data) - len(expected)
    assert parsed.items[0].where == "line 2"


def _canonical(name):
    return next(c for c in CARRIERS if c.lower() == name.lower())
