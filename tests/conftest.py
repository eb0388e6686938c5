"""Shared fixtures: every path a test can touch points into its own tmp dir."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path, monkeypatch):
    """Config, database, data dirs and HOME all live under tmp; no CIDREP_* leaks in."""
    import os

    for name in list(os.environ):
        if name.startswith("CIDREP_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    config = tmp_path / "config.toml"
    config.write_text("")
    config.chmod(0o600)
    monkeypatch.setenv("CIDREP_CONFIG", str(config))
    monkeypatch.setenv("CIDREP_DB", str(tmp_path / "cidrep.db"))
    # Only the built-in plugins: whatever else is installed must not change results.
    from cidrep import plugins, redaction

    monkeypatch.setenv("CIDREP_LOAD_PLUGINS", ",".join(plugins.DEFAULT_PLUGINS))
    plugins.reset_cache()
    redaction.clear()  # secrets registered by one test's config must not mask another's text
    yield tmp_path
    plugins.reset_cache()
    redaction.clear()
