"""``cidrep report --html FILE [NUMBER | --tag T | --account A]``: the page people send on.

The database is built through the normal writer (``ObservationWriter``) with chosen
times and the alerts evaluated after each step, as ``cidrep check`` does; carriers
come from ``cidrep sighting``. Times are relative to today (``D(n)``: 09:00 UTC n
days ago), so the charts show real flips over weeks:

- A (account default, tag team:east, labelled ``<script>alert(1)</script>``): ftc
  clean, flagged D(100) with the label ``" onmouseover="alert(1)``, a failed check
  D(95), clean D(80), flagged "Robocall" D(60) and still; fcc clean; sightings:
  T-Mobile "Scam Likely" D(50), cleared D(35), and a hostile carrier
  ``<img src=x onerror=alert(1)>`` "Spam <b>Risk</b>" D(20), mapped in the config to a
  hostile engine with a hostile (https) review URL;
- B (team:east): ftc clean; fcc clean, then failing from D(5) on;
- C (team:west): ftc clean, last checked D(10): stale (ftc's interval is 24 h);
- D (team:west): never checked;
- E (account acme): ftc flagged "Robocall" since D(30).

Expected counts come from ``report NUMBER --json`` (the lanes and timeline the chart
draws), and a few are pinned by hand. The browser test loads the page in headless
Chromium (Debian's ``chromium``) and saves screenshots at 1280 and 390 px wide into
``$CIDREP_ARTIFACTS`` (else the test's tmp dir); it skips where Chromium is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tracemalloc
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from clitools import cli_invoker

from cidrep.check import alert
from cidrep.config import load_config
from cidrep.contract import Observation, Verdict
from cidrep.plugins import get_checkers
from cidrep.reports import html_fleet
from cidrep.reports.html import link
from cidrep.reports.svg import ticks
from cidrep.store import open_db
from cidrep.store import runs as runs_store
from cidrep.store.history import ObservationWriter
from cidrep.store.numbers import NumberEntry, add_account, add_numbers
from cidrep.timeutil import iso, utcnow

ARTIFACTS = os.environ.get("CIDREP_ARTIFACTS")  # read before conftest clears CIDREP_*
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
)
NO_CHROMIUM = "Debian's chromium is not installed (apt-get install chromium; CI installs it)"

A, B, C, D, E = "+12025550143", "+13125550188", "+14155550123", "+16175550111", "+12125550177"
HOSTILE = "<script>alert(1)</script>"
ATTR = '" onmouseover="alert(1)'
CARRIER = "<img src=x onerror=alert(1)>"
ENGINE_URL = 'https://evil.example/review?a="onmouseover="alert(1)'
PLUGINS = "cidrep_plugins.ftc,cidrep_plugins.fcc,cidrep_plugins.ipqs"
CONFIG = f"""[alerts]
confirm_after = 1
recover_after = 1
[carriers]
"{CARRIER}" = "Evil {HOSTILE}"
[engines]
"Evil {HOSTILE}" = {json.dumps(ENGINE_URL)}
"""
TODAY = datetime.combine(utcnow().date(), datetime.min.time(), tzinfo=UTC)
LAST = utcnow() - timedelta(minutes=1)


def at(days: int) -> datetime:
    return TODAY - timedelta(days=days) + timedelta(hours=9)


def obs(number: str, verdict: Verdict | None, label: str | None = None) -> Observation:
    if verdict is None:
        return Observation.failed(number, "feed <b>unreadable</b>")
    return Observation(number, verdict, label=label)


CLEAN, FLAG = Verdict.CLEAN, Verdict.FLAGGED
# when, then per number id (1 A, 2 B, 3 C, 5 E): {source: observation}
STEPS: list[tuple[datetime, dict[int, dict[str, Observation]]]] = [
    (at(120), {1: {"ftc": obs(A, CLEAN)}, 2: {"ftc": obs(B, CLEAN)}, 3: {"ftc": obs(C, CLEAN)}}),
    (at(100), {1: {"ftc": obs(A, FLAG, ATTR)}, 5: {"ftc": obs(E, CLEAN)}}),
    (at(95), {1: {"ftc": obs(A, None)}}),
    (at(80), {1: {"ftc": obs(A, CLEAN)}, 2: {"fcc": obs(B, CLEAN)}}),
    (at(60), {1: {"ftc": obs(A, FLAG, "Robocall")}}),
    (at(30), {5: {"ftc": obs(E, FLAG, "Robocall")}}),
    (at(10), {3: {"ftc": obs(C, CLEAN)}}),
    (at(5), {2: {"fcc": Observation.failed(B, "HTTP 503")}}),
    (
        LAST,
        {
            1: {"ftc": obs(A, FLAG, "Robocall"), "fcc": obs(A, CLEAN)},
            2: {"ftc": obs(B, CLEAN), "fcc": Observation.failed(B, "HTTP 503")},
            5: {"ftc": obs(E, FLAG, "Robocall")},
        },
    ),
]
SIGHTINGS = [
    ("T-Mobile", "Scam Likely", 50),
    ("T-Mobile", "none", 35),
    (CARRIER, "Spam <b>Risk</b>", 20),
]


def build(tmp_path: Path, invoke: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    settings = load_config(config, get_checkers()).settings
    db = open_db(tmp_path / "cidrep.db")
    start = iso(at(120))
    add_numbers(db, 1, [NumberEntry(A, HOSTILE, ("team:east",))], start)
    add_numbers(db, 1, [NumberEntry(B, None, ("team:east",))], start)
    add_numbers(db, 1, [NumberEntry(C, None, ("team:west",))], start)
    add_numbers(db, 1, [NumberEntry(D, None, ("team:west",))], start)
    acme = add_account(db, "acme", None, start)
    add_numbers(db, acme["id"], [NumberEntry(E)], start)
    fcc = {1: obs(A, CLEAN)}  # fcc checks A at every step
    for when, numbers in STEPS:
        run = runs_store.start_run(db, iso(when), None, False)
        writer = ObservationWriter(db, run, iso(when))
        for nid, answers in {**{1: {}}, **numbers}.items():
            for source, answer in {**({"fcc": fcc[1]} if nid == 1 else {}), **answers}.items():
                writer.add([nid], source, answer)
        writer.flush()
        alert(db, settings, get_checkers(), {}, when, run)
    db.close()
    for carrier, label, days in SIGHTINGS:
        day = (TODAY - timedelta(days=days)).date().isoformat()
        out = invoke("sighting", A, "-c", carrier, "-l", label, "--at", day)
        assert out.exit_code == 0, out.output


@pytest.fixture
def cli(tmp_path, monkeypatch):
    invoke = cli_invoker(tmp_path, monkeypatch, PLUGINS)
    build(tmp_path, invoke)
    return invoke


def report_json(cli: Any, number: str) -> dict[str, Any]:
    args = ["--account", "acme"] if number == E else []
    out = cli(*args, "report", number, "--json")
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def write(cli: Any, path: Path, *args: str) -> str:
    out = cli("report", "--html", str(path), *args)
    assert out.exit_code == 0, out.output
    return path.read_text(encoding="utf-8")


# -- the DOM, as a small tree ----------------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.text: list[str] = []

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
        ]

    def all_text(self) -> str:
        return "".join(t for n in self.walk() for t in n.text)


VOID = {"meta", "br", "link", "img", "input", "hr", "source", "wbr", "area", "base", "col"}


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.at = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.at)
        self.at.children.append(node)
        if tag not in VOID:
            self.at = node

    def handle_startendtag(self, tag, attrs):
        self.at.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.at))

    def handle_endtag(self, tag):
        node = self.at
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.at = node.parent

    def handle_data(self, data):
        self.at.text.append(data)


def parse(text: str) -> Node:
    tree = Tree()
    tree.feed(text)
    tree.close()
    return tree.root


def charts(root: Node) -> dict[str, Node]:
    """number -> its timeline ``<svg>``."""
    out = {}
    for card in root.find("article", "num"):
        [svg] = card.find("svg", "timeline")
        out[card.attrs["data-number"]] = svg
    return out


def tiles(root: Node) -> dict[str, str]:
    return {
        t.attrs["data-key"]: next(c for c in t.children if "v" in c.classes).all_text()
        for t in root.find("div", "tile")
    }


def expected_chart(data: dict[str, Any]) -> tuple[int, int, int]:
    """(lanes, verdict-change diamonds, alert circles) from ``report --json``."""
    flips = [e for e in data["timeline"] if e["kind"] == "verdict" and e["old"] is not None]
    alerts = [e for e in data["timeline"] if e["kind"] not in ("verdict", "confirmed")]
    return len(data["lanes"]), len(flips), len(alerts)


def drawn(svg: Node) -> tuple[int, int, int]:
    return (
        len(svg.find("g", "lane")),
        len(svg.find("path", "flip")),
        len(svg.find("circle", "alert")),
    )


def check_fleet(root: Node, cli: Any) -> None:
    """Charts, lanes, markers and tiles of the whole fleet, against ``report --json``."""
    found = charts(root)
    assert sorted(found) == sorted([A, B, C, D, E])
    for number, svg in found.items():
        assert drawn(svg) == expected_chart(report_json(cli, number)), number
    # by hand: diamonds ftc D(100), D(80), D(60) and T-Mobile's clear D(35) (a first
    # verdict and the manual source's sum of its carriers are no change); circles:
    # number flagged D(100), cleared D(80), flagged D(60)
    assert drawn(found[A]) == (5, 4, 3)
    assert [g.attrs["data-lane"] for g in found[A].find("g", "lane")] == [
        "fcc",
        "ftc",
        "manual",
        f"manual: {CARRIER}",
        "manual: T-Mobile",
    ]
    assert drawn(found[D]) == (0, 0, 0)
    assert tiles(root) == {
        "numbers": "5",
        "flagged": "2",
        "flagged_on": "2",
        "failing": "1",
        "stale": "1",
        "clean": "2",
    }


def action_numbers(root: Node) -> list[str]:
    [table] = root.find("table", "action")
    return [row.find("a")[0].attrs["href"] for row in table.find("tr", "act")]


# -- the fleet page ---------------------------------------------------------------------------


def test_fleet_page_counts_match_the_reports(cli, tmp_path):
    page = tmp_path / "out" / "fleet.html"
    page.parent.mkdir()
    root = parse(write(cli, page))
    check_fleet(root, cli)
    cards = {c.attrs["data-number"]: c.attrs["id"] for c in root.find("article", "num")}
    # flagged first (E then A: acme sorts before default), then failing B, stale C
    assert action_numbers(root) == [f"#{cards[n]}" for n in (E, A, B, C)]
    [row_a] = [r for r in root.find("tr", "act") if r.find("a")[0].attrs["href"] == f"#{cards[A]}"]
    links = [(a.all_text(), a.attrs["href"]) for a in row_a.find("a")[1:]]
    assert links == [
        (f"Evil {HOSTILE} ({CARRIER}): ask for a review", ENGINE_URL),
        ("Free Caller Registry (Hiya, TNS, First Orion)", "https://www.freecallerregistry.com/"),
    ]
    [row_b] = [r for r in root.find("tr", "act") if r.find("a")[0].attrs["href"] == f"#{cards[B]}"]
    assert "fcc failing: HTTP 503" in row_b.all_text()
    assert "cidrep sources test fcc" in row_b.all_text()
    assert os.stat(page).st_mode & 0o777 == 0o600
    assert sorted(p.name for p in page.parent.iterdir()) == ["fleet.html"]


@pytest.mark.parametrize("number", [None, A])
def test_the_page_loads_nothing_and_runs_nothing(cli, tmp_path, number):
    text = write(cli, tmp_path / "page.html", *([number] if number else []))
    root = parse(text)
    tags = {n.tag for n in root.walk()}
    assert not tags & {"script", "link", "iframe", "img", "object", "embed", "base", "image"}
    disputes = {d["url"] for n in (A, E) for d in report_json(cli, n)["what_to_do"]["disputes"]}
    for node in root.walk():
        for name, value in node.attrs.items():
            assert not name.startswith("on"), (node.tag, name)
            if name in ("src", "srcset", "xlink:href", "action", "formaction", "poster"):
                raise AssertionError(f"{node.tag} loads {value}")
            if name == "href":
                assert node.tag == "a" and (value.startswith("#") or value in disputes), value
            if name == "style" or "url(" in value:
                assert "url(#" in value or "url(" not in value, value
    [style] = root.find("style")
    css = style.all_text()
    assert "@import" not in css and "http" not in css and "url(" not in css
    assert "<script" not in text.lower()
    assert HOSTILE not in text and CARRIER not in text and ATTR not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&quot; onmouseover=&quot;alert(1)" in text  # the label, as text in a title
    assert "Spam &lt;b&gt;Risk&lt;/b&gt;" in text


def test_scopes_by_tag_and_account(cli, tmp_path):
    west = parse(write(cli, tmp_path / "west.html", "--tag", "team:west"))
    assert sorted(charts(west)) == [C, D]
    assert tiles(west)["numbers"] == "2" and tiles(west)["stale"] == "1"
    acme = parse(write(cli, tmp_path / "acme.html", "--account", "acme"))
    assert sorted(charts(acme)) == [E]
    out = cli("--account", "acme", "report", "--html", str(tmp_path / "g.html"))
    assert out.exit_code == 0 and "1 number (account acme), 1 flagged" in out.stdout
    assert sorted(charts(parse((tmp_path / "g.html").read_text()))) == [E]
    both = parse(write(cli, tmp_path / "none.html", "--account", "acme", "--tag", "team:west"))
    assert charts(both) == {} and "No numbers in this scope." in both.all_text()


def test_one_number_page_with_carriers(cli, tmp_path):
    root = parse(write(cli, tmp_path / "a.html", A))
    data = report_json(cli, A)
    assert list(charts(root)) == [A]
    assert drawn(charts(root)[A]) == expected_chart(data)
    assert tiles(root) == {
        "verdict": "flagged",
        "labels": str(len(data["lifecycle"]["labels"])),
        "relapses": str(data["lifecycle"]["relapses"]),
        "days_flagged": f"{data['lifecycle']['window']['share_flagged']:.0%}",
        "first_label": "20d",
    }
    tables = root.find("table")
    carriers = [r.find("td")[0].all_text() for r in tables[0].find("tr", "carrier")]
    assert carriers == [CARRIER, "T-Mobile"]
    events = tables[-1].find("tbody")[0].find("tr")
    assert len(events) == len(data["timeline"])
    assert "Not checked: ipqs (no api_key configured)" in root.all_text()


def test_a_number_never_checked(cli, tmp_path):
    root = parse(write(cli, tmp_path / "d.html", D))
    [svg] = charts(root).values()
    assert svg.attrs["data-lanes"] == "0" and drawn(svg) == (0, 0, 0)
    assert "no checks recorded yet" in svg.all_text()
    assert tiles(root)["verdict"] == "not checked"


# -- bad input: one line, exit 2, nothing written --------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json"], "--html cannot be combined with --json or --markdown"),
        ([A, "--tag", "x"], "give a NUMBER or --tag, not both"),
        (["+12065550100"], "is not monitored"),
        (["--account", "nosuch"], "nosuch"),
    ],
)
def test_bad_options_write_nothing(cli, tmp_path, args, message):
    out = cli("report", "--html", str(tmp_path / "x.html"), *args)
    assert out.exit_code == 2 and message in out.output
    assert len(out.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_scope_options_need_html(cli):
    out = cli("report", A, "--tag", "team:east")
    assert out.exit_code == 2 and "--tag and --account scope the fleet page" in out.output
    assert cli("report").exit_code == 2


@pytest.mark.parametrize("where", ["missing/dir/r.html", "file.txt/r.html", "adir"])
def test_an_unwritable_path_is_one_line_and_exit_2(cli, tmp_path, where):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "adir").mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out = cli("report", "--html", str(tmp_path / where))
    assert out.exit_code == 2, out.output
    assert out.output.startswith("error: cannot write the HTML report to ")
    assert len(out.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_failure_midway_leaves_the_old_file_and_no_part(cli, tmp_path, monkeypatch):
    page = tmp_path / "out" / "fleet.html"
    page.parent.mkdir()
    page.write_text("the old page")
    calls = []

    def broken(i, data, now):
        calls.append(i)
        if i == 3:
            raise OSError(28, "No space left on device")
        return "<article></article>"

    monkeypatch.setattr(html_fleet.html, "number_section", broken)
    out = cli("report", "--html", str(page))
    assert out.exit_code == 2 and "No space left on device" in out.output
    assert calls == [1, 2, 3]
    assert page.read_text() == "the old page"
    assert sorted(p.name for p in page.parent.iterdir()) == ["fleet.html"]


# -- streaming --------------------------------------------------------------------------------


def test_the_fleet_page_streams(cli, tmp_path):
    """Memory stays flat: 2000 numbers' page (over 10 MB) is written with a peak of a
    few MB (spooled action rows, copy buffers), and the entries are consumed lazily."""
    template = report_json(cli, A)
    seen = []

    def entries():
        for i in range(2000):
            seen.append(i)
            yield {**template, "number": f"+1202555{i:04d}"}

    page = tmp_path / "big.html"
    tracemalloc.start()
    try:
        tally = html_fleet.write_fleet(page, entries(), utcnow(), "all accounts", {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = page.stat().st_size
    assert tally.numbers == 2000 and len(seen) == 2000
    assert size > 10_000_000
    assert peak < 8_000_000, (peak, size)


# -- pure pieces ------------------------------------------------------------------------------


def test_links_only_to_http_urls():
    assert link('https://x.example/?a="b', "X") == (
        '<a href="https://x.example/?a=&quot;b" rel="noopener noreferrer">X</a>'
    )
    assert "<a" not in link("javascript:alert(1)", "X")
    assert "<a" not in link(" JavaScript:alert(1)", "X")


def test_axis_ticks_are_round_dates():
    end = datetime(2026, 11, 23, 15, tzinfo=UTC)
    year = ticks(end - timedelta(days=365), end)
    assert [t for _, t in year][:2] == ["Jan 2026", "Apr 2026"] and len(year) <= 8
    weeks = ticks(end - timedelta(days=30), end)
    assert all(t.weekday() == 0 and t.hour == 0 for t, _ in weeks)
    assert weeks[0][1] == "2026-10-26"
    hours = ticks(end - timedelta(hours=5), end)
    assert hours[0][1] == "11-23 10:00"


# -- the browser ------------------------------------------------------------------------------


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless=new",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_in_headless_chromium(cli, tmp_path):
    folder = Path(ARTIFACTS) if ARTIFACTS else tmp_path / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    fleet_page, one_page = folder / "report-fleet.html", folder / "report-number.html"
    write(cli, fleet_page)
    write(cli, one_page, A)
    done = chromium(tmp_path, "--dump-dom", fleet_page.resolve().as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    root = parse(done.stdout)
    check_fleet(root, cli)  # what Chromium built, not just what was written
    assert len(root.find("table", "action")[0].find("tr", "act")) == 4
    one = parse(chromium(tmp_path, "--dump-dom", one_page.resolve().as_uri()).stdout)
    assert drawn(charts(one)[A]) == expected_chart(report_json(cli, A))
    for page in (fleet_page, one_page):
        for width in (1280, 390):
            shot = folder / f"{page.stem}-{width}.png"
            done = chromium(
                tmp_path,
                f"--screenshot={shot}",
                f"--window-size={width},2400",
                page.resolve().as_uri(),
            )
            assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
            assert png_size(shot) == (width, 2400)
            assert shot.stat().st_size > 20_000  # a page, not a blank
            print(f"screenshot: {shot}")
