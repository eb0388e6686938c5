"""``examples/plugin-example``: a third-party checker package, found and run like one.

- the package imports nothing from cidrep but ``cidrep.contract``;
- "installed" the way pip leaves an editable install in site-packages (a
  ``.dist-info`` with the ``entry_points.txt`` built from the example's own
  ``pyproject.toml``, and a ``.pth`` putting the project on ``sys.path``), it is found
  by the real entry-point discovery in ``cidrep/plugins.py`` (``CIDREP_LOAD_PLUGINS``
  unset), listed by ``sources list``, run by ``cidrep check`` against a real HTTP
  server on 127.0.0.1, and its verdicts are stored and shown by ``status``/``report``;
- the example's own tests pass (pytest's ``testpaths`` is ``tests`` only, so they are
  run from here, in a process of their own with the example's own pytest config).

No pip, no build, no network: a fresh CI machine runs this offline.
"""

from __future__ import annotations

import ast
import json
import os
import re
import site
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cidrep import plugins
from cidrep.cli import make_app

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "plugin-example"
PACKAGE = EXAMPLE / "cidrep_example"
PYPROJECT = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
KEY = "ex-key-4711-sekrit"
SPAMMY, CLEAN = "+12025550143", "+13125550188"
SPAMMY_PATH, CLEAN_PATH = "/numbers/%2B12025550143", "/numbers/%2B13125550188"


def test_the_example_imports_nothing_from_cidrep_but_the_contract():
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 2
    imported: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module or "")
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    from_cidrep = {name for name in imported if name.split(".")[0] == "cidrep"}
    assert from_cidrep == {"cidrep.contract"}


def test_the_example_declares_the_entry_point_group_cidrep_loads():
    declared = PYPROJECT["entry-points"][plugins.ENTRY_POINT_GROUP]
    assert declared == {"example": "cidrep_example"}
    assert "cidrep" in PYPROJECT["dependencies"]


def fake_install(site_dir: Path) -> None:
    """What ``pip install -e examples/plugin-example`` leaves in site-packages: the
    distribution's metadata with its entry points (read from the example's
    pyproject.toml, so a wrong group there fails these tests), and a ``.pth`` that
    puts the project directory on ``sys.path``."""
    name, version = PYPROJECT["name"], PYPROJECT["version"]
    info = site_dir / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, points in PYPROJECT["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{point} = {target}" for point, target in points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    (site_dir / f"__editable__.{name.replace('-', '_')}.pth").write_text(f"{EXAMPLE}\n")


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example "pip-installed" into a site dir of this test, entry points enabled."""
    site_dir = tmp_path / "site-packages"
    fake_install(site_dir)
    monkeypatch.setattr(sys, "path", list(sys.path))  # restored, .pth entry and all
    site.addsitedir(str(site_dir))
    # Unset, cidrep loads every entry point of the group (conftest pins the built-ins).
    monkeypatch.delenv("CIDREP_LOAD_PLUGINS")
    plugins.reset_cache()
    try:
        yield site_dir
    finally:
        plugins.reset_cache()
        for module in [m for m in sys.modules if m.split(".")[0] == "cidrep_example"]:
            del sys.modules[module]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(make_app(), list(args), catch_exceptions=False)


def test_not_installed_it_is_not_there(monkeypatch):
    monkeypatch.delenv("CIDREP_LOAD_PLUGINS")
    plugins.reset_cache()
    assert "example" not in plugins.get_checkers()


def test_installed_it_is_found_listed_checked_stored_and_reported(installed, tmp_path):
    from localserver import LocalServer, Reply

    assert plugins.get_checkers()["example"].__module__ == "cidrep_example.checker"

    # Listed before it is configured: skipped, by its own preflight, with its disclosure.
    listed = json.loads(invoke("sources", "list", "--json").output)
    by_name = {item["name"]: item for item in listed}
    example = by_name["example"]
    assert example["status"] == "skipped" and example["reason"] == "no base_url configured"
    assert "X-Api-Key" in example["disclosure"] and example["shape"] == "lookup"
    assert set(plugins.get_checkers()) - {"example"} <= set(by_name)  # built-ins too

    with LocalServer() as server:
        server.route(SPAMMY_PATH, Reply(200, '{"spam": true, "label": "Scam Likely", "score": 97}'))
        server.route(CLEAN_PATH, Reply(200, '{"spam": false, "label": null, "score": 3}'))
        assert invoke("numbers", "add", SPAMMY, CLEAN).exit_code == 0
        # Only the example runs: every other source is disabled, so nothing leaves loopback.
        others = "".join(f"[sources.{n}]\nenabled = false\n" for n in by_name if n != "example")
        (tmp_path / "config.toml").write_text(
            f"[sources.example]\nbase_url = '{server.url}'\napi_key = '{KEY}'\n"
            f"rate_limit = '100/s'\n{others}"
        )
        checked = invoke("check", "--json")
        requests = list(server.requests)
        listed_text = invoke("sources", "list").output
        privacy = invoke("privacy").output

    assert checked.exit_code == 1, checked.output  # something flagged, every source current
    summary = json.loads(checked.output)["sources"]["example"]
    assert summary["status"] == "ran" and summary["verdicts"]["flagged"] == 1, summary
    assert sorted(r.path for r in requests) == [SPAMMY_PATH, CLEAN_PATH]
    assert all(
        {k.lower(): v for k, v in r.headers.items()}.get("x-api-key") == KEY for r in requests
    )
    assert "example (lookup) - enabled" in listed_text
    assert plugins.get_checkers()["example"].disclosure in " ".join(privacy.split())

    status = {
        row["number"]: row for row in json.loads(invoke("status", "--json").output)["numbers"]
    }
    assert status[SPAMMY]["verdict"] == "flagged"
    assert status[SPAMMY]["verdict_sources"] == ["example"]
    assert status[CLEAN]["verdict"] == "clean"

    report = invoke("report", SPAMMY)
    assert report.exit_code == 0, report.output
    assert "example: flagged since" in report.output
    assert "label: Scam Likely" in report.output and "score: 97" in report.output
    source = json.loads(invoke("report", SPAMMY, "--json").output)["sources"]["example"]
    assert source["verdict"] == "flagged" and source["score"] == 97

    outputs = [checked.output, listed_text, privacy, report.output, json.dumps(status)]
    assert not any(KEY in text for text in outputs)
    for db_file in tmp_path.glob("cidrep.db*"):
        assert KEY.encode() not in db_file.read_bytes()


def test_a_fresh_process_finds_it_through_its_entry_point(tmp_path):
    """The same discovery in a ``cidrep`` process of its own, nothing pre-imported."""
    site_dir = tmp_path / "site-packages"
    fake_install(site_dir)

    def sources(extra_path: list[Path]) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if k != "CIDREP_LOAD_PLUGINS"}
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in extra_path)
        out = subprocess.run(
            [sys.executable, "-m", "cidrep", "sources", "list", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return {item["name"]: item for item in json.loads(out.stdout)}

    found = sources([site_dir, EXAMPLE])  # PYTHONPATH does not read .pth files
    assert found["example"]["module"] == "cidrep_example.checker"
    assert "example" not in sources([EXAMPLE])  # importable, but no entry point: not loaded


def test_the_examples_own_tests_pass():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    passed = re.search(r"(\d+) passed", out.stdout)
    assert passed and int(passed.group(1)) >= 20, out.stdout[-1000:]
