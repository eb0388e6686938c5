"""Configuration: precedence, validation messages naming file and key, permissions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from cidrep.config import load_config
from cidrep.errors import ConfigError
from cidrep.plugins import get_checkers
from cidrep.timeutil import Rate, parse_duration, parse_rate


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


# -- bounds, blame, credentials, redaction -----------------------------------------


@pytest.fixture
def fresh_redaction():
    from cidrep import redaction

    redaction.clear()
    yield redaction
    redaction.clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[sources.fcc]\ninterval = "99999999999d"\n', "sources.fcc.interval: duration"),
        ("[sources.fcc]\ntimeout = 1e300\n", "sources.fcc.timeout: duration 1e+300 is too long"),
        ("[sources.fcc]\ntimeout = inf\n", "sources.fcc.timeout: duration inf is too large"),
        ("[sources.fcc]\ntimeout = nan\n", "sources.fcc.timeout: duration must be a number"),
        ("[sources.fcc]\ntimeout = 10000000000000000000000\n", "sources.fcc.timeout:"),
        ('[sources.fcc]\ntimeout = "2h"\n', "sources.fcc.timeout: must be at most 1h"),
        ('[sources.fcc]\ntimeout = "NaN"\n', "sources.fcc.timeout: invalid duration 'NaN'"),
        ('[sources.fcc]\nrate_limit = "0/s"\n', "rate must be positive"),
        ('[sources.fcc]\nrate_limit = "1e400/s"\n', "invalid rate '1e400/s'"),
        ("[sources.fcc]\nrate_limit = nan\n", "rate must be a number"),
        ('[sources.fcc]\nrate_limit = "' + "9" * 400 + '/s"\n', "is too large"),
        ('db = ""\n', "db: must not be empty"),
        ('[sources.fcc]\napp_token = "abc\\n"\n', "sources.fcc.app_token: has leading or"),
        ('[sources.fcc]\napp_token = "tökén"\n', "sources.fcc.app_token: has a non-ASCII"),
    ],
)
def test_out_of_range_values_are_one_clean_line(tmp_path, monkeypatch, text, expected):
    monkeypatch.delenv("CIDREP_DB")
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as err:
        load(cfg)
    assert err.value.message.startswith(f"config file {cfg}: ")
    assert expected in err.value.message
    assert "\n" not in err.value.message and len(err.value.message) < 300
    assert "abc" not in err.value.message and "tökén" not in err.value.message


def test_sources_env_that_is_not_json_names_the_variable(monkeypatch):
    monkeypatch.setenv("CIDREP_SOURCES", "not json")
    with pytest.raises(ConfigError) as err:
        load()
    message = err.value.message
    assert message.startswith("environment variable CIDREP_SOURCES: sources: not valid JSON")
    assert "not json" not in message and "\n" not in message


def test_section_env_that_is_not_json_names_the_variable(monkeypatch):
    monkeypatch.setenv("CIDREP_SOURCES__FCC", "{broken")
    with pytest.raises(ConfigError, match=r"^environment variable CIDREP_SOURCES__FCC: "):
        load()


def test_a_bad_env_value_is_blamed_on_the_env_even_when_the_file_has_the_key(tmp_path, monkeypatch):
    cfg = write(tmp_path / "c.toml", '[sources.fcc]\ninterval = "6h"\n')
    monkeypatch.setenv("CIDREP_SOURCES__FCC__INTERVAL", "never")
    with pytest.raises(ConfigError) as err:
        load(cfg)
    assert err.value.message.startswith(
        "environment variable CIDREP_SOURCES__FCC__INTERVAL: sources.fcc.interval: "
    )


def test_a_bad_file_value_beside_an_unrelated_env_var_is_blamed_on_the_file(tmp_path, monkeypatch):
    cfg = write(tmp_path / "c.toml", '[sources.fcc]\ninterval = "never"\n')
    monkeypatch.setenv("CIDREP_SOURCES__FCC__TIMEOUT", "5s")
    monkeypatch.setenv("CIDREP_SOURCES", '{"ftc": {"enabled": true}}')
    with pytest.raises(ConfigError, match=rf"^config file {cfg}: sources\.fcc\.interval"):
        load(cfg)


def test_a_bad_value_inside_json_env_is_blamed_on_that_variable(tmp_path, monkeypatch):
    cfg = write(tmp_path / "c.toml", '[sources.fcc]\ninterval = "6h"\n')
    monkeypatch.setenv("CIDREP_SOURCES", '{"fcc": {"interval": "never"}}')
    with pytest.raises(ConfigError, match=r"^environment variable CIDREP_SOURCES: sources\.fcc"):
        load(cfg)


def test_a_bad_flag_is_blamed_on_the_flag():
    with pytest.raises(ConfigError, match=r"^option --account: account: "):
        load(account="  ")


@pytest.mark.parametrize("token", ["s3cr3tZ\n", "s3cr3tZ\u00e9", "s3cr3t Z", "\ts3cr3tZ"])
def test_bad_credentials_from_env_name_the_key_never_the_value(monkeypatch, token):
    monkeypatch.setenv("CIDREP_SOURCES__FCC__APP_TOKEN", token)
    with pytest.raises(ConfigError) as err:
        load()
    message = err.value.message
    assert message.startswith(
        "environment variable CIDREP_SOURCES__FCC__APP_TOKEN: sources.fcc.app_token: "
    )
    assert "\n" not in message and "s3cr3t" not in message and "\\" not in message


def test_loaded_secrets_are_registered_for_redaction(tmp_path, monkeypatch, fresh_redaction):
    cfg = write(tmp_path / "c.toml", '[sources.fcc]\napp_token = "tok-from-file-123"\n')
    load(cfg)
    assert fresh_redaction.redact("sent tok-from-file-123 to x") == "sent *** to x"
    monkeypatch.setenv("CIDREP_SOURCES__FCC__APP_TOKEN", "tok-from-env-456")
    load(cfg)
    assert fresh_redaction.redact("tok-from-env-456") == "***"


def test_nothing_is_registered_when_the_load_fails(tmp_path, fresh_redaction):
    cfg = write(tmp_path / "c.toml", '[sources.fcc]\napp_token = "tok-xyz-789"\nbatch_size = 0\n')
    with pytest.raises(ConfigError):
        load(cfg)
    assert fresh_redaction.redact("tok-xyz-789") == "tok-xyz-789"


# -- the duration and rate parsers on their own ------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "99999999999d",
        "9" * 400 + "s",
        1e300,
        float("inf"),
        float("nan"),
        10**400,
        "NaN",
        "inf",
        "0",
        "-5s",
        "0.0000001s",
        True,
        None,
        "x" * 10_000,
    ],
)
def test_parse_duration_refuses_with_a_short_value_error(value):
    with pytest.raises(ValueError) as err:
        parse_duration(value)
    assert len(str(err.value)) < 120


def test_parse_duration_limits():
    assert parse_duration("36525d").days == 36525
    assert parse_duration("0.001s").total_seconds() == 0.001
    assert parse_duration(timedelta(hours=1)).total_seconds() == 3600


@pytest.mark.parametrize(
    "value",
    [
        "0/s",
        "1e400/s",
        "9" * 400 + "/s",
        float("nan"),
        float("inf"),
        10**400,
        "5/fortnight",
        "0.00001/h",
        2_000_000,
        "NaN",
        False,
    ],
)
def test_parse_rate_refuses_with_a_short_value_error(value):
    with pytest.raises(ValueError) as err:
        parse_rate(value)
    assert len(str(err.value)) < 120


def test_parse_rate_accepts_the_documented_forms():
    assert parse_rate("5/s").interval == 0.2
    assert parse_rate("60/min").interval == 1.0
    assert parse_rate("1/h").interval == 3600
    assert parse_rate(Rate(2, 1)) == Rate(2, 1)


@pytest.mark.parametrize("value", ["5/s", "5", '"5/s"', "300/min"])
def test_a_rate_can_be_set_from_the_environment_as_text(monkeypatch, value):
    monkeypatch.setenv("CIDREP_SOURCES__FTC__RATE_LIMIT", value)
    assert load().settings.sources.ftc.rate_limit.interval == 0.2
