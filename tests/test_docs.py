"""Docs that cannot drift: every command, exit code, source and option is documented."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import typer

from cidrep.cli import make_app
from cidrep.errors import ExitCode
from cidrep.plugins import get_checkers

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
EXAMPLE = (ROOT / "config.example.toml").read_text()


def _commands(group: object, prefix: str = "cidrep") -> list[str]:
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):  # a sub-app (typer vendors its own click)
            names += _commands(command, f"{prefix} {name}")
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_command_is_in_the_readme():
    commands = _commands(typer.main.get_command(make_app()))
    assert len(commands) >= 11
    for command in commands:
        assert command in README, f"README does not document `{command}`"


def test_every_exit_code_is_in_the_readme():
    table = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert documented == {int(code) for code in ExitCode}


def test_every_source_and_option_is_documented():
    for name, cls in get_checkers().items():
        assert f"`{name}`" in README
        assert f"[sources.{name}]" in EXAMPLE
        section = EXAMPLE.split(f"[sources.{name}]", 1)[1].split("\n[", 1)[0]
        common = EXAMPLE.split("[sources.", 1)[0]
        for option in cls.settings_model.model_fields:
            assert re.search(rf"\b{option}\b", section + common), f"{name}.{option} undocumented"


def test_example_config_is_valid_when_every_option_is_uncommented(tmp_path):
    from cidrep.config import load_config

    lines = []
    for line in EXAMPLE.splitlines():
        match = re.match(r"# ([a-z_]+ = .*|\[channels\.[a-z]+\])$", line)
        lines.append(match.group(1) if match else line)
    text = "\n".join(lines).replace('app_token = ""', 'app_token = "x"')
    tomllib.loads(text)
    config = tmp_path / "full.toml"
    config.write_text(text.replace("/srv/mirrors/ftc", str(tmp_path)))
    config.chmod(0o600)
    settings = load_config(config, get_checkers()).settings
    assert settings.sources.fcc.batch_size == 50
    assert settings.alerts.renotify_after is not None
    assert {name: c.type for name, c in settings.channels.items()} == {
        "ops": "slack",
        "siem": "webhook",
        "email": "apprise",
    }


SOURCE_DOC_SECTIONS = (
    "## What it reports",
    "## Verdict, score and label",
    "## Settings",
    "## Cost and rate limit",
    "## Sample report",
)


def test_every_registered_source_has_its_docs_page():
    """docs/sources/<name>.md, with every section a user needs, for each source."""
    for name in get_checkers():
        page = ROOT / "docs" / "sources" / f"{name}.md"
        assert page.exists(), f"source {name!r} has no docs page {page.relative_to(ROOT)}"
        text = page.read_text()
        for section in SOURCE_DOC_SECTIONS:
            assert section in text, f"{page.name} lacks {section!r}"
        assert f"`{name}`" in README, f"README does not mention source {name!r}"
