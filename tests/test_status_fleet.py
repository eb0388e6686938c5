"""``cidrep status``: the fleet at a glance. Filters, sort orders, the summary line,
the table (80 columns, NO_COLOR), CSV, Markdown and the versioned JSON.

The database is written by the normal writer (``ObservationWriter``) at times
relative to now, so failing and stale are what the CLI computes at run time:

======  =======  ===============  ==============================================  =========
number  account  label            states                                          verdict
======  =======  ===============  ==============================================  =========
A 0101  default  Alpha main ...   alpha flagged 48 h ago; fcc clean 1 h ago       flagged
B 0102  default  beta             alpha clean; carrierz T-Mobile flagged 2 h ago  flagged
C 0103  default  Gamma | west     alpha clean 30 h ago; fcc clean 5 h ago: stale  clean
D 0104  default  (none)           fcc failed, never a success                     error
E 0105  default  delta, "the" ..  alpha unknown                                   unknown
F 0106  default  epsilon          nothing                                         unchecked
G 0107  acme     zeta             alpha flagged 10 h ago, then failed             flagged
P 0108  default  Paused line      alpha clean 3 h ago; paused                     clean
======  =======  ===============  ==============================================  =========

fcc's interval is 2 h here (stale after 3 h); alpha and carrierz are unregistered
(24 h: stale after 36 h).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from datetime import datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from cidrep.cli import make_app
from cidrep.contract import Observation, Verdict
from cidrep.reports import fleet
from cidrep.reports import fleet_table as table
from cidrep.reports.fleet_schema import json_schema
from cidrep.store import fleet as fleet_store
from cidrep.store import open_db
from cidrep.store.history import ObservationWriter
from cidrep.store.numbers import NumberEntry, add_account, add_numbers
from cidrep.timeutil import iso, utcnow

DOCS = Path(__file__).resolve().parent.parent / "docs"
A, B, C, D, E, F, G, P = (f"+1202555010{i}" for i in range(1, 9))
LONG = "Alpha main line for the collections team in the east region"
LABELS = {
    A: LONG,
    B: "beta",
    C: "Gamma | west",
    D: None,
    E: 'delta, "the" line',
    F: "epsilon",
    G: "zeta",
    P: "Paused line",
}
CONFIG = '[sources.fcc]\ninterval = "2h"\n'


def _at(now: datetime, hours: float) -> str:
    return iso(now - timedelta(hours=hours))


@pytest.fixture
def fleet_db(tmp_path):
    """The table above, in the CLI's database; returns (path, now, ids)."""
    now = utcnow()
    path = tmp_path / "cidrep.db"
    db = open_db(path)
    acme = add_account(db, "acme", None, _at(now, 100))["id"]
    entries = [NumberEntry(n, LABELS[n], ("team:x",) if n == A else ()) for n in LABELS if n != G]
    add_numbers(db, 1, entries, _at(now, 100))
    add_numbers(db, acme, [NumberEntry(G, LABELS[G], ("team:x",))], _at(now, 100))
    ids = {r["e164"]: r["id"] for r in db.query("SELECT id, e164 FROM numbers")}

    def write(hours: float, source: str, number: str, *answers: Observation) -> None:
        writer = ObservationWriter(db, 1, _at(now, hours))
        writer.add_answers([ids[number]], source, answers)
        writer.flush()

    def obs(number: str, verdict: Verdict, **kw: object) -> Observation:
        return Observation(number, verdict, **kw)  # type: ignore[arg-type]

    write(48, "alpha", A, obs(A, Verdict.FLAGGED, label="Robocall"))
    write(1, "alpha", A, obs(A, Verdict.FLAGGED, label="Robocall"))
    write(1, "fcc", A, obs(A, Verdict.CLEAN))
    write(1, "alpha", B, obs(B, Verdict.CLEAN))
    write(
        2,
        "carrierz",
        B,
        obs(B, Verdict.FLAGGED, label="Scam Likely", carrier="T-Mobile"),
        obs(B, Verdict.CLEAN, carrier="Verizon"),
    )
    write(30, "alpha", C, obs(C, Verdict.CLEAN))
    write(1, "alpha", C, obs(C, Verdict.CLEAN))
    write(5, "fcc", C, obs(C, Verdict.CLEAN))
    write(1, "fcc", D, Observation.failed(D, "HTTP 503"))
    write(1, "alpha", E, obs(E, Verdict.UNKNOWN))
    write(10, "alpha", G, obs(G, Verdict.FLAGGED, label="Spam"))
    write(1, "alpha", G, Observation.failed(G, "timeout"))
    write(3, "alpha", P, obs(P, Verdict.CLEAN))
    db.execute("UPDATE numbers SET paused_at = ? WHERE e164 = ?", [_at(now, 2), P])
    db.conn.commit()
    db.close()
    return path, now, ids


@pytest.fixture
def cli(fleet_db, tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text(CONFIG)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)

    def invoke(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(make_app(), list(args), env=env, catch_exceptions=False)

    return invoke


def numbers_of(result) -> list[str]:
    """The numbers of a table, in order (each row starts with the number)."""
    assert result.exit_code == 0, result.output
    return [
        "+1" + line[3:15].replace("-", "")
        for line in result.output.splitlines()
        if line.startswith("+1 ")
    ]


def json_numbers(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [n["number"] for n in json.loads(result.output)["numbers"]]


# -- filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), [G, A, B, C, D, E, F, P]),  # default: account (acme first), then number
        (("--flagged",), [G, A, B]),
        (("--failing",), [G, C, D]),  # G alpha failing, C fcc stale, D fcc failing
        (("--verdict", "flagged"), [G, A, B]),
        (("--verdict", "clean"), [C, P]),
        (("--verdict", "unknown"), [E]),
        (("--verdict", "error"), [D]),
        (("--verdict", "unchecked"), [F]),
        (("--source", "fcc"), [A, C, D]),
        (("--source", "fcc", "--verdict", "clean"), [A, C]),
        (("--source", "fcc", "--failing"), [C, D]),
        (("--source", "alpha", "--flagged"), [G, A]),
        (("--source", "carrierz"), [B]),
        (("--source", "alpha", "--verdict", "clean"), [B, C, P]),
        (("--tag", "team:x"), [G, A]),
        (("--account", "acme"), [G]),
        (("--failing", "--verdict", "clean"), [C]),
    ],
)
def test_each_filter_in_table_and_json(cli, args, expected):
    assert numbers_of(cli("status", *args)) == expected
    assert json_numbers(cli("status", *args, "--json")) == expected


def test_the_global_account_option_still_scopes(cli):
    assert json_numbers(cli("--account", "acme", "status", "--json")) == [G]
    assert json_numbers(cli("--account", "acme", "status", "--account", "acme", "--json")) == [G]
    clash = cli("--account", "default", "status", "--account", "acme")
    assert clash.exit_code == 2 and "status: --account 'acme'" in clash.output


def test_with_a_source_the_verdict_is_that_sources(cli):
    items = {
        n["number"]: n
        for n in json.loads(cli("status", "--source", "fcc", "--json").output)["numbers"]
    }
    assert items[A]["verdict"] == "clean"  # alpha flags A, but fcc says clean
    assert items[A]["flagged_on"] == [] and list(items[A]["sources"]) == ["fcc"]
    assert items[C]["stale"] == ["fcc"] and items[D]["verdict"] == "error"
    row = next(
        line for line in cli("status", "--source", "fcc").output.splitlines() if "555-0101" in line
    )
    assert "clean" in row.split() and "flagged" not in row


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--verdict", "dirty"), "unknown --verdict 'dirty'"),
        (("--sort", "colour"), "unknown --sort 'colour'"),
        (("--flagged", "--verdict", "clean"), "--flagged and --verdict clean"),
        (("--source", "nope"), "unknown --source 'nope'"),
        (("--json", "--csv"), "choose one of --json, --csv, --markdown"),
        (("--account", "ghost"), "no account named 'ghost'"),
    ],
)
def test_bad_options_are_one_line_exit_2(cli, args, message):
    result = cli("status", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_no_match_and_no_numbers(cli, tmp_path, monkeypatch):
    assert cli("status", "--tag", "nobody").output.startswith("no numbers match these filters")
    assert cli("status", "--tag", "nobody", "--csv").output.splitlines() == [
        ",".join(table.CSV_COLUMNS)
    ]
    empty = json.loads(cli("status", "--tag", "nobody", "--json").output)
    assert empty["numbers"] == [] and empty["summary"]["numbers"] == 0
    monkeypatch.setenv("CIDREP_DB", str(tmp_path / "fresh.db"))
    cli("numbers", "list")  # creates the empty database
    assert cli("status").output.startswith("no numbers monitored yet")


# -- sort orders ----------------------------------------------------------------------


SORTED = {
    "verdict": [A, B, G, D, E, C, P, F],  # flagged, error, unknown, clean, not checked
    "since": [A, C, G, P, B, E, D, F],  # 48 h, 30 h, 10 h, 3 h, 2 h, 1 h; none last
    "number": [A, B, C, D, E, F, G, P],
    "label": [A, B, E, F, C, P, G, D],  # case-insensitive; unlabelled last
}


@pytest.mark.parametrize("sort", list(SORTED))
def test_each_sort_order(cli, sort):
    assert numbers_of(cli("status", "--sort", sort)) == SORTED[sort]
    assert json_numbers(cli("status", "--sort", sort, "--json")) == SORTED[sort]


def test_sorting_a_filtered_fleet(cli):
    assert numbers_of(cli("status", "--flagged", "--sort", "since")) == [A, G, B]
    by_alpha = ("--source", "alpha", "--verdict", "clean", "--sort", "since")
    assert numbers_of(cli("status", *by_alpha)) == [C, P, B]  # alpha's since: 30 h, 3 h, 1 h
    every = ("--source", "fcc", "--failing", "--verdict", "clean", "--sort", "since")
    assert json_numbers(cli("status", *every, "--json")) == [C]
    assert numbers_of(cli("status", "--source", "alpha", "--sort", "verdict")) == [A, G, E, B, C, P]


def test_sql_order_and_verdicts_agree_with_the_pure_rules(fleet_db):
    """Whatever SQL sorts and filters by is what the pure rules compute per line."""
    path, now, _ = fleet_db
    db = open_db(path)
    intervals = {"fcc": timedelta(hours=2)}.get
    for source in (None, "alpha", "fcc", "carrierz"):
        for sort in (None, *fleet.SORTS):
            f = fleet.Filters(source=source, sort=sort)
            q = fleet.query_for(f, None, {"fcc": timedelta(hours=2)}, now)
            got = list(fleet.lines(db, q, f, lambda s: intervals(s, timedelta(hours=24)), now))
            assert got == sorted(got, key=lambda line, s=sort: fleet.sort_key(line, s)), (
                source,
                sort,
            )
        sql, params = fleet_store.verdict_sql(source)
        since, since_params = fleet_store.since_sql(source)
        by_sql = {
            r[0]: (r[1], r[2])
            for r in db.execute(
                f"SELECT n.e164, {sql}, {since} FROM numbers n", [*params, *since_params]
            )
        }
        f = fleet.Filters(source=source)
        q = fleet.query_for(f, None, {}, now)
        for line in fleet.lines(db, q, f, lambda s: timedelta(hours=24), now):
            assert by_sql[line["number"]] == (line["verdict"], line["since"]), line


def test_verdict_sql_mirrors_summarize_on_random_states(tmp_path):
    """300 random sets of states (verdict, failing or not) for one number."""
    db = open_db(tmp_path / "m.db")
    add_numbers(db, 1, [NumberEntry(A)], "2026-01-01T00:00:00Z")
    rng = random.Random(7)
    now = utcnow()
    for _ in range(300):
        db.execute("DELETE FROM source_state")
        for source in rng.sample(["s1", "s2", "s3"], rng.randint(0, 3)):
            verdict = rng.choice([None, "clean", "flagged", "unknown"])
            success = None if verdict is None else f"2026-01-0{rng.randint(1, 3)}T00:00:00Z"
            failure = rng.choice([None, "2026-01-02T00:00:00Z"])
            db.execute(
                """INSERT INTO source_state (number_id, source, verdict, since, last_success,
                   last_failure) VALUES (1, ?, ?, ?, ?, ?)""",
                [source, verdict, success, success, failure],
            )
        sql, params = fleet_store.verdict_sql(None)
        [(by_sql,)] = db.execute(f"SELECT {sql} FROM numbers n", params).fetchall()
        f = fleet.Filters()
        [line] = fleet.lines(db, fleet.query_for(f, None, {}, now), f, lambda s: None, now)
        assert by_sql == line["verdict"]


def test_lines_stream_a_page_at_a_time(fleet_db, monkeypatch):
    path, now, _ = fleet_db
    db = open_db(path)
    pulled = []
    real = fleet_store.iter_numbers

    def counting(*args, **kwargs):
        for page in real(*args, **kwargs):
            pulled.append(len(page))
            yield page

    monkeypatch.setattr(fleet_store, "iter_numbers", counting)
    f = fleet.Filters()
    lines = fleet.lines(db, fleet.query_for(f, None, {}, now), f, lambda s: None, now, page=2)
    next(lines)
    assert pulled == [2]  # one page read for the first line, not the fleet
    assert len(list(lines)) == 7 and pulled == [2, 2, 2, 2]


# -- the summary -------------------------------------------------------------------------


def test_the_summary_counts_by_source_and_carrier(cli):
    summary = json.loads(cli("status", "--json").output)["summary"]
    assert summary == {
        "numbers": 8,
        "verdicts": {"flagged": 3, "error": 1, "unknown": 1, "clean": 2, "unchecked": 1},
        "paused": 1,
        "flagged_on": {"alpha": 2, "carrierz: T-Mobile": 1},
        "failing": {"alpha": 1, "fcc": 1},
        "stale": {"fcc": 1},
    }
    text = cli("status").output.splitlines()
    assert text[-1] == (
        "8 numbers: 3 flagged (on alpha 2, carrierz: T-Mobile 1), 1 error, 1 unknown, "
        "2 clean, 1 not checked; failing: alpha 1, fcc 1; stale: fcc 1; paused: 1"
    )
    flagged = cli("status", "--flagged").output.splitlines()[-1]
    assert flagged.startswith("3 numbers: 3 flagged (on alpha 2, carrierz: T-Mobile 1), 0 clean")
    assert flagged.endswith("failing: alpha 1; stale: none")


def _line(**kw):
    base = {
        "number": A,
        "account": "default",
        "label": None,
        "paused": False,
        "verdict": None,
        "since": None,
        "verdict_sources": [],
        "flagged_on": [],
        "failing": [],
        "stale": [],
    }
    return {**base, **kw}


def test_summary_pure_and_wrapped_between_pieces():
    t = fleet.Tally()
    t.add(_line(verdict="flagged", flagged_on=["ftc", "trustcall: T-Mobile"], failing=["fcc"]))
    t.add(_line(verdict="flagged", flagged_on=["trustcall: T-Mobile"], stale=["ftc"]))
    t.add(_line(verdict="clean", paused=True))
    t.add(_line())
    one = fleet.summary_text(t)
    assert one == [
        "4 numbers: 2 flagged (on trustcall: T-Mobile 2, ftc 1), 1 clean, 1 not checked; "
        "failing: fcc 1; stale: ftc 1; paused: 1"
    ]
    wrapped = fleet.summary_text(t, 40)
    assert all(len(line) <= 40 for line in wrapped), wrapped
    assert " ".join(s.strip() for s in wrapped) == one[0]  # only broken at spaces between pieces
    assert "trustcall: T-Mobile 2," in " ".join(wrapped).replace("\n", "")
    assert all(not line.endswith(("trustcall:", "(on")) for line in wrapped)
    empty = fleet.summary_text(fleet.Tally())
    assert empty == ["0 numbers: 0 flagged, 0 clean, 0 not checked; failing: none; stale: none"]


# -- pure rules: filters, sort keys, since ----------------------------------------------


@pytest.mark.parametrize(
    ("line", "filters", "passes"),
    [
        (_line(), fleet.Filters(), True),
        (_line(verdict="flagged"), fleet.Filters(verdict="flagged"), True),
        (_line(verdict="clean"), fleet.Filters(verdict="flagged"), False),
        (_line(), fleet.Filters(verdict="unchecked"), True),
        (_line(verdict="error"), fleet.Filters(verdict="unchecked"), False),
        (_line(stale=["ftc"]), fleet.Filters(failing=True), True),
        (_line(failing=["ftc"]), fleet.Filters(failing=True), True),
        (_line(), fleet.Filters(failing=True), False),
        (_line(verdict="clean", stale=["x"]), fleet.Filters(verdict="clean", failing=True), True),
        (
            _line(verdict="flagged", stale=["x"]),
            fleet.Filters(verdict="clean", failing=True),
            False,
        ),
    ],
)
def test_matches_truth_table(line, filters, passes):
    assert fleet.matches(line, filters) is passes


def test_sort_keys_truth_table():
    lines = [
        _line(number="+3", verdict="clean", since="2026-01-01", label="b"),
        _line(number="+2", verdict=None, label=None),
        _line(number="+1", verdict="flagged", since="2026-02-01", label="B"),
        _line(number="+4", verdict="error", label="a"),
        _line(number="+5", verdict="unknown", since="2026-01-01", label="", account="acme"),
    ]

    def order(sort):
        return [x["number"] for x in sorted(lines, key=lambda x: fleet.sort_key(x, sort))]

    assert order("verdict") == ["+1", "+4", "+5", "+3", "+2"]
    assert order("since") == ["+3", "+5", "+1", "+2", "+4"]  # ties by number, none last
    assert order("number") == ["+1", "+2", "+3", "+4", "+5"]
    assert order("label") == ["+4", "+1", "+3", "+2", "+5"]  # a, B, b; no label last
    assert order(None) == ["+5", "+1", "+2", "+3", "+4"]  # account, then number


def test_since_is_when_the_shown_verdict_began():
    states = {"a": ("flagged", "T2"), "b": ("flagged", "T1"), "c": ("clean", "T0")}
    assert fleet.since_of("flagged", states) == "T1"
    assert fleet.since_of("clean", states) == "T0"
    assert fleet.since_of("error", states) is None and fleet.since_of(None, states) is None


# -- the table: 80 columns, colour ------------------------------------------------------


def test_the_table_fits_80_columns_one_line_per_number(cli):
    result = cli("status", env={"COLUMNS": "80"})
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, lines
    assert len([line for line in lines if line.startswith("+1 ")]) == 8
    row = next(line for line in lines if "555-0101" in line)
    assert "Alpha main" in row and "…" in row and LONG not in row  # cut, not wrapped
    assert lines[0].split()[:3] == ["NUMBER", "ACCOUNT", "LABEL"]  # two accounts hold numbers
    narrow = cli("status", "--sort", "verdict", env={"COLUMNS": "60"}).output.splitlines()
    assert max(len(line) for line in narrow) <= 60, narrow
    assert (
        numbers_of(cli("status", "--sort", "verdict", env={"COLUMNS": "60"})) == SORTED["verdict"]
    )


def test_without_a_terminal_nothing_is_cut(cli):
    lines = cli("status").output.splitlines()
    assert LONG in next(line for line in lines if "555-0101" in line)
    assert "AS OF (UTC)" in lines[0]


def test_no_color_means_no_escape_codes(cli):
    forced = cli("status", env={"FORCE_COLOR": "1"}).output
    assert "\x1b[1;31mflagged\x1b[0m" in forced  # the switch works...
    assert "\x1b[" not in cli("status", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).output
    assert "\x1b[" not in cli("status").output  # ...and a pipe gets none by default
    plain = cli("status").output.splitlines()
    coloured = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in forced.splitlines()]
    assert coloured == plain  # colour never moves a column


@pytest.mark.parametrize(
    ("env", "tty", "colour"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "0"}, False, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ({"TERM": "dumb"}, True, False),
    ],
)
def test_use_colour_truth_table(env, tty, colour):
    assert table.use_colour(env, tty) is colour


def test_table_width_and_fit_steps():
    assert table.table_width({"COLUMNS": "80"}, False, None) == 80
    assert table.table_width({"COLUMNS": "x"}, True, 120) == 120
    assert table.table_width({}, False, 120) is None
    natural = {"number": 15, "label": 40, "verdict": 7, "since": 16, "sources": 30, "as_of": 16}
    assert table.fit(natural, None) == natural
    assert table.fit(natural, 500) == natural
    step1 = table.fit(natural, 120)  # the label gives way first
    assert step1["label"] < 40 and step1["sources"] == 30 and "as_of" in step1
    step2 = table.fit(natural, 100)  # then AS OF goes
    assert "as_of" not in step2 and step2["sources"] == 30
    step3 = table.fit(natural, 80)  # then SOURCES narrows
    assert sum(step3.values()) + 2 * (len(step3) - 1) <= 80 and "since" in step3
    tiny = table.fit(natural, 45)
    assert "since" not in tiny and tiny["number"] == 15
    assert table.clip("abcdef", 4) == "abc…" and table.clip("abc", 4) == "abc"


# -- CSV, Markdown, JSON --------------------------------------------------------------------


def test_csv_parses_back(cli):
    out = cli("status", "--csv").output
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == list(table.CSV_COLUMNS)
    by = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert list(by) == [G, A, B, C, D, E, F, P]
    assert by[E]["label"] == 'delta, "the" line'  # quoted per RFC 4180
    assert by[B]["flagged_on"] == "carrierz: T-Mobile" and by[B]["verdict"] == "flagged"
    assert by[F]["verdict"] == "" and by[P]["paused"] == "true"
    assert by[A]["tags"] == "team:x" and by[C]["stale"] == "fcc"
    assert by[G]["since"].endswith("Z") and by[G]["failing"] == "alpha"
    raw = cli("status", "--csv").stdout_bytes
    assert raw.count(b"\r\n") == 9 and raw.count(b"\n") == 9  # CRLF record ends


def test_markdown_table_shape(cli):
    lines = cli("status", "--markdown", "--sort", "number").output.splitlines()
    assert lines[0].startswith("| Number | Account | Label | Verdict | Since (UTC) |")
    assert re.fullmatch(r"\|(---\|)+", lines[1])
    rows = lines[2:10]
    cells = [len(re.findall(r"(?<!\\)\|", line)) for line in [lines[0], *rows]]
    assert len(set(cells)) == 1, cells  # every row has the header's columns
    assert "Gamma \\| west" in rows[2]
    assert lines[10] == "" and lines[11].startswith("8 numbers: 3 flagged")


def test_schema_file_is_the_generated_schema():
    """Stale: run ``python -m cidrep.reports.fleet_schema status > docs/status.schema.json``."""
    committed = json.loads((DOCS / "status.schema.json").read_text())
    assert committed == json_schema("status")
    jsonschema.Draft202012Validator.check_schema(committed)


@pytest.mark.parametrize(
    "args", [(), ("--source", "carrierz"), ("--flagged", "--sort", "since"), ("--tag", "no")]
)
def test_json_validates_and_streams_numbers_before_the_summary(cli, args):
    schema = json.loads((DOCS / "status.schema.json").read_text())
    out = cli("status", *args, "--json").output
    doc = json.loads(out)
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]
    assert errors == []
    assert list(doc) == ["schema_version", "generated_at", "filters", "numbers", "summary"]
    assert doc["schema_version"] == 1 and doc["summary"]["numbers"] == len(doc["numbers"])
    lines = out.splitlines()
    assert len(lines) == len(doc["numbers"]) + 2  # one line per number: written as it goes


def test_json_items_carry_carriers_and_since(cli):
    doc = json.loads(cli("status", "--json").output)
    assert doc["filters"] == {
        "account": None,
        "tag": None,
        "source": None,
        "verdict": None,
        "failing": False,
        "sort": None,
    }
    items = {n["number"]: n for n in doc["numbers"]}
    assert items[B]["flagged_on"] == ["carrierz: T-Mobile"]
    lanes = items[B]["sources"]["carrierz"]["carriers"]
    assert [(c["carrier"], c["verdict"]) for c in lanes] == [
        ("T-Mobile", "flagged"),
        ("Verizon", "clean"),
    ]
    assert items[A]["since"] < items[G]["since"] and items[F]["since"] is None
