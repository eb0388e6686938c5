"""Configuration: precedence, validation messages naming file and key, permissions."""

from __future__ import annotations

from pathlib import Path

import pytest

from cidrep.config import load_config
from cidrep.errors import ConfigError
from cidrep.plugins import get_checkers


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def load(path: Path | None = None, **overrides):
    return load_config(path, get_checkers(), overrides)


def test_defaults_when_file_is_empty(tmp_path):
    settings = load().settings
    assert settings.account == "default"
    assert settings.default_region == "US"
    assert settings.sources.ftc.enabled is True
    assert settings.sources.fcc.interval.total_seconds() == 86400


def test_default_path_missing_is_fine_but_explicit_missing_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("CIDREP_CONFIG")
    assert load().file_exists is False  # default location, not created yet
    with pytest.raises(ConfigError, match=r"config file .*nope\.toml does not exist"):
        load(tmp_path / "nope.toml")


def test_precedence_flag_over_env_over_file_over_default(tmp_path, monkeypatch):
    monkeypatch.delenv("CIDREP_DB")
    cfg = write(tmp_path / "c.toml", 'db = "/from/file.db"\n[sources.fcc]\ntimeout = "7s"\n')
    assert str(load(cfg).settings.db) == "/from/file.db"
    monkeypatch.setenv("CIDREP_DB", "/from/env.db")
    monkeypatch.setenv("CIDREP_SOURCES__FCC__BASE_URL", "http://127.0.0.1:9/")
    settings = load(cfg).settings
    assert str(settings.db) == "/from/env.db"
    assert settings.sources.fcc.base_url == "http://127.0.0.1:9/"
    assert settings.sources.fcc.timeout.total_seconds() == 7  # file value kept beside env
    assert str(load(cfg, db=Path("/from/flag.db")).settings.db) == "/from/flag.db"


def test_rate_and_interval_formats(tmp_path):
    cfg = write(tmp_path / "c.toml", '[sources.fcc]\nrate_limit = "60/min"\ninterval = "1h30m"\n')
    fcc = load(cfg).settings.sources.fcc
    assert fcc.rate_limit.interval == 1.0
    assert fcc.interval.total_seconds() == 5400


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[sources.fcc]\ntimout = 3\n", "sources.fcc.timout: unknown key"),
        ('[sources.fcc]\ntimeout = "soon"\n', "sources.fcc.timeout: invalid duration 'soon'"),
        ('[sources.fcc]\nconcurrency = "many"\n', "sources.fcc.concurrency:"),
        ('[sources.fcc]\nrate_limit = "fast"\n', "sources.fcc.rate_limit: invalid rate 'fast'"),
        ("[sources.nosuch]\nenabled = true\n", "sources.nosuch: unknown source 'nosuch'"),
        ('colour = "blue"\n', "colour: unknown key"),
        ('default_region = "XX"\n', "default_region: unknown region code 'XX'"),
        ('[sources.fcc]\nbase_url = "ftp://x"\n', "sources.fcc.base_url: must start with http"),
    ],
)
def test_invalid_values_name_the_file_and_key(tmp_path, text, expected):
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as err:
        load(cfg)
    assert str(cfg) in err.value.message
    assert expected in err.value.message
    assert "\n" not in err.value.message  # one problem, one line


def test_env_errors_name_the_variable(monkeypatch):
    monkeypatch.setenv("CIDREP_SOURCES__FTC__INTERVAL", "never")
    with pytest.raises(ConfigError, match="environment variable CIDREP_SOURCES__FTC__INTERVAL"):
        load()


def test_invalid_toml_and_binary_file(tmp_path):
    bad = write(tmp_path / "bad.toml", "[sources.fcc\n")
    with pytest.raises(ConfigError, match=r"bad\.toml is not valid TOML"):
        load(bad)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00db")
    with pytest.raises(ConfigError, match=r"bin\.toml is not UTF-8 text"):
        load(binary)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load(tmp_path)


def test_group_readable_file_with_secret_warns(tmp_path):
    text = '[sources.fcc]\napp_token = "s3cret-token"\n'
    loose = write(tmp_path / "loose.toml", text, mode=0o644)
    warnings = load(loose).warnings
    assert len(warnings) == 1
    assert "sources.fcc.app_token" in warnings[0] and "chmod 600" in warnings[0]
    assert "s3cret-token" not in warnings[0]
    assert load(write(tmp_path / "tight.toml", text, mode=0o600)).warnings == []
    assert load(write(tmp_path / "nosecret.toml", "", mode=0o644)).warnings == []


def test_secret_values_never_appear_in_error_messages(tmp_path):
    cfg = write(tmp_path / "c.toml", '[sources.fcc]\napp_token = "tok-123"\nbatch_size = 0\n')
    with pytest.raises(ConfigError) as err:
        load(cfg)
    assert "tok-123" not in err.value.message
