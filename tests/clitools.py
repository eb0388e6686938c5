"""Driving the CLI in process (CliRunner) with a chosen set of plugins."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cidrep.cli import make_app
from cidrep.plugins import reset_cache


def cli_invoker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plugins: str
) -> Callable[..., Any]:
    """``invoke(*args, config_text=None)``: run ``cidrep args`` with only ``plugins``
    loaded; ``config_text``, when given, is written to the test's config file first."""
    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", plugins)
    reset_cache()
    config = tmp_path / "config.toml"

    def invoke(*args: str, config_text: str | None = None) -> Any:
        if config_text is not None:
            config.write_text(config_text)
        return CliRunner().invoke(make_app(), list(args), catch_exceptions=False)

    return invoke
